package bench_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/bench"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// engines runs fn once per store as a subtest, with the Options of a fresh
// one: SQLite always, PostgreSQL when WAYBILL_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, opts bench.Options)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, bench.Options{DataDir: t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, bench.Options{DatabaseURL: sqldbtest.PostgresSchemaURL(t)})
	})
}

// start runs a ceiling server with opts until the returned stop is called
// (or the test ends); stop returns Run's error.
func start(t *testing.T, opts bench.Options) (*bench.Server, func() error) {
	t.Helper()
	srv, err := bench.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv, run(t, srv)
}

// run runs srv until the returned stop is called (or the test ends); stop
// returns Run's error.
func run(t testing.TB, srv *bench.Server) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestStoresWhatItAcknowledged drives the server with loadgen, single
// events and batches, stops it and reads the store back: every acknowledged
// event is there once, as it was sent.
func TestStoresWhatItAcknowledged(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, opts bench.Options) {
		srv, stop := start(t, opts)
		var want []string
		for _, p := range []loadgen.Params{
			{Clients: 16, Events: 1500, Batch: 1},
			{Clients: 4, Events: 1234, Batch: 50, Mix: loadgen.MixLifecycle},
		} {
			p.URL, p.Key = srv.URL(), "any"
			res, err := loadgen.Run(t.Context(), &p)
			if err != nil {
				t.Fatalf("loadgen: %v", err)
			}
			if res.Accepted != p.Events || res.Errors != 0 {
				t.Fatalf("loadgen: got %d accepted and %d errors, want %d and 0", res.Accepted, res.Errors, p.Events)
			}
			for n := 1; n <= p.Events; n++ {
				want = append(want, res.RunID+"-"+strconv.Itoa(n))
			}
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		recs, err := bench.Records(t.Context(), opts)
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.ID)
			if !strings.Contains(string(r.Body), `"id":"`+r.ID+`"`) || !strings.HasPrefix(string(r.Body), "{") {
				t.Errorf("event %s stored as %.80s, want the event as sent", r.ID, r.Body)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored event ids mismatch (-acknowledged +stored):\n%s", diff)
		}
	})
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	opts := bench.Options{DataDir: t.TempDir(), MaxBatch: 2}
	srv, stop := start(t, opts)

	tests := []struct {
		name, contentType, body string
		want                    int
	}{
		{"not JSON", "application/cloudevents+json", `{"id":`, http.StatusUnprocessableEntity},
		{"no id", "application/cloudevents+json", `{"type":"x"}`, http.StatusUnprocessableEntity},
		{"batch not an array", "application/cloudevents-batch+json", `{"id":"a"}`, http.StatusBadRequest},
		{"empty batch", "application/cloudevents-batch+json", `[]`, http.StatusUnprocessableEntity},
		{"batch too large", "application/cloudevents-batch+json", `[{"id":"a"},{"id":"b"},{"id":"c"}]`, http.StatusUnprocessableEntity},
		{"batch with an event without id", "application/cloudevents-batch+json", `[{"id":"a"},{}]`, http.StatusUnprocessableEntity},
		{"media type", "text/plain", `{"id":"a"}`, http.StatusUnsupportedMediaType},
		{"accepted", "application/json", `{"id":"kept"}`, http.StatusAccepted},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/v1/events", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", tt.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: got status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	recs, err := bench.Records(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != "kept" {
		t.Errorf("got stored %v, want only the accepted event", recs)
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	for _, opts := range []bench.Options{{}, {DataDir: t.TempDir(), DatabaseURL: "postgres://h/db"}} {
		if srv, err := bench.New(t.Context(), opts); err == nil {
			srv.Close()
			t.Errorf("New(%+v): got no error, want one for naming no store or two", opts)
		}
	}
	srv, err := bench.New(t.Context(), bench.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close of a server that never ran: %v", err)
	}
}
