package rating

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"go.yaml.in/yaml/v3"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/money"
)

// Rule kinds.
const (
	kindFreight     = "freight"
	kindFuel        = "fuel"
	kindDetention   = "detention"
	kindAccessorial = "accessorial"
	kindReweigh     = "reweigh"
)

// Freight bases.
const (
	perShipment = "shipment"
	perKG       = "kg"
	perPallet   = "pallet"
	perKM       = "km"
)

// Limits that keep a hostile or broken rules file cheap to load and rate.
const (
	maxFileBytes     = 1 << 20
	maxRules         = 1000
	maxExprBytes     = 4096
	maxCodeLen       = 32
	maxDescLen       = 500
	evalCostLimit    = 1_000_000
	maxDurationValue = 7 * 24 * time.Hour
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// ParseError is one problem in a rules file. Load and Parse report every
// problem at once: their error is an errors.Join of *ParseError values in
// file order; get them back with errors.As or the joined error's
// Unwrap() []error.
//
// Error formats it like a compiler: "rates.yaml:14:23: rule acme-ltl: when:
// undefined field 'wieght_kg'".
type ParseError struct {
	// File is the name given to Parse, or the path given to Load.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// RuleID is the id of the rule the problem is in; empty for a problem
	// outside any rule or in a rule without an id.
	RuleID string
	// Key is the key the problem is in, such as "when" or "version".
	Key string
	// Msg says what is wrong.
	Msg string
}

// Error returns the problem prefixed by where it is.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.RuleID != "" {
		fmt.Fprintf(&b, "rule %s: ", e.RuleID)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Rules is a compiled rules file. It is immutable and safe for concurrent
// use by any number of goroutines.
type Rules struct {
	name     string
	version  string
	currency string
	rules    []*rule
	// named holds, for each rule group, the customers its rules name; a
	// default rule of the group does not apply to them.
	named map[string]map[string]bool
}

// Version returns the rules file's version, which every charge records.
func (rs *Rules) Version() string { return rs.version }

// Currency returns the default currency of the rules file.
func (rs *Rules) Currency() string { return rs.currency }

// Len returns the number of rules.
func (rs *Rules) Len() int { return len(rs.rules) }

// rule is one compiled rule.
type rule struct {
	id          string
	line        int
	kind        string
	chargeType  ChargeType
	code        string
	description string
	currency    string
	customers   []string
	isDefault   bool
	when        *expr

	per                   string
	rate, amount, minimum *param
	maximum               *param
	percent               *param
	freeTime, increment   time.Duration
	hourlyRate            *param
	minutes               *expr
	tolPercent, tolKG     *big.Rat
	fee                   *param
}

// group is the set of rules a default rule stands in for: same kind and
// charge type.
func (r *rule) group() string { return r.kind + "/" + string(r.chargeType) }

// expr is a compiled CEL expression.
type expr struct {
	key string
	src string
	prg cel.Program
}

// param is a number: a literal decimal or a CEL expression giving a
// decimal or decimal text.
type param struct {
	key string
	lit *big.Rat
	ex  *expr
}

// Load reads and compiles the rules file at path; see Parse.
func Load(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	return Parse(data, path)
}

// Parse compiles a rules file; name says where it came from in errors. It
// checks the whole file and compiles every CEL expression, and reports
// every problem at once as an errors.Join of *ParseError values. It never
// panics, whatever data holds.
func Parse(data []byte, name string) (*Rules, error) {
	env, err := newCELEnv()
	if err != nil {
		return nil, fmt.Errorf("building CEL environment: %w", err)
	}
	p := &parser{file: name, env: env, lines: strings.Split(string(data), "\n")}
	rs := p.parse(data)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *ParseError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// newCELEnv returns the CEL environment a rules file is compiled in: the
// variable facts and the decimal library. Each Parse builds its own: cel-go
// (through v0.33.3) fills a shared environment's symbol catalog lazily, the
// first time an expression names something undeclared, while compiles on
// other goroutines copy it unguarded (checker.Env.Catalog against
// cloneWithDecls in cel.dev/cel-go/checker/env.go), a data race the race
// detector reports. Building one costs about 0.4 ms, a third of parsing
// the example rules file.
func newCELEnv() (*cel.Env, error) {
	base, err := cel.NewEnv()
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(provider{base.CELTypeProvider()}),
		cel.Variable("facts", factsType.typ),
		cel.ParserExpressionSizeLimit(maxExprBytes),
	}
	opts = append(opts, decimalLib()...)
	return base.Extend(opts...)
}

type parser struct {
	file  string
	env   *cel.Env
	lines []string
	errs  []*ParseError
}

func (p *parser) fail(n *yaml.Node, ruleID, key, format string, args ...any) {
	e := &ParseError{File: p.file, RuleID: ruleID, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(data []byte) *Rules {
	if len(data) > maxFileBytes {
		p.fail(nil, "", "", "file is larger than %d bytes", maxFileBytes)
		return nil
	}
	if !utf8.Valid(data) {
		p.fail(nil, "", "", "file is not UTF-8 text")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.fail(nil, "", "", "file is empty")
			return nil
		}
		p.yamlError(err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.yamlError(err)
		return nil
	default:
		p.fail(&extra, "", "", "a rules file holds a single YAML document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if root.Kind != yaml.MappingNode {
		p.fail(root, "", "", "must be a mapping with version, currency and rules")
		return nil
	}

	rs := &Rules{name: p.file}
	var versionNode, currencyNode, rulesNode *yaml.Node
	p.mapping(root, "", "", func(key string, k, v *yaml.Node) bool {
		switch key {
		case "version":
			versionNode = v
		case "currency":
			currencyNode = v
		case "rules":
			rulesNode = v
		case "description":
			p.text(v, "", key, maxDescLen)
		default:
			return false
		}
		return true
	})
	switch {
	case versionNode == nil:
		p.fail(root, "", "version", "missing: every rules file has a version, recorded on every charge")
	default:
		rs.version = p.text(versionNode, "", "version", 100)
		if rs.version == "" && versionNode.Kind == yaml.ScalarNode {
			p.fail(versionNode, "", "version", "must not be empty")
		}
	}
	if currencyNode == nil {
		p.fail(root, "", "currency", "missing: the default currency, such as USD or EUR")
	} else {
		rs.currency = p.currency(currencyNode, "")
	}
	if rulesNode == nil {
		p.fail(root, "", "rules", "missing: a list of rules")
		return rs
	}
	if rulesNode.Kind != yaml.SequenceNode {
		p.fail(rulesNode, "", "rules", "must be a list of rules")
		return rs
	}
	if len(rulesNode.Content) == 0 {
		p.fail(rulesNode, "", "rules", "is empty")
	}
	if len(rulesNode.Content) > maxRules {
		p.fail(rulesNode, "", "rules", "has more than %d rules", maxRules)
		return rs
	}
	ids := make(map[string]int)
	for _, n := range rulesNode.Content {
		r := p.rule(resolveAlias(n))
		if r == nil {
			continue
		}
		if r.id != "" {
			if first, dup := ids[r.id]; dup {
				p.fail(n, r.id, "id", "used twice; first used on line %d", first)
			}
			ids[r.id] = n.Line
		}
		if r.currency == "" {
			r.currency = rs.currency
		}
		rs.rules = append(rs.rules, r)
	}
	rs.named = make(map[string]map[string]bool)
	for _, r := range rs.rules {
		for _, c := range r.customers {
			if rs.named[r.group()] == nil {
				rs.named[r.group()] = make(map[string]bool)
			}
			rs.named[r.group()][c] = true
		}
	}
	return rs
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	e := &ParseError{File: p.file, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &e.Line)
		e.Msg = m[2]
	}
	e.Msg = strings.TrimPrefix(e.Msg, "yaml: ")
	p.errs = append(p.errs, e)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// mapping calls set for each key of m, and reports duplicate, non-scalar
// and unknown keys (those set does not take).
func (p *parser) mapping(m *yaml.Node, ruleID, where string, set func(key string, k, v *yaml.Node) bool) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolveAlias(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			p.fail(k, ruleID, "", "keys must be plain names")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.fail(k, ruleID, k.Value, "set twice; first set on line %d", first)
			continue
		}
		seen[k.Value] = k.Line
		if !set(k.Value, k, v) {
			p.fail(k, ruleID, k.Value, "unknown key%s", where)
		}
	}
}

// text reads a scalar as text, up to limit characters.
func (p *parser) text(n *yaml.Node, ruleID, key string, limit int) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, ruleID, key, "must be text")
		return ""
	}
	if utf8.RuneCountInString(n.Value) > limit {
		p.fail(n, ruleID, key, "is longer than %d characters", limit)
		return ""
	}
	return n.Value
}

