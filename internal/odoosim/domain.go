package odoosim

import (
	"regexp"
	"slices"
	"strings"
)

// dnode is a parsed domain: an operator node or a leaf.
type dnode struct {
	op       string // "&", "|", "!", or "" for a leaf / true
	kids     []*dnode
	path     []string
	operator string
	value    any
	always   *bool
}

var domainOps = map[string]bool{"=": true, "!=": true, "<>": true, ">": true, ">=": true, "<": true, "<=": true,
	"in": true, "not in": true, "like": true, "not like": true, "ilike": true, "not ilike": true,
	"=like": true, "=ilike": true, "=?": true, "child_of": true, "parent_of": true, "any": true, "not any": true}

func (t *txn) leafError(m *model, leaf []any, fname string) *OdooError {
	kind := "leaf"
	if t.s.version >= 19 {
		kind = "condition"
	}
	return valueError("Invalid field %s.%s in %s %s", m.name, fname, kind, pyTuple(leaf))
}

// parseDomain turns a prefix-notation domain into a tree, checking fields and operators.
func (t *txn) parseDomain(m *model, domain []any) (*dnode, error) {
	var stack []*dnode
	for i := len(domain) - 1; i >= 0; i-- {
		switch e := domain[i].(type) {
		case string:
			arity := map[string]int{"&": 2, "|": 2, "!": 1}[e]
			if arity == 0 {
				return nil, valueError("Invalid domain term %s", pyRepr(e))
			}
			if len(stack) < arity {
				return nil, valueError("Invalid domain: %s", pyRepr(domain))
			}
			n := &dnode{op: e}
			for j := 0; j < arity; j++ {
				n.kids = append(n.kids, stack[len(stack)-1])
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, n)
		case []any:
			leaf, err := t.parseLeaf(m, e)
			if err != nil {
				return nil, err
			}
			stack = append(stack, leaf)
		default:
			return nil, valueError("Invalid domain term %s", pyRepr(e))
		}
	}
	// implicit '&' between remaining terms (stack top = first term)
	if len(stack) == 0 {
		tr := true
		return &dnode{always: &tr}, nil
	}
	for len(stack) > 1 {
		a := stack[len(stack)-1]
		b := stack[len(stack)-2]
		stack = stack[:len(stack)-2]
		stack = append(stack, &dnode{op: "&", kids: []*dnode{a, b}})
	}
	return stack[0], nil
}

func (t *txn) parseLeaf(m *model, leaf []any) (*dnode, error) {
	if len(leaf) != 3 {
		return nil, valueError("Invalid leaf %s", pyRepr(leaf))
	}
	if a, ok := asInt(leaf[0]); ok {
		b, _ := asInt(leaf[2])
		v := a == b
		if op, _ := leaf[1].(string); op == "!=" {
			v = !v
		}
		return &dnode{always: &v}, nil
	}
	fname, ok := leaf[0].(string)
	op, ok2 := leaf[1].(string)
	if !ok || !ok2 {
		return nil, valueError("Invalid leaf %s", pyRepr(leaf))
	}
	op = strings.ToLower(op)
	if !domainOps[op] {
		return nil, valueError("Invalid operator %s in domain term %s", pyRepr(op), pyTuple(leaf))
	}
	path := strings.Split(fname, ".")
	cur := m
	for i, p := range path {
		if cur == nil || !cur.has(p) {
			return nil, t.leafError(m, leaf, fname)
		}
		f := cur.fields[p]
		if i < len(path)-1 {
			if f.rel == "" {
				return nil, t.leafError(m, leaf, fname)
			}
			cur = t.m(f.rel)
		}
	}
	return &dnode{path: path, operator: op, value: leaf[2]}, nil
}

