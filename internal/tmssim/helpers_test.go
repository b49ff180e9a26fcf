package tmssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/tmssim"
)

// testKey is the API key the recording intake expects.
const testKey = "wb_test_events_key"

// intakeAnswer is a programmed answer of the recording intake.
type intakeAnswer struct {
	status     int
	retryAfter string
	// acceptThenDrop stores the event, then closes the connection without
	// answering.
	acceptThenDrop bool
}

// intake is a recording Waybill intake on loopback: it parses each event
// as Waybill's intake does (intake.Parse: envelope and data schema),
// deduplicates on (source, id), and answers 202, 200 for a repeat, 409 for
// a conflicting repeat, 422 for an invalid event and 401 for a wrong key.
// Programmed answers take precedence, one per request.
type receiver struct {
	srv       *httptest.Server
	validator *event.Validator

	mu       sync.Mutex
	answers  []intakeAnswer
	hashes   map[string]string
	accepted []*intake.Event
	requests int
	arrivals []time.Time
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	v, err := event.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	in := &receiver{validator: v, hashes: map[string]string{}}
	in.srv = httptest.NewServer(http.HandlerFunc(in.serveHTTP))
	t.Cleanup(in.srv.Close)
	return in
}

func (in *receiver) url() string { return in.srv.URL }

// program queues answers for the next requests.
func (in *receiver) program(answers ...intakeAnswer) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.answers = append(in.answers, answers...)
}

// events returns the accepted events, in acceptance order.
func (in *receiver) events() []*intake.Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*intake.Event(nil), in.accepted...)
}

func (in *receiver) stats() (requests int, arrivals []time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests, append([]time.Time(nil), in.arrivals...)
}

func (in *receiver) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	in.mu.Lock()
	in.requests++
	in.arrivals = append(in.arrivals, time.Now())
	var answer *intakeAnswer
	if len(in.answers) > 0 {
		answer = &in.answers[0]
		in.answers = in.answers[1:]
	}
	in.mu.Unlock()

	if answer != nil && !answer.acceptThenDrop {
		if answer.retryAfter != "" {
			w.Header().Set("Retry-After", answer.retryAfter)
		}
		http.Error(w, `{"code":"programmed"}`, answer.status)
		return
	}
	status, msg := in.accept(r, body)
	if answer != nil && answer.acceptThenDrop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

func (in *receiver) accept(r *http.Request, body []byte) (int, string) {
	if r.URL.Path != "/v1/events" || r.Method != http.MethodPost {
		return http.StatusNotFound, `{"code":"not_found"}`
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		return http.StatusUnauthorized, `{"code":"unauthorized"}`
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
		return http.StatusUnsupportedMediaType, `{"code":"unsupported_media_type"}`
	}
	ev, err := intake.Parse(body, in.validator, intake.Hints{})
	if err != nil {
		msg, _ := json.Marshal(map[string]string{"code": "invalid_event", "detail": err.Error()})
		return http.StatusUnprocessableEntity, string(msg)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	key := ev.Source + "\x00" + ev.SourceID
	if h, ok := in.hashes[key]; ok {
		if h != ev.Hash {
			return http.StatusConflict, `{"code":"idempotency_conflict"}`
		}
		return http.StatusOK, `{"duplicate":true}`
	}
	in.hashes[key] = ev.Hash
	in.accepted = append(in.accepted, ev)
	return http.StatusAccepted, `{"event_id":"` + ev.ID + `"}`
}

// testLogger sends the simulator's logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startSim starts a simulator sending to in, closed when the test ends.
func startSim(t *testing.T, in *receiver, opts tmssim.Options) *tmssim.Server {
	t.Helper()
	opts.Waybill = in.url()
	if opts.Key == "" {
		opts.Key = testKey
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	srv, err := tmssim.Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// assignments records what a connector's OnAssigned received.
type assignments struct {
	mu  sync.Mutex
	got []tms.Assignment
}

func (a *assignments) record(_ context.Context, _ *connector.Action, as tms.Assignment) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, as)
	return nil
}

func (a *assignments) all() []tms.Assignment {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]tms.Assignment(nil), a.got...)
}

