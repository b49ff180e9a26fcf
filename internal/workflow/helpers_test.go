package workflow_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

// t0 is when the test shipments are planned.
var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

// Event data that passes the JSON Schemas, after internal/shipment's
// tests.
const (
	reserveFull    = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	loadFull       = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	loadTen        = `{"lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	deliveredPOD   = `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}}`
	deliverOver    = `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}}`
	shortageLine1  = `{"lines":[{"line_id":"1","required":{"value":"12","unit":"C62"},"available":{"value":"5","unit":"C62"}}],"reason":"quarantined"}`
	noData         = `{}`
	orderConfirmed = `{"customer":{"name":"Acme"},"lines":[{"line_id":"9001","sku":"A","quantity":{"value":"12","unit":"C62"}}],"currency":"EUR"}`
)

// planned returns shipment.planned data for customer, with extra members
// (such as references or a carrier) when given.
func planned(customer, extra string) string {
	s := `{"customer":{"name":"` + customer + `"},"origin":{"name":"WH"},"destination":{"name":"DC"},` +
		`"lines":[{"line_id":"1","sku":"A","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"40","unit":"KGM"}}]`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// validator is compiled once: the schemas take a while to compile and the
// validator is safe for concurrent use.
var validator = sync.OnceValues(event.NewValidator)

// recorder is the JobInserter of the tests: it records the actions it is
// given and writes nothing. With fail set it records nothing and returns
// fail, as a queue that cannot take the jobs would.
type recorder struct {
	mu      sync.Mutex
	fail    error
	failed  chan struct{} // told (without blocking) of every failed call
	actions []connector.Action
}

func newRecorder() *recorder { return &recorder{failed: make(chan struct{}, 1)} }

func (r *recorder) InsertTx(_ context.Context, tx *sql.Tx, actions []connector.Action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tx == nil {
		return errors.New("actions enqueued outside a transaction")
	}
	if r.fail != nil {
		select {
		case r.failed <- struct{}{}:
		default:
		}
		return r.fail
	}
	r.actions = append(r.actions, actions...)
	return nil
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// take returns the actions recorded since the last call.
func (r *recorder) take() []connector.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.actions
	r.actions = nil
	return out
}

// bundle is one test's processor with everything around it.
type bundle struct {
	db     *sqldb.DB
	events *intake.Store
	store  *workflow.Store
	jobs   *recorder
	reg    *prometheus.Registry
	proc   *workflow.Processor
	parser *intake.Parser
	// sent maps the source id of each event sent to what intake made of
	// it (its canonical id and correlation id).
	sent map[string]intake.Result
}

// setup builds a processor on db with opts, a recording JobInserter, a
// fresh metrics registry and a logger that writes to t.Log.
func setup(t testing.TB, db *sqldb.DB, opts workflow.Options) *bundle {
	t.Helper()
	v, err := validator()
	if err != nil {
		t.Fatalf("compiling the event schemas: %v", err)
	}
	b := &bundle{
		db:     db,
		events: intake.NewStore(db, opts.Backlog),
		store:  workflow.NewStore(db),
		jobs:   newRecorder(),
		reg:    prometheus.NewRegistry(),
		parser: &intake.Parser{Validator: v, Internal: true},
		sent:   map[string]intake.Result{},
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	opts.Registerer = b.reg
	b.proc = workflow.NewProcessor(db, b.events, b.store, b.jobs, &opts)
	return b
}

// ev is one CloudEvent to send: id is its source id, at the minutes after
// t0 it happened.
type ev struct {
	id, typ, subject string
	at               int
	data             string
	// corr is its correlation id; intake makes one up when empty.
	corr string
}

// raw renders e as a structured CloudEvent.
func (e ev) raw(t testing.TB) []byte {
	t.Helper()
	m := map[string]any{
		"specversion": "1.0", "id": e.id, "source": "/test", "type": e.typ, "subject": e.subject,
		"time":            t0.Add(time.Duration(e.at) * time.Minute).Format(time.RFC3339),
		"datacontenttype": "application/json", "data": json.RawMessage(e.data),
	}
	if e.corr != "" {
		m["correlationid"] = e.corr
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// send parses evs as intake does and appends them to the events table.
func (b *bundle) send(t *testing.T, evs ...ev) {
	t.Helper()
	raws := make([][]byte, len(evs))
	for i, e := range evs {
		raws[i] = e.raw(t)
	}
	b.sendRaw(t, raws...)
}

// sendRaw parses raw CloudEvents and appends them to the events table.
func (b *bundle) sendRaw(t *testing.T, raws ...[]byte) {
	t.Helper()
	parsed := make([]*intake.Event, len(raws))
	for i, raw := range raws {
		p, err := b.parser.Parse(raw, intake.Hints{})
		if err != nil {
			t.Fatalf("parsing event %d (%s): %v", i, raw, err)
		}
		parsed[i] = p
	}
	res, err := b.events.Append(t.Context(), parsed)
	if err != nil {
		t.Fatalf("appending events: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || r.Duplicate {
			t.Fatalf("appending event %s: %+v", parsed[i].SourceID, r)
		}
		b.sent[parsed[i].SourceID] = r
	}
}

// id is the canonical id intake gave the event sent with source id src.
func (b *bundle) id(t *testing.T, src string) string {
	t.Helper()
	r, ok := b.sent[src]
	if !ok {
		t.Fatalf("no event %s was sent", src)
	}
	return r.EventID
}

// process runs one batch and checks that it processed want events.
func (b *bundle) process(t *testing.T, want int) {
	t.Helper()
	n, err := b.proc.ProcessBatch(t.Context())
	if err != nil {
		t.Fatalf("processing a batch: %v", err)
	}
	if n != want {
		t.Fatalf("processed %d events, want %d", n, want)
	}
}

// status is what became of the event sent with source id src.
func (b *bundle) status(t *testing.T, src string) *intake.Status {
	t.Helper()
	st, err := b.events.Get(t.Context(), b.id(t, src))
	if err != nil {
		t.Fatalf("reading event %s: %v", src, err)
	}
	return st
}

// anyShipment tells wantStatus not to check the shipment of an event.
const anyShipment = "*"

// wantStatus checks the state, reason (a substring) and shipment of the
// events sent with the source ids given.
func (b *bundle) wantStatus(t *testing.T, state, reason, shipmentID string, srcs ...string) {
	t.Helper()
	for _, src := range srcs {
		st := b.status(t, src)
		if st.State != state || !strings.Contains(st.Reason, reason) || (reason == "" && st.Reason != "") || (shipmentID != anyShipment && st.ShipmentID != shipmentID) {
			t.Errorf("event %s: got state %q reason %q shipment %q, want %q reason containing %q shipment %q",
				src, st.State, st.Reason, st.ShipmentID, state, reason, shipmentID)
		}
		if st.State != intake.StatePending && st.ProcessedAt == nil {
			t.Errorf("event %s is %s but has no processing time", src, st.State)
		}
	}
}

// shipment returns the shipment ref names, failing the test if there is
// none.
func (b *bundle) shipment(t *testing.T, ref string) *shipment.Shipment {
	t.Helper()
	sh, err := b.store.Get(t.Context(), ref)
	if err != nil {
		t.Fatalf("getting shipment %s: %v", ref, err)
	}
	return sh
}

// wantShipment checks the state and version of the shipment ref names.
func (b *bundle) wantShipment(t *testing.T, ref string, state shipment.State, version int64) *shipment.Shipment {
	t.Helper()
	sh := b.shipment(t, ref)
	if sh.State != state || sh.Version != version {
		t.Errorf("shipment %s: got state %s version %d (blocked: %q), want %s version %d", ref, sh.State, sh.Version, sh.BlockedReason, state, version)
	}
	return sh
}

// act is an action without its payload, for comparing.
type act struct {
	Kind, ShipmentID, EventID, CorrelationID, IdempotencyKey string
	NotBefore                                                time.Time
}

func acts(actions []connector.Action) []act {
	var out []act
	if len(actions) > 0 {
		out = make([]act, len(actions))
	}
	for i, a := range actions {
		out[i] = act{a.Kind, a.ShipmentID, a.EventID, a.CorrelationID, a.IdempotencyKey, a.NotBefore}
	}
	return out
}

// wantAct is the action of kind that the event sent as src, about
// shipment id, should cause.
func (b *bundle) wantAct(t *testing.T, kind, id, src string, notBefore time.Time) act {
	t.Helper()
	r := b.sent[src]
	return act{Kind: kind, ShipmentID: id, EventID: r.EventID, CorrelationID: r.CorrelationID, IdempotencyKey: r.EventID + "/" + kind, NotBefore: notBefore}
}

// wantActions checks the actions recorded since the last check.
func (b *bundle) wantActions(t *testing.T, want ...act) []connector.Action {
	t.Helper()
	got := b.jobs.take()
	if diff := cmp.Diff(want, acts(got)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	return got
}

// snapshot decodes the shipment an action carries.
func snapshot(t *testing.T, a connector.Action) *shipment.Shipment {
	t.Helper()
	var sh shipment.Shipment
	if err := json.Unmarshal(a.Payload, &sh); err != nil {
		t.Fatalf("decoding the payload of %s: %v", a.IdempotencyKey, err)
	}
	return &sh
}

// jsonDiff compares a and b in their JSON form (quantities have no
// exported fields to compare).
func jsonDiff(t *testing.T, a, b any) string {
	t.Helper()
	ja, err := json.MarshalIndent(a, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(string(ja), string(jb))
}

func milestoneTypes(sh *shipment.Shipment) []string {
	out := make([]string, len(sh.Milestones))
	for i, m := range sh.Milestones {
		out[i] = m.Type
	}
	return out
}

// wantCounters checks the series of the counter (or the sample counts of
// the histogram) name, keyed by their label values (type, outcome, reason)
// joined by spaces.
func (b *bundle) wantCounters(t *testing.T, name string, want map[string]float64) {
	t.Helper()
	families, err := b.reg.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			byName := map[string]string{}
			for _, l := range m.GetLabel() {
				byName[l.GetName()] = l.GetValue()
			}
			var key []string
			for _, l := range []string{"type", "outcome", "reason"} {
				if v, ok := byName[l]; ok {
					key = append(key, v)
				}
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			got[strings.Join(key, " ")] = v
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
