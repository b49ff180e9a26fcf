package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/tracing"
)

// Client talks to one Odoo database. Build it with [New]. It is safe for
// concurrent use; see the package documentation for its lifecycle.
type Client struct {
	cfg     Config
	profile Profile
	tr      transport
	rpc     *jsonrpcTransport // set when tr is JSON-RPC, for login
	login   string
	hc      *http.Client
	ownHC   bool
	lim     *rate.Limiter
	brk     *breaker
	log     *slog.Logger
	now     func() time.Time
	tracer  trace.Tracer // nil with tracing off

	authMu sync.Mutex // serializes logins; never held with callsMu

	callsMu sync.Mutex
	calls   map[string]int

	notes noteCache // what PostMessages knows is posted; never held with callsMu

	pickings pickingFacts // what does not change about the pickings read so far
}

// New validates cfg (after WithDefaults), detects the Odoo version unless
// cfg.Version is set, picks the transport and, for JSON-RPC, logs in. The
// calls it makes have cfg.Timeout as deadline on top of ctx.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validating odoo config: %w", err)
	}
	c := &Client{
		cfg:   cfg,
		log:   cfg.Logger,
		now:   time.Now,
		calls: make(map[string]int),
		login: cfg.Login,
	}
	if cfg.TracerProvider != nil {
		c.tracer = tracing.Tracer(cfg.TracerProvider)
	}
	c.hc = cfg.HTTPClient
	if c.hc == nil {
		c.hc = newHTTPClient()
		c.ownHC = true
	}
	ready := false
	defer func() {
		if !ready {
			_ = c.Close()
		}
	}()
	c.lim = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.Burst)
	c.brk = newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown, c.now)
	base := strings.TrimRight(cfg.URL, "/")

	version := cfg.Version
	if version == 0 {
		v, err := c.detect(ctx, base)
		if err != nil {
			return nil, fmt.Errorf("detecting odoo version at %s: %w", base, err)
		}
		if v < MinVersion || v > MaxVersion {
			return nil, fmt.Errorf("detecting odoo version at %s: %w", base,
				classify(&Error{Kind: KindInvalid, Message: fmt.Sprintf("odoo %d is not supported (%d to %d)", v, MinVersion, MaxVersion)}))
		}
		version = v
	}
	c.profile = ProfileFor(version)
	proto := cfg.Protocol
	if proto == "" {
		proto = ProtocolJSONRPC
		if version >= 19 {
			proto = ProtocolJSON2
		}
	}
	switch proto {
	case ProtocolJSON2:
		if version < 19 {
			return nil, fmt.Errorf("choosing odoo transport: json2 needs odoo 19, server is %d: %w", version,
				classify(&Error{Kind: KindInvalid, Message: "json2 unsupported"}))
		}
		c.tr = &json2Transport{hc: c.hc, base: base, db: cfg.Database, key: cfg.APIKey, now: c.now}
	default:
		if cfg.Login == "" {
			return nil, fmt.Errorf("choosing odoo transport: login: required for the jsonrpc protocol: %w",
				classify(&Error{Kind: KindInvalid, Message: "no login"}))
		}
		c.rpc = &jsonrpcTransport{hc: c.hc, url: base + "/jsonrpc", db: cfg.Database, key: cfg.APIKey, now: c.now}
		c.tr = c.rpc
		if err := c.authenticate(ctx); err != nil {
			return nil, fmt.Errorf("logging in to odoo database %q as %q: %w", cfg.Database, cfg.Login, err)
		}
	}
	ready = true
	c.log.InfoContext(ctx, "odoo client ready", slog.String("url", redactURL(base)), slog.Int("version", version), slog.String("protocol", proto))
	return c, nil
}

