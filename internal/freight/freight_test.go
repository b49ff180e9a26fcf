package freight_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func usd(minor int64) money.Money { return money.Money{Minor: minor, Currency: "USD"} }

func rat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

func TestCompare(t *testing.T) {
	t.Parallel()
	tol := freight.Tolerances{{Type: freight.DefaultType, Abs: rat("1"), Percent: rat("2")}, {Type: "fuel", Percent: rat("10")}}
	expected := []rating.Charge{{Type: rating.Linehaul, Amount: usd(100000)}, {Type: rating.Fuel, Amount: usd(12000)}}
	tests := []struct {
		name       string
		reported   []shipment.Charge
		wantWithin bool
		wantLines  []freight.Line
	}{
		{name: "exact", reported: []shipment.Charge{{Type: "linehaul", Amount: usd(100000)}, {Type: "fuel", Amount: usd(12000)}}, wantWithin: true,
			wantLines: []freight.Line{
				{Type: "linehaul", Currency: "USD", Reported: "1000.00", Expected: "1000.00", Difference: "0.00", Percent: "0.00", Allowed: "20.00", Within: true},
				{Type: "fuel", Currency: "USD", Reported: "120.00", Expected: "120.00", Difference: "0.00", Percent: "0.00", Allowed: "12.00", Within: true}}},
		{name: "percent allows more than abs", reported: []shipment.Charge{{Type: "linehaul", Amount: usd(102000)}, {Type: "fuel", Amount: usd(13200)}}, wantWithin: true,
			wantLines: []freight.Line{
				{Type: "linehaul", Currency: "USD", Reported: "1020.00", Expected: "1000.00", Difference: "20.00", Percent: "2.00", Allowed: "20.00", Within: true},
				{Type: "fuel", Currency: "USD", Reported: "132.00", Expected: "120.00", Difference: "12.00", Percent: "10.00", Allowed: "12.00", Within: true}}},
		{name: "12 percent above", reported: []shipment.Charge{{Type: "linehaul", Amount: usd(112000)}, {Type: "fuel", Amount: usd(12000)}},
			wantLines: []freight.Line{
				{Type: "linehaul", Currency: "USD", Reported: "1120.00", Expected: "1000.00", Difference: "120.00", Percent: "12.00", Allowed: "20.00"},
				{Type: "fuel", Currency: "USD", Reported: "120.00", Expected: "120.00", Difference: "0.00", Percent: "0.00", Allowed: "12.00", Within: true}}},
		{name: "less than expected", reported: []shipment.Charge{{Type: "linehaul", Amount: usd(50000)}}, wantWithin: true,
			wantLines: []freight.Line{
				{Type: "linehaul", Currency: "USD", Reported: "500.00", Expected: "1000.00", Difference: "-500.00", Percent: "-50.00", Allowed: "20.00", Within: true},
				{Type: "fuel", Currency: "USD", Reported: "0.00", Expected: "120.00", Difference: "-120.00", Percent: "-100.00", Allowed: "12.00", Within: true}}},
		{name: "unexpected type", reported: []shipment.Charge{{Type: "linehaul", Amount: usd(100000)}, {Type: "fuel", Amount: usd(12000)}, {Type: "detention", Amount: usd(5000)}},
			wantLines: []freight.Line{
				{Type: "linehaul", Currency: "USD", Reported: "1000.00", Expected: "1000.00", Difference: "0.00", Percent: "0.00", Allowed: "20.00", Within: true},
				{Type: "fuel", Currency: "USD", Reported: "120.00", Expected: "120.00", Difference: "0.00", Percent: "0.00", Allowed: "12.00", Within: true},
				{Type: "detention", Currency: "USD", Reported: "50.00", Expected: "0.00", Difference: "50.00", Allowed: "1.00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lines, within, reason := freight.Compare(tt.reported, expected, tol)
			if within != tt.wantWithin || (reason == "") != tt.wantWithin {
				t.Errorf("got within %t, reason %q; want within %t", within, reason, tt.wantWithin)
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// jobs records the actions the auditor enqueues, committed or not.
type jobs struct {
	mu      sync.Mutex
	actions []connector.Action
}

func (j *jobs) InsertTx(_ context.Context, _ *sql.Tx, actions []connector.Action) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.actions = append(j.actions, actions...)
	return nil
}

func (j *jobs) kinds() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, a := range j.actions {
		out = append(out, a.Kind+" "+a.IdempotencyKey)
	}
	return out
}

const rules = `version: "c1"
currency: USD
rules:
  - id: acme-linehaul
    kind: freight
    when: has(facts.carrier_scac) && facts.carrier_scac == "ACME"
    amount: 1000.00
`

// invoiceAction is the freight.audit action of a carrier invoice reported
// for a shipment by event eventID.
func invoiceAction(t *testing.T, eventID, number, scac string, amount int64) *connector.Action {
	t.Helper()
	sh := shipment.Shipment{ID: "s-" + eventID, Carrier: &shipment.Carrier{Ref: "odoo:delivery.carrier/1"},
		Charges:         []shipment.Charge{{Code: "400", Type: "linehaul", Amount: usd(amount), InvoiceNumber: number, EventID: eventID}},
		CarrierInvoices: []shipment.CarrierInvoice{{Number: number, Carrier: &shipment.Carrier{SCAC: scac}, Date: "2026-12-01", EventID: eventID}}}
	raw, err := json.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	return &connector.Action{Kind: shipment.ActionFreightAudit, ShipmentID: sh.ID, EventID: eventID, IdempotencyKey: eventID + "/freight.audit",
		Attempt: 1, Payload: raw}
}

func TestAuditor(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		rs, err := rating.Parse([]byte(rules), "cost.yaml")
		if err != nil {
			t.Fatal(err)
		}
		j := &jobs{}
		a, err := freight.New(freight.Options{DB: db, Rules: rs, Jobs: j,
			Tolerances: freight.Tolerances{{Type: freight.DefaultType, Percent: rat("2")}}})
		if err != nil {
			t.Fatal(err)
		}
		// Within tolerance, delivered twice: one audit, one bill.
		ok := invoiceAction(t, "e1", "INV-1", "ACME", 101000)
		for range 2 {
			if err := a.Deliver(ctx, ok); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
		}
		list, _, err := a.List(ctx, freight.ListParams{Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("List: got %d audits, %v; want 1", len(list), err)
		}
		first := list[0]
		if first.State != freight.StateApproved || !first.AutoApproved || first.CarrierKey != "ACME" || first.Carrier.Ref != "odoo:delivery.carrier/1" {
			t.Errorf("within tolerance: got %+v", first)
		}
		if got, want := j.kinds(), []string{"vendor_bill.create freight/" + first.ID + "/vendor_bill.create"}; !slices.Equal(got, want) {
			t.Errorf("jobs: got %v, want %v", got, want)
		}
		// The same invoice reported by another event is a repeat.
		if err := a.Deliver(ctx, invoiceAction(t, "e2", "INV-1", "ACME", 101000)); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Get(ctx, first.ID); err != nil || len(got.Repeats) != 1 || got.Repeats[0].EventID != "e2" {
			t.Errorf("repeat: got %+v, %v", got, err)
		}
		// Outside tolerance, and no rule for the carrier: reviews.
		if err := a.Deliver(ctx, invoiceAction(t, "e3", "INV-2", "ACME", 112000)); err != nil {
			t.Fatal(err)
		}
		if err := a.Deliver(ctx, invoiceAction(t, "e4", "INV-3", "OTHR", 50000)); err != nil {
			t.Fatal(err)
		}
		review, _, err := a.List(ctx, freight.ListParams{State: freight.StateReview, Limit: 1})
		if err != nil || len(review) != 1 || review[0].InvoiceNumber != "INV-3" {
			t.Fatalf("newest in review: got %+v, %v", review, err)
		}
		norule := review[0]
		page2, _, err := a.List(ctx, freight.ListParams{State: freight.StateReview, Limit: 1, Cursor: mustCursor(t, a)})
		if err != nil || len(page2) != 1 || page2[0].InvoiceNumber != "INV-2" {
			t.Fatalf("second page: got %+v, %v", page2, err)
		}
		high := page2[0]

		if _, _, err := a.Decide(ctx, freight.DecideParams{ID: high.ID, Decision: freight.Dispute}); !errors.Is(err, freight.ErrInvalid) {
			t.Errorf("dispute without reason: got %v, want ErrInvalid", err)
		}
		if _, _, err := a.Decide(ctx, freight.DecideParams{ID: first.ID, Decision: freight.Approve, Actor: "key:f"}); !errors.Is(err, freight.ErrDecided) {
			t.Errorf("deciding an audit approved by itself: got %v, want ErrDecided", err)
		}
		got, repeat, err := a.Decide(ctx, freight.DecideParams{ID: high.ID, Decision: freight.Approve, Actor: "key:f", Reason: "ok"})
		if err != nil || repeat || got.State != freight.StateApproved || got.DecidedBy != "key:f" || got.DecidedAt == nil {
			t.Fatalf("approve: got %+v, %t, %v", got, repeat, err)
		}
		if _, repeat, err := a.Decide(ctx, freight.DecideParams{ID: high.ID, Decision: freight.Approve, Actor: "key:g"}); err != nil || !repeat {
			t.Errorf("approving again: got repeat %t, %v", repeat, err)
		}
		if _, _, err := a.Decide(ctx, freight.DecideParams{ID: high.ID, Decision: freight.Dispute, Reason: "no"}); !errors.Is(err, freight.ErrDecided) {
			t.Errorf("disputing an approved audit: got %v, want ErrDecided", err)
		}
		if _, _, err := a.Decide(ctx, freight.DecideParams{ID: norule.ID, Decision: freight.Dispute, Actor: "key:f", Reason: "not our carrier"}); err != nil {
			t.Fatal(err)
		}
		if n := len(j.kinds()); n != 2 {
			t.Errorf("jobs after the decisions: %v, want two vendor bills", j.kinds())
		}
		if _, _, err := a.Decide(ctx, freight.DecideParams{ID: "nope", Decision: freight.Approve}); !errors.Is(err, freight.ErrNotFound) {
			t.Errorf("deciding nothing: got %v, want ErrNotFound", err)
		}
		at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		for range 2 {
			if err := a.RecordBill(ctx, high.ID, freight.Bill{System: "odoo", ID: 42, Number: "BILL/2026/12/0001", State: "posted", At: at}); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := a.Get(ctx, high.ID); err != nil || got.Bill == nil || got.Bill.ID != 42 || !got.Bill.At.Equal(at) {
			t.Errorf("bill: got %+v, %v", got.Bill, err)
		}
		if _, _, err := a.List(ctx, freight.ListParams{Limit: 10, Cursor: "!!"}); !errors.Is(err, freight.ErrInvalid) {
			t.Errorf("bad cursor: got %v, want ErrInvalid", err)
		}
	})
}

// mustCursor is the cursor after the first audit in review.
func mustCursor(t *testing.T, a *freight.Auditor) string {
	t.Helper()
	_, next, err := a.List(t.Context(), freight.ListParams{State: freight.StateReview, Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	return next
}

func TestMarginOf(t *testing.T) {
	t.Parallel()
	sh := &shipment.Shipment{ID: "s1", Invoice: &shipment.InvoiceRef{System: "odoo", ExternalID: "7"},
		Charges: []shipment.Charge{
			{Code: "400", Type: "linehaul", Amount: usd(150000), Source: shipment.ChargeRated},
			{Code: "400", Type: "linehaul", Amount: usd(100000), InvoiceNumber: "INV-1", EventID: "e1"},
		}}
	audits := []*freight.Audit{
		{State: freight.StateApproved, Charges: []shipment.Charge{{Amount: usd(100000)}}},
		{State: freight.StateReview, Charges: []shipment.Charge{{Amount: usd(20000)}}},
		{State: freight.StateDisputed, Charges: []shipment.Charge{{Amount: usd(99900)}}},
	}
	got := freight.MarginOf(sh, audits)
	want := freight.Margin{ShipmentID: "s1", Currency: "USD", Invoiced: true, Revenue: "1500.00", FreightCost: "1000.00", PendingCost: "200.00",
		Margin: "500.00", Note: "carrier invoices in review are not counted yet"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MarginOf (-want +got):\n%s", diff)
	}
	sh.Invoice = nil
	if got := freight.MarginOf(sh, audits); got.Margin != "" || got.Revenue != "" || got.FreightCost != "1000.00" {
		t.Errorf("before invoicing: got %+v, want the cost only", got)
	}
}
