package rating

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/waybill/waybill/internal/money"
)

// ChargeType is the canonical type of a charge, as in the charges.reported
// event.
type ChargeType string

// Charge types that rules produce.
const (
	Linehaul       ChargeType = "linehaul"
	Fuel           ChargeType = "fuel"
	Detention      ChargeType = "detention"
	Liftgate       ChargeType = "liftgate"
	Residential    ChargeType = "residential"
	InsideDelivery ChargeType = "inside_delivery"
	Redelivery     ChargeType = "redelivery"
	Layover        ChargeType = "layover"
	Lumper         ChargeType = "lumper"
	Accessorial    ChargeType = "accessorial"
	Other          ChargeType = "other"
)

// ErrUnknownFact is wrapped by the error of Rate when a rule needs a fact
// that the shipment does not have, such as distance_km without coordinates.
var ErrUnknownFact = errors.New("unknown fact")

// RateError is an error rating one rule. Rate returns it for the first
// rule that fails.
type RateError struct {
	// RuleID is the id of the rule that failed.
	RuleID string
	// Key is the key of the rule whose evaluation failed, such as "when" or
	// "amount"; empty when the failure is the rule's as a whole.
	Key string
	Err error
}

// Error returns "rule ID: key: what went wrong".
func (e *RateError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("rule %s: %v", e.RuleID, e.Err)
	}
	return fmt.Sprintf("rule %s: %s: %v", e.RuleID, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *RateError) Unwrap() error { return e.Err }

// Quantity is the billed quantity of a charge.
type Quantity struct {
	// Value is exact decimal text, such as "1800" or "412.3".
	Value string `json:"value"`
	// Unit is a UN/ECE Recommendation 20 code: KGM (kilograms), KMT
	// (kilometres), XPX (pallets) or MIN (minutes).
	Unit string `json:"unit"`
}

// Charge is one charge rated for a shipment.
type Charge struct {
	RuleID       string     `json:"rule_id"`
	RulesVersion string     `json:"rules_version"`
	Code         string     `json:"code"`
	Type         ChargeType `json:"type"`
	Description  string     `json:"description"`
	// Amount is rounded half to even to the currency's minor unit, once.
	Amount money.Money `json:"amount"`
	// Quantity is what was billed per unit, for charges priced per kg, km,
	// pallet or minute; nil otherwise.
	Quantity *Quantity `json:"quantity,omitempty"`
	// Calculation says how Amount was worked out, for people.
	Calculation string `json:"calculation"`
	// ReratedBy is the id of the reweigh rule that re-rated this charge on
	// the measured weight; empty otherwise.
	ReratedBy string `json:"rerated_by,omitempty"`
	// Facts are the facts the rule used, by fact name, as evidence: text,
	// int64, float64, bool, time.Time, decimal text for decimals, and
	// []any and map[string]any for collections. A fuel charge also records
	// linehaul_amount, the decimal text of the linehaul it is a percentage
	// of.
	Facts map[string]any `json:"facts"`
}

// maxDetentionMinutes bounds the minutes a detention rule bills (about 19
// years), far above any real dwell and far below integer overflow.
const maxDetentionMinutes = 10_000_000

// phases are the order rules are evaluated in: a reweigh decides the
// weight freight is rated on, and fuel is a percentage of the linehaul.
var phases = [][]string{{kindReweigh}, {kindFreight}, {kindDetention, kindAccessorial}, {kindFuel}}

