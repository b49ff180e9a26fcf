package odoosim

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

const eps = 1e-9

// --- product helpers -----------------------------------------------------------------------------

func (t *txn) isStorable(pid int) bool {
	p := t.rec("product.product", pid)
	if p == nil {
		return false
	}
	if t.s.version >= 18 {
		b, _ := p["is_storable"].(bool)
		return b
	}
	typ, _ := p["type"].(string)
	return typ == "product"
}

func (t *txn) isService(pid int) bool {
	p := t.rec("product.product", pid)
	typ, _ := p["type"].(string)
	return typ == "service"
}

func (t *txn) tracking(pid int) string {
	p := t.rec("product.product", pid)
	s, _ := p["tracking"].(string)
	return s
}

func (t *txn) usage(loc int) string {
	r := t.rec("stock.location", loc)
	s, _ := r["usage"].(string)
	return s
}

// --- move line quantities (version dependent field names) ----------------------------------------

// mlQty is the reserved-or-done quantity of a move line: quantity (17+) or reserved_uom_qty (16).
func (t *txn) mlQty(ml record) float64 {
	if t.s.version <= 16 {
		v, _ := ml["reserved_uom_qty"].(float64)
		return v
	}
	v, _ := ml["quantity"].(float64)
	return v
}

func (t *txn) mlQtyKey() string {
	if t.s.version <= 16 {
		return "reserved_uom_qty"
	}
	return "quantity"
}

// mlDone is what validation will process on a move line.
func (t *txn) mlDone(ml record, movePicked bool) float64 {
	if t.s.version <= 16 {
		v, _ := ml["qty_done"].(float64)
		return v
	}
	if b, _ := ml["picked"].(bool); b || movePicked {
		v, _ := ml["quantity"].(float64)
		return v
	}
	return 0
}

func (t *txn) moveLines(moveID int) []int {
	return t.pointing("stock.move.line", "move_id", moveID)
}

func (t *txn) moveQty(moveID int) float64 {
	q := 0.0
	for _, id := range t.moveLines(moveID) {
		q += t.mlQty(t.rec("stock.move.line", id))
	}
	return q
}

func (t *txn) moveDone(moveID int) float64 {
	mv := t.rec("stock.move", moveID)
	picked, _ := mv["picked"].(bool)
	q := 0.0
	for _, id := range t.moveLines(moveID) {
		q += t.mlDone(t.rec("stock.move.line", id), picked)
	}
	return q
}

func fnum(r record, k string) float64 { v, _ := r[k].(float64); return v }
func fint(r record, k string) int     { v, _ := r[k].(int); return v }
func fstr(r record, k string) string  { v, _ := r[k].(string); return v }

// --- quants --------------------------------------------------------------------------------------

// quantReserved is the reservation on a quant: open move lines on its product/location/lot.
func (t *txn) quantReserved(q record) float64 {
	pid, loc, lot := fint(q, "product_id"), fint(q, "location_id"), fint(q, "lot_id")
	sum := 0.0
	for _, id := range t.all("stock.move.line") {
		ml := t.rec("stock.move.line", id)
		st := fstr(ml, "state")
		if st == "done" || st == "cancel" {
			continue
		}
		if fint(ml, "product_id") == pid && fint(ml, "location_id") == loc && fint(ml, "lot_id") == lot {
			sum += t.mlQty(ml)
		}
	}
	return sum
}

// quantsFor lists internal quants of a product under a location (FIFO by id).
func (t *txn) quantsFor(pid, root, lot int, anyLot bool) []int {
	return t.where("stock.quant", func(q record) bool {
		if fint(q, "product_id") != pid {
			return false
		}
		if !anyLot && fint(q, "lot_id") != lot {
			return false
		}
		loc := fint(q, "location_id")
		return t.usage(loc) == "internal" && (root == 0 || t.isDescendant("stock.location", loc, root))
	})
}

// strictQuants are the quants of pid at exactly location loc with exactly
// lot (0: without lot), as Odoo gathers them with strict=True.
func (t *txn) strictQuants(pid, loc, lot int) []int {
	return t.where("stock.quant", func(q record) bool {
		return fint(q, "product_id") == pid && fint(q, "location_id") == loc && fint(q, "lot_id") == lot
	})
}

// adjustQuant changes the on-hand quantity of (product, location, lot) for internal locations.
func (t *txn) adjustQuant(pid, loc, lot int, delta float64) {
	if t.usage(loc) != "internal" || !t.isStorable(pid) || math.Abs(delta) < eps {
		return
	}
	for _, id := range t.all("stock.quant") {
		q := t.rec("stock.quant", id)
		if fint(q, "product_id") == pid && fint(q, "location_id") == loc && fint(q, "lot_id") == lot {
			t.set("stock.quant", id, record{"quantity": fnum(q, "quantity") + delta})
			return
		}
	}
	t.insert("stock.quant", record{"product_id": pid, "location_id": loc, "lot_id": lot, "quantity": delta,
		"company_id": 1, "in_date": t.nowStr(), "product_uom_id": 1})
}

// available sums quantity - reserved over internal quants under root (optionally one lot).
func (t *txn) available(pid, root, lot int, anyLot bool) float64 {
	sum := 0.0
	for _, id := range t.quantsFor(pid, root, lot, anyLot) {
		q := t.rec("stock.quant", id)
		sum += fnum(q, "quantity") - t.quantReserved(q)
	}
	return sum
}

// --- reservation ---------------------------------------------------------------------------------

func (t *txn) newMoveLine(moveID int, loc, lot int, qty float64) int {
	mv := t.rec("stock.move", moveID)
	vals := record{"move_id": moveID, "picking_id": fint(mv, "picking_id"), "product_id": fint(mv, "product_id"),
		"product_uom_id": 1, "location_id": loc, "location_dest_id": fint(mv, "location_dest_id"), "lot_id": lot,
		"state": "assigned", "company_id": 1, "date": t.nowStr(), "reference": t.moveReference(mv)}
	vals[t.mlQtyKey()] = qty
	if t.s.version >= 17 {
		vals["picked"] = false
	} else {
		vals["qty_done"] = 0.0
	}
	return t.insert("stock.move.line", vals)
}

