// Package tracing is Waybill's OpenTelemetry tracing: one trace per event
// flow, from the intake request through the apply and the outbound job to
// each call to Odoo or the TMS, keyed by the event's correlation id.
//
// [New] builds a [Provider] from [Options]. With no endpoint, tracing is
// off: no exporter is created, [Provider.TracerProvider] is OpenTelemetry's
// no-op provider, and spans cost one interface call each. With one, spans
// are batched and exported over OTLP (HTTP/protobuf or gRPC);
// [Provider.Shutdown] flushes what is queued, and the hub calls it on
// graceful shutdown after the job queue has stopped.
//
// Components take a trace.TracerProvider in their options (nil means
// no-op) and start their spans with [Start], which applies the rule that
// ties traces to correlation ids: a span whose correlation id is a W3C
// trace id (32 lowercase hex digits, not all zeros) lives in that trace;
// otherwise it joins its parent's trace, or starts a new one. Every span
// [Start] makes carries the attribute waybill.correlation_id
// ([AttrCorrelationID]).
//
// Trace context crosses process and storage boundaries as a W3C
// traceparent string: [Inject] writes the current span's on an outbound
// HTTP request, [Extract] reads an inbound request's, and [Traceparent]
// and [SpanContext] turn a span context into the string kept with an
// outbound job and back, so that a job run after a restart still joins
// the trace of the event that caused it.
//
// A Provider is safe for concurrent use; the package keeps no global
// state and never touches OpenTelemetry's global provider or propagator.
package tracing
