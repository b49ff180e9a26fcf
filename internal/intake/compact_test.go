package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"testing/iotest"
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

// TestReadAll checks that a body is read whole whatever length it
// declares, and that the limit still holds.
func TestReadAll(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 1000)
	for _, declared := range []int64{-1, 0, 1, 500, 9999, 10000, 10001, 20000, 1 << 40} {
		got, err := readAll(iotest.OneByteReader(bytes.NewReader(body)), declared, 1<<20)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("declared %d: read %d bytes, %v; want %d", declared, len(got), err, len(body))
		}
		got, err = readAll(bytes.NewReader(body), declared, 1<<20)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("declared %d, whole reads: read %d bytes, %v; want %d", declared, len(got), err, len(body))
		}
	}
	wantErr := errors.New("connection reset")
	if _, err := readAll(io.MultiReader(bytes.NewReader(body[:10]), iotest.ErrReader(wantErr)), 100, 1<<20); !errors.Is(err, wantErr) {
		t.Errorf("a failed read gave %v, want %v", err, wantErr)
	}
}

func TestHugeExponent(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		`{"lat":1e999}`: false, `{"lat":1E-999}`: false, `{"lat":1e+0999}`: false, `{"lat":1.5e3,"lon":2}`: false,
		`{"lat":1e1000}`: true, `{"lat":-1E+1000}`: true, `{"a":[1,2,3e-12345]}`: true,
		`{"note":"1e100000"}`: false, `{"note":"x\"1e100000"}`: false, `{"e":"\\","lat":1e1000}`: true,
	} {
		if got := hugeExponent([]byte(raw)); got != want {
			t.Errorf("hugeExponent(%s) = %v, want %v", raw, got, want)
		}
	}
}
