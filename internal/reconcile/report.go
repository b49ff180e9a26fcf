package reconcile

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/money"
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
	// Margins are the delivered shipments' margins and CustomerMargins
	// their sums per customer and currency, when the freight audit is on
	// ([Report.AddMargins]); empty otherwise.
	Margins         []ShipmentMargin `json:"margins,omitempty"`
	CustomerMargins []ShipmentMargin `json:"customer_margins,omitempty"`
}

// ShipmentMargin is what a shipment (or, summed, a customer) earns:
// revenue invoiced less approved freight cost, decimal text in major units
// of Currency. Revenue and Margin are empty for a shipment not invoiced
// yet, and such a shipment adds only its cost to its customer's sum.
type ShipmentMargin struct {
	ShipmentID  string `json:"shipment_id,omitempty"`
	Customer    string `json:"customer,omitempty"`
	Currency    string `json:"currency"`
	Revenue     string `json:"revenue"`
	FreightCost string `json:"freight_cost"`
	Margin      string `json:"margin"`
}

// Types of the CSV rows of margins.
const (
	ShipmentMarginRowType = "shipment_margin"
	CustomerMarginRowType = "customer_margin"
)

// MarginColumns are the columns a report's CSV form adds after
// [ReportColumns] when it has margins; rows other than margins leave
// them empty.
func MarginColumns() []string { return []string{"revenue", "freight_cost", "margin"} }

// AddMargins sets the report's shipment margins and sums them per
// customer and currency, customers in order. Amounts that are not decimal
// text are left out of the sums.
func (rep *Report) AddMargins(ms []ShipmentMargin) {
	rep.Margins = ms
	rep.CustomerMargins = nil
	type key struct{ customer, currency string }
	sums := map[key]*[3]*big.Rat{}
	var order []key
	for _, m := range ms {
		k := key{m.Customer, m.Currency}
		s := sums[k]
		if s == nil {
			s = &[3]*big.Rat{new(big.Rat), new(big.Rat), new(big.Rat)}
			sums[k] = s
			order = append(order, k)
		}
		for i, v := range []string{m.Revenue, m.FreightCost, m.Margin} {
			if r, ok := new(big.Rat).SetString(v); ok && v != "" {
				s[i].Add(s[i], r)
			}
		}
	}
	slices.SortStableFunc(order, func(a, b key) int { return strings.Compare(a.customer+"\x00"+a.currency, b.customer+"\x00"+b.currency) })
	for _, k := range order {
		s := sums[k]
		places := 2
		if e, err := money.Exponent(k.currency); err == nil {
			places = e
		}
		rep.CustomerMargins = append(rep.CustomerMargins, ShipmentMargin{Customer: k.customer, Currency: k.currency,
			Revenue: decimal.FormatFixed(s[0], places), FreightCost: decimal.FormatFixed(s[1], places), Margin: decimal.FormatFixed(s[2], places)})
	}
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
//
// A report with margins ([Report.AddMargins]) has the [MarginColumns]
// too, and after the customers' totals a row per shipment margin (type
// shipment_margin) and per customer (customer_margin).
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	margins := len(rep.Margins) > 0
	extra := 0
	head := ReportColumns()
	if margins {
		extra = len(MarginColumns())
		head = append(head, MarginColumns()...)
	}
	pad := func(rec []string) []string { return append(rec, make([]string, extra)...) }
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	for _, r := range rep.Rows {
		ids := make([]string, len(r.OdooIDs))
		for i, id := range r.OdooIDs {
			ids[i] = strconv.Itoa(id)
		}
		rec := []string{string(r.Type), cell(r.ShipmentID), cell(r.Customer), cell(r.Subject), cell(r.Expected), cell(r.Actual),
			r.OdooModel, strings.Join(ids, " "), cell(r.Action), strconv.FormatBool(r.Safe), r.Healed, r.Review, "", "", "", "", "", ""}
		if err := cw.Write(pad(rec)); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	for _, t := range rep.Totals {
		rec := []string{TotalRowType, "", cell(t.Customer), "", "", "", "", "", "", "", "", "",
			strconv.Itoa(t.Shipments), t.Currency, t.Rated, t.InvoicedServices, t.InvoiceTotal, strconv.Itoa(t.Invoices)}
		if err := cw.Write(pad(rec)); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	}
	for _, rows := range []struct {
		typ string
		ms  []ShipmentMargin
	}{{ShipmentMarginRowType, rep.Margins}, {CustomerMarginRowType, rep.CustomerMargins}} {
		for _, m := range rows.ms {
			rec := []string{rows.typ, cell(m.ShipmentID), cell(m.Customer), "", "", "", "", "", "", "", "", "", "", m.Currency, "", "", "", "",
				m.Revenue, m.FreightCost, m.Margin}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
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
