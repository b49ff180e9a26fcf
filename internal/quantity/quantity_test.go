package quantity_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/quantity"
)

// mustParse parses a quantity that the test knows to be valid.
func mustParse(t *testing.T, value, unit string) quantity.Quantity {
	t.Helper()

	q, err := quantity.Parse(value, unit)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", value, unit, err)
	}
	return q
}

func TestParse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		value    string
		unit     string
		wantDec  string
		wantUnit quantity.Unit
		wantErr  error
	}{
		{name: "integer", value: "10", unit: "EA", wantDec: "10", wantUnit: quantity.EA},
		{name: "trailing zeros dropped", value: "12.500", unit: "KGM", wantDec: "12.5", wantUnit: quantity.KGM},
		{name: "negative", value: "-3", unit: "kgm", wantDec: "-3", wantUnit: quantity.KGM},
		{name: "explicit plus", value: "+3.25", unit: "LBR", wantDec: "3.25", wantUnit: quantity.LBR},
		{name: "pound factor", value: "0.45359237", unit: "KGM", wantDec: "0.45359237", wantUnit: quantity.KGM},
		{name: "zero", value: "0", unit: "C62", wantDec: "0", wantUnit: quantity.C62},
		{name: "negative zero", value: "-0.000", unit: "C62", wantDec: "0", wantUnit: quantity.C62},
		{name: "leading zeros", value: "007.10", unit: "MTR", wantDec: "7.1", wantUnit: quantity.MTR},
		{name: "18 fractional digits", value: "0.000000000000000001", unit: "KGM", wantDec: "0.000000000000000001", wantUnit: quantity.KGM},
		{name: "large", value: "123456789012345678901234567890.5", unit: "GRM", wantDec: "123456789012345678901234567890.5", wantUnit: quantity.GRM},
		{name: "alias unit", value: "2", unit: "PLT", wantDec: "2", wantUnit: quantity.XPX},

		{name: "19 fractional digits", value: "0.0000000000000000001", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "19 digits trailing zero", value: "1.0000000000000000000", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "empty", value: "", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "sign only", value: "-", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "exponent", value: "1e3", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "upper exponent", value: "1.5E-2", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "thousands comma", value: "1,250.5", unit: "LBR", wantErr: quantity.ErrInvalidValue},
		{name: "thousands underscore", value: "1_250", unit: "LBR", wantErr: quantity.ErrInvalidValue},
		{name: "thousands space", value: "1 250", unit: "LBR", wantErr: quantity.ErrInvalidValue},
		{name: "decimal comma", value: "12,5", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "NaN", value: "NaN", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "Inf", value: "-Inf", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "Infinity", value: "+infinity", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "bare leading point", value: ".5", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "bare trailing point", value: "5.", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "two points", value: "1.2.3", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "double sign", value: "--1", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "hex", value: "0x10", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "fraction", value: "1/3", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "surrounding space", value: " 1", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "non-ASCII digit", value: "١", unit: "KGM", wantErr: quantity.ErrInvalidValue},
		{name: "unknown unit", value: "1", unit: "LBS", wantErr: quantity.ErrUnknownUnit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := quantity.Parse(tt.value, tt.unit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q, %q): got error %v, want %v", tt.value, tt.unit, err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.value) && !strings.Contains(err.Error(), tt.unit) {
					t.Errorf("Parse(%q, %q): got error %q, want it to name the input", tt.value, tt.unit, err)
				}
				return
			}
			if got.Decimal() != tt.wantDec {
				t.Errorf("Parse(%q, %q).Decimal(): got %q, want %q", tt.value, tt.unit, got.Decimal(), tt.wantDec)
			}
			if got.Unit() != tt.wantUnit {
				t.Errorf("Parse(%q, %q).Unit(): got %q, want %q", tt.value, tt.unit, got.Unit(), tt.wantUnit)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("copies the rat", func(t *testing.T) {
		t.Parallel()

		r := big.NewRat(5, 2)
		q, err := quantity.New(r, "kgm")
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		r.SetInt64(99)
		if got, want := q.String(), "2.5 KGM"; got != want {
			t.Errorf("New(5/2, kgm) after changing the argument: got %q, want %q", got, want)
		}
		out := q.Rat()
		out.SetInt64(7)
		if got, want := q.Decimal(), "2.5"; got != want {
			t.Errorf("Decimal after changing Rat(): got %q, want %q", got, want)
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()

		if _, err := quantity.New(nil, quantity.KGM); !errors.Is(err, quantity.ErrInvalidValue) {
			t.Errorf("New(nil, KGM): got error %v, want %v", err, quantity.ErrInvalidValue)
		}
		if _, err := quantity.New(big.NewRat(1, 1), "XYZ"); !errors.Is(err, quantity.ErrUnknownUnit) {
			t.Errorf("New(1, XYZ): got error %v, want %v", err, quantity.ErrUnknownUnit)
		}
	})
}

func TestDecimal(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		num  int64
		den  int64
		want string
	}{
		{name: "whole", num: 1500, den: 1, want: "1500"},
		{name: "half", num: 1, den: 2, want: "0.5"},
		{name: "negative fraction", num: -1, den: 4, want: "-0.25"},
		{name: "small", num: 1, den: 1 << 20, want: "0.00000095367431640625"},
		{name: "third rounds", num: 1, den: 3, want: "0.333333333"},
		{name: "two thirds rounds up", num: 2, den: 3, want: "0.666666667"},
		{name: "negative two thirds", num: -2, den: 3, want: "-0.666666667"},
		{name: "rounds up to whole", num: 2_999_999_999_999, den: 1_000_000_000_003, want: "3"},
		{name: "rounds to zero", num: 1, den: 3_000_000_000_000, want: "0"},
		{name: "negative rounds to zero", num: -1, den: 3_000_000_000_000, want: "0"},
		{name: "non-terminating whole part", num: 100_000_000_000, den: 3, want: "33333333333.333333333"},
		// A value with no finite expansion can never sit exactly halfway
		// between two 9-digit neighbours, so there are no ties to test.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			q, err := quantity.New(big.NewRat(tt.num, tt.den), quantity.KGM)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := q.Decimal(); got != tt.want {
				t.Errorf("Decimal() of %d/%d: got %q, want %q", tt.num, tt.den, got, tt.want)
			}
		})
	}
}

