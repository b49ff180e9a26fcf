package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// liveness tells a server that is gone from one that is slow or had a
// hiccup: the run stops when every request has failed at the transport
// level for goneAfter, with no answer in between. Workers report each
// request's fate with the time elapsed since the run started; answers take
// two atomic operations, failures (rare while the server lives) a mutex.
type liveness struct {
	start     time.Time
	goneAfter time.Duration
	stop      context.CancelCauseFunc

	answers    atomic.Int64 // requests answered with any status
	lastAnswer atomic.Int64 // nanoseconds from start to the latest answer

	mu           sync.Mutex
	failing      bool          // a transport failure came after the latest answer
	failingSince time.Duration // when the first of those failures came
	failures     int64         // transport failures in all
	lastErr      error         // the latest transport failure
	goneErr      error         // set once the server is judged gone
}

// newLiveness returns a liveness for a run started at start that calls stop
// with an error wrapping ErrServerGone once the server is gone.
func newLiveness(start time.Time, goneAfter time.Duration, stop context.CancelCauseFunc) *liveness {
	return &liveness{start: start, goneAfter: goneAfter, stop: stop}
}

// since returns the time elapsed since the run started.
func (l *liveness) since() time.Duration { return time.Since(l.start) }

// answered records an answer received at now (since the run started).
func (l *liveness) answered(now time.Duration) {
	l.answers.Add(1)
	for {
		old := l.lastAnswer.Load()
		if int64(now) <= old || l.lastAnswer.CompareAndSwap(old, int64(now)) {
			return
		}
	}
}

// failed records a request that failed at the transport level at now with
// err, and stops the run when no request has been answered since the first
// failure at least goneAfter ago.
func (l *liveness) failed(now time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	l.lastErr = err
	if !l.failing || int64(l.failingSince) < l.lastAnswer.Load() {
		l.failing, l.failingSince = true, now
	}
	if l.goneErr == nil && now-l.failingSince >= l.goneAfter {
		l.goneErr = fmt.Errorf("%w: every request failed for %s: %w", ErrServerGone, now-l.failingSince, err)
		l.stop(l.goneErr)
	}
}

// gone returns the error that stopped the run because the server was gone,
// given the cause of the run's end; or, when the run ended with no request
// answered and some failed at the transport level, an error wrapping
// ErrServerGone that says so; otherwise nil.
func (l *liveness) gone(cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.goneErr != nil && errors.Is(cause, ErrServerGone) {
		return l.goneErr
	}
	if l.answers.Load() == 0 && l.failures > 0 {
		return fmt.Errorf("%w: no request was answered: %w", ErrServerGone, l.lastErr)
	}
	return nil
}
