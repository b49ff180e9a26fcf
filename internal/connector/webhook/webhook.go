package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
)

// Headers of a webhook request, besides Content-Type, User-Agent and
// correlation.Header.
const (
	// HeaderIdempotencyKey carries the action's idempotency key.
	HeaderIdempotencyKey = connector.HeaderIdempotencyKey
	// HeaderAction carries the action kind.
	HeaderAction = connector.HeaderAction
	// HeaderAttempt carries the 1-based attempt number.
	HeaderAttempt = connector.HeaderAttempt
	// HeaderSignature carries the request signature when a secret is set.
	HeaderSignature = connector.HeaderSignature
	// HeaderTraceparent carries a W3C Trace Context traceparent when the
	// correlation id is a trace id.
	HeaderTraceparent = "traceparent"
)

// Defaults of Config.
const (
	// NameDefault is the default of Config.Name.
	NameDefault = "webhook"
	// UserAgentDefault is the default of Config.UserAgent.
	UserAgentDefault = "waybill"
)

// Config configures one webhook connector.
type Config struct {
	// URL is the absolute http or https URL requests are POSTed to.
	// Required.
	URL string
	// Secret is the HMAC key that signs requests (see the package doc).
	// Empty sends requests unsigned. It is redacted when Config is logged or
	// formatted.
	Secret string
	// Timeout is the longest one request may take, from dialling to reading
	// the response. Must be positive.
	Timeout time.Duration
	// Name is the connector's name in metrics and logs. Defaults to
	// "webhook".
	Name string
	// UserAgent is the User-Agent header, such as "waybill/1.4.0". Defaults
	// to "waybill".
	UserAgent string
}

// WithDefaults returns a copy of c with NameDefault and UserAgentDefault in
// place of empty fields.
func (c Config) WithDefaults() Config {
	if c.Name == "" {
		c.Name = NameDefault
	}
	if c.UserAgent == "" {
		c.UserAgent = UserAgentDefault
	}
	return c
}

// Validate reports every problem with c at once: a URL that is not an
// absolute http or https URL, and a timeout that is not positive.
func (c Config) Validate() error {
	var errs []error
	if err := connector.CheckURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is not positive", c.Timeout))
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer; the secret shows as REDACTED.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", connector.RedactedURL(c.URL)),
		slog.String("secret", connector.RedactedSecret(c.Secret)),
		slog.Duration("timeout", c.Timeout),
		slog.String("name", c.Name),
		slog.String("user_agent", c.UserAgent),
	)
}

// String formats c for humans; the secret shows as REDACTED.
func (c Config) String() string {
	return fmt.Sprintf("{URL:%s Secret:%s Timeout:%v Name:%s UserAgent:%s}",
		connector.RedactedURL(c.URL), connector.RedactedSecret(c.Secret), c.Timeout, c.Name, c.UserAgent)
}

// Options holds the optional dependencies of a Connector. A nil *Options uses
// every default.
type Options struct {
	// Metrics receives one observation per request. Build it once per
	// process with connector.NewMetrics and share it between connectors.
	// Nil records nothing.
	Metrics *connector.Metrics
	// NowFunc returns the current time; it stamps signatures and resolves
	// Retry-After dates. Nil uses time.Now.
	NowFunc func() time.Time // TracerProvider, when set, makes each request a client span and sends
	// its W3C traceparent (connector.OutboundOptions.TracerProvider). Nil
	// traces nothing.
	TracerProvider trace.TracerProvider
}

// Connector POSTs actions to one webhook endpoint. It implements
// connector.Connector and io.Closer. Build it with [New]; it is safe for
// concurrent use.
type Connector struct {
	name     string
	metrics  *connector.Metrics
	outbound *connector.Outbound
}

// New returns a Connector for cfg, after applying cfg.WithDefaults. It fails
// when cfg.Validate does. opts may be nil.
func New(cfg Config, opts *Options) (*Connector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring webhook connector %q: %w", cfg.Name, err)
	}
	if opts == nil {
		opts = &Options{}
	}
	out := &connector.OutboundOptions{
		Target:    "webhook",
		URL:       cfg.URL,
		Timeout:   cfg.Timeout,
		UserAgent: cfg.UserAgent,
		NowFunc:   opts.NowFunc,

		TracerProvider: opts.TracerProvider,
	}
	if cfg.Secret != "" {
		secret := []byte(cfg.Secret)
		out.SignFunc = func(t time.Time, body []byte) string { return sign(secret, t, body) }
	}
	return &Connector{
		name:     cfg.Name,
		metrics:  opts.Metrics,
		outbound: connector.NewOutbound(out),
	}, nil
}

// Name returns Config.Name.
func (c *Connector) Name() string { return c.name }

// Close closes the connector's idle connections. It is idempotent, and
// requests still in flight are not affected.
func (c *Connector) Close() error {
	return c.outbound.Close()
}

// Deliver POSTs a to the endpoint, once, as the package doc describes, and
// classifies the result. An invalid action (see connector.Action.Validate)
// is a permanent error and sends nothing.
func (c *Connector) Deliver(ctx context.Context, a *connector.Action) error {
	if err := a.Validate(); err != nil {
		return connector.Permanent(fmt.Errorf("posting action to %s: %w", c.outbound.Host(), err))
	}
	start := time.Now()
	err := c.post(ctx, a)
	c.metrics.Observe(c.name, a.Kind, time.Since(start), err)
	return err
}

// envelope is the request body.
type envelope struct {
	Kind           string          `json:"kind"`
	ShipmentID     string          `json:"shipment_id"`
	EventID        string          `json:"event_id"`
	CorrelationID  string          `json:"correlation_id"`
	IdempotencyKey string          `json:"idempotency_key"`
	Payload        json.RawMessage `json:"payload"`
}

func encodeBody(a *connector.Action, correlationID string) ([]byte, error) {
	return connector.EncodeJSON(envelope{
		Kind:           a.Kind,
		ShipmentID:     a.ShipmentID,
		EventID:        a.EventID,
		CorrelationID:  correlationID,
		IdempotencyKey: a.IdempotencyKey,
		Payload:        a.Payload,
	})
}

func (c *Connector) post(ctx context.Context, a *connector.Action) error {
	what := "posting " + a.Kind + " to " + c.outbound.Host()
	correlationID := a.CorrelationID
	if correlationID == "" {
		correlationID = correlation.From(ctx)
	}
	body, err := encodeBody(a, correlationID)
	if err != nil {
		return connector.Permanent(fmt.Errorf("%s: encoding body: %w", what, err))
	}
	var h http.Header
	if isTraceID(correlationID) {
		h = http.Header{HeaderTraceparent: {traceparent(correlationID)}}
	}
	_, err = c.outbound.Post(ctx, &connector.OutboundRequest{
		Action:        a,
		CorrelationID: correlationID,
		Body:          body,
		Header:        h,
		What:          what,
	})
	return err
}

// isTraceID reports whether id is a W3C trace id as Waybill keeps one: 32
// lowercase hex digits, not all zeros. correlation.FromTraceparent yields
// ids of this form.
func isTraceID(id string) bool {
	if len(id) != 32 {
		return false
	}
	zero := true
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
		if c != '0' {
			zero = false
		}
	}
	return !zero
}

// traceparent returns a version 00, sampled traceparent value for traceID
// with a new random span (parent) id, so the receiver's spans join the
// trace as children of this request.
func traceparent(traceID string) string {
	var span [8]byte
	for span == [8]byte{} { // an all-zero span id is invalid
		_, _ = rand.Read(span[:])
	}
	return "00-" + traceID + "-" + hex.EncodeToString(span[:]) + "-01"
}