// Rate rates a shipment: it returns one charge for each rule that applies
// and gives a non-zero amount, in the order of the rules in the file.
// The result depends on rs and f only.
//
// A rule applies when its customers include the shipment's customer (or it
// names none and is not a default), or when it is a default and no rule of
// the same kind and charge type names the shipment's customer; and when its
// when condition holds. On the first rule that fails, Rate returns a
// *RateError naming it; an unknown fact makes it wrap ErrUnknownFact.
func (rs *Rules) Rate(f Facts) ([]Charge, error) {
	st := &rater{
		rs:   rs,
		vals: factsType.build(&f),
		out:  make([]*Charge, len(rs.rules)),
	}
	for _, kinds := range phases {
		for i, r := range rs.rules {
			if !slices.Contains(kinds, r.kind) {
				continue
			}
			c, err := st.apply(r)
			if err != nil {
				return nil, err
			}
			st.out[i] = c
		}
	}
	var charges []Charge
	for _, c := range st.out {
		if c != nil {
			charges = append(charges, *c)
		}
	}
	return charges, nil
}

// rater is the state of one Rate call.
type rater struct {
	rs      *Rules
	vals    map[string]ref.Val
	out     []*Charge
	reweigh *reweighOutcome
}

// reweighOutcome is what the reweigh rule that applied found.
type reweighOutcome struct {
	ruleID    string
	measured  *big.Rat
	reweighed bool
}

// evaluation is the evaluation of one rule: the facts it read are its
// evidence.
type evaluation struct {
	r     *rule
	rec   *record
	use   *usage
	extra map[string]any
}

func (st *rater) apply(r *rule) (*Charge, error) {
	use := &usage{used: make(map[string]bool)}
	ev := &evaluation{r: r, rec: &record{typ: factsType, vals: st.vals, use: use}, use: use, extra: make(map[string]any)}
	if len(r.customers) > 0 || r.isDefault {
		v, _ := ev.fact("customer_ref")
		customer, _ := v.(types.String)
		if len(r.customers) > 0 && !slices.Contains(r.customers, string(customer)) {
			return nil, nil
		}
		if r.isDefault && st.rs.named[r.group()][string(customer)] {
			return nil, nil
		}
	}
	if r.when != nil {
		v, err := ev.eval(r.when)
		if err != nil {
			return nil, err
		}
		b, ok := v.(types.Bool)
		if !ok {
			return nil, &RateError{RuleID: r.id, Key: "when", Err: fmt.Errorf("gives %s, want bool", v.Type().TypeName())}
		}
		if !b {
			return nil, nil
		}
	}
	var (
		c   *Charge
		err error
	)
	switch r.kind {
	case kindFreight:
		c, err = st.freight(ev)
	case kindFuel:
		c, err = st.fuel(ev)
	case kindDetention:
		c, err = st.detention(ev)
	case kindAccessorial:
		c, err = st.accessorial(ev)
	case kindReweigh:
		c, err = st.reconcile(ev)
	}
	if err != nil || c == nil {
		return nil, err
	}
	c.RulesVersion = st.rs.version
	return c, nil
}

// fact reads a fact for Go code, recording it as used when known.
func (ev *evaluation) fact(name string) (ref.Val, bool) {
	v, ok := ev.rec.vals[name]
	ev.use.read(name, ok)
	return v, ok
}

// requireFact reads a fact that the rule cannot do without.
func (ev *evaluation) requireFact(name, key string) (ref.Val, error) {
	v, ok := ev.fact(name)
	if !ok {
		return nil, &RateError{RuleID: ev.r.id, Key: key, Err: fmt.Errorf("%w %s (guard the rule with when: has(facts.%s))", ErrUnknownFact, name, name)}
	}
	return v, nil
}

func (ev *evaluation) eval(e *expr) (ref.Val, error) {
	ev.use.missing = ""
	out, _, err := e.prg.Eval(map[string]any{"facts": ev.rec})
	if err != nil {
		if ev.use.missing != "" {
			err = fmt.Errorf("%w %s (guard it with has(facts.%s))", ErrUnknownFact, ev.use.missing, ev.use.missing)
		}
		return nil, &RateError{RuleID: ev.r.id, Key: e.key, Err: err}
	}
	return out, nil
}

