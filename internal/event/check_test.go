package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestChecksCompile checks that every schema compiles to a check, so that
// valid events of every type are accepted without a generic walk. A schema
// that starts using a keyword checks do not understand fails here.
func TestChecksCompile(t *testing.T) {
	t.Parallel()
	v := setup(t)
	for _, typ := range Types() {
		raw, _ := Schema(typ)
		var doc any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if _, err := compileCheck(doc); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		if v.checks[typ] == nil {
			t.Errorf("the validator has no check for %s", typ)
		}
	}
}

func TestCompileCheckRefusesWhatItDoesNotKnow(t *testing.T) {
	t.Parallel()
	for _, schema := range []string{
		`{"type":"string","const":"x"}`,
		`{"type":"object","additionalProperties":{"type":"string"}}`,
		`{"oneOf":[{"required":["a"]},{"required":["b"]}]}`,
		`{"anyOf":[{"type":"string"},{"type":"number"}]}`,
		`{"$ref":"other.json#/$defs/x"}`,
		`{"type":"array","items":{"type":"object"},"uniqueItems":true}`,
		`{"type":"string","pattern":"(?<name>x)\\1"}`,
		`{"type":"thing"}`,
	} {
		var doc any
		d := json.NewDecoder(strings.NewReader(schema))
		d.UseNumber()
		if err := d.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if _, err := compileCheck(doc); err == nil {
			t.Errorf("compileCheck(%s) succeeded, want an error", schema)
		}
	}
}

// TestCheckAgreesWithSchema holds each type's check to its schema on the
// full example of the type and on thousands of variants of it: a member
// left out, or its value replaced by values of every kind, each near a
// limit the schemas set. The check must accept the examples, never accept
// a variant the schema refuses, and decide almost all of them alone.
func TestCheckAgreesWithSchema(t *testing.T) {
	t.Parallel()
	v := setup(t)
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", "full", string(typ)+".json"))
			if err != nil {
				t.Fatal(err)
			}
			c, sch := v.checks[typ], v.schemas[typ]
			if !c.valid(raw) {
				t.Fatalf("the check refuses the full example")
			}
			var doc any
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			var total, undecided int
			for _, m := range variants(doc) {
				total++
				data, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				fast, slow := c.valid(data), v.validateSchema(typ, sch, data) == nil
				switch {
				case fast && !slow:
					t.Errorf("the check accepts what the schema refuses: %s", data)
				case slow && !fast:
					undecided++
					t.Logf("left to the schema: %s", data)
				}
			}
			// Valid variants the check leaves to the schema are correct
			// but slow: all of them should be decided here.
			if undecided > 0 {
				t.Errorf("%d of %d variants valid by the schema were refused by the check", undecided, total)
			}
			if total < 50 {
				t.Errorf("only %d variants", total)
			}
		})
	}
}

// variants returns copies of doc, each changed in one place.
func variants(doc any) []any {
	var out []any
	var walk func(path []any)
	walk = func(path []any) {
		cur := at(doc, path)
		switch x := cur.(type) {
		case map[string]any:
			out = append(out, with(doc, path, func(any) any {
				m := maps.Clone(x)
				m["unknown_member"] = "x"
				return m
			}))
			for _, k := range slices.Sorted(maps.Keys(x)) {
				out = append(out, with(doc, path, func(any) any {
					m := maps.Clone(x)
					delete(m, k)
					return m
				}))
				walk(append(slices.Clip(path), k))
			}
		case []any:
			out = append(out, with(doc, path, func(any) any { return []any{} }))
			if len(x) > 0 {
				out = append(out, with(doc, path, func(any) any { return append(slices.Clone(x), x[0]) }))
				out = append(out, with(doc, path, func(any) any { return append(slices.Clone(x), "x") }))
			}
			for i := range x {
				walk(append(slices.Clip(path), i))
			}
		}
		if len(path) == 0 {
			return
		}
		for _, r := range replacements(cur) {
			out = append(out, with(doc, path, func(any) any { return r }))
		}
	}
	walk(nil)
	return out
}

