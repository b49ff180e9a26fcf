package tracing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Span attribute keys Waybill sets. Every span [Start] makes carries
// AttrCorrelationID.
const (
	AttrCorrelationID = "waybill.correlation_id"
	AttrEventID       = "waybill.event.id"
	AttrEventType     = "waybill.event.type"
	AttrEventSource   = "waybill.event.source"
	AttrEventOutcome  = "waybill.event.outcome"
	AttrEvents        = "waybill.events"
	AttrShipmentID    = "waybill.shipment_id"
	AttrActionKind    = "waybill.action.kind"
	AttrJobID         = "waybill.job.id"
	AttrJobAttempt    = "waybill.job.attempt"
)

// Protocols of Options.Protocol.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// ScopeName is the instrumentation scope of Waybill's tracers.
const ScopeName = "github.com/waybill/waybill"

// Options configures a Provider.
type Options struct {
	// Endpoint is the OTLP receiver as host:port, such as localhost:4318
	// (HTTP) or localhost:4317 (gRPC). Empty turns tracing off.
	Endpoint string
	// Protocol is ProtocolHTTP (the default when empty) or ProtocolGRPC.
	Protocol string
	// Insecure sends spans over plain HTTP or a plaintext gRPC
	// connection instead of TLS.
	Insecure bool
	// Headers are sent with every export request, such as an API key of a
	// hosted collector.
	Headers map[string]string
	// SampleRatio is the share of new traces sampled, above 0 and at most
	// 1; 0 means 1. A trace continued from a caller's traceparent follows
	// the caller's sampling decision.
	SampleRatio float64
	// ServiceName and ServiceVersion name the process in every span's
	// resource; ServiceName defaults to "waybill".
	ServiceName    string
	ServiceVersion string
	// BatchTimeout is the longest a finished span waits to be exported;
	// zero is the SDK's 5s.
	BatchTimeout time.Duration
}

// Provider owns the tracer provider of one process. Build it with [New];
// the zero value is not usable.
type Provider struct {
	sdk *sdktrace.TracerProvider // nil when tracing is off
	tp  trace.TracerProvider

	once sync.Once
	err  error
}

// New returns the Provider for opts. With an empty Endpoint it creates no
// exporter and returns a Provider whose TracerProvider is a no-op. It
// does not connect to the endpoint: spans are sent in the background, and
// a receiver that is down loses them without slowing Waybill.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Endpoint == "" {
		return &Provider{tp: noop.NewTracerProvider()}, nil
	}
	var exp sdktrace.SpanExporter
	var err error
	switch opts.Protocol {
	case "", ProtocolHTTP:
		o := []otlptracehttp.Option{otlptracehttp.WithEndpoint(opts.Endpoint)}
		if opts.Insecure {
			o = append(o, otlptracehttp.WithInsecure())
		}
		if len(opts.Headers) > 0 {
			o = append(o, otlptracehttp.WithHeaders(opts.Headers))
		}
		exp, err = otlptracehttp.New(ctx, o...)
	case ProtocolGRPC:
		o := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(opts.Endpoint)}
		if opts.Insecure {
			o = append(o, otlptracegrpc.WithInsecure())
		}
		if len(opts.Headers) > 0 {
			o = append(o, otlptracegrpc.WithHeaders(opts.Headers))
		}
		exp, err = otlptracegrpc.New(ctx, o...)
	default:
		return nil, fmt.Errorf("creating the trace exporter: unknown protocol %q: want %s or %s", opts.Protocol, ProtocolHTTP, ProtocolGRPC)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the trace exporter: %w", err)
	}
	ratio := opts.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	name := opts.ServiceName
	if name == "" {
		name = "waybill"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", opts.ServiceVersion))
	}
	var batch []sdktrace.BatchSpanProcessorOption
	if opts.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(opts.BatchTimeout))
	}
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batch...),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithIDGenerator(idGenerator{}),
	)
	return &Provider{sdk: sdk, tp: sdk}, nil
}

// Enabled reports whether spans are exported.
func (p *Provider) Enabled() bool { return p != nil && p.sdk != nil }

// TracerProvider returns the provider components start spans with: the
// SDK's, or a no-op one when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider {
	if p == nil {
		return noop.NewTracerProvider()
	}
	return p.tp
}

// Shutdown exports the spans still queued, within ctx, and stops the
// exporter. It is idempotent, safe on a nil or disabled Provider, and
// returns the first call's error on every call.
func (p *Provider) Shutdown(ctx context.Context) error {
	if !p.Enabled() {
		return nil
	}
	p.once.Do(func() {
		if err := p.sdk.Shutdown(ctx); err != nil {
			p.err = fmt.Errorf("shutting down tracing: %w", err)
		}
	})
	return p.err
}

