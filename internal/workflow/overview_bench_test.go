package workflow_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// BenchmarkOverview measures the console's flow overview (counts by
// state, billable count, the first 50 blocked) over 100,000 shipments of
// 20 customers, without a filter (index only) and filtered by customer
// and created dates (reading documents):
//
//	go test ./internal/workflow -run '^$' -bench Overview -benchtime 10x
func BenchmarkOverview(b *testing.B) {
	const n = 100_000
	engines := map[string]func(testing.TB) *sqldb.DB{"sqlite": sqldbtest.SQLite, "postgres": sqldbtest.Postgres}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			db := engines[name](b)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			fillOverview(b, db, n, now)
			s := workflow.NewStore(db)
			for _, c := range []struct {
				name string
				f    workflow.Filter
				want int64
			}{
				{"none", workflow.Filter{}, n},
				{"customer", workflow.Filter{Customer: "Customer 7"}, n / 20},
				{"customer_and_dates", workflow.Filter{Customer: "Customer 7", CreatedFrom: now.AddDate(0, 0, -10), CreatedTo: now}, 0},
			} {
				b.Run(c.name, func(b *testing.B) {
					var total int64
					for b.Loop() {
						counts, err := s.CountByState(b.Context(), c.f)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := s.CountBillable(b.Context(), c.f); err != nil {
							b.Fatal(err)
						}
						if _, _, err := s.Blocked(b.Context(), c.f, 50); err != nil {
							b.Fatal(err)
						}
						total = 0
						for _, sc := range counts {
							total += sc.Count
						}
					}
					if c.want > 0 && total != c.want {
						b.Fatalf("counted %d shipments, want %d", total, c.want)
					}
				})
			}
		})
	}
}

// fillOverview writes n shipments: one in 20 for each customer, created
// one a minute before now.
func fillOverview(b *testing.B, db *sqldb.DB, n int, now time.Time) {
	b.Helper()
	qty, err := quantity.Parse("12", "C62")
	if err != nil {
		b.Fatal(err)
	}
	states := []shipment.State{shipment.Invoiced, shipment.Invoiced, shipment.Invoiced, shipment.Delivered, shipment.InTransit, shipment.Planned}
	const chunk = 500
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		args := make([]any, 0, (end-start)*8)
		for i := start; i < end; i++ {
			created := now.Add(-time.Duration(n-i) * time.Minute)
			sh := &shipment.Shipment{ID: fmt.Sprintf("shp_%07d", i), State: states[i%len(states)], CreatedAt: created, UpdatedAt: created,
				Customer: &shipment.Party{Name: fmt.Sprintf("Customer %d", i%20), Ref: fmt.Sprintf("odoo:res.partner/%d", i%20)},
				Carrier:  &shipment.Carrier{Name: "Kestrel Line", SCAC: "XKTL"},
				Origin:   &shipment.Location{Name: "WH Rotterdam", Country: "NL"}, Destination: &shipment.Location{Name: "Acme DC", Country: "DE"},
				Lines: []shipment.Line{{LineID: "1", SKU: "PAL-EUR-01", Quantity: qty}}}
			if sh.State == shipment.Planned {
				sh.BlockedReason = "awaiting reservation"
			}
			doc, err := json.Marshal(sh)
			if err != nil {
				b.Fatal(err)
			}
			args = append(args, sh.ID, string(sh.State), sh.BlockedReason, string(doc), int64(1), created.UnixMicro(), created.UnixMicro(),
				workflow.Facets(sh))
		}
		stmt := db.Dialect.Rebind(`INSERT INTO shipments (id, state, blocked_reason, doc, version, created_at, updated_at, facets) VALUES ` + sqldb.Placeholders(end-start, 8))
		if _, err := db.ExecContext(b.Context(), stmt, args...); err != nil {
			b.Fatalf("filling shipments: %v", err)
		}
	}
}