func (p *parser) currency(n *yaml.Node, ruleID string) string {
	c := p.text(n, ruleID, "currency", 3)
	if c == "" {
		if n.Kind == yaml.ScalarNode {
			p.fail(n, ruleID, "currency", "must be an ISO 4217 code such as USD or EUR")
		}
		return ""
	}
	if _, err := money.Exponent(c); err != nil || c != strings.ToUpper(c) {
		p.fail(n, ruleID, "currency", "unknown currency %q: want an upper-case ISO 4217 code such as USD or EUR", c)
		return ""
	}
	return c
}

var kindKeys = map[string][]string{
	kindFreight:     {"per", "rate", "amount", "minimum"},
	kindFuel:        {"percent"},
	kindDetention:   {"free_time", "increment", "hourly_rate", "maximum", "minutes"},
	kindAccessorial: {"type", "amount"},
	kindReweigh:     {"tolerance_percent", "tolerance_kg", "fee"},
}

var commonKeys = []string{"id", "kind", "description", "code", "customers", "default", "when", "currency"}

// accessorialTypes are the charge types an accessorial rule may produce.
var accessorialTypes = []ChargeType{Liftgate, Residential, InsideDelivery, Redelivery, Layover, Lumper, Accessorial, Other}

// defaultCodes are the charge codes used when a rule has no code: X12
// element 150 codes.
var defaultCodes = map[ChargeType]string{
	Linehaul:       "400",
	Fuel:           "405",
	Detention:      "DET",
	Liftgate:       "LFT",
	Residential:    "RES",
	InsideDelivery: "IDL",
	Redelivery:     "RCL",
	Layover:        "LAY",
	Lumper:         "UNL",
	Accessorial:    "MSC",
	Other:          "MSC",
}

