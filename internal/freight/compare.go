package freight

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

// DefaultType is the charge type of the tolerance that applies to every
// type without one of its own.
const DefaultType = "default"

// Tolerance is how far a carrier may bill above the expected cost of one
// charge type before a person must look: Abs in major units of the
// charge's currency, or Percent of the expected amount, whichever allows
// more. A nil bound allows nothing.
type Tolerance struct {
	// Type is a charge type (linehaul, fuel, …) or DefaultType.
	Type    string
	Abs     *big.Rat
	Percent *big.Rat
}

// Tolerances are the tolerances per charge type. The zero value allows no
// difference at all.
type Tolerances []Tolerance

// of returns the tolerance of charge type typ: its own, else the default,
// else none.
func (ts Tolerances) of(typ string) Tolerance {
	if i := slices.IndexFunc(ts, func(t Tolerance) bool { return t.Type == typ }); i >= 0 {
		return ts[i]
	}
	if i := slices.IndexFunc(ts, func(t Tolerance) bool { return t.Type == DefaultType }); i >= 0 {
		return ts[i]
	}
	return Tolerance{Type: typ}
}

// allowed is the largest overcharge t allows on expected.
func (t Tolerance) allowed(expected *big.Rat) *big.Rat {
	out := new(big.Rat)
	if t.Abs != nil {
		out.Set(t.Abs)
	}
	if t.Percent != nil {
		p := new(big.Rat).Mul(expected, t.Percent)
		p.Quo(p, big.NewRat(100, 1))
		if p.Cmp(out) > 0 {
			out = p
		}
	}
	return out
}

// Line compares one charge type, in one currency, between the carrier's
// invoice and the expected cost. Amounts are decimal text in major units.
type Line struct {
	Type     string `json:"type"`
	Currency string `json:"currency"`
	Reported string `json:"reported"`
	Expected string `json:"expected"`
	// Difference is reported − expected: positive when the carrier billed
	// more.
	Difference string `json:"difference"`
	// Percent is Difference as a percentage of Expected, two decimals;
	// empty when nothing was expected.
	Percent string `json:"percent,omitempty"`
	// Allowed is the largest overcharge the type's tolerance allows.
	Allowed string `json:"allowed"`
	// Within reports that Difference is at most Allowed. A carrier billing
	// less than expected is always within.
	Within bool `json:"within"`
}

// Compare compares the charges a carrier reported with the expected cost,
// per charge type and currency, in the order types first appear (reported
// first). within reports that every line is within its tolerance; reason
// then is empty, else it says which lines are not, for people.
func Compare(reported []shipment.Charge, expected []rating.Charge, tol Tolerances) (lines []Line, within bool, reason string) {
	type key struct{ typ, currency string }
	type sums struct{ reported, expected *big.Rat }
	var order []key
	byKey := map[key]*sums{}
	add := func(typ string, m money.Money, reportedSide bool) {
		if typ == "" {
			typ = string(rating.Other)
		}
		k := key{typ, m.Currency}
		s := byKey[k]
		if s == nil {
			s = &sums{new(big.Rat), new(big.Rat)}
			byKey[k] = s
			order = append(order, k)
		}
		r := moneyRat(m)
		if reportedSide {
			s.reported.Add(s.reported, r)
		} else {
			s.expected.Add(s.expected, r)
		}
	}
	for _, c := range reported {
		add(c.Type, c.Amount, true)
	}
	for _, c := range expected {
		add(string(c.Type), c.Amount, false)
	}
	within = true
	var out []string
	for _, k := range order {
		s := byKey[k]
		places := exponent(k.currency)
		diff := new(big.Rat).Sub(s.reported, s.expected)
		allowed := tol.of(k.typ).allowed(s.expected)
		l := Line{Type: k.typ, Currency: k.currency, Reported: decimal.FormatFixed(s.reported, places),
			Expected: decimal.FormatFixed(s.expected, places), Difference: decimal.FormatFixed(diff, places),
			Allowed: decimal.FormatFixed(allowed, places), Within: diff.Cmp(allowed) <= 0}
		if s.expected.Sign() != 0 {
			pct := new(big.Rat).Quo(diff, s.expected)
			pct.Mul(pct, big.NewRat(100, 1))
			l.Percent = decimal.FormatFixed(pct, 2)
		}
		if !l.Within {
			within = false
			out = append(out, lineReason(l))
		}
		lines = append(lines, l)
	}
	return lines, within, strings.Join(out, "; ")
}

// lineReason says why l is outside its tolerance.
func lineReason(l Line) string {
	s := fmt.Sprintf("%s billed %s %s, expected %s %s", l.Type, l.Reported, l.Currency, l.Expected, l.Currency)
	if l.Percent != "" {
		s += fmt.Sprintf(" (%s %% above)", l.Percent)
	}
	return s + fmt.Sprintf(", %s %s allowed", l.Allowed, l.Currency)
}

// moneyRat is m in major units.
func moneyRat(m money.Money) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(m.Minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exponent(m.Currency))), nil))
}

// exponent is the number of decimals of currency (2 when unknown).
func exponent(currency string) int {
	if e, err := money.Exponent(currency); err == nil {
		return e
	}
	return 2
}
