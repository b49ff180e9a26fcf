package tms_test

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
)

// A TMS accepts a release and replies with the transport it assigned; the
// connector hands the assignment to OnAssigned, which the hub turns into a
// dispatch.assigned event.
func Example() {
	tmsServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"vehicle":{"plate":"BX-472-K","type":"box_truck"},"route_id":"RTM-UTR-20251112-A"}`)
	}))
	defer tmsServer.Close()

	c, err := tms.New(tms.Config{URL: tmsServer.URL + "/dispatches", Timeout: 10 * time.Second}, &tms.Options{
		OnAssigned: func(_ context.Context, a *connector.Action, as tms.Assignment) error {
			fmt.Println(a.ShipmentID, "assigned to", as.Vehicle.Plate, "on route", as.RouteID)
			return nil
		},
	})
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
		Payload: []byte(`{"id":"odoo:WH/OUT/00012","state":"released","lines":[{"line_id":"5571","sku":"CHR-ALU-STACK-BLK",
			"quantity":{"value":"120","unit":"C62"},"reserved":{"value":"120","unit":"C62"}}]}`),
	})
	fmt.Println("error:", err)
	// Output:
	// odoo:WH/OUT/00012 assigned to BX-472-K on route RTM-UTR-20251112-A
	// error: <nil>
}
