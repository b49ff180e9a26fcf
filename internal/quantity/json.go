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
	return json.Marshal(jsonQuantity{Value: q.Decimal(), Unit: q.unit})
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
	u, err := ParseUnit(*w.Unit)
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
