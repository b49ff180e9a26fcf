package reconcile

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReportCSV(t *testing.T) {
	t.Parallel()
	rec := &Record{ID: "r1", Date: "2026-12-03", State: StateOpen,
		Differences: []Difference{
			{Type: MissingInvoice, ShipmentID: "s1", Customer: "=HYPERLINK(\"x\")", Evidence: Evidence{Waybill: "delivered", Odoo: "no invoice"},
				Action: "prepare the invoice", Safe: true, Healed: "invoice.prepare"},
			{Type: DuplicateInvoice, ShipmentID: "s2", Customer: "Acme, Inc.", Subject: "WB-s2",
				Evidence: Evidence{Waybill: "one invoice", Odoo: "2 invoices", OdooModel: "account.move", OdooIDs: []int{7, 9}},
				Action:   "cancel all but one", Review: &Review{OwnerRole: FinanceRole, Status: ReviewOpen}},
		},
		Totals: []CustomerTotal{{Customer: "Acme, Inc.", Shipments: 2, Currency: "EUR", Rated: "-5.00", InvoicedServices: "0.00", InvoiceTotal: "10.00", Invoices: 2}},
	}
	var buf bytes.Buffer
	if err := rec.Report().WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("parsing %s: %v", buf.String(), err)
	}
	want := [][]string{
		ReportColumns(),
		{"missing_invoice", "s1", "'=HYPERLINK(\"x\")", "", "delivered", "no invoice", "", "", "prepare the invoice", "true", "invoice.prepare", "", "", "", "", "", "", ""},
		{"duplicate_invoice", "s2", "Acme, Inc.", "WB-s2", "one invoice", "2 invoices", "account.move", "7 9", "cancel all but one", "false", "", "open", "", "", "", "", "", ""},
		{"customer_total", "", "Acme, Inc.", "", "", "", "", "", "", "", "", "", "2", "EUR", "-5.00", "0.00", "10.00", "2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}
