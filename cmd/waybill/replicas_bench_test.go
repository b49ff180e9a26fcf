package main

import (
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPODToInvoice measures how long a delivery with its proof takes
// to become an invoice in Odoo with 1, 2 and 3 serve replicas on one
// PostgreSQL database, the Odoo 18 simulator behind them and the default
// poll intervals. Each round drives 20 shipments from their order to
// departure through random replicas and waits for their pickings to be
// validated; then it sends their deliveries, 100 ms apart, each to a random
// replica, and times each from its acceptance until its invoice is in Odoo.
// It reports the median, p99 and worst. Run:
//
//	WAYBILL_TEST_POSTGRES_URL=… go test ./cmd/waybill -run '^$' -bench PODToInvoice -benchtime 1x
func BenchmarkPODToInvoice(b *testing.B) {
	const shipments = 20
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			c := newCluster(b, "WAYBILL_CONNECTORS_ODOO_MILESTONE_SYNC_WINDOW=0s", "WAYBILL_LOG_LEVEL=warn")
			for range n {
				c.start()
			}
			db, err := sql.Open("pgx", c.dbURL)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var lat []time.Duration
			b.ResetTimer()
			for round := range b.N {
				b.StopTimer()
				orders := c.orders(fmt.Sprintf("POD-%d", round), shipments)
				subjects := make([]string, shipments)
				var wg sync.WaitGroup
				two := `{"value":"2","unit":"C62"}`
				for i := range shipments {
					subjects[i] = fmt.Sprintf("tms:POD-%d-%d", round, i)
					wg.Go(func() {
						s := subjects[i]
						for k, st := range [][3]string{
							{"shipment.planned", "2026-11-26T08:00:00Z", `{"order":"odoo:` + orders[i] + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC","country":"US"},"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `}]}`},
							{"inventory.reserved", "2026-11-26T08:10:00Z", `{"lines":[{"line_id":"1","quantity":` + two + `}]}`},
							{"shipment.loaded", "2026-11-26T09:00:00Z", `{"lines":[{"line_id":"1","quantity":` + two + `}]}`},
							{"shipment.departed", "2026-11-26T09:30:00Z", `{}`},
						} {
							if !c.post(fmt.Sprintf("%s/%d", s, k), st[0], s, st[1], st[2]) {
								b.Errorf("event %d of %s not accepted", k, s)
							}
						}
					})
				}
				wg.Wait()
				// Every picking validated: nothing pending, no job left.
				for deadline := time.Now().Add(2 * time.Minute); ; {
					var busy int
					err := db.QueryRowContext(b.Context(), `SELECT (SELECT COUNT(*) FROM events WHERE state = 'pending') +
(SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled'))`).Scan(&busy)
					if err == nil && busy == 0 {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("the flows did not settle within 2 minutes (%d events and jobs left, %v)", busy, err)
					}
					time.Sleep(100 * time.Millisecond)
				}
				ids := make([]string, shipments)
				for i, s := range subjects {
					if err := db.QueryRowContext(b.Context(), `SELECT shipment_id FROM events WHERE subject = $1 AND shipment_id IS NOT NULL LIMIT 1`, s).Scan(&ids[i]); err != nil {
						b.Fatalf("shipment %s: %v", s, err)
					}
				}
				b.StartTimer()
				var mu sync.Mutex
				for i, s := range subjects {
					sent := time.Now()
					if !c.post(s+"/pod", "shipment.delivered", s, "2026-11-26T14:00:00Z",
						`{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":`+two+`}]}}`) {
						b.Fatalf("the delivery of %s was not accepted", s)
					}
					accepted := time.Now()
					wg.Go(func() {
						for time.Since(accepted) < time.Minute {
							if _, err := c.cl.FindInvoice(b.Context(), "WB-"+ids[i]); err == nil {
								mu.Lock()
								lat = append(lat, time.Since(sent))
								mu.Unlock()
								return
							}
							time.Sleep(10 * time.Millisecond)
						}
						b.Errorf("no invoice for %s a minute after its delivery", s)
					})
					time.Sleep(100 * time.Millisecond)
				}
				wg.Wait()
			}
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) == 0 {
				b.Fatal("no latency measured")
			}
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Milliseconds()), "p99_ms")
			b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max_ms")
		})
	}
}