// newConnector returns a tms connector posting to srv, closed when the
// test ends.
func newConnector(t *testing.T, srv *tmssim.Server, timeout time.Duration, opts *tms.Options) *tms.Connector {
	t.Helper()
	c, err := tms.New(tms.Config{URL: srv.DispatchURL(), Timeout: timeout}, opts)
	if err != nil {
		t.Fatalf("tms.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Times of the shipment's own events, before the simulator's.
var (
	plannedAt  = time.Date(2025, 11, 10, 16, 40, 31, 0, time.FixedZone("", 3600))
	reservedAt = plannedAt.Add(2 * time.Minute)
)

// plannedData is a realistic shipment.planned: two lines, one tracked by
// lot, locations with addresses, coordinates and time zones.
const plannedData = `{
  "order": "odoo:S00042",
  "customer": {"ref": "odoo:res.partner/3141", "name": "Brouwer Horeca B.V."},
  "carrier": {"scac": "VDBT", "name": "Van den Berg Transport"},
  "origin": {"ref": "odoo:stock.warehouse/1", "name": "Acme DC Rotterdam", "address_lines": ["Waalhaven Oostzijde 1"],
             "city": "Rotterdam", "postal_code": "3089 JH", "country": "NL", "unlocode": "NLRTM",
             "lat": 51.8968, "lon": 4.4328, "timezone": "Europe/Amsterdam"},
  "destination": {"ref": "odoo:res.partner/3142", "name": "Brouwer Horeca B.V., Utrecht", "address_lines": ["Atoomweg 350"],
                  "city": "Utrecht", "postal_code": "3542 AB", "country": "NL", "lat": 52.1027, "lon": 5.0724,
                  "timezone": "Europe/Amsterdam"},
  "lines": [
    {"line_id": "5571", "sku": "CHR-ALU-STACK-BLK", "description": "Aluminium stacking chair, black",
     "quantity": {"value": "120", "unit": "C62"}, "weight": {"value": "660", "unit": "KGM"}},
    {"line_id": "5572", "sku": "TBL-BISTRO-70", "description": "Bistro table, 70 cm, oak top",
     "quantity": {"value": "30", "unit": "C62"}, "weight": {"value": "450", "unit": "KGM"}},
    {"line_id": "5573", "sku": "OIL-TEAK-5L", "description": "Teak oil",
     "quantity": {"value": "12.5", "unit": "LTR"}}
  ],
  "weight": {"value": "1180", "unit": "KGM"},
  "handling_units": {"value": "6", "unit": "XPX"},
  "pickup_window": {"start": "2025-11-12T08:00:00+01:00", "end": "2025-11-12T12:00:00+01:00"},
  "delivery_window": {"start": "2025-11-12T13:00:00+01:00", "end": "2025-11-12T17:00:00+01:00"},
  "references": {"bol": "BOL-RTM-2025-004411", "po": "PO-88213"}
}`

const reservedData = `{"lines": [
  {"line_id": "5571", "quantity": {"value": "120", "unit": "C62"},
   "lots": [{"lot": "LOT-2025-0917", "quantity": {"value": "96", "unit": "C62"}},
            {"lot": "LOT-2025-1004", "quantity": {"value": "24", "unit": "C62"}}]},
  {"line_id": "5572", "quantity": {"value": "30", "unit": "C62"}},
  {"line_id": "5573", "quantity": {"value": "12.5", "unit": "LTR"}}
]}`

// released returns a shipment taken through Waybill's own state machine
// from planned to released, as the processor would hold it when it
// enqueues dispatch.release.
func released(t *testing.T, id string) *shipment.Shipment {
	t.Helper()
	s, res := shipment.New(id, shipment.Input{EventID: id + "-planned", Type: event.ShipmentPlanned, Time: plannedAt, Data: json.RawMessage(plannedData)})
	if res.Outcome != shipment.OutcomeApplied {
		t.Fatalf("shipment.New: %+v", res)
	}
	res = s.Apply(shipment.Input{EventID: id + "-reserved", Type: event.InventoryReserved, Time: reservedAt, Data: json.RawMessage(reservedData)},
		shipment.Policy{AutoRelease: true})
	if res.Outcome != shipment.OutcomeApplied || s.State != shipment.Released {
		t.Fatalf("reserving: got %+v in state %s, want applied and released", res, s.State)
	}
	return s
}

// releaseAction returns the dispatch.release action of s with key.
func releaseAction(t *testing.T, s *shipment.Shipment, key string) *connector.Action {
	t.Helper()
	payload, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encoding shipment: %v", err)
	}
	return &connector.Action{
		Kind:           shipment.ActionDispatchRelease,
		ShipmentID:     s.ID,
		EventID:        s.ID + "-reserved",
		CorrelationID:  "8f14e45f-ceea-467f-a0e6-a1c2b9d3e7f0",
		IdempotencyKey: key,
		Attempt:        1,
		Payload:        payload,
	}
}

// waitSent polls until srv has ended sending at least n events, and
// returns them.
func waitSent(t *testing.T, srv *tmssim.Server, n int) []tmssim.SentEvent {
	t.Helper()
	const wait = 15 * time.Second // generous: a loaded CI machine is slow
	deadline := time.Now().Add(wait)
	for {
		sent := srv.Sent()
		if len(sent) >= n {
			return sent
		}
		if time.Now().After(deadline) {
			var ended []string
			for _, e := range sent {
				ended = append(ended, fmt.Sprintf("%s (status %d, attempts %d, failed %t)", e.ID, e.Status, e.Attempts, e.Failed))
			}
			t.Fatalf("simulator ended %d events within %v, want %d: %v", len(sent), wait, n, ended)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// types returns the types of events, in order.
func types(events []tmssim.SentEvent) []event.Type {
	out := make([]event.Type, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// forDispatch returns the events of one dispatch, in order.
func forDispatch(events []tmssim.SentEvent, dispatchID string) []tmssim.SentEvent {
	var out []tmssim.SentEvent
	for _, e := range events {
		if e.DispatchID == dispatchID {
			out = append(out, e)
		}
	}
	return out
}

// isStatus reports whether err wraps a *tms.StatusError with code.
func isStatus(err error, code int) bool {
	var se *tms.StatusError
	return errors.As(err, &se) && se.StatusCode == code
}
