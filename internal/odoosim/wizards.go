package odoosim

import "slices"

// withCtx runs fn with extra context keys.
func (t *txn) withCtx(extra map[string]any, fn func() (any, error)) (any, error) {
	old := t.ctx
	nc := make(map[string]any, len(old)+len(extra))
	for k, v := range old {
		nc[k] = v
	}
	for k, v := range extra {
		nc[k] = v
	}
	t.ctx = nc
	defer func() { t.ctx = old }()
	return fn()
}

func singleton(t *txn, c *call) error {
	if err := t.checkIDs(c); err != nil {
		return err
	}
	if len(c.ids) != 1 {
		return valueError("Expected singleton: %s(%s)", c.m.name, pyTupleIDs(c.ids))
	}
	return nil
}

func (s *Sim) setupWizards() {
	m := s.models

	// sale.advance.payment.inv
	adv := m["sale.advance.payment.inv"]
	adv.required = []string{"advance_payment_method"}
	adv.defaults = func(t *txn, r record) {
		if ids, _ := r["sale_order_ids"].([]int); len(ids) == 0 && t.ctx["active_model"] == "sale.order" {
			if ids := t.ctxIDs("active_ids"); len(ids) > 0 {
				r["sale_order_ids"] = ids
			} else if id, ok := asInt(t.ctx["active_id"]); ok {
				r["sale_order_ids"] = []int{id}
			}
		}
		setDefault(r, "consolidated_billing", true)
		setDefault(r, "deduct_down_payments", true)
	}
	orders := func(r record) []int { ids, _ := r["sale_order_ids"].([]int); return ids }
	adv.compute("count", func(t *txn, r record) any { return len(orders(r)) })
	sumSO := func(f string) func(t *txn, r record) any {
		return func(t *txn, r record) any {
			sum := 0.0
			for _, so := range orders(r) {
				if rec := t.rec("sale.order", so); rec != nil {
					sum += t.num("sale.order", rec, f)
				}
			}
			return round2(sum)
		}
	}
	adv.compute("amount_invoiced", sumSO("amount_invoiced"))
	adv.compute("amount_to_invoice", sumSO("amount_to_invoice"))
	adv.methods["create_invoices"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := singleton(t, c); err != nil {
			return nil, err
		}
		return t.createInvoices(c.ids[0])
	}}

	// stock.backorder.confirmation
	bo := m["stock.backorder.confirmation"]
	bo.created = func(t *txn, id int) error {
		picks, _ := t.rec("stock.backorder.confirmation", id)["pick_ids"].([]int)
		for _, p := range picks {
			t.insert("stock.backorder.confirmation.line", record{"backorder_confirmation_id": id, "picking_id": p, "to_backorder": true})
		}
		return nil
	}
	boProcess := func(cancel bool) *method {
		return &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			toValidate := t.ctxIDs("button_validate_picking_ids")
			if len(toValidate) == 0 {
				return true, nil
			}
			notBO := []int{}
			for _, id := range c.ids {
				w := t.rec("stock.backorder.confirmation", id)
				picks, _ := w["pick_ids"].([]int)
				for _, p := range picks {
					if cancel {
						notBO = append(notBO, p)
					}
				}
				if !cancel {
					for _, l := range t.children("stock.backorder.confirmation.line", "backorder_confirmation_id", id) {
						lr := t.rec("stock.backorder.confirmation.line", l)
						if !truthy(lr["to_backorder"]) {
							notBO = append(notBO, fint(lr, "picking_id"))
						}
					}
				}
			}
			for _, p := range toValidate {
				if t.rec("stock.picking", p) == nil {
					return nil, missingError("stock.picking", []int{p}, t.uid)
				}
			}
			return t.withCtx(map[string]any{"skip_backorder": true, "picking_ids_not_to_backorder": intsToAny(notBO)},
				func() (any, error) { return t.buttonValidate(toValidate) })
		}}
	}
	bo.methods["process"] = boProcess(false)
	bo.methods["process_cancel_backorder"] = boProcess(true)

	// stock.immediate.transfer (16)
	if it := m["stock.immediate.transfer"]; it != nil {
		it.created = func(t *txn, id int) error {
			picks, _ := t.rec("stock.immediate.transfer", id)["pick_ids"].([]int)
			for _, p := range picks {
				t.insert("stock.immediate.transfer.line", record{"immediate_transfer_id": id, "picking_id": p, "to_immediate": true})
			}
			return nil
		}
		it.methods["process"] = &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			toValidate := t.ctxIDs("button_validate_picking_ids")
			if len(toValidate) == 0 {
				return true, nil
			}
			for _, id := range c.ids {
				picks, _ := t.rec("stock.immediate.transfer", id)["pick_ids"].([]int)
				for _, p := range picks {
					for _, mid := range t.pickingMoves(p) {
						for _, ml := range t.moveLines(mid) {
							r := t.rec("stock.move.line", ml)
							t.set("stock.move.line", ml, record{"qty_done": fnum(r, "reserved_uom_qty")})
						}
					}
				}
			}
			return t.withCtx(map[string]any{"skip_immediate": true}, func() (any, error) { return t.buttonValidate(toValidate) })
		}}
	}

	// confirm.stock.sms
	sms := m["confirm.stock.sms"]
	smsAnswer := func(disable bool) *method {
		return &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			t.db.flags["sms_asked"] = true
			if disable {
				t.db.flags["sms_disabled"] = true
			}
			toValidate := t.ctxIDs("button_validate_picking_ids")
			if len(toValidate) == 0 {
				return true, nil
			}
			return t.buttonValidate(toValidate)
		}}
	}
	sms.methods["dont_send_sms"] = smsAnswer(true)
	sms.methods["send_sms"] = smsAnswer(false)

	// stock.return.picking
	rp := m["stock.return.picking"]
	rl := m["stock.return.picking.line"]
	rp.display = func(t *txn, r record) string { return "" }
	rl.display = func(t *txn, r record) string { return t.displayName("product.product", fint(r, "product_id")) }
	rp.defaults = func(t *txn, r record) {
		if fint(r, "picking_id") == 0 && t.ctx["active_model"] == "stock.picking" {
			if id, ok := asInt(t.ctx["active_id"]); ok {
				r["picking_id"] = id
			} else if ids := t.ctxIDs("active_ids"); len(ids) == 1 {
				r["picking_id"] = ids[0]
			}
		}
		if p := t.rec("stock.picking", fint(r, "picking_id")); p != nil {
			setDefault(r, "location_id", p["location_id"])
			if rp.has("original_location_id") {
				setDefault(r, "original_location_id", p["location_id"])
			}
		}
		setDefault(r, "company_id", 1)
	}
	rp.created = func(t *txn, id int) error {
		w := t.rec("stock.return.picking", id)
		p := t.rec("stock.picking", fint(w, "picking_id"))
		if p == nil {
			return userError("You must select a picking to return.")
		}
		if fstr(p, "state") != "done" {
			return userError("You may only return Done pickings.")
		}
		if len(t.children("stock.return.picking.line", "wizard_id", id)) > 0 {
			return nil
		}
		for _, mid := range t.pickingMoves(fint(p, "id")) {
			mv := t.rec("stock.move", mid)
			if fstr(mv, "state") != "done" {
				continue
			}
			done := fnum(mv, "product_uom_qty")
			for _, rmid := range t.where("stock.move", func(r record) bool { return fint(r, "origin_returned_move_id") == mid }) {
				if st := fstr(t.rec("stock.move", rmid), "state"); st != "cancel" {
					done -= fnum(t.rec("stock.move", rmid), "product_uom_qty")
				}
			}
			qty := 0.0
			if t.s.version <= 17 {
				qty = done
			}
			t.insert("stock.return.picking.line", record{"wizard_id": id, "product_id": fint(mv, "product_id"), "quantity": qty,
				"move_quantity": fnum(mv, "product_uom_qty"), "move_id": mid, "uom_id": 1, "to_refund": true})
		}
		return nil
	}
	doReturn := func(all, exchange bool) *method {
		return &method{fn: func(t *txn, c *call) (any, error) {
			if err := singleton(t, c); err != nil {
				return nil, err
			}
			return t.createReturn(c.ids[0], all, exchange)
		}}
	}
	if s.version >= 18 {
		rp.methods["action_create_returns"] = doReturn(false, false)
		rp.methods["action_create_returns_all"] = doReturn(true, false)
		rp.methods["action_create_exchanges"] = doReturn(false, true)
	} else {
		rp.methods["create_returns"] = doReturn(false, false)
	}

	// sale.order.cancel (≤18)
	if sc := m["sale.order.cancel"]; sc != nil {
		sc.required = []string{"order_id"}
		cancel := &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			for _, id := range c.ids {
				t.cancelOrder(fint(t.rec("sale.order.cancel", id), "order_id"))
			}
			return true, nil
		}}
		sc.methods["action_cancel"] = cancel
		sc.methods["action_send_mail_and_cancel"] = cancel
	}

	s.setupCarrierWizard()

	// stock.scrap
	sp := m["stock.scrap"]
	sp.display = func(t *txn, r record) string { return fstr(r, "name") }
	sp.required = []string{"product_id"}
	sp.defaults = func(t *txn, r record) {
		setDefault(r, "name", "New")
		setDefault(r, "state", "draft")
		setDefault(r, "company_id", 1)
		setDefault(r, "product_uom_id", 1)
		if wh := t.rec("stock.warehouse", 1); wh != nil {
			setDefault(r, "location_id", wh["lot_stock_id"])
		}
		setDefault(r, "scrap_location_id", t.scrapLocation())
		if _, ok := r["scrap_qty"]; !ok {
			r["scrap_qty"] = 1.0
		}
	}
	sp.methods["action_validate"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		var res any = true
		for _, id := range c.ids {
			r, err := t.scrapValidate(id, false)
			if err != nil {
				return nil, err
			}
			if r != true {
				res = r
			}
		}
		return res, nil
	}}
	wq := m["stock.warn.insufficient.qty.scrap"]
	wq.methods["action_done"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			if _, err := t.scrapValidate(fint(t.rec("stock.warn.insufficient.qty.scrap", id), "scrap_id"), true); err != nil {
				return nil, err
			}
		}
		return true, nil
	}}
}

