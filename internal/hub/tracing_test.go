package hub_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/tracing"
	"github.com/waybill/waybill/internal/tracing/tracingtest"
)

// odooTap is a reverse proxy in front of the Odoo simulator that records
// the traceparent header of every request it passes on.
type odooTap struct {
	srv *httptest.Server
	mu  sync.Mutex
	tps []string
}

func newOdooTap(t *testing.T, target string) *odooTap {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tap := &odooTap{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	tap.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp := r.Header.Get("traceparent"); tp != "" {
			tap.mu.Lock()
			tap.tps = append(tap.tps, tp)
			tap.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tap.srv.Close)
	return tap
}

func (tap *odooTap) traceparents() []string {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return append([]string(nil), tap.tps...)
}

// post sends one CloudEvent with extra headers and wants 202.
func post(t *testing.T, b *bundle, body []byte, header http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+b.key)
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got status %d: %s", resp.StatusCode, out)
	}
}

// tracedShip sends the events that take the world's order to loaded,
// which makes the Odoo connector validate its picking. The load event
// carries traceparent; the others carry none.
func tracedShip(t *testing.T, w *odooWorld, subject, traceparent string) {
	t.Helper()
	two := `{"value":"2","unit":"C62"}`
	three := `{"value":"3","unit":"C62"}`
	post(t, w.bundle, ce(subject+"/plan", "shipment.planned", subject, "2026-11-26T08:00:00+01:00",
		`{"order":"odoo:`+w.order.Name+`","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC","country":"US"},`+
			`"lines":[{"line_id":"1","sku":"E-COM07","quantity":`+two+`},{"line_id":"2","sku":"LOT-RESIN","quantity":`+three+`}]}`), nil)
	post(t, w.bundle, ce(subject+"/reserve", "inventory.reserved", subject, "2026-11-26T08:10:00+01:00",
		`{"lines":[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`}]}`), nil)
	post(t, w.bundle, ce(subject+"/load", "shipment.loaded", subject, "2026-11-26T09:00:00+01:00",
		`{"lines":[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`,"lots":[{"lot":"`+w.lot+`","quantity":`+three+`}]}]}`),
		http.Header{"Traceparent": {traceparent}})
}

// pickingValidated waits until Odoo's validation of the shipment's
// picking is recorded.
func pickingValidated(t *testing.T, w *odooWorld, subject string) {
	t.Helper()
	poll.Until(t, "the validated picking", func() bool {
		sh := getShipment(t, w.bundle, subject)
		pick, _ := sh["picking"].(map[string]any)
		return pick["validated_at"] != nil
	})
}