// number evaluates a parameter to a non-negative exact number.
func (ev *evaluation) number(p *param) (*big.Rat, error) {
	if p.lit != nil {
		return p.lit, nil
	}
	v, err := ev.eval(p.ex)
	if err != nil {
		return nil, err
	}
	var r *big.Rat
	switch x := v.(type) {
	case decimalVal:
		r = x.r
	case types.String:
		if r, err = parseDecimal(string(x)); err != nil {
			return nil, &RateError{RuleID: ev.r.id, Key: p.key, Err: err}
		}
	default:
		return nil, &RateError{RuleID: ev.r.id, Key: p.key, Err: fmt.Errorf("gives %s, want a decimal or decimal text", v.Type().TypeName())}
	}
	if r.Sign() < 0 {
		return nil, &RateError{RuleID: ev.r.id, Key: p.key, Err: fmt.Errorf("gives %s, which is negative", formatDecimal(r))}
	}
	return r, nil
}

// charge rounds amount and builds the charge, or returns nil when the
// amount rounds to zero.
func (ev *evaluation) charge(amount *big.Rat, calc string) (*Charge, error) {
	m, err := toMoney(amount, ev.r.currency)
	if err != nil {
		return nil, &RateError{RuleID: ev.r.id, Err: err}
	}
	if m.Minor == 0 {
		return nil, nil
	}
	facts := make(map[string]any, len(ev.use.used)+len(ev.extra))
	for name := range ev.use.used {
		facts[name] = evidence(ev.rec.vals[name])
		for _, src := range factsType.byName[name].from {
			if v, ok := ev.rec.vals[src]; ok {
				facts[src] = evidence(v)
			}
		}
	}
	maps.Copy(facts, ev.extra)
	desc := ev.r.description
	if desc == "" {
		desc = defaultDescriptions[ev.r.chargeType]
	}
	return &Charge{
		RuleID:      ev.r.id,
		Code:        ev.r.code,
		Type:        ev.r.chargeType,
		Description: desc,
		Amount:      m,
		Calculation: calc,
		Facts:       facts,
	}, nil
}

var defaultDescriptions = map[ChargeType]string{
	Linehaul:       "Freight",
	Fuel:           "Fuel surcharge",
	Detention:      "Detention",
	Liftgate:       "Liftgate",
	Residential:    "Residential delivery",
	InsideDelivery: "Inside delivery",
	Redelivery:     "Redelivery",
	Layover:        "Layover",
	Lumper:         "Lumper (unloading labour)",
	Accessorial:    "Accessorial",
	Other:          "Other charge",
}

// money2 writes an exact amount with its currency, with at least the
// currency's number of decimals: "656.00 USD", "0.085 USD".
func money2(r *big.Rat, currency string) string {
	return moneyDecimal(r, currency) + " " + currency
}

func moneyDecimal(r *big.Rat, currency string) string {
	s := formatDecimal(r)
	exp, err := money.Exponent(currency)
	if err != nil || exp == 0 {
		return s
	}
	_, frac, _ := strings.Cut(s, ".")
	if len(frac) >= exp {
		return s
	}
	if frac == "" {
		s += "."
	}
	return s + strings.Repeat("0", exp-len(frac))
}

