package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/tracing"
)

// Connection limits within a request's overall timeout.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// Headers of an action request sent by an [Outbound], besides Content-Type,
// User-Agent and correlation.Header.
const (
	// HeaderIdempotencyKey carries the action's idempotency key.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderAction carries the action kind.
	HeaderAction = "Waybill-Action"
	// HeaderAttempt carries the 1-based attempt number.
	HeaderAttempt = "Waybill-Attempt"
	// HeaderSignature carries the request signature when the Outbound signs.
	HeaderSignature = "Waybill-Signature"
)

// NewHTTPClient returns the HTTP client of a connector that POSTs to one
// target, and its transport (to close idle connections with). Every
// request, connecting and reading the reply included, is bounded by
// timeout, and redirects are not followed: a redirect is a misconfigured
// URL, and following it could turn the POST into a GET or send the body
// to another host.
func NewHTTPClient(timeout time.Duration) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: min(dialTimeout, timeout), KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr
}

// EncodeJSON returns v as compact JSON without HTML escaping and without a
// trailing newline: the body of an action request.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// OutboundOptions configures an [Outbound].
type OutboundOptions struct {
	// Target names who answers in a [StatusError], such as "webhook" or
	// "tms".
	Target string
	// URL is the absolute http or https URL requests are POSTed to; the
	// connector's Config.Validate has checked it with [CheckURL].
	URL string
	// Timeout bounds one request, from dialling to reading the reply.
	Timeout time.Duration
	// UserAgent is the User-Agent header.
	UserAgent string
	// SignFunc returns the HeaderSignature value for a body signed at t.
	// Nil sends requests unsigned.
	SignFunc func(t time.Time, body []byte) string
	// NowFunc returns the current time; it stamps signatures and resolves
	// Retry-After dates. Nil uses time.Now.
	NowFunc func() time.Time
	// TracerProvider, when set, makes each request a client span
	// ("<Target> POST") whose W3C traceparent goes with the request,
	// replacing any in OutboundRequest.Header. Nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Outbound POSTs action requests to one target for a connector and
// classifies the outcome into connector errors. Each connector keeps its
// own payload, extra headers and reading of a reply; Outbound does what
// they share: the action headers and signature, the deadline, a bounded
// read of the reply and the classification of statuses and transport
// failures. Build it with [NewOutbound]; it is safe for concurrent use.
type Outbound struct {
	target    string
	url       string
	host      string
	timeout   time.Duration
	userAgent string
	sign      func(t time.Time, body []byte) string
	now       func() time.Time
	path      string
	client    *http.Client
	transport *http.Transport
	tracer    trace.Tracer // nil with tracing off
}

// NewOutbound returns an Outbound for opts.
func NewOutbound(opts *OutboundOptions) *Outbound {
	o := &Outbound{
		target:    opts.Target,
		url:       opts.URL,
		timeout:   opts.Timeout,
		userAgent: opts.UserAgent,
		sign:      opts.SignFunc,
		now:       opts.NowFunc,
	}
	if u, err := url.Parse(opts.URL); err == nil {
		o.host, o.path = u.Host, u.EscapedPath()
	}
	if opts.TracerProvider != nil {
		o.tracer = tracing.Tracer(opts.TracerProvider)
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.client, o.transport = NewHTTPClient(opts.Timeout)
	return o
}

// Host returns the host of the target URL, the name that error messages
// give the target (its path and query may hold a token).
func (o *Outbound) Host() string { return o.host }

// Close closes the idle connections. It is idempotent, and requests still
// in flight are not affected.
func (o *Outbound) Close() error {
	o.transport.CloseIdleConnections()
	return nil
}

// OutboundRequest is one action request for [Outbound.Post].
type OutboundRequest struct {
	// Action supplies the HeaderIdempotencyKey, HeaderAction and
	// HeaderAttempt values.
	Action *Action
	// CorrelationID is sent as correlation.Header unless empty.
	CorrelationID string
	// Body is the JSON body, sent as application/json and signed.
	Body []byte
	// Header holds extra headers, such as Accept, added under their
	// canonical names; nil adds none.
	Header http.Header
	// What says what is being done, such as "posting picking.validate to
	// hooks.example.com"; every error message starts with it.
	What string
	// MaxReply is the most of a 2xx reply's body returned; zero reads none.
	// The rest is drained, up to MaxDrain, so the connection can be reused.
	MaxReply int64
}

// OutboundResponse is a 2xx reply to an [OutboundRequest].
type OutboundResponse struct {
	// StatusCode is the reply's HTTP status code.
	StatusCode int
	// Body is the start of the reply body, at most MaxReply bytes.
	Body []byte
}

// Post sends r once, within the Outbound's timeout, and returns the 2xx
// reply. Otherwise its error is classified: a request that cannot be
// built is permanent; a non-2xx reply is as [HTTPError] decides; a failure
// to send or to read the reply is retryable, and wraps
// [ErrOutcomeUnknown] once the whole request was written.
func (o *Outbound) Post(ctx context.Context, r *OutboundRequest) (out *OutboundResponse, err error) {
	if o.tracer != nil {
		var span trace.Span
		ctx, span = tracing.Start(ctx, o.tracer, &tracing.SpanParams{
			Name: o.target + " POST", Kind: trace.SpanKindClient, CorrelationID: r.CorrelationID,
			Attributes: []attribute.KeyValue{
				attribute.String("http.request.method", http.MethodPost),
				attribute.String("server.address", o.host),
				attribute.String("url.path", o.path),
				attribute.String(tracing.AttrActionKind, r.Action.Kind),
				attribute.Int(tracing.AttrJobAttempt, r.Action.Attempt),
			},
		})
		defer func() {
			var se *StatusError
			if errors.As(err, &se) {
				span.SetAttributes(attribute.Int("http.response.status_code", se.StatusCode))
			} else if out != nil {
				span.SetAttributes(attribute.Int("http.response.status_code", out.StatusCode))
			}
			tracing.Fail(span, err)
			span.End()
		}()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// wrote records that the whole request went out: from then on, a
	// missing response means the outcome is unknown.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(r.Body))
	if err != nil {
		return nil, Permanent(fmt.Errorf("%s: building request: %w", r.What, err))
	}
	h := req.Header
	for k, vs := range r.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", o.userAgent)
	h.Set(HeaderIdempotencyKey, r.Action.IdempotencyKey)
	h.Set(HeaderAction, r.Action.Kind)
	h.Set(HeaderAttempt, strconv.Itoa(r.Action.Attempt))
	if r.CorrelationID != "" {
		h.Set(correlation.Header, r.CorrelationID)
	}
	if o.sign != nil {
		h.Set(HeaderSignature, o.sign(o.now(), r.Body))
	}
	if o.tracer != nil {
		tracing.Inject(ctx, h)
	}

	resp, err := o.client.Do(req)
	if err != nil {
		return nil, transportError(err, r.What, wrote.Load())
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, HTTPError(resp, o.target, r.What, o.now())
	}
	out = &OutboundResponse{StatusCode: resp.StatusCode}
	if r.MaxReply > 0 {
		out.Body, err = io.ReadAll(io.LimitReader(resp.Body, r.MaxReply))
		if err != nil {
			// The target accepted the request but its reply was lost.
			return nil, transportError(err, r.What, true)
		}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, MaxDrain)
	return out, nil
}

// transportError classifies a failure to get a complete reply: retryable,
// and wrapping ErrOutcomeUnknown once the request was written.
func transportError(err error, what string, wrote bool) error {
	// url.Error repeats the full URL, which may carry a token.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if wrote {
		return Retryable(fmt.Errorf("%s: %w: %w", what, ErrOutcomeUnknown, err), 0)
	}
	return Retryable(fmt.Errorf("%s: %w", what, err), 0)
}
