package odoo

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Protocol names accepted in [Config.Protocol].
const (
	// ProtocolJSONRPC is POST /jsonrpc with object.execute_kw (16–19;
	// deprecated on 19).
	ProtocolJSONRPC = "jsonrpc"
	// ProtocolJSON2 is POST /json/2/<model>/<method> with a bearer API key
	// (19 and later).
	ProtocolJSON2 = "json2"
)

// Defaults applied by [Config.WithDefaults].
const (
	// TimeoutDefault is the default per-call deadline. Odoo retries
	// serialization failures server-side for up to about 30 s, so shorter
	// deadlines turn contention into outcome-unknown errors.
	TimeoutDefault = 120 * time.Second
	// RateLimitDefault is the default number of calls per second.
	RateLimitDefault = 20.0
	// BreakerFailuresDefault is the default number of consecutive failures
	// that open the circuit breaker.
	BreakerFailuresDefault = 5
	// BreakerCooldownDefault is the default time the breaker stays open.
	BreakerCooldownDefault = 30 * time.Second
	// MinVersion and MaxVersion bound the supported Odoo major versions.
	MinVersion = 16
	MaxVersion = 19
)

// Config configures a [Client]. Build it, call WithDefaults, then pass it to
// [New], which validates it.
type Config struct {
	// URL is the Odoo base URL, such as "https://erp.example.com". Required.
	URL string `koanf:"url" json:"url"`
	// Database is the Odoo database name. Required.
	Database string `koanf:"database" json:"database"`
	// Login is the integration user's login. Required for JSON-RPC, which
	// authenticates with common.authenticate; unused by JSON-2.
	Login string `koanf:"login" json:"login"`
	// APIKey is the integration user's API key (or, on JSON-RPC, its
	// password). Required. Secret: never logged.
	APIKey string `koanf:"api_key" json:"api_key"`
	// Version forces the Odoo major version (16–19). Zero means detect it
	// from the server when the client is built.
	Version int `koanf:"version" json:"version"`
	// Protocol forces the transport, "jsonrpc" or "json2". Empty means
	// json2 on 19 and later, jsonrpc before.
	Protocol string `koanf:"protocol" json:"protocol"`
	// Timeout is the deadline of each call, on top of the caller's context.
	// Defaults to 120s.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`
	// RateLimit is the most calls per second this client makes. Defaults
	// to 20.
	RateLimit float64 `koanf:"rate_limit" json:"rate_limit"`
	// Burst is how many calls may go out at once above the rate. Defaults
	// to RateLimit rounded up, at least 1.
	Burst int `koanf:"burst" json:"burst"`
	// BreakerFailures is the number of consecutive failures that say the
	// server is unreachable or failing (connection errors, timeouts, 5xx,
	// 429, unparsable replies) after which the circuit breaker opens.
	// Defaults to 5.
	BreakerFailures int `koanf:"breaker_failures" json:"breaker_failures"`
	// BreakerCooldown is how long the breaker stays open before it lets one
	// probe call through. Defaults to 30s.
	BreakerCooldown time.Duration `koanf:"breaker_cooldown" json:"breaker_cooldown"`
	// HTTPClient sends the requests. Nil means a client of the client's own
	// with dial and TLS timeouts; its Timeout should be zero or above
	// Timeout, since every call carries its own deadline.
	HTTPClient *http.Client `json:"-"`
	// Metrics receives call metrics. Nil records nothing.
	Metrics *Metrics `json:"-"`
	// Logger receives debug logs of calls and warnings about the breaker.
	// Nil discards them.
	Logger *slog.Logger `json:"-"`
	// OnRecover, when set, is called when the circuit breaker closes again
	// after an outage, with when the outage began (the breaker opened) and
	// ended. It runs on the call that found Odoo back and must not block:
	// hand the work off.
	OnRecover func(from, to time.Time) `json:"-"`
	// TracerProvider, when set, makes each call a client span ("odoo
	// <model>.<method>") whose W3C traceparent goes with the request.
	// Nil traces nothing and sends no traceparent.
	TracerProvider trace.TracerProvider `json:"-"`
}

// WithDefaults returns a copy of c with defaults applied to unset fields.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = TimeoutDefault
	}
	if c.RateLimit == 0 {
		c.RateLimit = RateLimitDefault
	}
	if c.Burst == 0 {
		c.Burst = max(1, int(c.RateLimit+0.999))
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = BreakerFailuresDefault
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = BreakerCooldownDefault
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every problem of c at once, each naming its key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.URL == "" {
		add("url", "required")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "%q is not an http(s) URL", c.URL)
	}
	if c.Database == "" {
		add("database", "required")
	}
	if c.APIKey == "" {
		add("api_key", "required")
	}
	if c.Version != 0 && (c.Version < MinVersion || c.Version > MaxVersion) {
		add("version", "%d is not supported (%d to %d, or 0 to detect)", c.Version, MinVersion, MaxVersion)
	}
	switch c.Protocol {
	case "", ProtocolJSONRPC:
	case ProtocolJSON2:
		if c.Version != 0 && c.Version < 19 {
			add("protocol", "json2 needs Odoo 19 or later, version is %d", c.Version)
		}
	default:
		add("protocol", "%q is not jsonrpc or json2", c.Protocol)
	}
	if c.Login == "" && (c.Protocol == ProtocolJSONRPC || (c.Protocol == "" && c.Version != 0 && c.Version < 19)) {
		add("login", "required for the jsonrpc protocol")
	}
	if c.Timeout <= 0 {
		add("timeout", "must be positive, got %s", c.Timeout)
	}
	if c.RateLimit <= 0 {
		add("rate_limit", "must be positive, got %g", c.RateLimit)
	}
	if c.Burst < 1 {
		add("burst", "must be at least 1, got %d", c.Burst)
	}
	if c.BreakerFailures < 1 {
		add("breaker_failures", "must be at least 1, got %d", c.BreakerFailures)
	}
	if c.BreakerCooldown <= 0 {
		add("breaker_cooldown", "must be positive, got %s", c.BreakerCooldown)
	}
	return errors.Join(errs...)
}

// String renders c with the API key redacted, so that printing a Config
// with fmt does not reveal it.
func (c Config) String() string { return c.LogValue().String() }

// GoString is String, for %#v.
func (c Config) GoString() string { return "odoo.Config" + c.String() }

// LogValue renders c for logs with the API key redacted.
func (c Config) LogValue() slog.Value {
	key := ""
	if c.APIKey != "" {
		key = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("url", redactURL(c.URL)),
		slog.String("database", c.Database),
		slog.String("login", c.Login),
		slog.String("api_key", key),
		slog.Int("version", c.Version),
		slog.String("protocol", c.Protocol),
	)
}

// redactURL hides a password in a URL's user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