func (t *txn) moveReference(mv record) string {
	if p := fint(mv, "picking_id"); p != 0 {
		return t.displayName("stock.picking", p)
	}
	return fstr(mv, "origin")
}

// reserveMove reserves what it can for an open move (FIFO over quants; lots respected per quant).
func (t *txn) reserveMove(moveID int) {
	mv := t.rec("stock.move", moveID)
	switch fstr(mv, "state") {
	case "confirmed", "partially_available", "waiting":
	default:
		return
	}
	need := fnum(mv, "product_uom_qty") - t.moveQty(moveID)
	t.reserveQty(moveID, need)
	t.recomputeMove(moveID)
}

// reserveQty reserves up to need more units for a move: storable products from internal quants
// (FIFO, one line per quant/lot), anything else at once.
func (t *txn) reserveQty(moveID int, need float64) {
	if need <= eps {
		return
	}
	mv := t.rec("stock.move", moveID)
	pid := fint(mv, "product_id")
	src := fint(mv, "location_id")
	if !t.isStorable(pid) || t.usage(src) != "internal" {
		t.newMoveLine(moveID, src, 0, need)
		return
	}
	for _, qid := range t.quantsFor(pid, src, 0, true) {
		if need <= eps {
			break
		}
		q := t.rec("stock.quant", qid)
		avail := fnum(q, "quantity") - t.quantReserved(q)
		if avail <= eps {
			continue
		}
		take := math.Min(avail, need)
		merged := false
		for _, mlid := range t.moveLines(moveID) {
			ml := t.rec("stock.move.line", mlid)
			if fstr(ml, "state") != "done" && fint(ml, "location_id") == fint(q, "location_id") && fint(ml, "lot_id") == fint(q, "lot_id") {
				t.set("stock.move.line", mlid, record{t.mlQtyKey(): t.mlQty(ml) + take})
				merged = true
				break
			}
		}
		if !merged {
			t.newMoveLine(moveID, fint(q, "location_id"), fint(q, "lot_id"), take)
		}
		need -= take
	}
}

// recomputeMove derives an open move's state from its reservation.
func (t *txn) recomputeMove(moveID int) {
	mv := t.rec("stock.move", moveID)
	st := fstr(mv, "state")
	if st == "done" || st == "cancel" || st == "draft" {
		return
	}
	q := t.moveQty(moveID)
	demand := fnum(mv, "product_uom_qty")
	ns := "confirmed"
	switch {
	case q >= demand-eps && demand > 0:
		ns = "assigned"
	case q > eps:
		ns = "partially_available"
	}
	if ns != st {
		t.set("stock.move", moveID, record{"state": ns})
	}
	for _, mlid := range t.moveLines(moveID) {
		if fstr(t.rec("stock.move.line", mlid), "state") != ns {
			t.set("stock.move.line", mlid, record{"state": ns})
		}
	}
}

func (t *txn) pickingMoves(pid int) []int {
	return t.pointing("stock.move", "picking_id", pid)
}

// recomputePicking derives a picking's state from its moves and move_type.
func (t *txn) recomputePicking(pid int) {
	p := t.rec("stock.picking", pid)
	if p == nil {
		return
	}
	moves := t.pickingMoves(pid)
	st := fstr(p, "state")
	ns := st
	if len(moves) == 0 {
		if st != "done" && st != "cancel" {
			ns = "draft"
		}
	} else {
		var states []string
		for _, id := range moves {
			states = append(states, fstr(t.rec("stock.move", id), "state"))
		}
		allIn := func(set ...string) bool {
			for _, s := range states {
				if !slices.Contains(set, s) {
					return false
				}
			}
			return true
		}
		anyIn := func(set ...string) bool {
			for _, s := range states {
				if slices.Contains(set, s) {
					return true
				}
			}
			return false
		}
		switch {
		case allIn("cancel"):
			ns = "cancel"
		case allIn("done", "cancel"):
			ns = "done"
		case anyIn("draft"):
			ns = "draft"
		default:
			if fstr(p, "move_type") == "one" {
				if allIn("assigned", "done", "cancel") {
					ns = "assigned"
				} else if anyIn("waiting") {
					ns = "waiting"
				} else {
					ns = "confirmed"
				}
			} else {
				if anyIn("assigned", "partially_available") {
					ns = "assigned"
				} else if anyIn("waiting") {
					ns = "waiting"
				} else {
					ns = "confirmed"
				}
			}
		}
	}
	if ns != st {
		t.set("stock.picking", pid, record{"state": ns})
	}
}

// confirmPicking confirms draft moves and reserves them (reservation_method at_confirm).
func (t *txn) confirmPicking(pid int) {
	for _, mid := range t.pickingMoves(pid) {
		if fstr(t.rec("stock.move", mid), "state") == "draft" {
			t.set("stock.move", mid, record{"state": "confirmed"})
		}
	}
	for _, mid := range t.pickingMoves(pid) {
		t.reserveMove(mid)
	}
	t.recomputePicking(pid)
}

// --- model wiring --------------------------------------------------------------------------------

