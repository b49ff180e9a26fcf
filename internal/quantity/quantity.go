package quantity

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
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
	r, err := parseDecimal(value, MaxFractionDigits)
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
func (q Quantity) Decimal() string { return formatRat(q.rat()) }

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

// parseDecimal parses s as [+-]?digits(.digits)? with at most maxFrac
// fractional digits into an exact rational.
func parseDecimal(s string, maxFrac int) (*big.Rat, error) {
	neg, intPart, fracPart, err := splitDecimal(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalidValue, s, err)
	}
	if len(fracPart) > maxFrac {
		return nil, fmt.Errorf("%w %q: more than %d fractional digits", ErrInvalidValue, s, maxFrac)
	}
	num, ok := new(big.Int).SetString(intPart+fracPart, 10)
	if !ok {
		// splitDecimal admits only ASCII digits, so this cannot happen.
		return nil, fmt.Errorf("%w %q: malformed digits", ErrInvalidValue, s)
	}
	if neg {
		num.Neg(num)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(fracPart))), nil)
	return new(big.Rat).SetFrac(num, den), nil
}

// splitDecimal checks s against [+-]?digits(.digits)? and returns its
// parts. The error text says what is wrong, for the caller to wrap.
func splitDecimal(s string) (neg bool, intPart, fracPart string, err error) {
	if s == "" {
		return false, "", "", errors.New("empty")
	}
	body := s
	switch body[0] {
	case '-':
		neg = true
		body = body[1:]
	case '+':
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "nan", "inf", "infinity":
		return false, "", "", errors.New("NaN and infinities are not allowed")
	}
	if strings.ContainsAny(body, "eE") {
		return false, "", "", errors.New("exponents are not allowed")
	}
	if strings.ContainsAny(body, ",_' ") {
		return false, "", "", errors.New("digit group separators and spaces are not allowed")
	}
	intPart, fracPart, hasPoint := strings.Cut(body, ".")
	if intPart == "" || !allDigits(intPart) || (hasPoint && (fracPart == "" || !allDigits(fracPart))) {
		return false, "", "", errors.New("want digits with an optional sign and decimal point")
	}
	return neg, intPart, fracPart, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	bigOne = big.NewInt(1)
	bigTwo = big.NewInt(2)
	bigTen = big.NewInt(10)
)

// Fixed writes the value rounded half-even to exactly places decimals,
// trailing zeros kept: "1868.801", "2.400". places must not be negative.
func (q Quantity) Fixed(places int) string {
	r := q.rat()
	scale := new(big.Int).Exp(bigTen, big.NewInt(int64(places)), nil)
	v := roundHalfEven(new(big.Int).Mul(r.Num(), scale), r.Denom())
	abs := new(big.Int).Abs(v).String()
	if len(abs) <= places {
		abs = strings.Repeat("0", places-len(abs)+1) + abs
	}
	out := abs
	if places > 0 {
		out = abs[:len(abs)-places] + "." + abs[len(abs)-places:]
	}
	if v.Sign() < 0 {
		out = "-" + out
	}
	return out
}

// formatRat writes r in decimal as described for [Quantity.Decimal].
func formatRat(r *big.Rat) string {
	den := new(big.Int).Set(r.Denom())
	digits, finite := decimalPlaces(den)
	if !finite {
		digits = roundDigits
	}
	scale := new(big.Int).Exp(bigTen, big.NewInt(int64(digits)), nil)
	scaled := new(big.Int).Mul(r.Num(), scale)
	if finite {
		scaled.Quo(scaled, den)
	} else {
		scaled = roundHalfEven(scaled, den)
	}
	return formatScaled(scaled, digits)
}

// decimalPlaces reports the number of fractional digits needed to write
// 1/den exactly, and false when den has a prime factor other than 2 and 5.
// den must be positive and is not modified.
func decimalPlaces(den *big.Int) (int, bool) {
	d := new(big.Int).Set(den)
	twos := int(d.TrailingZeroBits())
	d.Rsh(d, uint(twos))
	fives := 0
	five := big.NewInt(5)
	q, m := new(big.Int), new(big.Int)
	for {
		q.QuoRem(d, five, m)
		if m.Sign() != 0 {
			break
		}
		d.Set(q)
		fives++
	}
	if d.Cmp(bigOne) != 0 {
		return 0, false
	}
	return max(twos, fives), true
}

// roundHalfEven returns num/den rounded to the nearest integer, ties to
// even. den must be positive.
func roundHalfEven(num, den *big.Int) *big.Int {
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() == 0 {
		return q
	}
	twice := new(big.Int).Abs(m)
	twice.Mul(twice, bigTwo)
	c := twice.Cmp(den)
	if c > 0 || (c == 0 && q.Bit(0) == 1) {
		if num.Sign() < 0 {
			q.Sub(q, bigOne)
		} else {
			q.Add(q, bigOne)
		}
	}
	return q
}

// formatScaled writes v/10^digits in decimal without trailing fractional
// zeros and without a negative sign on zero.
func formatScaled(v *big.Int, digits int) string {
	if v.Sign() == 0 {
		return "0"
	}
	abs := new(big.Int).Abs(v).String()
	if len(abs) <= digits {
		abs = strings.Repeat("0", digits-len(abs)+1) + abs
	}
	intPart, fracPart := abs[:len(abs)-digits], strings.TrimRight(abs[len(abs)-digits:], "0")
	out := intPart
	if fracPart != "" {
		out += "." + fracPart
	}
	if v.Sign() < 0 {
		out = "-" + out
	}
	return out
}