func TestIn(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		value   string
		from    string
		to      quantity.Unit
		want    string
		wantErr error
	}{
		{name: "5 LBR in KGM", value: "5", from: "LBR", to: quantity.KGM, want: "2.26796185 KGM"},
		{name: "1 TNE in KGM", value: "1", from: "TNE", to: quantity.KGM, want: "1000 KGM"},
		{name: "2500 GRM in KGM", value: "2500", from: "GRM", to: quantity.KGM, want: "2.5 KGM"},
		{name: "16 ONZ in LBR", value: "16", from: "ONZ", to: quantity.LBR, want: "1 LBR"},
		{name: "1 ONZ in GRM", value: "1", from: "ONZ", to: quantity.GRM, want: "28.349523125 GRM"},
		{name: "1 KGM in LBR rounds only on output", value: "1", from: "KGM", to: quantity.LBR, want: "2.204622622 LBR"},
		{name: "MGM in TNE", value: "1", from: "MGM", to: quantity.TNE, want: "0.000000001 TNE"},
		{name: "1 FTQ in LTR", value: "1", from: "FTQ", to: quantity.LTR, want: "28.316846592 LTR"},
		{name: "LTR in DMQ", value: "3.5", from: "LTR", to: quantity.DMQ, want: "3.5 DMQ"},
		{name: "CMQ in MTQ", value: "250000", from: "CMQ", to: quantity.MTQ, want: "0.25 MTQ"},
		{name: "MIN in HUR", value: "150", from: "MIN", to: quantity.HUR, want: "2.5 HUR"},
		{name: "CWA in LBR", value: "20.5", from: "CWA", to: quantity.LBR, want: "2050 LBR"},
		{name: "12 INH in FOT", value: "12", from: "INH", to: quantity.FOT, want: "1 FOT"},
		{name: "1 INH in CMT", value: "1", from: "INH", to: quantity.CMT, want: "2.54 CMT"},
		{name: "KMT in MMT", value: "-0.5", from: "KMT", to: quantity.MMT, want: "-500000 MMT"},
		{name: "EA in C62", value: "3", from: "EA", to: quantity.C62, want: "3 C62"},
		{name: "H87 in EA", value: "3", from: "H87", to: quantity.EA, want: "3 EA"},
		{name: "PLT normalises to XPX", value: "2", from: "PLT", to: quantity.XPX, want: "2 XPX"},
		{name: "target alias normalised", value: "2", from: "XPX", to: "pl", want: "2 XPX"},
		{name: "target lower case", value: "1", from: "KGM", to: "grm", want: "1000 GRM"},
		{name: "pallets vs EA", value: "2", from: "XPX", to: quantity.EA, wantErr: quantity.ErrIncompatible},
		{name: "EA vs pallets", value: "2", from: "EA", to: quantity.XPX, wantErr: quantity.ErrIncompatible},
		{name: "carton vs box", value: "2", from: "CT", to: quantity.XBX, wantErr: quantity.ErrIncompatible},
		{name: "mass vs volume", value: "1", from: "KGM", to: quantity.LTR, wantErr: quantity.ErrIncompatible},
		{name: "unknown target", value: "1", from: "KGM", to: "LBS", wantErr: quantity.ErrUnknownUnit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			q := mustParse(t, tt.value, tt.from)
			got, err := q.In(tt.to)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.In(%s): got error %v, want %v", q, tt.to, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.String() != tt.want {
				t.Errorf("%s.In(%s): got %q, want %q", q, tt.to, got, tt.want)
			}
		})
	}
}

