package rating

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/money"
)

func TestParseAndFormatDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{in: "0", want: "0"},
		{in: "12.50", want: "12.5"},
		{in: "-0.085", want: "-0.085"},
		{in: "+7", want: "7"},
		{in: "-0.00", want: "0"},
		{in: "0007.100", want: "7.1"},
		{in: "123456789012345678901234567890.5", want: "123456789012345678901234567890.5"},
	}
	for _, tt := range tests {
		r, err := parseDecimal(tt.in)
		if err != nil {
			t.Errorf("parseDecimal(%q): %v", tt.in, err)
			continue
		}
		if got := formatDecimal(r); got != tt.want {
			t.Errorf("formatDecimal(parseDecimal(%q)): got %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "+", ".5", "5.", "1e3", "1,000", "1 000", "0x10", "1/3", "NaN", "Inf", "١", strings.Repeat("9", 50)} {
		if _, err := parseDecimal(bad); !errors.Is(err, errNotDecimal) {
			t.Errorf("parseDecimal(%q): got %v, want errNotDecimal", bad, err)
		}
	}
	for _, tt := range []struct {
		r    *big.Rat
		want string
	}{
		{r: big.NewRat(1, 3), want: "0.333333333"},
		{r: big.NewRat(2, 3), want: "0.666666667"},
		{r: big.NewRat(-2, 3), want: "-0.666666667"},
		{r: big.NewRat(1, 8), want: "0.125"},
		{r: big.NewRat(-1, 1_000_000_000_000), want: "-0.000000000001"},
		{r: big.NewRat(-1, 3_000_000_000_000), want: "0"},
	} {
		if got := formatDecimal(tt.r); got != tt.want {
			t.Errorf("formatDecimal(%s): got %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestToMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r        *big.Rat
		currency string
		want     money.Money
	}{
		{r: big.NewRat(125, 1000), currency: "USD", want: money.Money{Minor: 12, Currency: "USD"}},
		{r: big.NewRat(135, 1000), currency: "USD", want: money.Money{Minor: 14, Currency: "USD"}},
		{r: big.NewRat(-125, 1000), currency: "USD", want: money.Money{Minor: -12, Currency: "USD"}},
		{r: big.NewRat(-135, 1000), currency: "USD", want: money.Money{Minor: -14, Currency: "USD"}},
		{r: big.NewRat(1, 3), currency: "EUR", want: money.Money{Minor: 33, Currency: "EUR"}},
		{r: big.NewRat(2005, 10), currency: "JPY", want: money.Money{Minor: 200, Currency: "JPY"}},
		{r: big.NewRat(12345, 10000), currency: "BHD", want: money.Money{Minor: 1234, Currency: "BHD"}},
	}
	for _, tt := range tests {
		got, err := toMoney(tt.r, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("toMoney(%s, %s): got %v, %v; want %v", tt.r.RatString(), tt.currency, got, err, tt.want)
		}
	}
	huge, _ := new(big.Rat).SetString("1e30")
	if _, err := toMoney(huge, "USD"); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("toMoney(1e30 USD): got %v, want ErrOverflow", err)
	}
}

func TestHugeAmountIsARatingError(t *testing.T) {
	t.Parallel()
	rs, err := Parse([]byte("version: x\ncurrency: USD\nrules:\n  - {id: big, kind: freight, per: kg, rate: 99999999999999999999}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.Rate(Facts{WeightKG: big.NewRat(1000, 1)})
	var re *RateError
	if !errors.As(err, &re) || re.RuleID != "big" || !errors.Is(err, money.ErrOverflow) {
		t.Errorf("got %v, want a RateError for rule big wrapping money.ErrOverflow", err)
	}
}
