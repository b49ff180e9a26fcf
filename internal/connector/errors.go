package connector

import (
	"errors"
	"time"
)

// ErrOutcomeUnknown reports that a request may have been applied but no
// reply came: it was fully written and then the connection broke or the
// deadline passed before the response. It is retryable. Because the target
// may already have acted, the next attempt must not assume it did not: it
// relies on the idempotency key, or re-reads the target's state before
// acting again.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have been applied but no reply came")

// PermanentError marks an error that retrying cannot fix, such as the target
// rejecting the action as invalid. A job that fails with it becomes a dead
// letter without further attempts. Build one with [Permanent].
type PermanentError struct {
	// Err is the underlying error.
	Err error
}

// Error returns the underlying error's message.
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent error"
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

func (e *PermanentError) class() (bool, time.Duration) { return true, 0 }

// RetryableError marks an error worth retrying, with a hint of how long to
// wait first. Build one with [Retryable]. Errors that carry no class are
// retried too; RetryableError exists to carry the hint and to override a
// [PermanentError] it wraps.
type RetryableError struct {
	// Err is the underlying error.
	Err error
	// RetryAfter is the least time to wait before the next attempt, as the
	// target asked (for HTTP, its Retry-After header). Zero means no hint:
	// the runner's back-off alone decides.
	RetryAfter time.Duration
}

// Error returns the underlying error's message.
func (e *RetryableError) Error() string {
	if e.Err == nil {
		return "retryable error"
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *RetryableError) Unwrap() error { return e.Err }

func (e *RetryableError) class() (bool, time.Duration) { return false, max(e.RetryAfter, 0) }

// classed is implemented by the error types that carry a class.
type classed interface {
	error
	class() (permanent bool, retryAfter time.Duration)
}

// Permanent returns err marked as permanent, or nil when err is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Retryable returns err marked as retryable no sooner than after, or nil
// when err is nil. A negative after counts as zero (no hint).
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, RetryAfter: max(after, 0)}
}

// Classify decides, from its type alone, what a Deliver error means for the
// job.
//
// The outermost [*PermanentError] or [*RetryableError] in err's tree (in the
// order errors.As searches) decides: permanent, or retryable with its
// RetryAfter hint. An error with neither is retryable with no hint; that
// covers context.DeadlineExceeded, context.Canceled, net.Error values,
// [ErrOutcomeUnknown] and anything unforeseen. Retrying the unforeseen is
// the safe default: a job that keeps failing still ends as a dead letter
// once it runs out of attempts. A nil err is reported as not permanent with
// no hint.
func Classify(err error) (permanent bool, retryAfter time.Duration) {
	var c classed
	if errors.As(err, &c) {
		return c.class()
	}
	return false, 0
}

// WaitingError marks an action that cannot be done yet because another
// one it depends on is not done (an invoice whose picking validation is
// still retrying). The runner puts the job off without spending an
// attempt, up to a limit, instead of counting the wait as failures. Build
// one with [Waiting].
type WaitingError struct {
	Err error
	// After is how long to put the job off; zero lets the runner choose.
	After time.Duration
}

// Error returns the underlying error's message.
func (e *WaitingError) Error() string {
	if e.Err == nil {
		return "waiting"
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *WaitingError) Unwrap() error { return e.Err }

func (e *WaitingError) class() (bool, time.Duration) { return false, max(e.After, 0) }

// Waiting returns err marked as waiting for another action, or nil when
// err is nil. Past the runner's limit it counts as retryable.
func Waiting(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &WaitingError{Err: err, After: max(after, 0)}
}

// IsWaiting reports whether err is a [WaitingError], and its After.
func IsWaiting(err error) (bool, time.Duration) {
	var w *WaitingError
	if errors.As(err, &w) {
		return true, w.After
	}
	return false, 0
}
