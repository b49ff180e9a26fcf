package bench_test

import (
	"testing"

	"github.com/waybill/waybill/internal/bench"
	"github.com/waybill/waybill/internal/loadgen"
)

// BenchmarkCeiling drives the ceiling server on SQLite in this process, so
// that a CPU profile shows what storing an event costs it. b.N is the
// number of events.
//
//	go test ./internal/bench -run '^$' -bench Ceiling -benchtime 30000x -cpuprofile cpu.out
func BenchmarkCeiling(b *testing.B) {
	for _, tc := range []struct {
		name           string
		batch, clients int
	}{{"single", 1, 64}, {"batch100", 100, 16}} {
		b.Run(tc.name, func(b *testing.B) {
			srv, err := bench.New(b.Context(), bench.Options{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			stop := run(b, srv)
			b.ResetTimer()
			res, err := loadgen.Run(b.Context(), &loadgen.Params{URL: srv.URL(), Key: "any", Clients: tc.clients, Events: b.N, Batch: tc.batch})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := stop(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.EventsPerSecond, "events/s")
			b.ReportMetric(float64(res.RequestLatency.P99.Microseconds())/1000, "p99-ms")
		})
	}
}
