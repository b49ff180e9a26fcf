package jsonmap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/waybill/waybill/internal/tracking"
)

// Mapping is a loaded and validated mapping file. It is immutable, and
// safe for concurrent use by any number of goroutines.
type Mapping struct {
	format  string
	require []*value
	vars    []*varSpec
	blocks  []*block
}

// Format returns the name the mapping records in Event.Format.
func (m *Mapping) Format() string { return m.format }

// value is a compiled value: a constant word, a pointer or a CEL program.
type value struct {
	field string // mapping path, for problems
	line  int
	konst string
	ptr   *pointer
	prog  cel.Program
}

// varSpec is a named value that later values can use.
type varSpec struct {
	name string
	v    *value
}

// keySpec maps one shipment key.
type keySpec struct {
	name string
	v    *value
}

// block is one entry of events: where its elements come from and how each
// becomes an event.
type block struct {
	path      string
	line      int
	from      *value // pointer from the payload root; nil: the payload itself
	fromExpr  *value
	when      *value
	vars      []*varSpec
	id        *value
	kind      *value
	keys      []keySpec
	status    *statusSpec
	substatus *value
	reason    *value
	rawReason *value
	exception *exceptionSpec
	time      *timeSpec
	eta       *windowSpec
	appt      *windowSpec
	location  *locationSpec
	position  *positionSpec
	weights   []*weightSpec
	pieces    *value
	handling  *handlingSpec
	equipment *value
	signer    *value
	remarks   []*value
}

type statusSpec struct {
	codes    []*value
	raw      *value
	hasTable bool
	table    map[string]*entry
	def      *entry
}

// entry is what a status code means.
type entry struct {
	status    tracking.Status
	substatus string
	reason    string
	kind      tracking.Kind
	exception *tracking.Exception
}

type exceptionSpec struct {
	typ, reason, reasonCode *value
}

type timeSpec struct {
	value      *value
	zone       *value
	noLocation bool // location_zone: false
	epoch      int  // epochDefault, epochSeconds or epochMillis
}

type windowSpec struct {
	start, end *timeSpec
	date       *value
}

type locationSpec struct {
	name, city, region, postalCode, country, unlocode, lat, lon, role *value
}

type positionSpec struct {
	lat, lon, speed, accuracy *value
}

type weightSpec struct {
	value, unit, kind *value
}

type handlingSpec struct {
	count, packaging *value
}

// maxNodes bounds the YAML nodes Load visits, aliases expanded.
const maxNodes = 20_000

// Load reads and validates a mapping file (YAML; see the package
// documentation for the language). It reports every problem at once: the
// error joins one [*LoadError] per problem, each with its line, in line
// order; use [LoadErrors] to list them.
func Load(data []byte) (*Mapping, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &LoadError{Msg: "empty mapping file"}
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, &LoadError{Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document"}
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("creating the CEL environment: %w", err)
	}
	l := &loader{}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	m := l.mapping(root, env)
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *LoadError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		errs := make([]error, len(l.errs))
		for i, e := range l.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// yamlError turns a YAML syntax error into a *LoadError with its line.
func yamlError(err error) error {
	le := &LoadError{Msg: "reading YAML", Err: err}
	var line int
	if _, scanErr := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); scanErr == nil {
		le.Line = line
	}
	return le
}

// loader walks the YAML tree, compiling what it can and collecting every
// problem.
type loader struct {
	errs  []*LoadError
	nodes int
	full  bool
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &LoadError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

// node follows aliases and counts the node against maxNodes. It returns
// nil once the budget is spent.
func (l *loader) node(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 16 {
			l.errorf(n, path, "aliases nested too deeply")
			return nil
		}
		n = n.Alias
	}
	if n == nil || l.full {
		return nil
	}
	l.nodes++
	if l.nodes > maxNodes {
		l.full = true
		l.errorf(n, path, "mapping too large: more than %d nodes with aliases expanded", maxNodes)
		return nil
	}
	return n
}

// field is one key of a YAML mapping.
type field struct {
	key *yaml.Node
	val *yaml.Node
}

