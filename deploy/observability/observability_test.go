package observability_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
)

const (
	alertsPath    = "prometheus/alerts.yml"
	dashboardPath = "grafana/waybill.json"
	runbooksPath  = "../../docs/runbooks.md"
)

// rules is the part of a Prometheus rules file the test reads.
type rules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func loadRules(t *testing.T) rules {
	t.Helper()
	raw, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var r rules
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("parsing %s: %v", alertsPath, err)
	}
	return r
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("parsing %s: %v", dashboardPath, err)
	}
	return d
}

// anchors are the GitHub anchors of the headings of the markdown file at
// path.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		out[b.String()] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	r := loadRules(t)
	runbook := anchors(t, runbooksPath)
	var alerts []string
	for _, g := range r.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: want a name and rules", g.Name)
		}
		for _, rule := range g.Rules {
			name := rule.Alert
			alerts = append(alerts, name)
			if name == "" || rule.Expr == "" || rule.For == "" {
				t.Errorf("rule %q: want alert, expr and for, got %+v", name, rule)
			}
			if _, err := time.ParseDuration(rule.For); err != nil {
				t.Errorf("%s: for %q: %v", name, rule.For, err)
			}
			if s := rule.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", name, s)
			}
			for _, a := range []string{"summary", "description", "runbook_url"} {
				if rule.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", name, a)
				}
			}
			file, anchor, ok := strings.Cut(rule.Annotations["runbook_url"], "#")
			if !ok || !strings.HasSuffix(file, "docs/runbooks.md") || !runbook[anchor] {
				t.Errorf("%s: runbook_url %q: want docs/runbooks.md#<anchor> of a heading there", name, rule.Annotations["runbook_url"])
			}
		}
	}
	// One rule for each condition the operators are paged or warned for.
	for _, want := range []string{"WaybillOdooBreakerOpen", "WaybillOdooCallErrors", "WaybillDeadLettersGrowing", "WaybillJobQueueDepth",
		"WaybillPODFeedSilent", "WaybillUnbilledDeliveries", "WaybillExceptionsAging", "WaybillDelayedReleases",
		"WaybillSubscriptionDisabled", "WaybillWebhookBacklog"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestPromtoolChecksRules(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH: install the Debian package prometheus (CI does) to check the rules with it")
	}
	out, err := exec.Command(promtool, "check", "rules", alertsPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertsPath, err, out)
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	if d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q schemaVersion %d: want a title and schemaVersion 36 or later", d.Title, d.SchemaVersion)
	}
	ids := map[int]bool{}
	var rows []string
	for _, p := range flatten(d.Panels) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
		}
	}
	if !slices.Equal(rows, []string{"Technical", "Business"}) {
		t.Errorf("rows %v, want Technical and Business", rows)
	}
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

var metricName = regexp.MustCompile(`\bwaybill_[a-z0-9_]+`)

// TestMetricNamesExist builds a hub with every component that registers
// metrics (Odoo, the TMS and webhook connectors, the feed watch) and
// checks that every waybill_* name in the alerts and the dashboard is one
// it registers: a typo or a renamed metric fails here.
func TestMetricNamesExist(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Storage.DataDir = t.TempDir()
	cfg.Storage.SQLiteSynchronous = "normal"
	// Configured, never contacted: the hub is built, not run.
	cfg.Connectors.Odoo.URL = "http://127.0.0.1:1"
	cfg.Connectors.Odoo.Database = "test"
	cfg.Connectors.Odoo.Login = "waybill"
	cfg.Connectors.Odoo.APIKey = "0123456789abcdef0123456789abcdef01234567"
	cfg.Connectors.Odoo.Version = 18
	cfg.Connectors.TMS.URL = "http://127.0.0.1:1/dispatches"
	cfg.Connectors.Webhook.URL = "http://127.0.0.1:1/hook"
	cfg.Billing.PODSources = []string{"/pod-app"}
	cfg.Billing.PODMaxSilence = time.Hour
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(t.Context(), cfg, hub.Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("building hub: %v", err)
	}
	registered := h.MetricNames()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	exprs := map[string]string{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	for _, p := range flatten(loadDashboard(t).Panels) {
		for _, tg := range p.Targets {
			exprs["panel "+p.Title+" "+tg.RefID] = tg.Expr
		}
	}
	for where, expr := range exprs {
		for _, name := range metricName.FindAllString(expr, -1) {
			if !known(registered, name) {
				t.Errorf("%s: %s is not a metric the hub registers", where, name)
			}
		}
	}
}

// known reports whether name is registered, or is a series of a
// registered histogram (_bucket, _sum, _count).
func known(registered []string, name string) bool {
	if slices.Contains(registered, name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(registered, base) {
			return true
		}
	}
	return false
}
