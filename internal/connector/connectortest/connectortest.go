package connectortest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/shipment"
)

// Answer is how a [Target] answers the requests that reach it. The zero
// value is AnswerOK.
type Answer int

// The answers a Target must be able to give. Each names a behaviour of the
// outside system; a target for a protocol other than HTTP gives its
// protocol's equivalent.
const (
	// AnswerOK accepts the request (HTTP 200).
	AnswerOK Answer = iota
	// AnswerServerError fails the request on the server's side (HTTP 500).
	AnswerServerError
	// AnswerReject refuses the request as invalid (HTTP 400).
	AnswerReject
	// AnswerThrottle refuses the request for now and asks for a wait of
	// ThrottleRetryAfter (HTTP 429 with Retry-After: 7).
	AnswerThrottle
	// AnswerHang reads the request and never answers, until the connector
	// gives up on it or the target stops.
	AnswerHang
	// AnswerDrop reads the whole request, then closes the connection
	// without answering.
	AnswerDrop
)

// ThrottleRetryAfter is the wait a target answering AnswerThrottle asks for.
const ThrottleRetryAfter = 7 * time.Second

// String returns the answer's name, such as "AnswerOK".
func (a Answer) String() string {
	switch a {
	case AnswerOK:
		return "AnswerOK"
	case AnswerServerError:
		return "AnswerServerError"
	case AnswerReject:
		return "AnswerReject"
	case AnswerThrottle:
		return "AnswerThrottle"
	case AnswerHang:
		return "AnswerHang"
	case AnswerDrop:
		return "AnswerDrop"
	}
	return fmt.Sprintf("Answer(%d)", int(a))
}

// Request is what a Target saw of one request that reached it: the
// identifiers the suite checks.
type Request struct {
	// IdempotencyKey is the idempotency key the request carried, or "".
	IdempotencyKey string
	// CorrelationID is the correlation id the request carried, or "".
	CorrelationID string
}

// Target is a loopback fake of a connector's outside system, as a Harness
// starts it. Its methods are called from the test goroutine while the
// connector's requests are served, so they must be safe for concurrent use.
type Target interface {
	// SetAnswer makes the target answer every request that arrives from now
	// on as a says.
	SetAnswer(a Answer)
	// Received returns what the target saw of each request that reached it
	// so far, in arrival order. A request counts once the target has read
	// it, before it answers.
	Received() []Request
}

// Harness adapts one connector implementation to [Exercise].
type Harness struct {
	// StartFunc starts a fresh target for one test case, arranges with
	// t.Cleanup for it to stop (releasing any request it holds) and returns
	// a connector pointed at it together with the target. The target
	// answers AnswerOK until told otherwise. Cases run in parallel, so each
	// call must return an independent pair. The connector's own request
	// timeout should be well above a second, so that the suite's context
	// deadlines are what end hung requests. Required.
	StartFunc func(t *testing.T) (connector.Connector, Target)

	// ActionFunc returns a new action that the connector accepts;
	// Exercise then sets its IdempotencyKey, CorrelationID and Attempt.
	// Nil uses a dispatch.release action with a small payload.
	ActionFunc func(t *testing.T) *connector.Action
}

// hangDeadline is how long the suite lets a hung request run before its
// context ends; promptGrace is how much later Deliver must have returned.
const (
	hangDeadline = 200 * time.Millisecond
	promptGrace  = 2 * time.Second
)