// reweighFeeCode is the default code of a reweigh fee (X12 element 150
// "weight verification").
const reweighFeeCode = "WTV"

func (p *parser) rule(n *yaml.Node) *rule {
	if n.Kind != yaml.MappingNode {
		p.fail(n, "", "", "a rule must be a mapping with id and kind")
		return nil
	}
	r := &rule{line: n.Line}
	nodes := make(map[string]*yaml.Node)
	keyNodes := make(map[string]*yaml.Node)
	p.mapping(n, "", "", func(key string, k, v *yaml.Node) bool {
		nodes[key], keyNodes[key] = v, k
		return true
	})
	if v := nodes["id"]; v == nil {
		p.fail(n, "", "id", "missing: every rule has an id")
	} else if id := p.text(v, "", "id", 100); id != "" {
		if idPattern.MatchString(id) {
			r.id = id
		} else {
			p.fail(v, "", "id", "%q: use letters, digits, '.', '_' and '-'", id)
		}
	}
	id := r.id
	if v := nodes["kind"]; v == nil {
		p.fail(n, id, "kind", "missing: one of freight, fuel, detention, accessorial or reweigh")
	} else if k := p.text(v, id, "kind", 20); k != "" {
		if _, ok := kindKeys[k]; ok {
			r.kind = k
		} else {
			p.fail(v, id, "kind", "unknown kind %q: want freight, fuel, detention, accessorial or reweigh", k)
		}
	}
	if r.kind != "" {
		allowed := append(slices.Clone(commonKeys), kindKeys[r.kind]...)
		for _, key := range sortedKeys(nodes) {
			if !slices.Contains(allowed, key) {
				p.fail(keyNodes[key], id, key, "unknown key for a %s rule", r.kind)
			}
		}
	} else {
		for _, key := range sortedKeys(nodes) {
			known := slices.Contains(commonKeys, key)
			for _, keys := range kindKeys {
				known = known || slices.Contains(keys, key)
			}
			if !known {
				p.fail(keyNodes[key], id, key, "unknown key")
			}
		}
	}

	if v := nodes["description"]; v != nil {
		r.description = p.text(v, id, "description", maxDescLen)
	}
	if v := nodes["code"]; v != nil {
		r.code = p.text(v, id, "code", maxCodeLen)
		if r.code == "" && v.Kind == yaml.ScalarNode {
			p.fail(v, id, "code", "must not be empty")
		}
	}
	if v := nodes["currency"]; v != nil {
		r.currency = p.currency(v, id)
	}
	if v := nodes["customers"]; v != nil {
		r.customers = p.customers(v, id)
	}
	if v := nodes["default"]; v != nil {
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
			p.fail(v, id, "default", "must be true or false")
		} else {
			r.isDefault = v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
		}
		if r.isDefault && nodes["customers"] != nil {
			p.fail(v, id, "default", "a rule is either a default or for some customers, not both")
		}
	}
	if v := nodes["when"]; v != nil {
		r.when = p.compile(v, id, "when", cel.BoolType)
	}

	switch r.kind {
	case kindFreight:
		r.chargeType = Linehaul
		p.freight(r, n, nodes)
	case kindFuel:
		r.chargeType = Fuel
		r.percent = p.requiredParam(r, n, nodes, "percent")
	case kindDetention:
		r.chargeType = Detention
		p.detention(r, n, nodes)
	case kindAccessorial:
		if v := nodes["type"]; v == nil {
			p.fail(n, id, "type", "missing: one of %s", joinTypes(accessorialTypes))
		} else if t := p.text(v, id, "type", 30); t != "" {
			if slices.Contains(accessorialTypes, ChargeType(t)) {
				r.chargeType = ChargeType(t)
			} else {
				p.fail(v, id, "type", "unknown type %q: want one of %s", t, joinTypes(accessorialTypes))
			}
		}
		r.amount = p.requiredParam(r, n, nodes, "amount")
	case kindReweigh:
		r.chargeType = Accessorial
		r.tolPercent = p.literal(nodes["tolerance_percent"], id, "tolerance_percent")
		r.tolKG = p.literal(nodes["tolerance_kg"], id, "tolerance_kg")
		if nodes["tolerance_percent"] == nil && nodes["tolerance_kg"] == nil {
			p.fail(n, id, "tolerance_percent", "missing: a reweigh rule needs tolerance_percent, tolerance_kg or both")
		}
		r.fee = p.param(nodes["fee"], id, "fee")
	}
	if r.code == "" && r.chargeType != "" {
		r.code = defaultCodes[r.chargeType]
		if r.kind == kindReweigh {
			r.code = reweighFeeCode
		}
	}
	return r
}

