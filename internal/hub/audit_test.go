package hub_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// auditOf returns the hub's audit entries of an action, oldest first.
func auditOf(t *testing.T, h *hub.Hub, action string) []audit.Entry {
	t.Helper()
	list, _, err := h.Audit.List(t.Context(), audit.ListParams{Action: action, Limit: 1000})
	if err != nil {
		t.Fatalf("listing %s audit entries: %v", action, err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// auditKeyFile makes a signing key file in a fresh directory, for hubs on
// PostgreSQL, which have no data directory to make one in.
func auditKeyFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, _, err := audit.OpenKey(audit.KeyOptions{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, audit.DefaultKeyFile)
}

func TestAuditTrail(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		keyFile := auditKeyFile(t)
		rules := filepath.Join(t.TempDir(), "rules.yaml")
		example, err := os.ReadFile("../rating/testdata/example.yaml")
		if err != nil {
			t.Fatal(err)
		}
		writeRules := func(version string) {
			t.Helper()
			doc := strings.Replace(string(example), `version: "2026.03"`, `version: "`+version+`"`, 1)
			if err := os.WriteFile(rules, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		writeRules("r1")
		if opts.DatabaseURL != "" {
			// The same database and key across the two starts below.
			opts.DataDir = ""
		}
		modify := func(c *config.Config) {
			c.Audit.SigningKeyFile = keyFile
			c.Billing.RulesFile = rules
		}

		// First start: config.loaded, no change.
		first, err := hub.New(t.Context(), apiConfig(opts, modify), hub.Options{Version: "test"})
		if err != nil {
			t.Fatalf("first start: %v", err)
		}
		loaded := auditOf(t, first, audit.ActionConfigLoaded)
		if len(loaded) != 1 || loaded[0].Actor != "system" {
			t.Fatalf("config.loaded after the first start: %+v", loaded)
		}
		var details struct {
			ConfigSHA256 string                      `json:"config_sha256"`
			Files        map[string]audit.ConfigFile `json:"files"`
		}
		if err := json.Unmarshal(loaded[0].Details, &details); err != nil {
			t.Fatal(err)
		}
		if f := details.Files["billing.rules_file"]; f.Path != rules || len(f.SHA256) != 64 || len(details.ConfigSHA256) != 64 {
			t.Errorf("config.loaded details: %s", loaded[0].Details)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}

		// Second start with changed rules: config.changed names them.
		writeRules("r2")
		a := startAPIHub(t, opts, modify, nil)
		changed := auditOf(t, a.hub, audit.ActionConfigChanged)
		if len(changed) != 1 {
			t.Fatalf("config.changed entries: %+v, want 1", changed)
		}
		var ch struct {
			Changed []string `json:"changed"`
		}
		if err := json.Unmarshal(changed[0].Details, &ch); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"billing.rules_file"}, ch.Changed); diff != "" {
			t.Errorf("changed (-want +got):\n%s", diff)
		}

		// Key creation and revocation over the API are recorded with the
		// acting key.
		status, _, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"ops","scopes":["shipments:read"]}`))
		if status != http.StatusCreated {
			t.Fatalf("creating a key: %d %s", status, body)
		}
		var made createdKey
		if err := json.Unmarshal(body, &made); err != nil {
			t.Fatal(err)
		}
		if status, _, body := a.call(t, http.MethodDelete, "/v1/keys/ops", "", nil); status != http.StatusOK {
			t.Fatalf("revoking the key: %d %s", status, body)
		}
		var page struct {
			Entries    []audit.Entry `json:"entries"`
			NextCursor string        `json:"next_cursor"`
		}
		a.getJSON(t, "/v1/audit?action=key.", &page)
		type row struct{ Actor, Action, Subject, Details string }
		var got []row
		for _, e := range page.Entries {
			got = append(got, row{e.Actor, e.Action, e.Subject, string(e.Details)})
		}
		want := []row{
			{"key:test", audit.ActionKeyRevoked, made.Key.ID, `{"name":"ops"}`},
			{"key:test", audit.ActionKeyCreated, made.Key.ID, `{"name":"ops","scopes":["shipments:read"]}`},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET /v1/audit?action=key. (-want +got):\n%s", diff)
		}

		// Paging, filters and refusals.
		a.getJSON(t, "/v1/audit?limit=1", &page)
		if len(page.Entries) != 1 || page.NextCursor == "" || page.Entries[0].Action != audit.ActionKeyRevoked {
			t.Errorf("first page of one: %+v", page)
		}
		a.getJSON(t, "/v1/audit?limit=1&cursor="+page.NextCursor, &page)
		if len(page.Entries) != 1 || page.Entries[0].Action != audit.ActionKeyCreated {
			t.Errorf("second page of one: %+v", page)
		}
		a.getJSON(t, "/v1/audit?actor=system&since="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), &page)
		// Two config.loaded, a config.changed, the rules approved
		// implicitly at the first start, the changed rules proposed at the
		// second.
		if len(page.Entries) != 5 {
			t.Errorf("system entries of the last hour: got %d, want 5", len(page.Entries))
		}
		status, h, body := a.call(t, http.MethodGet, "/v1/audit?since=yesterday", "", nil)
		wantProblem(t, "a bad since", status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
		status, h, body = a.call(t, http.MethodGet, "/v1/audit?cursor=x", "", nil)
		wantProblem(t, "a bad cursor", status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
		reader, _, err := a.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		status, h, body = (&apiHub{url: a.url, key: reader}).call(t, http.MethodGet, "/v1/audit", "", nil)
		wantProblem(t, "a shipments:read key", status, h, body, http.StatusForbidden, problem.CodeForbidden)

		// The whole chain verifies with the key file.
		kf, err := audit.ReadKeyFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := a.hub.Audit.Verify(t.Context(), kf.Ring)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if rep.Entries != 7 {
			t.Errorf("verified %d entries, want 7 (5 by system, key.created, key.revoked)", rep.Entries)
		}
	})
}

// apiConfig is startAPIHub's configuration, for tests that build a hub
// themselves.
func apiConfig(opts sqldb.Options, modify func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 10 * time.Second
	cfg.Processor.PollInterval = 20 * time.Millisecond
	cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
	cfg.Storage.DataDir = opts.DataDir
	cfg.Encryption.Key = testKEK(opts)
	cfg.Storage.SQLiteSynchronous = "normal"
	if modify != nil {
		modify(&cfg)
	}
	return cfg
}
