package kpi_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/kpi"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// BenchmarkSnapshot measures one uncached snapshot over 100,000 shipments
// in a realistic mix: most invoiced long ago, 3 % invoiced in the last day,
// 10 % on the road, 5 % delivered and waiting for their invoice, and a few
// waiting for release, short or under an exception.
//
//	go test ./internal/kpi -run '^$' -bench Snapshot -benchtime 10x
func BenchmarkSnapshot(b *testing.B) {
	const n = 100_000
	engines := map[string]func(testing.TB) *sqldb.DB{"sqlite": sqldbtest.SQLite, "postgres": sqldbtest.Postgres}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			db := engines[name](b)
			now := time.Now().UTC().Truncate(time.Second)
			fill(b, db, n, now)
			k := kpi.New(db, kpi.Options{CacheFor: time.Nanosecond, Now: func() time.Time { return now }}, nil)
			var s *kpi.Snapshot
			b.ResetTimer()
			for b.Loop() {
				now = now.Add(time.Second) // past CacheFor: every call computes
				var err error
				if s, err = k.Snapshot(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if s.Invoices24h != n*3/100 || s.Unbilled.Count != n*5/100 || s.ReservedNotReleased.Count != n*2/100 {
				b.Fatalf("snapshot of the fill: got %d invoices, %d unbilled, %d waiting for release; want %d, %d, %d",
					s.Invoices24h, s.Unbilled.Count, s.ReservedNotReleased.Count, n*3/100, n*5/100, n*2/100)
			}
		})
	}
}

// fill writes n shipment rows as the workflow stores them.
func fill(b *testing.B, db *sqldb.DB, n int, now time.Time) {
	b.Helper()
	q := func(v, unit string) *quantity.Quantity {
		x, err := quantity.Parse(v, unit)
		if err != nil {
			b.Fatal(err)
		}
		return &x
	}
	const chunk = 500
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		args := make([]any, 0, (end-start)*7)
		for i := start; i < end; i++ {
			sh, updated := benchShipment(i, now, q)
			doc, err := json.Marshal(sh)
			if err != nil {
				b.Fatal(err)
			}
			args = append(args, sh.ID, string(sh.State), sh.BlockedReason, string(doc), int64(3), sh.CreatedAt.UnixMicro(), updated.UnixMicro())
		}
		stmt := db.Dialect.Rebind(`INSERT INTO shipments (id, state, blocked_reason, doc, version, created_at, updated_at) VALUES ` + sqldb.Placeholders(end-start, 7))
		if _, err := db.ExecContext(b.Context(), stmt, args...); err != nil {
			b.Fatalf("filling shipments: %v", err)
		}
	}
}

// benchShipment is shipment i of the fill, and when its row last changed.
func benchShipment(i int, now time.Time, q func(v, unit string) *quantity.Quantity) (*shipment.Shipment, time.Time) {
	h := time.Hour
	created := now.Add(-72 * h)
	sh := &shipment.Shipment{
		ID: fmt.Sprintf("shp_%07d", i), Order: fmt.Sprintf("SO%06d", i), CreatedAt: created, UpdatedAt: created,
		Customer:    &shipment.Party{Name: "Acme Retail"},
		Origin:      &shipment.Location{Name: "WH Rotterdam", Country: "NL"},
		Destination: &shipment.Location{Name: "Acme DC", Country: "DE"},
		References:  map[string]string{"odoo_picking": fmt.Sprintf("WH/OUT/%05d", i)},
		Lines: []shipment.Line{
			{LineID: "1", SKU: "PAL-EUR-01", Quantity: *q("12", "C62"), Reserved: q("12", "C62"), Loaded: q("12", "C62"), Delivered: q("12", "C62")},
			{LineID: "2", SKU: "BULK-02", Quantity: *q("40", "KGM"), Reserved: q("40", "KGM"), Loaded: q("40", "KGM"), Delivered: q("40", "KGM")},
		},
	}
	milestone := func(typ string, at time.Time) {
		sh.Milestones = append(sh.Milestones, shipment.Milestone{Type: typ, At: at, EventID: fmt.Sprintf("evt_%d_%s", i, typ)})
	}
	delivered := func(pod time.Time) {
		for _, m := range []struct {
			typ string
			at  time.Duration
		}{{"shipment.planned", 10 * h}, {"inventory.reserved", 9 * h}, {"shipment.loaded", 8 * h}, {"shipment.departed", 7 * h}, {"shipment.arrived", h}} {
			milestone(m.typ, pod.Add(-m.at))
		}
		milestone("shipment.delivered", pod)
		sh.POD = &shipment.ProofOfDelivery{Signer: "J. Jansen", SignedAt: pod, EventID: "evt_pod", Source: "/pod-app",
			Lines:      []shipment.LineQty{{LineID: "1", Quantity: *q("12", "C62")}, {LineID: "2", Quantity: *q("40", "KGM")}},
			Validation: &shipment.PODValidation{Status: shipment.PODValid}}
		sh.Charges = []shipment.Charge{{Code: "FRT", Type: "linehaul", Amount: money.Money{Minor: 12550, Currency: "EUR"}, Source: shipment.ChargeRated, EventID: "evt_pod"}}
		sh.Billable = true
	}
	updated := now.Add(-48 * h)
	switch m := i % 100; {
	case m < 70: // invoiced long ago
		delivered(now.Add(-60 * h))
		sh.State, sh.Invoice = shipment.Invoiced, &shipment.InvoiceRef{System: "odoo", ExternalID: "1", At: now.Add(-50 * h)}
	case m < 73: // invoiced in the last day
		delivered(now.Add(-12 * h))
		sh.State, sh.Invoice = shipment.Invoiced, &shipment.InvoiceRef{System: "odoo", ExternalID: "1", At: now.Add(-2 * h)}
		updated = now.Add(-2 * h)
	case m < 83: // on the road
		sh.State = shipment.InTransit
		for _, l := range sh.Lines {
			l.Delivered = nil
		}
		milestone("inventory.reserved", now.Add(-5*h))
		milestone("shipment.departed", now.Add(-3*h))
	case m < 88: // delivered, not invoiced
		delivered(now.Add(-6 * h))
		sh.State = shipment.Delivered
	case m < 90: // waiting for release
		sh.State = shipment.Reserved
		milestone("inventory.reserved", now.Add(-2*h))
	case m < 92: // short
		sh.State = shipment.Short
		sh.Reviews = []shipment.Review{{ID: "r", Kind: shipment.ReviewShortage, Status: shipment.ReviewOpen, OwnerRole: "warehouse", OpenedAt: now.Add(-h)}}
	case m < 94: // under an exception
		sh.State, sh.ResumeState = shipment.Exception, shipment.InTransit
		sh.Exceptions = []shipment.ExceptionRecord{{ID: "delay", Category: shipment.Delay, Status: shipment.ExceptionOpen, OwnerRole: "dispatch", OpenedAt: now.Add(-5 * h)}}
	default:
		sh.State = shipment.Planned
	}
	return sh, updated
}
