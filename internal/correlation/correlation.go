// Package correlation carries one correlation id from an event's source to
// every state change, job, outbound request and log line derived from it.
//
// The id travels in a context.Context under an unexported key ([With],
// [From]). [Handler] wraps a slog.Handler and adds the id, as the
// attribute correlation_id, to every record logged with a context that
// carries one. [FromTraceparent] extracts the trace id of a W3C
// traceparent header, which serves as the correlation id when an event
// names no other.
package correlation

import (
	"context"
	"log/slog"
	"strings"

	"github.com/google/uuid"
)

// Header is the HTTP header that carries a correlation id in and out.
const Header = "X-Correlation-ID"

// AttrKey is the log attribute key of the correlation id.
const AttrKey = "correlation_id"

// MaxLen is the longest correlation id kept; longer ones are rejected by
// intake.
const MaxLen = 128

type contextKey struct{}

// With returns a copy of ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// From returns the correlation id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(contextKey{}).(string)
	return id
}

// New returns a fresh correlation id (a UUIDv7).
func New() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// FromTraceparent returns the trace id of a W3C traceparent value
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), or "" when the
// value breaks the Trace Context rules
// (https://www.w3.org/TR/trace-context/#traceparent-header): hex must be
// lowercase, the version must not be ff, neither id may be all zeros,
// version 00 has exactly four fields, and a later version may only add
// fields after a dash.
func FromTraceparent(tp string) string {
	// version "-" trace-id "-" parent-id "-" trace-flags
	const n = 2 + 1 + 32 + 1 + 16 + 1 + 2
	if len(tp) < n || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return ""
	}
	version, trace, parent, flags := tp[0:2], tp[3:35], tp[36:52], tp[53:55]
	if !lowerHex(version) || version == "ff" || !lowerHex(trace) || !lowerHex(parent) || !lowerHex(flags) ||
		allZero(trace) || allZero(parent) {
		return ""
	}
	if len(tp) > n && (version == "00" || tp[n] != '-') {
		return ""
	}
	return trace
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }

// Valid reports whether id is acceptable as a correlation id: 1 to MaxLen
// printable ASCII characters without spaces.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// Handler is a slog.Handler that adds the context's correlation id to every
// record.
type Handler struct {
	next slog.Handler
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String(AttrKey, id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
