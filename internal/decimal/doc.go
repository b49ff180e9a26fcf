// Package decimal reads and writes plain decimal text, such as "1234.50",
// "-0.085" or "12", exactly, and rounds exact values to integers. It is the
// one place that knows the syntax partners, rules files and our own JSON use
// for amounts, quantities and rates.
//
// Plain decimal text is an optional sign, one or more ASCII digits and,
// optionally, a decimal point followed by one or more digits. Exponents,
// digit group separators, white space, a bare point (".5", "5."), NaN and
// infinities are not plain decimal text. [Valid] checks the syntax, [Parse]
// reads text into an exact *big.Rat, and [ParseScaled] into a scaled integer,
// an int64 counting units of 10^-places (cents for places 2), without ever
// rounding. Failures wrap [ErrSyntax], [ErrPrecision] or [ErrRange], and
// their text is the quoted input and what is wrong with it, with no prefix,
// so that a caller can put its own sentinel and context in front
// (fmt.Errorf("%w %s", ErrInvalidAmount, err) keeps one chain of causes).
//
// [Format] writes a *big.Rat exactly when it has a finite decimal expansion
// (every value read from decimal text has, and so has every sum, difference
// and product of such values) and otherwise rounds it half to even; it drops
// trailing fractional zeros. [FormatFixed] writes a fixed number of places,
// and [FormatScaled] writes a scaled integer. [RoundHalfEven], [Ceil] and
// [Floor] round to integers ([QuoRoundHalfEven] divides and rounds), and
// [Shift] moves the decimal point.
//
// The package has no state. Its functions never modify their arguments,
// apart from the result z that [QuoRoundHalfEven] sets in the manner of
// math/big, and always return values the caller owns, so they are safe for
// concurrent use on shared inputs. Floating point is never used.
package decimal
