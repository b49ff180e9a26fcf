package rating

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/money"
)

// maxDecimalDigits bounds the length of decimal text, so that a hostile
// rules file cannot make big.Rat arithmetic expensive.
const maxDecimalDigits = 40

// roundDigits is the number of fractional digits formatDecimal rounds to
// when a value has no finite decimal expansion.
const roundDigits = 9

// errNotDecimal is wrapped by parseDecimal.
var errNotDecimal = errors.New("not a plain decimal number")

// parseDecimal parses plain decimal text such as "0.085" or "-12" exactly.
// It is the only decimal text accepted anywhere in a rules file or by
// decimal() in CEL: an optional sign, digits, and an optional point followed
// by digits, at most maxDecimalDigits of them. No exponent, no group
// separators.
func parseDecimal(s string) (*big.Rat, error) {
	if len(s) <= maxDecimalDigits+2 {
		if r, err := decimal.Parse(s, maxDecimalDigits); err == nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%q: %w (want digits with an optional sign and decimal point, such as 12.50)", s, errNotDecimal)
}

// formatDecimal writes r in plain decimal notation without trailing
// fractional zeros: exactly when r has a finite decimal expansion (every
// value built from decimal text with +, - and * has), otherwise rounded half
// to even to 9 fractional digits.
func formatDecimal(r *big.Rat) string { return decimal.Format(r, roundDigits) }

// toMoney rounds the exact amount r half to even to the minor unit of
// currency, once. currency must be a known ISO 4217 code.
func toMoney(r *big.Rat, currency string) (money.Money, error) {
	exp, err := money.Exponent(currency)
	if err != nil {
		return money.Money{}, err
	}
	// One minor unit times the scaled amount: money's own half-even rounding.
	return money.Money{Minor: 1, Currency: strings.ToUpper(currency)}.MulRatRoundHalfEven(decimal.Shift(r, exp))
}

// moneyRat returns m as an exact number of major units.
func moneyRat(m money.Money) (*big.Rat, error) {
	exp, err := money.Exponent(m.Currency)
	if err != nil {
		return nil, err
	}
	return decimal.Shift(new(big.Rat).SetInt64(m.Minor), -exp), nil
}

// decimalType is the CEL type of exact decimal numbers, as the type checker
// sees it.
var decimalType = cel.OpaqueType("decimal")

// decimalRuntimeType is the runtime type of decimal values. It has the same
// name as decimalType and carries the traits the standard arithmetic and
// comparison operators dispatch on.
var decimalRuntimeType = types.NewObjectType("decimal",
	traits.AdderType, traits.SubtractorType, traits.MultiplierType,
	traits.DividerType, traits.NegatorType, traits.ComparerType)

// decimalVal is an exact decimal in CEL. Its *big.Rat is never mutated.
type decimalVal struct{ r *big.Rat }

var (
	_ traits.Adder      = decimalVal{}
	_ traits.Comparer   = decimalVal{}
	_ traits.Divider    = decimalVal{}
	_ traits.Multiplier = decimalVal{}
	_ traits.Negater    = decimalVal{}
	_ traits.Subtractor = decimalVal{}
)

func newDecimal(r *big.Rat) decimalVal { return decimalVal{r: r} }

// operand returns o as an exact number when it is a decimal or an int.
func operand(o ref.Val) (*big.Rat, bool) {
	switch v := o.(type) {
	case decimalVal:
		return v.r, true
	case types.Int:
		return new(big.Rat).SetInt64(int64(v)), true
	}
	return nil, false
}

func (d decimalVal) ConvertToNative(t reflect.Type) (any, error) {
	switch t {
	case reflect.TypeFor[*big.Rat]():
		return new(big.Rat).Set(d.r), nil
	case reflect.TypeFor[string]():
		return formatDecimal(d.r), nil
	}
	return nil, fmt.Errorf("decimal cannot be converted to %v", t)
}

func (d decimalVal) ConvertToType(t ref.Type) ref.Val {
	switch t.TypeName() {
	case "decimal":
		return d
	case types.StringType.TypeName():
		return types.String(formatDecimal(d.r))
	case types.TypeType.TypeName():
		return decimalRuntimeType
	}
	return types.NewErr("type conversion error from decimal to %s", t.TypeName())
}

func (d decimalVal) Equal(o ref.Val) ref.Val {
	r, ok := operand(o)
	return types.Bool(ok && d.r.Cmp(r) == 0)
}

func (d decimalVal) Type() ref.Type { return decimalRuntimeType }

func (d decimalVal) Value() any { return d.r }

func (d decimalVal) Add(o ref.Val) ref.Val {
	r, ok := operand(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newDecimal(new(big.Rat).Add(d.r, r))
}

func (d decimalVal) Subtract(o ref.Val) ref.Val {
	r, ok := operand(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newDecimal(new(big.Rat).Sub(d.r, r))
}

func (d decimalVal) Multiply(o ref.Val) ref.Val {
	r, ok := operand(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return newDecimal(new(big.Rat).Mul(d.r, r))
}

func (d decimalVal) Divide(o ref.Val) ref.Val {
	r, ok := operand(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	if r.Sign() == 0 {
		return types.NewErr("division by zero")
	}
	return newDecimal(new(big.Rat).Quo(d.r, r))
}

func (d decimalVal) Negate() ref.Val { return newDecimal(new(big.Rat).Neg(d.r)) }

func (d decimalVal) Compare(o ref.Val) ref.Val {
	r, ok := operand(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return types.Int(d.r.Cmp(r))
}

// decimalLib declares the decimal type's constructor, operators and helper
// functions. Operators are declared for decimal on the left and a decimal or
// an int on the right; the standard library's trait dispatch runs them.
func decimalLib() []cel.EnvOption {
	dd := []*cel.Type{decimalType, decimalType}
	di := []*cel.Type{decimalType, cel.IntType}
	arith := func(op, name string) cel.EnvOption {
		return cel.Function(op,
			cel.Overload(name+"_decimal_decimal", dd, decimalType),
			cel.Overload(name+"_decimal_int", di, decimalType))
	}
	compare := func(op, name string) cel.EnvOption {
		return cel.Function(op,
			cel.Overload(name+"_decimal_decimal", dd, cel.BoolType),
			cel.Overload(name+"_decimal_int", di, cel.BoolType))
	}
	unaryDec := func(f func(*big.Rat) *big.Rat) cel.OverloadOpt {
		return cel.UnaryBinding(func(v ref.Val) ref.Val {
			d, ok := v.(decimalVal)
			if !ok {
				return types.MaybeNoSuchOverloadErr(v)
			}
			return newDecimal(f(d.r))
		})
	}
	pick := func(less bool) cel.OverloadOpt {
		return cel.BinaryBinding(func(a, b ref.Val) ref.Val {
			x, ok1 := a.(decimalVal)
			y, ok2 := b.(decimalVal)
			if !ok1 || !ok2 {
				return types.MaybeNoSuchOverloadErr(b)
			}
			if (x.r.Cmp(y.r) <= 0) == less {
				return x
			}
			return y
		})
	}
	return []cel.EnvOption{
		arith(operators.Add, "add"),
		arith(operators.Subtract, "subtract"),
		arith(operators.Multiply, "multiply"),
		arith(operators.Divide, "divide"),
		cel.Function(operators.Negate, cel.Overload("negate_decimal", []*cel.Type{decimalType}, decimalType)),
		compare(operators.Less, "less"),
		compare(operators.LessEquals, "less_equals"),
		compare(operators.Greater, "greater"),
		compare(operators.GreaterEquals, "greater_equals"),
		cel.Function("decimal",
			cel.Overload("decimal_string", []*cel.Type{cel.StringType}, decimalType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(v)
					}
					r, err := parseDecimal(string(s))
					if err != nil {
						return types.NewErr("decimal(%s)", err)
					}
					return newDecimal(r)
				})),
			cel.Overload("decimal_int", []*cel.Type{cel.IntType}, decimalType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					i, ok := v.(types.Int)
					if !ok {
						return types.MaybeNoSuchOverloadErr(v)
					}
					return newDecimal(new(big.Rat).SetInt64(int64(i)))
				})),
			cel.Overload("decimal_decimal", []*cel.Type{decimalType}, decimalType,
				unaryDec(func(r *big.Rat) *big.Rat { return r }))),
		cel.Function("ceil", cel.Overload("ceil_decimal", []*cel.Type{decimalType}, decimalType,
			unaryDec(func(r *big.Rat) *big.Rat { return new(big.Rat).SetInt(decimal.Ceil(r)) }))),
		cel.Function("floor", cel.Overload("floor_decimal", []*cel.Type{decimalType}, decimalType,
			unaryDec(func(r *big.Rat) *big.Rat { return new(big.Rat).SetInt(decimal.Floor(r)) }))),
		cel.Function("min", cel.Overload("min_decimal_decimal", dd, decimalType, pick(true))),
		cel.Function("max", cel.Overload("max_decimal_decimal", dd, decimalType, pick(false))),
		cel.Function("sum", cel.Overload("sum_list_decimal", []*cel.Type{cel.ListType(decimalType)}, decimalType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				l, ok := v.(traits.Lister)
				if !ok {
					return types.MaybeNoSuchOverloadErr(v)
				}
				total := new(big.Rat)
				for it := l.Iterator(); it.HasNext() == types.True; {
					d, ok := it.Next().(decimalVal)
					if !ok {
						return types.NewErr("sum: list element is not a decimal")
					}
					total.Add(total, d.r)
				}
				return newDecimal(total)
			}))),
	}
}