func TestInIsExact(t *testing.T) {
	t.Parallel()

	// 1 KGM in LBR has no finite decimal expansion; converting back must
	// give exactly 1 KGM, so In must not round.
	q := mustParse(t, "1", "KGM")
	lb, err := q.In(quantity.LBR)
	if err != nil {
		t.Fatalf("In(LBR): %v", err)
	}
	if got, want := lb.Rat(), big.NewRat(100_000_000, 45_359_237); got.Cmp(want) != 0 {
		t.Errorf("1 KGM in LBR: got %s, want %s", got.RatString(), want.RatString())
	}
	back, err := lb.In(quantity.KGM)
	if err != nil {
		t.Fatalf("In(KGM): %v", err)
	}
	if got, want := back.Rat(), big.NewRat(1, 1); got.Cmp(want) != 0 {
		t.Errorf("1 KGM to LBR and back: got %s, want %s", got.RatString(), want.RatString())
	}
}

func TestIncompatibleErrorNamesUnits(t *testing.T) {
	t.Parallel()

	_, err := mustParse(t, "2", "PLT").In(quantity.EA)
	if err == nil {
		t.Fatal("In: got nil error, want one")
	}
	for _, want := range []string{"XPX", "EA", "pallet", "count"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("In error: got %q, want it to contain %q", err, want)
		}
	}
}

