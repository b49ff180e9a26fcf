package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
)

// outcome is the part of a Result that a test can predict.
type outcome struct {
	Accepted, Duplicates, Rejected, Throttled, Errors, Requests, Sent int
}

func outcomeOf(r *Result) outcome {
	return outcome{r.Accepted, r.Duplicates, r.Rejected, r.Throttled, r.Errors, r.Requests, r.Sent}
}

func TestRun(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		params    Params
		throttle  int
		wantTypes map[string]int // subjects per sequence of event types
	}{
		{
			name:      "planned single",
			params:    Params{Clients: 8, Events: 1000, Mix: MixPlanned},
			throttle:  7,
			wantTypes: map[string]int{"shipment.planned": 1000},
		},
		{
			name:      "planned batch",
			params:    Params{Clients: 4, Events: 1234, Batch: 50},
			throttle:  5,
			wantTypes: map[string]int{"shipment.planned": 1234},
		},
		{
			name:     "lifecycle single",
			params:   Params{Clients: 16, Events: 1001, Mix: MixLifecycle},
			throttle: 7,
			wantTypes: map[string]int{
				"shipment.planned,inventory.reserved": 500,
				"shipment.planned":                    1,
			},
		},
		{
			name:     "lifecycle batch",
			params:   Params{Clients: 5, Events: 999, Batch: 7, Mix: MixLifecycle},
			throttle: 3,
			wantTypes: map[string]int{
				"shipment.planned,inventory.reserved": 499,
				"shipment.planned":                    1,
			},
		},
		{
			name:     "lifecycle batch more clients than units",
			params:   Params{Clients: 64, Events: 40, Batch: 1000, Mix: MixLifecycle},
			throttle: 2,
			wantTypes: map[string]int{
				"shipment.planned,inventory.reserved": 20,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeIngest(t, fakeOpts{throttleEvery: tt.throttle})
			p := tt.params
			p.URL, p.Key = fake.srv.URL, fake.opts.key

			res, err := Run(t.Context(), &p)
			if err != nil {
				t.Fatalf("Run: got error %v, want nil", err)
			}
			fake.checkClean(t)

			fake.mu.Lock()
			want := outcome{
				Accepted:  p.Events,
				Throttled: fake.throttled,
				Requests:  fake.answered + fake.throttled,
				Sent:      p.Events,
			}
			gotEvents, sources := fake.events, fake.sources
			fake.mu.Unlock()
			if want.Throttled == 0 {
				t.Errorf("server throttled no request; the retry path went untested")
			}
			if diff := cmp.Diff(want, outcomeOf(res)); diff != "" {
				t.Errorf("Result counts mismatch (-want +got):\n%s", diff)
			}
			if gotEvents != int64(p.Events) {
				t.Errorf("server stored %d events, want %d", gotEvents, p.Events)
			}
			if diff := cmp.Diff(tt.wantTypes, fake.typeCounts()); diff != "" {
				t.Errorf("event types per subject mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]bool{"loadgen/" + res.RunID: true}, sources); diff != "" {
				t.Errorf("event sources mismatch (-want +got):\n%s", diff)
			}
			l := res.RequestLatency
			if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
				t.Errorf("got latencies %+v, want 0 < P50 <= P90 <= P99 <= Max", l)
			}
			if res.Elapsed <= 0 || res.EventsPerSecond <= 0 {
				t.Errorf("got Elapsed %v and EventsPerSecond %v, want both positive", res.Elapsed, res.EventsPerSecond)
			}
		})
	}
}

