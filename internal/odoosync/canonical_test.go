package odoosync

import (
	"encoding/json"
	"testing"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
)

// TestCanonicalKeepsTheWireForm checks that event data built from the data
// structs is sent byte for byte as the maps of earlier releases were, so
// that a picking planned before an upgrade is a duplicate after it, not a
// conflict, and its reservation keeps its id.
func TestCanonicalKeepsTheWireForm(t *testing.T) {
	t.Parallel()
	q := func(v, u string) quantity.Quantity {
		t.Helper()
		x, err := quantity.Parse(v, u)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	w := q("852.5", "KGM")
	planned := &event.ShipmentPlannedData{
		Order:       "odoo:S00042",
		Customer:    &event.Party{Ref: "odoo:res.partner/7", Name: "Brouwer & Zn <Horeca>", VAT: "NL1"},
		Carrier:     &event.Carrier{Ref: "odoo:delivery.carrier/2", Name: "DHL"},
		Origin:      &event.Location{Ref: "odoo:stock.location/8", Name: "WH/Stock"},
		Destination: &event.Location{Ref: "odoo:res.partner/7", Name: "Brouwer", AddressLines: []string{"Kanaalweg 1"}, City: "Utrecht", Country: "NL"},
		Lines:       []event.PlannedLine{{LineID: "11", SKU: "CHR-1", Description: "Chair", Quantity: q("12.5", "C62"), Weight: &w}},
		Weight:      &w,
		References:  map[string]string{"odoo_picking_id": "42", "po": "PO-1"},
	}
	legacy := map[string]any{
		"order":       "odoo:S00042",
		"customer":    map[string]any{"ref": "odoo:res.partner/7", "name": "Brouwer & Zn <Horeca>", "vat": "NL1"},
		"carrier":     map[string]any{"ref": "odoo:delivery.carrier/2", "name": "DHL"},
		"origin":      map[string]any{"ref": "odoo:stock.location/8", "name": "WH/Stock"},
		"destination": map[string]any{"ref": "odoo:res.partner/7", "name": "Brouwer", "address_lines": []string{"Kanaalweg 1"}, "city": "Utrecht", "country": "NL"},
		"lines": []map[string]any{{"line_id": "11", "sku": "CHR-1", "description": "Chair",
			"quantity": map[string]string{"value": "12.5", "unit": "C62"}, "weight": map[string]string{"value": "852.5", "unit": "KGM"}}},
		"weight":     map[string]string{"value": "852.5", "unit": "KGM"},
		"references": map[string]string{"odoo_picking_id": "42", "po": "PO-1"},
	}
	got, err := canonical(planned)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("canonical(planned) =\n%s\nwant\n%s", got, want)
	}
}