func (t *txn) eval(m *model, r record, n *dnode) (bool, error) {
	if n.always != nil {
		return *n.always, nil
	}
	switch n.op {
	case "!":
		v, err := t.eval(m, r, n.kids[0])
		return !v, err
	case "&", "|":
		a, err := t.eval(m, r, n.kids[0])
		if err != nil {
			return false, err
		}
		if n.op == "&" && !a {
			return false, nil
		}
		if n.op == "|" && a {
			return true, nil
		}
		return t.eval(m, r, n.kids[1])
	}
	return t.evalLeaf(m, r, n.path, n.operator, n.value)
}

// evalLeaf evaluates one leaf, following dotted paths through relations (any-match for x2many).
func (t *txn) evalLeaf(m *model, r record, path []string, op string, value any) (bool, error) {
	f := m.fields[path[0]]
	v := t.get(m, r, path[0])
	if len(path) > 1 {
		cm := t.m(f.rel)
		if cm == nil {
			return false, nil
		}
		var targets []int
		switch x := v.(type) {
		case int:
			if x != 0 {
				targets = []int{x}
			}
		case []int:
			targets = x
		}
		negative := op == "!=" || op == "not in" || op == "not like" || op == "not ilike"
		if len(targets) == 0 {
			// Odoo: a missing relation matches negative operators against false
			return negative && truthy(value), nil
		}
		for _, id := range targets {
			cr := t.rec(f.rel, id)
			if cr == nil {
				continue
			}
			ok, err := t.evalLeaf(cm, cr, path[1:], op, value)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	}
	return t.match(f, v, op, value), nil
}

func (t *txn) match(f *field, v any, op string, value any) bool {
	if op == "=?" {
		if !truthy(value) {
			return true
		}
		op = "="
	}
	if op == "<>" {
		op = "!="
	}
	switch op {
	case "child_of", "parent_of":
		ids, _ := asIDs(value)
		id, _ := v.(int)
		if f.name == "id" {
			id, _ = v.(int)
		}
		for _, root := range ids {
			if op == "child_of" && t.isDescendant(f.rel, id, root) {
				return true
			}
			if op == "parent_of" && t.isDescendant(f.rel, root, id) {
				return true
			}
		}
		return false
	case "any", "not any":
		return op == "not any"
	}
	switch f.typ {
	case "many2one", "one2many", "many2many", "integer":
		if f.typ == "integer" && f.name != "id" {
			break
		}
		var have []int
		switch x := v.(type) {
		case int:
			if x != 0 {
				have = []int{x}
			}
		case []int:
			have = x
		}
		if s, ok := value.(string); ok && f.rel != "" && (op == "=" || op == "!=" || strings.Contains(op, "like")) {
			hit := false
			for _, id := range have {
				if likeMatch(t.displayName(f.rel, id), s, op) || (op == "=" && t.displayName(f.rel, id) == s) {
					hit = true
				}
			}
			if op == "!=" || strings.HasPrefix(op, "not") {
				return !hit
			}
			return hit
		}
		switch op {
		case "=", "!=":
			var hit bool
			if !truthy(value) {
				hit = len(have) == 0
			} else {
				want, _ := asInt(value)
				hit = slices.Contains(have, want)
			}
			if op == "!=" {
				return !hit
			}
			return hit
		case "in", "not in":
			var want []int
			if l, ok := value.([]any); !ok || len(l) <= inSetMin {
				want, _ = asIDs(value)
			}
			hit := false
			if l, ok := value.([]any); ok {
				for _, e := range l {
					if e == false || e == nil {
						if len(have) == 0 {
							hit = true
						}
					}
				}
			}
			if l, ok := value.([]any); ok && len(l) > inSetMin {
				set := t.setOf(l)
				for _, h := range have {
					if set.ints[h] {
						hit = true
					}
				}
			} else {
				for _, h := range have {
					if slices.Contains(want, h) {
						hit = true
					}
				}
			}
			if op == "not in" {
				return !hit
			}
			return hit
		}
		if f.typ != "integer" && len(have) > 0 {
			v = have[0]
		}
	}
	switch op {
	case "=", "!=":
		eq := equalVal(f, v, value)
		if op == "!=" {
			return !eq
		}
		return eq
	case "in", "not in":
		l, _ := value.([]any)
		hit := false
		if str, ok := v.(string); ok && str != "" && len(l) > inSetMin {
			hit = t.setOf(l).strs[str]
		} else {
			for _, e := range l {
				if equalVal(f, v, e) {
					hit = true
				}
			}
		}
		if op == "not in" {
			return !hit
		}
		return hit
	case ">", ">=", "<", "<=":
		if isEmpty(v) || !truthy(value) && f.typ != "float" && f.typ != "integer" && f.typ != "monetary" {
			if s, ok := v.(string); ok && s == "" {
				return false
			}
		}
		c := cmpLoose(v, value)
		switch op {
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		case "<":
			return c < 0
		}
		return c <= 0
	case "like", "ilike", "not like", "not ilike", "=like", "=ilike":
		s, _ := v.(string)
		pat, _ := value.(string)
		if !truthy(value) {
			return strings.HasPrefix(op, "not")
		}
		hit := likeMatch(s, pat, op)
		if strings.HasPrefix(op, "not") {
			return !hit
		}
		return hit
	}
	return false
}

func equalVal(f *field, v, value any) bool {
	if !truthy(value) && (value == false || value == nil) {
		switch x := v.(type) {
		case bool:
			return !x
		case string:
			return x == ""
		case int:
			return x == 0 && f.typ != "integer" && f.typ != "float"
		case float64:
			return false
		}
		return v == nil
	}
	switch x := v.(type) {
	case string:
		s, ok := value.(string)
		return ok && s == x
	case bool:
		b, ok := value.(bool)
		if !ok {
			fv, ok2 := asFloat(value)
			return ok2 && (fv != 0) == x
		}
		return b == x
	}
	a, ok1 := toF(v)
	b, ok2 := asFloat(value)
	return ok1 && ok2 && a == b
}

func cmpLoose(v, value any) int {
	if s, ok := v.(string); ok {
		w, _ := value.(string)
		return strings.Compare(s, w)
	}
	a, _ := toF(v)
	b, _ := asFloat(value)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// likeMatch implements SQL (i)like; plain like/ilike wrap the pattern in %.
func likeMatch(s, pat, op string) bool {
	base := strings.TrimPrefix(op, "not ")
	if base == "like" || base == "ilike" {
		pat = "%" + pat + "%"
	}
	ci := strings.Contains(base, "ilike")
	if ci {
		s, pat = strings.ToLower(s), strings.ToLower(pat)
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range pat {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return false
	}
	return re.MatchString(s)
}

// isDescendant reports whether id is root or below it, via the model's parent field.
func (t *txn) isDescendant(model string, id, root int) bool {
	parent := "parent_id"
	if model == "stock.location" {
		parent = "location_id"
	}
	for i := 0; i < 64 && id != 0; i++ {
		if id == root {
			return true
		}
		r := t.rec(model, id)
		if r == nil {
			return false
		}
		id, _ = r[parent].(int)
	}
	return false
}

// inSetMin is the length beyond which an "in" list is looked up in a set
// (valueSet) rather than scanned for every record.
const inSetMin = 32

// valueSet is an "in" list as sets: its strings, and its ids.
type valueSet struct {
	strs map[string]bool
	ints map[int]bool
}

// setOf returns l as sets, built once per call for the same list (a
// domain's list is the same slice for every record it is matched against).
func (t *txn) setOf(l []any) *valueSet {
	if t.sets == nil {
		t.sets = map[*any]*valueSet{}
	}
	if vs, ok := t.sets[&l[0]]; ok {
		return vs
	}
	vs := &valueSet{strs: map[string]bool{}, ints: map[int]bool{}}
	for _, e := range l {
		if str, ok := e.(string); ok {
			vs.strs[str] = true
		} else if n, ok := asInt(e); ok {
			vs.ints[n] = true
		}
	}
	t.sets[&l[0]] = vs
	return vs
}
