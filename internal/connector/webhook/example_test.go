package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/connector/webhook"
)

// A receiver checks the signature against the raw body before decoding it.
func ExampleVerify() {
	const secret = "whsec_shared"
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderSignature), body, 5*time.Minute, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Deduplicate on r.Header.Get(webhook.HeaderIdempotencyKey), then
		// decode and apply body.
		w.WriteHeader(http.StatusNoContent)
	}

	body := `{"kind":"dispatch.release","shipment_id":"shp_1","event_id":"evt_1","correlation_id":"c1","idempotency_key":"k1","payload":null}`
	for _, sig := range []string{webhook.Sign(secret, time.Now(), []byte(body)), webhook.Sign("wrong", time.Now(), []byte(body))} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/waybill", strings.NewReader(body))
		req.Header.Set(webhook.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		handler(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 204
	// 401
}
