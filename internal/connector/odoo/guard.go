package odoo

import (
	"context"
	"sync"
	"time"
)

// limiter is a token bucket: rate tokens per second, at most burst stored.
// Waiters reserve a token (the balance may go negative) and then sleep
// until it is theirs, so they are served in arrival order.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// wait blocks until a token is available or ctx is done. A token reserved
// by a waiter whose ctx ends is given back.
func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.burst, l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
	l.tokens--
	var delay time.Duration
	if l.tokens < 0 {
		delay = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		l.tokens = min(l.burst, l.tokens+1)
		l.mu.Unlock()
		return ctx.Err()
	}
}

// breakerState is the state of a [breaker].
type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

// breaker is a circuit breaker: it opens after a number of consecutive
// unhealthy results, stays open for a cooldown, then lets one probe call
// through (half-open): success closes it, failure opens it again.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	state     breakerState
	failures  int
	openUntil time.Time
	probing   bool
}

func newBreaker(threshold int, cooldown time.Duration, now func() time.Time) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, now: now}
}

// allow reports whether a call may go out; when not, it returns how long the
// caller should wait. A call allowed while half-open is the probe and must
// report its result.
func (b *breaker) allow() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerOpen:
		now := b.now()
		if now.Before(b.openUntil) {
			return false, b.openUntil.Sub(now)
		}
		b.state = breakerHalfOpen
		b.probing = true
		return true, 0
	case breakerHalfOpen:
		if b.probing {
			// One probe at a time; the others come back shortly.
			return false, min(b.cooldown, time.Second)
		}
		b.probing = true
		return true, 0
	}
	return true, 0
}

// record reports a call's result: healthy means the server answered (even
// with an application error). It returns the state change, if any.
func (b *breaker) record(healthy bool) (opened, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if healthy {
		closed = b.state != breakerClosed
		b.state = breakerClosed
		b.failures = 0
		b.probing = false
		return false, closed
	}
	b.failures++
	if b.state == breakerHalfOpen || b.failures >= b.threshold {
		opened = b.state != breakerOpen
		b.state = breakerOpen
		b.openUntil = b.now().Add(b.cooldown)
		b.probing = false
	}
	return opened, false
}

// release gives back a half-open probe slot when the call ended without
// telling anything about the server (the caller's context ended first).
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerHalfOpen {
		b.probing = false
	}
}

// isOpen reports whether the breaker currently refuses calls.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == breakerOpen && b.now().Before(b.openUntil)
}
