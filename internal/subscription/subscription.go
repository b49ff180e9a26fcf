package subscription

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
)

// Subscription is an endpoint and what it is sent.
type Subscription struct {
	ID string `json:"id"`
	// Owner is the customer ref of a customer's subscription, which only
	// ever receives that customer's shipments; empty for the operator's.
	Owner string `json:"owner,omitempty"`
	// URL is the endpoint: https, or http to a host allowed by
	// configuration.
	URL string `json:"url"`
	// EventTypes are the canonical event types wanted: shipment.delivered,
	// or a pattern with * such as shipment.* or *.
	EventTypes []string `json:"event_types"`
	// Filter narrows the shipments; all of its set fields must match.
	Filter Filter `json:"filter"`
	// Description says what the endpoint is for.
	Description string `json:"description,omitempty"`
	// Redact names data members left out of what the endpoint is sent,
	// wherever they are in the event's data (charges, amount, …).
	Redact []string `json:"redact,omitempty"`
	// RateLimit is the most deliveries a second to the endpoint, per
	// replica; zero is the configured default.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Enabled is false once the endpoint was disabled: by its owner, after
	// a 410 Gone, or after failing for subscriptions.disable_after.
	Enabled bool `json:"enabled"`
	// DisabledReason says why it was disabled.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is when its deliveries started failing, nil while they
	// succeed.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`

	secrets []Secret
	program cel.Program // the compiled Filter.Expression, nil without one
}

// Filter narrows the shipments a subscription receives.
type Filter struct {
	// Customer is the shipment's customer ref.
	Customer string `json:"customer,omitempty"`
	// Warehouse is the ref (or name) of the shipment's origin.
	Warehouse string `json:"warehouse,omitempty"`
	// Carrier is the SCAC or ref of the shipment's carrier.
	Carrier string `json:"carrier,omitempty"`
	// Expression is a CEL expression over shipment (the shipment as its
	// JSON, after the event) and event (type, source, subject, time), that
	// must be true.
	Expression string `json:"expression,omitempty"`
}

// Secret is a signing secret, and when it stops being used (nil for the
// current one).
type Secret struct {
	Secret string     `json:"secret"`
	Until  *time.Time `json:"until,omitempty"`
}

// Secrets returns the secrets signing its deliveries at now, the newest
// first.
func (s *Subscription) Secrets(now time.Time) []string {
	var out []string
	for _, sc := range s.secrets {
		if sc.Until == nil || now.Before(*sc.Until) {
			out = append(out, sc.Secret)
		}
	}
	return out
}

// ErrInvalid wraps every reason a subscription is refused.
var ErrInvalid = errors.New("invalid subscription")

// ErrForbidden reports a customer's key asking for another customer's
// shipments.
var ErrForbidden = errors.New("a customer's subscription receives only that customer's shipments")

// ErrNotFound reports an unknown subscription (or another customer's).
var ErrNotFound = errors.New("subscription not found")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Targets decides which endpoint addresses are allowed.
type Targets struct {
	// AllowPrivate allows loopback, private, link-local and other
	// non-public addresses (subscriptions.allow_private_targets): for
	// endpoints inside the operator's network, and for tests.
	AllowPrivate bool
	// AllowHTTP allows http URLs, not only https.
	AllowHTTP bool
}

