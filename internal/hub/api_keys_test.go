package hub_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

type createdKey struct {
	Key struct {
		ID        string   `json:"id"`
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		RevokedAt *string  `json:"revoked_at"`
	} `json:"key"`
	Secret string `json:"secret"`
}

func TestAPICreateKey(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		for _, tt := range []struct {
			name, body string
			// wantDetail is part of the problem's detail or errors.
			wantDetail string
		}{
			{name: "unknown_scope", body: `{"name":"ci","scopes":["events:write","root"]}`, wantDetail: `unknown scope "root"`},
			{name: "blank_scope", body: `{"name":"ci","scopes":[""]}`, wantDetail: "unknown scope"},
			{name: "no_scopes", body: `{"name":"ci","scopes":[]}`, wantDetail: "scopes"},
			{name: "empty_name", body: `{"name":"","scopes":["admin"]}`, wantDetail: "name"},
			{name: "name_with_space", body: `{"name":"ci bot","scopes":["admin"]}`, wantDetail: "name"},
			{name: "name_too_long", body: `{"name":"` + strings.Repeat("k", 65) + `","scopes":["admin"]}`, wantDetail: "name"},
			{name: "not_json", body: `{"name":`, wantDetail: ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(tt.body))
				p := wantProblem(t, "POST /v1/keys "+tt.body, status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
				text := p.Detail
				for _, e := range p.Errors {
					text += " " + e.Location + " " + e.Message
				}
				if !strings.Contains(text, tt.wantDetail) {
					t.Errorf("POST /v1/keys %s: got problem %q, want it to mention %q", tt.body, text, tt.wantDetail)
				}
			})
		}
		var keys struct {
			Keys []struct {
				Name string `json:"name"`
			} `json:"keys"`
		}
		a.getJSON(t, "/v1/keys", &keys)
		if len(keys.Keys) != 1 || keys.Keys[0].Name != "test" {
			t.Errorf("keys after refused creations: got %+v, want only the test's admin key", keys.Keys)
		}

		// A valid request makes a key whose secret works, for its scope
		// only.
		status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"reader","scopes":["shipments:read"]}`))
		if status != http.StatusCreated {
			t.Fatalf("creating a key: got %d %s, want 201", status, body)
		}
		var made createdKey
		if err := json.Unmarshal(body, &made); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
		if made.Key.Name != "reader" || len(made.Key.Scopes) != 1 || made.Key.Scopes[0] != "shipments:read" || made.Secret == "" {
			t.Fatalf("created key: got %+v, want reader with shipments:read and a secret", made)
		}
		reader := &apiHub{hub: a.hub, url: a.url, key: made.Secret}
		if status, _, body := reader.call(t, http.MethodGet, "/v1/shipments", "", nil); status != http.StatusOK {
			t.Errorf("reading with the new key: got %d %s, want 200", status, body)
		}
		status, h, body = reader.call(t, http.MethodGet, "/v1/keys", "", nil)
		wantProblem(t, "listing keys with a shipments:read key", status, h, body, http.StatusForbidden, problem.CodeForbidden)
	})
}

func TestAPIRevokeKey(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		create := func(name string) createdKey {
			t.Helper()
			status, _, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"`+name+`","scopes":["events:write"]}`))
			if status != http.StatusCreated {
				t.Fatalf("creating key %s: got %d %s, want 201", name, status, body)
			}
			var k createdKey
			if err := json.Unmarshal(body, &k); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			return k
		}
		first := create("dup")

		// No two active keys may share a name.
		status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(`{"name":"dup","scopes":["admin"]}`))
		p := wantProblem(t, "creating a second key named dup", status, h, body, http.StatusConflict, problem.CodeConflict)
		if !strings.Contains(p.Detail, first.Key.ID) {
			t.Errorf("refused duplicate: got detail %q, want it to name key %s", p.Detail, first.Key.ID)
		}

		// Tables from before that rule may hold two; revoking by name is
		// then ambiguous.
		second := create("dup-legacy")
		if _, err := a.hub.DB.ExecContext(t.Context(), a.hub.DB.Dialect.Rebind(`UPDATE api_keys SET name = ? WHERE id = ?`), "dup", second.Key.ID); err != nil {
			t.Fatalf("renaming key %s: %v", second.Key.ID, err)
		}
		status, h, body = a.call(t, http.MethodDelete, "/v1/keys/dup", "", nil)
		p = wantProblem(t, "revoking an ambiguous name", status, h, body, http.StatusConflict, problem.CodeConflict)
		for _, id := range []string{first.Key.ID, second.Key.ID} {
			if !strings.Contains(p.Detail, id) {
				t.Errorf("ambiguous revoke: got detail %q, want it to name key %s", p.Detail, id)
			}
		}
		var keys struct {
			Keys []struct {
				ID        string  `json:"id"`
				RevokedAt *string `json:"revoked_at"`
			} `json:"keys"`
		}
		a.getJSON(t, "/v1/keys", &keys)
		for _, k := range keys.Keys {
			if k.RevokedAt != nil {
				t.Errorf("after the refused revoke: key %s got revoked, want every key active", k.ID)
			}
		}

		// By id it works; then the name names one active key.
		var revoked struct {
			ID        string  `json:"id"`
			RevokedAt *string `json:"revoked_at"`
		}
		status, _, body = a.call(t, http.MethodDelete, "/v1/keys/"+first.Key.ID, "", nil)
		if status != http.StatusOK {
			t.Fatalf("revoking by id: got %d %s, want 200", status, body)
		}
		if err := json.Unmarshal(body, &revoked); err != nil || revoked.ID != first.Key.ID || revoked.RevokedAt == nil {
			t.Fatalf("revoking by id: got %s (%v), want key %s revoked", body, err, first.Key.ID)
		}
		status, _, body = a.call(t, http.MethodDelete, "/v1/keys/dup", "", nil)
		if err := json.Unmarshal(body, &revoked); status != http.StatusOK || err != nil || revoked.ID != second.Key.ID {
			t.Fatalf("revoking by name with one active key: got %d %s, want 200 and key %s", status, body, second.Key.ID)
		}

		status, h, body = a.call(t, http.MethodDelete, "/v1/keys/nobody", "", nil)
		wantProblem(t, "revoking an unknown key", status, h, body, http.StatusNotFound, problem.CodeNotFound)

		// Once no active key has it, a name may be used again.
		create("dup")
	})
}

