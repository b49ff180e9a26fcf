package hub_test

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/tmssim"
)

// BenchmarkPODToInvoiceJob measures how long a proof of delivery takes from
// its 202 to the committed invoice job: intake, processing with the POD
// checks and the billing gate, and the outbox insert. Shipments are brought
// to in_transit first, outside the measurement. Run:
//
//	go test ./internal/hub -run '^$' -bench PODToInvoiceJob -benchtime 200x
func BenchmarkPODToInvoiceJob(b *testing.B) {
	bb := setup(b, sqldb.Options{DataDir: b.TempDir()}, func(c *config.Config) {
		c.Storage.SQLiteSynchronous = "full" // as shipped
		c.Log.Level = "warn"
	})
	db := bb.hub.DB
	post := func(body []byte) {
		if status, raw, _ := bb.do(b, http.MethodPost, "/v1/events", "application/cloudevents+json", body); status != http.StatusAccepted {
			b.Fatalf("posting an event: %d %s", status, raw)
		}
	}
	ten := `{"value":"10","unit":"C62"}`
	subjects := make([]string, b.N)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("bench:%d", i)
		for j, e := range [][2]string{
			{"shipment.planned", `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":` + ten + `}]}`},
			{"inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + ten + `}]}`},
			{"shipment.loaded", `{"lines":[{"line_id":"1","quantity":` + ten + `}]}`},
			{"shipment.departed", `{}`},
		} {
			post(ce(fmt.Sprintf("%s-%d", subjects[i], j), e[0], subjects[i], fmt.Sprintf("2026-11-26T0%d:00:00Z", j+1), e[1]))
		}
	}
	poll.Until(b, "every shipment in transit", func() bool {
		var n int
		_ = db.QueryRowContext(b.Context(), `SELECT COUNT(*) FROM shipments WHERE state = 'in_transit'`).Scan(&n)
		return n == b.N
	})
	q := `SELECT COUNT(*) FROM river_job WHERE kind = 'invoice_prepare'`
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, subject := range subjects {
		start := time.Now()
		post(ce(subject+"-pod", "shipment.delivered", subject, "2026-11-26T09:00:00Z",
			`{"pod":{"signer":"A","signed_at":"2026-11-26T09:00:00Z","lines":[{"line_id":"1","quantity":`+ten+`}]}}`))
		for {
			var n int
			if err := db.Reader.QueryRowContext(b.Context(), q).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n == i+1 {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkOdooCallsPerShipment runs orders through the whole workflow
// (Odoo poller, TMS, picking validation, milestones, invoice) against the
// simulators of Odoo 16 to 19 and reports the Odoo calls each shipment
// cost, in total and by method; what polling costs while nothing happens
// is measured first and left out, which leaves a few tenths of a call of
// noise per shipment over 10 shipments and less over 30. Run:
//
//	go test ./internal/hub -run '^$' -bench OdooCallsPerShipment -benchtime 30x -v
func BenchmarkOdooCallsPerShipment(b *testing.B) {
	for _, version := range []int{16, 17, 18, 19} {
		b.Run(fmt.Sprintf("odoo%d", version), func(b *testing.B) {
			late := &lateHandler{}
			front := httptest.NewServer(late)
			b.Cleanup(front.Close)
			w := setupOdoo(b, sqldb.Options{DataDir: b.TempDir()}, version, func(c *config.Config) {
				c.Connectors.Odoo.PollInterval = time.Second
				// The simulated carrier reports a shipment's milestones
				// within a second or two, as a feed catching up would; the
				// default window (30s) would only make the run longer.
				c.Connectors.Odoo.MilestoneSyncWindow = 3 * time.Second
				c.Connectors.Odoo.RateLimit = 1000
				c.Connectors.Odoo.InvoiceState = config.OdooInvoicePosted
				c.Connectors.TMS.URL = front.URL + tmssim.PathDispatches
				c.Log.Level = "warn"
			})
			sim, err := tmssim.New(tmssim.Options{Waybill: w.url, Key: w.key, SkipAssignedEvent: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = sim.Close() })
			var h http.Handler = sim
			late.h.Store(&h)
			odooSim := w.srv.Sim()

			// The demo database has deliveries of its own: let the hub
			// finish them, then measure what polling costs when nothing
			// happens.
			quiet(b, w)
			odooSim.ResetCalls()
			idleStart := time.Now()
			time.Sleep(2 * time.Second)
			idle := odooSim.Calls()
			idleSecs := time.Since(idleStart).Seconds()
			idleRate := float64(total(idle)) / idleSecs

			demo := odooSim.Demo()
			odooSim.ResetCalls()
			w.client.ResetCalls() // the test's own calls, counted on its side
			start := time.Now()
			b.ResetTimer()
			var names []string
			for i := range b.N {
				so, err := w.client.EnsureSaleOrder(b.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[i%len(demo.Customers)], ClientRef: fmt.Sprintf("BENCH-%d", i), Confirm: true,
					Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 1}, {ProductID: demo.Products["FURN_7800"], Quantity: 2}}})
				if err != nil {
					b.Fatal(err)
				}
				names = append(names, so.Name)
			}
			for _, name := range names {
				poll.Until(b, "the invoice of "+name, func() bool {
					inv, err := w.client.FindInvoice(b.Context(), name)
					return err == nil && inv.State == "posted"
				})
			}
			quiet(b, w)
			b.StopTimer()
			elapsed := time.Since(start).Seconds()
			calls, own := odooSim.Calls(), w.client.Calls()
			hubCalls := float64(total(calls)-total(own)) - idleRate*elapsed
			b.ReportMetric(hubCalls/float64(b.N), "odoo-calls/shipment")
			b.ReportMetric(idleRate, "idle-calls/s")

			// By method: the hub's calls less the test's and the idle
			// polling's share, per shipment, most frequent first.
			per := map[string]float64{}
			for m, n := range calls {
				// The simulator and the client both count model.method.
				if v := (float64(n) - float64(own[m]) - float64(idle[m])/idleSecs*elapsed) / float64(b.N); v > 0.05 {
					per[m] = v
				}
			}
			methods := slices.Collect(maps.Keys(per))
			slices.SortFunc(methods, func(x, y string) int {
				if c := cmp.Compare(per[y], per[x]); c != 0 {
					return c
				}
				return strings.Compare(x, y)
			})
			var tbl strings.Builder
			for _, m := range methods {
				fmt.Fprintf(&tbl, "\n  %6.2f  %s", per[m], m)
			}
			b.Logf("Odoo %d: %d shipments in %.1fs, idle %.1f calls/s; %.1f calls per shipment, by method:%s", version, b.N, elapsed, idleRate,
				hubCalls/float64(b.N), tbl.String())
		})
	}
}

// quiet waits until the hub has no events or jobs left to work.
func quiet(b *testing.B, w *odooWorld) {
	b.Helper()
	db := w.hub.DB
	stable := 0
	poll.Until(b, "a quiet hub", func() bool {
		var events, jobs int
		_ = db.Reader.QueryRowContext(b.Context(), `SELECT COUNT(*) FROM events WHERE state = 'pending'`).Scan(&events)
		_ = db.Reader.QueryRowContext(b.Context(), `SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled')`).Scan(&jobs)
		if events == 0 && jobs == 0 {
			stable++
		} else {
			stable = 0
		}
		time.Sleep(100 * time.Millisecond)
		return stable >= 5
	})
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// BenchmarkSourceWebhook measures signed carrier webhooks end to end on
// the shipped SQLite settings: signature check, the raw payload stored,
// the EasyPost mapping, and the four events each makes accepted through
// intake. Each payload has its own tracking code, so its events are new.
// Run (WAYBILL_BENCH_POSTGRES=1 with WAYBILL_TEST_POSTGRES_URL for
// PostgreSQL, WAYBILL_BENCH_ENCRYPTION=off without encryption at rest):
//
//	go test ./internal/hub -run '^$' -bench SourceWebhook -benchtime 2000x
func BenchmarkSourceWebhook(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "tracking", "jsonmap", "testdata", "webhook-01-easypost-tracker-updated.json"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte("sources:\n  - id: easypost\n    format: easypost\n    auth: {scheme: easypost, secrets: [bench-secret]}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	opts := sqldb.Options{DataDir: b.TempDir()}
	if os.Getenv("WAYBILL_BENCH_POSTGRES") != "" {
		opts = sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b), MaxConns: 8}
	}
	bb := setup(b, opts, func(c *config.Config) {
		c.Storage.SQLiteSynchronous = "full" // as shipped
		c.Log.Level = "warn"
		c.Intake.SourcesFile = path
		c.Encryption.Enabled = os.Getenv("WAYBILL_BENCH_ENCRYPTION") != "off" // docs/encryption.md
		fixtureDates(c)
	})
	bodies := make([][]byte, b.N)
	sigs := make([]string, b.N)
	for i := range bodies {
		bodies[i] = bytes.ReplaceAll(body, []byte("9261290100830112345678"), fmt.Appendf(nil, "92612901%014d", i))
		m := hmac.New(sha256.New, []byte("bench-secret"))
		m.Write(bodies[i])
		sigs[i] = "hmac-sha256-hex=" + hex.EncodeToString(m.Sum(nil))
	}
	var next atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			req, _ := http.NewRequest(http.MethodPost, bb.url+"/v1/sources/easypost/webhooks", bytes.NewReader(bodies[i]))
			req.Header.Set("X-Hmac-Signature", sigs[i])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("payload %d: %d", i, resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
	b.ReportMetric(4*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
