package tms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
)

// Name is the connector's name in logs and metrics.
const Name = "tms"

// Headers of a dispatch request, besides Content-Type, Accept, User-Agent
// and correlation.Header. They are the webhook connector's.
const (
	// HeaderIdempotencyKey carries the action's idempotency key, which is
	// also the payload's dispatch_id.
	HeaderIdempotencyKey = connector.HeaderIdempotencyKey
	// HeaderAction carries the action kind, dispatch.release.
	HeaderAction = connector.HeaderAction
	// HeaderAttempt carries the 1-based attempt number.
	HeaderAttempt = connector.HeaderAttempt
	// HeaderSignature carries the request signature when a secret is set.
	HeaderSignature = connector.HeaderSignature
)

// Defaults of Config.
const (
	// TimeoutDefault is the default of Config.Timeout.
	TimeoutDefault = 30 * time.Second
	// UserAgentDefault is the default of Config.UserAgent.
	UserAgentDefault = "waybill"
)

const (
	// maxReply is the most of a 2xx reply read for an assignment; the rest
	// is drained up to connector.MaxDrain so the connection can be reused.
	maxReply = 1 << 20
)

// ErrUnsupportedKind reports an action of a kind other than
// shipment.ActionDispatchRelease. Deliver returns it as a permanent error.
var ErrUnsupportedKind = errors.New("unsupported action kind")

// Config configures the TMS connector.
type Config struct {
	// URL is the absolute http or https URL dispatches are POSTed to, such
	// as https://tms.example.com/dispatches. Required.
	URL string
	// Secret is the HMAC key that signs requests, as the webhook connector
	// does (Waybill-Signature). Empty sends requests unsigned. It is
	// redacted when Config is logged or formatted.
	Secret string
	// Timeout is the longest one request may take, from dialling to reading
	// the reply. Defaults to 30s.
	Timeout time.Duration
	// UserAgent is the User-Agent header, such as "waybill/1.4.0". Defaults
	// to "waybill".
	UserAgent string
}

// WithDefaults returns a copy of c with TimeoutDefault and UserAgentDefault
// in place of zero fields.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = TimeoutDefault
	}
	if c.UserAgent == "" {
		c.UserAgent = UserAgentDefault
	}
	return c
}

// Validate reports every problem with c at once: a URL that is not an
// absolute http or https URL, and a negative timeout.
func (c Config) Validate() error {
	var errs []error
	if err := connector.CheckURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is negative", c.Timeout))
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer; the secret shows as REDACTED.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", connector.RedactedURL(c.URL)),
		slog.String("secret", connector.RedactedSecret(c.Secret)),
		slog.Duration("timeout", c.Timeout),
		slog.String("user_agent", c.UserAgent),
	)
}

// String formats c for humans; the secret shows as REDACTED.
func (c Config) String() string {
	return fmt.Sprintf("{URL:%s Secret:%s Timeout:%v UserAgent:%s}",
		connector.RedactedURL(c.URL), connector.RedactedSecret(c.Secret), c.Timeout, c.UserAgent)
}

// Options holds the optional dependencies of a Connector. A nil *Options uses
// every default.
type Options struct {
	// OnAssigned is called, synchronously within Deliver, when a 2xx reply
	// carries a valid assignment. a is the action being delivered (the
	// callback must not modify or keep it) and ctx is Deliver's context. An
	// error from it makes Deliver return a retryable error: the next attempt
	// sends the same dispatch again, which the TMS deduplicates by
	// Idempotency-Key, answering with the same assignment. Nil ignores
	// assignments.
	OnAssigned func(ctx context.Context, a *connector.Action, as Assignment) error
	// Metrics receives one observation per Deliver. Build it once per
	// process with connector.NewMetrics and share it between connectors.
	// Nil records nothing.
	Metrics *connector.Metrics
	// Logger receives a warning when a TMS accepts a dispatch but replies
	// with an assignment that is not valid. Nil discards.
	Logger *slog.Logger
	// NowFunc returns the current time; it stamps signatures and resolves
	// Retry-After dates. Nil uses time.Now.
	NowFunc func() time.Time // TracerProvider, when set, makes each request a client span and sends
	// its W3C traceparent (connector.OutboundOptions.TracerProvider). Nil
	// traces nothing.
	TracerProvider trace.TracerProvider
}

// Connector sends dispatch releases to a TMS. It implements
// connector.Connector and io.Closer. Build it with [New]; it is safe for
// concurrent use.
type Connector struct {
	host       string
	onAssigned func(ctx context.Context, a *connector.Action, as Assignment) error
	metrics    *connector.Metrics
	log        *slog.Logger
	validator  *event.Validator
	outbound   *connector.Outbound
}

// New returns a Connector for cfg, after applying cfg.WithDefaults. It fails
// when cfg.Validate does. opts may be nil.
func New(cfg Config, opts *Options) (*Connector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring tms connector: %w", err)
	}
	if opts == nil {
		opts = &Options{}
	}
	v, err := event.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("configuring tms connector: compiling event schemas: %w", err)
	}
	out := &connector.OutboundOptions{
		Target:    Name,
		URL:       cfg.URL,
		Timeout:   cfg.Timeout,
		UserAgent: cfg.UserAgent,
		NowFunc:   opts.NowFunc,

		TracerProvider: opts.TracerProvider,
	}
	if secret := cfg.Secret; secret != "" {
		out.SignFunc = func(t time.Time, body []byte) string { return webhook.Sign(secret, t, body) }
	}
	c := &Connector{
		onAssigned: opts.OnAssigned,
		metrics:    opts.Metrics,
		log:        opts.Logger,
		validator:  v,
		outbound:   connector.NewOutbound(out),
	}
	c.host = c.outbound.Host()
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Name returns "tms".
func (c *Connector) Name() string { return Name }

