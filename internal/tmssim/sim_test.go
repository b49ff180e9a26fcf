package tmssim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/tmssim"
)

var fullLifecycle = []event.Type{
	event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived, event.ShipmentDelivered,
}

func TestReleaseProducesOrderedLifecycle(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{Seed: 7})
	var got assignments
	c := newConnector(t, srv, 5*time.Second, &tms.Options{OnAssigned: got.record})
	s := released(t, "odoo:WH/OUT/00012")
	a := releaseAction(t, s, "job-81:dispatch.release")
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver: %v", err)
	}

	sent := waitSent(t, srv, len(fullLifecycle))
	if diff := cmp.Diff(fullLifecycle, types(sent)); diff != "" {
		t.Errorf("lifecycle mismatch (-want +got):\n%s", diff)
	}
	accepted := in.events()
	if len(accepted) != len(fullLifecycle) {
		t.Fatalf("intake accepted %d events, want %d", len(accepted), len(fullLifecycle))
	}
	var last time.Time
	for i, ev := range accepted {
		if ev.Type != fullLifecycle[i] {
			t.Errorf("intake event %d: got type %s, want %s (in order)", i, ev.Type, fullLifecycle[i])
		}
		if ev.Source != tmssim.Source || ev.Subject != s.ID || ev.CorrelationID != a.CorrelationID {
			t.Errorf("intake event %d: got source %q subject %q correlation %q, want %q %q %q",
				i, ev.Source, ev.Subject, ev.CorrelationID, tmssim.Source, s.ID, a.CorrelationID)
		}
		if want := a.IdempotencyKey + "." + strings.TrimPrefix(strings.TrimPrefix(string(ev.Type), "shipment."), "dispatch."); ev.SourceID != want {
			t.Errorf("intake event %d: got id %q, want %q", i, ev.SourceID, want)
		}
		if !ev.Time.After(last) {
			t.Errorf("intake event %d (%s): time %v not after the previous %v", i, ev.Type, ev.Time, last)
		}
		last = ev.Time
	}
	for _, se := range sent {
		if se.Failed || se.Duplicate || se.Status != http.StatusAccepted || se.Attempts != 1 {
			t.Errorf("sent %s: got failed %t duplicate %t status %d attempts %d, want accepted at the first attempt",
				se.ID, se.Failed, se.Duplicate, se.Status, se.Attempts)
		}
	}

	rels := srv.Releases()
	if len(rels) != 1 {
		t.Fatalf("Releases: got %d, want 1", len(rels))
	}
	rel := rels[0]
	if rel.Key != a.IdempotencyKey || rel.Dispatch.ShipmentID != s.ID || rel.Requests != 1 || rel.Attempt != 1 || rel.CorrelationID != a.CorrelationID {
		t.Errorf("release: got key %q shipment %q requests %d attempt %d correlation %q", rel.Key, rel.Dispatch.ShipmentID, rel.Requests, rel.Attempt, rel.CorrelationID)
	}
	// The reply's assignment reached the connector's callback and is the
	// dispatch.assigned event's data.
	as := got.all()
	if len(as) != 1 {
		t.Fatalf("OnAssigned called %d times, want 1", len(as))
	}
	if diff := cmp.Diff(rel.Assignment, as[0]); diff != "" {
		t.Errorf("callback assignment differs from the simulator's (-sim +callback):\n%s", diff)
	}
	if as[0].Vehicle == nil || as[0].Driver == nil || as[0].RouteID == "" || as[0].PlannedPickup == nil || as[0].PlannedDelivery == nil {
		t.Errorf("assignment %+v: want vehicle, driver, route and planned times", as[0])
	}
	want, _ := json.Marshal(as[0])
	if !bytes.Equal(sent[0].Data, want) {
		t.Errorf("dispatch.assigned data: got %s, want the reply's assignment %s", sent[0].Data, want)
	}
}

