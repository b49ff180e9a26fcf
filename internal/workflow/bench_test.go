package workflow_test

import (
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// BenchmarkWriter measures intake's one writer alone: groups of 1,000
// parsed shipment.planned events, each for a new shipment, stored the way
// the committer stores them, on SQLite with synchronous FULL as shipped
// (and PostgreSQL when WAYBILL_TEST_POSTGRES_URL is set). Parsing and HTTP
// are left out, so its events/s is the most a single writer can accept
// however fast the rest gets. "store" writes the events alone (left
// pending); "apply" is what intake does: it applies them in the same
// transaction (shipments, cross-references and outbound actions). Run:
//
//	go test ./internal/workflow -run '^$' -bench Writer -benchtime 100x
//
// b.N counts groups.
func BenchmarkWriter(b *testing.B) {
	const group = 1000
	engines := []struct {
		name string
		open func(b *testing.B) *sqldb.DB
	}{
		{"sqlite", func(b *testing.B) *sqldb.DB {
			return openBench(b, sqldb.Options{DataDir: b.TempDir(), Synchronous: "full"})
		}},
	}
	if os.Getenv(sqldbtest.PostgresURLEnv) != "" {
		engines = append(engines, struct {
			name string
			open func(b *testing.B) *sqldb.DB
		}{"postgres", func(b *testing.B) *sqldb.DB {
			return openBench(b, sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b), MaxConns: 8})
		}})
	}
	for _, eng := range engines {
		for _, apply := range []bool{false, true} {
			name := eng.name + "/store"
			if apply {
				name = eng.name + "/apply"
			}
			b.Run(name, func(b *testing.B) {
				db := eng.open(b)
				bb := setup(b, db, workflow.Options{Logger: slog.New(slog.DiscardHandler)})
				var fn intake.ApplyFunc
				if apply {
					fn = bb.proc.ApplyInTx
				}
				n := 0
				var last intake.Result
				parse := func() []*intake.Event {
					evs := make([]*intake.Event, group)
					for i := range evs {
						n++
						raw := ev{id: fmt.Sprintf("e-%d", n), typ: "shipment.planned", subject: fmt.Sprintf("tms:S%d", n),
							data: planned("Acme Retail", `"order":"SO-`+fmt.Sprint(n)+`"`)}.raw(b)
						p, err := bb.parser.Parse(raw, intake.Hints{})
						if err != nil {
							b.Fatal(err)
						}
						evs[i] = p
					}
					return evs
				}
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					evs := parse()
					b.StartTimer()
					res, err := bb.events.AppendApply(b.Context(), evs, fn)
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Err != nil || r.Duplicate {
							b.Fatalf("storing an event: %+v", r)
						}
						last = r
					}
				}
				b.StopTimer()
				if apply {
					st, err := bb.events.Get(b.Context(), last.EventID)
					if err != nil {
						b.Fatal(err)
					}
					if st.State != intake.StateApplied {
						b.Fatalf("the last event is %s, want applied", st.State)
					}
				}
				perEvent := b.Elapsed().Seconds() / float64(b.N*group)
				b.ReportMetric(1/perEvent, "events/s")
				b.ReportMetric(perEvent*1e6, "µs/event")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func openBench(b *testing.B, opts sqldb.Options) *sqldb.DB {
	db, err := sqldb.Open(b.Context(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(b.Context(), slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	return db
}
