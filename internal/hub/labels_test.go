package hub_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// TestActionKindLabels runs traffic through a hub (a dispatch release the
// webhook refuses twice, then for good, so it is retried and becomes a
// dead letter) and checks, on GET /metrics, that every label value naming
// an action kind takes the one form the workflow names it in
// (dispatch.release), never River's (dispatch_release), and that the KPI
// gauges are served.
func TestActionKindLabels(t *testing.T) {
	t.Parallel()
	b := setup(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) { c.Jobs.MaxAttempts = 3 })
	b.receiver.mu.Lock()
	b.receiver.fail[shipment.ActionDispatchRelease] = http.StatusServiceUnavailable
	b.receiver.mu.Unlock()
	at := time.Now().UTC().Format(time.RFC3339)
	for _, e := range [][3]string{
		{"p", "shipment.planned", plannedData},
		{"r", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`},
	} {
		if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(e[0], e[1], "odoo:WH/OUT/9", at, e[2])); status != http.StatusAccepted {
			t.Fatalf("%s: got %d %s", e[1], status, body)
		}
	}
	var families map[string]*dto.MetricFamily
	poll.Until(t, "the release to become a dead letter", func() bool {
		families = scrape(t, b.url)
		return families["waybill_dead_letters_total"] != nil && families["waybill_job_retries_total"] != nil
	})

	riverKinds := map[string]bool{}
	for _, a := range shipment.ActionTable() {
		riverKinds[a.Job] = true
	}
	// The kind label of these families is an action kind; that of
	// waybill_odoo_call_errors_total is an Odoo error kind.
	actionFamilies := []string{"waybill_jobs", "waybill_jobs_held_total", "waybill_job_retries_total", "waybill_dead_letters_total",
		"waybill_jobs_unrouted_total", "waybill_jobs_rescued_total", "waybill_connector_requests_total", "waybill_connector_request_seconds"}
	seen := map[string]bool{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if riverKinds[v] {
					t.Errorf("%s{%s=%q}: a River job kind, want the action kind", name, l.GetName(), v)
				}
				if l.GetName() == "kind" && slices.Contains(actionFamilies, name) {
					seen[name] = true
					if !shipment.KnownAction(v) && v != "other" {
						t.Errorf("%s{kind=%q}: want an action kind (%s) or other", name, v, strings.Join(shipment.ActionKinds(), ", "))
					}
				}
			}
		}
	}
	for _, name := range []string{"waybill_jobs", "waybill_job_retries_total", "waybill_dead_letters_total", "waybill_connector_requests_total"} {
		if !seen[name] {
			t.Errorf("%s: no series with a kind label after the traffic", name)
		}
	}
	for _, name := range []string{"waybill_kpi_delayed_releases", "waybill_kpi_unbilled_deliveries", "waybill_kpi_open_exceptions",
		"waybill_kpi_pod_to_invoice_seconds", "waybill_kpi_invoices_24h", "waybill_kpi_inventory_mismatches"} {
		if families[name] == nil {
			t.Errorf("%s: not on /metrics", name)
		}
		if !slices.Contains(b.hub.MetricNames(), name) {
			t.Errorf("%s: not in MetricNames", name)
		}
	}
	if b.hub.KPIs == nil {
		t.Error("Hub.KPIs is nil")
	}
	// Registered metrics without a series yet are named too.
	if !slices.Contains(b.hub.MetricNames(), "waybill_jobs_unrouted_total") {
		t.Errorf("MetricNames lacks waybill_jobs_unrouted_total: %v", b.hub.MetricNames())
	}
}

// scrape reads GET /metrics of the hub at url, by family name.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}
