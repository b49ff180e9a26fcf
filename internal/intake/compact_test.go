package intake

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestCompact checks compact against json.Compact: JSON text is compact
// exactly when compacting it changes nothing.
func TestCompact(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{}`, `{"a":1}`, `{"a": 1}`, "{\"a\":1}\n", ` {}`, `[1,2]`, `[1, 2]`, `"a b"`, `{"a b":"c d"}`,
		`{"a":"x\"y z"}`, `{"a":"x\\"}`, `{"a":"x\\", "b":1}`, `{"a":"x\\\"","b":"\\\\ "}`, `{"a":"\u0020"}`,
		"{\"a\":\"tab\\t\"}", "{\"a\":[ ]}", `{"data":{"name":"Acme DC Rotterdam","lines":[{"sku":"A 1"}]}}`,
	} {
		if !json.Valid([]byte(raw)) {
			t.Fatalf("test case %q is not JSON", raw)
		}
		var b bytes.Buffer
		_ = json.Compact(&b, []byte(raw))
		want := b.String() == raw
		if got := compact([]byte(raw)); got != want {
			t.Errorf("compact(%q) = %v, want %v", raw, got, want)
		}
	}
}

func FuzzCompact(f *testing.F) {
	f.Add([]byte(`{"a":"x\"y z","b":[1, 2]}`))
	f.Add([]byte(`{"a":"x\\","b":"c d"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		var b bytes.Buffer
		_ = json.Compact(&b, raw)
		if got, want := compact(raw), bytes.Equal(b.Bytes(), raw); got != want {
			t.Fatalf("compact(%q) = %v, want %v", raw, got, want)
		}
	})
}
