package decimal_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/decimal"
)

// rat parses a fraction such as "-7/2" for the test tables.
func rat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("bad test fraction %q", s)
	}
	return r
}

func TestParse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		maxFrac int
		want    string // as a fraction, when there is no error
		wantErr error
		errText string // the whole error text, when there is an error
	}{
		{name: "integer", in: "10", maxFrac: 0, want: "10"},
		{name: "fraction", in: "12.500", maxFrac: 3, want: "25/2"},
		{name: "negative", in: "-0.085", maxFrac: 3, want: "-17/200"},
		{name: "plus", in: "+7", maxFrac: 0, want: "7"},
		{name: "negative zero", in: "-0.00", maxFrac: 2, want: "0"},
		{name: "leading zeros", in: "0007.100", maxFrac: 3, want: "71/10"},
		{name: "18 digits", in: "99999999.9999999999", maxFrac: 10, want: "999999999999999999/10000000000"},
		{name: "19 digits", in: "999999999.9999999999", maxFrac: 10, want: "9999999999999999999/10000000000"},
		{name: "long", in: "-123456789012345678901234567890.5", maxFrac: 40, want: "-246913578024691357802469135781/2"},
		{name: "tiny", in: "0.0000000000000000000000000000000000000001", maxFrac: 40, want: "1/10000000000000000000000000000000000000000"},

		{name: "too many fractional digits", in: "0.125", maxFrac: 2, wantErr: decimal.ErrPrecision, errText: `"0.125": more than 2 fractional digits`},
		{name: "trailing zeros count", in: "1.000", maxFrac: 2, wantErr: decimal.ErrPrecision, errText: `"1.000": more than 2 fractional digits`},
		{name: "no fraction allowed", in: "1.5", maxFrac: 0, wantErr: decimal.ErrPrecision, errText: `"1.5": more than 0 fractional digits`},
		{name: "empty", in: "", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"": empty`},
		{name: "sign only", in: "-", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"-": want digits with an optional sign and decimal point`},
		{name: "exponent", in: "1e3", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1e3": exponents are not allowed`},
		{name: "upper exponent", in: "1.5E-2", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1.5E-2": exponents are not allowed`},
		{name: "thousands comma", in: "1,250.5", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1,250.5": digit group separators and spaces are not allowed`},
		{name: "thousands underscore", in: "1_250", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1_250": digit group separators and spaces are not allowed`},
		{name: "apostrophe", in: "1'250", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1'250": digit group separators and spaces are not allowed`},
		{name: "space", in: " 1", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `" 1": digit group separators and spaces are not allowed`},
		{name: "NaN", in: "NaN", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"NaN": NaN and infinities are not allowed`},
		{name: "Inf", in: "-Inf", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"-Inf": NaN and infinities are not allowed`},
		{name: "Infinity", in: "+infinity", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"+infinity": NaN and infinities are not allowed`},
		{name: "bare leading point", in: ".5", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `".5": want digits with an optional sign and decimal point`},
		{name: "bare trailing point", in: "5.", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"5.": want digits with an optional sign and decimal point`},
		{name: "two points", in: "1.2.3", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1.2.3": want digits with an optional sign and decimal point`},
		{name: "double sign", in: "--1", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"--1": want digits with an optional sign and decimal point`},
		{name: "hex", in: "0x10", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"0x10": want digits with an optional sign and decimal point`},
		{name: "fraction", in: "1/3", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1/3": want digits with an optional sign and decimal point`},
		{name: "newline", in: "1\n", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"1\n": want digits with an optional sign and decimal point`},
		{name: "non-ASCII digit", in: "١", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"١": want digits with an optional sign and decimal point`},
		{name: "currency symbol", in: "$12", maxFrac: 2, wantErr: decimal.ErrSyntax, errText: `"$12": want digits with an optional sign and decimal point`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decimal.Parse(tt.in, tt.maxFrac)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q, %d): got %v, %v; want error %v", tt.in, tt.maxFrac, got, err, tt.wantErr)
				}
				if err.Error() != tt.errText {
					t.Errorf("Parse(%q, %d): got error text %q, want %q", tt.in, tt.maxFrac, err, tt.errText)
				}
				if decimal.Valid(tt.in) != errors.Is(err, decimal.ErrPrecision) {
					t.Errorf("Valid(%q): got %t, want %t", tt.in, !errors.Is(err, decimal.ErrPrecision), errors.Is(err, decimal.ErrPrecision))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q, %d): %v", tt.in, tt.maxFrac, err)
			}
			if want := rat(t, tt.want); got.Cmp(want) != 0 {
				t.Errorf("Parse(%q, %d): got %s, want %s", tt.in, tt.maxFrac, got.RatString(), want.RatString())
			}
			if !decimal.Valid(tt.in) {
				t.Errorf("Valid(%q): got false, want true", tt.in)
			}
		})
	}
}

func TestParseScaled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		places  int
		want    int64
		wantErr error
	}{
		{name: "cents", in: "1234.50", places: 2, want: 123450},
		{name: "fewer decimals", in: "12.5", places: 2, want: 1250},
		{name: "whole", in: "1500", places: 0, want: 1500},
		{name: "three places", in: "1.234", places: 3, want: 1234},
		{name: "negative", in: "-0.05", places: 2, want: -5},
		{name: "plus", in: "+3", places: 3, want: 3000},
		{name: "extra zeros", in: "1500.000", places: 0, want: 1500},
		{name: "negative zero", in: "-0.00", places: 2, want: 0},
		{name: "zero many places", in: "0", places: 40, want: 0},
		{name: "leading zeros", in: "000000000000000000000000001.5", places: 1, want: 15},
		{name: "max", in: "92233720368547758.07", places: 2, want: 1<<63 - 1},
		{name: "min", in: "-92233720368547758.08", places: 2, want: -1 << 63},

		{name: "non-zero extra decimal", in: "1234.567", places: 2, wantErr: decimal.ErrPrecision},
		{name: "half cent", in: "0.005", places: 2, wantErr: decimal.ErrPrecision},
		{name: "decimal of a whole currency", in: "1500.5", places: 0, wantErr: decimal.ErrPrecision},
		{name: "above max", in: "92233720368547758.08", places: 2, wantErr: decimal.ErrRange},
		{name: "below min", in: "-92233720368547758.09", places: 2, wantErr: decimal.ErrRange},
		{name: "huge", in: "99999999999999999999", places: 0, wantErr: decimal.ErrRange},
		{name: "too many places", in: "1", places: 19, wantErr: decimal.ErrRange},
		{name: "exponent", in: "1e3", places: 2, wantErr: decimal.ErrSyntax},
		{name: "empty", in: "", places: 2, wantErr: decimal.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decimal.ParseScaled(tt.in, tt.places)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseScaled(%q, %d): got %d, %v; want error %v", tt.in, tt.places, got, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), `"`+tt.in+`": `) {
					t.Errorf("ParseScaled(%q, %d): got error text %q, want it to start with the quoted input", tt.in, tt.places, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseScaled(%q, %d): got %d, %v; want %d", tt.in, tt.places, got, err, tt.want)
			}
		})
	}
}