// fields returns the members of a YAML mapping by key, reporting unknown
// and repeated keys. A nil allowed list accepts any key.
func (l *loader) fields(n *yaml.Node, path string, allowed ...string) (map[string]field, []string) {
	n = l.node(n, path)
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "want a mapping, got %s", nodeKind(n))
		return nil, nil
	}
	out := map[string]field{}
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := l.node(n.Content[i], path), n.Content[i+1]
		if k == nil {
			return out, order
		}
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "want a scalar key, got %s", nodeKind(k))
			continue
		}
		name := k.Value
		p := join(path, name)
		if k.Value == "<<" {
			l.errorf(k, p, "merge keys are not supported")
			continue
		}
		if allowed != nil && !slices.Contains(allowed, name) {
			l.errorf(k, p, "unknown key %q (want one of %s)", name, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[name]; dup {
			l.errorf(k, p, "key %q repeated", name)
			continue
		}
		out[name] = field{key: k, val: v}
		order = append(order, name)
	}
	return out, order
}

// target follows aliases without counting nodes; it is for line numbers.
func target(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.DocumentNode:
		return "a document"
	}
	return "an alias"
}

// scope is what the values at one place of the file may refer to.
type scope struct {
	env *cel.Env
	// element is true where "/" pointers name the event element; root is
	// true where they name the payload root instead (from, require).
	element, root bool
	vars          []string
}

// extend returns the scope with one more var.
func (l *loader) extend(sc *scope, name string, n *yaml.Node, path string) *scope {
	env, err := sc.env.Extend(cel.Variable(name, cel.DynType))
	if err != nil {
		l.errorf(n, path, "declaring var %q: %v", name, err)
		return sc
	}
	out := *sc
	out.env = env
	out.vars = append(slices.Clip(sc.vars), name)
	return &out
}

// reserved are names a var cannot take.
var reserved = []string{"payload", "event", "index", "in", "as", "break", "const", "continue", "else",
	"for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void",
	"while", "true", "false", "null"}

// value compiles one value. vocab, when not nil, says which bare words are
// constants.
func (l *loader) value(n *yaml.Node, path string, sc *scope, w want, vocab []string) *value {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, path, "want a pointer, a constant or a CEL expression, got %s", nodeKind(n))
		return nil
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		l.errorf(n, path, "empty value")
		return nil
	}
	v := &value{field: path, line: n.Line}
	if s[0] == '/' || s[0] == '$' {
		p, err := parsePointer(s)
		if err != nil {
			l.errorf(n, path, "bad pointer: %v", err)
			return nil
		}
		switch {
		case p.root == rootElement && sc.root:
			p.root = rootPayload
		case p.root == rootElement && !sc.element:
			l.errorf(n, path, "pointer %q names the event element, but there is none here: write $%s for the payload root", s, s)
			return nil
		case p.root == rootVar && !slices.Contains(sc.vars, p.name):
			l.errorf(n, path, "pointer %q names var %q, which is not defined before this point", s, p.name)
			return nil
		}
		v.ptr = &p
		return v
	}
	if vocab != nil {
		if slices.Contains(vocab, s) {
			v.konst = s
			return v
		}
		if isIdent(s) {
			l.errorf(n, path, "%q is not one of %s (nor a pointer or an expression)", s, strings.Join(vocab, ", "))
			return nil
		}
	}
	ast, iss := sc.env.Parse(s)
	if iss.Err() != nil {
		l.errs = append(l.errs, &LoadError{Line: n.Line, Column: n.Column, Path: path, Msg: "parsing CEL", Err: iss.Err()})
		return nil
	}
	checked, iss := sc.env.Check(ast)
	if iss.Err() != nil {
		l.errs = append(l.errs, &LoadError{Line: n.Line, Column: n.Column, Path: path, Msg: "checking CEL types", Err: iss.Err()})
		return nil
	}
	if t := checked.OutputType(); !celTypeOK(t, w) {
		l.errorf(n, path, "checking CEL types: expression has type %s, want %s", t, w)
		return nil
	}
	prog, err := sc.env.Program(checked, cel.CostLimit(costLimit))
	if err != nil {
		l.errs = append(l.errs, &LoadError{Line: n.Line, Column: n.Column, Path: path, Msg: "compiling CEL", Err: err})
		return nil
	}
	v.prog = prog
	return v
}

