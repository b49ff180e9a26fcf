package odoosim

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"sort"
	"strings"
)

//go:embed catalog/fields19.txt
var fields19 []byte

//go:embed catalog/diff_18_19.txt
var diff1819 []byte

// field describes one field of a model, as fields_get reports it, plus simulator behaviour.
type field struct {
	name     string
	typ      string // char, text, html, selection, integer, float, monetary, boolean, date, datetime, many2one, one2many, many2many, binary, json
	rel      string
	sel      []string
	req      bool
	ro       bool
	label    string
	selOwner string // model named in "Wrong value for <owner>.<field>" (inherited fields)
	inverse  string // one2many: the many2one on rel pointing back
	compute  func(t *txn, r record) any
}

// model is a simulated Odoo model: its fields (for the chosen version), methods and hooks.
type model struct {
	name     string
	desc     string
	fields   map[string]*field
	order    string
	methods  map[string]*method
	display  func(t *txn, r record) string
	required []string // fields that must be set after defaults (NOT NULL)
	defaults func(t *txn, vals record)
	created  func(t *txn, id int) error
	written  func(t *txn, ids []int, vals map[string]any) error
	unlinkOK func(t *txn, ids []int) error
	chatter  bool
}

func (m *model) field(name string) *field { return m.fields[name] }

// has reports whether the model has the field in this version.
func (m *model) has(name string) bool { _, ok := m.fields[name]; return ok }

// compute attaches a compute function to a field if the version has it.
func (m *model) compute(name string, fn func(t *txn, r record) any) {
	if f, ok := m.fields[name]; ok {
		f.compute = fn
	}
}

// inverse declares the inverse many2one of a one2many field if the version has it.
func (m *model) inverse(name, inv string) {
	if f, ok := m.fields[name]; ok {
		f.inverse = inv
	}
}

type rawField struct {
	F   string   `json:"f"`
	T   string   `json:"t"`
	Sel []string `json:"sel"`
	Rel *string  `json:"rel"`
	Req bool     `json:"req"`
	RO  bool     `json:"ro"`
}

func (r rawField) toField() *field {
	f := &field{name: r.F, typ: r.T, sel: r.Sel, req: r.Req, ro: r.RO}
	if r.Rel != nil {
		f.rel = *r.Rel
	}
	return f
}

// parseFieldsFile reads the "## model" + one JSON line per field format of the fixtures.
func parseFieldsFile(data []byte) map[string]map[string]*field {
	out := map[string]map[string]*field{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "## "):
			cur = strings.TrimSpace(line[3:])
			out[cur] = map[string]*field{}
		case strings.HasPrefix(line, "{") && cur != "":
			var rf rawField
			if json.Unmarshal([]byte(line), &rf) == nil {
				out[cur][rf.F] = rf.toField()
			}
		}
	}
	return out
}

// catalogFor builds the field catalogue of the models covered by the fixtures for a version:
// 19 as recorded, 18 by reverting the recorded 18→19 diff, 17 and 16 by the §0 differences.
func catalogFor(version int) map[string]map[string]*field {
	cat := parseFieldsFile(fields19)
	if version >= 19 {
		return cat
	}
	// Revert the diff: "+" only in 19, "-" only in 18, "~" pairs (18 line first).
	cur := ""
	var pendingTilde bool
	sc := bufio.NewScanner(bytes.NewReader(diff1819))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			cur = strings.TrimSpace(line[3:])
			pendingTilde = false
			continue
		}
		if len(line) < 3 || cur == "" || cat[cur] == nil {
			continue
		}
		var rf rawField
		if json.Unmarshal([]byte(line[2:]), &rf) != nil {
			continue
		}
		switch line[0] {
		case '+':
			delete(cat[cur], rf.F)
		case '-':
			cat[cur][rf.F] = rf.toField()
		case '~':
			if !pendingTilde {
				cat[cur][rf.F] = rf.toField()
			}
			pendingTilde = !pendingTilde
		}
	}
	if version >= 18 {
		return cat
	}
	add := func(m string, fs ...*field) {
		for _, f := range fs {
			cat[m][f.name] = f
		}
	}
	// 17: no is_storable; detailed_type/type with 'product'; no location_final_id.
	pp := cat["product.product"]
	delete(pp, "is_storable")
	pp["type"] = &field{name: "type", typ: "selection", sel: []string{"consu", "service", "product"}, req: true}
	add("product.product", &field{name: "detailed_type", typ: "selection", sel: []string{"consu", "service", "product"}, req: true})
	delete(cat["stock.move"], "location_final_id")
	delete(cat["stock.move.line"], "location_final_id")
	if version >= 17 {
		return cat
	}
	// 16: SO state 'done' and no 'locked'; qty_done/reserved_uom_qty instead of quantity/picked.
	so := cat["sale.order"]
	delete(so, "locked")
	so["state"] = &field{name: "state", typ: "selection", sel: []string{"draft", "sent", "sale", "done", "cancel"}, ro: true}
	sm := cat["stock.move"]
	delete(sm, "quantity")
	delete(sm, "picked")
	add("stock.move",
		&field{name: "quantity_done", typ: "float"},
		&field{name: "reserved_availability", typ: "float", ro: true})
	sml := cat["stock.move.line"]
	delete(sml, "quantity")
	delete(sml, "picked")
	delete(sml, "quantity_product_uom")
	add("stock.move.line",
		&field{name: "qty_done", typ: "float"},
		&field{name: "reserved_uom_qty", typ: "float"},
		&field{name: "reserved_qty", typ: "float", ro: true})
	delete(cat["stock.picking"], "return_id")
	delete(cat["stock.picking"], "return_ids")
	return cat
}

// fieldSpecs builds fields from compact specs "name|type|rel-or-selection|inverse".
func fieldSpecs(specs ...string) map[string]*field {
	out := map[string]*field{}
	for _, s := range specs {
		p := strings.Split(s, "|")
		f := &field{name: p[0], typ: p[1]}
		if len(p) > 2 {
			if f.typ == "selection" {
				f.sel = strings.Split(p[2], ",")
			} else {
				f.rel = p[2]
			}
		}
		if len(p) > 3 {
			f.inverse = p[3]
		}
		out[f.name] = f
	}
	return out
}

// addMagic adds the fields every model has.
func addMagic(fs map[string]*field) {
	for _, s := range []string{"id|integer", "display_name|char", "create_date|datetime", "write_date|datetime",
		"create_uid|many2one|res.users", "write_uid|many2one|res.users"} {
		for k, f := range fieldSpecs(s) {
			if _, ok := fs[k]; !ok {
				f.ro = true
				fs[k] = f
			}
		}
	}
}

// labelFor gives a human label for fields_get "string".
func labelFor(m, name string) string {
	known := map[string]string{
		"partner_id": "Customer", "product_uom_id": "Unit", "tax_ids": "Taxes", "product_uom": "Unit",
		"tax_id": "Taxes", "id": "ID", "display_name": "Display Name", "name": "Name",
		"product_uom_qty": "Quantity", "qty_done": "Quantity", "quantity": "Quantity",
	}
	if m != "sale.order" && name == "partner_id" {
		return "Partner"
	}
	if l, ok := known[name]; ok {
		return l
	}
	n := strings.TrimSuffix(strings.TrimSuffix(name, "_id"), "_ids")
	words := strings.Split(n, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// sortedFieldNames lists a model's fields alphabetically.
func (m *model) sortedFieldNames() []string {
	names := make([]string, 0, len(m.fields))
	for n := range m.fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