func TestCmp(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		a, b    [2]string
		want    int
		wantErr error
	}{
		{name: "equal across units", a: [2]string{"1", "TNE"}, b: [2]string{"1000", "KGM"}, want: 0},
		{name: "pound vs kilogram", a: [2]string{"1", "LBR"}, b: [2]string{"0.45359237", "KGM"}, want: 0},
		{name: "just below", a: [2]string{"1", "LBR"}, b: [2]string{"0.453592371", "KGM"}, want: -1},
		{name: "just above", a: [2]string{"1", "LBR"}, b: [2]string{"0.453592369", "KGM"}, want: 1},
		{name: "ounces vs pound", a: [2]string{"16", "ONZ"}, b: [2]string{"1", "LBR"}, want: 0},
		{name: "kilogram vs non-terminating pounds", a: [2]string{"1", "KGM"}, b: [2]string{"2.204622622", "LBR"}, want: -1},
		{name: "litres vs cubic feet", a: [2]string{"28.316846592", "LTR"}, b: [2]string{"1", "FTQ"}, want: 0},
		{name: "negatives", a: [2]string{"-1", "KGM"}, b: [2]string{"-999", "GRM"}, want: -1},
		{name: "inches vs feet", a: [2]string{"13", "INH"}, b: [2]string{"1", "FOT"}, want: 1},
		{name: "aliases", a: [2]string{"3", "PL"}, b: [2]string{"3", "PX"}, want: 0},
		{name: "pallets vs EA", a: [2]string{"1", "XPX"}, b: [2]string{"1", "EA"}, wantErr: quantity.ErrIncompatible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			a, b := mustParse(t, tt.a[0], tt.a[1]), mustParse(t, tt.b[0], tt.b[1])
			got, err := a.Cmp(b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.Cmp(%s): got error %v, want %v", a, b, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s.Cmp(%s): got %d, want %d", a, b, got, tt.want)
			}
			if err != nil {
				return
			}
			rev, err := b.Cmp(a)
			if err != nil {
				t.Fatalf("%s.Cmp(%s): %v", b, a, err)
			}
			if rev != -tt.want {
				t.Errorf("%s.Cmp(%s): got %d, want %d", b, a, rev, -tt.want)
			}
		})
	}
}

func TestAddSub(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		a, b    [2]string
		wantAdd string
		wantSub string
		wantErr error
	}{
		{name: "grams plus kilogram", a: [2]string{"2500", "GRM"}, b: [2]string{"1", "KGM"}, wantAdd: "3500 GRM", wantSub: "1500 GRM"},
		{name: "kilogram plus grams", a: [2]string{"1", "KGM"}, b: [2]string{"2500", "GRM"}, wantAdd: "3.5 KGM", wantSub: "-1.5 KGM"},
		{name: "kilograms plus pounds", a: [2]string{"10", "KGM"}, b: [2]string{"5", "LBR"}, wantAdd: "12.26796185 KGM", wantSub: "7.73203815 KGM"},
		{name: "pounds plus kilogram exact", a: [2]string{"1", "LBR"}, b: [2]string{"1", "KGM"}, wantAdd: "3.204622622 LBR", wantSub: "-1.204622622 LBR"},
		{name: "counts", a: [2]string{"3", "EA"}, b: [2]string{"2", "H87"}, wantAdd: "5 EA", wantSub: "1 EA"},
		{name: "pallet aliases", a: [2]string{"3", "PLT"}, b: [2]string{"2", "PX"}, wantAdd: "5 XPX", wantSub: "1 XPX"},
		{name: "pallets plus EA", a: [2]string{"1", "XPX"}, b: [2]string{"1", "EA"}, wantErr: quantity.ErrIncompatible},
		{name: "mass plus length", a: [2]string{"1", "KGM"}, b: [2]string{"1", "MTR"}, wantErr: quantity.ErrIncompatible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			a, b := mustParse(t, tt.a[0], tt.a[1]), mustParse(t, tt.b[0], tt.b[1])
			sum, err := a.Add(b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.Add(%s): got error %v, want %v", a, b, err, tt.wantErr)
			}
			diff, subErr := a.Sub(b)
			if !errors.Is(subErr, tt.wantErr) {
				t.Fatalf("%s.Sub(%s): got error %v, want %v", a, b, subErr, tt.wantErr)
			}
			if err != nil {
				return
			}
			if sum.String() != tt.wantAdd {
				t.Errorf("%s.Add(%s): got %q, want %q", a, b, sum, tt.wantAdd)
			}
			if diff.String() != tt.wantSub {
				t.Errorf("%s.Sub(%s): got %q, want %q", a, b, diff, tt.wantSub)
			}
		})
	}
}