func TestRunOutcomes(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		params  Params
		opts    fakeOpts
		want    outcome
		wantErr error
	}{
		{
			name:   "batch duplicates and rejections",
			params: Params{Clients: 4, Events: 500, Batch: 10},
			opts:   fakeOpts{rejectEvery: 50, duplicateEvery: 7},
			// 10 rejected (k%50); 71 multiples of 7 less 350, which is rejected.
			want: outcome{Accepted: 420, Duplicates: 70, Rejected: 10, Requests: 50, Sent: 500},
		},
		{
			name:   "single duplicates",
			params: Params{Clients: 4, Events: 100},
			opts:   fakeOpts{duplicateEvery: 4},
			want:   outcome{Accepted: 75, Duplicates: 25, Requests: 100, Sent: 100},
		},
		{
			name:   "server errors below one percent",
			params: Params{Clients: 4, Events: 2000},
			opts:   fakeOpts{failEvery: 200},
			want:   outcome{Accepted: 1990, Errors: 10, Requests: 2000, Sent: 1990},
		},
		{
			name:    "server errors above one percent",
			params:  Params{Clients: 4, Events: 1000},
			opts:    fakeOpts{failEvery: 50},
			want:    outcome{Accepted: 980, Errors: 20, Requests: 1000, Sent: 980},
			wantErr: ErrTooManyErrors,
		},
		{
			name:    "single rejections are errors",
			params:  Params{Clients: 2, Events: 200},
			opts:    fakeOpts{rejectEvery: 20},
			want:    outcome{Accepted: 190, Errors: 10, Requests: 200, Sent: 190},
			wantErr: ErrTooManyErrors,
		},
		{
			name:    "wrong key",
			params:  Params{Clients: 2, Events: 30, Key: "wrong"},
			want:    outcome{Errors: 30, Requests: 30},
			wantErr: ErrTooManyErrors,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeIngest(t, tt.opts)
			p := tt.params
			p.URL = fake.srv.URL
			if p.Key == "" {
				p.Key = fake.opts.key
			}

			res, err := Run(t.Context(), &p)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Run: got error %v, want %v", err, tt.wantErr)
			}
			if res == nil {
				t.Fatal("Run: got nil Result, want one")
			}
			fake.checkClean(t)
			if diff := cmp.Diff(tt.want, outcomeOf(res)); diff != "" {
				t.Errorf("Result counts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens at its address any more

	res, err := Run(t.Context(), &Params{URL: srv.URL, Key: "k", Clients: 2, Events: 10})
	if !errors.Is(err, ErrServerGone) {
		t.Errorf("Run: got error %v, want %v", err, ErrServerGone)
	}
	if res == nil {
		t.Fatal("Run: got nil Result, want one")
	}
	// The events of failed requests are not sent.
	if diff := cmp.Diff(outcome{Errors: 10, Requests: 10}, outcomeOf(res)); diff != "" {
		t.Errorf("Result counts mismatch (-want +got):\n%s", diff)
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()

	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var once sync.Once
		fake := newFakeIngest(t, fakeOpts{onEvent: func(n int64) {
			if n >= 500 {
				once.Do(cancel)
			}
		}})
		const events = 1_000_000

		res, err := Run(ctx, &Params{URL: fake.srv.URL, Key: fake.opts.key, Clients: 8, Events: events, Mix: MixLifecycle})
		if err != nil {
			t.Fatalf("Run: got error %v, want nil", err)
		}
		fake.checkClean(t)
		fake.mu.Lock()
		stored := fake.events
		fake.mu.Unlock()
		if res.Accepted < 1 || int64(res.Accepted) > stored || res.Accepted >= events {
			t.Errorf("got %d accepted, want between 1 and the %d the server stored", res.Accepted, stored)
		}
		if res.Errors != 0 {
			t.Errorf("got %d errors, want 0: requests cut short by cancellation are not errors", res.Errors)
		}
	})

	t.Run("duration", func(t *testing.T) {
		t.Parallel()
		fake := newFakeIngest(t, fakeOpts{})
		const events = 1 << 30

		res, err := Run(t.Context(), &Params{URL: fake.srv.URL, Key: fake.opts.key, Clients: 4, Events: events, Duration: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("Run: got error %v, want nil", err)
		}
		if res.Accepted < 1 || res.Errors != 0 {
			t.Errorf("got %d accepted and %d errors, want at least 1 and 0", res.Accepted, res.Errors)
		}
		if res.Elapsed > 10*time.Second {
			t.Errorf("got Elapsed %v, want the run to stop near its 100ms Duration", res.Elapsed)
		}
	})
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	fake := newFakeIngest(t, fakeOpts{})
	var out bytes.Buffer

	_, err := Run(t.Context(), &Params{URL: fake.srv.URL, Key: fake.opts.key, Clients: 2, Events: 100, Progress: &out})
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "elapsed ") || !strings.Contains(last, "  sent 100  ") || !strings.HasSuffix(last, "  errors 0") {
		t.Errorf("got last progress line %q, want elapsed, sent 100, accepted/s and errors 0", last)
	}
}

// paramErrorFields returns the Field of every *ParamError joined in err.
func paramErrorFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("got error %v of type %T, want joined errors", err, err)
	}
	var fields []string
	for _, e := range joined.Unwrap() {
		var pe *ParamError
		if !errors.As(e, &pe) {
			t.Fatalf("got error %v of type %T, want *ParamError", e, e)
		}
		fields = append(fields, pe.Field)
	}
	return fields
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	valid := Params{URL: "http://127.0.0.1:8080", Key: "k"}

	tests := []struct {
		name   string
		modify func(p *Params)
		want   []string
	}{
		{name: "defaults", modify: func(*Params) {}},
		{name: "https with path", modify: func(p *Params) { p.URL = "https://waybill.example/base/" }},
		{name: "limits", modify: func(p *Params) { p.Clients, p.Batch, p.Events = 4096, 1000, 1 }},
		{name: "lifecycle", modify: func(p *Params) { p.Mix = MixLifecycle }},
		{name: "missing URL and key", modify: func(p *Params) { p.URL, p.Key = "", "" }, want: []string{"URL", "Key"}},
		{name: "relative URL", modify: func(p *Params) { p.URL = "/v1" }, want: []string{"URL"}},
		{name: "ftp URL", modify: func(p *Params) { p.URL = "ftp://host" }, want: []string{"URL"}},
		{name: "unparsable URL", modify: func(p *Params) { p.URL = "http://[::1" }, want: []string{"URL"}},
		{name: "no host", modify: func(p *Params) { p.URL = "http:///v1" }, want: []string{"URL"}},
		{name: "too many clients", modify: func(p *Params) { p.Clients = 4097 }, want: []string{"Clients"}},
		{name: "negative clients", modify: func(p *Params) { p.Clients = -1 }, want: []string{"Clients"}},
		{name: "negative events", modify: func(p *Params) { p.Events = -5 }, want: []string{"Events"}},
		{name: "batch too large", modify: func(p *Params) { p.Batch = 1001 }, want: []string{"Batch"}},
		{name: "unknown mix", modify: func(p *Params) { p.Mix = "random" }, want: []string{"Mix"}},
		{name: "negative duration", modify: func(p *Params) { p.Duration = -time.Second }, want: []string{"Duration"}},
		{
			name:   "everything wrong",
			modify: func(p *Params) { *p = Params{Clients: -1, Events: -1, Batch: -1, Mix: "x", Duration: -1} },
			want:   []string{"URL", "Key", "Clients", "Events", "Batch", "Mix", "Duration"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := valid
			tt.modify(&p)
			got := paramErrorFields(t, p.WithDefaults().Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("invalid fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParamsWithDefaults(t *testing.T) {
	t.Parallel()
	p := &Params{URL: "http://h", Key: "k"}

	got := p.WithDefaults()
	want := &Params{URL: "http://h", Key: "k", Clients: 64, Events: 100_000, Batch: 1, Mix: MixPlanned}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults mismatch (-want +got):\n%s", diff)
	}
	if p.Clients != 0 {
		t.Errorf("got receiver Clients %d after WithDefaults, want it unchanged at 0", p.Clients)
	}
}

func TestRunInvalidParams(t *testing.T) {
	t.Parallel()

	res, err := Run(t.Context(), &Params{URL: "localhost:8080", Key: "k"})
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Field != "URL" {
		t.Errorf("Run: got error %v, want a *ParamError for URL", err)
	}
	if res != nil {
		t.Errorf("Run: got Result %+v, want nil", res)
	}
	if _, err := Run(t.Context(), nil); !errors.As(err, &pe) {
		t.Errorf("Run(nil params): got error %v, want a *ParamError", err)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

	tests := []struct {
		header string
		want   time.Duration
	}{
		{"0", 0},
		{"1", time.Second},
		{" 1 ", time.Second},
		{"120", time.Second},
		{"99999999999999999999", throttleDelayDefault}, // not an int; not a date
		{"-3", 0},
		{"", throttleDelayDefault},
		{"soon", throttleDelayDefault},
		{now.Add(500 * time.Millisecond).Format(http.TimeFormat), 0}, // HTTP dates have whole seconds
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Second},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.header, now); got != tt.want {
			t.Errorf("retryDelay(%q): got %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestPlanUnits(t *testing.T) {
	t.Parallel()
	planned, reserved := &eventTemplate{}, &eventTemplate{}

	tests := []struct {
		name string
		plan plan
		want [][2]span
	}{
		{
			name: "planned",
			plan: plan{events: 5, batch: 2},
			want: [][2]span{
				{{tmpl: planned, id: 1, subject: 1, n: 2}},
				{{tmpl: planned, id: 3, subject: 3, n: 2}},
				{{tmpl: planned, id: 5, subject: 5, n: 1}},
			},
		},
		{
			name: "lifecycle",
			plan: plan{events: 7, batch: 2, lifecycle: true},
			want: [][2]span{
				{{tmpl: planned, id: 1, subject: 1, n: 2}, {tmpl: reserved, id: 3, subject: 1, n: 2}},
				{{tmpl: planned, id: 5, subject: 3, n: 2}, {tmpl: reserved, id: 7, subject: 3, n: 1}},
			},
		},
		{
			name: "lifecycle single",
			plan: plan{events: 3, batch: 1, lifecycle: true},
			want: [][2]span{
				{{tmpl: planned, id: 1, subject: 1, n: 1}, {tmpl: reserved, id: 2, subject: 1, n: 1}},
				{{tmpl: planned, id: 3, subject: 2, n: 1}, {tmpl: reserved, id: 4, subject: 2, n: 0}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl := tt.plan
			pl.planned, pl.reserved = planned, reserved
			var got [][2]span
			for k := range pl.units() {
				first, second := pl.unit(k)
				got = append(got, [2]span{first, second})
			}
			// The empty second span of a planned unit has no template.
			for i := range tt.want {
				if !pl.lifecycle {
					tt.want[i][1] = span{}
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(span{}), cmp.Comparer(func(a, b *eventTemplate) bool { return a == b })); diff != "" {
				t.Errorf("units mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpanBody(t *testing.T) {
	t.Parallel()
	tmpl, err := newEventTemplate("run", "t", time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("CET", 3600)), json.RawMessage(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	event := func(id, subject string) string {
		return `{"specversion":"1.0","id":"run-` + id + `","source":"loadgen/run","type":"t","subject":"loadgen:run-` + subject +
			`","time":"2026-11-26T10:00:00+01:00","datacontenttype":"application/json","data":{"x":1}}`
	}
	s := span{tmpl: tmpl, id: 7, subject: 3, n: 2}

	if got, want := string(s.appendBody(nil, true)), "["+event("7", "3")+","+event("8", "4")+"]"; got != want {
		t.Errorf("batch body: got\n%s\nwant\n%s", got, want)
	}
	s.n = 1
	if got, want := string(s.appendBody([]byte("stale"), false)), "stale"+event("7", "3"); got != want {
		t.Errorf("single body: got\n%s\nwant\n%s", got, want)
	}
}

// TestTemplateIsTheBuildersEvent checks that an event rendered from a
// template is the CloudEvent the builder makes with its numbers.
func TestTemplateIsTheBuildersEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	pl, err := newPlan("run", &Params{Events: 2, Batch: 1, Mix: MixLifecycle}, at)
	if err != nil {
		t.Fatal(err)
	}
	planned, err := plannedData()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tmpl *eventTemplate
		typ  event.Type
		data any
	}{
		{pl.planned, event.ShipmentPlanned, planned},
		{pl.reserved, event.InventoryReserved, reservedData(planned)},
	} {
		want, err := event.CloudEvent{ID: "run-1234", Source: "loadgen/run", Type: tt.typ, Subject: "loadgen:run-56",
			Time: at, Data: tt.data}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.tmpl.appendEvent(nil, 1234, 56); string(got) != string(want) {
			t.Errorf("%s: template gives\n%s\nwant the builder's\n%s", tt.typ, got, want)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	r := &Result{
		RunID:    "0193a1b2-0000-7000-8000-000000000000",
		Accepted: 99_000, Duplicates: 500, Rejected: 300, Throttled: 12, Errors: 200, Requests: 100_012, Sent: 100_000,
		Elapsed:         3210987654 * time.Nanosecond,
		EventsPerSecond: 30987.4,
		RequestLatency: Latencies{
			P50: 1234567 * time.Nanosecond, P90: 2345678 * time.Nanosecond,
			P99: 456789 * time.Microsecond / 100, Max: 1500 * time.Millisecond,
		},
	}
	var got strings.Builder
	r.WriteSummary(&got)

	want := strings.Join([]string{
		"run 0193a1b2-0000-7000-8000-000000000000: 100000 events in 3.211s, 30987 events/s",
		"request latency: p50 1.23ms  p90 2.35ms  p99 4.57ms  max 1.5s",
		"accepted 99000  duplicates 500  rejected 300  throttled 12  errors 200  requests 100012",
		"",
	}, "\n")
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("WriteSummary mismatch (-want +got):\n%s", diff)
	}
}

func TestParamErrorText(t *testing.T) {
	t.Parallel()
	err := (&Params{URL: "http://h", Key: "k", Clients: 5000}).WithDefaults().Validate()
	got := err.Error()
	want := "invalid loadgen params: Clients must be between 1 and 4096, got 5000"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slices.Equal(paramErrorFields(t, err), []string{"Clients"}) {
		t.Errorf("got fields %v, want [Clients]", paramErrorFields(t, err))
	}
}
