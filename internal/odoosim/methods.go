package odoosim

import (
	"fmt"
	"slices"
	"strings"
)

// method is a publicly callable model method.
type method struct {
	model    bool     // @api.model: called without ids
	params   []string // parameter names in positional order (after ids)
	required []string
	anyKW    bool // accepts **kwargs
	readonly bool // runs without a copy of the database
	fn       func(t *txn, c *call) (any, error)
}

// call is one bound method invocation.
type call struct {
	m      *model
	name   string
	ids    []int
	kw     map[string]any
	jsonv2 bool
}

func (c *call) arg(name string) (any, bool) { v, ok := c.kw[name]; return v, ok && v != nil }

func (c *call) intArg(name string, def int) int {
	if v, ok := c.arg(name); ok {
		if i, ok := asInt(v); ok {
			return i
		}
	}
	return def
}

func (c *call) strArg(name, def string) string {
	if v, ok := c.arg(name); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return def
}

func (c *call) listArg(name string) ([]any, bool) {
	v, ok := c.arg(name)
	if !ok {
		return nil, false
	}
	l, ok := v.([]any)
	return l, ok
}

func (c *call) fieldsArg() ([]string, error) {
	v, ok := c.arg("fields")
	if !ok || v == false {
		return nil, nil
	}
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, typeError("unhashable type: %s", pyTypeName(e))
			}
			out = append(out, s)
		}
	case string:
		out = []string{x}
	default:
		return nil, typeError("'%s' object is not iterable", pyTypeName(v))
	}
	return out, nil
}

func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return "object"
}

// classicWrite reports whether many2one values are to be returned as bare ids.
func (c *call) classicWrite() bool {
	v, present := c.kw["load"]
	if !present {
		return false
	}
	if v == nil {
		return true
	}
	s, _ := v.(string)
	return s == "_classic_write"
}

func (c *call) domainArg(name string) ([]any, error) {
	v, ok := c.arg(name)
	if !ok || v == false {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, valueError("Invalid domain: %s", pyRepr(v))
	}
	return l, nil
}

