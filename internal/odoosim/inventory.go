package odoosim

import "math"

// setupInventory wires inventory adjustments as Odoo 16–19 do them over
// RPC: create stock.quant with inventory_quantity under the context
// inventory_mode (which lands on the existing quant of the product,
// location and lot when there is one), then action_apply_inventory, which
// moves the difference from or to the inventory adjustment location.
func (s *Sim) setupInventory() {
	q := s.models["stock.quant"]
	create := q.methods["create"]
	q.methods["create"] = &method{model: true, params: create.params, required: create.required,
		fn: func(t *txn, c *call) (any, error) {
			if !truthy(t.ctx["inventory_mode"]) {
				return create.fn(t, c)
			}
			v, _ := c.arg("vals_list")
			list, _ := v.([]any)
			single := false
			if m, ok := v.(map[string]any); ok {
				list, single = []any{m}, true
			}
			if list == nil {
				return create.fn(t, c)
			}
			ids := []int{}
			for _, e := range list {
				vals, ok := e.(map[string]any)
				if !ok {
					return nil, typeError("'%s' object is not a mapping", pyTypeName(e))
				}
				id, err := t.inventoryQuant(c.m, vals)
				if err != nil {
					return nil, err
				}
				ids = append(ids, id)
			}
			if single && !c.jsonv2 {
				return ids[0], nil
			}
			return ids, nil
		}}
	q.methods["action_apply_inventory"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			t.applyInventory(id)
		}
		return nil, nil
	}}

	sp := s.models["stock.scrap"]
	sp.unlinkOK = func(t *txn, ids []int) error {
		for _, id := range ids {
			if fstr(t.rec("stock.scrap", id), "state") == "done" {
				return userError("You cannot delete a scrap which is done.")
			}
		}
		return nil
	}
}

// inventoryQuant is stock.quant.create in inventory mode: it sets the
// counted quantity on the quant of the product, location and lot, creating
// an empty one when there is none.
func (t *txn) inventoryQuant(m *model, vals map[string]any) (int, error) {
	iq, set := vals["inventory_quantity"]
	if !set {
		return t.create(m, vals)
	}
	rest := map[string]any{}
	for k, v := range vals {
		if k != "inventory_quantity" {
			rest[k] = v
		}
	}
	conv, _, err := t.convert(m, rest)
	if err != nil {
		return 0, err
	}
	counted, _ := iq.(float64)
	pid, loc, lot := fint(conv, "product_id"), fint(conv, "location_id"), fint(conv, "lot_id")
	var id int
	if qs := t.strictQuants(pid, loc, lot); len(qs) > 0 {
		id = qs[0]
	} else {
		rest["quantity"] = 0.0
		if id, err = t.create(m, rest); err != nil {
			return 0, err
		}
	}
	t.set("stock.quant", id, record{"inventory_quantity": counted, "inventory_quantity_set": true})
	return id, nil
}

// applyInventory moves the difference between the counted and the on-hand
// quantity of quant id from or to the inventory adjustment location, as a
// done move, and clears the count.
func (t *txn) applyInventory(id int) {
	q := t.rec("stock.quant", id)
	if !truthy(q["inventory_quantity_set"]) {
		return
	}
	pid, loc, lot := fint(q, "product_id"), fint(q, "location_id"), fint(q, "lot_id")
	onHand := 0.0 // Odoo merges the quants of one product, location and lot; count them all
	for _, qid := range t.strictQuants(pid, loc, lot) {
		onHand += fnum(t.rec("stock.quant", qid), "quantity")
	}
	diff := fnum(q, "inventory_quantity") - onHand
	t.set("stock.quant", id, record{"inventory_quantity": 0.0, "inventory_quantity_set": false})
	if math.Abs(diff) < eps {
		return
	}
	adj := t.inventoryLocation()
	from, to := adj, loc
	if diff < 0 {
		from, to = loc, adj
	}
	qty := math.Abs(diff)
	name := "Product Quantity Updated"
	mv := record{"product_id": pid, "product_uom_qty": qty, "product_uom": 1, "location_id": from, "location_dest_id": to,
		"state": "done", "company_id": 1, "date": t.nowStr(), "is_inventory": true}
	if t.s.version <= 18 {
		mv["name"] = name
	}
	if t.s.version >= 17 {
		mv["picked"] = true
	}
	if !t.m("stock.move").has("is_inventory") {
		delete(mv, "is_inventory")
	}
	mid := t.insert("stock.move", mv)
	ml := record{"move_id": mid, "product_id": pid, "product_uom_id": 1, "location_id": from, "location_dest_id": to,
		"lot_id": lot, "state": "done", "company_id": 1, "date": t.nowStr(), "reference": name}
	if t.s.version >= 17 {
		ml["quantity"] = qty
		ml["picked"] = true
	} else {
		ml["qty_done"] = qty
	}
	t.insert("stock.move.line", ml)
	t.set("stock.quant", id, record{"quantity": fnum(q, "quantity") + diff})
}

// inventoryLocation is the virtual location inventory adjustments count
// against.
func (t *txn) inventoryLocation() int {
	for _, id := range t.all("stock.location") {
		r := t.rec("stock.location", id)
		if fstr(r, "usage") == "inventory" && fstr(r, "name") == "Inventory adjustment" {
			return id
		}
	}
	return 0
}