func (s *Sim) setupStock() {
	m := s.models
	pp := m["product.product"]
	pp.display = func(t *txn, r record) string {
		name, code := fstr(r, "name"), fstr(r, "default_code")
		if code != "" {
			return "[" + code + "] " + name
		}
		return name
	}
	pp.required = []string{"name"}
	pp.defaults = func(t *txn, r record) {
		setDefault(r, "type", "consu")
		if t.s.version <= 17 {
			if dt := fstr(r, "detailed_type"); dt != "" && !truthy(r["type"]) {
				r["type"] = dt
			}
			if fstr(r, "detailed_type") == "" {
				r["detailed_type"] = r["type"]
			}
		}
		setDefault(r, "tracking", "none")
		setDefault(r, "invoice_policy", "order")
		setDefault(r, "uom_id", 1)
		if t.s.version <= 18 {
			setDefault(r, "uom_po_id", 1)
		}
		setDefault(r, "sale_ok", true)
		setDefault(r, "purchase_ok", true)
		if _, ok := r["sale_line_warn"]; !ok && pp.has("sale_line_warn") {
			r["sale_line_warn"] = "no-message"
		}
		if v, ok := r["list_price"]; ok {
			r["lst_price"] = v
		} else if v, ok := r["lst_price"]; ok {
			r["list_price"] = v
		}
	}
	pp.created = func(t *txn, id int) error {
		r := t.rec("product.product", id)
		if fint(r, "product_tmpl_id") == 0 {
			tid := t.insert("product.template", record{"id": id, "name": r["name"], "default_code": r["default_code"],
				"list_price": r["list_price"], "active": true})
			t.set("product.product", id, record{"product_tmpl_id": tid})
		}
		return nil
	}
	qtyIn := func(t *txn, r record, free bool) float64 {
		pid := fint(r, "id")
		if !t.isStorable(pid) {
			return 0
		}
		root := t.contextLocation()
		lot := 0
		anyLot := true
		if l, ok := asInt(t.ctx["lot_id"]); ok && l != 0 {
			lot, anyLot = l, false
		}
		sum := 0.0
		for _, qid := range t.quantsFor(pid, root, lot, anyLot) {
			q := t.rec("stock.quant", qid)
			sum += fnum(q, "quantity")
			if free {
				sum -= t.quantReserved(q)
			}
		}
		return sum
	}
	openMoves := func(t *txn, pid int, out bool) float64 {
		sum := 0.0
		for _, id := range t.all("stock.move") {
			mv := t.rec("stock.move", id)
			st := fstr(mv, "state")
			if fint(mv, "product_id") != pid || st == "done" || st == "cancel" || st == "draft" {
				continue
			}
			srcIn := t.usage(fint(mv, "location_id")) == "internal"
			dstIn := t.usage(fint(mv, "location_dest_id")) == "internal"
			if out && srcIn && !dstIn || !out && dstIn && !srcIn {
				sum += fnum(mv, "product_uom_qty")
			}
		}
		return sum
	}
	pp.compute("qty_available", func(t *txn, r record) any { return qtyIn(t, r, false) })
	pp.compute("free_qty", func(t *txn, r record) any { return qtyIn(t, r, true) })
	pp.compute("outgoing_qty", func(t *txn, r record) any { return openMoves(t, fint(r, "id"), true) })
	pp.compute("incoming_qty", func(t *txn, r record) any { return openMoves(t, fint(r, "id"), false) })
	pp.compute("virtual_available", func(t *txn, r record) any {
		if !t.isStorable(fint(r, "id")) {
			return 0.0
		}
		return qtyIn(t, r, false) - openMoves(t, fint(r, "id"), true) + openMoves(t, fint(r, "id"), false)
	})
	pp.compute("list_price", func(t *txn, r record) any { return fnum(r, "list_price") })
	pp.compute("lst_price", func(t *txn, r record) any { return fnum(r, "list_price") })

	q := m["stock.quant"]
	q.compute("reserved_quantity", func(t *txn, r record) any { return t.quantReserved(r) })
	q.compute("available_quantity", func(t *txn, r record) any { return fnum(r, "quantity") - t.quantReserved(r) })
	q.display = func(t *txn, r record) string {
		return t.displayName("stock.location", fint(r, "location_id")) + " - " + t.displayName("product.product", fint(r, "product_id"))
	}

	lot := m["stock.lot"]
	lot.required = []string{"name", "product_id"}
	lot.defaults = func(t *txn, r record) { setDefault(r, "company_id", 1) }
	lot.created = func(t *txn, id int) error {
		r := t.rec("stock.lot", id)
		for _, other := range t.all("stock.lot") {
			o := t.rec("stock.lot", other)
			if other != id && fstr(o, "name") == fstr(r, "name") && fint(o, "product_id") == fint(r, "product_id") {
				return &OdooError{Name: excValidationError, Message: fmt.Sprintf(
					"The combination of lot/serial number and product must be unique within a company including when no company is defined.\nThe following combinations contain duplicates:\n - Product: %s, Lot/Serial Number: %s",
					t.displayName("product.product", fint(r, "product_id")), fstr(r, "name"))}
			}
		}
		return nil
	}
	lot.inverse("quant_ids", "lot_id")
	lotQty := func(t *txn, r record) any {
		sum := 0.0
		for _, qid := range t.quantsFor(fint(r, "product_id"), 0, fint(r, "id"), false) {
			sum += fnum(t.rec("stock.quant", qid), "quantity")
		}
		return sum
	}
	lot.compute("product_qty", lotQty)
	lot.compute("location_id", func(t *txn, r record) any {
		locs := map[int]bool{}
		for _, qid := range t.quantsFor(fint(r, "product_id"), 0, fint(r, "id"), false) {
			qq := t.rec("stock.quant", qid)
			if fnum(qq, "quantity") > eps {
				locs[fint(qq, "location_id")] = true
			}
		}
		if len(locs) == 1 {
			for l := range locs {
				return l
			}
		}
		return 0
	})

	s.setupInventory()
	s.setupPicking()
	s.setupMoves()
}

// contextLocation reads the location/warehouse scope of product quantities from the context.
func (t *txn) contextLocation() int {
	if v, ok := t.ctx["location"]; ok {
		if id, ok := asInt(v); ok {
			return id
		}
		if l, ok := v.([]any); ok && len(l) > 0 {
			id, _ := asInt(l[0])
			return id
		}
	}
	for _, k := range []string{"warehouse_id", "warehouse"} {
		if v, ok := t.ctx[k]; ok {
			if id, ok := asInt(v); ok {
				if wh := t.rec("stock.warehouse", id); wh != nil {
					return fint(wh, "view_location_id")
				}
			}
		}
	}
	return 0
}

