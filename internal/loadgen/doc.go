// Package loadgen is Waybill's load generator: it drives the intake endpoint
// POST /v1/events with CloudEvents and measures throughput and latency.
//
// # Usage
//
// Fill in a [Params] and call [Run]. Run validates the params (every problem
// at once, each a [*ParamError] joined with errors.Join), opens Params.Clients
// keep-alive connections and sends Params.Events events, Params.Batch events
// per request, until all are answered, Params.Duration has passed or ctx is
// cancelled. It blocks until every goroutine it started has exited and then
// returns a [Result]; [Result.WriteSummary] prints it for people.
//
// # Events
//
// Each run gets a UUIDv7 run ID. Every event has the source
// "loadgen/<run-id>", a unique id "<run-id>-<n>" and a subject
// "loadgen:<run-id>-<s>". With [MixPlanned] every event is a shipment.planned
// for a new subject. With [MixLifecycle] each subject gets a shipment.planned
// and, in the client's next request, an inventory.reserved; both go through
// the same client one after the other, so the server sees them in order.
//
// Bodies are rendered from templates built before the clock starts: only the
// event and subject numbers are written per event, into a buffer each client
// reuses. Responses to single-event requests are judged by status code alone.
//
// # Outcomes
//
// An event answered 202 counts as accepted, 200 as a duplicate, and a batch
// result with any other status as rejected. A 429 counts as throttled; the
// client waits for Retry-After (at most one second) and sends the same body
// again, so the event IDs stay the same. Any other non-2xx answer, an
// unreadable batch answer or a transport error counts as an error and the
// client moves on; the events of a failed request are not counted as sent.
// When more than 1% of requests end in an error, Run returns its Result
// together with an error wrapping [ErrTooManyErrors].
//
// When the server is gone, every request failing at the transport level for
// [GoneAfter] with no answer in between (or none answered at all), Run stops
// and returns its Result with an error wrapping [ErrServerGone]. Progress
// lines are all written before Run returns, the last one for the whole run.
//
// Request latencies go into a [Histogram] per client, merged at the end.
//
// # Concurrency
//
// Run may be called concurrently with different Params. A Histogram is not
// safe for concurrent use: give each goroutine its own and Merge them.
package loadgen
