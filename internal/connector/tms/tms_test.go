package tms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/shipment"
)

var update = flag.Bool("update", false, "rewrite testdata/dispatch.json from the connector's output")

// fixedNow is the clock of tests that need a deterministic time.
var fixedNow = time.Date(2025, 11, 11, 15, 20, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Exercise(t, connectortest.Harness{
		StartFunc: func(t *testing.T) (connector.Connector, connectortest.Target) {
			r := webhooktest.New(t)
			return newConnector(t, tms.Config{URL: r.URL() + "/dispatches", Secret: "s3cret"}, nil), r
		},
		ActionFunc: func(t *testing.T) *connector.Action { return releaseAction(t) },
	})
}

// newConnector builds a connector for cfg, with a 10s timeout unless cfg
// sets one, closed when the test ends.
func newConnector(t *testing.T, cfg tms.Config, opts *tms.Options) *tms.Connector {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := tms.New(cfg, opts)
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// request is one request a tmsServer read.
type request struct {
	header http.Header
	body   []byte
}

// tmsServer is a loopback TMS whose answer each test sets.
type tmsServer struct {
	srv *httptest.Server

	mu       sync.Mutex
	answer   http.HandlerFunc
	requests []request
}

// newTMS starts a tmsServer that answers with answer (nil: 201 and no
// body), closed when the test ends.
func newTMS(t *testing.T, answer http.HandlerFunc) *tmsServer {
	t.Helper()
	s := &tmsServer{answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, request{header: r.Header.Clone(), body: body})
		answer := s.answer
		s.mu.Unlock()
		if answer == nil {
			w.WriteHeader(http.StatusCreated)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *tmsServer) url() string { return s.srv.URL + "/dispatches" }

func (s *tmsServer) setAnswer(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = h
}

func (s *tmsServer) received() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

// reply answers status with a JSON body.
func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// releaseAction returns the dispatch.release action of the shipment in
// testdata/shipment.json.
func releaseAction(t *testing.T) *connector.Action {
	t.Helper()
	payload, err := os.ReadFile(filepath.Join("testdata", "shipment.json"))
	if err != nil {
		t.Fatalf("reading shipment: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, payload); err != nil {
		t.Fatalf("compacting shipment: %v", err)
	}
	return &connector.Action{
		Kind:           shipment.ActionDispatchRelease,
		ShipmentID:     "odoo:WH/OUT/00012",
		EventID:        "019a7a3d-0a22-7e19-9d04-6c7b8a9e0f03",
		CorrelationID:  "8f14e45f-ceea-467f-a0e6-a1c2b9d3e7f0",
		IdempotencyKey: "job-81:dispatch.release",
		Attempt:        1,
		Payload:        compact.Bytes(),
	}
}

func TestPayloadShape(t *testing.T) {
	t.Parallel()
	s := newTMS(t, nil)
	c := newConnector(t, tms.Config{URL: s.url()}, nil)
	if err := c.Deliver(t.Context(), releaseAction(t)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := s.received()
	if len(reqs) != 1 {
		t.Fatalf("TMS got %d requests, want 1", len(reqs))
	}
	golden := filepath.Join("testdata", "dispatch.json")
	if *update {
		var out bytes.Buffer
		if err := json.Indent(&out, reqs[0].body, "", "  "); err != nil {
			t.Fatalf("indenting body: %v", err)
		}
		if err := os.WriteFile(golden, append(out.Bytes(), '\n'), 0o644); err != nil {
			t.Fatalf("writing %s: %v", golden, err)
		}
	}
	wantRaw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s: %v", golden, err)
	}
	var got, want any
	if err := json.Unmarshal(reqs[0].body, &got); err != nil {
		t.Fatalf("decoding body %s: %v", reqs[0].body, err)
	}
	if err := json.Unmarshal(wantRaw, &want); err != nil {
		t.Fatalf("decoding %s: %v", golden, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dispatch payload mismatch (-want +got):\n%s", diff)
	}

	// The body decodes strictly into the documented type.
	dec := json.NewDecoder(bytes.NewReader(reqs[0].body))
	dec.DisallowUnknownFields()
	var d tms.Dispatch
	if err := dec.Decode(&d); err != nil {
		t.Errorf("decoding body into tms.Dispatch: %v", err)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	const secret = "whsec_tms"
	s := newTMS(t, nil)
	c := newConnector(t, tms.Config{URL: s.url(), Secret: secret, UserAgent: "waybill/1.4.0"},
		&tms.Options{NowFunc: func() time.Time { return fixedNow }})
	a := releaseAction(t)
	a.Attempt = 3
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	req := s.received()[0]
	got := map[string]string{}
	for _, name := range []string{"Content-Type", "Idempotency-Key", "X-Correlation-ID", "Waybill-Action", "Waybill-Attempt", "User-Agent"} {
		got[name] = req.header.Get(name)
	}
	want := map[string]string{
		"Content-Type":     "application/json",
		"Idempotency-Key":  "job-81:dispatch.release",
		"X-Correlation-ID": "8f14e45f-ceea-467f-a0e6-a1c2b9d3e7f0",
		"Waybill-Action":   "dispatch.release",
		"Waybill-Attempt":  "3",
		"User-Agent":       "waybill/1.4.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers mismatch (-want +got):\n%s", diff)
	}
	if err := webhook.Verify(secret, req.header.Get(tms.HeaderSignature), req.body, time.Minute, fixedNow); err != nil {
		t.Errorf("webhook.Verify(%s): %v", tms.HeaderSignature, err)
	}
}

func TestUnsignedWithoutSecret(t *testing.T) {
	t.Parallel()
	s := newTMS(t, nil)
	c := newConnector(t, tms.Config{URL: s.url()}, nil)
	if err := c.Deliver(t.Context(), releaseAction(t)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if got := s.received()[0].header.Get(tms.HeaderSignature); got != "" {
		t.Errorf("%s: got %q, want none without a secret", tms.HeaderSignature, got)
	}
}

func TestCorrelationFromContext(t *testing.T) {
	t.Parallel()
	s := newTMS(t, nil)
	c := newConnector(t, tms.Config{URL: s.url()}, nil)
	a := releaseAction(t)
	a.CorrelationID = ""
	if err := c.Deliver(correlation.With(t.Context(), "corr-from-ctx"), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	req := s.received()[0]
	if got := req.header.Get(correlation.Header); got != "corr-from-ctx" {
		t.Errorf("%s: got %q, want %q", correlation.Header, got, "corr-from-ctx")
	}
	var d tms.Dispatch
	if err := json.Unmarshal(req.body, &d); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	if d.CorrelationID != "corr-from-ctx" {
		t.Errorf("correlation_id: got %q, want %q", d.CorrelationID, "corr-from-ctx")
	}
}

func TestIdempotencyKeyStableAcrossAttempts(t *testing.T) {
	t.Parallel()
	s := newTMS(t, reply(http.StatusServiceUnavailable, `{"error":"planning engine busy"}`))
	c := newConnector(t, tms.Config{URL: s.url(), Secret: "k"}, nil)
	first := releaseAction(t)
	if err := c.Deliver(t.Context(), first); err == nil {
		t.Fatal("attempt 1 against a 503: got nil error, want one")
	}
	s.setAnswer(nil)
	second := releaseAction(t)
	second.Attempt = 2
	if err := c.Deliver(t.Context(), second); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	reqs := s.received()
	if len(reqs) != 2 {
		t.Fatalf("TMS got %d requests, want 2", len(reqs))
	}
	for _, name := range []string{tms.HeaderIdempotencyKey, correlation.Header} {
		if a, b := reqs[0].header.Get(name), reqs[1].header.Get(name); a != b || a == "" {
			t.Errorf("%s: got %q then %q, want the same non-empty value on both attempts", name, a, b)
		}
	}
	if !bytes.Equal(reqs[0].body, reqs[1].body) {
		t.Errorf("body differs between attempts:\n%s\n%s", reqs[0].body, reqs[1].body)
	}
	if a, b := reqs[0].header.Get(tms.HeaderAttempt), reqs[1].header.Get(tms.HeaderAttempt); a != "1" || b != "2" {
		t.Errorf("%s: got %q then %q, want 1 then 2", tms.HeaderAttempt, a, b)
	}
	var d tms.Dispatch
	if err := json.Unmarshal(reqs[1].body, &d); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	if d.DispatchID != second.IdempotencyKey {
		t.Errorf("dispatch_id: got %q, want the idempotency key %q", d.DispatchID, second.IdempotencyKey)
	}
}

func TestAssignment(t *testing.T) {
	t.Parallel()
	pickup := time.Date(2025, 11, 12, 9, 30, 0, 0, time.FixedZone("", 3600))
	delivery := time.Date(2025, 11, 12, 14, 0, 0, 0, time.FixedZone("", 3600))
	full := &tms.Assignment{
		Vehicle:         &tms.Vehicle{Plate: "BX-472-K", Type: "box_truck"},
		Driver:          &tms.Driver{Name: "Sanne de Vries", Phone: "+31 6 1234 5678"},
		RouteID:         "RTM-UTR-20251112-A",
		PlannedPickup:   &pickup,
		PlannedDelivery: &delivery,
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   *tms.Assignment // nil: the callback is not called
	}{
		{
			name:   "full",
			status: http.StatusCreated,
			body: `{"dispatch_id":"job-81:dispatch.release","status":"planned",
				"vehicle":{"plate":"BX-472-K","type":"box_truck"},"driver":{"name":"Sanne de Vries","phone":"+31 6 1234 5678"},
				"route_id":"RTM-UTR-20251112-A","planned_pickup":"2025-11-12T09:30:00+01:00","planned_delivery":"2025-11-12T14:00:00+01:00"}`,
			want: full,
		},
		{name: "route_only", status: http.StatusOK, body: `{"route_id":"R-1"}`, want: &tms.Assignment{RouteID: "R-1"}},
		{name: "carrier_and_tracking", status: http.StatusAccepted, body: `{"carrier":{"scac":"VDBT"},"tracking_ref":"VDBT4471120"}`,
			want: &tms.Assignment{Carrier: &tms.Carrier{SCAC: "VDBT"}, TrackingRef: "VDBT4471120"}},
		{name: "empty_body", status: http.StatusNoContent, body: ``},
		{name: "not_json", status: http.StatusOK, body: `accepted`},
		{name: "json_array", status: http.StatusOK, body: `[1,2]`},
		{name: "no_assignment_members", status: http.StatusOK, body: `{"status":"queued"}`},
		{name: "driver_only_fails_schema", status: http.StatusOK, body: `{"driver":{"name":"A. Driver"}}`},
		{name: "time_without_offset", status: http.StatusOK, body: `{"route_id":"R-1","planned_pickup":"2025-11-12T09:30:00"}`},
		{name: "empty_vehicle", status: http.StatusOK, body: `{"vehicle":{}}`},
		{name: "wrong_type", status: http.StatusOK, body: `{"route_id":42}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTMS(t, reply(tt.status, tt.body))
			var (
				mu    sync.Mutex
				calls []tms.Assignment
				keys  []string
			)
			c := newConnector(t, tms.Config{URL: s.url()}, &tms.Options{
				OnAssigned: func(_ context.Context, a *connector.Action, as tms.Assignment) error {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, as)
					keys = append(keys, a.IdempotencyKey)
					return nil
				},
			})
			if err := c.Deliver(t.Context(), releaseAction(t)); err != nil {
				t.Fatalf("Deliver: got error %v, want nil", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.want == nil {
				if len(calls) != 0 {
					t.Errorf("OnAssigned called with %+v, want no call", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("OnAssigned called %d times, want once", len(calls))
			}
			if diff := cmp.Diff(*tt.want, calls[0]); diff != "" {
				t.Errorf("assignment mismatch (-want +got):\n%s", diff)
			}
			if keys[0] != "job-81:dispatch.release" {
				t.Errorf("OnAssigned got action with key %q, want the delivered action", keys[0])
			}
		})
	}
}

func TestAssignmentEncodesAsEventData(t *testing.T) {
	t.Parallel()
	body := `{"vehicle":{"plate":"BX-472-K"},"route_id":"R-1","planned_pickup":"2025-11-12T09:30:00+01:00"}`
	s := newTMS(t, reply(http.StatusOK, body))
	var got []byte
	c := newConnector(t, tms.Config{URL: s.url()}, &tms.Options{
		OnAssigned: func(_ context.Context, _ *connector.Action, as tms.Assignment) error {
			var err error
			got, err = json.Marshal(as)
			return err
		},
	})
	if err := c.Deliver(t.Context(), releaseAction(t)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if string(got) != body {
		t.Errorf("assignment as event data: got %s, want %s (offsets kept)", got, body)
	}
}

func TestAssignmentCallbackErrorIsRetryable(t *testing.T) {
	t.Parallel()
	s := newTMS(t, reply(http.StatusCreated, `{"route_id":"R-1"}`))
	errIntake := errors.New("intake unavailable")
	c := newConnector(t, tms.Config{URL: s.url()}, &tms.Options{
		OnAssigned: func(context.Context, *connector.Action, tms.Assignment) error {
			return connector.Permanent(errIntake)
		},
	})
	err := c.Deliver(t.Context(), releaseAction(t))
	if !errors.Is(err, errIntake) {
		t.Fatalf("Deliver: got error %v, want one wrapping the callback's", err)
	}
	if permanent, _ := connector.Classify(err); permanent {
		t.Errorf("Classify(%v): got permanent, want retryable even when the callback's error is permanent", err)
	}
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status        int
		retryAfter    string
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{status: http.StatusBadRequest, wantPermanent: true},
		{status: http.StatusUnauthorized, wantPermanent: true},
		{status: http.StatusNotFound, wantPermanent: true},
		{status: http.StatusConflict, wantPermanent: true},
		{status: http.StatusUnprocessableEntity, wantPermanent: true},
		{status: http.StatusMovedPermanently, wantPermanent: true},
		{status: http.StatusRequestTimeout},
		{status: http.StatusTooEarly},
		{status: http.StatusTooManyRequests, retryAfter: "7", wantAfter: 7 * time.Second},
		{status: http.StatusTooManyRequests, retryAfter: fixedNow.Add(90 * time.Second).Format(http.TimeFormat), wantAfter: 90 * time.Second},
		{status: http.StatusTooManyRequests, retryAfter: "999999999999999999999", wantAfter: tms.RetryAfterMax},
		{status: http.StatusTooManyRequests, retryAfter: "soon"},
		{status: http.StatusInternalServerError},
		{status: http.StatusNotImplemented, wantPermanent: true},
		{status: http.StatusBadGateway},
		{status: http.StatusServiceUnavailable, retryAfter: "1", wantAfter: time.Second},
		{status: http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"_"+tt.retryAfter, func(t *testing.T) {
			t.Parallel()
			s := newTMS(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.Header().Set("Location", "/elsewhere")
				http.Error(w, "no", tt.status)
			})
			c := newConnector(t, tms.Config{URL: s.url()}, &tms.Options{NowFunc: func() time.Time { return fixedNow }})
			err := c.Deliver(t.Context(), releaseAction(t))
			var se *tms.StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status {
				t.Fatalf("Deliver: got error %v, want a *tms.StatusError with %d", err, tt.status)
			}
			permanent, after := connector.Classify(err)
			if permanent != tt.wantPermanent || after != tt.wantAfter {
				t.Errorf("Classify(%v): got permanent %t after %v, want %t after %v", err, permanent, after, tt.wantPermanent, tt.wantAfter)
			}
			if got := len(s.received()); got != 1 {
				t.Errorf("TMS got %d requests, want 1 (redirects are not followed)", got)
			}
		})
	}
}

func TestInvalidActionIsPermanentAndSendsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(a *connector.Action)
		wantErr error
	}{
		{name: "other_kind", edit: func(a *connector.Action) { a.Kind = shipment.ActionInvoicePrepare }, wantErr: tms.ErrUnsupportedKind},
		{name: "no_payload", edit: func(a *connector.Action) { a.Payload = nil }, wantErr: tms.ErrInvalidShipment},
		{name: "null_payload", edit: func(a *connector.Action) { a.Payload = json.RawMessage(`null`) }, wantErr: tms.ErrInvalidShipment},
		{name: "payload_not_a_shipment", edit: func(a *connector.Action) { a.Payload = json.RawMessage(`[1]`) }, wantErr: tms.ErrInvalidShipment},
		{name: "no_lines", edit: func(a *connector.Action) { a.Payload = json.RawMessage(`{"id":"odoo:WH/OUT/1","lines":[]}`) }, wantErr: tms.ErrInvalidShipment},
		{name: "other_shipment", edit: func(a *connector.Action) { a.ShipmentID = "odoo:WH/OUT/99999" }, wantErr: tms.ErrInvalidShipment},
		{name: "no_shipment_id", edit: func(a *connector.Action) {
			a.ShipmentID = ""
			a.Payload = json.RawMessage(`{"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`)
		}, wantErr: tms.ErrInvalidShipment},
		{name: "no_idempotency_key", edit: func(a *connector.Action) { a.IdempotencyKey = "" }},
		{name: "attempt_zero", edit: func(a *connector.Action) { a.Attempt = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTMS(t, nil)
			c := newConnector(t, tms.Config{URL: s.url()}, nil)
			a := releaseAction(t)
			tt.edit(a)
			err := c.Deliver(t.Context(), a)
			if permanent, _ := connector.Classify(err); err == nil || !permanent {
				t.Fatalf("Deliver: got error %v, want a permanent one", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Deliver: got error %v, want one wrapping %v", err, tt.wantErr)
			}
			if got := len(s.received()); got != 0 {
				t.Errorf("TMS got %d requests, want none", got)
			}
		})
	}
}

func TestShipmentIDFromActionWhenPayloadHasNone(t *testing.T) {
	t.Parallel()
	s := newTMS(t, nil)
	c := newConnector(t, tms.Config{URL: s.url()}, nil)
	a := releaseAction(t)
	a.Payload = json.RawMessage(`{"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`)
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	var d tms.Dispatch
	if err := json.Unmarshal(s.received()[0].body, &d); err != nil {
		t.Fatalf("decoding body: %v", err)
	}
	if d.ShipmentID != a.ShipmentID {
		t.Errorf("shipment_id: got %q, want the action's %q", d.ShipmentID, a.ShipmentID)
	}
}

func TestTimeoutIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := newTMS(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	const timeout = 150 * time.Millisecond
	c := newConnector(t, tms.Config{URL: s.url(), Timeout: timeout}, nil)
	start := time.Now()
	err := c.Deliver(t.Context(), releaseAction(t))
	if !errors.Is(err, connector.ErrOutcomeUnknown) {
		t.Errorf("Deliver to a hung TMS: got error %v, want one that Is ErrOutcomeUnknown", err)
	}
	if permanent, _ := connector.Classify(err); permanent {
		t.Errorf("Classify(%v): got permanent, want retryable", err)
	}
	if elapsed := time.Since(start); elapsed > timeout+2*time.Second {
		t.Errorf("Deliver returned after %v, want soon after the %v timeout", elapsed, timeout)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := newTMS(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newConnector(t, tms.Config{URL: s.url()}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Deliver(ctx, releaseAction(t)) }()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the TMS")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Errorf("Deliver cancelled mid-request: got error %v, want context.Canceled and ErrOutcomeUnknown", err)
		}
		if permanent, _ := connector.Classify(err); permanent {
			t.Errorf("Classify(%v): got permanent, want retryable", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Deliver did not return within 2s of cancellation")
	}
}

func TestConnectionRefusedIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("closing listener: %v", err)
	}
	c := newConnector(t, tms.Config{URL: "http://" + addr + "/dispatches?token=hunter2"}, nil)
	err = c.Deliver(t.Context(), releaseAction(t))
	if permanent, _ := connector.Classify(err); err == nil || permanent {
		t.Fatalf("Deliver to a closed port: got %v, want a retryable error", err)
	}
	if errors.Is(err, connector.ErrOutcomeUnknown) {
		t.Errorf("Deliver to a closed port: got %v, want an error that is not ErrOutcomeUnknown", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q: got the URL query in the message, want host only", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     tms.Config
		wantErr []string
	}{
		{name: "ok", cfg: tms.Config{URL: "https://tms.example.com/dispatches"}},
		{name: "empty_url", cfg: tms.Config{}, wantErr: []string{"url: empty"}},
		{name: "bad_scheme", cfg: tms.Config{URL: "ftp://tms.example.com"}, wantErr: []string{"url: scheme"}},
		{name: "no_host", cfg: tms.Config{URL: "http:///dispatches"}, wantErr: []string{"url: no host"}},
		{name: "every_problem", cfg: tms.Config{URL: "tms.example.com", Timeout: -time.Second}, wantErr: []string{"url: scheme", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tms.New(tt.cfg, nil)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got := c.Name(); got != "tms" {
					t.Errorf("Name: got %q, want tms", got)
				}
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New: got nil error, want one")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: got %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	got := tms.Config{URL: "http://x"}.WithDefaults()
	if got.Timeout != tms.TimeoutDefault || got.UserAgent != tms.UserAgentDefault {
		t.Errorf("WithDefaults: got %+v, want timeout %v and user agent %q", got, tms.TimeoutDefault, tms.UserAgentDefault)
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	t.Parallel()
	cfg := tms.Config{URL: "https://user:pw@tms.example.com/d", Secret: "hunter2"}
	for name, s := range map[string]string{"String": cfg.String(), "LogValue": cfg.LogValue().String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, ":pw@") {
			t.Errorf("%s: got %q, want the secret and the URL password redacted", name, s)
		}
	}
}