func (s *Sim) setupPicking() {
	p := s.models["stock.picking"]
	p.inverse("move_ids", "picking_id")
	p.inverse("move_ids_without_package", "picking_id")
	p.inverse("move_line_ids", "picking_id")
	p.inverse("move_line_ids_without_package", "picking_id")
	p.inverse("backorder_ids", "backorder_id")
	p.inverse("return_ids", "return_id")
	p.display = func(t *txn, r record) string { return fstr(r, "name") }
	p.compute("picking_type_code", func(t *txn, r record) any {
		return fstr(t.rec("stock.picking.type", fint(r, "picking_type_id")), "code")
	})
	p.compute("products_availability_state", func(t *txn, r record) any {
		switch fstr(r, "state") {
		case "assigned":
			return "available"
		case "confirmed", "waiting":
			return "late"
		}
		return ""
	})
	p.compute("products_availability", func(t *txn, r record) any {
		switch fstr(r, "state") {
		case "assigned":
			return "Available"
		case "confirmed", "waiting":
			return "Not Available"
		}
		return ""
	})
	weight := func(t *txn, r record) any {
		w := 0.0
		for _, mid := range t.pickingMoves(fint(r, "id")) {
			mv := t.rec("stock.move", mid)
			if fstr(mv, "state") == "cancel" {
				continue
			}
			w += fnum(t.rec("product.product", fint(mv, "product_id")), "weight") * fnum(mv, "product_uom_qty")
		}
		return math.Round(w*1e4) / 1e4
	}
	p.compute("weight", weight)
	p.compute("shipping_weight", weight)
	p.required = []string{"picking_type_id", "location_id", "location_dest_id"}
	p.defaults = func(t *txn, r record) {
		pt := t.rec("stock.picking.type", fint(r, "picking_type_id"))
		if pt != nil {
			setDefault(r, "location_id", pt["default_location_src_id"])
			setDefault(r, "location_dest_id", pt["default_location_dest_id"])
		}
		setDefault(r, "state", "draft")
		setDefault(r, "move_type", "direct")
		setDefault(r, "priority", "0")
		setDefault(r, "company_id", 1)
		setDefault(r, "scheduled_date", t.nowStr())
		if !truthy(r["name"]) || r["name"] == "/" {
			r["name"] = t.pickingName(fint(r, "picking_type_id"))
		}
	}
	p.created = func(t *txn, id int) error { t.recomputePicking(id); return nil }
	p.written = func(t *txn, ids []int, vals map[string]any) error {
		for _, id := range ids {
			for _, mid := range t.pickingMoves(id) {
				mv := t.rec("stock.move", mid)
				if fstr(mv, "state") != "done" && fstr(mv, "state") != "cancel" {
					upd := record{}
					if _, ok := vals["location_id"]; ok && t.rec("stock.picking", id) != nil {
						upd["location_id"] = t.rec("stock.picking", id)["location_id"]
					}
					if _, ok := vals["location_dest_id"]; ok {
						upd["location_dest_id"] = t.rec("stock.picking", id)["location_dest_id"]
					}
					if len(upd) > 0 {
						t.set("stock.move", mid, upd)
					}
				}
			}
			if _, ok := vals["state"]; !ok {
				t.recomputePicking(id)
			}
		}
		return nil
	}
	p.unlinkOK = func(t *txn, ids []int) error {
		for _, id := range ids {
			if fstr(t.rec("stock.picking", id), "state") == "done" {
				return userError("You cannot delete a done transfer.")
			}
		}
		for _, id := range ids {
			for _, mid := range t.pickingMoves(id) {
				for _, ml := range t.moveLines(mid) {
					t.del("stock.move.line", ml)
				}
				t.del("stock.move", mid)
			}
		}
		return nil
	}
	p.methods["action_confirm"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			t.confirmPicking(id)
		}
		return true, nil
	}}
	p.methods["action_assign"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		any := false
		for _, id := range c.ids {
			if fstr(t.rec("stock.picking", id), "state") == "draft" {
				t.confirmPicking(id)
			}
			for _, mid := range t.pickingMoves(id) {
				st := fstr(t.rec("stock.move", mid), "state")
				if st != "done" && st != "cancel" && st != "draft" {
					any = true
					t.reserveMove(mid)
				}
			}
			t.recomputePicking(id)
		}
		if !any && len(c.ids) > 0 {
			return nil, userError("Nothing to check the availability for.")
		}
		return true, nil
	}}
	p.methods["do_unreserve"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			for _, mid := range t.pickingMoves(id) {
				t.unreserveMove(mid)
			}
			t.recomputePicking(id)
		}
		return nil, nil
	}}
	p.methods["action_cancel"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			t.cancelPicking(id)
		}
		return true, nil
	}}
	p.methods["button_validate"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		return t.buttonValidate(c.ids)
	}}
}

func (t *txn) pickingName(typeID int) string {
	pt := t.rec("stock.picking.type", typeID)
	if pt == nil {
		return "/"
	}
	wh := t.rec("stock.warehouse", fint(pt, "warehouse_id"))
	code := fstr(wh, "code")
	seq := fstr(pt, "sequence_code")
	prefix := seq
	if code != "" {
		prefix = code + "/" + seq
	}
	return fmt.Sprintf("%s/%05d", prefix, t.next("picking."+prefix))
}

func (t *txn) unreserveMove(mid int) {
	mv := t.rec("stock.move", mid)
	st := fstr(mv, "state")
	if st == "done" || st == "cancel" {
		return
	}
	for _, mlid := range t.moveLines(mid) {
		ml := t.rec("stock.move.line", mlid)
		if t.s.version >= 17 && truthy(ml["picked"]) {
			continue
		}
		if t.s.version <= 16 && fnum(ml, "qty_done") > eps {
			t.set("stock.move.line", mlid, record{"reserved_uom_qty": 0.0})
			continue
		}
		t.del("stock.move.line", mlid)
	}
	t.recomputeMove(mid)
}

func (t *txn) cancelPicking(id int) {
	p := t.rec("stock.picking", id)
	if p == nil || fstr(p, "state") == "done" {
		return
	}
	for _, mid := range t.pickingMoves(id) {
		mv := t.rec("stock.move", mid)
		if fstr(mv, "state") == "done" {
			continue
		}
		for _, mlid := range t.moveLines(mid) {
			t.del("stock.move.line", mlid)
		}
		t.set("stock.move", mid, record{"state": "cancel"})
	}
	t.set("stock.picking", id, record{"state": "cancel"})
	t.recomputePicking(id)
}

