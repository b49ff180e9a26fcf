package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/waybill/waybill/internal/decimal"
)

// ErrInvalidAmount is returned, wrapped with the input and the reason, when
// an amount is not a plain decimal number.
var ErrInvalidAmount = errors.New("invalid amount")

// ErrTooManyDecimals is returned, wrapped, when an amount has more non-zero
// decimals than its currency's minor unit allows. Amounts are never rounded
// silently.
var ErrTooManyDecimals = errors.New("too many decimals for currency")

// ErrOverflow is returned, wrapped, when a result does not fit in int64
// minor units.
var ErrOverflow = errors.New("amount out of range")

// ErrCurrencyMismatch is returned, wrapped with both amounts, when an
// operation combines two currencies.
var ErrCurrencyMismatch = errors.New("currency mismatch")

// Money is an amount in the minor unit of an ISO 4217 currency.
//
// Minor is the amount in minor units (123450 for 1234.50 USD). Currency is
// the upper-case ISO 4217 code. Values made by this package always carry a
// currency from the [Exponent] table; the zero Money has no currency.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// ParseDecimal converts a decimal amount such as "1234.50" into minor units
// of currency: "1234.50" USD is 123450, "1500" JPY is 1500, "1.234" KWD is
// 1234.
//
// amount is an optional sign, one or more digits and optionally a decimal
// point followed by one or more digits. Exponents, digit group separators,
// white space, NaN and infinities give an error wrapping [ErrInvalidAmount].
// Fewer decimals than the currency has are fine ("12.5" USD is 1250), and so
// are extra trailing zeros ("1500.00" JPY is 1500), but any other extra
// decimal gives [ErrTooManyDecimals]: "1234.567" USD is an error, not
// 1234.57. An amount beyond int64 minor units gives [ErrOverflow], and an
// unknown currency [ErrUnknownCurrency]. currency is matched
// case-insensitively and stored in upper case.
func ParseDecimal(amount string, currency string) (Money, error) {
	code, exp, err := lookup(currency)
	if err != nil {
		return Money{}, fmt.Errorf("parsing amount %q: %w", amount, err)
	}
	minor, err := decimal.ParseScaled(amount, exp)
	switch {
	case errors.Is(err, decimal.ErrPrecision):
		return Money{}, fmt.Errorf("parsing amount %q %s: %w (%s has %d)", amount, code, ErrTooManyDecimals, code, exp)
	case errors.Is(err, decimal.ErrRange):
		return Money{}, fmt.Errorf("parsing amount %q %s: %w", amount, code, ErrOverflow)
	case err != nil:
		// One %w: the reason is text, so the error stays a single chain of
		// causes, as in: invalid amount "1e3": exponents are not allowed.
		return Money{}, fmt.Errorf("%w %s", ErrInvalidAmount, err)
	}
	return Money{Minor: minor, Currency: code}, nil
}

// Decimal returns the amount in major units with exactly as many decimals as
// the currency has: "1234.50" for USD, "1500" for JPY, "1.234" for KWD,
// "-0.05" for -5 USD. A currency missing from the table is written with no
// decimals.
func (m Money) Decimal() string {
	return decimal.FormatScaled(m.Minor, exponents[m.Currency]) // 0 when the currency is not in the table
}

// String returns the decimal amount and the currency, as in "1234.50 USD".
func (m Money) String() string {
	return m.Decimal() + " " + m.Currency
}

// Add returns m + o. Amounts in different currencies give an error wrapping
// [ErrCurrencyMismatch]; a sum beyond int64 minor units gives [ErrOverflow].
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("adding %s to %s: %w", o, m, ErrCurrencyMismatch)
	}
	sum := m.Minor + o.Minor
	if (o.Minor > 0 && sum < m.Minor) || (o.Minor < 0 && sum > m.Minor) {
		return Money{}, fmt.Errorf("adding %s to %s: %w", o, m, ErrOverflow)
	}
	return Money{Minor: sum, Currency: m.Currency}, nil
}

// Neg returns -m, for example to turn a charge into a credit. The one amount
// with no negation in int64, math.MinInt64 minor units, gives an error
// wrapping [ErrOverflow].
func (m Money) Neg() (Money, error) {
	if m.Minor == math.MinInt64 {
		return Money{}, fmt.Errorf("negating %s: %w", m, ErrOverflow)
	}
	return Money{Minor: -m.Minor, Currency: m.Currency}, nil
}

// MulRatRoundHalfEven returns m × r rounded to the nearest minor unit, with
// ties going to the even neighbour (banker's rounding), in m's currency. It
// is meant for rating: a fuel surcharge of 31.5 % is r = 63/200, and
// 58220 USD cents × 63/200 = 18339.3, so 183.39 USD. The product is exact
// before the single rounding step. A result beyond int64 minor units gives
// an error wrapping [ErrOverflow]; a nil r is an error too.
func (m Money) MulRatRoundHalfEven(r *big.Rat) (Money, error) {
	if r == nil {
		return Money{}, fmt.Errorf("multiplying %s: nil rate", m)
	}
	q := new(big.Int).Mul(big.NewInt(m.Minor), r.Num())
	decimal.QuoRoundHalfEven(q, q, r.Denom())
	if !q.IsInt64() {
		return Money{}, fmt.Errorf("multiplying %s by %s: %w", m, r.RatString(), ErrOverflow)
	}
	return Money{Minor: q.Int64(), Currency: m.Currency}, nil
}

// UnmarshalJSON reads {"minor":12345,"currency":"USD"}. Both fields are
// required; minor must be a JSON number with an integral value that fits
// in int64 (12345, and as JSON Schema's integer also 12345.0 or 1.2345e4,
// which some producers write for a whole number), and currency a code from
// the [Exponent] table, matched case-insensitively and stored in upper
// case. JSON null leaves m unchanged. On error m is unchanged and the error
// names the problem, wrapping [ErrUnknownCurrency] where it applies.
func (m *Money) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var w struct {
		Minor    json.RawMessage `json:"minor"`
		Currency *string         `json:"currency"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decoding money: %w", err)
	}
	if len(w.Minor) == 0 || string(w.Minor) == "null" {
		return errors.New(`decoding money: missing "minor"`)
	}
	minor, err := integral(w.Minor)
	if err != nil {
		return fmt.Errorf("decoding money: minor: %w", err)
	}
	if w.Currency == nil {
		return fmt.Errorf(`decoding money: missing "currency": %w`, ErrUnknownCurrency)
	}
	code, _, err := lookup(*w.Currency)
	if err != nil {
		return fmt.Errorf("decoding money: %w", err)
	}
	*m = Money{Minor: minor, Currency: code}
	return nil
}

// integral reads a JSON number with an integral value that fits in int64.
func integral(raw json.RawMessage) (int64, error) {
	var n int64
	err := json.Unmarshal(raw, &n)
	if err == nil {
		return n, nil
	}
	// A whole number written with a fraction or an exponent. The exponent
	// is bounded so that the exact value stays cheap to compute.
	s := string(raw)
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return 0, err // a string, a boolean…: the decoder says which
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 && len(strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")) > 3 {
		return 0, fmt.Errorf("%s: %w", s, ErrOverflow)
	}
	r, ok := new(big.Rat).SetString(s)
	switch {
	case !ok:
		return 0, err
	case !r.IsInt():
		return 0, fmt.Errorf("%s is not a whole number of minor units", s)
	case !r.Num().IsInt64():
		return 0, fmt.Errorf("%s: %w", s, ErrOverflow)
	}
	return r.Num().Int64(), nil
}
