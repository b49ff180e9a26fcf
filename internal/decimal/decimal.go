package decimal

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by the error for text that is not plain decimal
// text.
var ErrSyntax = errors.New("not a plain decimal number")

// ErrPrecision is wrapped by the error for text with more fractional digits
// than the caller allows.
var ErrPrecision = errors.New("too many fractional digits")

// ErrRange is wrapped by the error for text whose scaled value does not fit
// in an int64.
var ErrRange = errors.New("decimal out of range")

// parseError says what is wrong with text that [Parse] or [ParseScaled]
// refused. Its text is the quoted input and the reason, as in
// `"1e3": exponents are not allowed`.
type parseError struct {
	text   string
	reason string
	err    error // ErrSyntax, ErrPrecision or ErrRange
}

func (e *parseError) Error() string { return strconv.Quote(e.text) + ": " + e.reason }

func (e *parseError) Unwrap() error { return e.err }

// parts is plain decimal text split at its sign and point.
type parts struct {
	neg        bool
	intPart    string // one or more ASCII digits
	fracPart   string // zero or more ASCII digits
	digitCount int    // len(intPart) + len(fracPart)
}

// split checks s against [+-]?digits(.digits)? and returns its parts, or an
// error wrapping ErrSyntax that says what is wrong.
func split(s string) (parts, error) {
	if s == "" {
		return parts{}, &parseError{text: s, reason: "empty", err: ErrSyntax}
	}
	var p parts
	body := s
	switch body[0] {
	case '-':
		p.neg = true
		body = body[1:]
	case '+':
		body = body[1:]
	}
	intPart, fracPart, hasPoint := strings.Cut(body, ".")
	if intPart != "" && allDigits(intPart) && (!hasPoint || (fracPart != "" && allDigits(fracPart))) {
		p.intPart, p.fracPart = intPart, fracPart
		p.digitCount = len(intPart) + len(fracPart)
		return p, nil
	}
	reason := "want digits with an optional sign and decimal point"
	switch {
	case strings.EqualFold(body, "nan") || strings.EqualFold(body, "inf") || strings.EqualFold(body, "infinity"):
		reason = "NaN and infinities are not allowed"
	case strings.ContainsAny(body, "eE"):
		reason = "exponents are not allowed"
	case strings.ContainsAny(body, ",_' "):
		reason = "digit group separators and spaces are not allowed"
	}
	return parts{}, &parseError{text: s, reason: reason, err: ErrSyntax}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Valid reports whether s is plain decimal text, with any number of digits.
func Valid(s string) bool {
	_, err := split(s)
	return err == nil
}

// Parse returns the exact value of the plain decimal text s, which has at
// most maxFrac fractional digits, trailing zeros included: "12.50" has two,
// and maxFrac 0 admits only whole numbers. maxFrac must not be negative.
// Text that is not plain decimal text gives an error wrapping [ErrSyntax],
// and more than maxFrac fractional digits one wrapping [ErrPrecision].
func Parse(s string, maxFrac int) (*big.Rat, error) {
	p, err := split(s)
	if err != nil {
		return nil, err
	}
	if len(p.fracPart) > maxFrac {
		return nil, &parseError{text: s, reason: fmt.Sprintf("more than %d fractional digits", maxFrac), err: ErrPrecision}
	}
	if p.digitCount <= 18 {
		// Fits in int64 with room to spare: no big.Int arithmetic needed.
		var n int64
		for _, d := range [2]string{p.intPart, p.fracPart} {
			for i := 0; i < len(d); i++ {
				n = n*10 + int64(d[i]-'0')
			}
		}
		if p.neg {
			n = -n
		}
		return new(big.Rat).SetFrac64(n, pow10Int64(len(p.fracPart))), nil
	}
	num, _ := new(big.Int).SetString(p.intPart+p.fracPart, 10) // split admits only ASCII digits
	if p.neg {
		num.Neg(num)
	}
	return new(big.Rat).SetFrac(num, pow10(len(p.fracPart))), nil
}

// ParseScaled returns the plain decimal text s as a scaled integer: its value
// times 10^places, so "12.5" with places 2 is 1250 and "-3" with places 3 is
// -3000. Fractional digits beyond places are accepted only when they are
// zeros ("12.500" with places 2 is 1250); any other gives an error wrapping
// [ErrPrecision], as the value is never rounded. Text that is not plain
// decimal text gives an error wrapping [ErrSyntax], and a result outside the
// int64 range one wrapping [ErrRange]. places must not be negative.
func ParseScaled(s string, places int) (int64, error) {
	p, err := split(s)
	if err != nil {
		return 0, err
	}
	frac := p.fracPart
	if len(frac) > places {
		if strings.Trim(frac[places:], "0") != "" {
			return 0, &parseError{text: s, reason: fmt.Sprintf("non-zero digits beyond %d fractional digits", places), err: ErrPrecision}
		}
		frac = frac[:places]
	}
	limit := uint64(math.MaxInt64)
	if p.neg {
		limit++ // math.MinInt64 has no positive counterpart
	}
	var abs uint64
	push := func(d uint64) bool {
		if abs > (limit-d)/10 {
			return false
		}
		abs = abs*10 + d
		return true
	}
	ok := true
	for _, digits := range [2]string{p.intPart, frac} {
		for i := 0; i < len(digits) && ok; i++ {
			ok = push(uint64(digits[i] - '0'))
		}
	}
	for i := len(frac); i < places && ok && abs != 0; i++ {
		ok = push(0)
	}
	if !ok {
		return 0, &parseError{text: s, reason: fmt.Sprintf("does not fit in an int64 with %d fractional digits", places), err: ErrRange}
	}
	if p.neg {
		return int64(-abs), nil // -(1<<63) wraps to math.MinInt64 as intended
	}
	return int64(abs), nil
}

// Format writes r as plain decimal text with no trailing fractional zeros,
// no point when the value is whole, and no sign on zero: "12.5", "1500",
// "-0.25". It is exact when r has a finite decimal expansion; otherwise r
// is rounded half to even to places fractional digits, so 2/3 with places 9
// is "0.666666667" and -1/3000 with places 3 is "0". places must not be
// negative.
func Format(r *big.Rat, places int) string {
	if r.IsInt() {
		return r.Num().String()
	}
	den := r.Denom()
	digits, finite := fractionDigits(den)
	if !finite {
		digits = places
	}
	scaled := new(big.Int).Mul(r.Num(), pow10(digits))
	if finite {
		scaled.Quo(scaled, den) // exact
	} else {
		QuoRoundHalfEven(scaled, scaled, den)
	}
	return insertPoint(scaled.String(), digits, true)
}

// FormatFixed writes r rounded half to even to exactly places fractional
// digits, trailing zeros kept: "1868.801", "2.400", "-0.50". A value that
// rounds to zero has no sign ("0.00"). places must not be negative.
func FormatFixed(r *big.Rat, places int) string {
	v := new(big.Int).Mul(r.Num(), pow10(places))
	QuoRoundHalfEven(v, v, r.Denom())
	return insertPoint(v.String(), places, false)
}

// FormatScaled writes the scaled integer v, v times 10^-places, with exactly
// places fractional digits: 123450 with places 2 is "1234.50", -5 with
// places 2 is "-0.05", 1500 with places 0 is "1500". It is the inverse of
// [ParseScaled]. places must not be negative.
func FormatScaled(v int64, places int) string {
	return insertPoint(strconv.FormatInt(v, 10), places, false)
}

// insertPoint writes the integer text s (an optional '-' and digits) divided
// by 10^places, padding with leading zeros. With trim it drops trailing
// fractional zeros, and the point with them. s is as big.Int and strconv
// write it, so zero has no sign.
func insertPoint(s string, places int, trim bool) string {
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	if places == 0 {
		return sign + s
	}
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	intPart, fracPart := s[:len(s)-places], s[len(s)-places:]
	if trim {
		if fracPart = strings.TrimRight(fracPart, "0"); fracPart == "" {
			return sign + intPart
		}
	}
	return sign + intPart + "." + fracPart
}

// RoundHalfEven returns r rounded to the nearest integer, with ties going to
// the even neighbour (banker's rounding): 2.5 is 2, 3.5 is 4, -2.5 is -2.
func RoundHalfEven(r *big.Rat) *big.Int {
	return QuoRoundHalfEven(new(big.Int), r.Num(), r.Denom())
}

// QuoRoundHalfEven sets z to num/den rounded as by [RoundHalfEven] and
// returns z, in the manner of math/big. It spares a caller that has a
// numerator and a denominator, such as a product not yet reduced, the cost
// of building a *big.Rat. den must be positive. z may be num or den; num and
// den are not otherwise modified.
func QuoRoundHalfEven(z, num, den *big.Int) *big.Int {
	neg := num.Sign() < 0
	if z == den {
		den = new(big.Int).Set(den)
	}
	var m big.Int
	z.QuoRem(num, den, &m)
	if m.Sign() == 0 {
		return z
	}
	twice := m.Abs(&m)
	twice.Lsh(twice, 1)
	if c := twice.Cmp(den); c > 0 || (c == 0 && z.Bit(0) == 1) {
		if neg {
			z.Sub(z, big.NewInt(1))
		} else {
			z.Add(z, big.NewInt(1))
		}
	}
	return z
}

// Ceil returns the smallest integer not less than r: 2.1 is 3, -2.1 is -2.
func Ceil(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: m >= 0
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// Floor returns the largest integer not greater than r: 2.9 is 2, -2.1 is
// -3.
func Floor(r *big.Rat) *big.Int {
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: floors for a positive divisor
	return q
}

// Shift returns r times 10^n as a new value: a positive n moves the decimal
// point n places to the right, a negative n to the left. Shift(12.345, 2) is
// 1234.5, and Shift(123450, -2) is 1234.5.
func Shift(r *big.Rat, n int) *big.Rat {
	if n >= 0 {
		return new(big.Rat).SetFrac(new(big.Int).Mul(r.Num(), pow10(n)), r.Denom())
	}
	return new(big.Rat).SetFrac(r.Num(), new(big.Int).Mul(r.Denom(), pow10(-n)))
}

// fractionDigits reports how many fractional digits 1/den needs when written
// in decimal, and false when it has no finite decimal expansion (den has a
// prime factor other than 2 and 5). den must be positive and is not
// modified.
func fractionDigits(den *big.Int) (int, bool) {
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
		d, q = q, d
		fives++
	}
	return max(twos, fives), d.IsInt64() && d.Int64() == 1
}

// pow10 returns 10^n as a new *big.Int. n must not be negative.
func pow10(n int) *big.Int {
	if n <= 18 {
		return big.NewInt(pow10Int64(n))
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// pow10Int64 returns 10^n for 0 <= n <= 18.
func pow10Int64(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
