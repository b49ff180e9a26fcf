package reconcile

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReportMargins(t *testing.T) {
	t.Parallel()
	rec := &Record{ID: "r1", Date: "2026-12-03", State: StateOpen,
		Totals: []CustomerTotal{{Customer: "odoo:res.partner/7", Shipments: 2, Currency: "USD", Rated: "150.00", InvoicedServices: "150.00", InvoiceTotal: "900.00", Invoices: 2}}}
	rep := rec.Report()
	rep.AddMargins([]ShipmentMargin{
		{ShipmentID: "s1", Customer: "odoo:res.partner/7", Currency: "USD", Revenue: "75.00", FreightCost: "46.84", Margin: "28.16"},
		{ShipmentID: "s2", Customer: "odoo:res.partner/7", Currency: "USD", Revenue: "75.00", FreightCost: "80.00", Margin: "-5.00"},
		{ShipmentID: "s3", Customer: "=cmd", Currency: "USD", FreightCost: "10.00"},
	})
	wantCustomers := []ShipmentMargin{
		{Customer: "=cmd", Currency: "USD", Revenue: "0.00", FreightCost: "10.00", Margin: "0.00"},
		{Customer: "odoo:res.partner/7", Currency: "USD", Revenue: "150.00", FreightCost: "126.84", Margin: "23.16"},
	}
	if diff := cmp.Diff(wantCustomers, rep.CustomerMargins); diff != "" {
		t.Errorf("customer margins (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("parsing %s: %v", buf.String(), err)
	}
	want := [][]string{
		append(ReportColumns(), MarginColumns()...),
		{"customer_total", "", "odoo:res.partner/7", "", "", "", "", "", "", "", "", "", "2", "USD", "150.00", "150.00", "900.00", "2", "", "", ""},
		{"shipment_margin", "s1", "odoo:res.partner/7", "", "", "", "", "", "", "", "", "", "", "USD", "", "", "", "", "75.00", "46.84", "28.16"},
		{"shipment_margin", "s2", "odoo:res.partner/7", "", "", "", "", "", "", "", "", "", "", "USD", "", "", "", "", "75.00", "80.00", "-5.00"},
		{"shipment_margin", "s3", "'=cmd", "", "", "", "", "", "", "", "", "", "", "USD", "", "", "", "", "", "10.00", ""},
		{"customer_margin", "", "'=cmd", "", "", "", "", "", "", "", "", "", "", "USD", "", "", "", "", "0.00", "10.00", "0.00"},
		{"customer_margin", "", "odoo:res.partner/7", "", "", "", "", "", "", "", "", "", "", "USD", "", "", "", "", "150.00", "126.84", "23.16"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}
