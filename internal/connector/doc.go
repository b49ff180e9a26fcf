// Package connector is the contract between the outbound job runner and the
// connectors that carry Waybill's decisions to other systems: the webhook
// connector, Odoo, TMS and carrier connectors.
//
// A state change (a shipment released for dispatch, a picking validated, an
// invoice to prepare) inserts an outbound job in the same transaction. The
// job runner turns each job into an [Action], finds the [Connector]
// registered for the action's kind in a [Registry], and calls
// [Connector.Deliver]. The error Deliver returns decides what happens to the
// job:
//
//   - nil: the job is complete;
//   - a [*PermanentError]: retrying cannot help (the target refused the
//     action as invalid); the job is discarded as a dead letter at once;
//   - anything else: the job is retried with back-off, no sooner than the
//     hint of a [*RetryableError], until it runs out of attempts and becomes
//     a dead letter.
//
// [Classify] makes that decision from the error's type, never from its
// message. [ErrOutcomeUnknown] marks the uncomfortable middle: the request
// was sent but no reply came, so the target may or may not have applied it.
//
// # Lifecycle
//
// cmd/waybill builds each connector once at start-up, registers it
// explicitly for the kinds it handles ([Registry.Register]; there is no
// init-time registration), hands the registry to the job runner and, at
// shutdown, after the runner has stopped and waited for its in-flight jobs,
// closes the connectors that implement io.Closer. A [Registry] is filled
// before the runner starts and only read afterwards.
//
// # Concurrency
//
// The runner calls Deliver from many goroutines at once, on one connector
// value, so connectors must be safe for concurrent use. [Registry] and
// [Metrics] are safe for concurrent use.
//
// # Metrics
//
// [Metrics] holds the metrics every connector reports,
// waybill_connector_requests_total{connector, kind, outcome} and
// waybill_connector_request_seconds{connector, kind}. Prometheus refuses to
// register one metric name twice, so the process builds one Metrics with
// [NewMetrics] and passes it to every connector it constructs; the connector
// label tells them apart.
//
// # Conformance
//
// Every connector passes the suite in package connectortest, run from its
// own tests against a loopback fake of its target.
package connector
