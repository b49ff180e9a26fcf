package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/sqldb"
)

// BenchmarkWebhookFanout delivers to 100 subscribed endpoints at once:
// every endpoint wants shipment.planned, and 100 shipments are planned, so
// 10,000 messages go out. With bad=10, five endpoints answer after 2 s and
// five answer 500. It reports the deliveries a second to the healthy
// endpoints, and the median and p99 time from a plan's acceptance to its
// delivery there: a slow or failing endpoint must not slow the others.
// Run:
//
//	go test ./internal/hub -run '^$' -bench WebhookFanout -benchtime 1x
func BenchmarkWebhookFanout(b *testing.B) {
	for _, bad := range []int{0, 10} {
		b.Run(fmt.Sprintf("bad=%d", bad), func(b *testing.B) {
			const endpoints, shipments = 100, 100
			var lat []time.Duration
			var healthyGot atomic.Int64
			var delivered int64
			var took time.Duration
			for range b.N {
				b.StopTimer()
				bb := setupOpts(b, sqldb.Options{DataDir: b.TempDir()}, func(c *config.Config) {
					c.Subscriptions.AllowPrivateTargets, c.Subscriptions.AllowHTTP = true, true
					c.Subscriptions.Timeout = 5 * time.Second
					c.Subscriptions.RateLimit = 1000
					c.Log.Level = "warn"
				}, hub.Options{})
				var mu sync.Mutex
				sent := map[string]time.Time{} // subject → accepted
				healthy := 0
				for i := range endpoints {
					slow, failing := bad > 0 && i < bad/2, bad > 0 && i >= bad/2 && i < bad
					if !slow && !failing {
						healthy++
					}
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						switch {
						case slow:
							time.Sleep(2 * time.Second)
						case failing:
							w.WriteHeader(http.StatusInternalServerError)
							return
						default:
							var ev struct{ Subject string }
							_ = json.NewDecoder(r.Body).Decode(&ev)
							mu.Lock()
							if at, ok := sent[ev.Subject]; ok {
								lat = append(lat, time.Since(at))
							}
							mu.Unlock()
							healthyGot.Add(1)
						}
						w.WriteHeader(http.StatusNoContent)
					}))
					b.Cleanup(srv.Close)
					subscribe(b, bb, bb.key, `{"url":"`+srv.URL+`","event_types":["shipment.planned"]}`)
				}
				healthyGot.Store(0)
				want := int64(healthy * shipments)
				b.StartTimer()
				start := time.Now()
				for i := range shipments {
					subject := fmt.Sprintf("tms:FAN-%d", i)
					mu.Lock()
					sent[subject] = time.Now()
					mu.Unlock()
					if status, body, _ := bb.do(b, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(subject, "shipment.planned", subject, "2026-11-26T08:00:00Z", plannedData)); status != http.StatusAccepted {
						b.Fatalf("posting: %d %s", status, body)
					}
				}
				for deadline := time.Now().Add(2 * time.Minute); healthyGot.Load() < want; {
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d deliveries to healthy endpoints after 2 minutes", healthyGot.Load(), want)
					}
					time.Sleep(5 * time.Millisecond)
				}
				took += time.Since(start)
				delivered += healthyGot.Load()
				b.StopTimer()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(delivered)/took.Seconds(), "healthy_deliveries/s")
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
		})
	}
}
