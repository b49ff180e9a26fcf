package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A check is an event type's schema compiled for the common case: it
// reads the raw data once, without decoding it into values, and answers
// only whether the data is valid. It is an accelerator, not an authority:
// Validator.Validate trusts a yes and asks the full JSON Schema validator
// for everything else, which then finds the problems (or finds the data
// valid after all, for the few forms a check leaves to it, such as a
// repeated member name, a number with an exponent where a bound applies,
// or text that is not valid UTF-8). A check
// must therefore never accept data the schema refuses; the tests hold it
// to that against the schemas, on fixtures and by fuzzing.
//
// Checks understand the keywords the published schemas use and nothing
// more: compiling a schema with any other keyword fails, and the
// Validator then validates that type with the full validator alone.
type check struct {
	types typeSet

	// Strings.
	minLen, maxLen int // -1: unbounded
	pattern        *regexp.Regexp
	format         *jsonschema.Schema // the format alone, asserted by the full validator
	enum           []string

	// Numbers.
	minimum, maximum *big.Rat

	// Objects. Unless closed, a member the object does not name is
	// accepted whatever its value.
	props        map[string]*check
	patternProps []patternProp
	closed       bool // additionalProperties: false
	required     []string
	anyOf        [][]string // each alternative names members required together
	minProps     int
	maxProps     int // -1: unbounded

	// Arrays.
	items              *check
	minItems, maxItems int // maxItems -1: unbounded
	unique             bool
}

type patternProp struct {
	re    *regexp.Regexp
	check *check
}

type typeSet uint8

const (
	typeObject typeSet = 1 << iota
	typeArray
	typeString
	typeNumber
	typeInteger
	typeBoolean
	typeNull
	typeAny typeSet = 1<<7 - 1
)

var typeNames = map[string]typeSet{
	"object": typeObject, "array": typeArray, "string": typeString, "number": typeNumber | typeInteger,
	"integer": typeInteger, "boolean": typeBoolean, "null": typeNull,
}

// anything is the check of a value the schema says nothing about.
var anything = &check{types: typeAny, minLen: -1, maxLen: -1, maxProps: -1, maxItems: -1}

// checkCompiler compiles the schema document of one event type.
type checkCompiler struct {
	root    map[string]any
	defs    map[string]*check // by $ref, so shared definitions compile once
	formats map[string]*jsonschema.Schema
}

// compileCheck compiles doc, the schema of one event type, to a check. It
// fails for a schema using a keyword checks do not understand.
func compileCheck(doc any) (*check, error) {
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is not an object")
	}
	cc := &checkCompiler{root: root, defs: map[string]*check{}, formats: map[string]*jsonschema.Schema{}}
	return cc.compile(root, "#")
}

func (cc *checkCompiler) compile(s map[string]any, at string) (*check, error) {
	if ref, ok := s["$ref"].(string); ok {
		for k := range s {
			if k != "$ref" && !annotation(k) {
				return nil, fmt.Errorf("%s: $ref beside %s", at, k)
			}
		}
		return cc.ref(ref)
	}
	c := &check{types: typeAny, minLen: -1, maxLen: -1, maxProps: -1, maxItems: -1}
	for k, v := range s {
		var err error
		switch k {
		case "type":
			c.types, err = compileTypes(v)
		case "minLength":
			c.minLen, err = count(v)
		case "maxLength":
			c.maxLen, err = count(v)
		case "pattern":
			c.pattern, err = compilePattern(v)
		case "format":
			c.format, err = cc.compileFormat(v)
		case "enum":
			c.enum, err = strs(v)
		case "minimum":
			c.minimum, err = rat(v)
		case "maximum":
			c.maximum, err = rat(v)
		case "properties":
			c.props = map[string]*check{}
			err = cc.each(v, at+"/properties", func(name string, sub *check) { c.props[name] = sub })
		case "patternProperties":
			err = cc.each(v, at+"/patternProperties", func(expr string, sub *check) {
				re, rerr := regexp.Compile(expr)
				if rerr != nil {
					err = rerr
				}
				c.patternProps = append(c.patternProps, patternProp{re: re, check: sub})
			})
		case "additionalProperties":
			if b, ok := v.(bool); !ok || b {
				err = fmt.Errorf("only additionalProperties: false is understood")
			}
			c.closed = true
		case "required":
			c.required, err = strs(v)
		case "anyOf":
			c.anyOf, err = compileAnyOf(v)
		case "minProperties":
			c.minProps, err = count(v)
		case "maxProperties":
			c.maxProps, err = count(v)
		case "items":
			sub, ok := v.(map[string]any)
			if !ok {
				err = fmt.Errorf("items is not a schema")
				break
			}
			c.items, err = cc.compile(sub, at+"/items")
		case "minItems":
			c.minItems, err = count(v)
		case "maxItems":
			c.maxItems, err = count(v)
		case "uniqueItems":
			c.unique, _ = v.(bool)
		default:
			if !annotation(k) {
				err = fmt.Errorf("keyword %s is not understood", k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
	}
	if c.unique && (c.items == nil || c.items.types&^typeString != 0) {
		return nil, fmt.Errorf("%s: uniqueItems is understood for arrays of strings only", at)
	}
	return c, nil
}

func (cc *checkCompiler) ref(ref string) (*check, error) {
	if c, ok := cc.defs[ref]; ok {
		return c, nil
	}
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	defs, _ := cc.root["$defs"].(map[string]any)
	def, found := defs[name].(map[string]any)
	if !ok || !found {
		return nil, fmt.Errorf("$ref %s: only #/$defs/<name> of the same schema is understood", ref)
	}
	// Placeholder first, so a definition that refers to itself compiles.
	c := &check{}
	cc.defs[ref] = c
	sub, err := cc.compile(def, ref)
	if err != nil {
		return nil, err
	}
	*c = *sub
	return c, nil
}

func (cc *checkCompiler) each(v any, at string, f func(string, *check)) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not an object")
	}
	for name, s := range m {
		sm, ok := s.(map[string]any)
		if !ok {
			return fmt.Errorf("%s/%s: not a schema", at, name)
		}
		sub, err := cc.compile(sm, at+"/"+name)
		if err != nil {
			return err
		}
		f(name, sub)
	}
	return nil
}

// compileFormat compiles a schema holding only the format, for the full
// validator to assert on the few strings that have one: the formats are
// then exactly the validator's.
func (cc *checkCompiler) compileFormat(v any) (*jsonschema.Schema, error) {
	name, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("format is not a string")
	}
	if s, ok := cc.formats[name]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	const url = "format.json"
	if err := c.AddResource(url, map[string]any{"format": name}); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	cc.formats[name] = s
	return s, nil
}