// values compiles a scalar value or a sequence of them.
func (l *loader) values(n *yaml.Node, path string, sc *scope, w want) []*value {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		if v := l.value(n, path, sc, w, nil); v != nil {
			return []*value{v}
		}
		return nil
	}
	if len(n.Content) == 0 {
		l.errorf(n, path, "empty list")
	}
	var out []*value
	for i, c := range n.Content {
		if v := l.value(c, fmt.Sprintf("%s[%d]", path, i), sc, w, nil); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// Vocabularies of the fields that take bare words as constants.
var (
	kindWords       = []string{string(tracking.KindMilestone), string(tracking.KindETA), string(tracking.KindAppointment), string(tracking.KindPosition), string(tracking.KindNote)}
	weightKindWords = []string{tracking.WeightActual, tracking.WeightDeclared, tracking.WeightBilled}
	roleWords       = []string{"origin", "destination"}
	unitWords       = []string{"kg", "kgs", "kgm", "k", "lb", "lbs", "lbr", "l", "oz", "onz", "g", "grm", "t", "tne",
		"KG", "KGS", "KGM", "K", "LB", "LBS", "LBR", "L", "OZ", "ONZ", "G", "GRM", "T", "TNE"}
)

func statusWords() []string {
	var out []string
	for _, s := range tracking.Statuses() {
		out = append(out, string(s))
	}
	return out
}

// keyNames are the shipment keys a mapping may set, as in tracking.Keys.
var keyNames = []string{"scac", "pro", "bol", "po", "tracking_number", "carrier", "consignment_id",
	"odoo_picking", "sale_order", "customer_ref", "provider_id"}

func (l *loader) mapping(root *yaml.Node, env *cel.Env) *Mapping {
	m := &Mapping{}
	f, _ := l.fields(root, "", "format", "description", "require", "vars", "keys", "events")
	if f == nil {
		return m
	}
	if fv, ok := f["format"]; ok {
		n := l.node(fv.val, "format")
		switch {
		case n == nil:
		case n.Kind != yaml.ScalarNode || !isFormat(n.Value):
			l.errorf(n, "format", "want a lower-case name such as easypost or json")
		default:
			m.format = n.Value
		}
	} else {
		l.errorf(root, "", "missing key \"format\"")
	}
	if fv, ok := f["description"]; ok {
		if n := l.node(fv.val, "description"); n != nil && n.Kind != yaml.ScalarNode {
			l.errorf(n, "description", "want text, got %s", nodeKind(n))
		}
	}

	rootScope := &scope{env: env, root: true}
	if fv, ok := f["require"]; ok {
		for _, v := range l.values(fv.val, "require", rootScope, wantAny) {
			if v.ptr == nil {
				l.errorf(fv.val, v.field, "want a pointer")
				continue
			}
			m.require = append(m.require, v)
		}
	}

	// Payload-level vars see the payload and the vars before them.
	top := &scope{env: env}
	if fv, ok := f["vars"]; ok {
		m.vars, top = l.vars(fv.val, "vars", top)
	}

	// Keys and blocks see the event element too.
	elemEnv, err := top.env.Extend(cel.Variable("event", cel.DynType), cel.Variable("index", cel.IntType))
	if err != nil {
		l.errorf(root, "", "declaring event and index: %v", err)
		return m
	}
	elem := &scope{env: elemEnv, element: true, vars: top.vars}
	var shared []keySpec
	if fv, ok := f["keys"]; ok {
		shared = l.keys(fv.val, "keys", elem)
	}

	fromScope := &scope{env: top.env, root: true, vars: top.vars}
	ev, ok := f["events"]
	if !ok {
		l.errorf(root, "", "missing key \"events\"")
		return m
	}
	n := l.node(ev.val, "events")
	if n == nil {
		return m
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.errorf(n, "events", "want a list of event blocks")
		return m
	}
	for i, c := range n.Content {
		if b := l.block(c, fmt.Sprintf("events[%d]", i), fromScope, elem, shared); b != nil {
			m.blocks = append(m.blocks, b)
		}
	}
	return m
}

func isFormat(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' && i > 0 || (c == '_' || c == '-') && i > 0) {
			return false
		}
	}
	return true
}