// setupCarrierWizard wires choose.delivery.carrier: update_price then button_confirm adds the
// carrier's delivery line to the order.
func (s *Sim) setupCarrierWizard() {
	cw := s.models["choose.delivery.carrier"]
	cw.required = []string{"order_id", "carrier_id"}
	cw.defaults = func(t *txn, r record) {
		setDefault(r, "currency_id", 1)
		setDefault(r, "company_id", 1)
	}
	cw.methods["update_price"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := singleton(t, c); err != nil {
			return nil, err
		}
		w := t.rec("choose.delivery.carrier", c.ids[0])
		price := fnum(t.rec("delivery.carrier", fint(w, "carrier_id")), "fixed_price")
		t.set("choose.delivery.carrier", c.ids[0], record{"delivery_price": price, "display_price": price})
		return newOmap().set("name", "Add a shipping method").set("type", "ir.actions.act_window").set("view_mode", "form").
			set("res_model", "choose.delivery.carrier").set("res_id", c.ids[0]).set("target", "new"), nil
	}}
	cw.methods["button_confirm"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := singleton(t, c); err != nil {
			return nil, err
		}
		w := t.rec("choose.delivery.carrier", c.ids[0])
		so := fint(w, "order_id")
		carrier := t.rec("delivery.carrier", fint(w, "carrier_id"))
		for _, l := range t.soLines(so) {
			if truthy(t.rec("sale.order.line", l)["is_delivery"]) {
				if err := t.unlink(t.m("sale.order.line"), []int{l}); err != nil {
					return nil, err
				}
			}
		}
		if _, err := t.create(t.m("sale.order.line"), map[string]any{"order_id": float64(so),
			"product_id": float64(fint(carrier, "product_id")), "name": fstr(carrier, "name"),
			"price_unit": fnum(w, "delivery_price"), "product_uom_qty": 1.0, "is_delivery": true}); err != nil {
			return nil, err
		}
		t.set("sale.order", so, record{"carrier_id": fint(carrier, "id")})
		return nil, nil
	}}
}