func (st *rater) freight(ev *evaluation) (*Charge, error) {
	r := ev.r
	var (
		amount, qty *big.Rat
		unit, calc  string
		reratedBy   string
	)
	if r.amount != nil {
		a, err := ev.number(r.amount)
		if err != nil {
			return nil, err
		}
		amount, calc = a, "amount "+money2(a, r.currency)
	} else {
		rate, err := ev.number(r.rate)
		if err != nil {
			return nil, err
		}
		switch r.per {
		case perShipment:
			amount, calc = rate, "flat "+money2(rate, r.currency)
		case perKG:
			v, err := ev.requireFact("weight_kg", "per")
			if err != nil {
				return nil, err
			}
			qty, unit = v.(decimalVal).r, "KGM"
			if rw := st.reweigh; rw != nil {
				ev.fact("measured_weight_kg")
				if rw.reweighed {
					qty, reratedBy = rw.measured, rw.ruleID
				}
			}
			calc = fmt.Sprintf("%s kg × %s/kg", formatDecimal(qty), money2(rate, r.currency))
			if reratedBy != "" {
				calc = fmt.Sprintf("%s kg measured (declared %s kg, re-rated by %s) × %s/kg",
					formatDecimal(qty), formatDecimal(v.(decimalVal).r), reratedBy, money2(rate, r.currency))
			}
		case perPallet:
			v, err := ev.requireFact("pallets", "per")
			if err != nil {
				return nil, err
			}
			qty, unit = new(big.Rat).SetInt64(int64(v.(types.Int))), "XPX"
			calc = fmt.Sprintf("%s pallets × %s/pallet", formatDecimal(qty), money2(rate, r.currency))
		case perKM:
			v, err := ev.requireFact("distance_km", "per")
			if err != nil {
				return nil, err
			}
			qty, unit = v.(decimalVal).r, "KMT"
			calc = fmt.Sprintf("%s km × %s/km", formatDecimal(qty), money2(rate, r.currency))
		}
		if qty != nil {
			amount = new(big.Rat).Mul(qty, rate)
			calc += " = " + money2(amount, r.currency)
		}
	}
	if r.minimum != nil {
		m, err := ev.number(r.minimum)
		if err != nil {
			return nil, err
		}
		if amount.Cmp(m) < 0 {
			amount = m
			calc += "; minimum " + money2(m, r.currency) + " applies"
		}
	}
	c, err := ev.charge(amount, calc)
	if c != nil {
		c.ReratedBy = reratedBy
		if qty != nil {
			c.Quantity = &Quantity{Value: formatDecimal(qty), Unit: unit}
		}
	}
	return c, err
}

func (st *rater) fuel(ev *evaluation) (*Charge, error) {
	r := ev.r
	base := new(big.Rat)
	n := 0
	for _, c := range st.out {
		if c == nil || c.Type != Linehaul {
			continue
		}
		if c.Amount.Currency != r.currency {
			return nil, &RateError{RuleID: r.id, Err: fmt.Errorf("linehaul of rule %s is in %s, this rule is in %s", c.RuleID, c.Amount.Currency, r.currency)}
		}
		a, err := moneyRat(c.Amount)
		if err != nil {
			return nil, &RateError{RuleID: r.id, Err: err}
		}
		base.Add(base, a)
		n++
	}
	if n == 0 {
		return nil, nil
	}
	pct, err := ev.number(r.percent)
	if err != nil {
		return nil, err
	}
	ev.extra["linehaul_amount"] = moneyDecimal(base, r.currency)
	amount := new(big.Rat).Mul(base, pct)
	amount.Quo(amount, big.NewRat(100, 1))
	return ev.charge(amount, fmt.Sprintf("%s%% of linehaul %s = %s", formatDecimal(pct), money2(base, r.currency), money2(amount, r.currency)))
}

