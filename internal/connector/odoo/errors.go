package odoo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/connector"
)

// ErrorKind is the class of an [Error]: what went wrong, independent of the
// transport and of the Odoo version that reported it.
type ErrorKind int

// Error kinds. The comment of each says how [connector.Classify] sees an
// error of that kind as returned by the [Client].
const (
	// KindUnknown is an application error whose name the client does not
	// know. Retryable: Odoo rolled the transaction back, and retrying the
	// unforeseen is the safe default.
	KindUnknown ErrorKind = iota
	// KindAccessDenied is a refused login, password or API key
	// (odoo.exceptions.AccessDenied, JSON-2 401). Permanent.
	KindAccessDenied
	// KindAccessError is a refused operation: ACL, record rule or a private
	// method (odoo.exceptions.AccessError, JSON-2 403). Permanent.
	KindAccessError
	// KindMissing is a record that does not exist or was deleted
	// (odoo.exceptions.MissingError). Permanent.
	KindMissing
	// KindUser is a business rule refusing the call
	// (odoo.exceptions.UserError, RedirectWarning). Permanent.
	KindUser
	// KindValidation is a constraint violation
	// (odoo.exceptions.ValidationError). Permanent.
	KindValidation
	// KindInvalid is a call Odoo cannot execute as written: unknown field,
	// model or method, wrong arguments (builtins.ValueError, TypeError,
	// AttributeError, KeyError, werkzeug NotFound/UnprocessableEntity/
	// BadRequest, HTTP 400/404/415). Usually a version mismatch. Permanent.
	KindInvalid
	// KindConcurrency is a serialization failure, lock or deadlock that
	// outlasted Odoo's own retries (psycopg2 SerializationFailure,
	// LockNotAvailable, DeadlockDetected, odoo ConcurrencyError, LockError).
	// Nothing was committed. Retryable.
	KindConcurrency
	// KindServer is an HTTP 5xx answer or a server-side failure without an
	// Odoo error object. Retryable, with the Retry-After hint if any.
	KindServer
	// KindRateLimited is an HTTP 429 answer. Retryable, with the
	// Retry-After hint.
	KindRateLimited
	// KindUnavailable is a request that never reached Odoo: connection
	// refused, DNS failure, or the client's circuit breaker is open.
	// Retryable; an open breaker gives the remaining cooldown as hint.
	KindUnavailable
	// KindOutcomeUnknown is a request that was sent but got no usable
	// reply: timeout, connection dropped, proxy 502/504, a reply that is not
	// the protocol's. Odoo may have applied it. The error also matches
	// [connector.ErrOutcomeUnknown]. Retryable, after re-reading state.
	KindOutcomeUnknown
	// KindDecode is a well-formed reply whose result does not have the
	// expected shape. Permanent: the same server answers the same way.
	KindDecode
	// KindConflict is an operation that cannot be applied because Odoo's
	// state contradicts it, such as a picking already validated with other
	// quantities. Permanent.
	KindConflict
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindAccessDenied:   "access_denied",
	KindAccessError:    "access_error",
	KindMissing:        "missing",
	KindUser:           "user_error",
	KindValidation:     "validation_error",
	KindInvalid:        "invalid_call",
	KindConcurrency:    "concurrency",
	KindServer:         "server",
	KindRateLimited:    "rate_limited",
	KindUnavailable:    "unavailable",
	KindOutcomeUnknown: "outcome_unknown",
	KindDecode:         "decode",
	KindConflict:       "conflict",
}

// String returns the kind's snake_case name, used as a metric label.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether errors of kind k are worth retrying.
func (k ErrorKind) Retryable() bool {
	switch k {
	case KindUnknown, KindConcurrency, KindServer, KindRateLimited, KindUnavailable, KindOutcomeUnknown:
		return true
	}
	return false
}

// unhealthy reports whether an error of kind k says the server is
// unreachable or failing, which is what the circuit breaker counts.
func (k ErrorKind) unhealthy() bool {
	switch k {
	case KindServer, KindRateLimited, KindUnavailable, KindOutcomeUnknown:
		return true
	}
	return false
}

// Sentinel errors, one per [ErrorKind]. An [*Error] matches the sentinel of
// its kind with errors.Is, so callers can branch without errors.As:
//
//	if errors.Is(err, odoo.ErrMissing) { … }
var (
	ErrUnknown        = errors.New("odoo: unknown error")
	ErrAccessDenied   = errors.New("odoo: access denied")
	ErrAccessError    = errors.New("odoo: access error")
	ErrMissing        = errors.New("odoo: record missing")
	ErrUser           = errors.New("odoo: user error")
	ErrValidation     = errors.New("odoo: validation error")
	ErrInvalid        = errors.New("odoo: invalid call")
	ErrConcurrency    = errors.New("odoo: concurrency failure")
	ErrServer         = errors.New("odoo: server error")
	ErrRateLimited    = errors.New("odoo: rate limited")
	ErrUnavailable    = errors.New("odoo: unavailable")
	ErrOutcomeUnknown = errors.New("odoo: outcome unknown")
	ErrDecode         = errors.New("odoo: unexpected reply")
	ErrConflict       = errors.New("odoo: state conflict")
)

var kindSentinels = [...]error{
	KindUnknown:        ErrUnknown,
	KindAccessDenied:   ErrAccessDenied,
	KindAccessError:    ErrAccessError,
	KindMissing:        ErrMissing,
	KindUser:           ErrUser,
	KindValidation:     ErrValidation,
	KindInvalid:        ErrInvalid,
	KindConcurrency:    ErrConcurrency,
	KindServer:         ErrServer,
	KindRateLimited:    ErrRateLimited,
	KindUnavailable:    ErrUnavailable,
	KindOutcomeUnknown: ErrOutcomeUnknown,
	KindDecode:         ErrDecode,
	KindConflict:       ErrConflict,
}

