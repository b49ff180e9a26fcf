package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/money"
)

func TestExponent(t *testing.T) {
	t.Parallel()

	tests := []struct {
		code    string
		want    int
		wantErr error
	}{
		{code: "USD", want: 2}, {code: "EUR", want: 2}, {code: "GBP", want: 2}, {code: "CAD", want: 2},
		{code: "MXN", want: 2}, {code: "AUD", want: 2}, {code: "NZD", want: 2}, {code: "CHF", want: 2},
		{code: "SEK", want: 2}, {code: "NOK", want: 2}, {code: "DKK", want: 2}, {code: "PLN", want: 2},
		{code: "CZK", want: 2}, {code: "HUF", want: 2}, {code: "RON", want: 2}, {code: "CNY", want: 2},
		{code: "INR", want: 2}, {code: "BRL", want: 2}, {code: "ZAR", want: 2}, {code: "SGD", want: 2},
		{code: "HKD", want: 2}, {code: "AED", want: 2}, {code: "SAR", want: 2}, {code: "TRY", want: 2},
		{code: "JPY", want: 0}, {code: "KRW", want: 0}, {code: "CLP", want: 0}, {code: "ISK", want: 0},
		{code: "VND", want: 0},
		{code: "KWD", want: 3}, {code: "BHD", want: 3}, {code: "OMR", want: 3}, {code: "JOD", want: 3},
		{code: "TND", want: 3},
		{code: "usd", want: 2},
		{code: "XYZ", wantErr: money.ErrUnknownCurrency},
		{code: "", wantErr: money.ErrUnknownCurrency},
		{code: "US", wantErr: money.ErrUnknownCurrency},
		{code: " USD", wantErr: money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()

			got, err := money.Exponent(tt.code)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Exponent(%q): got error %v, want %v", tt.code, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Exponent(%q): got %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		amount   string
		currency string
		want     money.Money
		wantErr  error
	}{
		{name: "USD cents", amount: "1234.50", currency: "USD", want: money.Money{Minor: 123450, Currency: "USD"}},
		{name: "USD one decimal", amount: "12.5", currency: "USD", want: money.Money{Minor: 1250, Currency: "USD"}},
		{name: "USD whole", amount: "12", currency: "USD", want: money.Money{Minor: 1200, Currency: "USD"}},
		{name: "USD trailing zeros", amount: "1234.5000", currency: "USD", want: money.Money{Minor: 123450, Currency: "USD"}},
		{name: "lower-case currency", amount: "1", currency: "eur", want: money.Money{Minor: 100, Currency: "EUR"}},
		{name: "negative", amount: "-0.05", currency: "USD", want: money.Money{Minor: -5, Currency: "USD"}},
		{name: "explicit plus", amount: "+7.25", currency: "GBP", want: money.Money{Minor: 725, Currency: "GBP"}},
		{name: "negative zero", amount: "-0.00", currency: "USD", want: money.Money{Minor: 0, Currency: "USD"}},
		{name: "leading zeros", amount: "0007.10", currency: "USD", want: money.Money{Minor: 710, Currency: "USD"}},
		{name: "JPY", amount: "1500", currency: "JPY", want: money.Money{Minor: 1500, Currency: "JPY"}},
		{name: "JPY zero decimals", amount: "1500.00", currency: "JPY", want: money.Money{Minor: 1500, Currency: "JPY"}},
		{name: "KWD", amount: "1.234", currency: "KWD", want: money.Money{Minor: 1234, Currency: "KWD"}},
		{name: "KWD short", amount: "1.2", currency: "KWD", want: money.Money{Minor: 1200, Currency: "KWD"}},
		{name: "max int64", amount: "92233720368547758.07", currency: "USD", want: money.Money{Minor: math.MaxInt64, Currency: "USD"}},
		{name: "min int64", amount: "-92233720368547758.08", currency: "USD", want: money.Money{Minor: math.MinInt64, Currency: "USD"}},
		{name: "max int64 JPY", amount: "9223372036854775807", currency: "JPY", want: money.Money{Minor: math.MaxInt64, Currency: "JPY"}},

		{name: "USD too many decimals", amount: "1234.567", currency: "USD", wantErr: money.ErrTooManyDecimals},
		{name: "USD half cent", amount: "0.005", currency: "USD", wantErr: money.ErrTooManyDecimals},
		{name: "JPY decimals", amount: "1500.5", currency: "JPY", wantErr: money.ErrTooManyDecimals},
		{name: "KWD four decimals", amount: "1.2345", currency: "KWD", wantErr: money.ErrTooManyDecimals},
		{name: "overflow", amount: "92233720368547758.08", currency: "USD", wantErr: money.ErrOverflow},
		{name: "negative overflow", amount: "-92233720368547758.09", currency: "USD", wantErr: money.ErrOverflow},
		{name: "overflow JPY", amount: "9223372036854775808", currency: "JPY", wantErr: money.ErrOverflow},
		{name: "overflow many digits", amount: "123456789012345678901234567890", currency: "KWD", wantErr: money.ErrOverflow},
		{name: "overflow by scaling", amount: "9223372036854775807", currency: "USD", wantErr: money.ErrOverflow},
		{name: "empty", amount: "", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "exponent", amount: "1e3", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "thousands separator", amount: "1,234.50", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "decimal comma", amount: "1234,50", currency: "EUR", wantErr: money.ErrInvalidAmount},
		{name: "space", amount: "1 234", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "currency symbol", amount: "$12", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "NaN", amount: "NaN", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "Inf", amount: "-Inf", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "bare point", amount: ".50", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "trailing point", amount: "12.", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "sign only", amount: "-", currency: "USD", wantErr: money.ErrInvalidAmount},
		{name: "unknown currency", amount: "1", currency: "XXY", wantErr: money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := money.ParseDecimal(tt.amount, tt.currency)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseDecimal(%q, %q): got error %v, want %v", tt.amount, tt.currency, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.amount) {
				t.Errorf("ParseDecimal(%q, %q): got error %q, want it to name the amount", tt.amount, tt.currency, err)
			}
			if got != tt.want {
				t.Errorf("ParseDecimal(%q, %q): got %+v, want %+v", tt.amount, tt.currency, got, tt.want)
			}
		})
	}
}

