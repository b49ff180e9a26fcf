package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/server"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// authBundle is a server with a labelled admin key, a plain handler behind
// requireScope (as intake is) that logs with its request's context, and the
// log records of both.
type authBundle struct {
	url   string
	keys  *apikey.Store
	admin string
	logs  *logBuffer
}

func setupAuth(t *testing.T) *authBundle {
	t.Helper()
	db := sqldbtest.SQLite(t)
	keys := apikey.NewStore(db)
	admin, _, err := keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "ops", Scopes: []apikey.Scope{apikey.Admin}, Label: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{t: t}
	logger := slog.New(apikey.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "intake called")
		w.WriteHeader(http.StatusAccepted)
	})
	s := server.New(server.Deps{DB: db, Keys: keys, Intake: handler, Logger: logger, Version: "test"})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &authBundle{url: srv.URL, keys: keys, admin: admin, logs: logs}
}

func (b *authBundle) do(t *testing.T, method, path, key, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

func TestAuthenticatedLogLinesCarryTheKey(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	if status, _, body := b.do(t, http.MethodPost, "/v1/events", b.admin, "application/json", "{}"); status != http.StatusAccepted {
		t.Fatalf("POST /v1/events: got %d %s, want 202", status, body)
	}
	var found bool
	for _, rec := range b.logs.records(t) {
		if rec["msg"] != "intake called" {
			continue
		}
		found = true
		if rec["key_label"] != "prod" || rec["key_name"] != "ops" || rec["key_id"] == nil {
			t.Errorf("log record of an authenticated request: got %v, want key_id, key_name ops and key_label prod", rec)
		}
	}
	if !found {
		t.Fatalf("no intake log record: %v", b.logs.records(t))
	}
}

func TestRateLimitAnswer(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	// One request in 1000 s: the second is refused for about that long.
	slow, _, err := b.keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "slow", Scopes: []apikey.Scope{apikey.Admin},
		Limit: &apikey.Limit{Rate: 0.001, Burst: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []struct{ method, path, contentType, body string }{
		{http.MethodGet, "/v1/keys", "", ""},                            // a huma route
		{http.MethodPost, "/v1/events", "application/json", "{}"},       // a plain handler
		{http.MethodGet, "/v1/openapi.json", "", ""},                    // a plain handler for any key
		{http.MethodGet, "/v1/schemas/shipment.planned", "", ""},        // a huma route for any key
		{http.MethodPost, "/v1/keys", "application/json", `{"name":1}`}, // refused before its body is read
	} {
		status, h, body := b.do(t, route.method, route.path, slow, route.contentType, route.body)
		if status == http.StatusTooManyRequests {
			if h.Get("Content-Type") != problem.ContentType || !strings.Contains(body, `"code":"rate-limited"`) {
				t.Errorf("%s %s over the limit: got %q %s, want a rate-limited problem", route.method, route.path, h.Get("Content-Type"), body)
			}
			if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 990 || secs > 1000 {
				t.Errorf("%s %s over the limit: got Retry-After %q, want about 1000 whole seconds", route.method, route.path, h.Get("Retry-After"))
			}
			continue
		}
		if route.path != "/v1/keys" || route.method != http.MethodGet {
			t.Errorf("%s %s with the limit spent: got %d %s, want 429", route.method, route.path, status, body)
		}
	}
	// Another key is not held up.
	if status, _, body := b.do(t, http.MethodGet, "/v1/keys", b.admin, "", ""); status != http.StatusOK {
		t.Errorf("GET /v1/keys with another key: got %d %s, want 200", status, body)
	}
}

func TestExpiredKeyAnswer(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	expires := time.Now().Add(300 * time.Millisecond)
	key, _, err := b.keys.CreateWith(t.Context(), &apikey.CreateParams{Name: "temp", Scopes: []apikey.Scope{apikey.Admin}, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	deadline := expires.Add(5 * time.Second)
	for {
		status, h, body := b.do(t, http.MethodGet, "/v1/keys", key, "", "")
		if status == http.StatusUnauthorized {
			if !strings.Contains(body, "API key expired") || !strings.Contains(body, `"code":"unauthorized"`) || h.Get("WWW-Authenticate") == "" {
				t.Errorf("expired key: got %s (WWW-Authenticate %q), want an unauthorized problem saying it expired", body, h.Get("WWW-Authenticate"))
			}
			if now := time.Now(); now.Before(expires) {
				t.Errorf("key refused at %v, before it expires at %v", now, expires)
			}
			break
		}
		if status != http.StatusOK {
			t.Fatalf("GET /v1/keys with a key that has not expired: got %d %s", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired key still works 5 s after its expiry")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

func TestJSONRoutesTakeJSONWithoutContentType(t *testing.T) {
	t.Parallel()
	b := setupAuth(t)
	for i, ct := range []string{"", "application/json", "application/json; charset=utf-8"} {
		body := `{"name":"ci-` + strconv.Itoa(i) + `","scopes":["events:write"]}`
		if status, _, out := b.do(t, http.MethodPost, "/v1/keys", b.admin, ct, body); status != http.StatusCreated {
			t.Errorf("POST /v1/keys with Content-Type %q: got %d %s, want 201", ct, status, out)
		}
	}
	// curl -d without -H sends a form type: the answer says what to do.
	status, h, out := b.do(t, http.MethodPost, "/v1/keys", b.admin, "application/x-www-form-urlencoded", `{"name":"ci-form","scopes":["events:write"]}`)
	if status != http.StatusUnsupportedMediaType || h.Get("Content-Type") != problem.ContentType || !strings.Contains(out, "Content-Type: application/json") {
		t.Errorf("POST /v1/keys as a form: got %d %s, want 415 naming Content-Type: application/json", status, out)
	}
}