// checkURL checks an endpoint URL: absolute, https (or http when
// allowed), no credentials, and, when its host is an address, a public one
// unless allowed. A host name is checked again when it is dialled (see
// Dialer), since it may resolve elsewhere then.
func (t Targets) checkURL(raw string) error {
	if len(raw) > 2048 {
		return invalid("url is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return invalid("url %q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && t.AllowHTTP:
	default:
		return invalid("url %q: want https", raw)
	}
	if u.User != nil {
		return invalid("url must not carry credentials")
	}
	if u.Fragment != "" {
		return invalid("url must not have a fragment")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !t.AllowPrivate && !public(ip) {
		return invalid("url %q points to a private address; set subscriptions.allow_private_targets to allow it", raw)
	}
	if h := strings.ToLower(u.Hostname()); !t.AllowPrivate && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		return invalid("url %q points to this host; set subscriptions.allow_private_targets to allow it", raw)
	}
	return nil
}

// public reports whether ip is a public unicast address.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!cgnat.Contains(ip) && !ip.IsMulticast() && !ip.IsUnspecified()
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// checkTypes checks event type patterns: known types, or patterns with *
// that match at least one.
func checkTypes(types []string) error {
	if len(types) == 0 {
		return invalid("event_types: want at least one, such as shipment.* or shipment.delivered")
	}
	if len(types) > 64 {
		return invalid("event_types: at most 64")
	}
	known := event.Types()
	for _, t := range types {
		if !slices.ContainsFunc(known, func(k event.Type) bool { return matchType(t, string(k)) }) {
			return invalid("event_types: %q matches no event type", t)
		}
	}
	return nil
}

// matchType reports whether the event type typ matches pattern (path.Match
// syntax: shipment.* matches shipment.delivered).
func matchType(pattern, typ string) bool {
	ok, err := path.Match(pattern, typ)
	return err == nil && ok
}

// celEnv is the environment of filter expressions.
var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(cel.Variable("shipment", cel.DynType), cel.Variable("event", cel.DynType))
	if err != nil {
		panic(err)
	}
	return env
}()

// compile compiles a filter expression, which must be boolean.
func compile(expr string) (cel.Program, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > 4096 {
		return nil, invalid("filter.expression is longer than 4096 characters")
	}
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, invalid("filter.expression: %v", iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, invalid("filter.expression must be true or false, not %s", ast.OutputType())
	}
	prg, err := celEnv.Program(ast, cel.CostLimit(10000))
	if err != nil {
		return nil, invalid("filter.expression: %v", err)
	}
	return prg, nil
}

// check validates s for a caller owning owner ("" for the operator), and
// compiles its expression.
func (t Targets) check(s *Subscription, owner string) error {
	if owner != "" {
		if s.Owner != "" && s.Owner != owner {
			return ErrForbidden
		}
		if s.Filter.Customer != "" && s.Filter.Customer != owner {
			return ErrForbidden
		}
		s.Owner = owner
	}
	if err := t.checkURL(s.URL); err != nil {
		return err
	}
	if err := checkTypes(s.EventTypes); err != nil {
		return err
	}
	if len(s.Description) > 500 {
		return invalid("description is longer than 500 characters")
	}
	if len(s.Redact) > 32 {
		return invalid("redact: at most 32 members")
	}
	for _, r := range s.Redact {
		if r == "" || len(r) > 64 {
			return invalid("redact: members are 1 to 64 characters")
		}
	}
	if s.RateLimit < 0 || s.RateLimit > 1000 {
		return invalid("rate_limit: between 0 (the default) and 1000 a second")
	}
	prg, err := compile(s.Filter.Expression)
	if err != nil {
		return err
	}
	s.program = prg
	return nil
}

// newID returns a subscription id.
func newID() string { return "sub_" + strings.ReplaceAll(uuid.NewString(), "-", "") }

// warehouseOf and carrierOf are what Filter.Warehouse and Filter.Carrier
// compare to.
func warehouseOf(sh *shipment.Shipment) []string {
	if sh.Origin == nil {
		return nil
	}
	return []string{sh.Origin.Ref, sh.Origin.Name}
}

func carrierOf(sh *shipment.Shipment) []string {
	if sh.Carrier == nil {
		return nil
	}
	return []string{sh.Carrier.SCAC, sh.Carrier.Ref}
}

// customerOf is the shipment's customer ref.
func customerOf(sh *shipment.Shipment) string {
	if sh.Customer == nil {
		return ""
	}
	return sh.Customer.Ref
}
