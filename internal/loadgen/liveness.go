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
		l.goneErr = &ServerGoneError{Failing: now - l.failingSince, Err: err}
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
		return &ServerGoneError{Err: l.lastErr}
	}
	return nil
}

// ServerGoneError is the error Run returns when the server is gone; it
// matches ErrServerGone with errors.Is and unwraps to the last transport
// error.
type ServerGoneError struct {
	// Failing is how long every request had failed when the run stopped;
	// 0 when the run ended with no request answered at all.
	Failing time.Duration
	// Err is the last transport error.
	Err error
}

// Error implements error, on one line.
func (e *ServerGoneError) Error() string {
	if e.Failing == 0 {
		return fmt.Sprintf("%v: no request was answered: %v", ErrServerGone, e.Err)
	}
	return fmt.Sprintf("%v: every request failed for %s: %v", ErrServerGone, e.Failing.Round(time.Millisecond), e.Err)
}

// Unwrap returns the last transport error.
func (e *ServerGoneError) Unwrap() error { return e.Err }

// Is reports whether target is ErrServerGone.
func (e *ServerGoneError) Is(target error) bool { return target == ErrServerGone }
