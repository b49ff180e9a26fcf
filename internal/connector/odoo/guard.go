package odoo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// waitRate blocks until lim grants one call or ctx is done, reading time
// from now (the client's clock). Waiters reserve their token at once (the
// balance may go negative) and are served in arrival order; a waiter whose
// ctx ends gives its reservation back and gets ctx.Err(). Unlike
// [rate.Limiter.Wait] it does not fail early when the wait would outlast
// ctx's deadline: the deadline ends the wait, so the caller sees
// context.DeadlineExceeded as for any other call that ran out of time.
func waitRate(ctx context.Context, lim *rate.Limiter, now func() time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := now()
	r := lim.ReserveN(t, 1)
	if !r.OK() { // only when the burst is below 1, which Config.Validate refuses
		return fmt.Errorf("rate limiter with burst %d refuses a call", lim.Burst())
	}
	delay := r.DelayFrom(t)
	if delay <= 0 {
		return nil
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		r.CancelAt(now())
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
	downSince time.Time // when it last opened from closed
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
// with an application error). It returns the state change, if any, and on
// closing when the outage began: when the breaker opened after last being
// closed.
func (b *breaker) record(healthy bool) (opened, closed bool, downSince time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if healthy {
		closed = b.state != breakerClosed
		b.state = breakerClosed
		b.failures = 0
		b.probing = false
		return false, closed, b.downSince
	}
	b.failures++
	if b.state == breakerHalfOpen || b.failures >= b.threshold {
		opened = b.state != breakerOpen
		if b.state == breakerClosed {
			b.downSince = b.now()
		}
		b.state = breakerOpen
		b.openUntil = b.now().Add(b.cooldown)
		b.probing = false
	}
	return opened, false, time.Time{}
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
