package connector

import "context"

// Connector delivers actions to one outside system.
//
// Lifecycle: a connector is built once at start-up by its package's
// constructor, registered for one or more kinds in a [Registry], called by
// the job runner for as long as the process runs and, if it implements
// io.Closer, closed once at shutdown after the runner has stopped. Close must
// be idempotent.
//
// Concurrency: Deliver is called from many goroutines at once and must be
// safe for that.
//
// Deliver rules:
//
//   - It honours ctx: it returns promptly, with an error, once ctx is done,
//     and every outbound call it makes has a deadline of its own as well.
//   - It makes one attempt. The runner owns retries and back-off; a
//     connector does not loop or sleep.
//   - It is idempotent under a.IdempotencyKey. A job may run again after a
//     crash, a timeout or a lost reply, so the same action can arrive any
//     number of times. The connector sends the key to a target that
//     deduplicates on it or, when the target cannot, reads the target's
//     state first and skips work already done.
//   - It does not modify a, and does not keep it after returning.
//   - Its error decides the job's fate (see [Classify]): nil completes the
//     job; [Permanent] errors end it as a dead letter at once; all other
//     errors are retried, after at least the hint of a [Retryable] error.
//     When a request went out but no reply came back, the error wraps
//     [ErrOutcomeUnknown].
//   - It does not log the error it returns; the runner logs it once.
type Connector interface {
	// Name identifies the connector in logs and metrics, such as "webhook"
	// or "odoo". It is constant for the connector's lifetime.
	Name() string

	// Deliver performs one attempt of action a against the connector's
	// target.
	Deliver(ctx context.Context, a *Action) error
}