// TestTracingFromIntakeToOdoo sends an event flow with tracing on, to a
// real OTLP/HTTP receiver, and checks that the load event's spans form one
// trace: the intake request's server span, the apply span, the job span and
// the Odoo client spans, each the child of the one before, in the trace of
// the request's traceparent, and that the simulated Odoo got that trace's
// traceparent.
func TestTracingFromIntakeToOdoo(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		rcv := tracingtest.NewReceiver(t)
		var tap *odooTap
		w := setupOdoo(t, opts, 18, func(c *config.Config) {
			tap = newOdooTap(t, c.Connectors.Odoo.URL)
			c.Connectors.Odoo.URL = tap.srv.URL
			c.Tracing.Endpoint = rcv.Endpoint()
			c.Tracing.Insecure = true
		})
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		const callerSpan = "00f067aa0ba902b7"
		subject := "tms:TRACE-1"
		tracedShip(t, w, subject, "00-"+traceID+"-"+callerSpan+"-01")
		pickingValidated(t, w, subject)

		var spans []tracingtest.Span
		byID := map[string]tracingtest.Span{}
		find := func(ok func(s tracingtest.Span) bool) (tracingtest.Span, bool) {
			for _, s := range spans {
				if ok(s) {
					return s, true
				}
			}
			return tracingtest.Span{}, false
		}
		// The whole chain down to an Odoo call under the job.
		poll.Until(t, "the spans of the load event down to Odoo", func() bool {
			spans = rcv.Spans()
			for _, s := range spans {
				byID[s.SpanID] = s
			}
			_, ok := find(func(s tracingtest.Span) bool {
				return strings.HasPrefix(s.Name, "odoo ") && strings.HasPrefix(byID[s.ParentSpanID].Name, "job picking.validate")
			})
			return ok
		})
		server, ok := find(func(s tracingtest.Span) bool { return s.Name == "POST /v1/events" && s.TraceID == traceID })
		if !ok {
			t.Fatalf("no intake span in trace %s among %d spans", traceID, len(spans))
		}
		apply, ok := find(func(s tracingtest.Span) bool {
			return s.Name == "apply event" && s.Attributes[tracing.AttrEventType] == "shipment.loaded"
		})
		if !ok {
			t.Fatal("no apply span of shipment.loaded")
		}
		job, _ := find(func(s tracingtest.Span) bool { return s.Name == "job picking.validate" })
		var calls []tracingtest.Span
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "odoo ") && s.ParentSpanID == job.SpanID {
				calls = append(calls, s)
			}
		}
		chain := []struct {
			what   string
			span   tracingtest.Span
			parent string
		}{
			{"intake server span", server, callerSpan},
			{"apply span", apply, server.SpanID},
			{"job span", job, apply.SpanID},
		}
		for _, c := range calls {
			chain = append(chain, struct {
				what   string
				span   tracingtest.Span
				parent string
			}{"odoo span " + c.Name, c, job.SpanID})
		}
		for _, c := range chain {
			if c.span.TraceID != traceID || c.span.ParentSpanID != c.parent {
				t.Errorf("%s: trace %s, parent %s; want trace %s, parent %s", c.what, c.span.TraceID, c.span.ParentSpanID, traceID, c.parent)
			}
			if got := c.span.Attributes[tracing.AttrCorrelationID]; got != traceID {
				t.Errorf("%s: %s = %v, want %s", c.what, tracing.AttrCorrelationID, got, traceID)
			}
		}
		if server.Kind.String() != "SPAN_KIND_SERVER" || job.Kind.String() != "SPAN_KIND_CONSUMER" || calls[0].Kind.String() != "SPAN_KIND_CLIENT" {
			t.Errorf("kinds: server %v, job %v, odoo %v", server.Kind, job.Kind, calls[0].Kind)
		}
		if server.Attributes["http.response.status_code"] != int64(202) {
			t.Errorf("intake span status code %v, want 202", server.Attributes["http.response.status_code"])
		}
		id := w.shipmentID(t, subject)
		if apply.Attributes[tracing.AttrShipmentID] != id || job.Attributes[tracing.AttrShipmentID] != id {
			t.Errorf("shipment ids: apply %v, job %v; want %s", apply.Attributes[tracing.AttrShipmentID], job.Attributes[tracing.AttrShipmentID], id)
		}
		// Odoo got each client span's traceparent: the trace's id, and the
		// span as the parent. (Later jobs of the trace, such as the
		// invoice, call Odoo too.)
		sent := map[string]bool{}
		for _, tp := range tap.traceparents() {
			if parts := strings.Split(tp, "-"); len(parts) == 4 && parts[1] == traceID {
				sent[parts[2]] = true
			}
		}
		for _, c := range calls {
			if !sent[c.SpanID] {
				t.Errorf("odoo got no traceparent 00-%s-%s-01 for the call %s (got %v)", traceID, c.SpanID, c.Name, tap.traceparents())
			}
		}
		// Odoo's answer came back as picking.validated, applied in the same
		// trace under the job that reported it.
		poll.Until(t, "the apply span of picking.validated", func() bool {
			spans = rcv.Spans()
			_, ok := find(func(s tracingtest.Span) bool {
				return s.Name == "apply event" && s.Attributes[tracing.AttrEventType] == "picking.validated"
			})
			return ok
		})
		reported, _ := find(func(s tracingtest.Span) bool {
			return s.Name == "apply event" && s.Attributes[tracing.AttrEventType] == "picking.validated"
		})
		if reported.TraceID != traceID || reported.ParentSpanID != job.SpanID {
			t.Errorf("picking.validated applied in trace %s under %s, want trace %s under the job %s", reported.TraceID, reported.ParentSpanID, traceID, job.SpanID)
		}
		// The plan event came without a traceparent: a trace of its own,
		// its correlation id an attribute.
		plan, _ := find(func(s tracingtest.Span) bool {
			return s.Name == "apply event" && s.Attributes[tracing.AttrEventType] == "shipment.planned"
		})
		planServer := byID[plan.ParentSpanID]
		if plan.TraceID == traceID || planServer.Name != "POST /v1/events" || planServer.TraceID != plan.TraceID {
			t.Errorf("plan: apply span in trace %s under %q, want a new trace under its intake span", plan.TraceID, planServer.Name)
		}
		if c, _ := plan.Attributes[tracing.AttrCorrelationID].(string); c == "" || c != planServer.Attributes[tracing.AttrCorrelationID] {
			t.Errorf("plan: correlation ids %v (apply) and %v (intake), want one, the same", plan.Attributes[tracing.AttrCorrelationID], planServer.Attributes[tracing.AttrCorrelationID])
		}
		if path := os.Getenv("WAYBILL_TEST_TRACE_OUT"); path != "" && opts.DataDir != "" {
			writeTrace(t, path, spans, traceID)
		}
	})
}

// writeTrace writes the spans of traceID as JSON, for documentation.
func writeTrace(t *testing.T, path string, spans []tracingtest.Span, traceID string) {
	t.Helper()
	var out []map[string]any
	for _, s := range spans {
		if s.TraceID != traceID {
			continue
		}
		out = append(out, map[string]any{"name": s.Name, "kind": s.Kind.String(), "span_id": s.SpanID, "parent_span_id": s.ParentSpanID, "attributes": s.Attributes})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTracingOff runs the same flow with tracing off while a receiver
// listens: nothing connects to it, and Odoo gets no traceparent.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	rcv := tracingtest.NewReceiver(t)
	var tap *odooTap
	// Registered before the hub, so it runs once the hub has stopped (and
	// would have flushed any spans).
	t.Cleanup(func() {
		if n := rcv.Connections(); n != 0 {
			t.Errorf("the receiver got %d connections with tracing off, want 0", n)
		}
	})
	w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir(), Synchronous: "normal"}, 18, func(c *config.Config) {
		tap = newOdooTap(t, c.Connectors.Odoo.URL)
		c.Connectors.Odoo.URL = tap.srv.URL
	})
	subject := "tms:UNTRACED-1"
	tracedShip(t, w, subject, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	pickingValidated(t, w, subject)
	if tps := tap.traceparents(); len(tps) != 0 {
		t.Errorf("odoo got traceparents %v with tracing off, want none", tps)
	}
}