// Close closes the connector's idle connections. It is idempotent, and
// requests still in flight are not affected.
func (c *Connector) Close() error {
	return c.outbound.Close()
}

// Deliver sends the dispatch of a, once, as the package doc describes, and
// classifies the result. An invalid action, an action of another kind than
// dispatch.release and a payload that is not a shipment with lines are
// permanent errors and send nothing.
func (c *Connector) Deliver(ctx context.Context, a *connector.Action) error {
	start := time.Now()
	err := c.deliver(ctx, a)
	kind := ""
	if a != nil {
		kind = a.Kind
	}
	c.metrics.Observe(Name, kind, time.Since(start), err)
	return err
}

func (c *Connector) deliver(ctx context.Context, a *connector.Action) error {
	if err := a.Validate(); err != nil {
		return connector.Permanent(fmt.Errorf("sending dispatch to %s: %w", c.host, err))
	}
	if a.Kind != shipment.ActionDispatchRelease && a.Kind != shipment.ActionDispatchUpdate {
		return connector.Permanent(fmt.Errorf("sending %s to %s: %w", a.Kind, c.host, ErrUnsupportedKind))
	}
	correlationID := a.CorrelationID
	if correlationID == "" {
		correlationID = correlation.From(ctx)
	}
	s, err := decodeShipment(a.Payload)
	if err != nil {
		return connector.Permanent(fmt.Errorf("building dispatch of shipment %s: %w", a.ShipmentID, err))
	}
	d, err := buildDispatch(s, a.IdempotencyKey, a.ShipmentID, correlationID)
	if err != nil {
		return connector.Permanent(fmt.Errorf("building dispatch of shipment %s: %w", a.ShipmentID, err))
	}
	if a.Kind == shipment.ActionDispatchUpdate {
		d.Update = true
		if e, ok := s.RouteChange(); ok {
			d.UpdateReason = strings.TrimSpace(e.ID + ": " + e.Description)
		}
	}
	body, err := connector.EncodeJSON(d)
	if err != nil {
		return connector.Permanent(fmt.Errorf("encoding dispatch of shipment %s: %w", d.ShipmentID, err))
	}
	reply, err := c.post(ctx, a, correlationID, body)
	if err != nil {
		return err
	}
	return c.assigned(ctx, a, d.ShipmentID, reply)
}

// post sends body and returns the start of a 2xx reply, at most maxReply+1
// bytes, or a classified error.
func (c *Connector) post(ctx context.Context, a *connector.Action, correlationID string, body []byte) ([]byte, error) {
	resp, err := c.outbound.Post(ctx, &connector.OutboundRequest{
		Action:        a,
		CorrelationID: correlationID,
		Body:          body,
		Header:        http.Header{"Accept": {"application/json"}},
		What:          "sending dispatch to " + c.host,
		MaxReply:      maxReply + 1,
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// assigned reads an assignment from a 2xx reply and hands it to the
// callback.
func (c *Connector) assigned(ctx context.Context, a *connector.Action, shipmentID string, reply []byte) error {
	if c.onAssigned == nil {
		return nil
	}
	as, present, err := c.parseAssignment(reply)
	if !present {
		return nil
	}
	if err != nil {
		// The dispatch was accepted: retrying it would get the same reply.
		c.log.WarnContext(ctx, "tms reply carries an invalid assignment",
			slog.String("connector", Name), slog.String("shipment_id", shipmentID), slog.Any("err", err))
		return nil
	}
	if err := c.onAssigned(ctx, a, as); err != nil {
		return connector.Retryable(fmt.Errorf("reporting assignment of shipment %s: %w", shipmentID, err), 0)
	}
	return nil
}

// parseAssignment reads reply as an assignment. present reports whether the
// reply is a JSON object with at least one assignment member; err, whether
// that assignment is malformed or fails the dispatch.assigned schema.
func (c *Connector) parseAssignment(reply []byte) (as Assignment, present bool, err error) {
	if len(reply) > maxReply {
		return Assignment{}, false, nil
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(reply, &members) != nil {
		return Assignment{}, false, nil
	}
	for _, k := range assignmentKeys {
		if _, ok := members[k]; ok {
			present = true
			break
		}
	}
	if !present {
		return Assignment{}, false, nil
	}
	if err := json.Unmarshal(reply, &as); err != nil {
		return Assignment{}, true, fmt.Errorf("decoding assignment: %w", err)
	}
	data, err := json.Marshal(as)
	if err != nil {
		return Assignment{}, true, fmt.Errorf("encoding assignment: %w", err)
	}
	if err := c.validator.Validate(event.DispatchAssigned, data); err != nil {
		return Assignment{}, true, fmt.Errorf("validating assignment: %w", err)
	}
	return as, true, nil
}