// newHTTPClient returns the client's own HTTP client: bounded dial and TLS
// handshake; the rest of each exchange is bounded by the call's deadline.
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// Close releases idle connections of the client's own HTTP client. It is
// idempotent; calls after Close still work but open new connections.
func (c *Client) Close() error {
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// Version returns the Odoo major version the client works with.
func (c *Client) Version() int { return c.profile.Version }

// Profile returns the version profile in use.
func (c *Client) Profile() Profile { return c.profile }

// Protocol returns the transport in use, "jsonrpc" or "json2".
func (c *Client) Protocol() string { return c.tr.protocol() }

// Calls returns how many requests the client has sent, keyed
// "model.method" ("common.authenticate", "web.version" for the service
// calls). Calls refused by the circuit breaker or the rate limiter's
// context are not counted. The map is a copy.
func (c *Client) Calls() map[string]int {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	return maps.Clone(c.calls)
}

// ResetCalls sets every counter of [Client.Calls] back to zero.
func (c *Client) ResetCalls() {
	c.callsMu.Lock()
	defer c.callsMu.Unlock()
	clear(c.calls)
}

func (c *Client) count(key string) {
	c.callsMu.Lock()
	c.calls[key]++
	c.callsMu.Unlock()
}

func (c *Client) detect(ctx context.Context, base string) (int, error) {
	var v int
	err := c.do(ctx, "common", "version", func(ctx context.Context) *Error {
		n, e := detectVersion(ctx, c.hc, base, c.now, c.count)
		v = n
		return e
	}, false)
	return v, err
}

func (c *Client) authenticate(ctx context.Context) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.rpc.uid.Load() != 0 {
		return nil
	}
	return c.do(ctx, "common", "authenticate", func(ctx context.Context) *Error {
		return c.rpc.authenticate(ctx, c.login)
	}, true)
}

