package decimal_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/waybill/waybill/internal/decimal"
)

// FuzzRoundTrip checks that Parse, ParseScaled and Valid agree on what is
// plain decimal text, that what Parse accepts survives Format → Parse
// unchanged and formats canonically, and that what ParseScaled accepts
// survives FormatScaled → ParseScaled and has the value Parse gives.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"0", "10", "12.500", "-3", "+0.45359237", "-0", "007.10", "-0.00",
		"123456789012345678901234567890.123456789012345678", "9223372036854775807",
		"-9223372036854775808", "92233720368547758.08", "1e3", "1,250.5", "NaN",
		"-Inf", ".5", "5.", "", "- 1", "0.0000000000000000001", "١", "1\n",
	} {
		f.Add(s, uint8(2))
	}

	f.Fuzz(func(t *testing.T, s string, placesByte uint8) {
		places := int(placesByte % 24)
		r, err := decimal.Parse(s, len(s))
		if err != nil {
			if !errors.Is(err, decimal.ErrSyntax) {
				t.Fatalf("Parse(%q): got error %v, want ErrSyntax", s, err)
			}
			if decimal.Valid(s) {
				t.Fatalf("Valid(%q): got true, but Parse refused it: %v", s, err)
			}
			if _, err := decimal.ParseScaled(s, places); !errors.Is(err, decimal.ErrSyntax) {
				t.Fatalf("ParseScaled(%q, %d): got error %v, want ErrSyntax", s, places, err)
			}
			return
		}
		if !decimal.Valid(s) {
			t.Fatalf("Valid(%q): got false, but Parse accepted it", s)
		}

		text := decimal.Format(r, places)
		back, err := decimal.Parse(text, len(text))
		if err != nil {
			t.Fatalf("Parse(Format(%q)) = Parse(%q): %v", s, text, err)
		}
		if back.Cmp(r) != 0 {
			t.Fatalf("Parse(Format(%q)): got %s, want %s", s, back.RatString(), r.RatString())
		}
		if again := decimal.Format(back, places); again != text {
			t.Fatalf("Format is not canonical: %q formats as %q, then as %q", s, text, again)
		}

		fixed := decimal.FormatFixed(r, places)
		if f, err := decimal.Parse(fixed, places); err != nil {
			t.Fatalf("Parse(FormatFixed(%q, %d)) = Parse(%q): %v", s, places, fixed, err)
		} else if diff := new(big.Rat).Sub(f, r); new(big.Rat).Abs(diff).Cmp(decimal.Shift(big.NewRat(1, 2), -places)) > 0 {
			t.Fatalf("FormatFixed(%q, %d) = %q is more than half a unit away", s, places, fixed)
		}

		v, err := decimal.ParseScaled(s, places)
		if err != nil {
			if !errors.Is(err, decimal.ErrPrecision) && !errors.Is(err, decimal.ErrRange) {
				t.Fatalf("ParseScaled(%q, %d): got error %v, want ErrPrecision or ErrRange", s, places, err)
			}
			return
		}
		if want := decimal.Shift(r, places); !want.IsInt() || want.Num().Int64() != v || !want.Num().IsInt64() {
			t.Fatalf("ParseScaled(%q, %d): got %d, want %s", s, places, v, want.RatString())
		}
		scaled := decimal.FormatScaled(v, places)
		if again, err := decimal.ParseScaled(scaled, places); err != nil || again != v {
			t.Fatalf("ParseScaled(FormatScaled(%d, %d)) = ParseScaled(%q): got %d, %v; want %d", v, places, scaled, again, err, v)
		}
	})
}
