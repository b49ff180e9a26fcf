package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/server"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestUnexpectedErrorIsLoggedNotShown breaks the database under a running
// API: a handler's unexpected error must answer 500 internal without the
// driver's text, and be logged once with it.
func TestUnexpectedErrorIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		keys := apikey.NewStore(db)
		keys.CacheTTL = time.Hour // authentication keeps working from the cache
		admin, _, err := keys.Create(t.Context(), "admin", []apikey.Scope{apikey.Admin})
		if err != nil {
			t.Fatal(err)
		}
		logs := &logBuffer{t: t}
		s := server.New(server.Deps{DB: db, Keys: keys, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Version: "test"})
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)

		do := func(method, body string) (int, http.Header, []byte) {
			t.Helper()
			req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+"/v1/keys", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+admin)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, out
		}
		// The first request loads the key cache while the database works.
		if status, _, body := do(http.MethodGet, ""); status != http.StatusOK {
			t.Fatalf("listing keys: got %d %s, want 200", status, body)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("closing database: %v", err)
		}

		status, h, body := do(http.MethodPost, `{"name":"ci","scopes":["events:write"]}`)
		if status != http.StatusInternalServerError || h.Get("Content-Type") != problem.ContentType {
			t.Fatalf("creating a key on a closed database: got %d %q %s, want 500 %s", status, h.Get("Content-Type"), body, problem.ContentType)
		}
		var p problem.Details
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("decoding problem %s: %v", body, err)
		}
		if p.Code != problem.CodeInternal || len(p.Errors) != 0 {
			t.Errorf("problem: got code %q with errors %v, want %q and no errors", p.Code, p.Errors, problem.CodeInternal)
		}
		if strings.Contains(string(body), "closed") || strings.Contains(string(body), "sql") {
			t.Errorf("problem %s: got driver text, want none", body)
		}

		var logged []map[string]any
		for _, rec := range logs.records(t) {
			if rec["msg"] == "request failed" {
				logged = append(logged, rec)
			}
		}
		if len(logged) != 1 {
			t.Fatalf("got %d request failed log records, want 1: %v", len(logged), logs.records(t))
		}
		if op, errText := logged[0]["operation"], logged[0]["err"]; op != "create-key" || !strings.Contains(errText.(string), "closed") {
			t.Errorf("log record: got operation %v, err %v; want create-key and the driver's error", op, errText)
		}
	})
}

// logBuffer collects JSON log lines and echoes them to the test log.
type logBuffer struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.t.Log(strings.TrimSpace(string(p)))
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("decoding log: %v", err)
		}
		out = append(out, rec)
	}
	return out
}
