package correlation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/waybill/waybill/internal/correlation"
)

func TestFromTraceparent(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", ""},
		{"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ""},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", ""},
		{" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e47z-00f067aa0ba902b7-01", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"garbage", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := correlation.FromTraceparent(tt.in); got != tt.want {
			t.Errorf("FromTraceparent(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"abc", "order-42/retry", correlation.New()} {
		if !correlation.Valid(id) {
			t.Errorf("Valid(%q) = false, want true", id)
		}
	}
	for _, id := range []string{"", "a b", "tab\there", string(make([]byte, correlation.MaxLen+1)), "é"} {
		if correlation.Valid(id) {
			t.Errorf("Valid(%q) = true, want false", id)
		}
	}
}

func TestHandlerAddsCorrelationID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(correlation.NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := correlation.With(context.Background(), "corr-1")
	logger.InfoContext(ctx, "accepted")
	logger.InfoContext(context.Background(), "no id")

	dec := json.NewDecoder(&buf)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	if got := first[correlation.AttrKey]; got != "corr-1" {
		t.Errorf("first record: got correlation_id %v, want corr-1", got)
	}
	if _, ok := second[correlation.AttrKey]; ok {
		t.Errorf("second record has correlation_id %v, want none", second[correlation.AttrKey])
	}
	if first["component"] != "test" {
		t.Errorf("WithAttrs lost: %v", first)
	}
}
