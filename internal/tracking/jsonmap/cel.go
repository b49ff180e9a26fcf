package jsonmap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

const (
	// costLimit bounds the CEL cost of one evaluation of one expression.
	costLimit = 100_000
	// payloadBudget bounds the CEL cost of all evaluations for one payload.
	payloadBudget = 10_000_000
	// maxExprSize bounds the length of one expression, in code points.
	maxExprSize = 4096
)

// errBudget is the problem reported when a payload exhausts payloadBudget.
var errBudget = errors.New("expressions exceed the evaluation budget for one payload")

// newEnv returns the base CEL environment: the payload variable, optional
// types, the strings extension and the hash and first functions. Scopes
// extend it with event, index and vars.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("payload", cel.DynType),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(ext.StringsMaxPrecision(20)),
		cel.ParserExpressionSizeLimit(maxExprSize),
		cel.Function("hash",
			cel.Overload("hash_list", []*cel.Type{cel.ListType(cel.DynType)}, cel.StringType,
				cel.UnaryBinding(celHash))),
		cel.Function("first",
			cel.Overload("first_list", []*cel.Type{cel.ListType(cel.DynType)}, cel.DynType,
				cel.UnaryBinding(celFirst))),
	)
}

// celHash implements hash(list): the hex digest of the list's elements.
func celHash(v ref.Val) ref.Val {
	l, ok := v.(traits.Lister)
	if !ok {
		return types.NewErr("hash: argument is not a list")
	}
	var parts []string
	for it := l.Iterator(); it.HasNext() == types.True; {
		s, err := hashPart(it.Next())
		if err != nil {
			return types.NewErr("hash: %v", err)
		}
		parts = append(parts, s)
	}
	return types.String(digest(parts...))
}

func hashPart(v ref.Val) (string, error) {
	switch x := v.(type) {
	case types.String:
		return string(x), nil
	case types.Int:
		return strconv.FormatInt(int64(x), 10), nil
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case types.Double:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case types.Bool:
		return strconv.FormatBool(bool(x)), nil
	case types.Null:
		return "", nil
	case types.Timestamp:
		return x.UTC().Format(time.RFC3339Nano), nil
	case *types.Optional:
		if !x.HasValue() {
			return "", nil
		}
		return hashPart(x.GetValue())
	}
	return "", fmt.Errorf("cannot hash a value of type %s", v.Type().TypeName())
}

// digest returns the first 32 hex digits of the SHA-256 of the parts,
// each length-prefixed so that no two lists of parts collide by
// concatenation.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// celFirst implements first(list): the first element, or null.
func celFirst(v ref.Val) ref.Val {
	l, ok := v.(traits.Lister)
	if !ok {
		return types.NewErr("first: argument is not a list")
	}
	if l.Size() == types.IntZero {
		return types.NullValue
	}
	return l.Get(types.IntZero)
}

// activation resolves the variables of one evaluation.
type activation struct {
	payload any
	event   any
	index   int64
	names   []string // vars in scope, in declaration order
	vals    []ref.Val
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "payload":
		return a.payload, true
	case "event":
		return a.event, true
	case "index":
		return a.index, true
	}
	for i := len(a.names) - 1; i >= 0; i-- {
		if a.names[i] == name {
			return a.vals[i], true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// native turns a CEL result into the plain Go values a decoded payload
// holds: nil (null, or an empty optional), string, int64, uint64, float64,
// bool, time.Time, []any and map[string]any.
func native(v ref.Val, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.String:
		return string(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Timestamp:
		return x.Time, nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return native(x.GetValue(), depth+1)
	}
	switch raw := v.Value().(type) {
	case map[string]any, []any, json.Number:
		return raw, nil
	}
	if l, ok := v.(traits.Lister); ok {
		var out []any
		for it := l.Iterator(); it.HasNext() == types.True; {
			e, err := native(it.Next(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	if m, ok := v.(traits.Mapper); ok {
		out := map[string]any{}
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key of type %s, want string", k.Type().TypeName())
			}
			e, err := native(m.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %s", v.Type().TypeName())
}

// kindName names the JSON kind of a native value for messages.
func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, int64, uint64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case time.Time:
		return "a timestamp"
	}
	return fmt.Sprintf("a %T", v)
}

// celTypeOK reports whether an expression's static type suits w.
func celTypeOK(t *cel.Type, w want) bool {
	k := t.Kind()
	if k == types.OpaqueKind && t.TypeName() == "optional_type" && len(t.Parameters()) == 1 {
		k = t.Parameters()[0].Kind()
	}
	switch k {
	case types.DynKind, types.AnyKind, types.NullTypeKind, types.TypeParamKind:
		return true
	}
	switch w {
	case wantString, wantNumber:
		return k == types.StringKind || k == types.IntKind || k == types.UintKind || k == types.DoubleKind
	case wantBool:
		return k == types.BoolKind
	case wantStrings:
		return k == types.StringKind || k == types.IntKind || k == types.UintKind || k == types.DoubleKind || k == types.ListKind
	case wantTime:
		return k == types.StringKind || k == types.IntKind || k == types.UintKind || k == types.DoubleKind || k == types.TimestampKind
	case wantContainer:
		return k == types.ListKind || k == types.MapKind
	}
	return true
}

// want is what a mapping field expects of its value.
type want int

const (
	wantAny       want = iota
	wantString         // a string; numbers are taken as their text
	wantNumber         // a number, or a string holding one
	wantBool           // a boolean
	wantStrings        // a string or a list of strings
	wantTime           // a time string, epoch seconds or a timestamp
	wantContainer      // an array or an object
)

func (w want) String() string {
	switch w {
	case wantString:
		return "string"
	case wantNumber:
		return "number"
	case wantBool:
		return "bool"
	case wantStrings:
		return "string or list of strings"
	case wantTime:
		return "time (string, number or timestamp)"
	case wantContainer:
		return "list or map"
	}
	return "any value"
}

// text returns the text of a scalar value: a string as is, a number in its
// shortest form.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// trimmed returns the text of v with surrounding spaces removed.
func trimmed(v any) (string, bool) {
	s, ok := text(v)
	return strings.TrimSpace(s), ok
}
