package hub_test

import (
	"os"
	"testing"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// BenchmarkIntake drives a whole hub (SQLite FULL or PostgreSQL, every
// check on, the webhook connector taking the outbound actions) with
// loadgen's unique shipment.planned events, single and in batches of 100,
// 64 connections. It reports accepted events per second and the p99
// request latency; b.N counts thousands of events. Loadgen runs in the
// same process, so use waybill bench for CPU per event. Run:
//
//	go test ./internal/hub -run '^$' -bench Intake -benchtime 20x
func BenchmarkIntake(b *testing.B) {
	for _, tc := range []struct {
		name    string
		batch   int
		clients int
	}{{"single", 1, 64}, {"batch100", 100, 16}} {
		b.Run(tc.name, func(b *testing.B) {
			run := func(b *testing.B, opts sqldb.Options) {
				bb := setup(b, opts, func(c *config.Config) {
					c.Storage.SQLiteSynchronous = "full" // as shipped
					c.Log.Level = "warn"
					c.Intake.MaxBacklog = 10_000_000
				})
				b.ResetTimer()
				res, err := loadgen.Run(b.Context(), &loadgen.Params{URL: bb.url, Key: bb.key, Clients: tc.clients,
					Events: b.N * 1000, Batch: tc.batch})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Errors > 0 || res.Accepted != b.N*1000 {
					b.Fatalf("accepted %d of %d, %d errors", res.Accepted, b.N*1000, res.Errors)
				}
				b.ReportMetric(res.EventsPerSecond, "events/s")
				b.ReportMetric(float64(res.RequestLatency.P99.Microseconds())/1000, "p99-ms")
			}
			b.Run("sqlite", func(b *testing.B) { run(b, sqldb.Options{DataDir: b.TempDir()}) })
			if os.Getenv("WAYBILL_TEST_POSTGRES_URL") != "" {
				b.Run("postgres", func(b *testing.B) { run(b, sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b)}) })
			}
		})
	}
}
