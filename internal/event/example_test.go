package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/event"
)

func ExampleValidator_Validate() {
	v, err := event.NewValidator()
	if err != nil {
		panic(err)
	}

	data := []byte(`{
		"category": "broken",
		"lines": [{"line_id": "5571", "quantity": {"value": "-2", "unit": "C62"}}],
		"severity": "high"
	}`)
	err = v.Validate(event.ShipmentException, data)

	var verr *event.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			fmt.Printf("%s: %s\n", fe.Pointer, fe.Message)
		}
	}
	// Output:
	// /data/category: must be one of damaged, refused, returned, short, lost, delay, route_changed, address, customs, weather, hold, other
	// /data/lines/0/quantity/value: must match pattern ^[0-9]+(\.[0-9]+)?$
	// /data/severity: unknown field
}

func ExampleCloudEvent() {
	at := time.Date(2025, 11, 12, 14, 5, 0, 0, time.FixedZone("CET", 3600))
	raw, err := json.Marshal(event.CloudEvent{
		ID:      "odoo-invoice-77",
		Source:  "waybill/odoo",
		Type:    event.ShipmentInvoiced,
		Subject: "odoo:WH/OUT/00012",
		Time:    at,
		Data:    event.ShipmentInvoicedData{System: "odoo", InvoiceID: "77", State: "posted"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(raw))
	// Output:
	// {"specversion":"1.0","id":"odoo-invoice-77","source":"waybill/odoo","type":"shipment.invoiced","subject":"odoo:WH/OUT/00012","time":"2025-11-12T14:05:00+01:00","datacontenttype":"application/json","data":{"system":"odoo","invoice_id":"77","state":"posted"}}
}