func (s *Sim) setupMoves() {
	mv := s.models["stock.move"]
	mv.inverse("move_line_ids", "move_id")
	mv.inverse("returned_move_ids", "origin_returned_move_id")
	mv.display = func(t *txn, r record) string {
		ref := fstr(r, "origin")
		if ref == "" {
			ref = t.displayName("stock.picking", fint(r, "picking_id"))
		}
		prod := t.rec("product.product", fint(r, "product_id"))
		code := fstr(prod, "default_code")
		if code == "" {
			code = fstr(prod, "name")
		}
		src := fstr(t.rec("stock.location", fint(r, "location_id")), "name")
		dst := fstr(t.rec("stock.location", fint(r, "location_dest_id")), "name")
		return fmt.Sprintf("%s/%s: %s>%s", ref, code, src, dst)
	}
	mv.compute("product_qty", func(t *txn, r record) any { return fnum(r, "product_uom_qty") })
	if s.version >= 17 {
		mv.compute("quantity", func(t *txn, r record) any { return t.moveQty(fint(r, "id")) })
	} else {
		mv.compute("reserved_availability", func(t *txn, r record) any { return t.moveQty(fint(r, "id")) })
		mv.compute("quantity_done", func(t *txn, r record) any {
			q := 0.0
			for _, id := range t.moveLines(fint(r, "id")) {
				q += fnum(t.rec("stock.move.line", id), "qty_done")
			}
			return q
		})
	}
	mv.compute("picking_type_id", func(t *txn, r record) any {
		if v := fint(r, "picking_type_id"); v != 0 {
			return v
		}
		return fint(t.rec("stock.picking", fint(r, "picking_id")), "picking_type_id")
	})
	mv.required = []string{"product_id", "location_id", "location_dest_id"}
	mv.defaults = func(t *txn, r record) {
		if pk := t.rec("stock.picking", fint(r, "picking_id")); pk != nil {
			setDefault(r, "location_id", pk["location_id"])
			setDefault(r, "location_dest_id", pk["location_dest_id"])
			setDefault(r, "picking_type_id", pk["picking_type_id"])
			setDefault(r, "partner_id", pk["partner_id"])
			setDefault(r, "origin", pk["origin"])
			if st := fstr(pk, "state"); st != "draft" && st != "" {
				setDefault(r, "state", "confirmed")
			}
		}
		setDefault(r, "state", "draft")
		setDefault(r, "product_uom", 1)
		setDefault(r, "company_id", 1)
		setDefault(r, "date", t.nowStr())
		setDefault(r, "procure_method", "make_to_stock")
		if t.s.version <= 18 {
			setDefault(r, "name", t.displayName("product.product", fint(r, "product_id")))
		}
		if _, ok := r["product_uom_qty"]; !ok {
			r["product_uom_qty"] = 1.0
		}
		if t.s.version >= 17 {
			if _, ok := r["picked"]; !ok {
				r["picked"] = false
			}
		}
	}
	mv.created = func(t *txn, id int) error {
		r := t.rec("stock.move", id)
		// quantity / quantity_done given at create go through the same path as a write
		vals := map[string]any{}
		for _, k := range []string{"quantity", "quantity_done"} {
			if v, ok := r[k]; ok {
				vals[k] = v
				delete(r, k)
			}
		}
		if len(vals) > 0 {
			if err := t.applyMoveQty(id, vals); err != nil {
				return err
			}
		}
		t.recomputeMove(id)
		t.recomputePicking(fint(r, "picking_id"))
		return nil
	}
	mv.written = func(t *txn, ids []int, vals map[string]any) error {
		for _, id := range ids {
			if err := t.applyMoveQty(id, vals); err != nil {
				return err
			}
			t.recomputeMove(id)
			t.recomputePicking(fint(t.rec("stock.move", id), "picking_id"))
		}
		return nil
	}

	ml := s.models["stock.move.line"]
	ml.display = func(t *txn, r record) string {
		return t.displayName("stock.move", fint(r, "move_id"))
	}
	ml.required = []string{"product_id", "location_id", "location_dest_id"}
	ml.defaults = func(t *txn, r record) {
		if m := t.rec("stock.move", fint(r, "move_id")); m != nil {
			setDefault(r, "picking_id", m["picking_id"])
			setDefault(r, "product_id", m["product_id"])
			setDefault(r, "location_id", m["location_id"])
			setDefault(r, "location_dest_id", m["location_dest_id"])
			setDefault(r, "state", fstr(m, "state"))
		}
		if pk := t.rec("stock.picking", fint(r, "picking_id")); pk != nil {
			setDefault(r, "location_id", pk["location_id"])
			setDefault(r, "location_dest_id", pk["location_dest_id"])
		}
		setDefault(r, "product_uom_id", 1)
		setDefault(r, "company_id", 1)
		setDefault(r, "date", t.nowStr())
		if t.s.version >= 17 {
			if _, ok := r["picked"]; !ok {
				r["picked"] = false
			}
		}
	}
	ml.created = func(t *txn, id int) error {
		r := t.rec("stock.move.line", id)
		if fint(r, "move_id") == 0 && fint(r, "picking_id") != 0 {
			// a line added to a picking without a move: create the move (as Odoo does on validation)
			mid, err := t.create(t.m("stock.move"), map[string]any{"picking_id": float64(fint(r, "picking_id")),
				"product_id": float64(fint(r, "product_id")), "product_uom_qty": 0.0})
			if err != nil {
				return err
			}
			t.set("stock.move.line", id, record{"move_id": mid})
		}
		t.syncMoveFromLines(fint(t.rec("stock.move.line", id), "move_id"))
		return nil
	}
	ml.written = func(t *txn, ids []int, vals map[string]any) error {
		for _, id := range ids {
			t.syncMoveFromLines(fint(t.rec("stock.move.line", id), "move_id"))
		}
		return nil
	}
	ml.compute("quantity_product_uom", func(t *txn, r record) any { return fnum(r, "quantity") })
	ml.compute("reserved_qty", func(t *txn, r record) any { return fnum(r, "reserved_uom_qty") })
	ml.compute("reference", func(t *txn, r record) any {
		if p := fint(r, "picking_id"); p != 0 {
			return t.displayName("stock.picking", p)
		}
		return fstr(r, "reference")
	})
}