// ErrNotFound reports that a lookup such as [Client.FindInvoice] found
// nothing. It is not an Odoo error and carries no class; operations that
// return it to the job runner wrap it in connector.Permanent.
var ErrNotFound = errors.New("odoo: not found")

// Error is a failed Odoo call: the error object Odoo returned, an HTTP-level
// failure, or a transport failure, sorted into a [Kind].
//
// The client never returns a bare *Error: it wraps it in
// [connector.Permanent] or [connector.Retryable] according to its Kind, so
// [connector.Classify] decides from the type alone. Use errors.As to get at
// the fields, and errors.Is with the ErrXxx sentinels (or
// connector.ErrOutcomeUnknown) to test the kind.
type Error struct {
	// Kind is the class of the failure.
	Kind ErrorKind
	// Name is Odoo's exception name (error.data.name on JSON-RPC, name on
	// JSON-2), such as "odoo.exceptions.UserError", or "http.<status>" for
	// a reply without an error object, or empty for transport failures.
	Name string
	// Message is Odoo's message, or a description of the failure.
	Message string
	// Code is the JSON-RPC error.code (200 up to 18, 0 on 19); zero for
	// other transports.
	Code int
	// HTTPStatus is the reply's HTTP status, or zero when none came.
	HTTPStatus int
	// Model and Method name the call that failed.
	Model, Method string
	// Debug is Odoo's traceback. Log it at debug level at most; it is never
	// part of Error().
	Debug string
	// RetryAfter is the server's Retry-After hint, or the remaining cooldown
	// of an open circuit breaker.
	RetryAfter time.Duration
	// Err is the underlying transport or decoding error, if any.
	Err error
}

// Error describes the failure without the traceback.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("odoo")
	if e.Model != "" || e.Method != "" {
		b.WriteString(" ")
		b.WriteString(e.Model)
		b.WriteString(".")
		b.WriteString(e.Method)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Name != "" {
		b.WriteString(" (")
		b.WriteString(e.Name)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's kind, or
// connector.ErrOutcomeUnknown for [KindOutcomeUnknown].
func (e *Error) Is(target error) bool {
	if e.Kind >= 0 && int(e.Kind) < len(kindSentinels) && target == kindSentinels[e.Kind] {
		return true
	}
	return e.Kind == KindOutcomeUnknown && target == connector.ErrOutcomeUnknown
}

// classify wraps e in the connector error class of its kind.
func classify(e *Error) error {
	if e.Kind.Retryable() {
		return connector.Retryable(e, e.RetryAfter)
	}
	return connector.Permanent(e)
}

// kindOfName maps an Odoo exception name to a kind.
func kindOfName(name, message string) ErrorKind {
	switch name {
	case "odoo.exceptions.AccessDenied", "werkzeug.exceptions.Unauthorized":
		return KindAccessDenied
	case "odoo.exceptions.AccessError", "werkzeug.exceptions.Forbidden":
		return KindAccessError
	case "odoo.exceptions.MissingError", "odoo.exceptions.CacheMiss":
		return KindMissing
	case "odoo.exceptions.UserError", "odoo.exceptions.RedirectWarning", "odoo.exceptions.Warning", "odoo.exceptions.except_orm":
		return KindUser
	case "odoo.exceptions.ValidationError":
		return KindValidation
	case "odoo.exceptions.LockError", "odoo.exceptions.ConcurrencyError",
		"psycopg2.errors.SerializationFailure", "psycopg2.errors.LockNotAvailable",
		"psycopg2.errors.DeadlockDetected", "psycopg2.extensions.TransactionRollbackError",
		"psycopg2.errors.TransactionRollback":
		return KindConcurrency
	case "builtins.ValueError", "builtins.TypeError", "builtins.AttributeError", "builtins.KeyError",
		"werkzeug.exceptions.NotFound", "werkzeug.exceptions.UnprocessableEntity",
		"werkzeug.exceptions.BadRequest", "werkzeug.exceptions.MethodNotAllowed",
		"werkzeug.exceptions.UnsupportedMediaType":
		return KindInvalid
	case "odoo.http.SessionExpiredException", "psycopg2.OperationalError", "psycopg2.InterfaceError":
		return KindServer
	case "werkzeug.exceptions.TooManyRequests":
		return KindRateLimited
	case "werkzeug.exceptions.ServiceUnavailable", "werkzeug.exceptions.InternalServerError":
		return KindServer
	}
	// Older servers report a serialization failure under a generic psycopg2
	// name; PostgreSQL's message is stable ("could not serialize access due
	// to concurrent update").
	if strings.HasPrefix(name, "psycopg2") && strings.Contains(message, "could not serialize access") {
		return KindConcurrency
	}
	return KindUnknown
}

// kindOfStatus maps an HTTP status without a usable error object to a kind.
func kindOfStatus(status int) ErrorKind {
	switch {
	case status == 429:
		return KindRateLimited
	case status == 401:
		return KindAccessDenied
	case status == 403:
		return KindAccessError
	case status == 409:
		return KindConcurrency
	case status == 502 || status == 504:
		// A proxy gave up waiting; Odoo may have committed.
		return KindOutcomeUnknown
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindInvalid
	}
	return KindOutcomeUnknown
}
