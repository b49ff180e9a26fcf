package jsonmap

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/waybill/waybill/internal/tracking"
)

// Apply maps one payload to canonical events. p holds the partner's
// settings (default zone, weight unit, status and reason code overrides);
// nil means none.
//
// A payload that is not one JSON value gives a [*JSONError] (wrapping
// [ErrInvalidJSON]); one the mapping cannot turn into valid events gives a
// [*ValidationError] listing every problem. Either way no events are
// returned. Otherwise the events are sorted by occurred_at, then
// source_event_id, with duplicates inside the payload removed and counted
// in Dropped; every event passes [tracking.Event.Validate].
func (m *Mapping) Apply(payload []byte, p *tracking.Partner) (tracking.Mapped, error) {
	doc, err := decodeJSON(payload)
	if err != nil {
		return tracking.Mapped{}, err
	}
	r := &run{m: m, partner: p, doc: doc}
	if p != nil && p.Zone != "" {
		if _, err := r.zone(p.Zone); err != nil {
			return tracking.Mapped{}, fmt.Errorf("loading the partner's default zone: %w", err)
		}
	}
	for _, v := range m.require {
		if got := v.ptr.walk(doc); absent(got) {
			r.problem(Problem{Pointer: v.ptr.absolute("", false), Field: v.field, Line: v.line, Missing: true, Msg: "missing"})
		}
	}
	if len(r.probs) > 0 {
		return tracking.Mapped{}, r.err()
	}

	top := &elem{act: activation{payload: doc}}
	for _, vs := range m.vars {
		r.setVar(top, vs)
	}
	var events []tracking.Event
	for _, b := range m.blocks {
		if r.full() {
			break
		}
		events = r.block(b, top, events)
	}
	if len(r.probs) > 0 {
		return tracking.Mapped{}, r.err()
	}
	return dedupe(events), nil
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, jsonError(data, se.Offset-1, err)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, jsonError(data, int64(len(data)), io.ErrUnexpectedEOF)
		default:
			return nil, jsonError(data, dec.InputOffset(), err)
		}
	}
	off := dec.InputOffset()
	for off < int64(len(data)) && isSpace(data[off]) {
		off++
	}
	if off < int64(len(data)) {
		return nil, jsonError(data, off, errors.New("unexpected data after the JSON value"))
	}
	return doc, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// jsonError locates the byte at off.
func jsonError(data []byte, off int64, err error) *JSONError {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	return &JSONError{
		Line:   1 + bytes.Count(before, []byte{'\n'}),
		Column: int(off) - bytes.LastIndexByte(before, '\n'),
		Offset: off,
		Err:    err,
	}
}