func joinTypes(ts []ChargeType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func (p *parser) customers(v *yaml.Node, id string) []string {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.fail(v, id, "customers", "must be a non-empty list of customer refs")
		return nil
	}
	var out []string
	for _, c := range v.Content {
		c = resolveAlias(c)
		if ref := p.text(c, id, "customers", 200); ref != "" {
			out = append(out, ref)
		} else if c.Kind == yaml.ScalarNode {
			p.fail(c, id, "customers", "a customer ref must not be empty")
		}
	}
	return out
}

func (p *parser) freight(r *rule, n *yaml.Node, nodes map[string]*yaml.Node) {
	id := r.id
	per, rate, amount := nodes["per"], nodes["rate"], nodes["amount"]
	switch {
	case amount != nil && (per != nil || rate != nil):
		p.fail(amount, id, "amount", "a freight rule has either amount or per and rate, not both")
	case amount == nil && per == nil && rate == nil:
		p.fail(n, id, "per", "missing: a freight rule needs per and rate (per: shipment, kg, pallet or km), or amount")
	case amount == nil && per == nil:
		p.fail(rate, id, "per", "missing: rate is per shipment, kg, pallet or km")
	case amount == nil && rate == nil:
		p.fail(per, id, "rate", "missing: the price per %s", per.Value)
	}
	if per != nil {
		switch b := p.text(per, id, "per", 20); b {
		case perShipment, perKG, perPallet, perKM:
			r.per = b
		case "":
		default:
			p.fail(per, id, "per", "unknown basis %q: want shipment, kg, pallet or km", b)
		}
	}
	r.rate = p.param(rate, id, "rate")
	r.amount = p.param(amount, id, "amount")
	r.minimum = p.param(nodes["minimum"], id, "minimum")
}

