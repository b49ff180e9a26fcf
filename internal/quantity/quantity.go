package quantity

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/waybill/waybill/internal/decimal"
)

// ErrInvalidValue is returned, wrapped with the input and the reason, when a
// quantity's value is not a plain decimal number.
var ErrInvalidValue = errors.New("invalid quantity value")

// ErrIncompatible is returned, wrapped with both units, when a quantity is
// converted to, compared with or combined with a unit of another dimension.
var ErrIncompatible = errors.New("incompatible units")

// MaxFractionDigits is the largest number of fractional digits [Parse]
// accepts.
const MaxFractionDigits = 18

// maxJSONFractionDigits is the largest number of fractional digits
// [Quantity.UnmarshalJSON] accepts. It is larger than [MaxFractionDigits]
// because JSON is also how quantities are stored, and an exact conversion
// adds digits: an input with 18 fractional digits has up to 33 once it is
// converted (ONZ to TNE).
const maxJSONFractionDigits = 40

// roundDigits is the number of fractional digits [Quantity.Decimal] rounds
// to when a value has no finite decimal expansion.
const roundDigits = 9

// Quantity is an exact amount in a known [Unit]. Build one with [Parse] or
// [New].
//
// The zero Quantity has value 0 and no unit. It reports IsZero and Sign 0,
// but conversion, comparison and arithmetic on it fail with
// [ErrUnknownUnit], and it marshals to JSON null.
type Quantity struct {
	value *big.Rat // never mutated once set; nil means 0
	unit  Unit     // canonical code, or "" in the zero Quantity
}

// Parse builds a Quantity from a plain decimal string and a unit code.
//
// value is an optional sign followed by one or more digits and, optionally, a
// decimal point and one to [MaxFractionDigits] digits: "10", "12.500",
// "-3", "+0.45359237". Exponents ("1e3"), digit group separators ("1,250.5"),
// white space, a bare point (".5", "5."), NaN and infinities are rejected
// with an error wrapping [ErrInvalidValue]. unit is normalised as by
// [ParseUnit]; an unknown code gives an error wrapping [ErrUnknownUnit].
func Parse(value string, unit string) (Quantity, error) {
	u, err := ParseUnit(unit)
	if err != nil {
		return Quantity{}, err
	}
	r, err := parseValue(value, MaxFractionDigits)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{value: r, unit: u}, nil
}

// New returns a Quantity of r in unit u. r is copied, so the caller may
// reuse it. u is normalised as by [ParseUnit]; an unknown code gives an
// error wrapping [ErrUnknownUnit], and a nil r one wrapping
// [ErrInvalidValue].
func New(r *big.Rat, u Unit) (Quantity, error) {
	c, err := ParseUnit(string(u))
	if err != nil {
		return Quantity{}, err
	}
	if r == nil {
		return Quantity{}, fmt.Errorf("%w: nil *big.Rat", ErrInvalidValue)
	}
	return Quantity{value: new(big.Rat).Set(r), unit: c}, nil
}

// Unit returns the quantity's canonical unit code, or "" for the zero
// Quantity.
func (q Quantity) Unit() Unit { return q.unit }

// Rat returns the exact value as a new *big.Rat that the caller owns.
func (q Quantity) Rat() *big.Rat { return new(big.Rat).Set(q.rat()) }

// rat returns the value without copying it. Callers must not modify it.
func (q Quantity) rat() *big.Rat {
	if q.value == nil {
		return new(big.Rat)
	}
	return q.value
}

// IsZero reports whether the value is zero, whatever the unit.
//
// encoding/json's omitzero option calls IsZero, so a field tagged omitzero
// omits a quantity of 0 in any unit, not only the zero Quantity.
func (q Quantity) IsZero() bool { return q.rat().Sign() == 0 }

// Sign returns -1, 0 or +1 as the value is negative, zero or positive.
func (q Quantity) Sign() int { return q.rat().Sign() }