func (t *txn) scrapLocation() int {
	for _, id := range t.all("stock.location") {
		r := t.rec("stock.location", id)
		if fstr(r, "usage") == "inventory" && (truthy(r["scrap_location"]) || fstr(r, "name") == "Scrap") {
			return id
		}
	}
	return 0
}

// createReturn builds the return picking from a stock.return.picking wizard.
func (t *txn) createReturn(wid int, all, exchange bool) (any, error) {
	w := t.rec("stock.return.picking", wid)
	orig := t.rec("stock.picking", fint(w, "picking_id"))
	if orig == nil {
		return nil, userError("You must select a picking to return.")
	}
	lines := t.children("stock.return.picking.line", "wizard_id", wid)
	if all {
		for _, l := range lines {
			lr := t.rec("stock.return.picking.line", l)
			t.set("stock.return.picking.line", l, record{"quantity": fnum(lr, "move_quantity")})
		}
	}
	any := false
	for _, l := range lines {
		if fnum(t.rec("stock.return.picking.line", l), "quantity") > eps {
			any = true
		}
	}
	if !any {
		return nil, userError("Please specify at least one non-zero quantity.")
	}
	ot := t.rec("stock.picking.type", fint(orig, "picking_type_id"))
	rtID := fint(ot, "return_picking_type_id")
	if rtID == 0 {
		rtID = fint(orig, "picking_type_id")
	}
	dest := fint(w, "location_id")
	if dest == 0 || t.usage(dest) != "internal" {
		dest = fint(orig, "location_id")
	}
	vals := record{"name": t.pickingName(rtID), "origin": "Return of " + fstr(orig, "name"), "partner_id": fint(orig, "partner_id"),
		"picking_type_id": rtID, "location_id": fint(orig, "location_dest_id"), "location_dest_id": dest,
		"sale_id": fint(orig, "sale_id"), "company_id": 1, "move_type": "direct", "scheduled_date": t.nowStr(),
		"state": "draft", "priority": "0", "user_id": t.uid}
	if t.s.version >= 17 {
		vals["return_id"] = fint(orig, "id")
	}
	rid := t.insert("stock.picking", vals)
	for _, l := range lines {
		lr := t.rec("stock.return.picking.line", l)
		q := fnum(lr, "quantity")
		if q <= eps {
			continue
		}
		omv := t.rec("stock.move", fint(lr, "move_id"))
		mv := record{"product_id": fint(lr, "product_id"), "product_uom_qty": q, "product_uom": 1, "picking_id": rid,
			"location_id": fint(orig, "location_dest_id"), "location_dest_id": dest, "picking_type_id": rtID,
			"partner_id": fint(orig, "partner_id"), "origin": "Return of " + fstr(orig, "name"), "state": "confirmed",
			"origin_returned_move_id": fint(lr, "move_id"), "to_refund": truthy(lr["to_refund"]), "company_id": 1,
			"date": t.nowStr(), "procure_method": "make_to_stock"}
		if truthy(lr["to_refund"]) || t.s.version <= 16 {
			mv["sale_line_id"] = fint(omv, "sale_line_id")
		}
		if t.s.version <= 18 {
			mv["name"] = fstr(omv, "name")
		}
		if t.s.version >= 17 {
			mv["picked"] = false
		}
		mid := t.insert("stock.move", mv)
		// incoming returns reserve the same lots that went out
		var lots []int
		for _, ml := range t.moveLines(fint(lr, "move_id")) {
			if lot := fint(t.rec("stock.move.line", ml), "lot_id"); lot != 0 && !slices.Contains(lots, lot) {
				lots = append(lots, lot)
			}
		}
		if len(lots) > 0 {
			t.newMoveLine(mid, fint(orig, "location_dest_id"), lots[0], q)
			t.recomputeMove(mid)
		} else {
			t.reserveMove(mid)
		}
	}
	t.recomputePicking(rid)
	if exchange {
		ptOut := fint(orig, "picking_type_id")
		pt := t.rec("stock.picking.type", ptOut)
		xid := t.insert("stock.picking", record{"name": t.pickingName(ptOut), "origin": fstr(orig, "origin"),
			"partner_id": fint(orig, "partner_id"), "picking_type_id": ptOut, "location_id": fint(pt, "default_location_src_id"),
			"location_dest_id": fint(pt, "default_location_dest_id"), "sale_id": fint(orig, "sale_id"), "company_id": 1,
			"move_type": "direct", "scheduled_date": t.nowStr(), "state": "confirmed", "priority": "0"})
		for _, l := range lines {
			lr := t.rec("stock.return.picking.line", l)
			if q := fnum(lr, "quantity"); q > eps {
				mv := record{"product_id": fint(lr, "product_id"), "product_uom_qty": q, "product_uom": 1, "picking_id": xid,
					"location_id": fint(pt, "default_location_src_id"), "location_dest_id": fint(pt, "default_location_dest_id"),
					"picking_type_id": ptOut, "state": "confirmed", "company_id": 1, "date": t.nowStr()}
				if t.s.version <= 18 {
					mv["name"] = t.displayName("product.product", fint(lr, "product_id"))
				}
				if t.s.version >= 17 {
					mv["picked"] = false
				}
				t.reserveMove(t.insert("stock.move", mv))
			}
		}
		t.recomputePicking(xid)
	}
	ctx := newOmap()
	for _, k := range []string{"active_id", "active_ids", "active_model"} {
		if v, ok := t.ctx[k]; ok {
			ctx.set(k, v)
		}
	}
	act := newOmap().set("name", "Returned Picking").set("view_mode", "form").set("res_model", "stock.picking").
		set("res_id", rid).set("type", "ir.actions.act_window").set("context", ctx)
	if t.s.version <= 16 {
		act.set("view_mode", "form,tree")
	}
	return act, nil
}
