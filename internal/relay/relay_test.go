package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/relay"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// testSource is the CloudEvents source of the site's events.
const testSource = "site/ams-1/scanner"

// runningHub is a whole hub on a loopback port, stopped and started again
// on the same database and address.
type runningHub struct {
	t      *testing.T
	cfg    config.Config
	h      *hub.Hub
	cancel context.CancelFunc
	done   chan error
}

func startHub(t *testing.T, cfg config.Config) *runningHub {
	t.Helper()
	rh := &runningHub{t: t, cfg: cfg}
	rh.start()
	t.Cleanup(rh.stop)
	return rh
}

func (rh *runningHub) start() {
	rh.t.Helper()
	logger := slog.New(slog.NewTextHandler(testLog{rh.t, "hub"}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hub.New(rh.t.Context(), rh.cfg, hub.Options{Version: "test", Logger: logger})
	if err != nil {
		rh.t.Fatalf("starting hub: %v", err)
	}
	rh.cfg.Server.Addr = h.Addr() // the same address after a restart
	ctx, cancel := context.WithCancel(context.Background())
	rh.h, rh.cancel, rh.done = h, cancel, make(chan error, 1)
	go func() { rh.done <- h.Run(ctx) }()
}

func (rh *runningHub) stop() {
	if rh.cancel == nil {
		return
	}
	rh.cancel()
	if err := <-rh.done; err != nil {
		rh.t.Errorf("running hub: %v", err)
	}
	rh.cancel = nil
}

// runningRelay is a relay on a loopback port, with a key of its own for
// the test's clients.
type runningRelay struct {
	t      *testing.T
	opts   relay.Options
	r      *relay.Relay
	key    string
	cancel context.CancelFunc
	done   chan error
}

func startRelay(t *testing.T, opts relay.Options) *runningRelay {
	t.Helper()
	rr := &runningRelay{t: t, opts: opts}
	rr.start()
	t.Cleanup(rr.stop)
	return rr
}

func (rr *runningRelay) start() {
	rr.t.Helper()
	rr.opts.Logger = slog.New(slog.NewTextHandler(testLog{rr.t, "relay"}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := relay.New(rr.t.Context(), rr.opts)
	if err != nil {
		rr.t.Fatalf("starting relay: %v", err)
	}
	if rr.key == "" {
		if rr.key, _, err = r.Keys.Create(rr.t.Context(), "scanner", []apikey.Scope{apikey.EventsWrite}); err != nil {
			r.Close()
			rr.t.Fatalf("creating relay key: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr.r, rr.cancel, rr.done = r, cancel, make(chan error, 1)
	go func() { rr.done <- r.Run(ctx) }()
}

func (rr *runningRelay) stop() {
	if rr.cancel == nil {
		return
	}
	rr.cancel()
	if err := <-rr.done; err != nil {
		rr.t.Errorf("running relay: %v", err)
	}
	rr.cancel = nil
}

type testLog struct {
	t    *testing.T
	name string
}

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(w.name + ": " + strings.TrimSpace(string(p)))
	return len(p), nil
}

// hubConfig is the configuration of a test hub on opts' database.
func hubConfig(opts sqldb.Options, kek config.Secret) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ShutdownTimeout = 10 * time.Second
	cfg.Storage.DatabaseURL = config.Secret(opts.DatabaseURL)
	cfg.Storage.DataDir = opts.DataDir
	cfg.Storage.SQLiteSynchronous = "normal"
	if opts.DatabaseURL != "" {
		cfg.Encryption.Key = kek
	}
	cfg.Processor.PollInterval = 20 * time.Millisecond
	return cfg
}

// relayDatabase is a fresh database for a relay on the engine of opts.
func relayDatabase(t *testing.T, opts sqldb.Options) sqldb.Options {
	if opts.DatabaseURL != "" {
		return sqldb.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(t), MaxConns: 4}
	}
	return sqldb.Options{DataDir: t.TempDir(), Synchronous: "normal"}
}

// hubKeyFile creates a hub key with scope events:write and writes it to a
// file for the relay.
func hubKeyFile(t *testing.T, h *hub.Hub) string {
	t.Helper()
	key, _, err := h.Keys.Create(t.Context(), "site-relay", []apikey.Scope{apikey.EventsWrite})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hub.key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// eventBody is the k-th event about subject: a shipment.planned first,
// inventory.reserved after it.
func eventBody(t *testing.T, subject string, k int, at time.Time) []byte {
	t.Helper()
	q, err := quantity.Parse("3", "C62")
	if err != nil {
		t.Fatal(err)
	}
	ce := event.CloudEvent{ID: fmt.Sprintf("%s-%d", subject, k), Source: testSource, Subject: subject, Time: at}
	if k == 0 {
		ce.Type, ce.Data = event.ShipmentPlanned, &event.ShipmentPlannedData{
			Customer:    &event.Party{Ref: "site:cust-1", Name: "Acme Retail"},
			Origin:      &event.Location{Name: "WH Amsterdam", Country: "NL"},
			Destination: &event.Location{Name: "DC Antwerp", Country: "BE"},
			Lines:       []event.PlannedLine{{LineID: "1", SKU: "PAL-EUR-01", Quantity: q}},
		}
	} else {
		ce.Type, ce.Data = event.InventoryReserved, &event.InventoryReservedData{Lines: []event.ReservedLine{{LineID: "1", Quantity: q}}}
	}
	b, err := ce.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends bodies to the relay, as one event or as a batch, and fails
// the test unless every event is accepted.
func post(t *testing.T, client *http.Client, rr *runningRelay, bodies [][]byte) {
	ct, body := intake.ContentTypeCloudEvent, bodies[0]
	if len(bodies) > 1 {
		ct, body = intake.ContentTypeBatch, append(append([]byte("["), bytes.Join(bodies, []byte(","))...), ']')
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rr.r.URL()+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+rr.key)
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("posting to the relay: %v", err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if len(bodies) == 1 {
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("posting one event: got %d %s, want 202", resp.StatusCode, raw)
		}
		return
	}
	var rec intake.BatchReceipt
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &rec) != nil || rec.Accepted != len(bodies) {
		t.Errorf("posting %d events: got %d %s, want all accepted", len(bodies), resp.StatusCode, raw)
	}
}

// load posts rounds events about each of its subjects from clients
// goroutines, each with subjects of its own that it posts in order:
// batches from even clients, one event per request from odd ones. sent
// counts the events accepted.
func load(t *testing.T, rr *runningRelay, clients, subjects, from, rounds int, sent *atomic.Int64) {
	t.Helper()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for k := from; k < from+rounds; k++ {
				var bodies [][]byte
				for s := range subjects {
					bodies = append(bodies, eventBody(t, fmt.Sprintf("SHP-%d-%d", c, s), k, now.Add(time.Duration(k)*time.Millisecond)))
				}
				if c%2 == 0 {
					post(t, client, rr, bodies)
				} else {
					for _, b := range bodies {
						post(t, client, rr, [][]byte{b})
					}
				}
				sent.Add(int64(len(bodies)))
			}
		})
	}
	wg.Wait()
}

// waitFor polls cond until it holds, failing the test if it does not
// within a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func relayStatus(t *testing.T, rr *runningRelay) *relay.Status {
	t.Helper()
	st, err := rr.r.Status(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hubEvents lists the hub's events of the test source in the order the
// hub accepted them.
func hubEvents(t *testing.T, h *hub.Hub) []*intake.Status {
	t.Helper()
	var all []*intake.Status
	cursor := ""
	for {
		page, next, err := h.Events.List(t.Context(), intake.ListParams{Source: testSource, Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Reverse(all)
	return all
}

// TestRelayOutage posts events to a relay under load, stops the hub for a
// while as they keep coming (and restarts the relay meanwhile, with a
// backlog), starts the hub again on the same database, and checks that
// the hub holds every event exactly once, in order per subject.
func TestRelayOutage(t *testing.T) {
	kek := config.Secret(seal.FormatKEK(seal.NewKey()))
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		rh := startHub(t, hubConfig(opts, kek))
		rr := startRelay(t, relay.Options{
			Database: relayDatabase(t, opts), Listen: "127.0.0.1:0",
			Forward: relay.ForwarderOptions{
				Upstream: rh.h.URL(), KeyFunc: relay.KeyFile(hubKeyFile(t, rh.h)), Batch: 50,
				MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, ProbeInterval: 50 * time.Millisecond,
			},
		})
		const clients, subjects = 6, 4
		var sent atomic.Int64

		// Events flow while the hub goes away.
		loaded := make(chan struct{})
		go func() {
			defer close(loaded)
			load(t, rr, clients, subjects, 0, 12, &sent)
		}()
		waitFor(t, "a third of the first events are accepted", func() bool { return sent.Load() >= clients*subjects*4 })
		rh.stop()
		<-loaded
		waitFor(t, "the relay notices the hub is gone", func() bool {
			st := relayStatus(t, rr)
			return st.State == relay.StateRetrying && !st.UpstreamUp && st.Backlog > 0
		})

		// The relay restarts with a backlog, and takes more while the hub
		// is still away.
		before := relayStatus(t, rr)
		rr.stop()
		rr.start()
		if st := relayStatus(t, rr); st.Backlog != before.Backlog || st.Forwarded != before.Forwarded {
			t.Errorf("after a restart: got backlog %d, forwarded %d; want %d, %d", st.Backlog, st.Forwarded, before.Backlog, before.Forwarded)
		}
		load(t, rr, clients, subjects, 12, 6, &sent)
		if st := relayStatus(t, rr); st.Backlog+st.Forwarded != sent.Load() {
			t.Errorf("while the hub is away: got backlog %d + forwarded %d, want %d", st.Backlog, st.Forwarded, sent.Load())
		}

		// The hub comes back on the same database; more events come.
		rh.start()
		load(t, rr, clients, subjects, 18, 6, &sent)
		total := sent.Load()
		waitFor(t, "the relay has forwarded everything", func() bool {
			st := relayStatus(t, rr)
			return st.Backlog == 0 && st.Forwarded == total
		})
		st := relayStatus(t, rr)
		if st.Rejected != 0 || !st.UpstreamUp || st.State != relay.StateIdle && st.State != relay.StateForwarding {
			t.Errorf("got rejected %d, upstream up %v, state %s; want 0, true, idle or forwarding (last error %q)", st.Rejected, st.UpstreamUp, st.State, st.LastError)
		}

		got := hubEvents(t, rh.h)
		if int64(len(got)) != total {
			t.Fatalf("the hub holds %d events of %s, want %d", len(got), testSource, total)
		}
		seen := map[string]bool{}
		last := map[string]int{}
		for _, e := range got {
			if seen[e.SourceID] {
				t.Errorf("event %s is in the hub twice", e.SourceID)
			}
			seen[e.SourceID] = true
			var k int
			if _, err := fmt.Sscanf(strings.TrimPrefix(e.SourceID, e.Subject+"-"), "%d", &k); err != nil {
				t.Fatalf("event id %s: %v", e.SourceID, err)
			}
			if prev, ok := last[e.Subject]; ok && k != prev+1 || !ok && k != 0 {
				t.Errorf("subject %s: event %d follows %d in the hub (seen before: %v)", e.Subject, k, prev, ok)
			}
			last[e.Subject] = k
		}
		// The hub keeps the correlation ids the relay gave.
		for _, e := range got[:5] {
			local, err := rr.r.Events.GetBySource(t.Context(), e.Source, e.SourceID)
			if err != nil {
				t.Fatal(err)
			}
			if local.CorrelationID != e.CorrelationID {
				t.Errorf("event %s: the hub's correlation id is %s, the relay's %s", e.SourceID, e.CorrelationID, local.CorrelationID)
			}
		}
		for c := range clients {
			for s := range subjects {
				if sub := fmt.Sprintf("SHP-%d-%d", c, s); last[sub] != 23 {
					t.Errorf("subject %s: the hub's last event is %d, want 23", sub, last[sub])
				}
			}
		}
	})
}