func TestAddIsExact(t *testing.T) {
	t.Parallel()

	// Three thirds of a kilogram, each held in pounds, add up to exactly
	// 1 KGM: nothing is rounded along the way.
	third, err := quantity.New(big.NewRat(1, 3), quantity.KGM)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	lb, err := third.In(quantity.LBR)
	if err != nil {
		t.Fatalf("In(LBR): %v", err)
	}
	sum := mustParse(t, "0", "KGM")
	for range 3 {
		if sum, err = sum.Add(lb); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if got, want := sum.String(), "1 KGM"; got != want {
		t.Errorf("sum of three thirds: got %q, want %q", got, want)
	}
}

func TestSignIsZero(t *testing.T) {
	t.Parallel()

	tests := []struct {
		value    string
		wantSign int
		wantZero bool
	}{
		{value: "-0.001", wantSign: -1},
		{value: "0", wantZero: true},
		{value: "-0", wantZero: true},
		{value: "0.000", wantZero: true},
		{value: "42", wantSign: 1},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()

			q := mustParse(t, tt.value, "KGM")
			if got := q.Sign(); got != tt.wantSign {
				t.Errorf("Sign() of %s: got %d, want %d", q, got, tt.wantSign)
			}
			if got := q.IsZero(); got != tt.wantZero {
				t.Errorf("IsZero() of %s: got %v, want %v", q, got, tt.wantZero)
			}
		})
	}
}

func TestZeroQuantity(t *testing.T) {
	t.Parallel()

	var z quantity.Quantity
	if !z.IsZero() || z.Sign() != 0 {
		t.Errorf("zero Quantity: got IsZero %v Sign %d, want true 0", z.IsZero(), z.Sign())
	}
	if got, want := z.String(), "0"; got != want {
		t.Errorf("zero Quantity String(): got %q, want %q", got, want)
	}
	if got := z.Rat(); got.Sign() != 0 {
		t.Errorf("zero Quantity Rat(): got %s, want 0", got.RatString())
	}
	if _, err := z.In(quantity.KGM); !errors.Is(err, quantity.ErrUnknownUnit) {
		t.Errorf("zero Quantity In(KGM): got error %v, want %v", err, quantity.ErrUnknownUnit)
	}
	if _, err := z.Add(mustParse(t, "1", "KGM")); !errors.Is(err, quantity.ErrUnknownUnit) {
		t.Errorf("zero Quantity Add: got error %v, want %v", err, quantity.ErrUnknownUnit)
	}
	if _, err := mustParse(t, "1", "KGM").Cmp(z); !errors.Is(err, quantity.ErrUnknownUnit) {
		t.Errorf("Cmp with zero Quantity: got error %v, want %v", err, quantity.ErrUnknownUnit)
	}
}

func TestFixed(t *testing.T) {
	for _, tt := range []struct {
		value  string
		places int
		want   string
	}{
		{"1868.80098", 3, "1868.801"},
		{"2.4", 3, "2.400"},
		{"0.0005", 3, "0.000"}, // a tie goes to even
		{"0.0015", 3, "0.002"},
		{"-1.25", 1, "-1.2"},
		{"7", 0, "7"},
		{"0.04", 1, "0.0"},
	} {
		q, err := quantity.Parse(tt.value, "KGM")
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Fixed(tt.places); got != tt.want {
			t.Errorf("Fixed(%s, %d) = %s, want %s", tt.value, tt.places, got, tt.want)
		}
	}
}
