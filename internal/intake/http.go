package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/tracing"
)

// Content types accepted by POST /v1/events.
const (
	ContentTypeCloudEvent = "application/cloudevents+json"
	ContentTypeJSON       = "application/json"
	ContentTypeBatch      = "application/cloudevents-batch+json"
)

// Receipt answers an accepted (202) or duplicate (200) event.
type Receipt struct {
	EventID       string `json:"event_id"`
	CorrelationID string `json:"correlation_id"`
	Duplicate     bool   `json:"duplicate"`
	// EventURL is where to see what became of the event: applied to its
	// shipment, or rejected and why.
	EventURL string `json:"event_url"`
}

// EventURL is the path of the status of the event with canonical id id.
func EventURL(id string) string { return "/v1/events/" + id }

// BatchResult is the answer for one event of a batch.
type BatchResult struct {
	Index         int              `json:"index"`
	Status        int              `json:"status"`
	EventID       string           `json:"event_id,omitempty"`
	CorrelationID string           `json:"correlation_id,omitempty"`
	Duplicate     bool             `json:"duplicate"`
	EventURL      string           `json:"event_url,omitempty"`
	Problem       *problem.Details `json:"problem,omitempty"`
}

// BatchReceipt answers a batch.
type BatchReceipt struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Results    []BatchResult `json:"results"`
}

// OtherSource is the metric label value of the sources a
// HandlerOptions.SourceLabelFunc does not name.
const OtherSource = "other"

// HandlerOptions configures a Handler.
type HandlerOptions struct {
	MaxBacklog int64
	MaxBatch   int
	MaxBody    int64
	// Window bounds event times around the time of receipt.
	Window TimeWindow
	// SourceLabelFunc maps an event's source to the value of the source
	// label of the intake metrics. It must return a value from a small,
	// fixed set, since every distinct value is a time series: sources are
	// chosen by clients. Nil labels every source as "other".
	SourceLabelFunc func(source string) string
	Logger          *slog.Logger
	Registerer      prometheus.Registerer
	// TracerProvider, when set, makes each request a server span that
	// continues the request's W3C traceparent, and the span the events
	// it stores continue from (Event.Trace). Nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Handler serves POST /v1/events. Authentication happens before it.
type Handler struct {
	parser    *Parser
	committer *Committer
	backlog   *Backlog
	opts      HandlerOptions
	logger    *slog.Logger
	tracer    trace.Tracer // nil with tracing off

	events  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewHandler returns the intake handler.
func NewHandler(v *event.Validator, c *Committer, backlog *Backlog, opts *HandlerOptions) *Handler {
	h := &Handler{
		parser: &Parser{Validator: v, Window: opts.Window}, committer: c, backlog: backlog, opts: *opts, logger: opts.Logger,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_events_total",
			Help: "Events received by intake, by type, source (a source profile, one of Waybill's own sources, one listed in intake.metric_sources, or other) and outcome (accepted, duplicate, rejected, conflict, refused).",
		}, []string{"type", "source", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waybill_intake_request_seconds",
			Help:    "Time from request to durable receipt, by mode (single, batch).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"mode"}),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if opts.TracerProvider != nil {
		h.tracer = tracing.Tracer(opts.TracerProvider)
	}
	if h.opts.SourceLabelFunc == nil {
		h.opts.SourceLabelFunc = func(string) string { return OtherSource }
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.events, h.latency,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "waybill_intake_backlog",
				Help: "Accepted events not yet applied to their shipments.",
			}, func() float64 { return float64(backlog.Load()) }))
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.tracer != nil {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		ctx, span := h.startSpan(r)
		defer func() {
			span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
			span.End()
		}()
		w, r = sw, r.WithContext(ctx)
	}
	start := time.Now()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	switch mt {
	case ContentTypeCloudEvent, ContentTypeJSON:
		h.single(w, r)
		h.latency.WithLabelValues("single").Observe(time.Since(start).Seconds())
	case ContentTypeBatch:
		h.batch(w, r)
		h.latency.WithLabelValues("batch").Observe(time.Since(start).Seconds())
	default:
		problem.Write(w, r, &problem.Details{
			Status: http.StatusUnsupportedMediaType, Code: problem.CodeUnsupportedMediaType,
			Detail: fmt.Sprintf("Content-Type must be %s, %s or %s", ContentTypeCloudEvent, ContentTypeJSON, ContentTypeBatch),
		})
	}
}

func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody), r.ContentLength, h.opts.MaxBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem.Write(w, r, &problem.Details{Status: http.StatusRequestEntityTooLarge, Code: problem.CodeTooLarge,
				Detail: fmt.Sprintf("request body exceeds %d bytes", h.opts.MaxBody)})
			return nil, false
		}
		problem.Write(w, r, &problem.Details{Status: http.StatusBadRequest, Code: problem.CodeBadRequest, Detail: "reading request body: " + err.Error()})
		return nil, false
	}
	return body, true
}

