package apikey

import (
	"context"
	"log/slog"
)

// Log attribute keys of the key a request authenticated with.
const (
	AttrKeyID    = "key_id"
	AttrKeyName  = "key_name"
	AttrKeyLabel = "key_label"
)

type contextKey struct{}

// NewContext returns a copy of ctx carrying k, the key a request
// authenticated with.
func NewContext(ctx context.Context, k *Key) context.Context {
	return context.WithValue(ctx, contextKey{}, k)
}

// FromContext returns the key ctx carries, or nil.
func FromContext(ctx context.Context) *Key {
	k, _ := ctx.Value(contextKey{}).(*Key)
	return k
}

// LogHandler is a slog.Handler that adds the context's key (NewContext) to
// every record: key_id, key_name and, when the key has one, key_label. It
// never logs secret material: a Key holds none.
type LogHandler struct {
	next slog.Handler
}

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler { return &LogHandler{next: next} }

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if k := FromContext(ctx); k != nil {
		r.AddAttrs(slog.String(AttrKeyID, k.ID), slog.String(AttrKeyName, k.Name))
		if k.Label != "" {
			r.AddAttrs(slog.String(AttrKeyLabel, k.Label))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}
