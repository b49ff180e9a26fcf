package loadgen

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWorkerReusesBuffer(t *testing.T) {
	t.Parallel()
	fake := newFakeIngest(t, fakeOpts{})
	tr := newTransport(1, 1)
	t.Cleanup(tr.CloseIdleConnections)
	tmpl, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Header.Set("Authorization", "Bearer "+fake.opts.key)
	tmpl.Header.Set("Content-Type", "application/cloudevents+json")
	pl, err := newPlan("run", &Params{Events: 50, Batch: 1, Mix: MixPlanned}, time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("CET", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	w := newWorker(&http.Client{Transport: tr}, tmpl, pl, &next, false)
	first := w.buf

	w.run(t.Context())

	fake.checkClean(t)
	if got := w.counts.accepted.Load(); got != 50 {
		t.Errorf("got %d accepted, want 50", got)
	}
	if w.buf != first {
		t.Errorf("worker replaced its buffer; want one buffer reused for all %d requests", first.sent)
	}
	if got, want := first.sent, 50; got != want {
		t.Errorf("got %d requests over the first buffer, want %d", got, want)
	}
}

// lateTransport answers 202 at once and reads each request body afterwards
// in a goroutine of its own, as a RoundTripper may. It calls no trace hooks.
type lateTransport struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	ids  map[string]bool
	bad  []string
	seen int
}

func (lt *lateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	lt.wg.Go(func() {
		defer body.Close()
		raw, err := io.ReadAll(body)
		var e cloudEvent
		if err == nil {
			err = json.Unmarshal(raw, &e)
		}
		lt.mu.Lock()
		defer lt.mu.Unlock()
		lt.seen++
		switch {
		case err != nil:
			lt.bad = append(lt.bad, err.Error())
		case lt.ids[e.ID]:
			lt.bad = append(lt.bad, "id "+e.ID+" read twice")
		}
		lt.ids[e.ID] = true
	})
	return &http.Response{
		StatusCode: http.StatusAccepted,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"duplicate":false}`)),
		Request:    req,
	}, nil
}

func TestRunBodyReadAfterRoundTrip(t *testing.T) {
	t.Parallel()
	lt := &lateTransport{ids: map[string]bool{}}

	res, err := Run(t.Context(), &Params{
		URL: "http://waybill.invalid", Key: "k", Clients: 4, Events: 400,
		HTTPClient: &http.Client{Transport: lt},
	})
	lt.wg.Wait()
	if err != nil {
		t.Fatalf("Run: got error %v, want nil", err)
	}
	if res.Accepted != 400 {
		t.Errorf("got %d accepted, want 400", res.Accepted)
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.seen != 400 || len(lt.ids) != 400 {
		t.Errorf("transport read %d bodies with %d distinct ids, want 400 and 400", lt.seen, len(lt.ids))
	}
	for _, b := range lt.bad {
		t.Errorf("transport read a bad body: %s", b)
	}
}

func TestBufferReusable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		sent, conns, written int64
		want                 bool
	}{
		{name: "unused", want: true},
		{name: "all writes ended", sent: 3, conns: 4, written: 4, want: true},
		{name: "write in flight", sent: 3, conns: 4, written: 3},
		{name: "no trace hooks called", sent: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &buffer{sent: int(tt.sent)}
			b.conns.Store(tt.conns)
			b.writes.Store(tt.written)
			if got := b.reusable(); got != tt.want {
				t.Errorf("reusable(): got %v, want %v", got, tt.want)
			}
		})
	}
}