// replacements are values to put in place of v: of every kind, and near
// the limits schemas set on strings and numbers.
func replacements(v any) []any {
	out := []any{nil, true, json.Number("0"), json.Number("-1"), json.Number("1.5"), json.Number("-90.5"),
		json.Number("180"), json.Number("180.0001"), json.Number("100000000000000000000"), json.Number("2.0"),
		"", "x", "X", "NLRTM", "nlrtm", "EUR", "eur", "KGM", "12", "-3", "1.50", "1.", "01", " 5", "a b",
		"2025-11-12T14:05:00+01:00", "2025-11-12T14:05:00", "2025-13-12T14:05:00Z", "2025-11-12", "2025-02-30",
		"someone@example.com", "not an email", "https://x.example/a", "no scheme", "Europe/Amsterdam", "Europe//x",
		"é", strings.Repeat("é", 64), strings.Repeat("x", 65), strings.Repeat("x", 201), strings.Repeat("x", 1001),
		"tab\there", "line\nbreak", `quote"and\backslash`, "\u2028", "damaged", "other", "posted", "approve",
		[]any{}, []any{"a"}, []any{"a", "a"}, map[string]any{}, map[string]any{"value": "1", "unit": "C62"},
		map[string]any{"minor": json.Number("1"), "currency": "EUR"},
	}
	if s, ok := v.(string); ok {
		out = append(out, s+s, s+" ", strings.ToLower(s), strings.ToUpper(s), s[:len(s)/2], "-"+s)
	}
	if n, ok := v.(json.Number); ok {
		out = append(out, json.Number("-"+string(n)), string(n))
	}
	return out
}

func at(doc any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			doc = doc.(map[string]any)[k]
		case int:
			doc = doc.([]any)[k]
		}
	}
	return doc
}

// with returns a copy of doc with the value at path replaced by f of it.
func with(doc any, path []any, f func(any) any) any {
	if len(path) == 0 {
		return f(doc)
	}
	switch k := path[0].(type) {
	case string:
		m := maps.Clone(doc.(map[string]any))
		m[k] = with(m[k], path[1:], f)
		return m
	case int:
		l := slices.Clone(doc.([]any))
		l[k] = with(l[k], path[1:], f)
		return l
	}
	panic(fmt.Sprintf("bad path element %v", path[0]))
}

// TestCheckJSONText checks that the check reads JSON text as the schema
// validator does: whatever it accepts is one valid JSON value.
func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	v := setup(t)
	c := v.checks[ShipmentCancelled] // {} is valid: every member optional
	for _, tc := range []struct {
		data string
		want bool
	}{
		{`{}`, true},
		{" \t\r\n{} \n", true},
		{``, false},
		{`{`, false},
		{`{}}`, false},
		{`{} {}`, false},
		{`{},`, false},
		{`[]`, false},
		{`{"reason":"a"}`, true},
		{`{"reason":"a\"b"}`, true},
		{`{"reason":"a\u0041"}`, true},
		{`{"reason":"a\u00"}`, false},
		{`{"reason":"a\x"}`, false},
		{`{"reason":"a` + "\x01" + `"}`, false},
		{`{"reason":"a` + "\xff" + `"}`, false},
		{`{"reason":"a"` + `,}`, false},
		{`{"reason" "a"}`, false},
		{`{"reason":"a","reason":"b"}`, false}, // left to the schema
		{`{"re\u0061son":"a"}`, true},
	} {
		got := c.valid([]byte(tc.data))
		if got != tc.want {
			t.Errorf("valid(%q) = %v, want %v", tc.data, got, tc.want)
		}
		if got && v.validateSchema(ShipmentCancelled, v.schemas[ShipmentCancelled], []byte(tc.data)) != nil {
			t.Errorf("valid(%q): the schema refuses it", tc.data)
		}
	}
}

// FuzzCheck holds every check to its schema: data the check accepts, the
// schema must accept too.
func FuzzCheck(f *testing.F) {
	types := Types()
	for i, typ := range types {
		raw, err := os.ReadFile(filepath.Join("testdata", "full", string(typ)+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), raw)
		var compact bytes.Buffer
		_ = json.Compact(&compact, raw)
		f.Add(uint8(i), compact.Bytes())
	}
	v := setup(f)
	f.Fuzz(func(t *testing.T, i uint8, data []byte) {
		typ := types[int(i)%len(types)]
		if v.checks[typ].valid(data) {
			if err := v.validateSchema(typ, v.schemas[typ], data); err != nil {
				t.Fatalf("the check accepts %q, the schema refuses it: %v", data, err)
			}
		}
	})
}