func (p *parser) detention(r *rule, n *yaml.Node, nodes map[string]*yaml.Node) {
	id := r.id
	if v := nodes["free_time"]; v == nil {
		p.fail(n, id, "free_time", "missing: the free time before detention is billed, such as 2h (0s for none)")
	} else {
		r.freeTime = p.duration(v, id, "free_time", false)
	}
	r.increment = time.Minute
	if v := nodes["increment"]; v != nil {
		r.increment = p.duration(v, id, "increment", true)
	}
	r.hourlyRate = p.requiredParam(r, n, nodes, "hourly_rate")
	r.maximum = p.param(nodes["maximum"], id, "maximum")
	if v := nodes["minutes"]; v != nil {
		r.minutes = p.compile(v, id, "minutes", cel.IntType)
	}
}

// duration reads a duration such as "2h" or "15m": whole minutes, at most
// a week, and positive when positive is set.
func (p *parser) duration(n *yaml.Node, id, key string, positive bool) time.Duration {
	s := p.text(n, id, key, 30)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil || n.ShortTag() != "!!str":
		p.fail(n, id, key, "%q is not a duration: write it like 2h, 90m or 15m", s)
	case d < 0 || (positive && d == 0):
		p.fail(n, id, key, "must be %s", map[bool]string{true: "positive", false: "zero or more"}[positive])
	case d%time.Minute != 0:
		p.fail(n, id, key, "must be whole minutes")
	case d > maxDurationValue:
		p.fail(n, id, key, "must be at most %s", maxDurationValue)
	default:
		return d
	}
	return 0
}

func (p *parser) requiredParam(r *rule, n *yaml.Node, nodes map[string]*yaml.Node, key string) *param {
	v := nodes[key]
	if v == nil {
		p.fail(n, r.id, key, "missing")
		return nil
	}
	return p.param(v, r.id, key)
}

// literal reads a non-negative plain decimal number.
func (p *parser) literal(n *yaml.Node, id, key string) *big.Rat {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, id, key, "must be a number")
		return nil
	}
	r, err := parseDecimal(n.Value)
	if err != nil {
		p.fail(n, id, key, "%v", err)
		return nil
	}
	if r.Sign() < 0 {
		p.fail(n, id, key, "must not be negative")
		return nil
	}
	return r
}