// keyView is a key as the API shows it.
type keyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Label      string     `json:"label"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RateLimit  *struct {
		Rate  float64 `json:"rate"`
		Burst int     `json:"burst"`
	} `json:"rate_limit"`
}

// createKey POSTs body to /v1/keys with contentType, wants 201 and returns
// the key and its secret.
func createKey(t *testing.T, a *apiHub, contentType, body string) (keyView, string, http.Header) {
	t.Helper()
	status, h, out := a.call(t, http.MethodPost, "/v1/keys", contentType, []byte(body))
	if status != http.StatusCreated {
		t.Fatalf("POST /v1/keys %s: got %d %s, want 201", body, status, out)
	}
	var made struct {
		Key    keyView `json:"key"`
		Secret string  `json:"secret"`
	}
	if err := json.Unmarshal(out, &made); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	return made.Key, made.Secret, h
}

func TestAPIKeyOptions(t *testing.T) {
	t.Parallel()
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) { c.Server.KeyLabelDefault = "test" }, nil)
	expires := time.Now().Add(720 * time.Hour).UTC().Truncate(time.Second)

	// No Content-Type: the body is JSON all the same.
	k, secret, h := createKey(t, a, "", `{"name":"tms","scopes":["events:write"],"label":"prod","expires_at":"`+
		expires.Format(time.RFC3339)+`","rate":50,"burst":100}`)
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("key creation: got Cache-Control %q, want no-store", cc)
	}
	if k.Label != "prod" || k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) || k.RateLimit == nil || k.RateLimit.Rate != 50 || k.RateLimit.Burst != 100 {
		t.Errorf("created key: got %+v, want label prod, expiry %v, rate 50 burst 100", k, expires)
	}
	if !strings.HasPrefix(secret, "wb_prod_"+k.ID+"_") {
		t.Errorf("created key: got secret %q, want wb_prod_%s_…", secret, k.ID)
	}
	// The configured default label, and no limit of its own.
	def, defSecret, _ := createKey(t, a, "application/json", `{"name":"ci","scopes":["shipments:read"]}`)
	if def.Label != "test" || def.RateLimit != nil || def.ExpiresAt != nil || !strings.HasPrefix(defSecret, "wb_test_") {
		t.Errorf("key created without options: got %+v (%s…), want label test and no expiry or limit", def, defSecret[:8])
	}

	for _, tt := range []struct{ name, body, want string }{
		{"bad label", `{"name":"x","scopes":["admin"],"label":"Prod"}`, "label"},
		{"past expiry", `{"name":"x","scopes":["admin"],"expires_at":"2001-01-01T00:00:00Z"}`, "not in the future"},
		{"burst without rate", `{"name":"x","scopes":["admin"],"burst":5}`, "burst needs a rate"},
		{"negative rate", `{"name":"x","scopes":["admin"],"rate":-1}`, "rate"},
	} {
		status, h, body := a.call(t, http.MethodPost, "/v1/keys", "application/json", []byte(tt.body))
		p := wantProblem(t, "POST /v1/keys with a "+tt.name, status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
		text := p.Detail
		for _, e := range p.Errors {
			text += " " + e.Location + " " + e.Message
		}
		if !strings.Contains(text, tt.want) {
			t.Errorf("POST /v1/keys with a %s: got %q, want it to mention %q", tt.name, text, tt.want)
		}
	}

	// The list shows the same, and the last use once the key is used.
	user := &apiHub{hub: a.hub, url: a.url, key: defSecret}
	if status, _, body := user.call(t, http.MethodGet, "/v1/shipments", "", nil); status != http.StatusOK {
		t.Fatalf("using the new key: got %d %s", status, body)
	}
	var list struct {
		Keys []keyView `json:"keys"`
	}
	byName := func() map[string]keyView {
		a.getJSON(t, "/v1/keys", &list)
		m := map[string]keyView{}
		for _, k := range list.Keys {
			m[k.Name] = k
		}
		return m
	}
	poll.Until(t, "the key's last use in the list", func() bool { return byName()["ci"].LastUsedAt != nil })
	got := byName()
	if tms := got["tms"]; tms.Label != "prod" || tms.ExpiresAt == nil || tms.RateLimit == nil || tms.LastUsedAt != nil {
		t.Errorf("listed key tms: got %+v, want label, expiry and limit, never used", tms)
	}
	if ci := got["ci"]; time.Since(*ci.LastUsedAt) > time.Minute {
		t.Errorf("listed key ci: got last use %v, want just now", ci.LastUsedAt)
	}

	// The review decision route reads JSON without a Content-Type too: an
	// unknown item is 404, not 415.
	status, h, body := a.call(t, http.MethodPost, "/v1/review/nope/decision", "", []byte(`{"decision":"approve","reason":"ok"}`))
	wantProblem(t, "deciding an unknown review item without Content-Type", status, h, body, http.StatusNotFound, problem.CodeNotFound)
}

