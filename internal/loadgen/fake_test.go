package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeOpts configures a fakeIngest. Every "Every" field n > 0 picks each n-th
// request or event, counted from 1 across the run.
type fakeOpts struct {
	key            string
	throttleEvery  int           // answer 429 with Retry-After: 0, before reading the body
	failEvery      int           // answer 500 with a problem
	rejectEvery    int           // reject the event with 422
	duplicateEvery int           // answer the event as a duplicate
	onEvent        func(n int64) // called after each stored event with their number so far
}

// fakeIngest is a real HTTP server on loopback that implements the contract
// of POST /v1/events and records every contract violation it sees.
type fakeIngest struct {
	srv  *httptest.Server
	opts fakeOpts

	requests atomic.Int64 // every request, numbering throttleEvery and failEvery

	mu         sync.Mutex
	answered   int // requests answered other than 429
	throttled  int
	failed     int
	events     int64
	rejected   int
	duplicates int
	ids        map[string]bool
	subjects   map[string][]string // event types per subject, in arrival order
	sources    map[string]bool
	violations []string
}

// cloudEvent is an event as the fake decodes it.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// fakeResult is one event's outcome in a batch answer.
type fakeResult struct {
	Index         int    `json:"index"`
	Status        int    `json:"status"`
	EventID       string `json:"event_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	Duplicate     bool   `json:"duplicate"`
	Problem       any    `json:"problem,omitempty"`
}

// newFakeIngest starts a fakeIngest that t closes when it ends.
func newFakeIngest(t *testing.T, opts fakeOpts) *fakeIngest {
	t.Helper()
	if opts.key == "" {
		opts.key = "test-key"
	}
	f := &fakeIngest{
		opts:     opts,
		ids:      map[string]bool{},
		subjects: map[string][]string{},
		sources:  map[string]bool{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIngest) violate(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.violations) < 20 {
		f.violations = append(f.violations, fmt.Sprintf(format, args...))
	}
}

// checkClean fails t when the fake saw contract violations.
func (f *fakeIngest) checkClean(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Errorf("server saw: %s", v)
	}
}

func writeProblem(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"code":%q}`, http.StatusText(status), status, code)
}

func (f *fakeIngest) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/events" {
		f.violate("request %s %s", r.Method, r.URL.Path)
		writeProblem(w, http.StatusNotFound, "not_found")
		return
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+f.opts.key; got != want {
		f.mu.Lock()
		f.answered++
		f.mu.Unlock()
		writeProblem(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	n := f.requests.Add(1)
	if f.opts.throttleEvery > 0 && n%int64(f.opts.throttleEvery) == 0 {
		f.mu.Lock()
		f.throttled++
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		writeProblem(w, http.StatusTooManyRequests, "throttled")
		return
	}
	f.mu.Lock()
	f.answered++
	f.mu.Unlock()
	if f.opts.failEvery > 0 && n%int64(f.opts.failEvery) == 0 {
		f.mu.Lock()
		f.failed++
		f.mu.Unlock()
		writeProblem(w, http.StatusInternalServerError, "internal")
		return
	}

	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.violate("reading body: %v", err)
		writeProblem(w, http.StatusBadRequest, "bad_body")
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := strings.TrimSpace(string(raw))
	var events []cloudEvent
	switch mediaType {
	case "application/cloudevents+json":
		if !strings.HasPrefix(body, "{") {
			f.violate("single body is not an object: %.40s", body)
			writeProblem(w, http.StatusBadRequest, "bad_body")
			return
		}
		var e cloudEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			f.violate("decoding single body: %v", err)
			writeProblem(w, http.StatusBadRequest, "bad_body")
			return
		}
		events = []cloudEvent{e}
	case "application/cloudevents-batch+json":
		if !strings.HasPrefix(body, "[") {
			f.violate("batch body is not an array: %.40s", body)
			writeProblem(w, http.StatusBadRequest, "bad_body")
			return
		}
		if err := json.Unmarshal(raw, &events); err != nil {
			f.violate("decoding batch body: %v", err)
			writeProblem(w, http.StatusBadRequest, "bad_body")
			return
		}
		if len(events) == 0 || len(events) > 1000 {
			f.violate("batch of %d events", len(events))
			writeProblem(w, http.StatusBadRequest, "bad_batch")
			return
		}
	default:
		f.violate("content type %q", r.Header.Get("Content-Type"))
		writeProblem(w, http.StatusUnsupportedMediaType, "bad_media_type")
		return
	}

	results := make([]fakeResult, len(events))
	for i, e := range events {
		results[i] = f.store(i, &e)
	}
	w.Header().Set("Content-Type", "application/json")
	if mediaType == "application/cloudevents-batch+json" {
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(map[string]any{"results": results})
		return
	}
	res := results[0]
	if res.Problem != nil {
		writeProblem(w, res.Status, "invalid_event")
		return
	}
	w.WriteHeader(res.Status)
	json.NewEncoder(w).Encode(res)
}

