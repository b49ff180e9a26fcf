package odoosim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// record is one stored row. Values: string (char, text, selection, date, datetime; "" = false),
// float64, int (integer, many2one id; 0 = false), bool, []int (many2many).
type record map[string]any

type table struct {
	next int
	rows map[int]record
}

// database is the whole in-memory state. A transaction works on a clone and swaps it in on success.
type database struct {
	tables map[string]*table
	seqs   map[string]int
	flags  map[string]bool
}

func newDatabase() *database {
	return &database{tables: map[string]*table{}, seqs: map[string]int{}, flags: map[string]bool{}}
}

func (d *database) clone() *database {
	c := &database{tables: make(map[string]*table, len(d.tables)), seqs: make(map[string]int, len(d.seqs)),
		flags: make(map[string]bool, len(d.flags))}
	for k, v := range d.seqs {
		c.seqs[k] = v
	}
	for k, v := range d.flags {
		c.flags[k] = v
	}
	for name, t := range d.tables {
		nt := &table{next: t.next, rows: make(map[int]record, len(t.rows))}
		for id, r := range t.rows {
			nr := make(record, len(r))
			for k, v := range r {
				if l, ok := v.([]int); ok {
					v = slices.Clone(l)
				}
				nr[k] = v
			}
			nt.rows[id] = nr
		}
		c.tables[name] = nt
	}
	return c
}

func (d *database) table(name string) *table {
	t := d.tables[name]
	if t == nil {
		t = &table{next: 1, rows: map[int]record{}}
		d.tables[name] = t
	}
	return t
}

// txn is one RPC call's transaction.
type txn struct {
	s   *Sim
	db  *database
	now time.Time
	uid int
	ctx map[string]any
	// readonly is set for the calls that change nothing (read,
	// search_read…): their lookups of the records pointing at another go
	// through refs, built once per call.
	readonly bool
	refs     map[string]map[int][]int
	// sets are the large "in" lists of the call's domains, as sets.
	sets map[*any]*valueSet
}

// pointing returns the ascending ids of model's records whose many2one
// field is id. A read-only call indexes the field the first time it asks,
// so reading n parents with their children costs O(n + children) rather
// than a scan of every child per parent.
func (t *txn) pointing(model, field string, id int) []int {
	if id == 0 {
		return nil
	}
	if !t.readonly {
		return t.where(model, func(r record) bool { v, _ := r[field].(int); return v == id })
	}
	key := model + "\x00" + field
	ix, ok := t.refs[key]
	if !ok {
		ix = map[int][]int{}
		for _, rid := range t.all(model) {
			if v, _ := t.rec(model, rid)[field].(int); v != 0 {
				ix[v] = append(ix[v], rid)
			}
		}
		if t.refs == nil {
			t.refs = map[string]map[int][]int{}
		}
		t.refs[key] = ix
	}
	return slices.Clone(ix[id])
}

const dtFormat = "2006-01-02 15:04:05"

// nowStr is the transaction timestamp with microseconds, as PostgreSQL stores it; reads show seconds.
func (t *txn) nowStr() string    { return t.now.UTC().Format(dtFormat + ".000000") }
func (t *txn) today() string     { return t.now.UTC().Format("2006-01-02") }
func (t *txn) m(n string) *model { return t.s.models[n] }

func (t *txn) rec(model string, id int) record {
	if id == 0 {
		return nil
	}
	return t.db.table(model).rows[id]
}