func TestDuplicateReleaseStartsOneLifecycle(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{})
	var got assignments
	c := newConnector(t, srv, 5*time.Second, &tms.Options{OnAssigned: got.record})
	a := releaseAction(t, released(t, "odoo:WH/OUT/00013"), "job-82:dispatch.release")
	for attempt := 1; attempt <= 3; attempt++ {
		b := *a
		b.Attempt = attempt
		if err := c.Deliver(t.Context(), &b); err != nil {
			t.Fatalf("Deliver attempt %d: %v", attempt, err)
		}
	}
	if as := got.all(); len(as) != 3 || !cmp.Equal(as[0], as[1]) || !cmp.Equal(as[0], as[2]) {
		t.Errorf("assignments of three attempts: got %+v, want the same one three times", as)
	}

	// The reply to a repeat is the first reply, byte for byte.
	body := []byte(`{"dispatch_id":"d-83","shipment_id":"odoo:WH/OUT/00014","pickup":{},"delivery":{},
		"lines":[{"line_id":"1","sku":"A","quantity":{"value":"2","unit":"C62"},"reserved":{"value":"2","unit":"C62"}}]}`)
	first := postRelease(t, srv, "d-83", body)
	repeat := postRelease(t, srv, "d-83", body)
	if first.status != http.StatusCreated || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first: got %d, Idempotent-Replayed %q, want 201 and none", first.status, first.header.Get("Idempotent-Replayed"))
	}
	if repeat.status != first.status || repeat.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.body, repeat.body) {
		t.Errorf("repeat: got %d %s (Idempotent-Replayed %q), want %d %s (true)",
			repeat.status, repeat.body, repeat.header.Get("Idempotent-Replayed"), first.status, first.body)
	}

	waitSent(t, srv, 2*len(fullLifecycle))
	// Close waits for every lifecycle; each one started records at least
	// one event, so the count after Close is exact.
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sent := srv.Sent()
	for _, key := range []string{a.IdempotencyKey, "d-83"} {
		if got := types(forDispatch(sent, key)); !cmp.Equal(got, fullLifecycle) {
			t.Errorf("events of %s: got %v, want one lifecycle %v", key, got, fullLifecycle)
		}
	}
	rels := srv.Releases()
	if len(rels) != 2 || rels[0].Requests != 3 || rels[1].Requests != 2 {
		t.Errorf("Releases: got %+v, want two with 3 and 2 requests", rels)
	}
}