// syncMoveFromLines updates a move after its lines changed: picked flag (17+) and state.
func (t *txn) syncMoveFromLines(mid int) {
	mv := t.rec("stock.move", mid)
	if mv == nil {
		return
	}
	if t.s.version >= 17 {
		lines := t.moveLines(mid)
		allPicked := len(lines) > 0
		for _, id := range lines {
			if !truthy(t.rec("stock.move.line", id)["picked"]) {
				allPicked = false
			}
		}
		if allPicked != truthy(mv["picked"]) && fstr(mv, "state") != "done" {
			t.set("stock.move", mid, record{"picked": allPicked})
		}
	}
	t.recomputeMove(mid)
	t.recomputePicking(fint(mv, "picking_id"))
}

// applyMoveQty implements writes of quantity/picked (17+) or quantity_done (16) on a move.
func (t *txn) applyMoveQty(mid int, vals map[string]any) error {
	mv := t.rec("stock.move", mid)
	if t.s.version >= 17 {
		if v, ok := vals["quantity"]; ok {
			q, _ := asFloat(v)
			if fstr(mv, "state") == "done" {
				return userError("You cannot change the quantity of a done move.")
			}
			t.setMoveLinesQty(mid, q, "quantity")
		}
		if v, ok := vals["picked"]; ok {
			for _, id := range t.moveLines(mid) {
				t.set("stock.move.line", id, record{"picked": truthy(v)})
			}
		}
		return nil
	}
	if v, ok := vals["quantity_done"]; ok {
		q, _ := asFloat(v)
		t.setMoveLinesQty(mid, q, "qty_done")
	}
	return nil
}

// setMoveLinesQty distributes q over a move's lines in key (quantity or qty_done).
func (t *txn) setMoveLinesQty(mid int, q float64, key string) {
	lines := t.moveLines(mid)
	mv := t.rec("stock.move", mid)
	if key == "quantity" {
		cur := t.moveQty(mid)
		if st := fstr(mv, "state"); q > cur+eps && st != "draft" && st != "done" && st != "cancel" {
			t.reserveQty(mid, q-cur)
			lines = t.moveLines(mid)
			cur = t.moveQty(mid)
		}
		if q > cur+eps {
			if len(lines) > 0 {
				ml := t.rec("stock.move.line", lines[0])
				t.set("stock.move.line", lines[0], record{"quantity": fnum(ml, "quantity") + q - cur})
			} else {
				t.newMoveLine(mid, fint(mv, "location_id"), 0, q)
			}
			return
		}
		excess := cur - q
		for i := len(lines) - 1; i >= 0 && excess > eps; i-- {
			ml := t.rec("stock.move.line", lines[i])
			have := fnum(ml, "quantity")
			if have <= excess+eps {
				t.del("stock.move.line", lines[i])
				excess -= have
			} else {
				t.set("stock.move.line", lines[i], record{"quantity": have - excess})
				excess = 0
			}
		}
		return
	}
	// 16: qty_done
	rest := q
	for i, id := range lines {
		ml := t.rec("stock.move.line", id)
		take := math.Min(rest, fnum(ml, "reserved_uom_qty"))
		if i == len(lines)-1 {
			take = rest
		}
		t.set("stock.move.line", id, record{"qty_done": math.Max(take, 0)})
		rest -= math.Max(take, 0)
	}
	if rest > eps {
		id := t.newMoveLine(mid, fint(mv, "location_id"), 0, 0)
		t.set("stock.move.line", id, record{"qty_done": rest})
	}
}

// --- validation ----------------------------------------------------------------------------------

func (t *txn) ctxIDs(key string) []int {
	ids, _ := asIDs(t.ctx[key])
	return ids
}

func (t *txn) ctxTrue(key string) bool { return truthy(t.ctx[key]) }