// checkIDs fails with MissingError when some ids do not exist (business methods).
func (t *txn) checkIDs(c *call) error {
	var missing []int
	for _, id := range c.ids {
		if t.rec(c.m.name, id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return missingError(c.m.name, missing, t.uid)
	}
	return nil
}

// genericMethods are the ORM methods every model has.
func (s *Sim) genericMethods() map[string]*method {
	nameSearchDomain := "args"
	if s.version >= 19 {
		nameSearchDomain = "domain"
	}
	searchParams := []string{"domain", "offset", "limit", "order"}
	if s.version <= 16 {
		searchParams = append(searchParams, "count")
	}
	return map[string]*method{
		"search": {model: true, params: searchParams, required: []string{"domain"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				d, err := c.domainArg("domain")
				if err != nil {
					return nil, err
				}
				ids, err := t.search(c.m, d, c.intArg("offset", 0), c.intArg("limit", 0), c.strArg("order", ""))
				if err != nil {
					return nil, err
				}
				if v, ok := c.arg("count"); ok && truthy(v) {
					return len(ids), nil
				}
				return ids, nil
			}},
		"search_count": {model: true, params: []string{"domain", "limit"}, required: []string{"domain"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				d, err := c.domainArg("domain")
				if err != nil {
					return nil, err
				}
				ids, err := t.search(c.m, d, 0, c.intArg("limit", 0), "id")
				return len(ids), err
			}},
		"search_read": {model: true, params: []string{"domain", "fields", "offset", "limit", "order", "load"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				d, err := c.domainArg("domain")
				if err != nil {
					return nil, err
				}
				fields, err := c.fieldsArg()
				if err != nil {
					return nil, err
				}
				for _, f := range fields {
					if !c.m.has(f) {
						return nil, t.invalidReadField(c.m, f)
					}
				}
				ids, err := t.search(c.m, d, c.intArg("offset", 0), c.intArg("limit", 0), c.strArg("order", ""))
				if err != nil {
					return nil, err
				}
				return t.read(c.m, ids, fields, c.classicWrite())
			}},
		"read": {params: []string{"fields", "load"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				fields, err := c.fieldsArg()
				if err != nil {
					return nil, err
				}
				return t.read(c.m, c.ids, fields, c.classicWrite())
			}},
		"create": {model: true, params: []string{"vals_list"}, required: []string{"vals_list"},
			fn: func(t *txn, c *call) (any, error) {
				v, _ := c.arg("vals_list")
				switch x := v.(type) {
				case map[string]any:
					id, err := t.create(c.m, x)
					if err != nil {
						return nil, err
					}
					if c.jsonv2 {
						return []int{id}, nil
					}
					return id, nil
				case []any:
					ids := []int{}
					for _, e := range x {
						vals, ok := e.(map[string]any)
						if !ok {
							return nil, typeError("'%s' object is not a mapping", pyTypeName(e))
						}
						id, err := t.create(c.m, vals)
						if err != nil {
							return nil, err
						}
						ids = append(ids, id)
					}
					return ids, nil
				}
				return nil, typeError("'%s' object is not iterable", pyTypeName(v))
			}},
		"write": {params: []string{"vals"}, required: []string{"vals"},
			fn: func(t *txn, c *call) (any, error) {
				v, _ := c.arg("vals")
				vals, ok := v.(map[string]any)
				if !ok {
					return nil, typeError("'%s' object has no attribute 'items'", pyTypeName(v))
				}
				return true, t.write(c.m, c.ids, vals)
			}},
		"unlink": {fn: func(t *txn, c *call) (any, error) {
			return true, t.unlink(c.m, c.ids)
		}},
		"exists": {readonly: true, fn: func(t *txn, c *call) (any, error) {
			out := []int{}
			for _, id := range c.ids {
				if t.rec(c.m.name, id) != nil {
					out = append(out, id)
				}
			}
			return out, nil
		}},
		"fields_get": {model: true, params: []string{"allfields", "attributes"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) { return t.fieldsGet(c) }},
		"name_search": {model: true, params: []string{"name", nameSearchDomain, "operator", "limit"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				d, err := c.domainArg(nameSearchDomain)
				if err != nil {
					return nil, err
				}
				name := c.strArg("name", "")
				op := c.strArg("operator", "ilike")
				ids, err := t.search(c.m, d, 0, 0, "")
				if err != nil {
					return nil, err
				}
				out := []any{}
				limit := c.intArg("limit", 100)
				for _, id := range ids {
					dn := t.displayName(c.m.name, id)
					if name != "" && !likeMatch(dn, name, op) && !(op == "=" && dn == name) {
						continue
					}
					out = append(out, []any{id, dn})
					if limit > 0 && len(out) >= limit {
						break
					}
				}
				return out, nil
			}},
		"check_access_rights": {model: true, params: []string{"operation", "raise_exception"}, required: []string{"operation"},
			readonly: true, fn: func(t *txn, c *call) (any, error) { return true, nil }},
		"action_archive":   {fn: func(t *txn, c *call) (any, error) { return setActive(t, c, false) }},
		"action_unarchive": {fn: func(t *txn, c *call) (any, error) { return setActive(t, c, true) }},
		"default_get": {model: true, params: []string{"fields_list"}, required: []string{"fields_list"}, readonly: true,
			fn: func(t *txn, c *call) (any, error) {
				out := newOmap()
				l, _ := c.listArg("fields_list")
				for _, e := range l {
					s, _ := e.(string)
					if v, ok := t.ctx["default_"+s]; ok && c.m.has(s) {
						out.set(s, v)
					}
				}
				return out, nil
			}},
	}
}

func (t *txn) fieldsGet(c *call) (any, error) {
	var names []string
	if l, ok := c.listArg("allfields"); ok && len(l) > 0 {
		for _, e := range l {
			if s, ok := e.(string); ok && c.m.has(s) {
				names = append(names, s)
			}
		}
	} else {
		names = c.m.sortedFieldNames()
	}
	var attrs []string
	if l, ok := c.listArg("attributes"); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				attrs = append(attrs, s)
			}
		}
		slices.Sort(attrs)
	} else {
		attrs = []string{"readonly", "relation", "required", "selection", "string", "type"}
	}
	out := newOmap()
	for _, n := range names {
		f := c.m.fields[n]
		d := newOmap()
		for _, a := range attrs {
			switch a {
			case "type":
				d.set("type", f.typ)
			case "string":
				if f.label != "" {
					d.set("string", f.label)
				} else {
					d.set("string", labelFor(c.m.name, n))
				}
			case "required":
				d.set("required", f.req)
			case "readonly":
				d.set("readonly", f.ro)
			case "relation":
				if f.rel != "" {
					d.set("relation", f.rel)
				}
			case "selection":
				if f.typ == "selection" {
					sel := []any{}
					for _, k := range f.sel {
						sel = append(sel, []any{k, labelFor("", strings.ReplaceAll(k, " ", "_"))})
					}
					d.set("selection", sel)
				}
			}
		}
		out.set(n, d)
	}
	return out, nil
}

