package tracing_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/tracing"
	"github.com/waybill/waybill/internal/tracing/tracingtest"
)

const (
	corrTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	otherTP   = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
)

// TestOffExportsNothing checks that without an endpoint no exporter is
// made, even when the standard OTEL_ variables name a receiver.
func TestOffExportsNothing(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rcv.URL()+"/v1/traces")
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	p, err := tracing.New(t.Context(), tracing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Enabled() {
		t.Error("Enabled() = true without an endpoint")
	}
	ctx, span := tracing.Start(t.Context(), tracing.Tracer(p.TracerProvider()), &tracing.SpanParams{Name: "x", CorrelationID: corrTrace})
	if span.SpanContext().IsValid() || span.IsRecording() {
		t.Errorf("span %v is valid or recording with tracing off", span.SpanContext())
	}
	h := http.Header{}
	tracing.Inject(ctx, h)
	if h.Get("traceparent") != "" {
		t.Errorf("traceparent %q sent with tracing off", h.Get("traceparent"))
	}
	span.End()
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := rcv.Connections(); n != 0 {
		t.Errorf("the receiver got %d connections with tracing off, want 0", n)
	}
}

func TestNewRefusesUnknownProtocol(t *testing.T) {
	t.Parallel()
	if _, err := tracing.New(t.Context(), tracing.Options{Endpoint: "127.0.0.1:4318", Protocol: "http/json"}); err == nil {
		t.Error("got nil error for protocol http/json")
	}
}

// TestStartTiesTracesToCorrelationIDs exports spans to a real OTLP/HTTP
// receiver and checks the parent rules of Start.
func TestStartTiesTracesToCorrelationIDs(t *testing.T) {
	t.Parallel()
	rcv := tracingtest.NewReceiver(t)
	p, err := tracing.New(t.Context(), tracing.Options{Endpoint: rcv.Endpoint(), Insecure: true, ServiceName: "waybill-test", ServiceVersion: "v9"})
	if err != nil {
		t.Fatal(err)
	}
	tr := tracing.Tracer(p.TracerProvider())
	ctx := t.Context()
	start := func(ctx context.Context, name, corr string, parent trace.SpanContext) (context.Context, trace.Span) {
		return tracing.Start(ctx, tr, &tracing.SpanParams{Name: name, CorrelationID: corr, Parent: parent})
	}
	// A root whose correlation id is a trace id takes it.
	rctx, root := start(ctx, "root", corrTrace, trace.SpanContext{})
	// A child follows the span in its context, whatever its correlation id.
	_, child := start(rctx, "child", "not-a-trace-id", trace.SpanContext{})
	child.End()
	root.End()
	// Across a boundary: a parent in another trace than the correlation
	// id's is linked, and the span starts the correlation id's trace.
	other := tracing.SpanContext(otherTP)
	_, split := start(ctx, "split", corrTrace, other)
	split.End()
	// A correlation id that is no trace id continues the parent's trace.
	_, cont := start(ctx, "continued", "order-42", other)
	cont.End()
	// No parent and no trace id: a new trace.
	_, fresh := start(ctx, "fresh", "order-43", trace.SpanContext{})
	fresh.End()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	poll.Until(t, "5 spans", func() bool { return len(rcv.Spans()) == 5 })
	byName := map[string]tracingtest.Span{}
	for _, s := range rcv.Spans() {
		byName[s.Name] = s
		if s.Service != "waybill-test" {
			t.Errorf("%s: service %q, want waybill-test", s.Name, s.Service)
		}
	}
	check := func(name, traceID, parent, corr string) {
		t.Helper()
		s := byName[name]
		if s.TraceID != traceID || s.ParentSpanID != parent || s.Attributes[tracing.AttrCorrelationID] != corr {
			t.Errorf("%s: trace %s parent %q correlation %v; want trace %s parent %q correlation %s", name, s.TraceID, s.ParentSpanID, s.Attributes[tracing.AttrCorrelationID], traceID, parent, corr)
		}
	}
	check("root", corrTrace, "", corrTrace)
	check("child", corrTrace, byName["root"].SpanID, "not-a-trace-id")
	check("split", corrTrace, "", corrTrace)
	if want := []string{other.TraceID().String() + "/" + other.SpanID().String()}; len(byName["split"].Links) != 1 || byName["split"].Links[0] != want[0] {
		t.Errorf("split: links %v, want %v", byName["split"].Links, want)
	}
	check("continued", other.TraceID().String(), other.SpanID().String(), "order-42")
	if f := byName["fresh"]; f.TraceID == corrTrace || f.TraceID == other.TraceID().String() || f.ParentSpanID != "" {
		t.Errorf("fresh: trace %s parent %q, want a new trace", f.TraceID, f.ParentSpanID)
	}
}

func TestTraceparentRoundTrip(t *testing.T) {
	t.Parallel()
	sc := tracing.SpanContext(otherTP)
	if !sc.IsValid() || !sc.IsRemote() || !sc.IsSampled() {
		t.Fatalf("SpanContext(%q) = %v, want a valid, remote, sampled context", otherTP, sc)
	}
	if got := tracing.Traceparent(sc); got != otherTP {
		t.Errorf("Traceparent: got %q, want %q", got, otherTP)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-b7ad6b7169203331-01"} {
		if tracing.SpanContext(bad).IsValid() || tracing.Traceparent(tracing.SpanContext(bad)) != "" {
			t.Errorf("SpanContext(%q) is valid", bad)
		}
	}
	h := http.Header{"Traceparent": {"00-" + corrTrace + "-00f067aa0ba902b7-01"}}
	tracing.Inject(trace.ContextWithSpanContext(context.Background(), sc), h)
	if got := h.Values("traceparent"); len(got) != 1 || got[0] != otherTP {
		t.Errorf("Inject: traceparent %v, want only %s", got, otherTP)
	}
	if got := tracing.Extract(h); !got.Equal(sc) {
		t.Errorf("Extract: got %v, want %v", got, sc)
	}
}

func TestTraceID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		corrTrace: true, "4BF92F3577B34DA6A3CE929D0E0E4736": false, "00000000000000000000000000000000": false,
		"order-42": false, corrTrace + "0": false, "": false,
	} {
		if _, got := tracing.TraceID(id); got != want {
			t.Errorf("TraceID(%q): got %v, want %v", id, got, want)
		}
	}
}
