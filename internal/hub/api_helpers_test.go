package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
)

// apiHub is a whole hub running on a loopback port for API tests, with an
// admin key.
type apiHub struct {
	hub *hub.Hub
	url string
	key string
}

// contracts holds the OpenAPI document each running test hub published.
var contracts sync.Map // *hub.Hub → *apiContract

// startAPIHub builds a hub on a fresh database with no outbound connector,
// lets modify change the configuration and beforeRun act on the built hub,
// then runs it until the test ends. modify and beforeRun may be nil.
func startAPIHub(t *testing.T, opts sqldb.Options, modify func(*config.Config), beforeRun func(*hub.Hub)) *apiHub {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 10 * time.Second
	cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
	cfg.Storage.DataDir = opts.DataDir
	cfg.Encryption.Key = testKEK(opts)
	cfg.Storage.SQLiteSynchronous = "normal"
	cfg.Processor.PollInterval = 20 * time.Millisecond
	if modify != nil {
		modify(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(apiLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := hub.New(t.Context(), cfg, hub.Options{Version: "test", Logger: logger})
	if err != nil {
		t.Fatalf("building hub: %v", err)
	}
	key, _, err := h.Keys.Create(t.Context(), "test", []apikey.Scope{apikey.Admin})
	if err != nil {
		h.Close()
		t.Fatalf("creating admin key: %v", err)
	}
	if beforeRun != nil {
		beforeRun(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("running hub: %v", err)
		}
	})
	a := &apiHub{hub: h, url: h.URL(), key: key}
	// Every answer of call must follow the published OpenAPI document.
	status, _, doc := a.call(t, http.MethodGet, "/v1/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: got %d %s", status, doc)
	}
	contracts.Store(h, newAPIContract(t, doc))
	t.Cleanup(func() { contracts.Delete(h) })
	return a
}

type apiLogWriter struct{ t *testing.T }

func (w apiLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// call sends one request with the hub's admin key and returns the status,
// headers and body of the answer.
func (a *apiHub) call(t *testing.T, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, a.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	if c, ok := contracts.Load(a.hub); ok {
		if err := c.(*apiContract).check(method, path, resp.StatusCode, resp.Header, out); err != nil {
			t.Error(err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// getJSON GETs path, wants 200 and decodes the body into v.
func (a *apiHub) getJSON(t *testing.T, path string, v any) http.Header {
	t.Helper()
	status, h, body := a.call(t, http.MethodGet, path, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: got %d %s, want 200", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decoding %s: %v", path, body, err)
	}
	return h
}

// wantProblem checks that an answer is an application/problem+json
// document with the given status and code, and returns it.
func wantProblem(t *testing.T, what string, status int, h http.Header, body []byte, wantStatus int, wantCode problem.Code) *problem.Details {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: got status %d %s, want %d", what, status, body, wantStatus)
	}
	if ct := h.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("%s: got Content-Type %q, want %q", what, ct, problem.ContentType)
	}
	var p problem.Details
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: decoding problem %s: %v", what, body, err)
	}
	if p.Status != wantStatus || p.Code != wantCode {
		t.Errorf("%s: got problem status %d code %q, want %d %q", what, p.Status, p.Code, wantStatus, wantCode)
	}
	return &p
}

// cloudEvent returns a structured-mode CloudEvent from source tms-api-test.
func cloudEvent(id, typ, subject, data string) []byte {
	return []byte(fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms-api-test","type":%q,"subject":%q,"time":"2026-11-26T08:00:00Z","datacontenttype":"application/json","data":%s}`,
		id, typ, subject, data))
}

// apiPlannedData is the data of a valid shipment.planned event.
const apiPlannedData = `{"customer":{"ref":"odoo:res.partner/7","name":"Acme Retail"},"origin":{"name":"WH Rotterdam","country":"NL"},"destination":{"name":"Acme DC","country":"DE"},"lines":[{"line_id":"1","sku":"PAL-EUR","quantity":{"value":"12","unit":"C62"}}]}`

// refPath is the path of a shipment reference, with the slashes of
// external ids escaped.
func refPath(ref string) string {
	return "/v1/shipments/" + strings.ReplaceAll(ref, "/", "%2F")
}
