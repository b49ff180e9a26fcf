// Package tracingtest is a real OTLP/HTTP trace receiver for tests: an
// httptest server on loopback that decodes the application/x-protobuf
// ExportTraceServiceRequest bodies an OTLP exporter POSTs to /v1/traces
// and keeps their spans.
//
// Start one with [NewReceiver] (closed by t.Cleanup), point
// tracing.endpoint at [Receiver.Endpoint] with tracing.insecure, and read
// what arrived with [Receiver.Spans]. [Receiver.Connections] counts the
// connections ever opened to it, so a test can tell that nothing tried to
// export. A Receiver is safe for concurrent use.
package tracingtest