func absent(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// run is the state of one Apply.
type run struct {
	m       *Mapping
	partner *tracking.Partner
	doc     any
	spent   uint64
	probs   []Problem
	omitted int
	zones   map[string]*time.Location
}

func (r *run) problem(p Problem) {
	if len(r.probs) >= MaxProblems {
		r.omitted++
		return
	}
	r.probs = append(r.probs, p)
}

func (r *run) full() bool { return len(r.probs) >= MaxProblems }

func (r *run) err() error {
	return &ValidationError{Format: r.m.format, Problems: r.probs, Omitted: r.omitted}
}

func (r *run) zone(name string) (*time.Location, error) {
	if z, ok := r.zones[name]; ok {
		return z, nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if r.zones == nil {
		r.zones = map[string]*time.Location{}
	}
	r.zones[name] = z
	return z, nil
}

// elem is the event element being mapped and the vars in scope.
type elem struct {
	value   any
	ptr     string // from the payload root
	known   bool   // ptr is meaningful
	act     activation
	natives []any // the vars as plain values, converted on first use
	conv    []bool
}

// at returns the element's pointer when known.
func (e *elem) at() string {
	if e.known {
		return e.ptr
	}
	return ""
}

// fail records a problem with v.
func (r *run) fail(v *value, at string, missing bool, format string, args ...any) {
	p := Problem{Pointer: at, Missing: missing, Msg: fmt.Sprintf(format, args...)}
	if v != nil {
		p.Field, p.Line = v.field, v.line
	}
	r.problem(p)
}

// eval runs a CEL program within the cost budget of the payload.
func (r *run) eval(prog cel.Program, act *activation) (ref.Val, error) {
	if r.spent > payloadBudget {
		return nil, errBudget
	}
	out, det, err := prog.Eval(act)
	if det != nil {
		if c := det.ActualCost(); c != nil {
			r.spent += *c
		}
	}
	return out, err
}

// get evaluates v for the element. ok is false when a problem was
// recorded; val is nil when the value is absent. at is the pointer of the
// value, or of the element for an expression.
func (r *run) get(v *value, e *elem) (val any, at string, ok bool) {
	switch {
	case v.konst != "":
		return v.konst, e.at(), true
	case v.ptr != nil:
		switch v.ptr.root {
		case rootElement:
			return v.ptr.walk(e.value), v.ptr.absolute(e.ptr, e.known), true
		case rootPayload:
			return v.ptr.walk(r.doc), v.ptr.absolute("", false), true
		}
		i := slices.Index(e.act.names, v.ptr.name)
		for j := len(e.act.names) - 1; j > i; j-- {
			if e.act.names[j] == v.ptr.name {
				i = j
			}
		}
		if i < 0 {
			return nil, "", true
		}
		if !e.conv[i] {
			n, err := native(e.act.vals[i], 0)
			if err != nil {
				r.fail(v, e.at(), false, "var %s: %v", v.ptr.name, err)
				return nil, "", false
			}
			e.natives[i], e.conv[i] = n, true
		}
		return v.ptr.walk(e.natives[i]), "", true
	}
	out, err := r.eval(v.prog, &e.act)
	if err != nil {
		r.fail(v, e.at(), false, "evaluating: %v", err)
		return nil, e.at(), false
	}
	n, err := native(out, 0)
	if err != nil {
		r.fail(v, e.at(), false, "evaluating: %v", err)
		return nil, e.at(), false
	}
	return n, e.at(), true
}

// setVar evaluates a var and adds it to the element's scope.
func (r *run) setVar(e *elem, vs *varSpec) {
	var val ref.Val = types.NullValue
	switch {
	case vs.v.prog != nil:
		out, err := r.eval(vs.v.prog, &e.act)
		if err != nil {
			r.fail(vs.v, e.at(), false, "evaluating: %v", err)
		} else {
			val = out
		}
	default:
		if got, _, ok := r.get(vs.v, e); ok {
			val = types.DefaultTypeAdapter.NativeToValue(got)
		}
	}
	e.act.names = append(e.act.names, vs.name)
	e.act.vals = append(e.act.vals, val)
	e.natives = append(e.natives, nil)
	e.conv = append(e.conv, false)
}

// str evaluates a value that must be text.
func (r *run) str(v *value, e *elem) (string, bool) {
	if v == nil {
		return "", false
	}
	got, at, ok := r.get(v, e)
	if !ok || got == nil {
		return "", false
	}
	s, isText := trimmed(got)
	if !isText {
		r.fail(v, at, false, "want a string, got %s", kindName(got))
		return "", false
	}
	return s, s != ""
}

// strs evaluates a value that is text or a list of texts.
func (r *run) strs(v *value, e *elem) []string {
	got, at, ok := r.get(v, e)
	if !ok || got == nil {
		return nil
	}
	list, isList := got.([]any)
	if !isList {
		list = []any{got}
	}
	var out []string
	for _, x := range list {
		if x == nil {
			continue
		}
		s, isText := trimmed(x)
		if !isText {
			r.fail(v, at, false, "want a string or a list of strings, got %s", kindName(x))
			return nil
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// number evaluates a value that must be a finite number.
func (r *run) number(v *value, e *elem) (float64, bool) {
	if v == nil {
		return 0, false
	}
	got, at, ok := r.get(v, e)
	if !ok || absent(got) {
		return 0, false
	}
	s, isText := trimmed(got)
	if !isText {
		r.fail(v, at, false, "want a number, got %s", kindName(got))
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(v, at, false, "want a number, got %q", s)
		return 0, false
	}
	return f, true
}

// count evaluates a value that must be a whole number of things, such as
// 3, "3" or "3 PLT"; it returns what follows the number too.
func (r *run) count(v *value, e *elem) (n int, rest string, ok bool) {
	if v == nil {
		return 0, "", false
	}
	got, at, ok := r.get(v, e)
	if !ok || absent(got) {
		return 0, "", false
	}
	s, isText := trimmed(got)
	if !isText {
		r.fail(v, at, false, "want a count, got %s", kindName(got))
		return 0, "", false
	}
	num, rest, _ := strings.Cut(s, " ")
	q, err := tracking.ParseNumber(num)
	if err != nil || !q.IsInt() || q.Sign() < 0 || q.Num().BitLen() > 30 {
		r.fail(v, at, false, "want a count, got %q", s)
		return 0, "", false
	}
	return int(q.Num().Int64()), strings.TrimSpace(rest), true
}

// block maps the elements of one block.
func (r *run) block(b *block, top *elem, events []tracking.Event) []tracking.Event {
	var (
		items []any
		base  string
		known = true
		list  bool
		src   any
	)
	switch {
	case b.from != nil && b.from.ptr.root == rootVar:
		src, known = r.varValue(top, b.from), false
		if src == nil {
			return events
		}
	case b.from != nil:
		src = b.from.ptr.walk(r.doc)
		base = b.from.ptr.absolute("", false)
		if src == nil {
			return events // nothing to map: an absent or null list
		}
	case b.fromExpr != nil:
		got, _, ok := r.get(b.fromExpr, top)
		if !ok || got == nil {
			return events
		}
		src, known = got, false
	default:
		src = r.doc
	}
	switch x := src.(type) {
	case []any:
		items, list = x, true
	case map[string]any:
		items = []any{x}
	default:
		at := base
		if !known {
			at = ""
		}
		r.problem(Problem{Pointer: at, Field: b.path + ".from", Line: b.line, Msg: "want an array or an object, got " + kindName(src)})
		return events
	}
	for i, item := range items {
		if r.full() {
			break
		}
		e := &elem{
			value:   item,
			ptr:     base,
			known:   known,
			act:     top.act,
			natives: slices.Clone(top.natives),
			conv:    slices.Clone(top.conv),
		}
		e.act.names = slices.Clip(e.act.names)
		e.act.vals = slices.Clip(e.act.vals)
		if list {
			e.ptr = base + "/" + strconv.Itoa(i)
		}
		e.act.event, e.act.index = item, int64(i)
		if b.when != nil {
			got, _, ok := r.get(b.when, e)
			if !ok {
				continue
			}
			if keep, isBool := got.(bool); !isBool {
				r.fail(b.when, e.at(), false, "want a boolean, got %s", kindName(got))
				continue
			} else if !keep {
				continue
			}
		}
		for _, vs := range b.vars {
			r.setVar(e, vs)
		}
		before := len(r.probs) + r.omitted
		ev := r.event(b, e)
		if len(r.probs)+r.omitted == before {
			if err := ev.Validate(); err != nil {
				r.problem(Problem{Pointer: e.at(), Field: b.path, Line: b.line, Msg: err.Error()})
				continue
			}
			events = append(events, ev)
		}
	}
	return events
}

// varValue returns a var named by a from pointer, walked.
func (r *run) varValue(top *elem, v *value) any {
	got, _, ok := r.get(v, top)
	if !ok {
		return nil
	}
	return got
}

// event builds the event of one element, recording problems.
func (r *run) event(b *block, e *elem) tracking.Event {
	ev := tracking.Event{Format: r.m.format}

	// Shipment keys.
	for _, k := range b.keys {
		if k.name == "po" {
			ev.Keys.PO = r.strs(k.v, e)
			continue
		}
		s, _ := r.str(k.v, e)
		switch k.name {
		case "scac":
			ev.Keys.SCAC = s
		case "pro":
			ev.Keys.PRO = s
		case "bol":
			ev.Keys.BOL = s
		case "tracking_number":
			ev.Keys.TrackingNumber = s
		case "carrier":
			ev.Keys.Carrier = s
		case "consignment_id":
			ev.Keys.ConsignmentID = s
		case "odoo_picking":
			ev.Keys.OdooPicking = s
		case "sale_order":
			ev.Keys.SaleOrder = s
		case "customer_ref":
			ev.Keys.CustomerRef = s
		case "provider_id":
			ev.Keys.ProviderID = s
		}
	}
	refs := ev.Keys.Refs()
	if len(refs) == 0 {
		for _, k := range b.keys {
			r.fail(k.v, r.pointerOf(k.v, e), true, "missing: the event names no shipment (no picking, PRO with SCAC, BOL, tracking number, consignment or provider id)")
		}
	}

	// Status, kind and what the code table says.
	ev.Kind = tracking.KindMilestone
	if b.kind != nil {
		if s, ok := r.str(b.kind, e); ok {
			ev.Kind = tracking.Kind(s)
		}
	}
	var ent entry
	if b.status != nil {
		// Only a milestone needs its code; other kinds may still take an
		// exception or a kind from the table.
		ent = r.status(b.status, e, &ev, ev.Kind == tracking.KindMilestone)
	}
	if ent.kind != "" {
		ev.Kind = ent.kind
	}
	if !slices.Contains(kindWords, string(ev.Kind)) {
		r.fail(b.kind, e.at(), false, "unknown kind %q", ev.Kind)
	}
	if ev.Kind == tracking.KindMilestone {
		ev.Status = ent.status
		if ev.Status == "" && b.status == nil {
			r.problem(Problem{Pointer: e.at(), Field: b.path + ".status", Line: b.line, Msg: "a milestone needs a status"})
		}
	}
	ev.Substatus, ev.Reason = ent.substatus, ent.reason
	if s, ok := r.str(b.substatus, e); ok {
		ev.Substatus = s
	}
	if s, ok := r.str(b.reason, e); ok {
		ev.Reason = s
	}
	ev.RawReason, _ = r.str(b.rawReason, e)
	ev.Exception = r.exception(b.exception, e, ent.exception)

	// Location first: a local time may take its zone from it.
	ev.Location = r.location(b.location, e)
	raw := r.when(b.time, e, ev.Location, &ev)
	ev.ETA = r.window(b.eta, e, ev.Location)
	ev.Appointment = r.window(b.appt, e, ev.Location)
	ev.Position = r.position(b.position, e)
	if ev.Kind == tracking.KindPosition && ev.Position == nil && b.position != nil {
		r.problem(Problem{Pointer: e.at(), Field: b.path + ".position", Line: b.line, Missing: true, Msg: "a position event needs lat and lon"})
	}
	for _, w := range b.weights {
		if wt, ok := r.weight(w, e); ok {
			ev.Weights = append(ev.Weights, wt)
		}
	}
	if n, _, ok := r.count(b.pieces, e); ok {
		ev.Pieces = n
	}
	if b.handling != nil {
		if n, rest, ok := r.count(b.handling.count, e); ok {
			hu := &tracking.Count{Count: n, Packaging: rest}
			if s, ok := r.str(b.handling.packaging, e); ok {
				hu.Packaging = s
			}
			ev.HandlingUnits = hu
		}
	}
	ev.Equipment, _ = r.str(b.equipment, e)
	if s, ok := r.str(b.signer, e); ok {
		ev.POD = &tracking.POD{Signer: s}
	}
	for _, v := range b.remarks {
		ev.Remarks = append(ev.Remarks, r.strs(v, e)...)
	}

	// The id last: the default hashes what identifies the event.
	if b.id != nil {
		s, ok := r.str(b.id, e)
		if !ok {
			r.fail(b.id, r.pointerOf(b.id, e), true, "missing")
		}
		ev.SourceEventID = s
	} else {
		parts := append([]string{ev.Format, string(ev.Kind), ev.RawCode, raw}, refs...)
		ev.SourceEventID = digest(parts...)
	}
	return ev
}

// pointerOf returns the pointer of a plain pick, or the element's.
func (r *run) pointerOf(v *value, e *elem) string {
	if v.ptr != nil && v.ptr.root != rootVar {
		return v.ptr.absolute(e.ptr, e.known)
	}
	return e.at()
}

// status looks the element's status code up and returns its entry. A
// code that is missing or in no table is a problem only when required.
func (r *run) status(s *statusSpec, e *elem, ev *tracking.Event, required bool) entry {
	var codes []string
	var first *value
	before := len(r.probs) + r.omitted
	for _, v := range s.codes {
		got := r.strs(v, e)
		if first == nil {
			first = v
		}
		codes = append(codes, got...)
	}
	if len(codes) == 0 {
		// Report a missing code only when no candidate failed outright.
		if required && first != nil && len(r.probs)+r.omitted == before {
			r.fail(first, r.pointerOf(first, e), true, "missing status code")
		}
		return entry{}
	}
	ev.RawCode = codes[0]
	if raw, ok := r.str(s.raw, e); ok {
		ev.RawCode = raw
	}
	for _, c := range codes {
		if st, ok := r.partner.Status(c); ok {
			return entry{status: st}
		}
		if !s.hasTable {
			if st := tracking.Status(c); st.Valid() {
				return entry{status: st}
			}
			continue
		}
		if ent, ok := s.table[c]; ok {
			return *ent
		}
	}
	if s.def != nil {
		return *s.def
	}
	if !required {
		return entry{}
	}
	msg := fmt.Sprintf("status code %q is in no table", codes[0])
	if len(codes) > 1 {
		msg = fmt.Sprintf("status codes %q are in no table", codes)
	}
	if !s.hasTable {
		msg = fmt.Sprintf("status code %q is not a canonical status", codes[0])
	}
	r.fail(first, r.pointerOf(first, e), false, "%s", msg)
	return entry{}
}

// exception returns the event's exception: the table entry's, with what
// the block maps laid over it.
func (r *run) exception(x *exceptionSpec, e *elem, fromTable *tracking.Exception) *tracking.Exception {
	var out tracking.Exception
	if fromTable != nil {
		out = *fromTable
	}
	if x != nil {
		if s, ok := r.str(x.typ, e); ok {
			out.Type = s
		}
		if s, ok := r.str(x.reason, e); ok {
			out.Reason = s
		}
		if s, ok := r.str(x.reasonCode, e); ok {
			out.ReasonCode = s
			if t, ok := r.partner.Reason(s); ok && out.Type == "" {
				out.Type = t
			}
		}
	}
	if out == (tracking.Exception{}) {
		return nil
	}
	if !slices.Contains(tracking.ExceptionTypes(), out.Type) {
		v := x.typ
		if v == nil {
			v = x.reasonCode
		}
		if v == nil {
			v = x.reason
		}
		r.fail(v, e.at(), false, "unknown exception type %q (want one of %s)", out.Type, strings.Join(tracking.ExceptionTypes(), ", "))
		return nil
	}
	return &out
}

func (r *run) location(l *locationSpec, e *elem) *tracking.Location {
	if l == nil {
		return nil
	}
	var loc tracking.Location
	loc.Name, _ = r.str(l.name, e)
	loc.City, _ = r.str(l.city, e)
	loc.Region, _ = r.str(l.region, e)
	loc.PostalCode, _ = r.str(l.postalCode, e)
	loc.UNLOCODE, _ = r.str(l.unlocode, e)
	if loc.UNLOCODE != "" {
		loc.UNLOCODE = strings.ToUpper(loc.UNLOCODE)
	}
	if c, ok := r.str(l.country, e); ok {
		switch a2 := tracking.Country(c); {
		case a2 != "":
			loc.Country = a2
		case len(c) == 2:
			loc.Country = strings.ToUpper(c)
		default:
			r.fail(l.country, r.pointerOf(l.country, e), false, "unknown country code %q (want ISO 3166-1 alpha-2 or alpha-3)", c)
		}
	}
	if s, ok := r.str(l.role, e); ok {
		loc.Role = strings.ToLower(s)
	}
	if f, ok := r.number(l.lat, e); ok {
		if f < -90 || f > 90 {
			r.fail(l.lat, r.pointerOf(l.lat, e), false, "latitude %v out of range", f)
		} else {
			loc.Lat = &f
		}
	}
	if f, ok := r.number(l.lon, e); ok {
		if f < -180 || f > 180 {
			r.fail(l.lon, r.pointerOf(l.lon, e), false, "longitude %v out of range", f)
		} else {
			loc.Lon = &f
		}
	}
	if loc == (tracking.Location{}) {
		return nil
	}
	return &loc
}

func (r *run) position(p *positionSpec, e *elem) *tracking.Position {
	if p == nil {
		return nil
	}
	lat, okLat := r.number(p.lat, e)
	lon, okLon := r.number(p.lon, e)
	if !okLat || !okLon {
		return nil
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		r.fail(p.lat, e.at(), false, "position %v, %v out of range", lat, lon)
		return nil
	}
	pos := &tracking.Position{Lat: lat, Lon: lon}
	if f, ok := r.number(p.speed, e); ok {
		f = round3(f)
		pos.SpeedKmh = &f
	}
	if f, ok := r.number(p.accuracy, e); ok {
		f = round3(f)
		pos.AccuracyM = &f
	}
	return pos
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func (r *run) weight(w *weightSpec, e *elem) (tracking.Weight, bool) {
	got, at, ok := r.get(w.value, e)
	if !ok || absent(got) {
		return tracking.Weight{}, false
	}
	val, isText := trimmed(got)
	if !isText {
		r.fail(w.value, at, false, "want a weight, got %s", kindName(got))
		return tracking.Weight{}, false
	}
	unit, ok := r.str(w.unit, e)
	if !ok && r.partner != nil {
		unit = r.partner.WeightUnit
	}
	kind, _ := r.str(w.kind, e)
	if kind != "" && !slices.Contains(weightKindWords, kind) {
		r.fail(w.kind, e.at(), false, "unknown weight kind %q (want one of %s)", kind, strings.Join(weightKindWords, ", "))
		return tracking.Weight{}, false
	}
	wt, err := tracking.ParseWeight(val, unit, kind)
	if err != nil {
		r.fail(w.value, at, false, "reading: %v", err)
		return tracking.Weight{}, false
	}
	return wt, true
}

// when resolves the event time into ev and returns the raw text.
func (r *run) when(t *timeSpec, e *elem, loc *tracking.Location, ev *tracking.Event) string {
	if t == nil {
		return ""
	}
	rd, _, ok := r.reading(t, e, true)
	if !ok {
		return ""
	}
	if utc, local, tz, source, ok := r.resolve(t, e, rd, loc); ok {
		ev.OccurredAt, ev.Local, ev.TZ, ev.TZSource = utc, local, tz, source
	}
	return rd.raw
}

// reading reads a time value. A missing one is a problem when required;
// present is false when it is missing.
func (r *run) reading(t *timeSpec, e *elem, required bool) (rd reading, present, ok bool) {
	got, at, ok := r.get(t.value, e)
	if !ok {
		return reading{}, true, false
	}
	if absent(got) {
		if required {
			r.fail(t.value, r.pointerOf(t.value, e), true, "missing time")
		}
		return reading{}, false, !required
	}
	rd, err := readTime(got, t.epoch)
	if err != nil {
		r.fail(t.value, at, false, "%v", err)
		return reading{}, true, false
	}
	return rd, true, true
}

// resolve turns a reading into a UTC instant, resolving a local one in
// the zone the spec names, the location's zone or the partner's default.
func (r *run) resolve(t *timeSpec, e *elem, rd reading, loc *tracking.Location) (utc time.Time, local, tz, source string, ok bool) {
	if !rd.zoneless {
		utc, local, tz, source = rd.instant.UTC(), tracking.LocalString(rd.local), rd.tz, rd.source
	} else {
		var zone *time.Location
		if name, named := r.str(t.zone, e); named {
			z, err := r.zone(name)
			if err != nil {
				r.fail(t.zone, r.pointerOf(t.zone, e), false, "unknown time zone %q", name)
				return time.Time{}, "", "", "", false
			}
			zone = z
		}
		at := loc
		if t.noLocation {
			at = nil
		}
		def := ""
		if r.partner != nil {
			def = r.partner.Zone
		}
		var err error
		utc, tz, source, err = tracking.Resolve(rd.local, zone, tracking.TZLocation, at, def)
		if err != nil {
			r.fail(t.value, r.pointerOf(t.value, e), false, "%q: %v", rd.raw, err)
			return time.Time{}, "", "", "", false
		}
		local = tracking.LocalString(rd.local)
	}
	if y := utc.Year(); y < 1900 || y > 9999 {
		r.fail(t.value, r.pointerOf(t.value, e), false, "time %q out of range (years 1900 to 9999)", rd.raw)
		return time.Time{}, "", "", "", false
	}
	return utc, local, tz, source, true
}

// window builds an ETA or appointment window: an interval or instant from
// start and end, else a civil date.
func (r *run) window(w *windowSpec, e *elem, loc *tracking.Location) *tracking.Window {
	if w == nil {
		return nil
	}
	var out tracking.Window
	instant := func(t *timeSpec) (time.Time, bool) {
		if t == nil {
			return time.Time{}, false
		}
		rd, present, ok := r.reading(t, e, false)
		if !ok || !present {
			return time.Time{}, false
		}
		utc, _, _, _, ok := r.resolve(t, e, rd, loc)
		return utc, ok
	}
	start, okStart := instant(w.start)
	end, okEnd := instant(w.end)
	switch {
	case okStart && okEnd:
		if end.Before(start) {
			r.fail(w.end.value, e.at(), false, "window ends at %s, before it starts at %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
			return nil
		}
		out.Start, out.End = start, end
	case okStart:
		out.Start, out.End = start, start
	case okEnd:
		out.Start, out.End = end, end
	default:
		d, ok := r.str(w.date, e)
		if !ok {
			return nil
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil || len(d) != len(time.DateOnly) {
			r.fail(w.date, r.pointerOf(w.date, e), false, "want a date YYYY-MM-DD, got %q", d)
			return nil
		}
		out.Date = d
	}
	return &out
}

// dedupe sorts events by occurred_at, then source_event_id, then content,
// and drops repeats of an id and semantic duplicates of a milestone (same
// shipment keys, kind, status, exception type and minute), keeping the
// first of each.
func dedupe(events []tracking.Event) tracking.Mapped {
	type item struct {
		ev   tracking.Event
		body []byte
	}
	items := make([]item, len(events))
	for i, ev := range events {
		body, _ := json.Marshal(ev)
		items[i] = item{ev, body}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := a.ev.OccurredAt.Compare(b.ev.OccurredAt); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ev.SourceEventID, b.ev.SourceEventID); c != 0 {
			return c
		}
		return bytes.Compare(a.body, b.body)
	})
	var out tracking.Mapped
	ids := map[string]bool{}
	semantic := map[string]bool{}
	for _, it := range items {
		ev := it.ev
		if ids[ev.SourceEventID] {
			out.Dropped++
			continue
		}
		ids[ev.SourceEventID] = true
		if ev.Kind == tracking.KindMilestone {
			keys, _ := json.Marshal(ev.Keys)
			exc := ""
			if ev.Exception != nil {
				exc = ev.Exception.Type
			}
			k := digest(string(keys), string(ev.Kind), string(ev.Status), exc, ev.OccurredAt.Truncate(time.Minute).Format(time.RFC3339))
			if semantic[k] {
				out.Dropped++
				continue
			}
			semantic[k] = true
		}
		out.Events = append(out.Events, ev)
	}
	return out
}
