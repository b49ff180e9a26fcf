package tmssim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/tmssim"
)

// Example starts a simulated TMS in front of a stand-in for Waybill's
// intake, releases a shipment to it with the tms connector, and lists the
// lifecycle events the simulator then sends.
func Example() {
	waybill := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer waybill.Close()

	srv, err := tmssim.Start(tmssim.Options{Waybill: waybill.URL, Key: "wb_example", Scenario: tmssim.Damaged("CHR-ALU-STACK-BLK", "2")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	c, err := tms.New(tms.Config{URL: srv.DispatchURL()}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	err = c.Deliver(context.Background(), &connector.Action{
		Kind:           shipment.ActionDispatchRelease,
		ShipmentID:     "odoo:WH/OUT/00012",
		IdempotencyKey: "job-81:dispatch.release",
		Attempt:        1,
		Payload: []byte(`{"id":"odoo:WH/OUT/00012","lines":[{"line_id":"5571","sku":"CHR-ALU-STACK-BLK",
			"quantity":{"value":"120","unit":"C62"},"reserved":{"value":"120","unit":"C62"}}]}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Sent()) < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, e := range srv.Sent() {
		fmt.Println(e.Status, e.ID)
	}
	// Output:
	// 202 job-81:dispatch.release.assigned
	// 202 job-81:dispatch.release.loaded
	// 202 job-81:dispatch.release.departed
	// 202 job-81:dispatch.release.arrived
	// 202 job-81:dispatch.release.exception
	// 202 job-81:dispatch.release.delivered
}