// bindPositional maps execute_kw's positional args and kwargs onto a method's parameters.
func bindPositional(m *method, qual string, args []any, kwargs map[string]any) ([]int, map[string]any, error) {
	var ids []int
	if !m.model {
		if len(args) == 0 {
			return nil, nil, &OdooError{Name: "builtins.IndexError", Message: "list index out of range"}
		}
		var ok bool
		ids, ok = asIDs(args[0])
		if !ok {
			if args[0] == false || args[0] == nil {
				ids = []int{}
			} else {
				return nil, nil, typeError("unhashable type: '%s'", pyTypeName(args[0]))
			}
		}
		args = args[1:]
	}
	kw := map[string]any{}
	if len(args) > len(m.params) && !m.anyKW {
		return nil, nil, typeError("%s() takes %d positional arguments but %d were given", qual, len(m.params)+1, len(args)+1)
	}
	for i, a := range args {
		if i < len(m.params) {
			kw[m.params[i]] = a
		}
	}
	for k, v := range kwargs {
		if !slices.Contains(m.params, k) && !m.anyKW {
			return nil, nil, typeError("%s() got an unexpected keyword argument '%s'", qual, k)
		}
		if _, dup := kw[k]; dup {
			return nil, nil, typeError("%s() got multiple values for argument '%s'", qual, k)
		}
		kw[k] = v
	}
	for _, r := range m.required {
		if _, ok := kw[r]; !ok {
			return nil, nil, typeError("%s() missing 1 required positional argument: '%s'", qual, r)
		}
	}
	return ids, kw, nil
}

// bindJSON2 maps a JSON-2 body onto a method's parameters.
func bindJSON2(m *method, model, name string, body map[string]any) ([]int, map[string]any, error) {
	var ids []int
	if v, ok := body["ids"]; ok {
		if m.model {
			return nil, nil, werkzeugError(excUnprocessable, 422, fmt.Sprintf("cannot call %s.%s with ids", model, name))
		}
		var ok2 bool
		ids, ok2 = asIDs(v)
		if !ok2 {
			if v == nil || v == false {
				ids = []int{}
			} else {
				return nil, nil, werkzeugError(excUnprocessable, 422, fmt.Sprintf("unhashable type: '%s'", pyTypeName(v)))
			}
		}
	}
	kw := map[string]any{}
	for _, r := range m.required {
		if _, ok := body[r]; !ok {
			return nil, nil, werkzeugError(excUnprocessable, 422, fmt.Sprintf("missing a required argument: '%s'", r))
		}
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "ids" || k == "context" {
			continue
		}
		if !slices.Contains(m.params, k) && !m.anyKW {
			return nil, nil, werkzeugError(excUnprocessable, 422, fmt.Sprintf("got an unexpected keyword argument '%s'", k))
		}
		kw[k] = body[k]
	}
	return ids, kw, nil
}

func setActive(t *txn, c *call, active bool) (any, error) {
	if err := t.checkIDs(c); err != nil {
		return nil, err
	}
	if !c.m.has("active") {
		return nil, userError("The model %s does not have an active field.", c.m.name)
	}
	for _, id := range c.ids {
		t.set(c.m.name, id, record{"active": active})
	}
	return true, nil
}