// vars compiles a vars mapping, each var seeing the ones before it.
func (l *loader) vars(n *yaml.Node, path string, sc *scope) ([]*varSpec, *scope) {
	f, order := l.fields(n, path)
	var out []*varSpec
	for _, name := range order {
		p := join(path, name)
		k := f[name].key
		switch {
		case !isIdent(name):
			l.errorf(k, p, "var name %q is not an identifier", name)
			continue
		case slices.Contains(reserved, name):
			l.errorf(k, p, "var name %q is reserved", name)
			continue
		case slices.Contains(sc.vars, name):
			l.errorf(k, p, "var %q is already defined", name)
			continue
		}
		v := l.value(f[name].val, p, sc, wantAny, nil)
		sc = l.extend(sc, name, k, p)
		if v != nil {
			out = append(out, &varSpec{name: name, v: v})
		}
	}
	return out, sc
}

func (l *loader) keys(n *yaml.Node, path string, sc *scope) []keySpec {
	f, order := l.fields(n, path, keyNames...)
	if f != nil && len(order) == 0 {
		l.errorf(target(n), path, "empty keys")
	}
	var out []keySpec
	for _, name := range order {
		w := wantString
		if name == "po" {
			w = wantStrings
		}
		if v := l.value(f[name].val, join(path, name), sc, w, nil); v != nil {
			out = append(out, keySpec{name: name, v: v})
		}
	}
	return out
}