// Exercise runs the conformance suite against the connector h builds. Each
// case is a parallel subtest with its own target.
func Exercise(t *testing.T, h Harness) {
	t.Helper()
	if h.StartFunc == nil {
		t.Fatal("connectortest: Harness.StartFunc is nil")
	}

	t.Run("ok", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		if err := b.conn.Deliver(b.ctx, b.action); err != nil {
			t.Fatalf("Deliver: got error %v, want nil", err)
		}
		b.checkReceived(t, 1)
	})

	t.Run("server_error_is_retryable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		b.target.SetAnswer(AnswerServerError)
		err := b.conn.Deliver(b.ctx, b.action)
		checkClass(t, err, false, 0)
	})

	t.Run("reject_is_permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		b.target.SetAnswer(AnswerReject)
		err := b.conn.Deliver(b.ctx, b.action)
		checkClass(t, err, true, 0)
	})

	t.Run("throttle_is_retryable_with_hint", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		b.target.SetAnswer(AnswerThrottle)
		err := b.conn.Deliver(b.ctx, b.action)
		checkClass(t, err, false, ThrottleRetryAfter)
	})

	t.Run("hang_returns_at_deadline_retryable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		b.target.SetAnswer(AnswerHang)
		ctx, cancel := context.WithTimeout(b.ctx, hangDeadline)
		defer cancel()
		start := time.Now()
		err := b.conn.Deliver(ctx, b.action)
		elapsed := time.Since(start)
		checkClass(t, err, false, -1)
		if elapsed > hangDeadline+promptGrace {
			t.Errorf("Deliver against a hung target returned after %v, want within %v of the %v deadline", elapsed, promptGrace, hangDeadline)
		}
	})

	t.Run("cancelled_context_is_retryable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		start := time.Now()
		err := b.conn.Deliver(ctx, b.action)
		checkClass(t, err, false, -1)
		if elapsed := time.Since(start); elapsed > promptGrace {
			t.Errorf("Deliver with a cancelled context returned after %v, want within %v", elapsed, promptGrace)
		}
	})

	t.Run("dropped_reply_is_outcome_unknown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		b.target.SetAnswer(AnswerDrop)
		err := b.conn.Deliver(b.ctx, b.action)
		checkClass(t, err, false, -1)
		if !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Errorf("Deliver against a target that drops the connection: got error %v, want one that Is connector.ErrOutcomeUnknown", err)
		}
	})

	t.Run("identifiers_reach_target_on_every_attempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		answers := []Answer{AnswerServerError, AnswerThrottle, AnswerOK}
		for i, ans := range answers {
			b.target.SetAnswer(ans)
			a := *b.action
			a.Attempt = i + 1
			err := b.conn.Deliver(b.ctx, &a)
			if ans == AnswerOK {
				if err != nil {
					t.Fatalf("attempt %d (%v): got error %v, want nil", a.Attempt, ans, err)
				}
				continue
			}
			if permanent, _ := connector.Classify(err); err == nil || permanent {
				t.Fatalf("attempt %d (%v): got error %v (permanent %t), want a retryable error", a.Attempt, ans, err, permanent)
			}
		}
		b.checkReceived(t, len(answers))
	})

	t.Run("concurrent_deliveries", func(t *testing.T) {
		t.Parallel()
		b := setup(t, h)
		const n = 8
		actions := make([]*connector.Action, n)
		for i := range actions {
			a := *b.action
			a.IdempotencyKey = fmt.Sprintf("%s-%d", b.action.IdempotencyKey, i)
			actions[i] = &a
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, a := range actions {
			wg.Go(func() { errs[i] = b.conn.Deliver(b.ctx, a) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent Deliver %d: got error %v, want nil", i, err)
			}
		}
		seen := make(map[string]bool)
		for _, r := range b.target.Received() {
			seen[r.IdempotencyKey] = true
			if r.CorrelationID != b.action.CorrelationID {
				t.Errorf("target got correlation id %q, want %q", r.CorrelationID, b.action.CorrelationID)
			}
		}
		for _, a := range actions {
			if !seen[a.IdempotencyKey] {
				t.Errorf("target never got idempotency key %q", a.IdempotencyKey)
			}
		}
	})
}

// bundle is the per-case state of the suite.
type bundle struct {
	ctx    context.Context
	conn   connector.Connector
	target Target
	action *connector.Action
}

func setup(t *testing.T, h Harness) *bundle {
	t.Helper()
	conn, target := h.StartFunc(t)
	if conn == nil || target == nil {
		t.Fatal("connectortest: Harness.StartFunc returned a nil connector or target")
	}
	var a *connector.Action
	if h.ActionFunc != nil {
		a = h.ActionFunc(t)
	} else {
		a = defaultAction()
	}
	a.IdempotencyKey = "idem-" + rand.Text()
	a.CorrelationID = "corr-" + rand.Text()
	a.Attempt = 1
	return &bundle{
		ctx:    correlation.With(t.Context(), a.CorrelationID),
		conn:   conn,
		target: target,
		action: a,
	}
}

func defaultAction() *connector.Action {
	payload, _ := json.Marshal(map[string]any{"shipment_id": "shp_conformance", "dock": "D4"})
	return &connector.Action{
		Kind:       shipment.ActionDispatchRelease,
		ShipmentID: "shp_conformance",
		EventID:    "evt_conformance",
		Payload:    payload,
	}
}

// checkReceived checks that the target got at least n requests and that
// each carried the action's idempotency key and correlation id.
func (b *bundle) checkReceived(t *testing.T, n int) {
	t.Helper()
	got := b.target.Received()
	if len(got) < n {
		t.Fatalf("target received %d requests, want at least %d", len(got), n)
	}
	want := Request{IdempotencyKey: b.action.IdempotencyKey, CorrelationID: b.action.CorrelationID}
	for i, r := range got {
		if r != want {
			t.Errorf("request %d reached the target with %+v, want %+v", i, r, want)
		}
	}
}

// checkClass checks that err is non-nil and classified as wantPermanent with
// wantAfter as its hint; a negative wantAfter accepts any hint.
func checkClass(t *testing.T, err error, wantPermanent bool, wantAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("Deliver: got nil error, want a %s error", className(wantPermanent))
	}
	permanent, after := connector.Classify(err)
	if permanent != wantPermanent {
		t.Errorf("Classify(%v): got %s, want %s", err, className(permanent), className(wantPermanent))
	}
	if wantAfter >= 0 && after != wantAfter {
		t.Errorf("Classify(%v): got retry-after %v, want %v", err, after, wantAfter)
	}
}

func className(permanent bool) string {
	if permanent {
		return "permanent"
	}
	return "retryable"
}