func annotation(k string) bool {
	switch k {
	case "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples":
		return true
	}
	return false
}

func compileTypes(v any) (typeSet, error) {
	names := []any{v}
	if l, ok := v.([]any); ok {
		names = l
	}
	var t typeSet
	for _, n := range names {
		s, _ := n.(string)
		bit, ok := typeNames[s]
		if !ok {
			return 0, fmt.Errorf("type %v is not understood", n)
		}
		t |= bit
	}
	return t, nil
}

func compilePattern(v any) (*regexp.Regexp, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("pattern is not a string")
	}
	return regexp.Compile(s)
}

func compileAnyOf(v any) ([][]string, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("anyOf is not a list")
	}
	var out [][]string
	for _, alt := range l {
		m, ok := alt.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("anyOf is understood only as alternatives of required members")
		}
		req, err := strs(m["required"])
		if err != nil {
			return nil, fmt.Errorf("anyOf is understood only as alternatives of required members")
		}
		out = append(out, req)
	}
	return out, nil
}

func count(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a count", v)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%v is not a count", v)
	}
	return i, nil
}

func rat(v any) (*big.Rat, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%v is not a number", v)
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("%v is not a number", v)
	}
	return r, nil
}

func strs(v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("not a list of strings")
	}
	out := make([]string, len(l))
	for i, x := range l {
		if out[i], ok = x.(string); !ok {
			return nil, fmt.Errorf("not a list of strings")
		}
	}
	return out, nil
}

// valid reports whether data is one JSON value the check accepts, with
// nothing but white space around it. False means invalid or not decided
// here.
func (c *check) valid(data []byte) bool {
	r := reader{b: data}
	r.space()
	if !r.value(c) {
		return false
	}
	r.space()
	return r.i == len(r.b)
}

// reader reads JSON text from b, checking it as it goes.
type reader struct {
	b []byte
	i int
}

func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// value reads one value at r.i and reports whether c accepts it.
func (r *reader) value(c *check) bool {
	if r.i >= len(r.b) {
		return false
	}
	switch b := r.b[r.i]; {
	case b == '{':
		return c.types&typeObject != 0 && r.object(c)
	case b == '[':
		return c.types&typeArray != 0 && r.array(c)
	case b == '"':
		if c.types&typeString == 0 {
			return false
		}
		s, ok := r.str()
		return ok && c.string(s)
	case b == '-' || b >= '0' && b <= '9':
		return r.number(c)
	case b == 't':
		return c.types&typeBoolean != 0 && r.literal("true")
	case b == 'f':
		return c.types&typeBoolean != 0 && r.literal("false")
	case b == 'n':
		return c.types&typeNull != 0 && r.literal("null")
	}
	return false
}

func (r *reader) literal(lit string) bool {
	if !strings.HasPrefix(string(r.b[r.i:min(len(r.b), r.i+len(lit))]), lit) {
		return false
	}
	r.i += len(lit)
	return true
}

// maxMembers bounds the members of one object a check reads; larger
// objects are left to the full validator.
const maxMembers = 64