// The event types the generator sends, and the data each must carry.
const (
	typePlanned  = "shipment.planned"
	typeReserved = "inventory.reserved"

	wantPlannedData = `{"customer":{"ref":"loadgen:cust-7","name":"Acme Retail"},` +
		`"origin":{"name":"WH Rotterdam","country":"NL","unlocode":"NLRTM"},` +
		`"destination":{"name":"Acme DC Duisburg","city":"Duisburg","country":"DE"},` +
		`"lines":[{"line_id":"1","sku":"PAL-EUR-01","quantity":{"value":"12","unit":"C62"}},` +
		`{"line_id":"2","sku":"BOX-20KG","quantity":{"value":"40","unit":"KGM"}}],` +
		`"weight":{"value":"852.5","unit":"KGM"}}`
	wantReservedData = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},` +
		`{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
)

// expectedData is the data each event type must carry, decoded.
var expectedData = map[string]any{
	typePlanned:  mustDecode(wantPlannedData),
	typeReserved: mustDecode(wantReservedData),
}

func mustDecode(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// store checks and records one event and returns its outcome.
func (f *fakeIngest) store(index int, e *cloudEvent) fakeResult {
	var problems []string
	if e.SpecVersion != "1.0" {
		problems = append(problems, "specversion "+e.SpecVersion)
	}
	runID, ok := strings.CutPrefix(e.Source, "loadgen/")
	if !ok || runID == "" {
		problems = append(problems, "source "+e.Source)
	}
	if !strings.HasPrefix(e.ID, runID+"-") {
		problems = append(problems, "id "+e.ID)
	}
	if !strings.HasPrefix(e.Subject, "loadgen:"+runID+"-") {
		problems = append(problems, "subject "+e.Subject)
	}
	if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
		problems = append(problems, "time "+e.Time)
	}
	if e.DataContentType != "application/json" {
		problems = append(problems, "datacontenttype "+e.DataContentType)
	}
	if want, ok := expectedData[e.Type]; !ok {
		problems = append(problems, "type "+e.Type)
	} else if diff := cmp.Diff(want, mustDecode(string(e.Data))); diff != "" {
		problems = append(problems, "data (-want +got):\n"+diff)
	}
	if len(problems) > 0 {
		f.violate("event %s: %s", e.ID, strings.Join(problems, "; "))
		return fakeResult{Index: index, Status: http.StatusUnprocessableEntity, Problem: "invalid"}
	}

	f.mu.Lock()
	f.sources[e.Source] = true
	if f.ids[e.ID] {
		f.mu.Unlock()
		f.violate("id %s sent twice", e.ID)
		return fakeResult{Index: index, Status: http.StatusOK, EventID: e.ID, Duplicate: true}
	}
	f.ids[e.ID] = true
	f.events++
	k := f.events
	res := fakeResult{Index: index, Status: http.StatusAccepted, EventID: e.ID, CorrelationID: "c-" + e.ID}
	switch {
	case f.opts.rejectEvery > 0 && k%int64(f.opts.rejectEvery) == 0:
		f.rejected++
		res = fakeResult{Index: index, Status: http.StatusUnprocessableEntity, Problem: map[string]any{"code": "rejected"}}
	case f.opts.duplicateEvery > 0 && k%int64(f.opts.duplicateEvery) == 0:
		f.duplicates++
		res.Status, res.Duplicate = http.StatusOK, true
	}
	seen := f.subjects[e.Subject]
	switch {
	case e.Type == typePlanned && len(seen) > 0:
		f.mu.Unlock()
		f.violate("subject %s planned after %v", e.Subject, seen)
		f.mu.Lock()
	case e.Type == typeReserved && (len(seen) != 1 || seen[0] != typePlanned):
		f.mu.Unlock()
		f.violate("subject %s reserved after %v", e.Subject, seen)
		f.mu.Lock()
	}
	f.subjects[e.Subject] = append(seen, e.Type)
	f.mu.Unlock()
	if f.opts.onEvent != nil {
		f.opts.onEvent(k)
	}
	return res
}

// typeCounts returns how many subjects saw each sequence of event types.
func (f *fakeIngest) typeCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	counts := map[string]int{}
	for _, types := range f.subjects {
		counts[strings.Join(types, ",")]++
	}
	return counts
}
