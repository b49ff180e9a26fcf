package quantity_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/waybill/waybill/internal/quantity"
)

// FuzzParse checks that Parse never panics, that what it accepts survives
// Decimal → Parse and a JSON round trip unchanged, and that converting an
// accepted quantity to every compatible unit does not panic and marshals to
// something UnmarshalJSON reads back to the same text.
func FuzzParse(f *testing.F) {
	seeds := []struct{ value, unit string }{
		{"10", "EA"}, {"12.500", "KGM"}, {"-3", "kgm"}, {"0.45359237", "LBR"},
		{"+0.000000000000000001", "ONZ"}, {"-0", "MTQ"}, {"007.10", "FTQ"},
		{"123456789012345678901234567890.123456789012345678", "TNE"},
		{"1e3", "KGM"}, {"1,250.5", "LBR"}, {"NaN", "KGM"}, {"-Inf", "KGM"},
		{".5", "KGM"}, {"5.", "KGM"}, {"", ""}, {"2", "PLT"}, {"2", "ca"},
		{"1", "LBS"}, {"- 1", "INH"}, {"0.0000000000000000001", "MGM"},
	}
	for _, s := range seeds {
		f.Add(s.value, s.unit)
	}

	f.Fuzz(func(t *testing.T, value, unit string) {
		q, err := quantity.Parse(value, unit)
		if err != nil {
			if !errors.Is(err, quantity.ErrInvalidValue) && !errors.Is(err, quantity.ErrUnknownUnit) {
				t.Fatalf("Parse(%q, %q): got error %v, want ErrInvalidValue or ErrUnknownUnit", value, unit, err)
			}
			return
		}

		dec := q.Decimal()
		again, err := quantity.Parse(dec, string(q.Unit()))
		if err != nil {
			t.Fatalf("Parse(%q, %q) of Decimal() of Parse(%q, %q): %v", dec, q.Unit(), value, unit, err)
		}
		if c, err := again.Cmp(q); err != nil || c != 0 {
			t.Fatalf("Parse(Decimal()) of %q: got %s (cmp %d, err %v), want %s", value, again.Rat().RatString(), c, err, q.Rat().RatString())
		}
		if again.Decimal() != dec {
			t.Fatalf("Decimal() is not canonical: got %q, then %q", dec, again.Decimal())
		}

		for _, to := range quantity.Known() {
			if !quantity.Compatible(q.Unit(), to) {
				if _, err := q.In(to); !errors.Is(err, quantity.ErrIncompatible) {
					t.Fatalf("%s.In(%s): got error %v, want ErrIncompatible", q, to, err)
				}
				continue
			}
			c, err := q.In(to)
			if err != nil {
				t.Fatalf("%s.In(%s): %v", q, to, err)
			}
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", c, err)
			}
			var back quantity.Quantity
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("Unmarshal(%s): %v", data, err)
			}
			if back.String() != c.String() {
				t.Fatalf("JSON round trip of %s: got %s", c, back)
			}
		}
	})
}
