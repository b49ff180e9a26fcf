package apikey

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogHandler(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		key  *Key
		want map[string]any
	}{
		{"no key", nil, map[string]any{"msg": "hello", "component": "test"}},
		{"key without label", &Key{ID: "0123456789ab", Name: "ci"},
			map[string]any{"msg": "hello", "component": "test", "key_id": "0123456789ab", "key_name": "ci"}},
		{"key with label", &Key{ID: "0123456789ab", Name: "tms", Label: "prod"},
			map[string]any{"msg": "hello", "component": "test", "key_id": "0123456789ab", "key_name": "tms", "key_label": "prod"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
						return slog.Attr{}
					}
					return a
				},
			}))).With("component", "test")
			ctx := context.Background()
			if tt.key != nil {
				ctx = NewContext(ctx, tt.key)
			}
			logger.InfoContext(ctx, "hello")
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("decoding %s: %v", buf.Bytes(), err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("log record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