// readAll is io.ReadAll into a buffer sized for the declared length, when
// there is one within limit, so that a body is read without growing its
// buffer again and again.
func readAll(r io.Reader, declared, limit int64) ([]byte, error) {
	if declared <= 0 || declared > limit {
		return io.ReadAll(r)
	}
	// One more byte than declared lets the read see the end of the body
	// without growing the buffer.
	b := make([]byte, 0, declared+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			// More than declared: read the rest as it comes.
			rest, err := io.ReadAll(r)
			return append(b, rest...), err
		}
	}
}

// startSpan starts the server span of r: the child of r's traceparent
// when it has a valid one, else a new trace (whose id is the request's
// X-Correlation-ID when that is a trace id). The events' correlation ids
// are added once they are known (setCorrelation).
func (h *Handler) startSpan(r *http.Request) (context.Context, trace.Span) {
	hs := hints(r)
	corr := correlation.FromTraceparent(hs.Traceparent)
	if corr == "" && correlation.Valid(hs.CorrelationID) {
		corr = hs.CorrelationID
	}
	ctx, span := tracing.Start(r.Context(), h.tracer, &tracing.SpanParams{
		Name: "POST /v1/events", Kind: trace.SpanKindServer, Parent: tracing.Extract(r.Header), CorrelationID: corr,
		Attributes: []attribute.KeyValue{
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", "/v1/events"),
			attribute.String("url.path", r.URL.Path),
		},
	})
	return ctx, span
}

// setCorrelation records on the request's span the correlation ids of
// the events stored: one id as waybill.correlation_id, several as a list.
func (h *Handler) setCorrelation(r *http.Request, ids []string) {
	if h.tracer == nil || len(ids) == 0 {
		return
	}
	span := trace.SpanFromContext(r.Context())
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(distinct) == 1 {
		span.SetAttributes(attribute.String(tracing.AttrCorrelationID, distinct[0]))
	} else {
		span.SetAttributes(attribute.StringSlice(tracing.AttrCorrelationID, distinct))
	}
	span.SetAttributes(attribute.Int(tracing.AttrEvents, len(ids)))
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func hints(r *http.Request) Hints {
	return Hints{Traceparent: r.Header.Get("traceparent"), CorrelationID: r.Header.Get(correlation.Header)}
}

// admit applies back-pressure: it refuses n more events when the backlog
// is full, before anything is stored.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, n int) bool {
	if h.backlog.Load()+int64(n) <= h.opts.MaxBacklog {
		return true
	}
	w.Header().Set("Retry-After", "1")
	problem.Write(w, r, &problem.Details{Status: http.StatusTooManyRequests, Code: problem.CodeBacklogFull,
		Detail: fmt.Sprintf("more than %d accepted events are waiting to be processed: retry later", h.opts.MaxBacklog)})
	return false
}

func (h *Handler) single(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	ev, err := h.parser.Parse(body, hints(r))
	if err != nil {
		h.events.WithLabelValues("", "", "rejected").Inc()
		problem.Write(w, r, invalidProblem(err))
		return
	}
	if !h.admit(w, r, 1) {
		return
	}
	res, err := h.committer.Submit(r.Context(), []*Event{ev})
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	x := res[0]
	h.setCorrelation(r, []string{x.CorrelationID})
	ctx := correlation.With(r.Context(), x.CorrelationID)
	w.Header().Set(correlation.Header, x.CorrelationID)
	switch {
	case errors.Is(x.Err, ErrRefused):
		h.count(ev, "refused")
		problem.Write(w, r, refusedProblem(ev))
	case x.Err != nil:
		h.count(ev, "conflict")
		h.logger.InfoContext(ctx, "event id reused with another payload", slog.String("source", ev.Source), slog.String("source_event_id", ev.SourceID))
		problem.Write(w, r, conflictProblem(ev))
	case x.Duplicate:
		h.count(ev, "duplicate")
		w.Header().Set("Location", EventURL(x.EventID))
		writeJSON(w, http.StatusOK, Receipt{EventID: x.EventID, CorrelationID: x.CorrelationID, Duplicate: true, EventURL: EventURL(x.EventID)})
	default:
		h.count(ev, "accepted")
		h.logger.DebugContext(ctx, "event accepted", slog.String("event_id", x.EventID), slog.String("type", string(ev.Type)))
		w.Header().Set("Location", EventURL(x.EventID))
		writeJSON(w, http.StatusAccepted, Receipt{EventID: x.EventID, CorrelationID: x.CorrelationID, EventURL: EventURL(x.EventID)})
	}
}