// TestFormat checks Format and FormatFixed on the same values: Format is
// exact when it can be and trims zeros, FormatFixed always rounds to places.
func TestFormat(t *testing.T) {
	t.Parallel()

	tests := []struct {
		r      string
		places int
		format string
		fixed  string
	}{
		{r: "0", places: 9, format: "0", fixed: "0.000000000"},
		{r: "0", places: 0, format: "0", fixed: "0"},
		{r: "25/2", places: 9, format: "12.5", fixed: "12.500000000"},
		{r: "-17/200", places: 9, format: "-0.085", fixed: "-0.085000000"},
		{r: "1500", places: 2, format: "1500", fixed: "1500.00"},
		{r: "-3", places: 0, format: "-3", fixed: "-3"},
		{r: "12/5", places: 3, format: "2.4", fixed: "2.400"},
		{r: "1868801/1000", places: 3, format: "1868.801", fixed: "1868.801"},
		{r: "-1/2", places: 2, format: "-0.5", fixed: "-0.50"},
		{r: "1/8", places: 2, format: "0.125", fixed: "0.12"},    // exact beats places; tie to even
		{r: "3/8", places: 2, format: "0.375", fixed: "0.38"},    // tie to even
		{r: "-1/8", places: 2, format: "-0.125", fixed: "-0.12"}, // tie to even
		{r: "5/2", places: 0, format: "2.5", fixed: "2"},
		{r: "-7/2", places: 0, format: "-3.5", fixed: "-4"},
		{r: "-1/1000", places: 2, format: "-0.001", fixed: "0.00"},
		{r: "-1/1000000000000", places: 9, format: "-0.000000000001", fixed: "0.000000000"},
		{r: "-246913578024691357802469135781/2", places: 1, format: "-123456789012345678901234567890.5", fixed: "-123456789012345678901234567890.5"},
		{r: "1/3", places: 9, format: "0.333333333", fixed: "0.333333333"},
		{r: "1/3", places: 20, format: "0.33333333333333333333", fixed: "0.33333333333333333333"},
		{r: "2/3", places: 9, format: "0.666666667", fixed: "0.666666667"},
		{r: "-2/3", places: 9, format: "-0.666666667", fixed: "-0.666666667"},
		{r: "2/3", places: 4, format: "0.6667", fixed: "0.6667"},
		{r: "-1/3000000000000", places: 9, format: "0", fixed: "0.000000000"},
		{r: "1/6", places: 0, format: "0", fixed: "0"},
		{r: "5/3", places: 0, format: "2", fixed: "2"},
		{r: "1/30", places: 1, format: "0", fixed: "0.0"},
		{r: "41/30", places: 1, format: "1.4", fixed: "1.4"},
		{r: "100000000/45359237", places: 9, format: "2.204622622", fixed: "2.204622622"},
		{r: "1/1024", places: 9, format: "0.0009765625", fixed: "0.000976562"},
	}
	for _, tt := range tests {
		if got := decimal.Format(rat(t, tt.r), tt.places); got != tt.format {
			t.Errorf("Format(%s, %d): got %q, want %q", tt.r, tt.places, got, tt.format)
		}
		if got := decimal.FormatFixed(rat(t, tt.r), tt.places); got != tt.fixed {
			t.Errorf("FormatFixed(%s, %d): got %q, want %q", tt.r, tt.places, got, tt.fixed)
		}
	}
}