func (st *rater) detention(ev *evaluation) (*Charge, error) {
	r := ev.r
	var minutes int64
	if r.minutes != nil {
		v, err := ev.eval(r.minutes)
		if err != nil {
			return nil, err
		}
		i, ok := v.(types.Int)
		if !ok {
			return nil, &RateError{RuleID: r.id, Key: "minutes", Err: fmt.Errorf("gives %s, want int", v.Type().TypeName())}
		}
		minutes = int64(i)
	} else {
		v, err := ev.requireFact("dwell_minutes", "")
		if err != nil {
			return nil, err
		}
		minutes = int64(v.(types.Int))
	}
	if minutes < 0 || minutes > maxDetentionMinutes {
		key := "minutes"
		if r.minutes == nil {
			key = ""
		}
		return nil, &RateError{RuleID: r.id, Key: key, Err: fmt.Errorf("%d minutes is out of range (0 to %d)", minutes, int64(maxDetentionMinutes))}
	}
	free := int64(r.freeTime.Minutes())
	inc := int64(r.increment.Minutes())
	billable := minutes - free
	if billable <= 0 {
		return nil, nil
	}
	rounded := (billable + inc - 1) / inc * inc
	rate, err := ev.number(r.hourlyRate)
	if err != nil {
		return nil, err
	}
	amount := new(big.Rat).Mul(big.NewRat(rounded, 60), rate)
	calc := fmt.Sprintf("%d min − %d min free = %d min", minutes, free, billable)
	if rounded != billable {
		calc += fmt.Sprintf(", rounded up to %d min (%d-min increments)", rounded, inc)
	}
	calc += fmt.Sprintf(" × %s/h = %s", money2(rate, r.currency), money2(amount, r.currency))
	if r.maximum != nil {
		m, err := ev.number(r.maximum)
		if err != nil {
			return nil, err
		}
		if amount.Cmp(m) > 0 {
			amount = m
			calc += "; capped at " + money2(m, r.currency)
		}
	}
	c, err := ev.charge(amount, calc)
	if c != nil {
		c.Quantity = &Quantity{Value: fmt.Sprint(rounded), Unit: "MIN"}
	}
	return c, err
}

func (st *rater) accessorial(ev *evaluation) (*Charge, error) {
	a, err := ev.number(ev.r.amount)
	if err != nil {
		return nil, err
	}
	return ev.charge(a, "amount "+money2(a, ev.r.currency))
}

// reconcile compares the measured weight with the declared one. Beyond the
// tolerance, freight per kg is re-rated on the measured weight, and the
// rule's fee, if any, is charged.
func (st *rater) reconcile(ev *evaluation) (*Charge, error) {
	r := ev.r
	declaredVal, ok1 := ev.rec.vals["weight_kg"]
	measuredVal, ok2 := ev.rec.vals["measured_weight_kg"]
	if !ok1 || !ok2 {
		return nil, nil // nothing to reconcile
	}
	if st.reweigh != nil {
		return nil, &RateError{RuleID: r.id, Err: fmt.Errorf("rule %s already reconciled the weight; make their when conditions exclusive", st.reweigh.ruleID)}
	}
	ev.fact("weight_kg")
	ev.fact("measured_weight_kg")
	declared, measured := declaredVal.(decimalVal).r, measuredVal.(decimalVal).r
	variance := new(big.Rat).Sub(measured, declared)
	beyond := variance.Sign() > 0
	var why []string
	if r.tolPercent != nil {
		limit := new(big.Rat).Mul(declared, r.tolPercent)
		limit.Quo(limit, big.NewRat(100, 1))
		beyond = beyond && variance.Cmp(limit) > 0
		why = append(why, formatDecimal(r.tolPercent)+"%")
	}
	if r.tolKG != nil {
		beyond = beyond && variance.Cmp(r.tolKG) > 0
		why = append(why, formatDecimal(r.tolKG)+" kg")
	}
	st.reweigh = &reweighOutcome{ruleID: r.id, measured: measured, reweighed: beyond}
	if !beyond || r.fee == nil {
		return nil, nil
	}
	fee, err := ev.number(r.fee)
	if err != nil {
		return nil, err
	}
	c, err := ev.charge(fee, fmt.Sprintf("measured %s kg exceeds declared %s kg by %s kg, beyond the tolerance of %s; fee %s",
		formatDecimal(measured), formatDecimal(declared), formatDecimal(variance), joinAnd(why), money2(fee, r.currency)))
	if c != nil {
		c.Quantity = &Quantity{Value: formatDecimal(variance), Unit: "KGM"}
		if r.description == "" {
			c.Description = "Reweigh fee"
		}
	}
	return c, err
}

func joinAnd(s []string) string {
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return s[0]
}