// Decimal returns the value as decimal text with no exponent, no trailing
// fractional zeros and no point when the value is whole: "12.5", "1500",
// "-0.25". It is exact whenever the value has a finite decimal expansion,
// which every value from [Parse] has, and so has every sum of such values and
// every conversion of one into a metric unit (KGM, GRM, MTQ, LTR, MTR, ...)
// or into a unit of the same factor. A value with no finite
// expansion, such as 1 KGM in LBR, is rounded half to even to 9 fractional
// digits (2.204622622); use [Quantity.Rat] when that is not good enough.
func (q Quantity) Decimal() string { return decimal.Format(q.rat(), roundDigits) }

// Fixed writes the value rounded half-even to exactly places decimals,
// trailing zeros kept: "1868.801", "2.400". places must not be negative.
func (q Quantity) Fixed(places int) string { return decimal.FormatFixed(q.rat(), places) }

// String returns the decimal value and the unit, as in "12.5 KGM". The value
// is written as by [Quantity.Decimal].
func (q Quantity) String() string {
	if q.unit == "" {
		return q.Decimal()
	}
	return q.Decimal() + " " + string(q.unit)
}

// In returns the quantity converted exactly to unit u. u is normalised as by
// [ParseUnit]. Converting between dimensions, such as pallets to EA, gives
// an error wrapping [ErrIncompatible].
func (q Quantity) In(u Unit) (Quantity, error) {
	to, toInfo, err := lookup(u)
	if err != nil {
		return Quantity{}, err
	}
	from, fromInfo, err := lookup(q.unit)
	if err != nil {
		return Quantity{}, err
	}
	if fromInfo.dim != toInfo.dim {
		return Quantity{}, fmt.Errorf("converting %s to %s: %w (%s vs %s)", from, to, ErrIncompatible, fromInfo.dim, toInfo.dim)
	}
	if from == to || (fromInfo.num == toInfo.num && fromInfo.den == toInfo.den) {
		return Quantity{value: q.value, unit: to}, nil
	}
	v := new(big.Rat).Mul(q.rat(), fromInfo.factor())
	v.Quo(v, toInfo.factor())
	return Quantity{value: v, unit: to}, nil
}

// Cmp compares q with o after converting o to q's unit, and returns -1, 0
// or +1 as q is less than, equal to or greater than o. Comparing across
// dimensions gives an error wrapping [ErrIncompatible].
func (q Quantity) Cmp(o Quantity) (int, error) {
	c, err := o.In(q.unit)
	if err != nil {
		return 0, fmt.Errorf("comparing %s with %s: %w", q, o, err)
	}
	return q.rat().Cmp(c.rat()), nil
}

// Add returns q + o in q's unit. The sum is exact. Adding across dimensions
// gives an error wrapping [ErrIncompatible].
func (q Quantity) Add(o Quantity) (Quantity, error) {
	c, err := o.In(q.unit)
	if err != nil {
		return Quantity{}, fmt.Errorf("adding %s to %s: %w", o, q, err)
	}
	return Quantity{value: new(big.Rat).Add(q.rat(), c.rat()), unit: q.unit}, nil
}

// Sub returns q - o in q's unit. The difference is exact. Subtracting across
// dimensions gives an error wrapping [ErrIncompatible].
func (q Quantity) Sub(o Quantity) (Quantity, error) {
	c, err := o.In(q.unit)
	if err != nil {
		return Quantity{}, fmt.Errorf("subtracting %s from %s: %w", o, q, err)
	}
	return Quantity{value: new(big.Rat).Sub(q.rat(), c.rat()), unit: q.unit}, nil
}

// parseValue parses s as plain decimal text with at most maxFrac
// fractional digits into an exact rational.
func parseValue(s string, maxFrac int) (*big.Rat, error) {
	r, err := decimal.Parse(s, maxFrac)
	if err != nil {
		// One %w: the reason is text, so the error stays a single chain of
		// causes, as in: invalid quantity value "1e3": exponents are not allowed.
		return nil, fmt.Errorf("%w %s", ErrInvalidValue, err)
	}
	return r, nil
}
