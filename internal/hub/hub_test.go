package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// receiver is a loopback webhook endpoint that records what it gets.
type receiver struct {
	mu   sync.Mutex
	got  []delivery
	fail map[string]int // action kind → status to answer
	srv  *httptest.Server
}

type delivery struct {
	Kind, Key, Correlation string
	Body                   map[string]any
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{fail: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(req.Body).Decode(&body)
		kind := req.Header.Get("Waybill-Action")
		r.mu.Lock()
		r.got = append(r.got, delivery{Kind: kind, Key: req.Header.Get("Idempotency-Key"), Correlation: req.Header.Get("X-Correlation-ID"), Body: body})
		status := r.fail[kind]
		r.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

type bundle struct {
	hub      *hub.Hub
	url      string
	key      string
	receiver *receiver
}

// setup runs a whole hub on a fresh database, on a loopback port, with the
// webhook connector pointed at a loopback receiver.
func setup(t testing.TB, opts sqldb.Options, modify func(*config.Config)) *bundle {
	t.Helper()
	return setupOpts(t, opts, modify, hub.Options{})
}

// setupOpts is setup with hub options; its logger writes to the test log
// unless one is given.
func setupOpts(t testing.TB, opts sqldb.Options, modify func(*config.Config), hopts hub.Options) *bundle {
	t.Helper()
	rcv := newReceiver(t)
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 10 * time.Second
	cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
	cfg.Storage.DataDir = opts.DataDir
	cfg.Encryption.Key = testKEK(opts)
	cfg.Storage.SQLiteSynchronous = "normal"
	cfg.Connectors.Webhook.URL = rcv.srv.URL
	cfg.Connectors.Webhook.Timeout = 5 * time.Second
	cfg.Jobs.RetryBase = 10 * time.Millisecond
	cfg.Jobs.RetryMax = 50 * time.Millisecond
	cfg.Jobs.MaxAttempts = 3
	cfg.Processor.PollInterval = 20 * time.Millisecond
	if modify != nil {
		modify(&cfg)
	}
	if hopts.Logger == nil {
		hopts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	hopts.Version = "test"
	h, err := hub.New(t.Context(), cfg, hopts)
	if err != nil {
		t.Fatalf("building hub: %v", err)
	}
	key, _, err := h.Keys.Create(t.Context(), "test", []apikey.Scope{apikey.Admin})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub run: %v", err)
		}
	})
	// The hub applies events once it holds the lease and the processing
	// partitions (at once on SQLite, within moments on PostgreSQL): tests
	// that follow an event from intake expect that.
	poll.Until(t, "the hub to hold the lease and every partition", h.Alone)
	return &bundle{hub: h, url: h.URL(), key: key, receiver: rcv}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (b *bundle) do(t testing.TB, method, path, contentType string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

func ce(id, typ, subject, at string, data string) []byte {
	return []byte(fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms-test","type":%q,"subject":%q,"time":%q,"datacontenttype":"application/json","data":%s}`, id, typ, subject, at, data))
}

const plannedData = `{"customer":{"ref":"odoo:res.partner/7","name":"Acme Retail"},"origin":{"name":"WH Rotterdam","country":"NL"},"destination":{"name":"Acme DC","country":"DE"},"lines":[{"line_id":"1","sku":"PAL-EUR","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","sku":"FLOUR","quantity":{"value":"40","unit":"KGM"}}]}`

func getShipment(t testing.TB, b *bundle, ref string) map[string]any {
	t.Helper()
	status, body, _ := b.do(t, http.MethodGet, "/v1/shipments/"+strings.ReplaceAll(ref, "/", "%2F"), "", nil)
	if status != http.StatusOK {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLifecycleEndToEnd(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setup(t, opts, nil)
		subject := "odoo:WH/OUT/00012"
		send := func(id, typ, at, data string, want int) map[string]any {
			t.Helper()
			status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(id, typ, subject, at, data))
			if status != want {
				t.Fatalf("%s: got status %d, want %d: %s", typ, status, want, body)
			}
			var r map[string]any
			_ = json.Unmarshal(body, &r)
			return r
		}
		first := send("e1", "shipment.planned", "2026-11-26T08:00:00+01:00", plannedData, http.StatusAccepted)
		if first["duplicate"] != false || first["event_id"] == "" {
			t.Fatalf("receipt: %v", first)
		}
		// The same event again is a duplicate with the original receipt.
		again := send("e1", "shipment.planned", "2026-11-26T08:00:00+01:00", plannedData, http.StatusOK)
		if again["event_id"] != first["event_id"] || again["duplicate"] != true {
			t.Fatalf("duplicate receipt %v, want the original %v", again, first)
		}
		// The same id with another payload is a conflict.
		send("e1", "shipment.planned", "2026-11-26T09:00:00+01:00", plannedData, http.StatusConflict)

		// Loading before reservation is rejected by the gate, and visible.
		send("e2", "shipment.loaded", "2026-11-26T08:05:00+01:00", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}`, http.StatusAccepted)
		send("e3", "inventory.reserved", "2026-11-26T08:10:00+01:00", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40000","unit":"GRM"}}]}`, http.StatusAccepted)
		poll.Until(t, "release", func() bool {
			sh := getShipment(t, b, subject)
			return sh != nil && sh["state"] == "released"
		})
		send("e4", "dispatch.assigned", "2026-11-26T08:20:00+01:00", `{"vehicle":{"plate":"BX-12-CD"},"route_id":"R-7"}`, http.StatusAccepted)
		send("e5", "shipment.loaded", "2026-11-26T09:00:00+01:00", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`, http.StatusAccepted)
		send("e6", "shipment.departed", "2026-11-26T09:30:00+01:00", `{}`, http.StatusAccepted)
		send("e7", "shipment.delivered", "2026-11-26T14:00:00+01:00", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00+01:00","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}}`, http.StatusAccepted)
		// A milestone that arrives late takes its place but does not move the state back.
		send("e8", "shipment.arrived", "2026-11-26T13:50:00+01:00", `{}`, http.StatusAccepted)

		var sh map[string]any
		poll.Until(t, "delivery processed", func() bool {
			sh = getShipment(t, b, subject)
			tl, _ := sh["timeline"].([]any)
			return len(tl) == 8
		})
		// The shipment is read before its timeline: read it again now that
		// the timeline shows every event.
		sh = getShipment(t, b, subject)
		if sh["state"] != "delivered" || sh["billable"] != true {
			t.Errorf("got state %v billable %v, want delivered and billable", sh["state"], sh["billable"])
		}
		tl := sh["timeline"].([]any)
		states := map[string]string{}
		var order []string
		for _, e := range tl {
			m := e.(map[string]any)
			order = append(order, m["type"].(string))
			states[m["source_event_id"].(string)] = m["state"].(string) + ":" + fmt.Sprint(m["reason"])
			if m["correlation_id"] == "" {
				t.Errorf("timeline entry without correlation id: %v", m)
			}
		}
		if !strings.HasPrefix(states["e2"], "rejected:") {
			t.Errorf("early load: got %s, want rejected", states["e2"])
		}
		if !strings.Contains(states["e8"], "late") {
			t.Errorf("late arrival: got %s, want accepted as late", states["e8"])
		}
		if order[len(order)-2] != "shipment.arrived" || order[len(order)-1] != "shipment.delivered" {
			t.Errorf("timeline not sorted by time: %v", order)
		}

		// Each outbound action reached the receiver with a stable key.
		poll.Until(t, "the three workflow deliveries", func() bool {
			seen := map[string]bool{}
			for _, d := range b.receiver.deliveries() {
				seen[d.Kind] = true
			}
			return seen["dispatch.release"] && seen["picking.validate"] && seen["invoice.prepare"]
		})
		kinds := map[string]string{}
		for _, d := range b.receiver.deliveries() {
			if d.Kind == "milestone.sync" {
				continue // one job per milestone, each with its own key
			}
			if prev, ok := kinds[d.Kind]; ok && prev != d.Key {
				t.Errorf("%s delivered with two keys %s and %s", d.Kind, prev, d.Key)
			}
			kinds[d.Kind] = d.Key
			if d.Correlation == "" || d.Key == "" {
				t.Errorf("delivery %s without key or correlation id", d.Kind)
			}
		}
		for _, k := range []string{"dispatch.release", "picking.validate", "invoice.prepare"} {
			if _, ok := kinds[k]; !ok {
				t.Errorf("no %s delivery; got %v", k, kinds)
			}
		}
	})
}

func TestAuthAndDeadLetterReplay(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setup(t, opts, nil)

		// No key, a bad key, and a key without the scope.
		req, _ := http.NewRequest(http.MethodGet, b.url+"/v1/shipments", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("no key: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		readOnly, _, err := b.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		admin := b.key
		b.key = readOnly
		if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce("x", "shipment.cancelled", "a:1", "2026-11-26T08:00:00Z", `{}`)); status != 403 {
			t.Errorf("read-only key posting an event: got %d %s, want 403", status, body)
		}
		b.key = "wb_000000000000_" + strings.Repeat("A", 43)
		if status, _, _ := b.do(t, http.MethodGet, "/v1/shipments", "", nil); status != 401 {
			t.Errorf("unknown key: got %d, want 401", status)
		}
		b.key = admin
		if status, _, _ := b.do(t, http.MethodGet, "/v1/openapi.json", "", nil); status != 200 {
			t.Errorf("openapi: got %d", status)
		}

		// The receiver refuses dispatch releases: a permanent error, so a dead letter.
		b.receiver.mu.Lock()
		b.receiver.fail["dispatch.release"] = http.StatusBadRequest
		b.receiver.mu.Unlock()
		send := func(id, typ, data string) {
			t.Helper()
			if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(id, typ, "odoo:WH/OUT/7", "2026-11-26T08:00:00Z", data)); status != 202 {
				t.Fatalf("%s: got %d %s", typ, status, body)
			}
		}
		send("p", "shipment.planned", plannedData)
		send("r", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`)
		var list struct {
			DeadLetters []struct {
				ID string `json:"id"`
			} `json:"dead_letters"`
		}
		var raw []byte
		poll.Until(t, "a dead letter", func() bool {
			_, raw, _ = b.do(t, http.MethodGet, "/v1/dead-letters", "", nil)
			_ = json.Unmarshal(raw, &list)
			return len(list.DeadLetters) == 1
		})
		b.receiver.mu.Lock()
		delete(b.receiver.fail, "dispatch.release")
		b.receiver.mu.Unlock()
		status, body, _ := b.do(t, http.MethodPost, "/v1/dead-letters/"+list.DeadLetters[0].ID+"/replay", "", nil)
		if status != http.StatusAccepted {
			t.Fatalf("replay: got %d %s", status, body)
		}
		poll.Until(t, "the replayed delivery", func() bool {
			n := 0
			for _, d := range b.receiver.deliveries() {
				if d.Kind == "dispatch.release" {
					n++
				}
			}
			return n == 2
		})
		ds := b.receiver.deliveries()
		var keys []string
		for _, d := range ds {
			if d.Kind == "dispatch.release" {
				keys = append(keys, d.Key)
			}
		}
		if len(keys) != 2 || keys[0] != keys[1] {
			t.Errorf("replay used another idempotency key: %v", keys)
		}
		_, raw, _ = b.do(t, http.MethodGet, "/v1/dead-letters", "", nil)
		if !strings.Contains(string(raw), `"actor":"key:test"`) {
			t.Errorf("replay not recorded with its actor: %s", raw)
		}
		if got := auditOf(t, b.hub, audit.ActionDeadLetterReplayed); len(got) != 1 || got[0].Subject != list.DeadLetters[0].ID || got[0].Actor != "key:test" {
			t.Errorf("dead_letter.replayed audit entries: %+v", got)
		}
	})
}
