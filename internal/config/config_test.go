package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/waybill/waybill/internal/shipment"
)

// writeConfig writes content to waybill.yaml in a new temporary directory and
// returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "waybill.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fieldErrors returns the *KeyError values joined in err, failing the test
// when err is nil or holds anything else.
func fieldErrors(t *testing.T, err error) []*KeyError {
	t.Helper()
	if err == nil {
		t.Fatal("got nil error, want errors")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("got error %T %q, want an errors.Join", err, err)
	}
	var fes []*KeyError
	for _, e := range joined.Unwrap() {
		var fe *KeyError
		if !errors.As(e, &fe) {
			t.Fatalf("got joined error %T %q, want *KeyError", e, e)
		}
		fes = append(fes, fe)
	}
	return fes
}

// where is the part of a KeyError that tests compare.
type where struct {
	Key  string
	Line int
	Env  string
}

func wheres(fes []*KeyError) []where {
	ws := make([]where, len(fes))
	for i, fe := range fes {
		ws[i] = where{Key: fe.Key, Line: fe.Line, Env: fe.Env}
	}
	return ws
}

func TestDefault(t *testing.T) {
	t.Parallel()
	got := Default()
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"server.addr", got.Server.Addr, "127.0.0.1:8080"},
		{"server.read_timeout", got.Server.ReadTimeout, 15 * time.Second},
		{"server.write_timeout", got.Server.WriteTimeout, 30 * time.Second},
		{"server.idle_timeout", got.Server.IdleTimeout, 120 * time.Second},
		{"server.shutdown_timeout", got.Server.ShutdownTimeout, 30 * time.Second},
		{"server.key_rate", got.Server.KeyRate, 0},
		{"server.key_burst", got.Server.KeyBurst, 2000},
		{"server.environment", got.Server.Environment, ""},
		{"server.key_label_default", got.Server.KeyLabelDefault, ""},
		{"storage.data_dir", got.Storage.DataDir, "./waybill-data"},
		{"storage.database_url", got.Storage.DatabaseURL, Secret("")},
		{"storage.sqlite_synchronous", got.Storage.SQLiteSynchronous, "full"},
		{"storage.postgres_max_conns", got.Storage.PostgresMaxConns, 16},
		{"intake.max_backlog", got.Intake.MaxBacklog, 100000},
		{"intake.max_batch_events", got.Intake.MaxBatchEvents, 1000},
		{"intake.max_body_bytes", got.Intake.MaxBodyBytes, 8388608},
		{"intake.group_commit_max", got.Intake.GroupCommitMax, 1000},
		{"processor.batch_size", got.Processor.BatchSize, 500},
		{"processor.poll_interval", got.Processor.PollInterval, 250 * time.Millisecond},
		{"processor.max_attempts", got.Processor.MaxAttempts, 10},
		{"jobs.workers", got.Jobs.Workers, 16},
		{"jobs.lanes", got.Jobs.Lanes, []JobLane{{"low", 4}, {"background", 2}}},
		{"jobs.max_attempts", got.Jobs.MaxAttempts, 12},
		{"jobs.timeout", got.Jobs.Timeout, 2 * time.Minute},
		{"jobs.soft_stop_timeout", got.Jobs.SoftStopTimeout, 20 * time.Second},
		{"jobs.retry_base", got.Jobs.RetryBase, time.Second},
		{"jobs.retry_max", got.Jobs.RetryMax, time.Hour},
		{"workflow.auto_release", got.Workflow.AutoRelease, true},
		{"workflow.partial_release", got.Workflow.PartialRelease, false},
		{"workflow.pod_radius_m", got.Workflow.PODRadiusMeters, 500},
		{"workflow.milestone_intervals", got.Workflow.MilestoneIntervals, []MilestoneInterval{}},
		{"intake.sources_file", got.Intake.SourcesFile, ""},
		{"intake.edi_dirs", got.Intake.EDIDirs, []string{}},
		{"intake.edi_poll_interval", got.Intake.EDIPollInterval, 5 * time.Second},
		{"intake.max_event_age", got.Intake.MaxEventAge, 365 * 24 * time.Hour},
		{"intake.max_event_lead", got.Intake.MaxEventLead, 24 * time.Hour},
		{"intake.metric_sources", got.Intake.MetricSources, []string{}},
		{"billing.rules_file", got.Billing.RulesFile, ""},
		{"billing.pod_sources", got.Billing.PODSources, []string{}},
		{"billing.pod_max_silence", got.Billing.PODMaxSilence, time.Duration(0)},
		{"billing.operating_hours", got.Billing.OperatingHours, OperatingHours{From: 6 * 60, To: 20 * 60}},
		{"billing.timezone", got.Billing.Timezone, mustZone(t, "UTC")},
		{"billing.pod_recovery_events", got.Billing.PODRecoveryEvents, 2},
		{"connectors.odoo.url", got.Connectors.Odoo.URL, ""},
		{"connectors.odoo.database", got.Connectors.Odoo.Database, ""},
		{"connectors.odoo.login", got.Connectors.Odoo.Login, ""},
		{"connectors.odoo.api_key", got.Connectors.Odoo.APIKey, Secret("")},
		{"connectors.odoo.api_key_file", got.Connectors.Odoo.APIKeyFile, ""},
		{"connectors.odoo.version", got.Connectors.Odoo.Version, 0},
		{"connectors.odoo.protocol", got.Connectors.Odoo.Protocol, ""},
		{"connectors.odoo.timeout", got.Connectors.Odoo.Timeout, 120 * time.Second},
		{"connectors.odoo.rate_limit", got.Connectors.Odoo.RateLimit, 20},
		{"connectors.odoo.breaker_failures", got.Connectors.Odoo.BreakerFailures, 5},
		{"connectors.odoo.breaker_cooldown", got.Connectors.Odoo.BreakerCooldown, 30 * time.Second},
		{"connectors.odoo.actions", got.Connectors.Odoo.Actions, []string{"picking.validate", "invoice.prepare", "picking.return", "stock.scrap", "milestone.sync", "vendor_bill.create"}},
		{"connectors.odoo.backorder", got.Connectors.Odoo.Backorder, "create"},
		{"connectors.odoo.invoice_state", got.Connectors.Odoo.InvoiceState, "draft"},
		{"connectors.odoo.service_products", got.Connectors.Odoo.ServiceProducts, []ServiceProduct{{"linehaul", "FREIGHT"}, {"fuel", "FREIGHT"}, {"detention", "DETENTION"}, {"liftgate", "LIFTGATE"}, {"residential", "RESIDENTIAL"}, {"lumper", "LUMPER"}}},
		{"connectors.odoo.poll_interval", got.Connectors.Odoo.PollInterval, 30 * time.Second},
		{"connectors.odoo.poll_overlap", got.Connectors.Odoo.PollOverlap, 2 * time.Minute},
		{"connectors.odoo.reserve_retry", got.Connectors.Odoo.ReserveRetry, 5 * time.Minute},
		{"connectors.odoo.milestone_sync_window", got.Connectors.Odoo.MilestoneSyncWindow, 30 * time.Second},
		{"connectors.odoo.webhook_token", got.Connectors.Odoo.WebhookToken, Secret("")},
		{"connectors.odoo.policies", got.Connectors.Odoo.Policies, []OdooPolicy{}},
		{"connectors.odoo.system", got.Connectors.Odoo.System, "odoo"},
		{"connectors.tms.url", got.Connectors.TMS.URL, ""},
		{"connectors.tms.timeout", got.Connectors.TMS.Timeout, 30 * time.Second},
		{"connectors.tms.secret", got.Connectors.TMS.Secret, Secret("")},
		{"connectors.webhook.url", got.Connectors.Webhook.URL, ""},
		{"connectors.webhook.actions", got.Connectors.Webhook.Actions, []string{}},
		{"connectors.webhook.timeout", got.Connectors.Webhook.Timeout, 30 * time.Second},
		{"connectors.webhook.secret", got.Connectors.Webhook.Secret, Secret("")},
		{"log.level", got.Log.Level, "info"},
		{"log.format", got.Log.Format, "json"},
		{"audit.signing_key_file", got.Audit.SigningKeyFile, ""},
		{"changes.allow_self_approval", got.Changes.AllowSelfApproval, false},
		{"changes.what_if_shipments", got.Changes.WhatIfShipments, 50},
		{"encryption.enabled", got.Encryption.Enabled, true},
		{"encryption.key_file", got.Encryption.KeyFile, ""},
		{"encryption.key", got.Encryption.Key, Secret("")},
		{"tracing.endpoint", got.Tracing.Endpoint, ""},
		{"tracing.protocol", got.Tracing.Protocol, "http/protobuf"},
		{"tracing.insecure", got.Tracing.Insecure, false},
		{"tracing.headers", got.Tracing.Headers, Secret("")},
		{"tracing.sample_ratio", got.Tracing.SampleRatio, 1.0},
		{"tracing.service_name", got.Tracing.ServiceName, "waybill"},
		{"kpi.release_delay", got.KPI.ReleaseDelay, 30 * time.Minute},
		{"kpi.shortage_age", got.KPI.ShortageAge, 30 * time.Minute},
		{"kpi.unbilled_after", got.KPI.UnbilledAfter, 4 * time.Hour},
		{"kpi.cache_for", got.KPI.CacheFor, 15 * time.Second},
		{"archive.enabled", got.Archive.Enabled, false},
		{"archive.retention", got.Archive.Retention, 90 * 24 * time.Hour},
		{"archive.dir", got.Archive.Dir, ""},
		{"archive.interval", got.Archive.Interval, time.Hour},
		{"reconcile.schedule", got.Reconcile.Schedule, true},
		{"reconcile.cutoff", got.Reconcile.Cutoff.String(), "24:00"},
		{"reconcile.timezone", got.Reconcile.Timezone.String(), "UTC"},
		{"reconcile.warehouses", got.Reconcile.Warehouses, []ReconcileWarehouse{}},
		{"reconcile.grace", got.Reconcile.Grace, time.Hour},
		{"reconcile.catch_up", got.Reconcile.CatchUp, 3},
		{"reconcile.recover_after", got.Reconcile.RecoverAfter, 10 * time.Minute},
		{"reconcile.inventory_interval", got.Reconcile.InventoryInterval, time.Hour},
		{"freight_audit.cost_rules_file", got.FreightAudit.CostRulesFile, ""},
		{"freight_audit.tolerances", got.FreightAudit.Tolerances, []FreightTolerance{{Type: "default", Abs: "1.00", Percent: "2"}}},
		{"freight_audit.bill_state", got.FreightAudit.BillState, "draft"},
		{"subscriptions.allow_private_targets", got.Subscriptions.AllowPrivateTargets, false},
		{"subscriptions.allow_http", got.Subscriptions.AllowHTTP, false},
		{"subscriptions.disable_after", got.Subscriptions.DisableAfter, 24 * time.Hour},
		{"subscriptions.rate_limit", got.Subscriptions.RateLimit, 10.0},
		{"subscriptions.timeout", got.Subscriptions.Timeout, 10 * time.Second},
		{"subscriptions.workers", got.Subscriptions.Workers, 32},
		{"subscriptions.per_endpoint", got.Subscriptions.PerEndpoint, 4},
		{"subscriptions.secret_overlap", got.Subscriptions.SecretOverlap, 24 * time.Hour},
		{"subscriptions.retention", got.Subscriptions.Retention, 720 * time.Hour},
		{"tracking_page.enabled", got.TrackingPage.Enabled, false},
		{"tracking_page.link_lifetime", got.TrackingPage.LinkLifetime, 720 * time.Hour},
		{"tracking_page.max_link_lifetime", got.TrackingPage.MaxLinkLifetime, 2160 * time.Hour},
		{"tracking_page.rate", got.TrackingPage.Rate, 5},
		{"tracking_page.burst", got.TrackingPage.Burst, 20},
		{"tracking_page.cache_max_age", got.TrackingPage.CacheMaxAge, time.Minute},
		{"tracking_page.show_pod_photos", got.TrackingPage.ShowPODPhotos, false},
		{"tracking_page.base_url", got.TrackingPage.BaseURL, ""},
		{"tracking_page.signing_key", got.TrackingPage.SigningKey, Secret("")},
		{"tracking_page.timezone", got.TrackingPage.Timezone.String(), "UTC"},
		{"tracking_page.branding", got.TrackingPage.Branding, []TrackingBranding{}},
	}
	if len(checks) != len(Keys()) {
		t.Errorf("checked %d keys, want all %d", len(checks), len(Keys()))
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s: default differs (-want +got):\n%s", c.key, diff)
		}
	}

	t.Run("fresh slices", func(t *testing.T) {
		t.Parallel()
		a := Default()
		a.Connectors.Odoo.Actions[0] = "changed"
		if got := Default().Connectors.Odoo.Actions[0]; got != shipment.ActionPickingValidate {
			t.Errorf("Default shares its actions slice: got %q after changing another copy", got)
		}
	})
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Config
		want func(*Config)
	}{
		{
			name: "zero config gets every default but booleans",
			in:   Config{},
			want: func(c *Config) {
				c.Workflow.AutoRelease, c.Encryption.Enabled, c.Reconcile.Schedule = false, false, false
			},
		},
		{
			name: "set values are kept",
			in: Config{
				Server:     Server{Addr: ":9000", ReadTimeout: time.Second},
				Storage:    Storage{DatabaseURL: "postgres://db/waybill"},
				Intake:     Intake{MaxBacklog: 7},
				Workflow:   Workflow{AutoRelease: true, PartialRelease: true},
				Connectors: Connectors{Webhook: Webhook{Actions: []string{"invoice.prepare"}}},
				Log:        Log{Level: "debug"},
				Encryption: Encryption{Enabled: true},
				Reconcile:  Reconcile{Schedule: true},
			},
			want: func(c *Config) {
				c.Server.Addr = ":9000"
				c.Server.ReadTimeout = time.Second
				c.Storage.DatabaseURL = "postgres://db/waybill"
				c.Intake.MaxBacklog = 7
				c.Workflow.PartialRelease = true
				c.Connectors.Webhook.Actions = []string{"invoice.prepare"}
				c.Log.Level = "debug"
			},
		},
		{
			name: "empty non-nil list gets the default",
			in:   Config{Workflow: Workflow{AutoRelease: true}, Connectors: Connectors{Webhook: Webhook{Actions: []string{}}}, Encryption: Encryption{Enabled: true}, Reconcile: Reconcile{Schedule: true}},
			want: func(*Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := Default()
			tt.want(&want)
			got := tt.in.WithDefaults()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("WithDefaults() differs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	const file = `
server:
  addr: "0.0.0.0:9000"
  read_timeout: 5s
storage:
  database_url: postgres://waybill:pw@db/waybill
intake:
  max_backlog: 50
workflow:
  auto_release: false
connectors:
  webhook:
    url: https://hooks.example.com/waybill
    actions: [invoice.prepare]
    secret: file-secret
log:
  level: debug
`
	tests := []struct {
		name    string
		file    string // "" for no file
		environ []string
		want    func(*Config)
	}{
		{
			name: "defaults only",
			want: func(*Config) {},
		},
		{
			name: "file",
			file: file,
			want: func(c *Config) {
				c.Server.Addr = "0.0.0.0:9000"
				c.Server.ReadTimeout = 5 * time.Second
				c.Storage.DatabaseURL = "postgres://waybill:pw@db/waybill"
				c.Intake.MaxBacklog = 50
				c.Workflow.AutoRelease = false
				c.Connectors.Webhook.URL = "https://hooks.example.com/waybill"
				c.Connectors.Webhook.Actions = []string{"invoice.prepare"}
				c.Connectors.Webhook.Secret = "file-secret"
				c.Log.Level = "debug"
			},
		},
		{
			name: "environment only",
			environ: []string{
				"WAYBILL_INTAKE_MAX_BACKLOG=5",
				"WAYBILL_STORAGE_DATABASE_URL=postgresql://env/waybill",
				"WAYBILL_CONNECTORS_WEBHOOK_URL=http://127.0.0.1:1234/hook",
				"WAYBILL_PROCESSOR_POLL_INTERVAL=1s",
				"WAYBILL_WORKFLOW_PARTIAL_RELEASE=true",
			},
			want: func(c *Config) {
				c.Intake.MaxBacklog = 5
				c.Storage.DatabaseURL = "postgresql://env/waybill"
				c.Connectors.Webhook.URL = "http://127.0.0.1:1234/hook"
				c.Processor.PollInterval = time.Second
				c.Workflow.PartialRelease = true
			},
		},
		{
			name: "environment overrides file",
			file: file,
			environ: []string{
				"WAYBILL_INTAKE_MAX_BACKLOG=5",
				"WAYBILL_WORKFLOW_AUTO_RELEASE=true",
				"WAYBILL_CONNECTORS_WEBHOOK_SECRET=env-secret",
				"WAYBILL_SERVER_READ_TIMEOUT=1m30s",
				"HOME=/root",
				"WAYBILL_TEST_POSTGRES_URL=postgres://ignored",
				"WAYBILL_CONFIG=/etc/waybill.yaml",
			},
			want: func(c *Config) {
				c.Server.Addr = "0.0.0.0:9000"
				c.Server.ReadTimeout = 90 * time.Second
				c.Storage.DatabaseURL = "postgres://waybill:pw@db/waybill"
				c.Intake.MaxBacklog = 5
				c.Workflow.AutoRelease = true
				c.Connectors.Webhook.URL = "https://hooks.example.com/waybill"
				c.Connectors.Webhook.Actions = []string{"invoice.prepare"}
				c.Connectors.Webhook.Secret = "env-secret"
				c.Log.Level = "debug"
			},
		},
		{
			name:    "last of repeated variables wins",
			environ: []string{"WAYBILL_JOBS_WORKERS=2", "WAYBILL_JOBS_WORKERS=3"},
			want:    func(c *Config) { c.Jobs.Workers = 3 },
		},
		{
			name: "null values and empty sections keep defaults",
			file: "server:\n  addr:\n  read_timeout: ~\nstorage:\nlog: {}\n",
			want: func(*Config) {},
		},
		{
			name: "empty file",
			file: "# nothing here\n",
			want: func(*Config) {},
		},
		{
			name: "aliases",
			file: "jobs:\n  timeout: &t 45s\nconnectors:\n  webhook:\n    timeout: *t\n",
			want: func(c *Config) {
				c.Jobs.Timeout = 45 * time.Second
				c.Connectors.Webhook.Timeout = 45 * time.Second
			},
		},
		{
			name: "integer forms",
			file: "intake:\n  max_body_bytes: 16_777_216\n  max_backlog: 0x10\n",
			want: func(c *Config) {
				c.Intake.MaxBodyBytes = 16 << 20
				c.Intake.MaxBacklog = 16
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			got, err := Load(path, tt.environ)
			if err != nil {
				t.Fatalf("Load() error: %v", err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load() differs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadListFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  []string
	}{
		{"dispatch.release", []string{"dispatch.release"}},
		{"dispatch.release,invoice.prepare", []string{"dispatch.release", "invoice.prepare"}},
		{" picking.validate , invoice.prepare ,", []string{"picking.validate", "invoice.prepare"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			got, err := Load("", []string{"WAYBILL_CONNECTORS_WEBHOOK_ACTIONS=" + tt.value})
			if err != nil {
				t.Fatalf("Load() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Connectors.Webhook.Actions); diff != "" {
				t.Errorf("actions differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		environ []string
		want    []where
		msgs    []string // substrings of each error's message
	}{
		{
			name: "top-level key",
			file: "server:\n  addr: \":80\"\nlogging:\n  level: debug\n",
			want: []where{{Key: "logging", Line: 3}},
			msgs: []string{"unknown key"},
		},
		{
			name: "misspelt key with suggestion",
			file: "intake:\n  max_backlog: 5\n  max_backlg: 6\n",
			want: []where{{Key: "intake.max_backlg", Line: 3}},
			msgs: []string{`unknown key; did you mean "intake.max_backlog"?`},
		},
		{
			name: "every unknown key at once",
			file: "server:\n  adr: x\nconnectors:\n  webhook:\n    urll: https://x\n  carrier:\n    name: dhl\nextra: 1\n",
			want: []where{
				{Key: "server.adr", Line: 2},
				{Key: "connectors.webhook.urll", Line: 5},
				{Key: "connectors.carrier", Line: 6},
				{Key: "extra", Line: 8},
			},
			msgs: []string{"unknown key", "unknown key", "unknown key", "unknown key"},
		},
		{
			name: "duplicate key",
			file: "jobs:\n  workers: 2\n  workers: 3\n",
			want: []where{{Key: "jobs.workers", Line: 3}},
			msgs: []string{"set twice; first set on line 2"},
		},
		{
			name: "section given a value",
			file: "server: localhost\n",
			want: []where{{Key: "server", Line: 1}},
			msgs: []string{"must be a section"},
		},
		{
			name: "file not a mapping",
			file: "- a\n- b\n",
			want: []where{{Line: 1}},
			msgs: []string{"must be a mapping of sections"},
		},
		{
			name: "two documents",
			file: "jobs:\n  workers: 2\n---\njobs:\n  workers: 3\n",
			want: []where{{Line: 3}},
			msgs: []string{"single YAML document"},
		},
		{
			name:    "environment variables",
			environ: []string{"WAYBILL_INTAKE_MAX_BACKLOGG=5", "WAYBILL_NOPE=1", "WAYBILL_SERVER=x", "WAYBILL_TEST_ANYTHING=1", "WAYBILL_CONFIG=x.yaml", "OTHER=1"},
			want:    []where{{Env: "WAYBILL_INTAKE_MAX_BACKLOGG"}, {Env: "WAYBILL_NOPE"}, {Env: "WAYBILL_SERVER"}},
			msgs:    []string{"unknown configuration variable; did you mean WAYBILL_INTAKE_MAX_BACKLOG?", "unknown configuration variable", "unknown configuration variable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := Load(path, tt.environ)
			fes := fieldErrors(t, err)
			if diff := cmp.Diff(tt.want, wheres(fes)); diff != "" {
				t.Fatalf("errors differ (-want +got):\n%s\nerror: %v", diff, err)
			}
			for i, fe := range fes {
				if !strings.Contains(fe.Msg, tt.msgs[i]) {
					t.Errorf("error %d: got message %q, want it to contain %q", i, fe.Msg, tt.msgs[i])
				}
				if tt.file != "" && fe.File != path {
					t.Errorf("error %d: got File %q, want %q", i, fe.File, path)
				}
			}
		})
	}
}

func TestLoadTypeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		environ []string
		want    where
		msg     string
	}{
		{name: "word for int", file: "intake:\n  max_backlog: abc\n", want: where{Key: "intake.max_backlog", Line: 2}, msg: `must be an integer, got "abc"`},
		{name: "quoted int", file: "intake:\n  max_backlog: \"5\"\n", want: where{Key: "intake.max_backlog", Line: 2}, msg: `must be an integer, got "5"`},
		{name: "float for int", file: "jobs:\n  workers: 1.5\n", want: where{Key: "jobs.workers", Line: 2}, msg: "must be an integer, got 1.5"},
		{name: "bad duration", file: "jobs:\n  timeout: 5x\n", want: where{Key: "jobs.timeout", Line: 2}, msg: `must be a duration with a unit, such as "30s" or "250ms", got "5x"`},
		{name: "duration without unit", file: "jobs:\n  timeout: 30\n", want: where{Key: "jobs.timeout", Line: 2}, msg: "got 30"},
		{name: "yes for bool", file: "workflow:\n  auto_release: yes\n", want: where{Key: "workflow.auto_release", Line: 2}, msg: `must be true or false, got "yes"`},
		{name: "string for list", file: "connectors:\n  webhook:\n    actions: dispatch.release\n", want: where{Key: "connectors.webhook.actions", Line: 3}, msg: "must be a list of strings"},
		{name: "mapping for string", file: "server:\n  addr:\n    host: x\n", want: where{Key: "server.addr", Line: 3}, msg: "must be a string, got a mapping"},
		{name: "list for secret", file: "storage:\n  database_url: [postgres://a]\n", want: where{Key: "storage.database_url", Line: 2}, msg: "must be a string, got a list"},
		{name: "env word for int", environ: []string{"WAYBILL_INTAKE_MAX_BACKLOG=abc"}, want: where{Key: "intake.max_backlog", Env: "WAYBILL_INTAKE_MAX_BACKLOG"}, msg: `must be an integer, got "abc"`},
		{name: "env bad duration", environ: []string{"WAYBILL_JOBS_TIMEOUT=5x"}, want: where{Key: "jobs.timeout", Env: "WAYBILL_JOBS_TIMEOUT"}, msg: `got "5x"`},
		{name: "env bad bool", environ: []string{"WAYBILL_WORKFLOW_AUTO_RELEASE=maybe"}, want: where{Key: "workflow.auto_release", Env: "WAYBILL_WORKFLOW_AUTO_RELEASE"}, msg: `must be true or false, got "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := Load(path, tt.environ)
			fes := fieldErrors(t, err)
			if diff := cmp.Diff([]where{tt.want}, wheres(fes)); diff != "" {
				t.Fatalf("errors differ (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(fes[0].Msg, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", fes[0].Msg, tt.msg)
			}
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `server:
  addr: localhost
  read_timeout: 0s
storage:
  sqlite_synchronous: fast
  postgres_max_conns: 5000
intake:
  max_backlog: 0
  max_batch_events: many
  colour: blue
jobs:
  timeout: 5x
connectors:
  webhook:
    url: ftp://example.com
    actions: [dispatch.release, ship.it, dispatch.release]
log:
  format: xml
`)
	environ := []string{
		"WAYBILL_PROCESSOR_BATCH_SIZE=0",
		"WAYBILL_JOBS_WORKERS=lots",
		"WAYBILL_STORAGE_DATABASE_URL=mysql://u:hunter2@db/x",
		"WAYBILL_BOGUS=1",
	}
	_, err := Load(path, environ)
	fes := fieldErrors(t, err)
	want := []where{
		// File problems, in file order.
		{Key: "intake.max_batch_events", Line: 9},
		{Key: "intake.colour", Line: 10},
		{Key: "jobs.timeout", Line: 12},
		// Environment problems, in environ order.
		{Key: "jobs.workers", Env: "WAYBILL_JOBS_WORKERS"},
		{Env: "WAYBILL_BOGUS"},
		// Validation problems, in key order.
		{Key: "server.addr", Line: 2},
		{Key: "server.read_timeout", Line: 3},
		{Key: "storage.database_url", Env: "WAYBILL_STORAGE_DATABASE_URL"},
		{Key: "storage.sqlite_synchronous", Line: 5},
		{Key: "storage.postgres_max_conns", Line: 6},
		{Key: "intake.max_backlog", Line: 8},
		{Key: "processor.batch_size", Env: "WAYBILL_PROCESSOR_BATCH_SIZE"},
		{Key: "connectors.webhook.url", Line: 15},
		{Key: "connectors.webhook.actions", Line: 16},
		{Key: "connectors.webhook.actions", Line: 16},
		{Key: "log.format", Line: 18},
	}
	if len(fes) != len(want) {
		t.Errorf("got %d errors, want %d", len(fes), len(want))
	}
	if diff := cmp.Diff(want, wheres(fes)); diff != "" {
		t.Errorf("errors differ (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error text reveals the database_url secret:\n%v", err)
	}
	for _, line := range []string{
		path + ":8: intake.max_backlog: must be at least 1",
		"processor.batch_size (WAYBILL_PROCESSOR_BATCH_SIZE): must be between 1 and 10000",
		"WAYBILL_BOGUS: unknown configuration variable",
	} {
		if !strings.Contains(err.Error(), line+"\n") {
			t.Errorf("error text lacks the line %q:\n%v", line, err)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got error %v, want one wrapping os.ErrNotExist", err)
		}
	})
	t.Run("invalid YAML", func(t *testing.T) {
		t.Parallel()
		path := writeConfig(t, "server:\n  addr: [\n")
		_, err := Load(path, nil)
		var fe *KeyError
		if err == nil || errors.As(err, &fe) {
			t.Errorf("got error %v, want a parse error that is not a *KeyError", err)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	amsterdam := mustZone(t, "Europe/Amsterdam")
	tests := []struct {
		name   string
		modify func(*Config)
		key    string // "" when valid
		msg    string
	}{
		{name: "addr with port 0", modify: func(c *Config) { c.Server.Addr = "127.0.0.1:0" }},
		{name: "addr without host", modify: func(c *Config) { c.Server.Addr = ":8080" }},
		{name: "addr IPv6", modify: func(c *Config) { c.Server.Addr = "[::1]:8080" }},
		{name: "addr without port", modify: func(c *Config) { c.Server.Addr = "localhost" }, key: "server.addr", msg: "must be host:port, such as 127.0.0.1:8080"},
		{name: "addr port out of range", modify: func(c *Config) { c.Server.Addr = "localhost:70000" }, key: "server.addr", msg: "must end in a port number from 0 to 65535"},
		{name: "addr named port", modify: func(c *Config) { c.Server.Addr = "localhost:http" }, key: "server.addr", msg: "must end in a port number from 0 to 65535"},
		{name: "negative timeout", modify: func(c *Config) { c.Server.WriteTimeout = -time.Second }, key: "server.write_timeout", msg: `must be positive, such as "30s"`},
		{name: "zero idle timeout", modify: func(c *Config) { c.Server.IdleTimeout = 0 }, key: "server.idle_timeout", msg: `must be positive, such as "30s"`},
		{name: "zero shutdown timeout", modify: func(c *Config) { c.Server.ShutdownTimeout = 0 }, key: "server.shutdown_timeout", msg: `must be positive, such as "30s"`},
		{name: "unlimited keys", modify: func(c *Config) { c.Server.KeyRate, c.Server.KeyBurst = 0, 0 }},
		{name: "negative key rate", modify: func(c *Config) { c.Server.KeyRate = -1 }, key: "server.key_rate", msg: "must be 0 (unlimited) to 1000000 requests a second, got -1"},
		{name: "key rate without burst", modify: func(c *Config) { c.Server.KeyRate, c.Server.KeyBurst = 100, 0 }, key: "server.key_burst", msg: "must be 1 to 1000000 when server.key_rate is set, got 0"},
		{name: "key label", modify: func(c *Config) { c.Server.KeyLabelDefault = "prod" }},
		{name: "bad key label", modify: func(c *Config) { c.Server.KeyLabelDefault = "Prod-1" }, key: "server.key_label_default", msg: `must be empty or 1 to 16 characters of a-z and 0-9, such as prod or test, got "Prod-1"`},
		{name: "empty data dir", modify: func(c *Config) { c.Storage.DataDir = "" }, key: "storage.data_dir", msg: "must not be empty when storage.database_url is not set"},
		{name: "empty data dir with postgres", modify: func(c *Config) { c.Storage.DataDir = ""; c.Storage.DatabaseURL = "postgres://db/w" }},
		{name: "postgresql scheme", modify: func(c *Config) { c.Storage.DatabaseURL = "postgresql://db/w" }},
		{name: "other database scheme", modify: func(c *Config) { c.Storage.DatabaseURL = "sqlite:///tmp/x" }, key: "storage.database_url", msg: "must start with postgres:// or postgresql://"},
		{name: "sqlite synchronous normal", modify: func(c *Config) { c.Storage.SQLiteSynchronous = "normal" }},
		{name: "sqlite synchronous upper case", modify: func(c *Config) { c.Storage.SQLiteSynchronous = "FULL" }, key: "storage.sqlite_synchronous", msg: `must be one of off, normal, full or extra, got "FULL"`},
		{name: "postgres conns 0", modify: func(c *Config) { c.Storage.PostgresMaxConns = 0 }, key: "storage.postgres_max_conns", msg: "must be between 1 and 1000"},
		{name: "postgres conns 1000", modify: func(c *Config) { c.Storage.PostgresMaxConns = 1000 }},
		{name: "postgres conns 1001", modify: func(c *Config) { c.Storage.PostgresMaxConns = 1001 }, key: "storage.postgres_max_conns", msg: "must be between 1 and 1000"},
		{name: "backlog 0", modify: func(c *Config) { c.Intake.MaxBacklog = 0 }, key: "intake.max_backlog", msg: "must be at least 1"},
		{name: "batch events 1001", modify: func(c *Config) { c.Intake.MaxBatchEvents = 1001 }, key: "intake.max_batch_events", msg: "must be between 1 and 1000"},
		{name: "body bytes 0", modify: func(c *Config) { c.Intake.MaxBodyBytes = 0 }, key: "intake.max_body_bytes", msg: "must be at least 1"},
		{name: "group commit 10001", modify: func(c *Config) { c.Intake.GroupCommitMax = 10001 }, key: "intake.group_commit_max", msg: "must be between 1 and 10000"},
		{name: "processor batch 0", modify: func(c *Config) { c.Processor.BatchSize = 0 }, key: "processor.batch_size", msg: "must be between 1 and 10000"},
		{name: "poll interval 0", modify: func(c *Config) { c.Processor.PollInterval = 0 }, key: "processor.poll_interval", msg: `must be positive, such as "30s"`},
		{name: "processor attempts 0", modify: func(c *Config) { c.Processor.MaxAttempts = 0 }, key: "processor.max_attempts", msg: "must be at least 1"},
		{name: "workers 0", modify: func(c *Config) { c.Jobs.Workers = 0 }, key: "jobs.workers", msg: "must be at least 1"},
		{name: "lane workers 0", modify: func(c *Config) { c.Jobs.Lanes = []JobLane{{"low", 0}} }, key: "jobs.lanes", msg: `entry "low=0": workers must be at least 1`},
		{name: "lane critical", modify: func(c *Config) { c.Jobs.Lanes = []JobLane{{"critical", 8}} }, key: "jobs.lanes", msg: `entry "critical=8": the critical lane's workers are jobs.workers`},
		{name: "lane unknown", modify: func(c *Config) { c.Jobs.Lanes = []JobLane{{"bulk", 8}} }, key: "jobs.lanes", msg: `entry "bulk=8": unknown lane "bulk"; must be one of low or background`},
		{name: "lane twice", modify: func(c *Config) { c.Jobs.Lanes = []JobLane{{"low", 2}, {"low", 3}} }, key: "jobs.lanes", msg: `sets "low" more than once`},
		{name: "job attempts 0", modify: func(c *Config) { c.Jobs.MaxAttempts = 0 }, key: "jobs.max_attempts", msg: "must be at least 1"},
		{name: "job timeout 0", modify: func(c *Config) { c.Jobs.Timeout = 0 }, key: "jobs.timeout", msg: `must be positive, such as "30s"`},
		{name: "retry max below base", modify: func(c *Config) { c.Jobs.RetryMax = time.Millisecond }, key: "jobs.retry_max", msg: "must be at least jobs.retry_base"},
		{name: "soft stop 0", modify: func(c *Config) { c.Jobs.SoftStopTimeout = 0 }, key: "jobs.soft_stop_timeout", msg: `must be positive, such as "30s"`},
		{name: "webhook https", modify: func(c *Config) { c.Connectors.Webhook.URL = "https://example.com/hook?x=1" }},
		{name: "webhook relative", modify: func(c *Config) { c.Connectors.Webhook.URL = "/hook" }, key: "connectors.webhook.url", msg: "must be an absolute http or https URL, such as https://example.com/hook"},
		{name: "webhook ftp", modify: func(c *Config) { c.Connectors.Webhook.URL = "ftp://example.com" }, key: "connectors.webhook.url", msg: "must be an absolute http or https URL, such as https://example.com/hook"},
		{name: "webhook no host", modify: func(c *Config) { c.Connectors.Webhook.URL = "http://" }, key: "connectors.webhook.url", msg: "must be an absolute http or https URL, such as https://example.com/hook"},
		{name: "webhook unknown action", modify: func(c *Config) { c.Connectors.Webhook.Actions = []string{"ship.it"} }, key: "connectors.webhook.actions", msg: `unknown action "ship.it"; must be one of dispatch.release, dispatch.update, picking.validate, invoice.prepare, picking.return, stock.scrap, milestone.sync or vendor_bill.create`},
		{name: "webhook repeated action", modify: func(c *Config) { c.Connectors.Webhook.Actions = []string{"invoice.prepare", "invoice.prepare"} }, key: "connectors.webhook.actions", msg: `lists "invoice.prepare" more than once`},
		{name: "webhook off without actions", modify: func(c *Config) { c.Connectors.Webhook.Actions = nil }},
		{name: "webhook on without actions", modify: func(c *Config) { c.Connectors.Webhook.URL = "http://x"; c.Connectors.Webhook.Actions = nil }},
		{name: "odoo on", modify: func(c *Config) { setOdoo(c) }},
		{name: "odoo on with key file", modify: func(c *Config) {
			setOdoo(c)
			c.Connectors.Odoo.APIKey = ""
			c.Connectors.Odoo.APIKeyFile = "/run/secrets/odoo"
		}},
		{name: "odoo 19 over json2 without login", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.Login = ""; c.Connectors.Odoo.Protocol = "json2" }},
		{name: "odoo bad url", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.URL = "erp.example.com" }, key: "connectors.odoo.url", msg: "must be an absolute http or https URL, such as https://erp.example.com"},
		{name: "odoo without database", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.Database = "" }, key: "connectors.odoo.database", msg: "must be set when url is set"},
		{name: "odoo without login", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.Login = "" }, key: "connectors.odoo.login", msg: "must be set when url is set (JSON-RPC logs in; only json2 on Odoo 19 does without)"},
		{name: "odoo without key", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.APIKey = "" }, key: "connectors.odoo.api_key", msg: "must be set (through WAYBILL_CONNECTORS_ODOO_API_KEY) or named by api_key_file when url is set"},
		{name: "odoo two key sources", modify: func(c *Config) { setOdoo(c); c.Connectors.Odoo.APIKeyFile = "/k" }, key: "connectors.odoo.api_key_file", msg: "must not be set together with api_key; keep one source of the key"},
		{name: "odoo version", modify: func(c *Config) { c.Connectors.Odoo.Version = 15 }, key: "connectors.odoo.version", msg: "must be 0 (detect) or an Odoo major version from 16 to 19"},
		{name: "odoo protocol", modify: func(c *Config) { c.Connectors.Odoo.Protocol = "xmlrpc" }, key: "connectors.odoo.protocol", msg: `must be jsonrpc, json2 or empty (chosen by version), got "xmlrpc"`},
		{name: "odoo json2 on 18", modify: func(c *Config) { c.Connectors.Odoo.Protocol = "json2"; c.Connectors.Odoo.Version = 18 }, key: "connectors.odoo.protocol", msg: "json2 needs Odoo 19 or later"},
		{name: "odoo dispatch action", modify: func(c *Config) { c.Connectors.Odoo.Actions = []string{"dispatch.release"} }, key: "connectors.odoo.actions", msg: `unknown action "dispatch.release"; must be one of picking.validate, invoice.prepare, picking.return, stock.scrap, milestone.sync or vendor_bill.create`},
		{name: "odoo backorder", modify: func(c *Config) { c.Connectors.Odoo.Backorder = "keep" }, key: "connectors.odoo.backorder", msg: `must be one of create or cancel, got "keep"`},
		{name: "odoo invoice state", modify: func(c *Config) { c.Connectors.Odoo.InvoiceState = "sent" }, key: "connectors.odoo.invoice_state", msg: `must be one of draft or posted, got "sent"`},
		{name: "odoo system", modify: func(c *Config) { c.Connectors.Odoo.System = "odoo:prod" }, key: "connectors.odoo.system", msg: "must be a non-empty name without colons or spaces, such as odoo"},
		{name: "odoo service product without code", modify: func(c *Config) { c.Connectors.Odoo.ServiceProducts = []ServiceProduct{{ChargeType: "detention"}} }, key: "connectors.odoo.service_products", msg: `entry "detention=" must be type=CODE, such as detention=DETENTION`},
		{name: "odoo service product type", modify: func(c *Config) { c.Connectors.Odoo.ServiceProducts = []ServiceProduct{{"waiting", "WAIT"}} }, key: "connectors.odoo.service_products", msg: `entry "waiting=WAIT": unknown charge type "waiting"; must be one of linehaul, fuel, detention, liftgate, residential, inside_delivery, redelivery, layover, lumper, accessorial, tax, discount or other`},
		{name: "odoo service product twice", modify: func(c *Config) { c.Connectors.Odoo.ServiceProducts = []ServiceProduct{{"fuel", "A"}, {"fuel", "B"}} }, key: "connectors.odoo.service_products", msg: `maps "fuel" more than once`},
		{name: "odoo poll interval", modify: func(c *Config) { c.Connectors.Odoo.PollInterval = -time.Second }, key: "connectors.odoo.poll_interval", msg: "must not be negative (0 turns polling off)"},
		{name: "odoo milestone sync window", modify: func(c *Config) { c.Connectors.Odoo.MilestoneSyncWindow = -time.Second }, key: "connectors.odoo.milestone_sync_window", msg: "must not be negative"},
		{name: "odoo polling off", modify: func(c *Config) { c.Connectors.Odoo.PollInterval = 0 }},
		{name: "odoo short webhook token", modify: func(c *Config) { c.Connectors.Odoo.WebhookToken = "short" }, key: "connectors.odoo.webhook_token", msg: "must be at least 16 characters: it is the only thing that guards the route"},
		{name: "kpi release delay", modify: func(c *Config) { c.KPI.ReleaseDelay = -time.Minute }, key: "kpi.release_delay", msg: `must be positive, such as "30s"`},
		{name: "kpi shortage age", modify: func(c *Config) { c.KPI.ShortageAge = 0 }, key: "kpi.shortage_age", msg: `must be positive, such as "30s"`},
		{name: "kpi unbilled after", modify: func(c *Config) { c.KPI.UnbilledAfter = -time.Hour }, key: "kpi.unbilled_after", msg: `must be positive, such as "30s"`},
		{name: "kpi cache", modify: func(c *Config) { c.KPI.CacheFor = 0 }, key: "kpi.cache_for", msg: `must be positive, such as "30s"`},
		{name: "archive retention", modify: func(c *Config) { c.Archive.Retention = -time.Hour }, key: "archive.retention", msg: `must be positive, such as "30s"`},
		{name: "archive interval", modify: func(c *Config) { c.Archive.Interval = 0 }, key: "archive.interval", msg: `must be positive, such as "30s"`},
		{name: "freight tolerance twice", modify: func(c *Config) {
			c.FreightAudit.Tolerances = []FreightTolerance{{Type: "fuel", Percent: "5"}, {Type: "fuel", Abs: "1"}}
		}, key: "freight_audit.tolerances", msg: `sets type "fuel" more than once`},
		{name: "freight tolerance bad amount", modify: func(c *Config) {
			c.FreightAudit.Tolerances = []FreightTolerance{{Type: "linehaul", Abs: "-5"}}
		}, key: "freight_audit.tolerances", msg: `entry "type=linehaul abs=-5": abs "-5" must be a non-negative plain decimal, such as 5.00`},
		{name: "tracking link lifetime over max", modify: func(c *Config) { c.TrackingPage.LinkLifetime = 100 * 24 * time.Hour }, key: "tracking_page.link_lifetime", msg: "must not be longer than tracking_page.max_link_lifetime"},
		{name: "tracking short key", modify: func(c *Config) { c.TrackingPage.SigningKey = "short" }, key: "tracking_page.signing_key", msg: "must be at least 32 characters (openssl rand -base64 32 makes one)"},
		{name: "tracking postgres without key", modify: func(c *Config) {
			c.TrackingPage.Enabled = true
			c.Storage.DatabaseURL = "postgres://db/waybill"
		}, key: "tracking_page.signing_key", msg: "must be set on PostgreSQL, so that every replica signs the links alike (openssl rand -base64 32 makes one)"},
		{name: "tracking postgres with key", modify: func(c *Config) {
			c.TrackingPage.Enabled = true
			c.Storage.DatabaseURL = "postgres://db/waybill"
			c.TrackingPage.SigningKey = "0123456789abcdef0123456789abcdef"
		}},
		{name: "tracking base url", modify: func(c *Config) { c.TrackingPage.BaseURL = "track.example.com" }, key: "tracking_page.base_url", msg: "must be an absolute http or https URL without credentials, query or fragment, such as https://track.example.com"},
		{name: "tracking rate", modify: func(c *Config) { c.TrackingPage.Rate = 0 }, key: "tracking_page.rate", msg: "must be between 1 and 1000000"},
		{name: "tracking cache", modify: func(c *Config) { c.TrackingPage.CacheMaxAge = 2 * time.Hour }, key: "tracking_page.cache_max_age", msg: "must be at most 1h"},
		{name: "tracking branding colour", modify: func(c *Config) {
			c.TrackingPage.Branding = []TrackingBranding{{Customer: "odoo:res.partner/7", PrimaryColor: "blue"}}
		}, key: "tracking_page.branding", msg: `entry "customer=odoo:res.partner/7 primary_color=blue": primary_color "blue" must be #rgb or #rrggbb`},
		{name: "tracking branding http logo", modify: func(c *Config) {
			c.TrackingPage.Branding = []TrackingBranding{{Customer: "c1", LogoURL: "http://cdn.example/logo.png"}}
		}, key: "tracking_page.branding", msg: `entry "customer=c1 logo_url=http://cdn.example/logo.png": logo_url "http://cdn.example/logo.png" must be an absolute https URL without credentials`},
		{name: "tracking branding twice", modify: func(c *Config) {
			c.TrackingPage.Branding = []TrackingBranding{{Customer: "c1"}, {Customer: "c1", Name: "Other"}}
		}, key: "tracking_page.branding", msg: `sets customer "c1" more than once`},
		{name: "tracking branding", modify: func(c *Config) {
			c.TrackingPage.Branding = []TrackingBranding{{Customer: "c1", Name: "Acme Retail", LogoURL: "https://cdn.example/logo.png", PrimaryColor: "#0a3d62", AccentColor: "#fb3"}}
		}},
		{name: "freight bill state", modify: func(c *Config) { c.FreightAudit.BillState = "paid" }, key: "freight_audit.bill_state", msg: `must be one of draft or posted, got "paid"`},
		{name: "kpi thresholds", modify: func(c *Config) {
			c.KPI = KPI{ReleaseDelay: time.Hour, ShortageAge: 2 * time.Hour, UnbilledAfter: 24 * time.Hour, CacheFor: time.Minute}
		}},
		{name: "silence watch without sources", modify: func(c *Config) { c.Billing.PODMaxSilence = time.Hour }, key: "billing.pod_sources", msg: "must list the sources to watch when pod_max_silence is set"},
		{name: "silence watch", modify: func(c *Config) {
			c.Billing.PODMaxSilence = time.Hour
			c.Billing.PODSources = []string{"/carriers/vdbt"}
		}},
		{name: "operating hours empty span", modify: func(c *Config) { c.Billing.OperatingHours = OperatingHours{From: 8 * 60, To: 8 * 60} }, key: "billing.operating_hours", msg: `"08:00-08:00": empty span`},
		{name: "operating hours past midnight", modify: func(c *Config) { c.Billing.OperatingHours = OperatingHours{From: 6 * 60, To: 25 * 60} }, key: "billing.operating_hours", msg: "360-1500: from and to must be minutes after midnight, 0 to 1440"},
		{name: "night shift", modify: func(c *Config) { c.Billing.OperatingHours = OperatingHours{From: 22 * 60, To: 6 * 60} }},
		{name: "always", modify: func(c *Config) { c.Billing.OperatingHours = OperatingHours{From: 0, To: 24 * 60} }},
		{name: "time zone", modify: func(c *Config) { c.Billing.Timezone = amsterdam }},
		{name: "no time zone", modify: func(c *Config) { c.Billing.Timezone = Zone{} }, key: "billing.timezone", msg: `unknown time zone ""; use an IANA name such as Europe/Amsterdam`},
		{name: "milestone interval", modify: func(c *Config) {
			c.Workflow.MilestoneIntervals = []MilestoneInterval{{"shipment.arrived", 15 * time.Minute}}
		}},
		{name: "reconcile cut-off at midnight", modify: func(c *Config) { c.Reconcile.Cutoff = TimeOfDay{} }, key: "reconcile.cutoff", msg: "must be a time of day from 00:01 to 24:00"},
		{name: "reconcile warehouse twice", modify: func(c *Config) {
			c.Reconcile.Warehouses = []ReconcileWarehouse{{Name: "WH", Cutoff: TimeOfDay{Minutes: 60}}, {Name: "WH", Cutoff: TimeOfDay{Minutes: 120}}}
		}, key: "reconcile.warehouses", msg: `names "WH" more than once`},
		{name: "reconcile catch-up", modify: func(c *Config) { c.Reconcile.CatchUp = 90 }, key: "reconcile.catch_up", msg: "must be 0 to 31 days"},
		{name: "milestone interval 0", modify: func(c *Config) { c.Workflow.MilestoneIntervals = []MilestoneInterval{{Type: "shipment.arrived"}} }, key: "workflow.milestone_intervals", msg: `entry "shipment.arrived=0s": the interval must be positive, such as shipment.arrived=15m`},
		{name: "milestone interval type", modify: func(c *Config) { c.Workflow.MilestoneIntervals = []MilestoneInterval{{"shipment.loaded", time.Minute}} }, key: "workflow.milestone_intervals", msg: `entry "shipment.loaded=1m": "shipment.loaded" is not a milestone; must be one of shipment.departed, shipment.delayed, shipment.arrived, shipment.delivered, shipment.exception or shipment.returned`},
		{name: "milestone interval twice", modify: func(c *Config) {
			c.Workflow.MilestoneIntervals = []MilestoneInterval{{"shipment.arrived", time.Minute}, {"shipment.arrived", time.Hour}}
		}, key: "workflow.milestone_intervals", msg: `sets "shipment.arrived" more than once`},
		{name: "tms url", modify: func(c *Config) { c.Connectors.TMS.URL = "tms.example.com" }, key: "connectors.tms.url", msg: "must be an absolute http or https URL, such as https://tms.example.com/dispatches"},
		{name: "release to tms and webhook", modify: func(c *Config) {
			c.Connectors.TMS.URL = "https://tms.example.com/dispatches"
			c.Connectors.Webhook.URL = "https://hooks.example.com"
			c.Connectors.Webhook.Actions = []string{"dispatch.release"}
		}, key: "connectors.webhook.actions", msg: `lists "dispatch.release", which connectors.tms sends to the TMS; an action goes to one connector`},
		{name: "odoo policy", modify: func(c *Config) {
			c.Connectors.Odoo.Policies = []OdooPolicy{{Customer: "odoo:res.partner/42", Warehouse: "WH", Backorder: "cancel", InvoiceState: "posted"}}
		}},
		{name: "odoo policy backorder", modify: func(c *Config) { c.Connectors.Odoo.Policies = []OdooPolicy{{Customer: "x", Backorder: "keep"}} }, key: "connectors.odoo.policies", msg: `entry "customer=x backorder=keep": backorder "keep": must be create or cancel`},
		{name: "odoo policy empty", modify: func(c *Config) { c.Connectors.Odoo.Policies = []OdooPolicy{{Customer: "x"}} }, key: "connectors.odoo.policies", msg: `entry "customer=x": sets neither backorder nor invoice_state`},
		{name: "odoo policy space", modify: func(c *Config) { c.Connectors.Odoo.Policies = []OdooPolicy{{Warehouse: "W H", Backorder: "cancel"}} }, key: "connectors.odoo.policies", msg: `entry "warehouse=W H backorder=cancel": customer and warehouse must not hold white space`},
		{name: "odoo rate limit", modify: func(c *Config) { c.Connectors.Odoo.RateLimit = 0 }, key: "connectors.odoo.rate_limit", msg: "must be at least 1"},
		{name: "action on two connectors", modify: func(c *Config) {
			setOdoo(c)
			c.Connectors.Webhook.URL = "http://x"
			c.Connectors.Webhook.Actions = []string{"dispatch.release", "invoice.prepare"}
		}, key: "connectors.webhook.actions", msg: `lists "invoice.prepare", which connectors.odoo.actions sends to Odoo; an action goes to one connector`},
		{name: "webhook timeout 0", modify: func(c *Config) { c.Connectors.Webhook.Timeout = 0 }, key: "connectors.webhook.timeout", msg: `must be positive, such as "30s"`},
		{name: "log level", modify: func(c *Config) { c.Log.Level = "trace" }, key: "log.level", msg: `must be one of debug, info, warn or error, got "trace"`},
		{name: "log format", modify: func(c *Config) { c.Log.Format = "" }, key: "log.format", msg: `must be one of json or text, got ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.modify(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			fes := fieldErrors(t, err)
			got := make([]KeyError, len(fes))
			for i, fe := range fes {
				got[i] = *fe
			}
			want := []KeyError{{Key: tt.key, Msg: tt.msg}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Validate() errors differ (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("zero config reports every key at once", func(t *testing.T) {
		t.Parallel()
		fes := fieldErrors(t, Config{}.Validate())
		var got []string
		for _, fe := range fes {
			got = append(got, fe.Key)
		}
		want := []string{
			"server.addr", "server.read_timeout", "server.write_timeout", "server.idle_timeout", "server.shutdown_timeout",
			"storage.data_dir", "storage.sqlite_synchronous", "storage.postgres_max_conns",
			"intake.max_backlog", "intake.max_batch_events", "intake.max_body_bytes", "intake.group_commit_max", "intake.edi_poll_interval",
			"intake.max_event_age", "intake.max_event_lead",
			"processor.batch_size", "processor.poll_interval", "processor.max_attempts",
			"jobs.workers", "jobs.max_attempts", "jobs.timeout", "jobs.soft_stop_timeout", "jobs.retry_base",
			"billing.operating_hours", "billing.timezone", "billing.pod_recovery_events",
			"kpi.release_delay", "kpi.shortage_age", "kpi.unbilled_after", "kpi.cache_for",
			"archive.retention", "archive.interval",
			"reconcile.cutoff", "reconcile.timezone",
			"subscriptions.disable_after", "subscriptions.timeout", "subscriptions.secret_overlap", "subscriptions.retention", "subscriptions.rate_limit",
			"subscriptions.workers", "subscriptions.per_endpoint", "freight_audit.bill_state",
			"tracking_page.link_lifetime", "tracking_page.max_link_lifetime", "tracking_page.rate", "tracking_page.burst",
			"tracking_page.cache_max_age", "tracking_page.timezone",
			"connectors.odoo.timeout", "connectors.odoo.rate_limit", "connectors.odoo.breaker_failures",
			"connectors.odoo.breaker_cooldown", "connectors.odoo.backorder", "connectors.odoo.invoice_state", "connectors.odoo.system",
			"connectors.webhook.timeout", "connectors.tms.timeout",
			"log.level", "log.format", "changes.what_if_shipments",
			"tracing.protocol", "tracing.sample_ratio", "tracing.service_name",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keys differ (-want +got):\n%s", diff)
		}
	})

	t.Run("webhook section alone", func(t *testing.T) {
		t.Parallel()
		fes := fieldErrors(t, Webhook{URL: "nope"}.Validate())
		var got []string
		for _, fe := range fes {
			got = append(got, fe.Key)
		}
		want := []string{"connectors.webhook.url", "connectors.webhook.timeout"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keys differ (-want +got):\n%s", diff)
		}
	})
}

func TestFieldErrorError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   KeyError
		want string
	}{
		{KeyError{Key: "intake.max_backlog", Msg: "must be at least 1"}, "intake.max_backlog: must be at least 1"},
		{KeyError{Key: "intake.max_backlog", File: "waybill.yaml", Line: 12, Msg: "must be at least 1"}, "waybill.yaml:12: intake.max_backlog: must be at least 1"},
		{KeyError{Key: "intake.max_backlog", Env: "WAYBILL_INTAKE_MAX_BACKLOG", Msg: "must be at least 1"}, "intake.max_backlog (WAYBILL_INTAKE_MAX_BACKLOG): must be at least 1"},
		{KeyError{Env: "WAYBILL_NOPE", Msg: "unknown configuration variable"}, "WAYBILL_NOPE: unknown configuration variable"},
		{KeyError{File: "waybill.yaml", Line: 1, Msg: "must be a mapping"}, "waybill.yaml:1: must be a mapping"},
		{KeyError{File: "waybill.yaml", Key: "x", Msg: "bad"}, "waybill.yaml: x: bad"},
		{KeyError{Line: 3, Key: "x", Msg: "bad"}, "line 3: x: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExampleLoads(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, Example()), nil)
	if err != nil {
		t.Fatalf("Load(Example()) error: %v", err)
	}
	if diff := cmp.Diff(Default(), got); diff != "" {
		t.Errorf("Load(Example()) differs from Default() (-want +got):\n%s", diff)
	}
	for _, k := range Keys() {
		if !strings.Contains(Example(), " "+k.Path[strings.LastIndex(k.Path, ".")+1:]+": "+k.Default+"\n") {
			t.Errorf("Example() lacks key %s with its default %s", k.Path, k.Default)
		}
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	keys := Keys()
	envs := make(map[string]string)
	var secrets []string
	for _, k := range keys {
		if other, dup := envs[k.Env]; dup {
			t.Errorf("keys %s and %s share the environment variable %s", other, k.Path, k.Env)
		}
		envs[k.Env] = k.Path
		if want := "WAYBILL_" + strings.ToUpper(strings.ReplaceAll(k.Path, ".", "_")); k.Env != want {
			t.Errorf("%s: got Env %q, want %q", k.Path, k.Env, want)
		}
		if k.Doc == "" {
			t.Errorf("%s: Doc is empty; run %s", k.Path, regenerate)
		}
		if k.Secret {
			secrets = append(secrets, k.Path)
		}
		if strings.HasPrefix(k.Env, EnvTestPrefix) || k.Env == EnvConfigFile {
			t.Errorf("%s: environment variable %s is reserved", k.Path, k.Env)
		}
	}
	if diff := cmp.Diff([]string{"storage.database_url", "connectors.odoo.api_key", "connectors.odoo.webhook_token", "connectors.tms.secret", "connectors.webhook.secret", "encryption.key", "tracing.headers", "tracking_page.signing_key"}, secrets); diff != "" {
		t.Errorf("secret keys differ (-want +got):\n%s", diff)
	}

	want := map[string]KeyDoc{
		"server.addr":                {Path: "server.addr", Env: "WAYBILL_SERVER_ADDR", Type: "string", Default: `"127.0.0.1:8080"`},
		"server.idle_timeout":        {Path: "server.idle_timeout", Env: "WAYBILL_SERVER_IDLE_TIMEOUT", Type: "duration", Default: "2m"},
		"storage.database_url":       {Path: "storage.database_url", Env: "WAYBILL_STORAGE_DATABASE_URL", Type: "secret", Default: `""`, Secret: true},
		"intake.max_body_bytes":      {Path: "intake.max_body_bytes", Env: "WAYBILL_INTAKE_MAX_BODY_BYTES", Type: "integer", Default: "8388608"},
		"processor.poll_interval":    {Path: "processor.poll_interval", Env: "WAYBILL_PROCESSOR_POLL_INTERVAL", Type: "duration", Default: "250ms"},
		"workflow.auto_release":      {Path: "workflow.auto_release", Env: "WAYBILL_WORKFLOW_AUTO_RELEASE", Type: "boolean", Default: "true"},
		"connectors.webhook.actions": {Path: "connectors.webhook.actions", Env: "WAYBILL_CONNECTORS_WEBHOOK_ACTIONS", Type: "list of strings", Default: "[]"},
	}
	for _, k := range keys {
		w, ok := want[k.Path]
		if !ok {
			continue
		}
		delete(want, k.Path)
		k.Doc = ""
		if diff := cmp.Diff(w, k); diff != "" {
			t.Errorf("%s differs (-want +got):\n%s", k.Path, diff)
		}
	}
	for p := range want {
		t.Errorf("Keys() lacks %s", p)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{250 * time.Millisecond, "250ms"},
		{30 * time.Second, "30s"},
		{2 * time.Minute, "2m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{time.Hour + time.Minute, "1h1m"},
		{time.Hour + time.Second, "1h0m1s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// setOdoo turns the Odoo connector on with a complete configuration.
func setOdoo(c *Config) {
	c.Connectors.Odoo.URL = "https://erp.example.com"
	c.Connectors.Odoo.Database = "prod"
	c.Connectors.Odoo.Login = "waybill"
	c.Connectors.Odoo.APIKey = "k"
}

func TestOdooReadAPIKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "odoo.key")
	if err := os.WriteFile(file, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.key")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, "blank.key")
	if err := os.WriteFile(blank, []byte(" \t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		o       Odoo
		want    string
		wantErr string
	}{
		{name: "inline", o: Odoo{APIKey: "abc"}, want: "abc"},
		{name: "file trimmed", o: Odoo{APIKeyFile: file}, want: "s3cret"},
		{name: "empty file", o: Odoo{APIKeyFile: empty}, wantErr: "connectors.odoo.api_key_file: secret file " + empty + " is empty"},
		{name: "blank file", o: Odoo{APIKeyFile: blank}, wantErr: "connectors.odoo.api_key_file: secret file " + blank + " is empty"},
		{name: "missing file", o: Odoo{APIKeyFile: filepath.Join(dir, "nope")}, wantErr: "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.o.ReadAPIKey()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadAPIKey() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReadAPIKey() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestServiceProductMap(t *testing.T) {
	t.Parallel()
	got := Odoo{ServiceProducts: []ServiceProduct{{"fuel", "FUEL-SURCHARGE"}, {"detention", "DET"}}}.ServiceProductMap()
	if diff := cmp.Diff(map[string]string{"fuel": "FUEL-SURCHARGE", "detention": "DET"}, got); diff != "" {
		t.Errorf("ServiceProductMap() differs (-want +got):\n%s", diff)
	}
}