// all returns the ids of a model in ascending order.
func (t *txn) all(model string) []int {
	rows := t.db.table(model).rows
	ids := make([]int, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// where returns ascending ids of records for which pred holds.
func (t *txn) where(model string, pred func(r record) bool) []int {
	var out []int
	for _, id := range t.all(model) {
		if pred(t.rec(model, id)) {
			out = append(out, id)
		}
	}
	return out
}

// insert stores a record as is (after defaults); it sets id, create/write dates and users.
func (t *txn) insert(model string, vals record) int {
	tb := t.db.table(model)
	id := tb.next
	if v, ok := vals["id"].(int); ok && v > 0 {
		id = v
	}
	if id >= tb.next {
		tb.next = id + 1
	}
	r := record{}
	m := t.m(model)
	if m != nil && m.has("active") {
		r["active"] = true
	}
	for k, v := range vals {
		r[k] = v
	}
	r["id"] = id
	r["create_date"] = t.nowStr()
	r["write_date"] = t.nowStr()
	r["create_uid"] = t.uid
	r["write_uid"] = t.uid
	tb.rows[id] = r
	return id
}

// set updates stored values and touches write_date.
func (t *txn) set(model string, id int, vals record) {
	r := t.rec(model, id)
	if r == nil {
		return
	}
	for k, v := range vals {
		r[k] = v
	}
	r["write_date"] = t.nowStr()
	r["write_uid"] = t.uid
}

func (t *txn) touch(model string, id int) { t.set(model, id, record{}) }

// del removes a record.
func (t *txn) del(model string, id int) { delete(t.db.table(model).rows, id) }

// next returns the next value of a named sequence.
func (t *txn) next(seq string) int {
	t.db.seqs[seq]++
	return t.db.seqs[seq]
}

// get returns a field's value for a record: computed, one2many by inverse, stored or the empty value.
func (t *txn) get(m *model, r record, name string) any {
	f := m.fields[name]
	if f == nil {
		return r[name]
	}
	if name == "display_name" && m.display != nil {
		return m.display(t, r)
	}
	if f.compute != nil {
		return f.compute(t, r)
	}
	if f.typ == "one2many" && f.inverse != "" {
		id, _ := r["id"].(int)
		return t.children(f.rel, f.inverse, id)
	}
	if v, ok := r[name]; ok && v != nil {
		return v
	}
	return zeroOf(f)
}

// children lists the comodel ids whose inverse points at id, in the comodel's default order.
func (t *txn) children(comodel, inverse string, id int) []int {
	ids := t.pointing(comodel, inverse, id)
	if cm := t.m(comodel); cm != nil {
		ids, _ = t.sortIDs(cm, ids, "")
	}
	if ids == nil {
		ids = []int{}
	}
	return ids
}

func zeroOf(f *field) any {
	switch f.typ {
	case "integer", "many2one":
		return 0
	case "float", "monetary":
		return 0.0
	case "boolean":
		return false
	case "one2many", "many2many":
		return []int{}
	}
	return ""
}

// str, num, i, b read typed values.
func (t *txn) str(m string, r record, f string) string {
	s, _ := t.get(t.m(m), r, f).(string)
	return s
}
func (t *txn) num(m string, r record, f string) float64 {
	switch v := t.get(t.m(m), r, f).(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}
func (t *txn) i(m string, r record, f string) int  { v, _ := t.get(t.m(m), r, f).(int); return v }
func (t *txn) b(m string, r record, f string) bool { v, _ := t.get(t.m(m), r, f).(bool); return v }
func (t *txn) ids(m string, r record, f string) []int {
	v, _ := t.get(t.m(m), r, f).([]int)
	return v
}

// displayName of a record of a model.
func (t *txn) displayName(model string, id int) string {
	r := t.rec(model, id)
	if r == nil {
		return ""
	}
	m := t.m(model)
	if m != nil && m.display != nil {
		return m.display(t, r)
	}
	if s, ok := r["name"].(string); ok {
		return s
	}
	return fmt.Sprintf("%s,%d", model, id)
}

// encode renders a stored value the way Odoo's read does.
func (t *txn) encode(f *field, v any, classicWrite bool) any {
	switch f.typ {
	case "many2one":
		id, _ := v.(int)
		if id == 0 {
			return false
		}
		if classicWrite {
			return id
		}
		return []any{id, t.displayName(f.rel, id)}
	case "one2many", "many2many":
		l, _ := v.([]int)
		if l == nil {
			l = []int{}
		}
		return l
	case "float", "monetary":
		switch x := v.(type) {
		case float64:
			return pyFloat(math.Round(x*1e6) / 1e6)
		case int:
			return pyFloat(x)
		}
		return pyFloat(0)
	case "integer":
		if x, ok := v.(int); ok {
			return x
		}
		return 0
	case "boolean":
		b, _ := v.(bool)
		return b
	case "json":
		if v == nil || v == "" {
			return false
		}
		return v
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return false
	}
	if f.typ == "datetime" && len(s) > 19 {
		return s[:19]
	}
	return s
}

// --- reads and searches --------------------------------------------------------------------

func (t *txn) invalidReadField(m *model, name string) *OdooError {
	if t.s.version >= 19 {
		return valueError("Invalid field '%s' on '%s'", name, m.name)
	}
	return valueError("Invalid field '%s' on model '%s'", name, m.name)
}

// read implements read(ids, fields, load): missing ids are dropped silently.
func (t *txn) read(m *model, ids []int, fields []string, classicWrite bool) ([]any, error) {
	for _, f := range fields {
		if !m.has(f) {
			return nil, t.invalidReadField(m, f)
		}
	}
	if len(fields) == 0 {
		fields = m.sortedFieldNames()
	}
	out := []any{}
	seen := map[int]bool{}
	for _, id := range ids {
		r := t.rec(m.name, id)
		if r == nil || seen[id] {
			continue
		}
		seen[id] = true
		row := newOmap().set("id", id)
		for _, f := range fields {
			if f == "id" {
				continue
			}
			row.set(f, t.encode(m.fields[f], t.get(m, r, f), classicWrite))
		}
		out = append(out, row)
	}
	return out, nil
}

// search implements search(domain, offset, limit, order).
func (t *txn) search(m *model, domain []any, offset, limit int, order string) ([]int, error) {
	node, err := t.parseDomain(m, domain)
	if err != nil {
		return nil, err
	}
	activeTest := true
	if v, ok := t.ctx["active_test"]; ok && !truthy(v) {
		activeTest = false
	}
	if domainMentions(domain, "active") {
		activeTest = false
	}
	var ids []int
	for _, id := range t.all(m.name) {
		r := t.rec(m.name, id)
		if activeTest && m.has("active") {
			if a, ok := r["active"].(bool); ok && !a {
				continue
			}
		}
		ok, err := t.eval(m, r, node)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	ids, err = t.sortIDs(m, ids, order)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		if offset >= len(ids) {
			ids = nil
		} else {
			ids = ids[offset:]
		}
	}
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	if ids == nil {
		ids = []int{}
	}
	return ids, nil
}

func domainMentions(domain []any, fname string) bool {
	for _, e := range domain {
		if l, ok := e.([]any); ok && len(l) == 3 {
			if s, ok := l[0].(string); ok && (s == fname || strings.HasPrefix(s, fname+".")) {
				return true
			}
		}
	}
	return false
}

type orderKey struct {
	field string
	desc  bool
}

func (t *txn) parseOrder(m *model, order string) ([]orderKey, error) {
	if strings.TrimSpace(order) == "" {
		order = m.order
	}
	if order == "" {
		order = "id"
	}
	var keys []orderKey
	for _, part := range strings.Split(order, ",") {
		w := strings.Fields(part)
		if len(w) == 0 {
			continue
		}
		k := orderKey{field: w[0]}
		if len(w) > 1 {
			switch strings.ToLower(w[1]) {
			case "desc":
				k.desc = true
			case "asc":
			default:
				return nil, valueError("Invalid \"order\" specified (%s). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)", order)
			}
		}
		if !m.has(k.field) {
			return nil, valueError("Invalid \"order\" specified (%s). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)", order)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortIDs orders ids by an order spec (model default when empty); false values sort last ascending.
func (t *txn) sortIDs(m *model, ids []int, order string) ([]int, error) {
	keys, err := t.parseOrder(m, order)
	if err != nil {
		return nil, err
	}
	type row struct {
		id   int
		vals []any
	}
	rows := make([]row, len(ids))
	for i, id := range ids {
		r := t.rec(m.name, id)
		vals := make([]any, len(keys))
		for j, k := range keys {
			f := m.fields[k.field]
			v := t.get(m, r, k.field)
			if f.typ == "many2one" {
				if id, _ := v.(int); id != 0 {
					v = t.displayName(f.rel, id)
				} else {
					v = ""
				}
			}
			vals[j] = v
		}
		rows[i] = row{id, vals}
	}
	sort.SliceStable(rows, func(a, b int) bool {
		for j, k := range keys {
			c := compareVals(rows[a].vals[j], rows[b].vals[j])
			if c == 0 {
				continue
			}
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		// ties: follow the direction of the first key (PostgreSQL gives no order; this is stable)
		if len(keys) > 0 && keys[0].desc {
			return rows[a].id > rows[b].id
		}
		return rows[a].id < rows[b].id
	})
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out, nil
}

// compareVals compares stored values; empty values sort after everything (nulls last).
func compareVals(a, b any) int {
	ea, eb := isEmpty(a), isEmpty(b)
	switch {
	case ea && eb:
		return 0
	case ea:
		return 1
	case eb:
		return -1
	}
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	case bool:
		y, _ := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	}
	fa, _ := toF(a)
	fb, _ := toF(b)
	return cmp.Compare(fa, fb)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

func toF(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// --- writes --------------------------------------------------------------------------------

type x2mOp struct {
	field *field
	cmds  []any
}

// convert checks and converts client values for a model; x2many values are returned for later.
func (t *txn) convert(m *model, vals map[string]any) (record, []x2mOp, error) {
	out := record{}
	var ops []x2mOp
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := vals[k]
		f := m.fields[k]
		if f == nil {
			return nil, nil, valueError("Invalid field '%s' on model '%s'", k, m.name)
		}
		if k == "id" {
			continue
		}
		switch f.typ {
		case "many2one":
			if !truthy(v) {
				out[k] = 0
				continue
			}
			id, ok := asInt(v)
			if !ok {
				if l, ok2 := v.([]any); ok2 && len(l) > 0 {
					id, ok = asInt(l[0])
				}
			}
			if !ok {
				return nil, nil, valueError("Wrong value for %s.%s: %s", m.name, k, pyRepr(v))
			}
			if t.m(f.rel) != nil && t.rec(f.rel, id) == nil {
				return nil, nil, missingError(f.rel, []int{id}, t.uid)
			}
			out[k] = id
		case "one2many", "many2many":
			cmds, ok := v.([]any)
			if !ok && truthy(v) {
				return nil, nil, valueError("Wrong value for %s.%s: %s", m.name, k, pyRepr(v))
			}
			ops = append(ops, x2mOp{f, cmds})
		case "selection":
			if !truthy(v) {
				out[k] = ""
				continue
			}
			s, ok := v.(string)
			if !ok || (len(f.sel) > 0 && !slices.Contains(f.sel, s)) {
				owner := f.selOwner
				if owner == "" {
					owner = m.name
				}
				return nil, nil, valueError("Wrong value for %s.%s: %s", owner, k, pyRepr(v))
			}
			out[k] = s
		case "float", "monetary":
			if !truthy(v) {
				out[k] = 0.0
				continue
			}
			x, ok := asFloat(v)
			if !ok {
				return nil, nil, valueError("could not convert string to float: %s", pyRepr(v))
			}
			out[k] = x
		case "integer":
			if !truthy(v) {
				out[k] = 0
				continue
			}
			x, ok := asFloat(v)
			if !ok {
				return nil, nil, valueError("invalid literal for int() with base 10: %s", pyRepr(v))
			}
			out[k] = int(x)
		case "boolean":
			out[k] = truthy(v)
		case "date", "datetime":
			if !truthy(v) {
				out[k] = ""
				continue
			}
			s, ok := v.(string)
			if !ok {
				return nil, nil, valueError("Invalid date/datetime value %s", pyRepr(v))
			}
			layout := dtFormat
			if f.typ == "date" {
				layout = "2006-01-02"
				if len(s) > 10 {
					s = s[:10]
				}
			} else if len(s) == 10 {
				s += " 00:00:00"
			}
			if _, err := time.Parse(layout, s); err != nil {
				return nil, nil, valueError("time data %s does not match format '%%Y-%%m-%%d %%H:%%M:%%S'", pyRepr(v))
			}
			out[k] = s
		case "json":
			out[k] = v
		default:
			if !truthy(v) {
				out[k] = ""
				continue
			}
			switch x := v.(type) {
			case string:
				out[k] = x
			default:
				out[k] = pyRepr(x)
			}
		}
	}
	return out, ops, nil
}

// create runs the full create path for one vals dict.
func (t *txn) create(m *model, vals map[string]any) (int, error) {
	if vals == nil {
		vals = map[string]any{}
	}
	// context defaults (leak into nested creates, as in Odoo)
	for k, v := range t.ctx {
		if fname, ok := strings.CutPrefix(k, "default_"); ok && m.has(fname) {
			if _, set := vals[fname]; !set {
				vals[fname] = v
			}
		}
	}
	conv, ops, err := t.convert(m, vals)
	if err != nil {
		return 0, err
	}
	if m.defaults != nil {
		m.defaults(t, conv)
	}
	for _, req := range m.required {
		if !truthy(conv[req]) {
			return 0, t.requiredError(m, req)
		}
	}
	id := t.insert(m.name, conv)
	for _, op := range ops {
		if err := t.applyX2M(m, id, op); err != nil {
			return 0, err
		}
	}
	if m.created != nil {
		if err := m.created(t, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (t *txn) requiredError(m *model, fname string) *OdooError {
	label := labelFor(m.name, fname)
	desc := m.desc
	if desc == "" {
		desc = m.name
	}
	if t.s.version >= 19 {
		return &OdooError{Name: excValidationError, Message: fmt.Sprintf(
			"The operation cannot be completed: Missing required value for the field '%s' (%s).\nModel: '%s' (%s)\n- create/update: a mandatory field is not set\n- delete: another model requires the record being deleted, you can archive it instead\n",
			label, fname, desc, m.name)}
	}
	return &OdooError{Name: excValidationError, Message: fmt.Sprintf(
		"The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\nModel: %s (%s)\nField: %s (%s)\n",
		desc, m.name, label, fname)}
}

// write runs the full write path.
func (t *txn) write(m *model, ids []int, vals map[string]any) error {
	var missing []int
	for _, id := range ids {
		if t.rec(m.name, id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return missingError(m.name, missing, t.uid)
	}
	conv, ops, err := t.convert(m, vals)
	if err != nil {
		return err
	}
	for _, req := range m.required {
		if v, ok := conv[req]; ok && !truthy(v) {
			return t.requiredError(m, req)
		}
	}
	for _, id := range ids {
		t.set(m.name, id, conv)
		for _, op := range ops {
			if err := t.applyX2M(m, id, op); err != nil {
				return err
			}
		}
	}
	if m.written != nil {
		return m.written(t, ids, vals)
	}
	return nil
}

// unlink deletes records (after the model's veto hook).
func (t *txn) unlink(m *model, ids []int) error {
	var missing []int
	for _, id := range ids {
		if t.rec(m.name, id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return missingError(m.name, missing, t.uid)
	}
	if m.unlinkOK != nil {
		if err := m.unlinkOK(t, ids); err != nil {
			return err
		}
	}
	for _, id := range ids {
		// cascade one2many children declared with an inverse
		for _, f := range m.fields {
			if f.typ == "one2many" && f.inverse != "" && f.compute == nil {
				for _, cid := range t.children(f.rel, f.inverse, id) {
					t.del(f.rel, cid)
				}
			}
		}
		t.del(m.name, id)
	}
	return nil
}

// applyX2M applies x2many commands (and plain id lists) to one record.
func (t *txn) applyX2M(m *model, id int, op x2mOp) error {
	f := op.field
	cm := t.m(f.rel)
	for _, raw := range op.cmds {
		if n, ok := asInt(raw); ok { // bare id: link
			raw = []any{4.0, float64(n)}
		}
		cmd, ok := raw.([]any)
		if !ok || len(cmd) == 0 {
			return valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(raw))
		}
		code, ok := asInt(cmd[0])
		if !ok {
			return valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(raw))
		}
		arg := func(i int) any {
			if i < len(cmd) {
				return cmd[i]
			}
			return nil
		}
		tid, _ := asInt(arg(1))
		switch code {
		case 0:
			if cm == nil {
				return valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(raw))
			}
			vals, _ := arg(2).(map[string]any)
			nv := map[string]any{}
			for k, v := range vals {
				nv[k] = v
			}
			if f.typ == "one2many" && f.inverse != "" {
				nv[f.inverse] = float64(id)
			}
			nid, err := t.create(cm, nv)
			if err != nil {
				return err
			}
			if f.typ == "many2many" {
				t.m2mSet(m.name, id, f.name, append(t.m2mGet(m.name, id, f.name), nid))
			}
		case 1:
			if cm == nil {
				continue
			}
			vals, _ := arg(2).(map[string]any)
			if err := t.write(cm, []int{tid}, vals); err != nil {
				return err
			}
		case 2:
			if cm != nil && t.rec(f.rel, tid) != nil {
				if err := t.unlink(cm, []int{tid}); err != nil {
					return err
				}
			}
			if f.typ == "many2many" {
				t.m2mSet(m.name, id, f.name, without(t.m2mGet(m.name, id, f.name), tid))
			}
		case 3:
			if f.typ == "one2many" && f.inverse != "" {
				if cm != nil && t.rec(f.rel, tid) != nil {
					if err := t.unlink(cm, []int{tid}); err != nil {
						return err
					}
				}
			} else {
				t.m2mSet(m.name, id, f.name, without(t.m2mGet(m.name, id, f.name), tid))
			}
		case 4:
			if cm != nil && t.rec(f.rel, tid) == nil {
				return missingError(f.rel, []int{tid}, t.uid)
			}
			if f.typ == "one2many" && f.inverse != "" {
				t.set(f.rel, tid, record{f.inverse: id})
			} else {
				cur := t.m2mGet(m.name, id, f.name)
				if !slices.Contains(cur, tid) {
					t.m2mSet(m.name, id, f.name, append(cur, tid))
				}
			}
		case 5:
			if f.typ == "one2many" && f.inverse != "" {
				for _, cid := range t.children(f.rel, f.inverse, id) {
					if err := t.unlink(cm, []int{cid}); err != nil {
						return err
					}
				}
			} else {
				t.m2mSet(m.name, id, f.name, []int{})
			}
		case 6:
			ids, ok := asIDs(arg(2))
			if !ok {
				ids = nil
			}
			for _, x := range ids {
				if cm != nil && t.rec(f.rel, x) == nil {
					return missingError(f.rel, []int{x}, t.uid)
				}
			}
			if f.typ == "one2many" && f.inverse != "" {
				for _, cid := range t.children(f.rel, f.inverse, id) {
					if !slices.Contains(ids, cid) {
						if err := t.unlink(cm, []int{cid}); err != nil {
							return err
						}
					}
				}
				for _, x := range ids {
					t.set(f.rel, x, record{f.inverse: id})
				}
			} else {
				t.m2mSet(m.name, id, f.name, dedupe(ids))
			}
		default:
			return valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(raw))
		}
	}
	return nil
}

func (t *txn) m2mGet(model string, id int, fname string) []int {
	r := t.rec(model, id)
	if r == nil {
		return nil
	}
	l, _ := r[fname].([]int)
	return slices.Clone(l)
}

func (t *txn) m2mSet(model string, id int, fname string, ids []int) {
	t.set(model, id, record{fname: ids})
}

func without(l []int, x int) []int {
	out := []int{}
	for _, v := range l {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func dedupe(l []int) []int {
	out := []int{}
	for _, v := range l {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