// do runs one exchange with Odoo under the rate limiter, the circuit
// breaker and the call deadline, records metrics and returns the failure
// classified for the job runner.
func (c *Client) do(ctx context.Context, model, method string, fn func(ctx context.Context) *Error, counted bool) (err error) {
	if c.tracer != nil {
		var span trace.Span
		ctx, span = tracing.Start(ctx, c.tracer, &tracing.SpanParams{
			Name: "odoo " + model + "." + method, Kind: trace.SpanKindClient, CorrelationID: correlation.From(ctx),
			Attributes: []attribute.KeyValue{
				attribute.String("rpc.system", "odoo"),
				attribute.String("odoo.model", model),
				attribute.String("odoo.method", method),
			},
		})
		defer func() {
			tracing.Fail(span, err)
			span.End()
		}()
	}
	if ok, wait := c.brk.allow(); !ok {
		e := &Error{Kind: KindUnavailable, Model: model, Method: method, Message: "circuit breaker open", RetryAfter: wait}
		c.cfg.Metrics.failed(model, method, e.Kind)
		return classify(e)
	}
	if err := waitRate(ctx, c.lim, c.now); err != nil {
		c.brk.release()
		return fmt.Errorf("waiting for the odoo rate limiter: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if counted {
		c.count(model + "." + method)
		countCall(ctx)
	}
	start := c.now()
	e := fn(cctx)
	d := c.now().Sub(start)
	c.cfg.Metrics.observe(model, method, d)
	if e == nil {
		if _, closed, since := c.brk.record(true); closed {
			c.closed(ctx, since)
		}
		c.log.DebugContext(ctx, "odoo call", slog.String("model", model), slog.String("method", method), slog.Duration("duration", d))
		return nil
	}
	e.Model, e.Method = model, method
	c.cfg.Metrics.failed(model, method, e.Kind)
	if ctx.Err() != nil && e.Kind == KindUnavailable {
		// The caller gave up before anything was sent: says nothing about
		// the server.
		c.brk.release()
		return fmt.Errorf("calling odoo %s.%s: %w", model, method, ctx.Err())
	}
	if e.Debug != "" {
		c.log.DebugContext(ctx, "odoo call failed", slog.String("model", model), slog.String("method", method),
			slog.String("kind", e.Kind.String()), slog.String("debug", e.Debug))
	}
	if ctx.Err() != nil {
		c.brk.release()
	} else if opened, closed, since := c.brk.record(!e.Kind.unhealthy()); opened {
		c.cfg.Metrics.breakerOpen(true)
		c.log.WarnContext(ctx, "odoo circuit breaker open", slog.String("url", redactURL(c.cfg.URL)),
			slog.Duration("cooldown", c.cfg.BreakerCooldown), slog.String("kind", e.Kind.String()))
	} else if closed {
		// An application error closes it too: the server answered.
		c.closed(ctx, since)
	}
	return classify(e)
}

// closed reports the breaker closing after an outage that began at since.
func (c *Client) closed(ctx context.Context, since time.Time) {
	now := c.now()
	c.cfg.Metrics.breakerOpen(false)
	c.log.InfoContext(ctx, "odoo circuit breaker closed", slog.String("url", redactURL(c.cfg.URL)),
		slog.Duration("outage", now.Sub(since).Truncate(time.Second)))
	if c.cfg.OnRecover != nil {
		c.cfg.OnRecover(since, now)
	}
}

// call sends r and returns its raw result, nil for None/null.
func (c *Client) call(ctx context.Context, r *request) (json.RawMessage, error) {
	if c.rpc != nil && c.rpc.uid.Load() == 0 {
		if err := c.authenticate(ctx); err != nil {
			return nil, err
		}
	}
	var res json.RawMessage
	err := c.do(ctx, r.model, r.method, func(ctx context.Context) *Error {
		var e *Error
		res, e = c.tr.call(ctx, r)
		return e
	}, true)
	return res, err
}

// callInto sends r and decodes its result into out.
func (c *Client) callInto(ctx context.Context, r *request, out any) error {
	res, err := c.call(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if res == nil {
		res = json.RawMessage("null")
	}
	if err := json.Unmarshal(res, out); err != nil {
		return decodeError(r.model, r.method, err)
	}
	return nil
}

func decodeError(model, method string, err error) error {
	return classify(&Error{Kind: KindDecode, Model: model, Method: method, Message: "unexpected result", Err: err})
}

// Domain is an Odoo search domain in prefix notation: leaves are
// [field, operator, value] triples, combined with "&", "|" and "!".
type Domain []any

// Leaf returns the domain leaf [field, op, value].
func Leaf(field, op string, value any) []any { return []any{field, op, value} }

// SearchOptions are the paging options of [Client.SearchRead] and
// [Client.Search].
type SearchOptions struct {
	// Fields lists the fields to read; empty reads "id" only.
	Fields []string
	// Offset skips that many records.
	Offset int
	// Limit caps the number of records; zero means no limit.
	Limit int
	// Order is an SQL-like order such as "write_date asc, id asc". Empty
	// uses "id asc": the model's default order differs per model and
	// version.
	Order string
	// Context is the Odoo context of the call.
	Context map[string]any
}

func (o *SearchOptions) kwargs(withFields bool) map[string]any {
	kw := map[string]any{"order": "id asc"}
	if o == nil {
		if withFields {
			kw["fields"] = []string{"id"}
		}
		return kw
	}
	if o.Order != "" {
		kw["order"] = o.Order
	}
	if o.Offset > 0 {
		kw["offset"] = o.Offset
	}
	if o.Limit > 0 {
		kw["limit"] = o.Limit
	}
	if withFields {
		f := o.Fields
		if len(f) == 0 {
			f = []string{"id"}
		}
		kw["fields"] = f
	}
	return kw
}

func optsContext(o *SearchOptions) map[string]any {
	if o == nil {
		return nil
	}
	return o.Context
}

// Record is one record as read from Odoo, field name to raw JSON value.
// Its accessors decode Odoo's conventions (false for empty, [id, name] for
// many2one) and never panic on unexpected types: they return zero values.
type Record map[string]json.RawMessage

// SearchRead runs search_read on model and returns the records.
func (c *Client) SearchRead(ctx context.Context, model string, domain Domain, opts *SearchOptions) ([]Record, error) {
	var out []Record
	err := c.callInto(ctx, &request{
		model: model, method: "search_read",
		args:    []arg{{"domain", nonNilDomain(domain)}},
		kwargs:  opts.kwargs(true),
		context: optsContext(opts),
	}, &out)
	return out, err
}

// Search runs search on model and returns the ids.
func (c *Client) Search(ctx context.Context, model string, domain Domain, opts *SearchOptions) ([]int, error) {
	var out []int
	err := c.callInto(ctx, &request{
		model: model, method: "search",
		args:    []arg{{"domain", nonNilDomain(domain)}},
		kwargs:  opts.kwargs(false),
		context: optsContext(opts),
	}, &out)
	return out, err
}

// Read reads fields of the records ids of model. Missing ids are left out,
// as Odoo does. An empty ids reads nothing and makes no call.
func (c *Client) Read(ctx context.Context, model string, ids []int, fields []string) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(fields) == 0 {
		fields = []string{"id"}
	}
	var out []Record
	err := c.callInto(ctx, &request{
		model: model, method: "read", ids: ids, withIDs: true,
		kwargs: map[string]any{"fields": fields},
	}, &out)
	return out, err
}

// Write writes the same values on the records ids of model. An empty ids
// makes no call.
func (c *Client) Write(ctx context.Context, model string, ids []int, vals map[string]any) error {
	if len(ids) == 0 {
		return nil
	}
	var ok bool
	return c.callInto(ctx, &request{
		model: model, method: "write", ids: ids, withIDs: true,
		args: []arg{{"vals", vals}},
	}, &ok)
}

// CallOptions are the optional parts of [Client.Execute] and [Client.Create].
type CallOptions struct {
	// Kwargs are keyword arguments of the method (JSON-2 body keys).
	Kwargs map[string]any
	// Context is the Odoo context of the call, such as the active_* keys a
	// wizard needs.
	Context map[string]any
}

func (o *CallOptions) kwargs() map[string]any {
	if o == nil {
		return nil
	}
	return o.Kwargs
}

func (o *CallOptions) context() map[string]any {
	if o == nil {
		return nil
	}
	return o.Context
}

// Create creates one record per element of vals in one call and returns
// their ids, in order. opts may be nil; its Kwargs are ignored.
func (c *Client) Create(ctx context.Context, model string, vals []map[string]any, opts *CallOptions) ([]int, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	res, err := c.call(ctx, &request{
		model: model, method: "create",
		args:    []arg{{"vals_list", vals}},
		context: opts.context(),
	})
	if err != nil {
		return nil, err
	}
	ids, ok := decodeIDs(res)
	if !ok || len(ids) != len(vals) {
		return nil, decodeError(model, "create", fmt.Errorf("create of %d records returned %s", len(vals), snippet(res)))
	}
	return ids, nil
}

// Unlink deletes the records ids of model. An empty ids makes no call.
func (c *Client) Unlink(ctx context.Context, model string, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	return c.callInto(ctx, &request{model: model, method: "unlink", ids: ids, withIDs: true}, nil)
}

// Execute calls a public business method (such as "action_confirm") on the
// records ids of model and returns its raw result (nil when the method
// returned None). opts may be nil.
func (c *Client) Execute(ctx context.Context, model, method string, ids []int, opts *CallOptions) (json.RawMessage, error) {
	if strings.HasPrefix(method, "_") {
		return nil, classify(&Error{Kind: KindAccessError, Model: model, Method: method, Message: "private methods cannot be called remotely"})
	}
	return c.call(ctx, &request{model: model, method: method, ids: ids, withIDs: true, kwargs: opts.kwargs(), context: opts.context()})
}

// decodeIDs accepts an id or a list of ids.
func decodeIDs(raw json.RawMessage) ([]int, bool) {
	var one int
	if json.Unmarshal(raw, &one) == nil && one > 0 {
		return []int{one}, true
	}
	var many []int
	if json.Unmarshal(raw, &many) == nil {
		return many, true
	}
	return nil, false
}

func nonNilDomain(d Domain) Domain {
	if d == nil {
		return Domain{}
	}
	return d
}
