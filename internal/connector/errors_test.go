package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name          string
		err           error
		wantPermanent bool
		wantAfter     time.Duration
	}{
		{name: "nil", err: nil},
		{name: "unclassified", err: base},
		{name: "deadline_exceeded", err: context.DeadlineExceeded},
		{name: "canceled", err: context.Canceled},
		{name: "net_error", err: netErr},
		{name: "outcome_unknown", err: fmt.Errorf("posting: %w: %w", connector.ErrOutcomeUnknown, io.EOF)},
		{name: "permanent", err: connector.Permanent(base), wantPermanent: true},
		{name: "permanent_wrapped", err: fmt.Errorf("posting: %w", connector.Permanent(base)), wantPermanent: true},
		{name: "permanent_deadline", err: connector.Permanent(context.DeadlineExceeded), wantPermanent: true},
		{name: "retryable", err: connector.Retryable(base, 0)},
		{name: "retryable_hint", err: connector.Retryable(base, 7*time.Second), wantAfter: 7 * time.Second},
		{name: "retryable_negative_hint", err: connector.Retryable(base, -time.Second)},
		{name: "retryable_struct_negative_hint", err: &connector.RetryableError{Err: base, RetryAfter: -time.Second}},
		{name: "retryable_wrapped", err: fmt.Errorf("posting: %w", connector.Retryable(base, time.Minute)), wantAfter: time.Minute},
		{name: "outer_retryable_wins", err: connector.Retryable(connector.Permanent(base), time.Second), wantAfter: time.Second},
		{name: "outer_permanent_wins", err: connector.Permanent(connector.Retryable(base, time.Second)), wantPermanent: true},
		{name: "joined_first_wins", err: errors.Join(connector.Permanent(base), connector.Retryable(base, time.Second)), wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			permanent, after := connector.Classify(tt.err)
			if permanent != tt.wantPermanent || after != tt.wantAfter {
				t.Errorf("Classify(%v): got (%t, %v), want (%t, %v)", tt.err, permanent, after, tt.wantPermanent, tt.wantAfter)
			}
		})
	}
}

func TestErrorClassesWrap(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	for _, err := range []error{connector.Permanent(base), connector.Retryable(base, time.Second)} {
		if !errors.Is(err, base) {
			t.Errorf("errors.Is(%T, base): got false, want true", err)
		}
		if got, want := err.Error(), base.Error(); got != want {
			t.Errorf("%T.Error(): got %q, want %q", err, got, want)
		}
	}
	var perr *connector.PermanentError
	if !errors.As(fmt.Errorf("x: %w", connector.Permanent(base)), &perr) || perr.Err != base {
		t.Errorf("errors.As(*PermanentError): got %v, want one wrapping base", perr)
	}
	var rerr *connector.RetryableError
	if !errors.As(connector.Retryable(base, 3*time.Second), &rerr) || rerr.RetryAfter != 3*time.Second {
		t.Errorf("errors.As(*RetryableError): got %+v, want RetryAfter 3s", rerr)
	}
}

func TestClassConstructorsKeepNil(t *testing.T) {
	t.Parallel()
	if err := connector.Permanent(nil); err != nil {
		t.Errorf("Permanent(nil): got %v, want nil", err)
	}
	if err := connector.Retryable(nil, time.Second); err != nil {
		t.Errorf("Retryable(nil, 1s): got %v, want nil", err)
	}
}