func (h *Handler) batch(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	raws, ok := splitArray(body)
	if !ok {
		problem.Write(w, r, &problem.Details{Status: http.StatusBadRequest, Code: problem.CodeBadRequest,
			Detail: "a batch must be a JSON array of CloudEvents"})
		return
	}
	if len(raws) == 0 || len(raws) > h.opts.MaxBatch {
		problem.Write(w, r, &problem.Details{Status: http.StatusUnprocessableEntity, Code: problem.CodeInvalidEvent,
			Detail: fmt.Sprintf("a batch holds 1 to %d events, not %d", h.opts.MaxBatch, len(raws))})
		return
	}
	out := BatchReceipt{Results: make([]BatchResult, len(raws))}
	var evs []*Event
	var idx []int
	hs := hints(r)
	for i, raw := range raws {
		out.Results[i].Index = i
		ev, err := h.parser.parse(raw, hs, true)
		if err != nil {
			p := invalidProblem(err)
			out.Results[i].Status, out.Results[i].Problem = p.Status, p
			out.Rejected++
			h.events.WithLabelValues("", "", "rejected").Inc()
			continue
		}
		evs, idx = append(evs, ev), append(idx, i)
	}
	if len(evs) > 0 {
		if !h.admit(w, r, len(evs)) {
			return
		}
		res, err := h.committer.Submit(r.Context(), evs)
		if err != nil {
			h.storeFailed(w, r, err)
			return
		}
		if h.tracer != nil {
			ids := make([]string, len(res))
			for j, x := range res {
				ids[j] = x.CorrelationID
			}
			h.setCorrelation(r, ids)
		}
		for j, x := range res {
			ev, br := evs[j], &out.Results[idx[j]]
			br.EventID, br.CorrelationID, br.EventURL = x.EventID, x.CorrelationID, EventURL(x.EventID)
			switch {
			case errors.Is(x.Err, ErrRefused):
				p := refusedProblem(ev)
				br.Status, br.Problem, br.EventID, br.EventURL = p.Status, p, "", ""
				out.Rejected++
				h.count(ev, "refused")
			case x.Err != nil:
				p := conflictProblem(ev)
				br.Status, br.Problem, br.EventID, br.CorrelationID, br.EventURL = p.Status, p, "", "", ""
				out.Rejected++
				h.count(ev, "conflict")
			case x.Duplicate:
				br.Status, br.Duplicate = http.StatusOK, true
				out.Duplicates++
				h.count(ev, "duplicate")
			default:
				br.Status = http.StatusAccepted
				out.Accepted++
				h.count(ev, "accepted")
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// count counts one outcome of ev in the events metric.
func (h *Handler) count(ev *Event, outcome string) {
	h.events.WithLabelValues(string(ev.Type), h.opts.SourceLabelFunc(ev.Source), outcome).Inc()
}

func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrClosed) {
		w.Header().Set("Retry-After", "5")
		problem.Write(w, r, &problem.Details{Status: http.StatusServiceUnavailable, Code: problem.CodeShuttingDown, Detail: "intake is shutting down: retry later"})
		return
	}
	if r.Context().Err() != nil {
		return // the client went away before the event was queued
	}
	h.logger.ErrorContext(r.Context(), "storing events failed", slog.Any("err", err))
	problem.Write(w, r, &problem.Details{Status: http.StatusServiceUnavailable, Code: problem.CodeStorageUnavailable, Detail: "the event could not be stored: retry later"})
}

func invalidProblem(err error) *problem.Details {
	var fe *ForbiddenTypeError
	if errors.As(err, &fe) {
		return (&problem.Details{Status: http.StatusForbidden, Code: problem.CodeForbidden,
			Detail: fe.Error() + forbiddenHint(fe.Type)}).Fill()
	}
	var ie *InvalidError
	if !errors.As(err, &ie) {
		return &problem.Details{Status: http.StatusInternalServerError, Code: problem.CodeInternal, Detail: "validating the event failed"}
	}
	p := &problem.Details{Status: http.StatusUnprocessableEntity, Code: problem.CodeInvalidEvent,
		Detail: fmt.Sprintf("the event has %d problem(s)", len(ie.Errors))}
	for _, fe := range ie.Errors {
		p.Errors = append(p.Errors, problem.FieldError{Location: fe.Pointer, Message: fe.Message})
	}
	return p.Fill()
}

// forbiddenHint names the route that does what an event of type t records.
func forbiddenHint(t event.Type) string {
	switch t {
	case event.ReviewDecided:
		return ": decide a review with POST /v1/review/{id}/decision (scope review:write)"
	case event.ShipmentInvoiced:
		return ": Waybill records an invoice when its ERP connector has made it"
	case event.PickingValidated:
		return ": Waybill records a picking's validation when its ERP connector has validated it"
	}
	return ""
}

func refusedProblem(ev *Event) *problem.Details {
	return (&problem.Details{Status: http.StatusUnprocessableEntity, Code: problem.CodeInvalidEvent,
		Detail: fmt.Sprintf("the database refused to store event %q from source %q, and it was not stored: the server log has the reason under its correlation id; sending it again fails again", ev.SourceID, ev.Source)}).Fill()
}

func conflictProblem(ev *Event) *problem.Details {
	return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeIdempotencyConflict,
		Detail: fmt.Sprintf("event %q from source %q was already accepted with a different payload", ev.SourceID, ev.Source)}).Fill()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