// Tracer returns Waybill's tracer of tp; nil tp is a no-op.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(ScopeName)
}

// SpanParams describes a span for [Start].
type SpanParams struct {
	// Name is the span name: low in cardinality, such as "apply event".
	Name string
	Kind trace.SpanKind
	// CorrelationID is the flow's correlation id, recorded as
	// AttrCorrelationID and, when it is a trace id, the trace the span
	// belongs to.
	CorrelationID string
	// Parent is the span context the span continues from across a
	// boundary (a queue, a stored job). When it is invalid, the span in
	// ctx, if any, is the parent.
	Parent trace.SpanContext
	// Link, when valid and not the parent, is linked from the span, such
	// as the request that carried an event whose trace is its own.
	Link       trace.SpanContext
	Attributes []attribute.KeyValue
}

// Start starts a span as p describes. The span's parent is the span in
// ctx, or p.Parent when valid; except that a p.Parent in another trace
// than a correlation id that is a trace id is linked instead, and the span
// starts that trace. Without any parent, a correlation id that is a trace
// id is the new trace's id. End the span.
func Start(ctx context.Context, tracer trace.Tracer, p *SpanParams) (context.Context, trace.Span) {
	want, isTrace := TraceID(p.CorrelationID)
	parent, explicit := p.Parent, p.Parent.IsValid()
	if !explicit {
		parent = trace.SpanContextFromContext(ctx)
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(p.Kind)}
	var links []trace.Link
	switch {
	case parent.IsValid() && (!explicit || !isTrace || parent.TraceID() == want):
		if explicit {
			ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
		}
	default:
		if parent.IsValid() {
			links = append(links, trace.Link{SpanContext: parent})
		}
		if isTrace {
			ctx = context.WithValue(ctx, traceIDKey{}, want)
		}
		parent = trace.SpanContext{}
		opts = append(opts, trace.WithNewRoot())
	}
	if p.Link.IsValid() && !p.Link.Equal(parent) && (len(links) == 0 || !links[0].SpanContext.Equal(p.Link)) {
		links = append(links, trace.Link{SpanContext: p.Link})
	}
	if len(links) > 0 {
		opts = append(opts, trace.WithLinks(links...))
	}
	attrs := p.Attributes
	if p.CorrelationID != "" {
		attrs = append([]attribute.KeyValue{attribute.String(AttrCorrelationID, p.CorrelationID)}, attrs...)
	}
	if len(attrs) > 0 {
		opts = append(opts, trace.WithAttributes(attrs...))
	}
	return tracer.Start(ctx, p.Name, opts...)
}

// Fail marks span as failed with err; nil err leaves it as it is.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// TraceID returns id as a trace id when it is one as Waybill keeps them:
// 32 lowercase hex digits, not all zeros (what correlation.FromTraceparent
// yields).
func TraceID(id string) (trace.TraceID, bool) {
	if len(id) != 32 {
		return trace.TraceID{}, false
	}
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return trace.TraceID{}, false
		}
	}
	tid, err := trace.TraceIDFromHex(id)
	if err != nil || !tid.IsValid() {
		return trace.TraceID{}, false
	}
	return tid, true
}

var propagator = propagation.TraceContext{}

// Inject sets the W3C traceparent (and tracestate) of the span in ctx on
// h, replacing any there; it sets nothing when ctx has no valid span.
func Inject(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	h.Del("traceparent")
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract returns the span context of h's W3C traceparent, invalid when
// it has none or a malformed one.
func Extract(h http.Header) trace.SpanContext {
	return trace.SpanContextFromContext(propagator.Extract(context.Background(), propagation.HeaderCarrier(h)))
}

// Traceparent returns sc as a W3C traceparent value, or "" when sc is
// invalid.
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// SpanContext returns the remote span context of the W3C traceparent
// value tp, invalid when tp is empty or malformed.
func SpanContext(tp string) trace.SpanContext {
	if tp == "" {
		return trace.SpanContext{}
	}
	return Extract(http.Header{"Traceparent": {tp}})
}

// traceIDKey carries the trace id a new root span must take to the ID
// generator.
type traceIDKey struct{}

// idGenerator makes random ids, except a new root's trace id when the
// context asks for one (Start, for a correlation id that is a trace id).
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	for !ok || !tid.IsValid() {
		var b [16]byte
		putUint64(b[:8], rand.Uint64())
		putUint64(b[8:], rand.Uint64())
		tid, ok = trace.TraceID(b), true
	}
	return tid, newSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		putUint64(sid[:], rand.Uint64())
	}
	return sid
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}