// buttonValidate implements stock.picking.button_validate per version (reference §3.2, §7.6).
func (t *txn) buttonValidate(ids []int) (any, error) {
	var todo []int
	for _, id := range ids {
		if fstr(t.rec("stock.picking", id), "state") != "done" && fstr(t.rec("stock.picking", id), "state") != "cancel" {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return true, nil
	}
	for _, id := range todo {
		if fstr(t.rec("stock.picking", id), "state") == "draft" {
			t.confirmPicking(id)
			if t.s.version >= 19 {
				for _, mid := range t.pickingMoves(id) {
					mv := t.rec("stock.move", mid)
					if t.moveQty(mid) < fnum(mv, "product_uom_qty")-eps {
						t.setMoveLinesQty(mid, fnum(mv, "product_uom_qty"), "quantity")
					}
				}
				t.recomputePicking(id)
			}
		}
	}
	// sanity checks
	for _, id := range todo {
		moves := t.pickingMoves(id)
		if len(moves) == 0 {
			return nil, userError("You can't validate an empty transfer. Please add some products to move before proceeding.")
		}
		hasQty := false
		for _, mid := range moves {
			if st := fstr(t.rec("stock.move", mid), "state"); st == "cancel" || st == "done" {
				continue
			}
			if t.moveQty(mid) > eps || t.moveDone(mid) > eps {
				hasQty = true
			}
		}
		if !hasQty {
			if t.s.version <= 16 {
				return nil, userError("You cannot validate a transfer if no quantities are reserved nor done. To force the transfer, switch in edit mode and encode the done quantities.")
			}
			return nil, userError("You cannot validate a transfer if no quantities are reserved. To force the transfer, encode quantities.")
		}
	}
	// 16: immediate transfer wizard when nothing is done
	if t.s.version <= 16 && !t.ctxTrue("skip_immediate") {
		var need []int
		for _, id := range todo {
			done := 0.0
			for _, mid := range t.pickingMoves(id) {
				done += t.moveDone(mid)
			}
			if done <= eps {
				need = append(need, id)
			}
		}
		if len(need) > 0 {
			return t.wizardAction("Immediate Transfer?", "stock.immediate.transfer", t.s.views().immediate, todo, need), nil
		}
	}
	if t.s.version >= 17 {
		for _, id := range todo {
			anyPicked := false
			for _, mid := range t.pickingMoves(id) {
				if truthy(t.rec("stock.move", mid)["picked"]) {
					anyPicked = true
				}
			}
			if !anyPicked {
				for _, mid := range t.pickingMoves(id) {
					if t.moveQty(mid) > eps && fstr(t.rec("stock.move", mid), "state") != "cancel" {
						t.set("stock.move", mid, record{"picked": true})
						for _, ml := range t.moveLines(mid) {
							t.set("stock.move.line", ml, record{"picked": true})
						}
					}
				}
			}
		}
	}
	// tracked products need lots
	for _, id := range todo {
		for _, mid := range t.pickingMoves(id) {
			mv := t.rec("stock.move", mid)
			if fstr(mv, "state") == "cancel" || t.tracking(fint(mv, "product_id")) == "none" {
				continue
			}
			for _, mlid := range t.moveLines(mid) {
				ml := t.rec("stock.move.line", mlid)
				done := t.mlDone(ml, truthy(mv["picked"]))
				if done > eps && fint(ml, "lot_id") == 0 && fstr(ml, "lot_name") == "" {
					return nil, userError("You need to supply a Lot/Serial number for products %s.", t.displayName("product.product", fint(mv, "product_id")))
				}
				if t.tracking(fint(mv, "product_id")) == "serial" && done > 1+eps {
					return nil, userError("You can only process 1.0 Units of products with unique serial number.")
				}
			}
		}
	}
	notBO := t.ctxIDs("picking_ids_not_to_backorder")
	if !t.ctxTrue("skip_backorder") {
		var ask []int
		for _, id := range todo {
			pt := t.rec("stock.picking.type", fint(t.rec("stock.picking", id), "picking_type_id"))
			if fstr(pt, "create_backorder") != "ask" && fstr(pt, "create_backorder") != "" {
				continue
			}
			if t.needsBackorder(id) {
				ask = append(ask, id)
			}
		}
		if len(ask) > 0 {
			return t.wizardAction("Create Backorder?", "stock.backorder.confirmation", t.s.views().backorder, todo, ask), nil
		}
	}
	if !t.ctxTrue("skip_sms") && !t.db.flags["sms_asked"] {
		for _, id := range todo {
			p := t.rec("stock.picking", id)
			if t.i("stock.picking", p, "picking_type_id") == 0 || t.str("stock.picking", p, "picking_type_code") != "outgoing" {
				continue
			}
			partner := t.rec("res.partner", fint(p, "partner_id"))
			if fstr(partner, "phone") != "" || fstr(partner, "mobile") != "" {
				wid := t.insert("confirm.stock.sms", record{"company_id": 1})
				act := newOmap().set("name", "SMS").set("type", "ir.actions.act_window").set("view_mode", "form").
					set("res_model", "confirm.stock.sms").set("views", []any{[]any{t.s.views().sms, "form"}}).
					set("view_id", t.s.views().sms).set("target", "new").set("res_id", wid).
					set("context", t.ctxMap(todo))
				return act, nil
			}
		}
	}
	for _, id := range todo {
		pt := t.rec("stock.picking.type", fint(t.rec("stock.picking", id), "picking_type_id"))
		cb := fstr(pt, "create_backorder")
		backorder := !slices.Contains(notBO, id)
		if cb == "never" {
			backorder = false
		}
		if cb == "always" && t.s.version >= 19 {
			backorder = true
		}
		t.actionDone(id, backorder)
	}
	return true, nil
}

// wizardAction builds the backorder / immediate transfer action (no res_id).
func (t *txn) wizardAction(name, model string, view int, all, pick []int) *omap {
	dpick := []any{}
	for _, id := range pick {
		dpick = append(dpick, []any{4, id})
	}
	ctx := t.ctxMap(all).set("default_show_transfers", false).set("default_pick_ids", dpick)
	return newOmap().set("name", name).set("type", "ir.actions.act_window").set("view_mode", "form").
		set("res_model", model).set("views", []any{[]any{view, "form"}}).set("view_id", view).set("target", "new").
		set("context", ctx)
}

// ctxMap is the current context plus button_validate_picking_ids, as wizard actions carry it.
func (t *txn) ctxMap(ids []int) *omap {
	m := newOmap().set("button_validate_picking_ids", ids)
	keys := make([]string, 0, len(t.ctx))
	for k := range t.ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "button_validate_picking_ids" {
			m.set(k, t.ctx[k])
		}
	}
	return m
}

func (t *txn) needsBackorder(pid int) bool {
	for _, mid := range t.pickingMoves(pid) {
		mv := t.rec("stock.move", mid)
		if st := fstr(mv, "state"); st == "cancel" || st == "done" {
			continue
		}
		if t.moveDone(mid) < fnum(mv, "product_uom_qty")-eps {
			return true
		}
	}
	return false
}