func (r *reader) object(c *check) bool {
	r.i++ // {
	var seen [maxMembers][]byte
	n := 0
	r.space()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
	} else {
		for {
			if r.i >= len(r.b) || r.b[r.i] != '"' || n == maxMembers {
				return false
			}
			name, ok := r.str()
			// A repeated name is left to the full validator, which keeps
			// the last value.
			if !ok || slices.ContainsFunc(seen[:n], func(b []byte) bool { return bytes.Equal(b, name) }) {
				return false
			}
			seen[n] = name
			n++
			r.space()
			if r.i >= len(r.b) || r.b[r.i] != ':' {
				return false
			}
			r.i++
			r.space()
			sub := c.member(name)
			if sub == nil || !r.value(sub) {
				return false
			}
			if end, ok := r.next('}'); !ok {
				return false
			} else if end {
				break
			}
		}
	}
	names := seen[:n]
	if n < c.minProps || c.maxProps >= 0 && n > c.maxProps {
		return false
	}
	for _, req := range c.required {
		if !has(names, req) {
			return false
		}
	}
	if len(c.anyOf) == 0 {
		return true
	}
	for _, alt := range c.anyOf {
		all := true
		for _, req := range alt {
			if !has(names, req) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func has(names [][]byte, name string) bool {
	for _, n := range names {
		if string(n) == name {
			return true
		}
	}
	return false
}

// member is the check of the object member called name, nil when the
// object may not have it.
func (c *check) member(name []byte) *check {
	// A name that both properties and patternProperties speak of, or
	// several patterns, must satisfy each of them: that is left to the
	// full validator.
	sub := c.props[string(name)]
	for _, p := range c.patternProps {
		if p.re.Match(name) {
			if sub != nil {
				return nil
			}
			sub = p.check
		}
	}
	switch {
	case sub != nil:
		return sub
	case c.closed:
		return nil
	}
	return anything
}

func (r *reader) array(c *check) bool {
	r.i++ // [
	items := c.items
	if items == nil {
		items = anything
	}
	n := 0
	var seen [][]byte
	r.space()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
	} else {
		for {
			if c.unique {
				// Items are strings (compileCheck makes sure).
				if r.i >= len(r.b) || r.b[r.i] != '"' {
					return false
				}
				s, ok := r.str()
				if !ok || !items.string(s) || slices.ContainsFunc(seen, func(b []byte) bool { return bytes.Equal(b, s) }) {
					return false
				}
				seen = append(seen, s)
			} else if !r.value(items) {
				return false
			}
			n++
			if end, ok := r.next(']'); !ok {
				return false
			} else if end {
				break
			}
		}
	}
	return n >= c.minItems && (c.maxItems < 0 || n <= c.maxItems)
}

// next reads what follows a member or an item: close, which ends the
// object or array (end is true), or a comma and the space after it. ok is
// false for anything else.
func (r *reader) next(close byte) (end, ok bool) {
	r.space()
	switch {
	case r.i >= len(r.b):
		return false, false
	case r.b[r.i] == close:
		r.i++
		return true, true
	case r.b[r.i] == ',':
		r.i++
		r.space()
		return false, true
	}
	return false, false
}

// str reads a string and returns its contents: the text between the
// quotes as written when it has no escape (a part of r.b), or decoded when
// it has.
func (r *reader) str() ([]byte, bool) {
	r.i++ // "
	start := r.i
	escaped := false
	for r.i < len(r.b) {
		switch b := r.b[r.i]; {
		case b == '"':
			raw := r.b[start:r.i]
			r.i++
			if !utf8.Valid(raw) {
				return nil, false
			}
			if !escaped {
				return raw, true
			}
			var s string
			if json.Unmarshal(r.b[start-1:r.i], &s) != nil {
				return nil, false
			}
			return []byte(s), true
		case b == '\\':
			escaped = true
			r.i += 2
		case b < 0x20:
			return nil, false
		default:
			r.i++
		}
	}
	return nil, false
}

func (c *check) string(s []byte) bool {
	if c.minLen > 0 || c.maxLen >= 0 {
		n := utf8.RuneCount(s)
		if n < c.minLen || c.maxLen >= 0 && n > c.maxLen {
			return false
		}
	}
	if c.pattern != nil && !c.pattern.Match(s) {
		return false
	}
	if c.enum != nil && !slices.Contains(c.enum, string(s)) {
		return false
	}
	return c.format == nil || c.format.Validate(string(s)) == nil
}

// number reads a number as JSON writes it and reports whether c accepts
// it. An integer is one written without an exponent and with no fraction
// or a fraction of zeros; others (1e2) are left to the full validator.
func (r *reader) number(c *check) bool {
	start := r.i
	if r.b[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		n := 0
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	intStart := r.i
	n := digits()
	if n == 0 || n > 1 && r.b[intStart] == '0' {
		return false
	}
	integral := true
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		frac := r.i
		if digits() == 0 {
			return false
		}
		integral = strings.Trim(string(r.b[frac:r.i]), "0") == ""
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			return false
		}
		integral = false
	}
	switch {
	case c.types&typeNumber != 0:
	case c.types&typeInteger != 0 && integral:
	default:
		return false
	}
	if c.minimum == nil && c.maximum == nil {
		return true
	}
	if bytes.ContainsAny(r.b[start:r.i], "eE") {
		return false // an exponent could be costly to expand: the full validator decides
	}
	v, ok := new(big.Rat).SetString(string(r.b[start:r.i]))
	if !ok {
		return false
	}
	return (c.minimum == nil || v.Cmp(c.minimum) >= 0) && (c.maximum == nil || v.Cmp(c.maximum) <= 0)
}
