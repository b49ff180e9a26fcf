package workflow_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// share owns the partitions p with p % of == k.
type share struct{ k, of int }

func (s share) Count() int { return workflow.Partitions }

func (s share) Owned() []int {
	var out []int
	for p := s.k; p < workflow.Partitions; p += s.of {
		out = append(out, p)
	}
	return out
}

func (s share) Fence(context.Context, *sql.Tx, []int) error { return nil }

// BenchmarkPartitionedApply measures how fast 1, 2 and 4 processors on
// one PostgreSQL database, each owning its share of the partitions, apply
// a backlog: 4,000 shipments planned and then reserved (8,000 events),
// routed beforehand. It reports the events applied per second and the
// batches they took. Each processor is what one replica runs; here they
// share the machine's cores with PostgreSQL. Run:
//
//	go test ./internal/workflow -run '^$' -bench PartitionedApply -benchtime 1x
func BenchmarkPartitionedApply(b *testing.B) {
	const shipments = 4000
	for _, procs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("processors=%d", procs), func(b *testing.B) {
			var applied, batches int
			var took time.Duration
			for range b.N {
				b.StopTimer()
				db := sqldbtest.Postgres(b)
				policy := shipment.Policy{}
				var bundles []*bundle
				for k := range procs {
					bundles = append(bundles, setup(b, db, workflow.Options{Policy: policy, Partitions: share{k, procs},
						Logger: slog.New(slog.DiscardHandler)}))
				}
				bb := bundles[0]
				for chunk := 0; chunk < shipments; chunk += 500 {
					var evs []*intake.Event
					for i := chunk; i < chunk+500; i++ {
						for _, e := range []ev{
							{id: fmt.Sprintf("p%d", i), typ: "shipment.planned", subject: fmt.Sprintf("tms:S%d", i), data: planned("Acme", "")},
							{id: fmt.Sprintf("r%d", i), typ: "inventory.reserved", subject: fmt.Sprintf("tms:S%d", i), at: 1, data: reserveFull},
						} {
							p, err := bb.parser.Parse(e.raw(b), intake.Hints{})
							if err != nil {
								b.Fatal(err)
							}
							evs = append(evs, p)
						}
					}
					if _, err := bb.events.Append(b.Context(), evs); err != nil {
						b.Fatal(err)
					}
				}
				router := workflow.NewRouter(db, bb.events, bb.store, workflow.RouterOptions{})
				for {
					n, err := router.RouteBatch(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
				b.StartTimer()
				start := time.Now()
				var mu sync.Mutex
				var wg sync.WaitGroup
				for _, p := range bundles {
					wg.Go(func() {
						for {
							n, err := p.proc.ProcessBatch(b.Context())
							if err != nil {
								b.Error(err)
								return
							}
							if n == 0 {
								return
							}
							mu.Lock()
							applied, batches = applied+n, batches+1
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				took += time.Since(start)
			}
			if applied != 2*shipments*b.N {
				b.Fatalf("applied %d events, want %d", applied, 2*shipments*b.N)
			}
			b.ReportMetric(float64(applied)/took.Seconds(), "events/s")
			b.ReportMetric(float64(batches)/float64(b.N), "batches")
		})
	}
}
