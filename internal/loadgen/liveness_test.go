package loadgen

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter records the lines written to it, and counts those written
// after close.
type lineWriter struct {
	mu     sync.Mutex
	lines  []string
	closed bool
	late   int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.late++
	}
	w.lines = append(w.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// close marks the end of the run and returns the lines written so far.
func (w *lineWriter) close() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return append([]string(nil), w.lines...)
}

// TestRunServerGone runs against a real loopback server that goes away in
// the middle of the run: Run stops with ErrServerGone soon after, counts no
// event of a failed request as sent, and writes no progress line after it
// returns.
func TestRunServerGone(t *testing.T) {
	t.Parallel()
	var gone sync.WaitGroup
	var once sync.Once
	var fake *fakeIngest
	fake = newFakeIngest(t, fakeOpts{onEvent: func(n int64) {
		if n >= 300 {
			once.Do(func() {
				// Not from the handler itself: closing the connections
				// waits for them.
				gone.Go(func() {
					fake.srv.Listener.Close()
					fake.srv.CloseClientConnections()
				})
			})
		}
	}})
	t.Cleanup(gone.Wait)
	progress := &lineWriter{}
	const events = 10_000_000

	start := time.Now()
	res, err := Run(t.Context(), &Params{URL: fake.srv.URL, Key: fake.opts.key, Clients: 8, Events: events, Progress: progress})
	took := time.Since(start)
	lines := progress.close()

	if !errors.Is(err, ErrServerGone) {
		t.Fatalf("Run: got error %v, want %v", err, ErrServerGone)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("got a multi-line error %q, want one line", err)
	}
	if res == nil {
		t.Fatal("Run: got nil Result, want one")
	}
	fake.checkClean(t)
	fake.mu.Lock()
	stored := fake.events
	fake.mu.Unlock()
	if res.Accepted < 1 || int64(res.Accepted) > stored {
		t.Errorf("got %d accepted, want between 1 and the %d the server stored", res.Accepted, stored)
	}
	if got, want := res.Sent, res.Accepted+res.Duplicates+res.Rejected; got != want {
		t.Errorf("got %d sent, want %d: the events of failed requests are not sent", got, want)
	}
	if res.Errors == 0 {
		t.Errorf("got no errors, want the failed requests counted as errors")
	}
	if took > 20*time.Second || res.Elapsed > took {
		t.Errorf("Run took %v with Elapsed %v; want it to stop about %v after the server went away", took, res.Elapsed, GoneAfter)
	}
	if len(lines) == 0 {
		t.Fatal("got no progress lines, want at least the last one")
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "  sent "+strconv.Itoa(res.Sent)+"  ") {
		t.Errorf("got last progress line %q, want the final one with sent %d", last, res.Sent)
	}
	if progress.late != 0 {
		t.Errorf("got %d progress lines after Run returned, want none", progress.late)
	}
}

func TestLiveness(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("connect: connection refused")
	type step struct {
		at     time.Duration
		answer bool // else a transport failure
	}
	tests := []struct {
		name     string
		steps    []step
		wantGone bool
	}{
		{
			name:  "failures shorter than a second",
			steps: []step{{0, true}, {100 * time.Millisecond, false}, {900 * time.Millisecond, false}},
		},
		{
			name: "an answer between failures",
			steps: []step{{0, true}, {100 * time.Millisecond, false}, {600 * time.Millisecond, true},
				{700 * time.Millisecond, false}, {1500 * time.Millisecond, false}},
		},
		{
			name:     "failures for a second",
			steps:    []step{{0, true}, {100 * time.Millisecond, false}, {500 * time.Millisecond, false}, {1100 * time.Millisecond, false}},
			wantGone: true,
		},
		{
			name:     "never answered, failures for a second",
			steps:    []step{{0, false}, {time.Second, false}},
			wantGone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, stop := context.WithCancelCause(t.Context())
			defer stop(nil)
			l := newLiveness(time.Now(), time.Second, stop)
			for _, s := range tt.steps {
				if s.answer {
					l.answered(s.at)
				} else {
					l.failed(s.at, errRefused)
				}
			}
			stopped := errors.Is(context.Cause(ctx), ErrServerGone)
			if stopped != tt.wantGone {
				t.Errorf("run stopped as gone: got %v, want %v (cause %v)", stopped, tt.wantGone, context.Cause(ctx))
			}
			err := l.gone(context.Cause(ctx))
			if got := errors.Is(err, ErrServerGone); got != tt.wantGone {
				t.Errorf("gone: got %v, want an ErrServerGone: %v", err, tt.wantGone)
			}
			if tt.wantGone && !errors.Is(err, errRefused) {
				t.Errorf("gone: got %v, want it to wrap the last transport error", err)
			}
			var ge *ServerGoneError
			if tt.wantGone && (!errors.As(err, &ge) || ge.Failing < time.Second) {
				t.Errorf("gone: got %#v, want a *ServerGoneError failing for at least 1s", err)
			}
		})
	}

	t.Run("no answer at all", func(t *testing.T) {
		t.Parallel()
		l := newLiveness(time.Now(), time.Second, func(error) {})
		l.failed(0, errRefused)
		err := l.gone(context.Canceled)
		if !errors.Is(err, ErrServerGone) || !errors.Is(err, errRefused) {
			t.Errorf("gone: got %v, want ErrServerGone wrapping the transport error", err)
		}
		if got, want := err.Error(), "server gone: no request was answered: connect: connection refused"; got != want {
			t.Errorf("got error text %q, want %q", got, want)
		}
	})
}
