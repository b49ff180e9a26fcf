package subscription_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/subscription"
)

// verifyWebhook is a receiver's check of a Waybill delivery, with the
// standard library only (docs/subscriptions.md shows the same code): the
// signature of the secret over id.timestamp.body, and a timestamp within
// five minutes. During a rotation the header holds several signatures;
// one matching is enough.
func verifyWebhook(secret string, h http.Header, body []byte) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too old or too new")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(h.Get("webhook-signature")) {
		if sig, ok := strings.CutPrefix(s, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no valid signature")
}

// A receiver verifies each delivery on the raw body before it parses it,
// answers 2xx once it has stored it, and drops repeats by webhook-id.
func Example_receiver() {
	secret := subscription.NewSecret() // as POST /v1/subscriptions returned it
	seen := map[string]bool{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || verifyWebhook(secret, r.Header, body) != nil {
			http.Error(w, "not authentic", http.StatusUnauthorized)
			return
		}
		if id := r.Header.Get("webhook-id"); !seen[id] {
			seen[id] = true
			fmt.Println("stored", r.Header.Get("webhook-id"))
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// What Waybill sends, signed.
	body := []byte(`{"specversion":"1.0","id":"e1","type":"shipment.delivered","shipmentid":"0192"}`)
	now := time.Now()
	sig, _ := subscription.Sign("msg_1", now, body, []string{secret})
	for _, sig := range []string{sig, sig, "v1,AAAA"} {
		req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(string(body)))
		req.Header.Set("webhook-id", "msg_1")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// stored msg_1
	// 204
	// 204
	// 401
}