// actionDone validates one picking: done moves update quants; remainders go to a backorder or are cancelled.
func (t *txn) actionDone(pid int, backorder bool) {
	p := t.rec("stock.picking", pid)
	var remainder []int
	for _, mid := range t.pickingMoves(pid) {
		mv := t.rec("stock.move", mid)
		if st := fstr(mv, "state"); st == "cancel" || st == "done" {
			continue
		}
		picked := truthy(mv["picked"])
		done := t.moveDone(mid)
		demand := fnum(mv, "product_uom_qty")
		if done <= eps {
			for _, mlid := range t.moveLines(mid) {
				t.del("stock.move.line", mlid)
			}
			remainder = append(remainder, mid)
			continue
		}
		for _, mlid := range t.moveLines(mid) {
			ml := t.rec("stock.move.line", mlid)
			q := t.mlDone(ml, picked)
			if q <= eps {
				t.del("stock.move.line", mlid)
				continue
			}
			lot := fint(ml, "lot_id")
			if lot == 0 && fstr(ml, "lot_name") != "" {
				lot = t.insert("stock.lot", record{"name": fstr(ml, "lot_name"), "product_id": fint(ml, "product_id"), "company_id": 1})
			}
			t.adjustQuant(fint(ml, "product_id"), fint(ml, "location_id"), lot, -q)
			t.adjustQuant(fint(ml, "product_id"), fint(ml, "location_dest_id"), lot, q)
			upd := record{"state": "done", "lot_id": lot, "date": t.nowStr()}
			if t.s.version >= 17 {
				upd["quantity"] = q
				upd["picked"] = true
			} else {
				upd["reserved_uom_qty"] = 0.0
			}
			t.set("stock.move.line", mlid, upd)
		}
		if done < demand-eps {
			rest := demand - done
			nv := record{}
			for k, v := range mv {
				nv[k] = v
			}
			delete(nv, "id")
			nv["product_uom_qty"] = rest
			nv["state"] = "confirmed"
			if t.s.version >= 17 {
				nv["picked"] = false
			}
			nid := t.insert("stock.move", nv)
			remainder = append(remainder, nid)
		}
		upd := record{"state": "done", "product_uom_qty": math.Max(done, 0), "date": t.nowStr()}
		if t.s.version >= 17 {
			upd["picked"] = true
		}
		t.set("stock.move", mid, upd)
	}
	t.set("stock.picking", pid, record{"state": "done", "date_done": t.nowStr()})
	if len(remainder) > 0 {
		if backorder {
			bo := record{}
			for _, k := range []string{"partner_id", "origin", "picking_type_id", "location_id", "location_dest_id", "sale_id",
				"carrier_id", "move_type", "company_id", "scheduled_date", "priority", "user_id"} {
				if v, ok := p[k]; ok {
					bo[k] = v
				}
			}
			bo["name"] = t.pickingName(fint(p, "picking_type_id"))
			bo["backorder_id"] = pid
			bo["state"] = "confirmed"
			bid := t.insert("stock.picking", bo)
			for _, mid := range remainder {
				upd := record{"picking_id": bid, "state": "confirmed"}
				if t.s.version >= 17 {
					upd["picked"] = false
				}
				t.set("stock.move", mid, upd)
				t.reserveMove(mid)
			}
			t.recomputePicking(bid)
		} else {
			for _, mid := range remainder {
				t.set("stock.move", mid, record{"state": "cancel"})
			}
		}
	}
	t.afterPickingDone(pid)
}

// afterPickingDone touches the sale order and its lines so write_date polling sees the change.
func (t *txn) afterPickingDone(pid int) {
	p := t.rec("stock.picking", pid)
	so := fint(p, "sale_id")
	if so == 0 || t.rec("sale.order", so) == nil {
		return
	}
	t.touch("sale.order", so)
	for _, l := range t.where("sale.order.line", func(r record) bool { return r["order_id"] == so }) {
		t.touch("sale.order.line", l)
	}
}

// scrapValidate implements stock.scrap.action_validate.
func (t *txn) scrapValidate(id int, force bool) (any, error) {
	sc := t.rec("stock.scrap", id)
	if fstr(sc, "state") == "done" {
		return true, nil
	}
	pid := fint(sc, "product_id")
	qty := fnum(sc, "scrap_qty")
	loc := fint(sc, "location_id")
	lot := fint(sc, "lot_id")
	if qty <= 0 {
		return nil, userError("You can only enter positive quantities.")
	}
	if t.tracking(pid) != "none" && lot == 0 {
		return nil, userError("You need to supply a Lot/Serial number for product: \n - %s", t.displayName("product.product", pid))
	}
	// Odoo 16–19 (check_available_qty) read qty_available with the
	// context location, lot_id, package_id, owner_id and strict=True: the
	// quants at exactly the source location (not its children) of exactly
	// the scrap's lot, or without lot when it has none.
	qs := t.strictQuants(pid, loc, lot)
	if t.isStorable(pid) && !force {
		avail := 0.0
		for _, qid := range qs {
			avail += fnum(t.rec("stock.quant", qid), "quantity")
		}
		if avail < qty-eps {
			wid := t.insert("stock.warn.insufficient.qty.scrap", record{"scrap_id": id, "product_id": pid, "location_id": loc, "quantity": qty})
			ctx := newOmap().set("default_product_id", pid).set("default_location_id", loc).set("default_scrap_id", id).
				set("default_quantity", pyFloat(qty)).set("default_product_uom_name", "Units")
			return newOmap().set("name", fmt.Sprintf("%s : Insufficient Quantity To Scrap", t.displayName("product.product", pid))).
				set("view_mode", "form").set("res_model", "stock.warn.insufficient.qty.scrap").set("view_id", t.s.views().scrapWarn).
				set("type", "ir.actions.act_window").set("context", ctx).set("target", "new").set("res_id", wid), nil
		}
	}
	name := fmt.Sprintf("SP/%05d", t.next("scrap"))
	dest := fint(sc, "scrap_location_id")
	mv := record{"product_id": pid, "product_uom_qty": qty, "product_uom": 1, "location_id": loc, "location_dest_id": dest,
		"state": "done", "origin": name, "company_id": 1, "date": t.nowStr(), "scrap_id": id}
	if t.s.version <= 18 {
		mv["name"] = name
	}
	if t.s.version >= 17 {
		mv["picked"] = true
	}
	mid := t.insert("stock.move", mv)
	ml := record{"move_id": mid, "product_id": pid, "product_uom_id": 1, "location_id": loc, "location_dest_id": dest,
		"lot_id": lot, "state": "done", "company_id": 1, "date": t.nowStr(), "reference": name}
	if t.s.version >= 17 {
		ml["quantity"] = qty
		ml["picked"] = true
	} else {
		ml["qty_done"] = qty
	}
	t.insert("stock.move.line", ml)
	// take from the matching quants (FIFO), possibly going negative on the last one
	rest := qty
	for i, qid := range qs {
		q := t.rec("stock.quant", qid)
		take := math.Min(rest, math.Max(fnum(q, "quantity"), 0))
		if i == len(qs)-1 {
			take = rest
		}
		if take > eps {
			t.set("stock.quant", qid, record{"quantity": fnum(q, "quantity") - take})
			rest -= take
		}
	}
	if rest > eps {
		t.adjustQuant(pid, loc, lot, -rest)
	}
	t.set("stock.scrap", id, record{"state": "done", "date_done": t.nowStr(), "name": name})
	return true, nil
}

// strOr is a tiny helper for optional strings.
func strOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
