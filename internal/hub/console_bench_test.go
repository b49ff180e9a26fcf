package hub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// BenchmarkConsolePages measures the server time of each console page with
// 100,000 shipments in the database (loadgen's lifecycle mix: each planned,
// then reserved), on SQLite and, with
// WAYBILL_TEST_POSTGRES_URL set, PostgreSQL. It reports ms per page view
// (over loopback, client included). The KPI page is measured both as most
// views see it (from the snapshot the hub keeps fresh) and with a fresh
// snapshot computed for the view (kpis-cold). Run:
//
//	go test ./internal/hub -run '^$' -bench ConsolePages -benchtime 20x
func BenchmarkConsolePages(b *testing.B) {
	const shipments = 100_000
	run := func(b *testing.B, opts sqldb.Options) {
		bb := setup(b, opts, func(c *config.Config) {
			c.Log.Level = "warn"
			c.Intake.MaxBacklog = 10_000_000
			c.Connectors.Webhook.URL = "" // no outbound traffic while seeding
		})
		res, err := loadgen.Run(b.Context(), &loadgen.Params{URL: bb.url, Key: bb.key, Clients: 8, Events: 2 * shipments, Batch: 500,
			Mix: loadgen.MixLifecycle})
		if err != nil || res.Errors > 0 {
			b.Fatalf("seeding: %v (%d errors)", err, res.Errors)
		}
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar}
		resp, err := client.PostForm(bb.url+"/console/login", url.Values{"key": {bb.key}})
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		var list struct {
			Shipments []struct{ ID string } `json:"shipments"`
		}
		_, body, _ := bb.do(b, http.MethodGet, "/v1/shipments?limit=1", "", nil)
		if err := json.Unmarshal(body, &list); err != nil || len(list.Shipments) == 0 {
			b.Fatalf("listing a shipment: %v %s", err, body)
		}
		get := func(b *testing.B, path, want string) {
			resp, err := client.Get(bb.url + path)
			if err != nil {
				b.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), want) {
				b.Fatalf("GET %s: %d, %q not in the page", path, resp.StatusCode, want)
			}
		}
		for _, p := range []struct{ name, path, want string }{
			{"overview", "/console/", `data-stage="Invoiced"`},
			{"shipment", "/console/shipments/" + list.Shipments[0].ID, "Timeline"},
			{"reviews", "/console/reviews", "Review queue"},
			{"dead-letters", "/console/dead-letters", "Dead letters"},
			{"overview-filtered", "/console/?customer=Acme+Retail&from=2020-01-01", `data-stage="Invoiced"`},
			{"kpis", "/console/kpis?range=30d", "Invoices a day"},
			{"exceptions", "/console/exceptions", "Open exceptions"},
			{"feeds", "/console/feeds", "Feeds and connectors"},
			{"payloads", "/console/payloads", "payloads"},
		} {
			b.Run(p.name, func(b *testing.B) {
				get(b, p.path, p.want) // warm
				b.ResetTimer()
				for range b.N {
					get(b, p.path, p.want)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			})
		}
		b.Run("kpis-cold", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bb.hub.KPIs.Forget()
				b.StartTimer()
				get(b, "/console/kpis?range=30d", "Invoices a day")
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
	b.Run("sqlite", func(b *testing.B) { run(b, sqldb.Options{DataDir: b.TempDir()}) })
	if os.Getenv("WAYBILL_TEST_POSTGRES_URL") != "" {
		b.Run("postgres", func(b *testing.B) { run(b, sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(b)}) })
	}
}
