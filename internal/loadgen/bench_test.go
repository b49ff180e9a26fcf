package loadgen

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// BenchmarkRun measures the generator against a trivial loopback server that
// answers every request 202, so the generator and the server share the CPUs.
// b.N is the number of events; req/s is per wall second.
//
//	go test -run '^$' -bench BenchmarkRun -benchtime 300000x ./internal/loadgen/
//
// WAYBILL_LOADGEN_BENCH_URL (and WAYBILL_LOADGEN_BENCH_KEY) point it at
// another server instead, e.g. one pinned to other CPUs.
func BenchmarkRun(b *testing.B) {
	answer := []byte(`{"event_id":"e","correlation_id":"c","duplicate":false}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	url, key := srv.URL, "k"
	if u := os.Getenv("WAYBILL_LOADGEN_BENCH_URL"); u != "" {
		url, key = u, os.Getenv("WAYBILL_LOADGEN_BENCH_KEY")
	}

	for _, mix := range []string{MixPlanned, MixLifecycle} {
		b.Run(mix, func(b *testing.B) {
			b.ReportAllocs()
			res, err := Run(b.Context(), &Params{URL: url, Key: key, Clients: 64, Events: b.N, Mix: mix})
			if err != nil {
				b.Fatal(err)
			}
			if res.Accepted != b.N {
				b.Fatalf("got %d accepted, want %d", res.Accepted, b.N)
			}
			b.ReportMetric(float64(res.Requests)/res.Elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(res.RequestLatency.P99.Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkAppendBody measures rendering a batch of 100 shipment.planned
// events from the template, the per-event cost of the generator itself.
func BenchmarkAppendBody(b *testing.B) {
	pl, err := newPlan("0193a1b2-0000-7000-8000-000000000000", &Params{Events: 100, Batch: 100, Mix: MixPlanned}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := span{tmpl: pl.planned, id: 1, subject: 1, n: 100}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = s.appendBody(buf[:0], true)
	}
	b.SetBytes(int64(len(buf)))
}
