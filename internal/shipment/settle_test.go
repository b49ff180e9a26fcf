package shipment_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
)

func qty(t *testing.T, v string) quantity.Quantity {
	t.Helper()
	q, err := quantity.Parse(v, "C62")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestSettle(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { v := t0.Add(time.Duration(h) * time.Hour); return &v }
	exc := func(id string, cat shipment.ExceptionCategory, res shipment.Resolution, resolved *time.Time, lines ...shipment.LineQty) shipment.ExceptionRecord {
		st := shipment.ExceptionResolved
		if res == "" {
			st = shipment.ExceptionOpen
		}
		return shipment.ExceptionRecord{ID: id, Category: cat, Status: st, Resolution: res, ResolvedAt: resolved, Lines: lines}
	}
	ten, four := qty(t, "10"), qty(t, "4")
	line := func(id string, q quantity.Quantity) shipment.LineQty {
		return shipment.LineQty{LineID: id, Quantity: q}
	}
	six := qty(t, "6")
	loaded := []shipment.Line{{LineID: "1", SKU: "A", Loaded: &ten}, {LineID: "2", SKU: "B", Loaded: &four}}

	ids := func(es []shipment.ExceptionRecord) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	tests := []struct {
		name        string
		exceptions  []shipment.ExceptionRecord
		invoicedAt  *time.Time
		returns     []string // TakeBacks(ActionPickingReturn)
		scraps      []string // TakeBacks(ActionStockScrap)
		all         []string // TakeBacks()
		nothingLeft bool
		credit      string
	}{
		{name: "no exceptions"},
		{
			name: "open, dismissed, no lines and no consequence are not taken back",
			exceptions: []shipment.ExceptionRecord{
				exc("open", shipment.Damaged, "", nil, line("1", ten)),
				exc("dismissed", shipment.Refused, shipment.ResolutionDismissed, at(1), line("1", ten)),
				exc("nolines", shipment.Damaged, shipment.ResolutionApproved, at(1)),
				exc("route", shipment.RouteChanged, shipment.ResolutionApproved, at(1), line("1", ten)),
			},
		},
		{
			name: "returns and write-offs by kind, in order",
			exceptions: []shipment.ExceptionRecord{
				exc("dmg", shipment.Damaged, shipment.ResolutionApproved, at(1), line("1", four)),
				exc("ref", shipment.Refused, shipment.ResolutionApproved, at(2), line("1", six)),
				exc("short", shipment.ShortShipped, shipment.ResolutionApproved, at(3), line("2", four)),
			},
			returns: []string{"ref"}, scraps: []string{"dmg", "short"}, all: []string{"dmg", "ref", "short"},
			nothingLeft: true,
		},
		{
			name: "part of a line left to bill",
			exceptions: []shipment.ExceptionRecord{
				exc("ret", shipment.ReturnedGood, shipment.ResolutionApproved, at(1), line("1", ten)),
				exc("lost", shipment.Lost, shipment.ResolutionApproved, at(1), line("2", qty(t, "3.999"))),
			},
			returns: []string{"ret"}, scraps: []string{"lost"}, all: []string{"ret", "lost"},
		},
		{
			name: "credit for the last approved after the invoice",
			exceptions: []shipment.ExceptionRecord{
				exc("before", shipment.Damaged, shipment.ResolutionApproved, at(1), line("1", four)),
				exc("after1", shipment.Refused, shipment.ResolutionApproved, at(5), line("1", four)),
				exc("after2", shipment.Damaged, shipment.ResolutionApproved, at(6), line("2", four)),
				exc("dismissed", shipment.Damaged, shipment.ResolutionDismissed, at(7), line("2", four)),
			},
			invoicedAt: at(3),
			returns:    []string{"after1"}, scraps: []string{"before", "after2"}, all: []string{"before", "after1", "after2"},
			credit: "after2",
		},
		{
			name:       "nothing approved after the invoice",
			exceptions: []shipment.ExceptionRecord{exc("before", shipment.Damaged, shipment.ResolutionApproved, at(1), line("1", four))},
			invoicedAt: at(3),
			scraps:     []string{"before"}, all: []string{"before"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sh := &shipment.Shipment{ID: "s", Lines: loaded, Exceptions: tt.exceptions}
			if tt.invoicedAt != nil {
				sh.Invoice = &shipment.InvoiceRef{System: "odoo", ExternalID: "7", At: *tt.invoicedAt}
			}
			if diff := cmp.Diff(tt.returns, ids(sh.TakeBacks(shipment.ActionPickingReturn))); diff != "" {
				t.Errorf("TakeBacks(return) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.scraps, ids(sh.TakeBacks(shipment.ActionStockScrap))); diff != "" {
				t.Errorf("TakeBacks(scrap) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.all, ids(sh.TakeBacks())); diff != "" {
				t.Errorf("TakeBacks() (-want +got):\n%s", diff)
			}
			for _, e := range sh.TakeBacks(shipment.ActionStockScrap) {
				if !e.WritesOff() {
					t.Errorf("%s: WritesOff false for a scrapped category %s", e.ID, e.Category)
				}
			}
			for _, e := range sh.TakeBacks(shipment.ActionPickingReturn) {
				if e.WritesOff() {
					t.Errorf("%s: WritesOff true for a returned category %s", e.ID, e.Category)
				}
			}
			if got := sh.NothingLeftToBill(); got != tt.nothingLeft {
				t.Errorf("NothingLeftToBill: got %v, want %v", got, tt.nothingLeft)
			}
			e, ok := sh.CreditableException()
			if ok != (tt.credit != "") || e.ID != tt.credit {
				t.Errorf("CreditableException: got %q %v, want %q", e.ID, ok, tt.credit)
			}
		})
	}
}

func TestRouteChange(t *testing.T) {
	t.Parallel()
	sh := &shipment.Shipment{Exceptions: []shipment.ExceptionRecord{
		{ID: "r1", Category: shipment.RouteChanged, Status: shipment.ExceptionOpen},
		{ID: "r2", Category: shipment.RouteChanged, Status: shipment.ExceptionOpen},
		{ID: "r3", Category: shipment.RouteChanged, Status: shipment.ExceptionResolved},
		{ID: "d1", Category: shipment.Delay, Status: shipment.ExceptionOpen},
	}}
	if e, ok := sh.RouteChange(); !ok || e.ID != "r2" {
		t.Errorf("RouteChange: got %q %v, want the last open one, r2", e.ID, ok)
	}
	sh.Exceptions[0].Status, sh.Exceptions[1].Status = shipment.ExceptionResolved, shipment.ExceptionResolved
	if e, ok := sh.RouteChange(); ok {
		t.Errorf("RouteChange with none open: got %q", e.ID)
	}
}