func TestDecimalAndString(t *testing.T) {
	t.Parallel()

	tests := []struct {
		m          money.Money
		wantDec    string
		wantString string
	}{
		{m: money.Money{Minor: 123450, Currency: "USD"}, wantDec: "1234.50", wantString: "1234.50 USD"},
		{m: money.Money{Minor: 5, Currency: "USD"}, wantDec: "0.05", wantString: "0.05 USD"},
		{m: money.Money{Minor: -5, Currency: "USD"}, wantDec: "-0.05", wantString: "-0.05 USD"},
		{m: money.Money{Minor: -123450, Currency: "EUR"}, wantDec: "-1234.50", wantString: "-1234.50 EUR"},
		{m: money.Money{Minor: 0, Currency: "USD"}, wantDec: "0.00", wantString: "0.00 USD"},
		{m: money.Money{Minor: 1500, Currency: "JPY"}, wantDec: "1500", wantString: "1500 JPY"},
		{m: money.Money{Minor: -1500, Currency: "JPY"}, wantDec: "-1500", wantString: "-1500 JPY"},
		{m: money.Money{Minor: 1234, Currency: "KWD"}, wantDec: "1.234", wantString: "1.234 KWD"},
		{m: money.Money{Minor: 7, Currency: "BHD"}, wantDec: "0.007", wantString: "0.007 BHD"},
		{m: money.Money{Minor: math.MaxInt64, Currency: "USD"}, wantDec: "92233720368547758.07", wantString: "92233720368547758.07 USD"},
		{m: money.Money{Minor: math.MinInt64, Currency: "USD"}, wantDec: "-92233720368547758.08", wantString: "-92233720368547758.08 USD"},
		{m: money.Money{Minor: 123, Currency: "XYZ"}, wantDec: "123", wantString: "123 XYZ"},
	}
	for _, tt := range tests {
		t.Run(tt.wantString, func(t *testing.T) {
			t.Parallel()

			if got := tt.m.Decimal(); got != tt.wantDec {
				t.Errorf("%+v.Decimal(): got %q, want %q", tt.m, got, tt.wantDec)
			}
			if got := tt.m.String(); got != tt.wantString {
				t.Errorf("%+v.String(): got %q, want %q", tt.m, got, tt.wantString)
			}
			if _, err := money.Exponent(tt.m.Currency); err != nil {
				return
			}
			back, err := money.ParseDecimal(tt.m.Decimal(), tt.m.Currency)
			if err != nil {
				t.Fatalf("ParseDecimal(%q, %q): %v", tt.m.Decimal(), tt.m.Currency, err)
			}
			if back != tt.m {
				t.Errorf("ParseDecimal(Decimal()) of %+v: got %+v", tt.m, back)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()

	usd := func(minor int64) money.Money { return money.Money{Minor: minor, Currency: "USD"} }
	tests := []struct {
		name    string
		a, b    money.Money
		want    money.Money
		wantErr error
	}{
		{name: "positive", a: usd(58220), b: usd(18339), want: usd(76559)},
		{name: "negative", a: usd(-500), b: usd(-250), want: usd(-750)},
		{name: "credit", a: usd(1000), b: usd(-1250), want: usd(-250)},
		{name: "zero", a: usd(0), b: usd(0), want: usd(0)},
		{name: "up to max", a: usd(math.MaxInt64 - 1), b: usd(1), want: usd(math.MaxInt64)},
		{name: "down to min", a: usd(math.MinInt64 + 1), b: usd(-1), want: usd(math.MinInt64)},
		{name: "max plus min", a: usd(math.MaxInt64), b: usd(math.MinInt64), want: usd(-1)},
		{name: "overflow", a: usd(math.MaxInt64), b: usd(1), wantErr: money.ErrOverflow},
		{name: "negative overflow", a: usd(math.MinInt64), b: usd(-1), wantErr: money.ErrOverflow},
		{name: "big overflow", a: usd(math.MaxInt64 / 2), b: usd(math.MaxInt64/2 + 2), wantErr: money.ErrOverflow},
		{name: "currency mismatch", a: usd(100), b: money.Money{Minor: 100, Currency: "EUR"}, wantErr: money.ErrCurrencyMismatch},
		{name: "mismatch with zero Money", a: usd(100), b: money.Money{}, wantErr: money.ErrCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := tt.a.Add(tt.b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.Add(%s): got error %v, want %v", tt.a, tt.b, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s.Add(%s): got %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestNeg(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		m       money.Money
		want    money.Money
		wantErr error
	}{
		{name: "positive", m: money.Money{Minor: 123450, Currency: "USD"}, want: money.Money{Minor: -123450, Currency: "USD"}},
		{name: "negative", m: money.Money{Minor: -5, Currency: "JPY"}, want: money.Money{Minor: 5, Currency: "JPY"}},
		{name: "zero", m: money.Money{Currency: "KWD"}, want: money.Money{Currency: "KWD"}},
		{name: "max", m: money.Money{Minor: math.MaxInt64, Currency: "USD"}, want: money.Money{Minor: -math.MaxInt64, Currency: "USD"}},
		{name: "min overflows", m: money.Money{Minor: math.MinInt64, Currency: "USD"}, wantErr: money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := tt.m.Neg()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.Neg(): got error %v, want %v", tt.m, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s.Neg(): got %s, want %s", tt.m, got, tt.want)
			}
		})
	}
}

func TestMulRatRoundHalfEven(t *testing.T) {
	t.Parallel()

	usd := func(minor int64) money.Money { return money.Money{Minor: minor, Currency: "USD"} }
	rat := func(s string) *big.Rat {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("bad rat %q", s)
		}
		return r
	}
	tests := []struct {
		name    string
		m       money.Money
		r       *big.Rat
		want    money.Money
		wantErr error
	}{
		// Fuel surcharges from fixtures x12-210-01 and x12-210-02.
		{name: "FSC 31.5% of 582.20", m: usd(58220), r: rat("0.315"), want: usd(18339)},
		{name: "FSC 18.2% of 2450.00", m: usd(245000), r: rat("0.182"), want: usd(44590)},
		{name: "per-kg rate", m: usd(137), r: rat("2.26796185"), want: usd(311)},
		{name: "identity", m: usd(123450), r: rat("1"), want: usd(123450)},
		{name: "zero rate", m: usd(123450), r: rat("0"), want: usd(0)},
		{name: "tie rounds down to even", m: usd(5), r: rat("1/2"), want: usd(2)},
		{name: "tie rounds up to even", m: usd(7), r: rat("1/2"), want: usd(4)},
		{name: "tie to even zero", m: usd(1), r: rat("1/2"), want: usd(0)},
		{name: "above half rounds up", m: usd(251), r: rat("1/100"), want: usd(3)},
		{name: "below half rounds down", m: usd(249), r: rat("1/100"), want: usd(2)},
		{name: "negative tie to even", m: usd(-5), r: rat("1/2"), want: usd(-2)},
		{name: "negative tie up to even", m: usd(-7), r: rat("1/2"), want: usd(-4)},
		{name: "negative above half", m: usd(-251), r: rat("1/100"), want: usd(-3)},
		{name: "negative rate", m: usd(1000), r: rat("-0.125"), want: usd(-125)},
		{name: "third", m: usd(100), r: rat("1/3"), want: usd(33)},
		{name: "two thirds", m: usd(100), r: rat("2/3"), want: usd(67)},
		{name: "JPY", m: money.Money{Minor: 1500, Currency: "JPY"}, r: rat("0.1"), want: money.Money{Minor: 150, Currency: "JPY"}},
		{name: "KWD", m: money.Money{Minor: 1234, Currency: "KWD"}, r: rat("0.15"), want: money.Money{Minor: 185, Currency: "KWD"}},
		{name: "large exact", m: usd(math.MaxInt64), r: rat("1"), want: usd(math.MaxInt64)},
		{name: "large halved", m: usd(math.MinInt64), r: rat("1/2"), want: usd(math.MinInt64 / 2)},
		{name: "overflow", m: usd(math.MaxInt64), r: rat("2"), wantErr: money.ErrOverflow},
		{name: "overflow by rounding", m: usd(math.MaxInt64), r: rat("1.0000000000000000001"), wantErr: money.ErrOverflow},
		{name: "negating min overflows", m: usd(math.MinInt64), r: rat("-1"), wantErr: money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			before := tt.r.RatString()
			got, err := tt.m.MulRatRoundHalfEven(tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s.MulRatRoundHalfEven(%s): got error %v, want %v", tt.m, tt.r.RatString(), err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s.MulRatRoundHalfEven(%s): got %s, want %s", tt.m, tt.r.RatString(), got, tt.want)
			}
			if after := tt.r.RatString(); after != before {
				t.Errorf("MulRatRoundHalfEven changed its argument: got %s, want %s", after, before)
			}
		})
	}

	t.Run("nil rate", func(t *testing.T) {
		t.Parallel()

		if _, err := usd(100).MulRatRoundHalfEven(nil); err == nil {
			t.Error("MulRatRoundHalfEven(nil): got nil error, want one")
		}
	})
}

func TestJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		in       money.Money
		wantJSON string
	}{
		{name: "USD", in: money.Money{Minor: 12345, Currency: "USD"}, wantJSON: `{"minor":12345,"currency":"USD"}`},
		{name: "negative JPY", in: money.Money{Minor: -1500, Currency: "JPY"}, wantJSON: `{"minor":-1500,"currency":"JPY"}`},
		{name: "max", in: money.Money{Minor: math.MaxInt64, Currency: "KWD"}, wantJSON: `{"minor":9223372036854775807,"currency":"KWD"}`},
		{name: "min", in: money.Money{Minor: math.MinInt64, Currency: "EUR"}, wantJSON: `{"minor":-9223372036854775808,"currency":"EUR"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			data, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", tt.in, err)
			}
			if string(data) != tt.wantJSON {
				t.Errorf("Marshal(%s): got %s, want %s", tt.in, data, tt.wantJSON)
			}
			var got money.Money
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", data, err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalJSON(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		want    money.Money
		wantErr error
		errText string
	}{
		{name: "valid", in: `{"minor":123450,"currency":"USD"}`, want: money.Money{Minor: 123450, Currency: "USD"}},
		{name: "lower-case currency", in: `{"currency":"eur","minor":-5}`, want: money.Money{Minor: -5, Currency: "EUR"}},
		{name: "unknown fields ignored", in: `{"minor":1,"currency":"JPY","note":"x"}`, want: money.Money{Minor: 1, Currency: "JPY"}},

		{name: "unknown currency", in: `{"minor":1,"currency":"XYZ"}`, wantErr: money.ErrUnknownCurrency, errText: "XYZ"},
		{name: "empty currency", in: `{"minor":1,"currency":""}`, wantErr: money.ErrUnknownCurrency, errText: "unknown currency"},
		{name: "missing currency", in: `{"minor":1}`, wantErr: money.ErrUnknownCurrency, errText: `missing "currency"`},
		{name: "null currency", in: `{"minor":1,"currency":null}`, wantErr: money.ErrUnknownCurrency, errText: `missing "currency"`},
		{name: "missing minor", in: `{"currency":"USD"}`, errText: `missing "minor"`},
		{name: "fractional minor", in: `{"minor":1.5,"currency":"USD"}`, errText: "minor"},
		{name: "whole minor with a fraction", in: `{"minor":2.0,"currency":"USD"}`, want: money.Money{Minor: 2, Currency: "USD"}},
		{name: "whole minor with an exponent", in: `{"minor":1.2345e4,"currency":"USD"}`, want: money.Money{Minor: 12345, Currency: "USD"}},
		{name: "fractional minor with an exponent", in: `{"minor":1.5e-1,"currency":"USD"}`, errText: "not a whole number"},
		{name: "minor with a huge exponent", in: `{"minor":1e100000,"currency":"USD"}`, wantErr: money.ErrOverflow, errText: "minor"},
		{name: "whole minor overflow", in: `{"minor":9.3e18,"currency":"USD"}`, wantErr: money.ErrOverflow, errText: "minor"},
		{name: "string minor", in: `{"minor":"100","currency":"USD"}`, errText: "minor"},
		{name: "minor overflow", in: `{"minor":9223372036854775808,"currency":"USD"}`, errText: "minor"},
		{name: "numeric currency", in: `{"minor":1,"currency":840}`, errText: "currency"},
		{name: "not an object", in: `"12.34 USD"`, errText: "decoding money"},
		{name: "array", in: `[1,"USD"]`, errText: "decoding money"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got money.Money
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.errText == "" {
				if err != nil {
					t.Fatalf("Unmarshal(%s): %v", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("Unmarshal(%s): got %+v, want %+v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Unmarshal(%s): got %+v and no error, want an error", tt.in, got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Unmarshal(%s): got error %v, want %v", tt.in, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Unmarshal(%s): got error %q, want it to mention %q", tt.in, err, tt.errText)
			}
			if got != (money.Money{}) {
				t.Errorf("Unmarshal(%s) with an error: got %+v, want the target unchanged", tt.in, got)
			}
		})
	}

	t.Run("null leaves target unchanged", func(t *testing.T) {
		t.Parallel()

		m := money.Money{Minor: 7, Currency: "USD"}
		if err := json.Unmarshal([]byte(`null`), &m); err != nil {
			t.Fatalf("Unmarshal(null): %v", err)
		}
		if want := (money.Money{Minor: 7, Currency: "USD"}); m != want {
			t.Errorf("Unmarshal(null): got %+v, want %+v", m, want)
		}
	})
}