// newHandlerServer serves sim with httptest, closed when the test ends,
// and returns its URL.
func newHandlerServer(t *testing.T, sim *tmssim.Sim) string {
	t.Helper()
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return hs.URL
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// postRelease posts body to the simulator with key as Idempotency-Key.
func postRelease(t *testing.T, srv *tmssim.Server, key string, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.DispatchURL(), bytes.NewReader(body))
	if err != nil {
		t.Fatalf("building request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(tms.HeaderIdempotencyKey, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting release: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestBadReleases(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{})
	good := `{"dispatch_id":"d-1","shipment_id":"odoo:WH/OUT/1","pickup":{},"delivery":{},
		"lines":[{"line_id":"1","sku":"A","quantity":{"value":"2","unit":"C62"},"reserved":{"value":"2","unit":"C62"}}]}`
	tests := []struct {
		name         string
		key          string
		body         string
		wantStatus   int
		wantError    string
		wantProblems []string
	}{
		{name: "not_json", key: "d-1", body: `dispatch please`, wantStatus: 400, wantError: "invalid_dispatch"},
		{name: "unknown_field", key: "d-1", body: `{"dispatch_id":"d-1","colour":"red"}`, wantStatus: 400, wantError: "invalid_dispatch"},
		{name: "trailing_data", key: "d-1", body: good + `{}`, wantStatus: 400, wantError: "invalid_dispatch"},
		{name: "empty_object", key: "", body: `{}`, wantStatus: 400, wantError: "invalid_dispatch",
			wantProblems: []string{"dispatch_id: required", "shipment_id: required", "lines: at least one line required"}},
		{name: "bad_lines", key: "d-2", body: `{"dispatch_id":"d-2","shipment_id":"has space","lines":[
			{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}},
			{"line_id":"1","sku":"B"}]}`, wantStatus: 400, wantError: "invalid_dispatch",
			wantProblems: []string{
				"shipment_id: must not contain white space",
				`lines[1].line_id: "1" appears twice`,
				"lines[1].quantity: required",
				"lines: nothing reserved on any line, nothing to load",
			}},
		{name: "key_mismatch", key: "other", body: good, wantStatus: 400, wantError: "invalid_dispatch",
			wantProblems: []string{`dispatch_id "d-1" differs from the Idempotency-Key header "other"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := postRelease(t, srv, tt.key, []byte(tt.body))
			if resp.status != tt.wantStatus || resp.header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s %s, want %d JSON", resp.status, resp.header.Get("Content-Type"), resp.body, tt.wantStatus)
			}
			var e struct {
				Error    string   `json:"error"`
				Problems []string `json:"problems"`
			}
			if err := json.Unmarshal(resp.body, &e); err != nil {
				t.Fatalf("decoding error body %s: %v", resp.body, err)
			}
			if e.Error != tt.wantError {
				t.Errorf("error: got %q, want %q", e.Error, tt.wantError)
			}
			if tt.wantProblems != nil {
				if diff := cmp.Diff(tt.wantProblems, e.Problems); diff != "" {
					t.Errorf("problems mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}

	t.Run("conflicting_repeat", func(t *testing.T) {
		t.Parallel()
		body := strings.Replace(good, "d-1", "d-9", 1)
		if resp := postRelease(t, srv, "d-9", []byte(body)); resp.status != http.StatusCreated {
			t.Fatalf("first: got %d %s, want 201", resp.status, resp.body)
		}
		other := strings.Replace(body, `"value":"2","unit":"C62"},"reserved"`, `"value":"3","unit":"C62"},"reserved"`, 1)
		if resp := postRelease(t, srv, "d-9", []byte(other)); resp.status != http.StatusConflict {
			t.Errorf("same key, other body: got %d %s, want 409", resp.status, resp.body)
		}
	})

	t.Run("key_from_dispatch_id", func(t *testing.T) {
		t.Parallel()
		body := strings.Replace(good, "d-1", "d-10", 1)
		if resp := postRelease(t, srv, "", []byte(body)); resp.status != http.StatusCreated {
			t.Fatalf("got %d %s, want 201", resp.status, resp.body)
		}
	})

	t.Run("routes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, tmssim.PathDispatches, http.StatusMethodNotAllowed},
			{http.MethodPost, "/v1/dispatches", http.StatusNotFound},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL()+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: got %d %s, want %d JSON", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.want)
			}
		}
	})
}

func TestSignatureRequiredWithSecret(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{Secret: "whsec_tms"})
	s := released(t, "odoo:WH/OUT/00020")

	unsigned := newConnector(t, srv, 5*time.Second, nil)
	err := unsigned.Deliver(t.Context(), releaseAction(t, s, "job-90"))
	if permanent, _ := connector.Classify(err); !isStatus(err, http.StatusUnauthorized) || !permanent {
		t.Errorf("unsigned release: got %v, want a permanent 401", err)
	}
	signed, err := tms.New(tms.Config{URL: srv.DispatchURL(), Secret: "whsec_tms"}, nil)
	if err != nil {
		t.Fatalf("tms.New: %v", err)
	}
	t.Cleanup(func() { _ = signed.Close() })
	if err := signed.Deliver(t.Context(), releaseAction(t, s, "job-90")); err != nil {
		t.Errorf("signed release: %v", err)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault tmssim.Fault
		// check gets the error of the faulted Deliver.
		check func(t *testing.T, err error)
		// wantAccepted is whether the faulted request was accepted.
		wantAccepted bool
	}{
		{name: "http_500", fault: tmssim.FaultHTTP500, check: func(t *testing.T, err error) {
			if permanent, _ := connector.Classify(err); !isStatus(err, 500) || permanent {
				t.Errorf("got %v, want a retryable 500", err)
			}
		}},
		{name: "http_503", fault: tmssim.FaultHTTP503, check: func(t *testing.T, err error) {
			if permanent, after := connector.Classify(err); !isStatus(err, 503) || permanent || after != time.Second {
				t.Errorf("got %v (hint %v), want a retryable 503 with a 1s hint", err, after)
			}
		}},
		{name: "reset", fault: tmssim.FaultReset, check: func(t *testing.T, err error) {
			if permanent, _ := connector.Classify(err); err == nil || permanent {
				t.Errorf("got %v, want a retryable error", err)
			}
		}},
		{name: "drop_after_accept", fault: tmssim.FaultDropAfterAccept, wantAccepted: true, check: func(t *testing.T, err error) {
			if !errors.Is(err, connector.ErrOutcomeUnknown) {
				t.Errorf("got %v, want ErrOutcomeUnknown", err)
			}
		}},
		{name: "latency", fault: tmssim.FaultLatency, check: func(t *testing.T, err error) {
			if !errors.Is(err, connector.ErrOutcomeUnknown) {
				t.Errorf("got %v, want ErrOutcomeUnknown from the connector's timeout", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newReceiver(t)
			srv := startSim(t, in, tmssim.Options{})
			srv.Faults().SetLatency(2 * time.Second)
			srv.Faults().Inject(1, tt.fault)
			s := released(t, "odoo:WH/OUT/00030")
			var got assignments
			timeout := 5 * time.Second
			if tt.fault == tmssim.FaultLatency {
				timeout = 300 * time.Millisecond // below the 2s latency
			}
			faulted := newConnector(t, srv, timeout, &tms.Options{OnAssigned: got.record})
			c := newConnector(t, srv, 5*time.Second, &tms.Options{OnAssigned: got.record})
			a := releaseAction(t, s, "job-100")

			tt.check(t, faulted.Deliver(t.Context(), a))
			if n := len(srv.Releases()); (n == 1) != tt.wantAccepted {
				t.Errorf("after the faulted request: got %d releases, want accepted %t", n, tt.wantAccepted)
			}

			// The retry goes through; a release accepted before is
			// deduplicated.
			retry := *a
			retry.Attempt = 2
			if err := c.Deliver(t.Context(), &retry); err != nil {
				t.Fatalf("retry: %v", err)
			}
			rels := srv.Releases()
			wantRequests := 1
			if tt.wantAccepted {
				wantRequests = 2
			}
			if len(rels) != 1 || rels[0].Requests != wantRequests {
				t.Fatalf("Releases after the retry: got %+v, want one with %d requests", rels, wantRequests)
			}
			if as := got.all(); len(as) != 1 || as[0].RouteID != rels[0].Assignment.RouteID {
				t.Errorf("assignments reported: got %+v, want the release's once", as)
			}
			waitSent(t, srv, len(fullLifecycle))
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := types(srv.Sent()); !cmp.Equal(got, fullLifecycle) {
				t.Errorf("lifecycle: got %v, want exactly one %v", got, fullLifecycle)
			}
		})
	}

	t.Run("latency_within_timeout", func(t *testing.T) {
		t.Parallel()
		in := newReceiver(t)
		srv := startSim(t, in, tmssim.Options{})
		const latency = 150 * time.Millisecond
		srv.Faults().SetLatency(latency)
		srv.Faults().Inject(2, tmssim.FaultLatency)
		c := newConnector(t, srv, 5*time.Second, nil)
		for i, key := range []string{"job-1", "job-2", "job-3"} { // the third has no latency
			start := time.Now()
			if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/0004"+key[4:]), key)); err != nil {
				t.Fatalf("Deliver %s: %v", key, err)
			}
			if i < 2 && time.Since(start) < latency {
				t.Errorf("release %d took %v, want at least the %v latency", i+1, time.Since(start), latency)
			}
		}
	})

	t.Run("clear", func(t *testing.T) {
		t.Parallel()
		in := newReceiver(t)
		srv := startSim(t, in, tmssim.Options{})
		srv.Faults().Inject(5, tmssim.FaultHTTP500)
		srv.Faults().Clear()
		c := newConnector(t, srv, 5*time.Second, nil)
		if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/00050"), "job-50")); err != nil {
			t.Errorf("Deliver after Clear: %v", err)
		}
	})
}

func TestDownUp(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{})
	c := newConnector(t, srv, 5*time.Second, nil)
	url := srv.URL()
	if err := srv.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if err := srv.Down(); err != nil {
		t.Fatalf("second Down: %v", err)
	}
	a := releaseAction(t, released(t, "odoo:WH/OUT/00060"), "job-60")
	err := c.Deliver(t.Context(), a)
	if permanent, _ := connector.Classify(err); err == nil || permanent || errors.Is(err, connector.ErrOutcomeUnknown) {
		t.Errorf("Deliver while down: got %v, want a retryable error, outcome known (nothing sent)", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if srv.URL() != url {
		t.Errorf("URL after Up: got %s, want %s", srv.URL(), url)
	}
	a.Attempt = 2
	if err := c.Deliver(t.Context(), a); err != nil {
		t.Fatalf("Deliver after Up: %v", err)
	}
	waitSent(t, srv, len(fullLifecycle))
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := srv.Up(); !errors.Is(err, tmssim.ErrClosed) {
		t.Errorf("Up after Close: got %v, want ErrClosed", err)
	}
}

func TestStepPacesEvents(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	const step = 60 * time.Millisecond
	srv := startSim(t, in, tmssim.Options{Step: step})
	c := newConnector(t, srv, 5*time.Second, nil)
	if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/00070"), "job-70")); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	waitSent(t, srv, len(fullLifecycle))
	_, arrivals := in.stats()
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < step {
			t.Errorf("events %d and %d arrived %v apart, want at least the %v step", i, i+1, gap, step)
		}
	}
}

func TestCloseStopsRetryingLifecycles(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	for range 100 {
		in.program(intakeAnswer{status: http.StatusServiceUnavailable})
	}
	srv := startSim(t, in, tmssim.Options{Step: time.Hour})
	c := newConnector(t, srv, 5*time.Second, nil)
	if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/00080"), "job-80")); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	// Wait until the first event has been refused at least twice.
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := in.stats(); n < 2; n, _ = in.stats() {
		if time.Now().After(deadline) {
			t.Fatalf("intake got %d requests, want 2", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Close took %v, want it prompt", elapsed)
	}
	sent := srv.Sent()
	if len(sent) != 1 || !sent[0].Failed || sent[0].Err != tmssim.ErrClosed.Error() || sent[0].Attempts < 2 || sent[0].Status != http.StatusServiceUnavailable {
		t.Errorf("Sent after Close: got %+v, want the first event failed by the close after 2 or more attempts", sent)
	}
	// A release after Close is refused.
	resp := postReleaseAfterClose(t, srv)
	if resp != nil {
		t.Errorf("release after Close: got a reply %d, want the connection refused", resp.StatusCode)
	}
}

// postReleaseAfterClose posts to a closed server and returns the response,
// if one came.
func postReleaseAfterClose(t *testing.T, srv *tmssim.Server) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.DispatchURL(), strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return resp
}

func TestSimHandlerAfterClose(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	sim, err := tmssim.New(tmssim.Options{Waybill: in.url(), Key: testKey})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := newHandlerServer(t, sim)
	if err := sim.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	body := `{"dispatch_id":"d-1","shipment_id":"odoo:WH/OUT/1","pickup":{},"delivery":{},
		"lines":[{"line_id":"1","sku":"A","quantity":{"value":"2","unit":"C62"},"reserved":{"value":"2","unit":"C62"}}]}`
	resp, err := http.Post(hs+tmssim.PathDispatches, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("posting: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("release to a closed Sim: got %d, want 503", resp.StatusCode)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []tmssim.Options{
		{},
		{Waybill: "127.0.0.1:8080"},
		{Waybill: "ftp://x"},
		{Waybill: "http://127.0.0.1:8080", Step: -time.Second},
	} {
		if sim, err := tmssim.New(opts); err == nil {
			_ = sim.Close()
			t.Errorf("New(%+v): got nil error, want one", opts)
		}
	}
}

func TestSeedMakesAssignmentsReproducible(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	s := released(t, "odoo:WH/OUT/00090")
	assign := func(seed int64) tms.Assignment {
		srv := startSim(t, in, tmssim.Options{Seed: seed, SkipAssignedEvent: true})
		c := newConnector(t, srv, 5*time.Second, nil)
		if err := c.Deliver(t.Context(), releaseAction(t, s, "job-90")); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return srv.Releases()[0].Assignment
	}
	a, b, c := assign(1), assign(1), assign(2)
	same := func(x, y tms.Assignment) bool {
		return cmp.Equal(x.Vehicle, y.Vehicle) && cmp.Equal(x.Driver, y.Driver) && x.RouteID == y.RouteID
	}
	if !same(a, b) {
		t.Errorf("seed 1 twice: got %+v and %+v, want the same vehicle, driver and route", a, b)
	}
	if same(a, c) {
		t.Errorf("seeds 1 and 2: got the same assignment %+v, want different ones", a)
	}
}
