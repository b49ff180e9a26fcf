package reconcile

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Report is a reconciliation laid out for finance: one row per
// difference, then one per customer. Its CSV form ([Report.WriteCSV]) has
// the columns of [ReportColumns].
type Report struct {
	ID        string          `json:"id"`
	Date      string          `json:"date"`
	Warehouse string          `json:"warehouse,omitempty"`
	State     string          `json:"state"`
	Rows      []ReportRow     `json:"rows"`
	Totals    []CustomerTotal `json:"totals"`
}

// ReportRow is one difference of a report.
type ReportRow struct {
	Type       Type   `json:"type"`
	ShipmentID string `json:"shipment_id,omitempty"`
	Customer   string `json:"customer,omitempty"`
	Subject    string `json:"subject,omitempty"`
	// Expected is Waybill's side, Actual Odoo's.
	Expected  string `json:"expected"`
	Actual    string `json:"actual"`
	OdooModel string `json:"odoo_model,omitempty"`
	OdooIDs   []int  `json:"odoo_ids"`
	Action    string `json:"action"`
	Safe      bool   `json:"safe"`
	Healed    string `json:"healed,omitempty"`
	// Review is the finance review's status; empty for safe differences.
	Review string `json:"review,omitempty"`
}

// TotalRowType is the type column of the CSV rows of customer totals.
const TotalRowType = "customer_total"

// ReportColumns are the columns of a report's CSV form, in order. A
// difference row leaves the totals' columns (shipments to invoices)
// empty; a customer's row has type customer_total, its customer and
// currency, and leaves the difference's columns empty.
func ReportColumns() []string {
	return []string{"type", "shipment_id", "customer", "subject", "expected", "actual", "odoo_model", "odoo_ids",
		"action", "safe", "healed", "review", "shipments", "currency", "rated", "invoiced_services", "invoice_total", "invoices"}
}

// Report returns the record's report.
func (rec *Record) Report() *Report {
	rep := &Report{ID: rec.ID, Date: rec.Date, Warehouse: rec.Warehouse, State: rec.State,
		Rows: make([]ReportRow, 0, len(rec.Differences)), Totals: rec.Totals}
	if rep.Totals == nil {
		rep.Totals = []CustomerTotal{}
	}
	for _, d := range rec.Differences {
		row := ReportRow{Type: d.Type, ShipmentID: d.ShipmentID, Customer: d.Customer, Subject: d.Subject,
			Expected: d.Evidence.Waybill, Actual: d.Evidence.Odoo, OdooModel: d.Evidence.OdooModel, OdooIDs: d.Evidence.OdooIDs,
			Action: d.Action, Safe: d.Safe, Healed: d.Healed}
		if row.OdooIDs == nil {
			row.OdooIDs = []int{}
		}
		if d.Review != nil {
			row.Review = d.Review.Status
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

// WriteCSV writes the report as CSV with a header row: the differences,
// then the customers' totals. Text that a spreadsheet would take for a
// formula (starting with =, +, -, @, a tab or a carriage return) is
// prefixed with a single quote; odoo_ids are separated by spaces.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportColumns()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	for _, r := range rep.Rows {
		ids := make([]string, len(r.OdooIDs))
		for i, id := range r.OdooIDs {
			ids[i] = strconv.Itoa(id)
		}
		rec := []string{string(r.Type), cell(r.ShipmentID), cell(r.Customer), cell(r.Subject), cell(r.Expected), cell(r.Actual),
			r.OdooModel, strings.Join(ids, " "), cell(r.Action), strconv.FormatBool(r.Safe), r.Healed, r.Review, "", "", "", "", "", ""}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	for _, t := range rep.Totals {
		rec := []string{TotalRowType, "", cell(t.Customer), "", "", "", "", "", "", "", "", "",
			strconv.Itoa(t.Shipments), t.Currency, t.Rated, t.InvoicedServices, t.InvoiceTotal, strconv.Itoa(t.Invoices)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// cell neutralises text a spreadsheet would run as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