// TestAPIKeyRateLimitIsolation hammers one key past its limit while another
// key sends requests at the same time: the first gets 429s with
// Retry-After, the second none.
func TestAPIKeyRateLimitIsolation(t *testing.T) {
	t.Parallel()
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, nil, nil)
	_, hammered, _ := createKey(t, a, "application/json", `{"name":"hammered","scopes":["shipments:read"],"rate":0.01,"burst":2}`)
	_, calm, _ := createKey(t, a, "application/json", `{"name":"calm","scopes":["shipments:read"],"rate":1,"burst":40}`)

	type answer struct {
		key        string
		status     int
		retryAfter string
		body       string
	}
	answers := make(chan answer, 200)
	var wg sync.WaitGroup
	for i := range 8 {
		key := hammered
		if i%2 == 0 {
			key = calm
		}
		wg.Go(func() {
			for range 10 {
				c := &apiHub{url: a.url, key: key}
				status, h, body := c.call(t, http.MethodGet, "/v1/shipments?limit=1", "", nil)
				answers <- answer{key, status, h.Get("Retry-After"), string(body)}
			}
		})
	}
	wg.Wait()
	close(answers)
	limited := 0
	for ans := range answers {
		switch {
		case ans.key == calm && ans.status != http.StatusOK:
			t.Errorf("the calm key, within its limit: got %d %s, want 200", ans.status, ans.body)
		case ans.key == hammered && ans.status == http.StatusTooManyRequests:
			limited++
			if secs, err := strconv.Atoi(ans.retryAfter); err != nil || secs < 1 {
				t.Errorf("a 429: got Retry-After %q, want whole seconds, at least 1", ans.retryAfter)
			}
			if !strings.Contains(ans.body, `"code":"rate-limited"`) {
				t.Errorf("a 429: got %s, want code rate-limited", ans.body)
			}
		case ans.key == hammered && ans.status != http.StatusOK:
			t.Errorf("the hammered key: got %d %s, want 200 or 429", ans.status, ans.body)
		}
	}
	// 40 requests at a rate of one in 100 s and a burst of 2: all but two
	// are refused, unless the test takes minutes.
	if limited < 30 {
		t.Errorf("the hammered key: got %d answers 429 of 40, want at least 30", limited)
	}
}

// TestAPIKeyRateLimitOnSourceRoutes checks that a source profile that takes
// Waybill keys applies their rate limit too, with Retry-After.
func TestAPIKeyRateLimitOnSourceRoutes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte("sources:\n  - id: driver\n    format: pod_app\n    auth: {scheme: api_key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) { c.Intake.SourcesFile = path }, nil)
	_, secret, _ := createKey(t, a, "application/json", `{"name":"driver-app","scopes":["events:write"],"rate":0.001,"burst":1}`)
	driver := &apiHub{url: a.url, key: secret}
	if status, _, body := driver.call(t, http.MethodPost, "/v1/sources/driver/webhooks", "application/json", []byte(`{}`)); status == http.StatusTooManyRequests {
		t.Fatalf("the first request: got %d %s, want it let through", status, body)
	}
	status, h, body := driver.call(t, http.MethodPost, "/v1/sources/driver/webhooks", "application/json", []byte(`{}`))
	wantProblem(t, "the second request in 1000 s", status, h, body, http.StatusTooManyRequests, problem.CodeRateLimited)
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 990 {
		t.Errorf("the second request: got Retry-After %q, want about 1000", h.Get("Retry-After"))
	}
}
