package quantity

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonQuantity is the wire form written by MarshalJSON.
type jsonQuantity struct {
	Value string `json:"value"`
	Unit  Unit   `json:"unit"`
}

// MarshalJSON writes q as {"value":"12.5","unit":"KGM"}. The value is the
// string from [Quantity.Decimal], so it is exact unless the value has no
// finite decimal expansion, in which case it is rounded to 9 fractional
// digits. The zero Quantity, which has no unit, is written as null.
func (q Quantity) MarshalJSON() ([]byte, error) {
	if q.unit == "" {
		return []byte("null"), nil
	}
	v := q.Decimal()
	if !plainJSON(v) || !plainJSON(string(q.unit)) {
		return json.Marshal(jsonQuantity{Value: v, Unit: q.unit})
	}
	// What json.Marshal writes, without reflection: neither string needs
	// escaping.
	b := make([]byte, 0, len(v)+len(q.unit)+22)
	b = append(b, `{"value":"`...)
	b = append(b, v...)
	b = append(b, `","unit":"`...)
	b = append(b, q.unit...)
	return append(b, `"}`...), nil
}

// plainJSON reports whether s is written in a JSON string as it is: only
// letters, digits and a few punctuation marks.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '.', c == '-', c == '+', c == '_':
		default:
			return false
		}
	}
	return true
}

// canonical reads the form MarshalJSON writes for plain strings,
// {"value":"…","unit":"…"} exactly, without a JSON decoder; ok is false
// for any other text, which the decoder then reads.
func canonical(data []byte) (value, unit string, ok bool) {
	rest, ok := bytes.CutPrefix(data, []byte(`{"value":"`))
	if !ok {
		return "", "", false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || !plainJSON(string(rest[:i])) {
		return "", "", false
	}
	value, rest = string(rest[:i]), rest[i+1:]
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"unit":"`)); !ok {
		return "", "", false
	}
	i = bytes.IndexByte(rest, '"')
	if i < 0 || !plainJSON(string(rest[:i])) || string(rest[i+1:]) != "}" {
		return "", "", false
	}
	return value, string(rest[:i]), true
}

// UnmarshalJSON reads the form MarshalJSON writes. "value" may also be a
// JSON number, which is read as decimal text (never through float64); in
// either form it follows the rules of [Parse], except that up to 40
// fractional digits are accepted so that exactly converted values read back
// unchanged. "unit" is normalised as by [ParseUnit]. Both fields are
// required. JSON null leaves q unchanged. On error q is unchanged and the
// error names the problem, wrapping [ErrInvalidValue] or [ErrUnknownUnit]
// where they apply.
func (q *Quantity) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	if text, unit, ok := canonical(data); ok {
		return q.set(text, unit)
	}
	var w struct {
		Value json.RawMessage `json:"value"`
		Unit  *string         `json:"unit"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decoding quantity: %w", err)
	}
	if len(w.Value) == 0 || string(w.Value) == "null" {
		return fmt.Errorf("decoding quantity: %w: missing \"value\"", ErrInvalidValue)
	}
	if w.Unit == nil {
		return fmt.Errorf("decoding quantity: %w: missing \"unit\"", ErrUnknownUnit)
	}
	var text string
	if w.Value[0] == '"' {
		if err := json.Unmarshal(w.Value, &text); err != nil {
			return fmt.Errorf("decoding quantity value: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(w.Value))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("decoding quantity value: %w", err)
		}
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("decoding quantity: %w: \"value\" must be a string or a number, got %s", ErrInvalidValue, w.Value)
		}
		text = n.String()
	}
	return q.set(text, *w.Unit)
}

// set sets q to the decimal text in unit, as UnmarshalJSON reads them.
func (q *Quantity) set(text, unit string) error {
	u, err := ParseUnit(unit)
	if err != nil {
		return fmt.Errorf("decoding quantity: %w", err)
	}
	r, err := parseValue(text, maxJSONFractionDigits)
	if err != nil {
		return fmt.Errorf("decoding quantity: %w", err)
	}
	*q = Quantity{value: r, unit: u}
	return nil
}