func (l *loader) block(n *yaml.Node, path string, fromScope, elem *scope, shared []keySpec) *block {
	f, _ := l.fields(n, path, "from", "from_expr", "when", "vars", "id", "kind", "keys", "status",
		"substatus", "reason", "raw_reason", "exception", "time", "eta", "appointment", "location",
		"position", "weights", "pieces", "handling_units", "equipment", "signer", "remarks")
	if f == nil {
		return nil
	}
	b := &block{path: path, line: target(n).Line}
	get := func(name string) (*yaml.Node, string, bool) {
		fv, ok := f[name]
		return fv.val, join(path, name), ok
	}

	if fv, p, ok := get("from"); ok {
		b.from = l.value(fv, p, fromScope, wantAny, nil)
		if b.from != nil && b.from.ptr == nil {
			l.errorf(fv, p, "want a pointer; use from_expr for an expression")
			b.from = nil
		}
	}
	if fv, p, ok := get("from_expr"); ok {
		if _, both := f["from"]; both {
			l.errorf(fv, p, "from and from_expr exclude each other")
		}
		b.fromExpr = l.value(fv, p, fromScope, wantContainer, nil)
		if b.fromExpr != nil && b.fromExpr.prog == nil {
			l.errorf(fv, p, "want a CEL expression; use from for a pointer")
			b.fromExpr = nil
		}
	}
	sc := elem
	if fv, p, ok := get("when"); ok {
		b.when = l.value(fv, p, sc, wantBool, nil)
		if b.when != nil && b.when.prog == nil {
			l.errorf(fv, p, "want a CEL expression")
			b.when = nil
		}
	}
	if fv, p, ok := get("vars"); ok {
		b.vars, sc = l.vars(fv, p, sc)
	}

	if fv, p, ok := get("id"); ok {
		b.id = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("kind"); ok {
		b.kind = l.value(fv, p, sc, wantString, kindWords)
	}
	var own []keySpec
	if fv, p, ok := get("keys"); ok {
		own = l.keys(fv, p, sc)
	}
	b.keys = mergeKeys(shared, own)
	if _, ok := f["keys"]; !ok && len(shared) == 0 {
		l.errorf(target(n), path, "no shipment keys: map keys here or at the top level")
	}
	if fv, p, ok := get("status"); ok {
		b.status = l.status(fv, p, sc)
	}
	if fv, p, ok := get("substatus"); ok {
		b.substatus = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("reason"); ok {
		b.reason = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("raw_reason"); ok {
		b.rawReason = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("exception"); ok {
		b.exception = l.exception(fv, p, sc)
	}
	if fv, p, ok := get("time"); ok {
		b.time = l.timeSpec(fv, p, sc)
	} else {
		l.errorf(n, path, "missing key \"time\": every event needs one")
	}
	if fv, p, ok := get("eta"); ok {
		b.eta = l.window(fv, p, sc)
	}
	if fv, p, ok := get("appointment"); ok {
		b.appt = l.window(fv, p, sc)
	}
	if fv, p, ok := get("location"); ok {
		b.location = l.location(fv, p, sc)
	}
	if fv, p, ok := get("position"); ok {
		b.position = l.position(fv, p, sc)
	}
	if fv, p, ok := get("weights"); ok {
		b.weights = l.weights(fv, p, sc)
	}
	if fv, p, ok := get("pieces"); ok {
		b.pieces = l.value(fv, p, sc, wantNumber, nil)
	}
	if fv, p, ok := get("handling_units"); ok {
		b.handling = l.handling(fv, p, sc)
	}
	if fv, p, ok := get("equipment"); ok {
		b.equipment = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("signer"); ok {
		b.signer = l.value(fv, p, sc, wantString, nil)
	}
	if fv, p, ok := get("remarks"); ok {
		b.remarks = l.values(fv, p, sc, wantStrings)
	}

	// A block whose kind is the constant milestone (the default) needs a
	// status unless every table entry says otherwise.
	if b.status == nil && (b.kind == nil || b.kind.konst == string(tracking.KindMilestone)) {
		if _, ok := f["status"]; !ok {
			l.errorf(n, path, "missing key \"status\": a milestone block needs one (or set kind)")
		}
	}
	return b
}

// mergeKeys returns the shared keys overridden by the block's own.
func mergeKeys(shared, own []keySpec) []keySpec {
	var out []keySpec
	for _, k := range shared {
		if !slices.ContainsFunc(own, func(o keySpec) bool { return o.name == k.name }) {
			out = append(out, k)
		}
	}
	return append(out, own...)
}

func (l *loader) status(n *yaml.Node, path string, sc *scope) *statusSpec {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	s := &statusSpec{}
	if n.Kind == yaml.ScalarNode {
		if v := l.value(n, path, sc, wantStrings, nil); v != nil {
			s.codes = []*value{v}
		}
		return s
	}
	f, _ := l.fields(n, path, "code", "raw_code", "table", "default")
	if f == nil {
		return nil
	}
	if fv, ok := f["code"]; ok {
		s.codes = l.values(fv.val, join(path, "code"), sc, wantStrings)
	} else {
		l.errorf(n, path, "missing key \"code\"")
	}
	if fv, ok := f["raw_code"]; ok {
		s.raw = l.value(fv.val, join(path, "raw_code"), sc, wantString, nil)
	}
	if fv, ok := f["table"]; ok {
		s.hasTable = true
		s.table = map[string]*entry{}
		tf, order := l.fields(fv.val, join(path, "table"))
		for _, code := range order {
			if e := l.entry(tf[code].val, join(join(path, "table"), code)); e != nil {
				s.table[code] = e
			}
		}
	}
	if fv, ok := f["default"]; ok {
		s.def = l.entry(fv.val, join(path, "default"))
	}
	return s
}

// entry reads a table entry: a canonical status, or a mapping with
// status, substatus, reason, kind and exception.
func (l *loader) entry(n *yaml.Node, path string) *entry {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		st := tracking.Status(n.Value)
		if !st.Valid() {
			l.errorf(n, path, "unknown canonical status %q (want one of %s)", n.Value, strings.Join(statusWords(), ", "))
			return nil
		}
		return &entry{status: st}
	}
	f, _ := l.fields(n, path, "status", "substatus", "reason", "kind", "exception")
	if f == nil {
		return nil
	}
	e := &entry{}
	ok := true
	word := func(name string) (string, *yaml.Node) {
		fv, found := f[name]
		if !found {
			return "", nil
		}
		v := l.node(fv.val, join(path, name))
		if v == nil {
			ok = false
			return "", nil
		}
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			l.errorf(v, join(path, name), "want a word, got %s", nodeKind(v))
			ok = false
			return "", nil
		}
		return v.Value, v
	}
	if s, v := word("status"); v != nil {
		e.status = tracking.Status(s)
		if !e.status.Valid() {
			l.errorf(v, join(path, "status"), "unknown canonical status %q (want one of %s)", s, strings.Join(statusWords(), ", "))
			ok = false
		}
	}
	e.substatus, _ = word("substatus")
	e.reason, _ = word("reason")
	if s, v := word("kind"); v != nil {
		e.kind = tracking.Kind(s)
		if !slices.Contains(kindWords, s) {
			l.errorf(v, join(path, "kind"), "unknown kind %q (want one of %s)", s, strings.Join(kindWords, ", "))
			ok = false
		}
	}
	if fv, found := f["exception"]; found {
		e.exception = l.entryException(fv.val, join(path, "exception"))
		if e.exception == nil {
			ok = false
		}
	}
	milestone := e.kind == "" || e.kind == tracking.KindMilestone
	switch {
	case milestone && e.status == "" && ok:
		l.errorf(n, path, "missing key \"status\": a milestone entry needs one (or set kind)")
		ok = false
	case !milestone && e.status != "":
		l.errorf(n, path, "status is only for milestones, not kind %s", e.kind)
		ok = false
	}
	if !ok {
		return nil
	}
	return e
}

func (l *loader) entryException(n *yaml.Node, path string) *tracking.Exception {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	check := func(v *yaml.Node, p, typ string) bool {
		if !slices.Contains(tracking.ExceptionTypes(), typ) {
			l.errorf(v, p, "unknown exception type %q (want one of %s)", typ, strings.Join(tracking.ExceptionTypes(), ", "))
			return false
		}
		return true
	}
	if n.Kind == yaml.ScalarNode {
		if !check(n, path, n.Value) {
			return nil
		}
		return &tracking.Exception{Type: n.Value}
	}
	f, _ := l.fields(n, path, "type", "reason", "reason_code")
	if f == nil {
		return nil
	}
	x := &tracking.Exception{}
	for _, name := range []string{"type", "reason", "reason_code"} {
		fv, ok := f[name]
		if !ok {
			continue
		}
		v := l.node(fv.val, join(path, name))
		if v == nil {
			return nil
		}
		if v.Kind != yaml.ScalarNode {
			l.errorf(v, join(path, name), "want a word, got %s", nodeKind(v))
			return nil
		}
		switch name {
		case "type":
			x.Type = v.Value
		case "reason":
			x.Reason = v.Value
		case "reason_code":
			x.ReasonCode = v.Value
		}
	}
	if _, ok := f["type"]; !ok {
		l.errorf(n, path, "missing key \"type\"")
		return nil
	}
	if !check(f["type"].val, join(path, "type"), x.Type) {
		return nil
	}
	return x
}

func (l *loader) exception(n *yaml.Node, path string, sc *scope) *exceptionSpec {
	f, _ := l.fields(n, path, "type", "reason", "reason_code")
	if f == nil {
		return nil
	}
	x := &exceptionSpec{}
	if fv, ok := f["type"]; ok {
		x.typ = l.value(fv.val, join(path, "type"), sc, wantString, tracking.ExceptionTypes())
	}
	if fv, ok := f["reason"]; ok {
		x.reason = l.value(fv.val, join(path, "reason"), sc, wantString, nil)
	}
	if fv, ok := f["reason_code"]; ok {
		x.reasonCode = l.value(fv.val, join(path, "reason_code"), sc, wantString, nil)
	}
	if len(f) == 0 {
		l.errorf(n, path, "empty exception: map type, reason or reason_code")
	}
	return x
}

// timeSpec reads a time: a value, or a mapping with value, zone,
// location_zone and epoch.
func (l *loader) timeSpec(n *yaml.Node, path string, sc *scope) *timeSpec {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if v := l.value(n, path, sc, wantTime, nil); v != nil {
			return &timeSpec{value: v}
		}
		return nil
	}
	f, _ := l.fields(n, path, "value", "zone", "location_zone", "epoch")
	if f == nil {
		return nil
	}
	t := &timeSpec{}
	if fv, ok := f["value"]; ok {
		t.value = l.value(fv.val, join(path, "value"), sc, wantTime, nil)
	} else {
		l.errorf(n, path, "missing key \"value\"")
	}
	if fv, ok := f["zone"]; ok {
		t.zone = l.value(fv.val, join(path, "zone"), sc, wantString, nil)
	}
	if fv, ok := f["location_zone"]; ok {
		if v := l.node(fv.val, join(path, "location_zone")); v != nil {
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				l.errorf(v, join(path, "location_zone"), "want true or false")
			}
			t.noLocation = !b
		}
	}
	if fv, ok := f["epoch"]; ok {
		if v := l.node(fv.val, join(path, "epoch")); v != nil {
			switch {
			case v.Kind == yaml.ScalarNode && v.Value == "s":
				t.epoch = epochSeconds
			case v.Kind == yaml.ScalarNode && v.Value == "ms":
				t.epoch = epochMillis
			default:
				l.errorf(v, join(path, "epoch"), "want s or ms")
			}
		}
	}
	if t.value == nil {
		return nil
	}
	return t
}

func (l *loader) window(n *yaml.Node, path string, sc *scope) *windowSpec {
	f, _ := l.fields(n, path, "start", "end", "date")
	if f == nil {
		return nil
	}
	w := &windowSpec{}
	if fv, ok := f["start"]; ok {
		w.start = l.timeSpec(fv.val, join(path, "start"), sc)
	}
	if fv, ok := f["end"]; ok {
		w.end = l.timeSpec(fv.val, join(path, "end"), sc)
	}
	if fv, ok := f["date"]; ok {
		w.date = l.value(fv.val, join(path, "date"), sc, wantString, nil)
	}
	if len(f) == 0 {
		l.errorf(n, path, "empty window: map start, end or date")
	}
	return w
}

func (l *loader) location(n *yaml.Node, path string, sc *scope) *locationSpec {
	f, _ := l.fields(n, path, "name", "city", "region", "postal_code", "country", "unlocode", "lat", "lon", "role")
	if f == nil {
		return nil
	}
	loc := &locationSpec{}
	for name, fv := range f {
		p := join(path, name)
		switch name {
		case "name":
			loc.name = l.value(fv.val, p, sc, wantString, nil)
		case "city":
			loc.city = l.value(fv.val, p, sc, wantString, nil)
		case "region":
			loc.region = l.value(fv.val, p, sc, wantString, nil)
		case "postal_code":
			loc.postalCode = l.value(fv.val, p, sc, wantString, nil)
		case "country":
			loc.country = l.value(fv.val, p, sc, wantString, nil)
		case "unlocode":
			loc.unlocode = l.value(fv.val, p, sc, wantString, nil)
		case "lat":
			loc.lat = l.value(fv.val, p, sc, wantNumber, nil)
		case "lon":
			loc.lon = l.value(fv.val, p, sc, wantNumber, nil)
		case "role":
			loc.role = l.value(fv.val, p, sc, wantString, roleWords)
		}
	}
	return loc
}

func (l *loader) position(n *yaml.Node, path string, sc *scope) *positionSpec {
	f, _ := l.fields(n, path, "lat", "lon", "speed_kmh", "accuracy_m")
	if f == nil {
		return nil
	}
	p := &positionSpec{}
	for _, name := range []string{"lat", "lon"} {
		if _, ok := f[name]; !ok {
			l.errorf(n, path, "missing key %q", name)
		}
	}
	for name, fv := range f {
		v := l.value(fv.val, join(path, name), sc, wantNumber, nil)
		switch name {
		case "lat":
			p.lat = v
		case "lon":
			p.lon = v
		case "speed_kmh":
			p.speed = v
		case "accuracy_m":
			p.accuracy = v
		}
	}
	return p
}

func (l *loader) weights(n *yaml.Node, path string, sc *scope) []*weightSpec {
	n = l.node(n, path)
	if n == nil {
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []*weightSpec
	for i, c := range items {
		p := path
		if n.Kind == yaml.SequenceNode {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		f, _ := l.fields(c, p, "value", "unit", "kind")
		if f == nil {
			continue
		}
		w := &weightSpec{}
		if fv, ok := f["value"]; ok {
			w.value = l.value(fv.val, join(p, "value"), sc, wantNumber, nil)
		} else {
			l.errorf(c, p, "missing key \"value\"")
		}
		if fv, ok := f["unit"]; ok {
			w.unit = l.value(fv.val, join(p, "unit"), sc, wantString, unitWords)
		}
		if fv, ok := f["kind"]; ok {
			w.kind = l.value(fv.val, join(p, "kind"), sc, wantString, weightKindWords)
		}
		if w.value != nil {
			out = append(out, w)
		}
	}
	return out
}

func (l *loader) handling(n *yaml.Node, path string, sc *scope) *handlingSpec {
	f, _ := l.fields(n, path, "count", "packaging")
	if f == nil {
		return nil
	}
	h := &handlingSpec{}
	if fv, ok := f["count"]; ok {
		h.count = l.value(fv.val, join(path, "count"), sc, wantNumber, nil)
	} else {
		l.errorf(n, path, "missing key \"count\"")
	}
	if fv, ok := f["packaging"]; ok {
		h.packaging = l.value(fv.val, join(path, "packaging"), sc, wantString, nil)
	}
	return h
}