// param reads a number: a plain decimal literal (12.50 or "12.50"), or a
// CEL expression that gives a decimal or decimal text.
func (p *parser) param(n *yaml.Node, id, key string) *param {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, id, key, "must be a number or a CEL expression")
		return nil
	}
	switch tag := n.ShortTag(); {
	case tag == "!!int" || tag == "!!float" || decimal.Valid(n.Value):
		if r := p.literal(n, id, key); r != nil {
			return &param{key: key, lit: r}
		}
		return nil
	case tag != "!!str":
		p.fail(n, id, key, "must be a number or a CEL expression")
		return nil
	}
	if e := p.compile(n, id, key, decimalType); e != nil {
		return &param{key: key, ex: e}
	}
	return nil
}

// compile compiles the CEL expression in n and checks that its result has
// type want (decimal also admits decimal text); a dyn result is checked
// when it is evaluated.
func (p *parser) compile(n *yaml.Node, id, key string, want *cel.Type) *expr {
	if n.Kind != yaml.ScalarNode || isNull(n) || strings.TrimSpace(n.Value) == "" {
		p.fail(n, id, key, "must be a CEL expression")
		return nil
	}
	src := n.Value
	if len(src) > maxExprBytes {
		p.fail(n, id, key, "expression is longer than %d bytes", maxExprBytes)
		return nil
	}
	ast, iss := p.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			line, col := p.position(n, e.Location.Line(), e.Location.Column())
			p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Column: col, RuleID: id, Key: key, Msg: e.Message})
		}
		return nil
	}
	out := ast.OutputType()
	ok := out.IsExactType(want) || out.Kind() == types.DynKind ||
		(want == decimalType && out.IsExactType(cel.StringType))
	if !ok {
		hint := ""
		switch {
		case want == decimalType && (out.IsExactType(cel.IntType) || out.IsExactType(cel.DoubleType)):
			hint = `: amounts are exact decimals; write decimal(…) or decimal("12.50")`
		case want == cel.IntType && out.IsExactType(decimalType):
			hint = ": write a whole number of minutes"
		}
		p.fail(n, id, key, "expression gives %s, want %s%s", cel.FormatCELType(out), wantName(want), hint)
		return nil
	}
	prg, err := p.env.Program(ast, cel.CostLimit(evalCostLimit))
	if err != nil {
		p.fail(n, id, key, "%v", err)
		return nil
	}
	return &expr{key: key, src: src, prg: prg}
}

func wantName(t *cel.Type) string {
	if t == decimalType {
		return "a decimal or decimal text"
	}
	return cel.FormatCELType(t)
}

// position maps a position in a CEL expression (1-based line, 0-based
// column) to the rules file. It is exact for one-line scalars and literal
// block scalars (|); for other multi-line scalars it gives the scalar's
// first line.
func (p *parser) position(n *yaml.Node, line, col int) (int, int) {
	if line <= 0 {
		return n.Line, n.Column
	}
	switch n.Style {
	case yaml.LiteralStyle:
		// The block's indentation is that of its first line, which
		// follows the line of the | indicator.
		indent := 0
		if n.Line < len(p.lines) {
			first := p.lines[n.Line]
			indent = len(first) - len(strings.TrimLeft(first, " "))
		}
		return n.Line + line, indent + col + 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line == 1 && !strings.Contains(n.Value, "\n") && p.singleLine(n) {
			return n.Line, n.Column + 1 + col
		}
	case 0:
		if line == 1 && !strings.Contains(n.Value, "\n") && p.singleLine(n) {
			return n.Line, n.Column + col
		}
	}
	return n.Line, 0
}

// singleLine reports whether the scalar n ends on the line it starts on.
func (p *parser) singleLine(n *yaml.Node) bool {
	if n.Line-1 >= len(p.lines) {
		return false
	}
	rest := p.lines[n.Line-1]
	if n.Column-1 > len(rest) {
		return false
	}
	return strings.Contains(rest[n.Column-1:], n.Value)
}