func TestFormatScaled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		v      int64
		places int
		want   string
	}{
		{v: 123450, places: 2, want: "1234.50"},
		{v: 1500, places: 0, want: "1500"},
		{v: 1234, places: 3, want: "1.234"},
		{v: -5, places: 2, want: "-0.05"},
		{v: 0, places: 2, want: "0.00"},
		{v: 7, places: 3, want: "0.007"},
		{v: 1<<63 - 1, places: 2, want: "92233720368547758.07"},
		{v: -1 << 63, places: 2, want: "-92233720368547758.08"},
		{v: -1 << 63, places: 0, want: "-9223372036854775808"},
		{v: 1, places: 20, want: "0.00000000000000000001"},
	}
	for _, tt := range tests {
		if got := decimal.FormatScaled(tt.v, tt.places); got != tt.want {
			t.Errorf("FormatScaled(%d, %d): got %q, want %q", tt.v, tt.places, got, tt.want)
		}
	}
}

func TestRound(t *testing.T) {
	t.Parallel()

	tests := []struct {
		r                     string
		halfEven, ceil, floor int64
	}{
		{r: "5/2", halfEven: 2, ceil: 3, floor: 2},
		{r: "7/2", halfEven: 4, ceil: 4, floor: 3},
		{r: "-5/2", halfEven: -2, ceil: -2, floor: -3},
		{r: "-7/2", halfEven: -4, ceil: -3, floor: -4},
		{r: "1/2", halfEven: 0, ceil: 1, floor: 0},
		{r: "-1/2", halfEven: 0, ceil: 0, floor: -1},
		{r: "26/10", halfEven: 3, ceil: 3, floor: 2},
		{r: "24/10", halfEven: 2, ceil: 3, floor: 2},
		{r: "-26/10", halfEven: -3, ceil: -2, floor: -3},
		{r: "-21/10", halfEven: -2, ceil: -2, floor: -3},
		{r: "6/3", halfEven: 2, ceil: 2, floor: 2},
		{r: "0", halfEven: 0, ceil: 0, floor: 0},
		{r: "-4", halfEven: -4, ceil: -4, floor: -4},
		{r: "1/1000000", halfEven: 0, ceil: 1, floor: 0},
	}
	for _, tt := range tests {
		r := rat(t, tt.r)
		before := r.RatString()
		if got := decimal.RoundHalfEven(r); got.Int64() != tt.halfEven {
			t.Errorf("RoundHalfEven(%s): got %s, want %d", tt.r, got, tt.halfEven)
		}
		// The same value as an unreduced fraction, as a product gives it.
		num, den := new(big.Int).Mul(r.Num(), big.NewInt(6)), new(big.Int).Mul(r.Denom(), big.NewInt(6))
		z := new(big.Int)
		if got := decimal.QuoRoundHalfEven(z, num, den); got != z || got.Int64() != tt.halfEven {
			t.Errorf("QuoRoundHalfEven(z, %s, %s): got %s, want z set to %d", num, den, got, tt.halfEven)
		}
		if want := new(big.Rat).SetFrac(num, den); want.Cmp(r) != 0 || num.Cmp(new(big.Int).Mul(r.Num(), big.NewInt(6))) != 0 {
			t.Errorf("QuoRoundHalfEven(z, %s, %s) modified its arguments", num, den)
		}
		for _, alias := range []string{"num", "den"} {
			n, d := new(big.Int).Set(num), new(big.Int).Set(den)
			z := n
			if alias == "den" {
				z = d
			}
			if got := decimal.QuoRoundHalfEven(z, n, d); got != z || got.Int64() != tt.halfEven {
				t.Errorf("QuoRoundHalfEven with z as %s, %s/%s: got %s, want %d", alias, num, den, got, tt.halfEven)
			}
		}
		if got := decimal.Ceil(r); got.Int64() != tt.ceil {
			t.Errorf("Ceil(%s): got %s, want %d", tt.r, got, tt.ceil)
		}
		if got := decimal.Floor(r); got.Int64() != tt.floor {
			t.Errorf("Floor(%s): got %s, want %d", tt.r, got, tt.floor)
		}
		if r.RatString() != before {
			t.Errorf("rounding %s modified its argument to %s", before, r.RatString())
		}
	}
}

func TestShift(t *testing.T) {
	t.Parallel()

	tests := []struct {
		r    string
		n    int
		want string
	}{
		{r: "12.345", n: 2, want: "1234.5"},
		{r: "123450", n: -2, want: "1234.5"},
		{r: "-5", n: -2, want: "-0.05"},
		{r: "1/3", n: 1, want: "10/3"},
		{r: "7", n: 0, want: "7"},
		{r: "1", n: 30, want: "1000000000000000000000000000000"},
	}
	for _, tt := range tests {
		r := rat(t, tt.r)
		got := decimal.Shift(r, tt.n)
		if want := rat(t, tt.want); got.Cmp(want) != 0 {
			t.Errorf("Shift(%s, %d): got %s, want %s", tt.r, tt.n, got.RatString(), want.RatString())
		}
		if got == r {
			t.Errorf("Shift(%s, %d) returned its argument, want a new value", tt.r, tt.n)
		}
	}
}
