package odoosim

import (
	"fmt"
	"math"
	"strings"
)

func (t *txn) soLines(so int) []int {
	return t.pointing("sale.order.line", "order_id", so)
}

func (t *txn) lineUoMKey() string {
	if t.s.version >= 19 {
		return "product_uom_id"
	}
	return "product_uom"
}

// qtyDelivered: done outgoing moves of the line minus done returns (stock_move method); manual otherwise.
func (t *txn) qtyDelivered(line record) float64 {
	if t.isService(fint(line, "product_id")) || fint(line, "product_id") == 0 {
		return fnum(line, "qty_delivered")
	}
	lid := fint(line, "id")
	sum := 0.0
	for _, mid := range t.where("stock.move", func(r record) bool { return r["sale_line_id"] == lid && r["state"] == "done" }) {
		mv := t.rec("stock.move", mid)
		dst := t.usage(fint(mv, "location_dest_id"))
		src := t.usage(fint(mv, "location_id"))
		q := fnum(mv, "product_uom_qty")
		switch {
		case dst == "customer" && src != "customer":
			sum += q
		case src == "customer" && dst != "customer" && (truthy(mv["to_refund"]) || t.s.version <= 16):
			sum -= q
		}
	}
	return sum
}

// qtyInvoiced sums the line's invoice lines on non-cancelled moves (refunds negative).
func (t *txn) qtyInvoiced(line record) float64 {
	lid := fint(line, "id")
	sum := 0.0
	for _, aml := range t.all("account.move.line") {
		r := t.rec("account.move.line", aml)
		ids, _ := r["sale_line_ids"].([]int)
		found := false
		for _, x := range ids {
			if x == lid {
				found = true
			}
		}
		if !found {
			continue
		}
		mv := t.rec("account.move", fint(r, "move_id"))
		if mv == nil || fstr(mv, "state") == "cancel" {
			continue
		}
		if fstr(mv, "move_type") == "out_refund" {
			sum -= fnum(r, "quantity")
		} else {
			sum += fnum(r, "quantity")
		}
	}
	return sum
}

func (t *txn) orderConfirmed(so record) bool {
	st := fstr(so, "state")
	return st == "sale" || st == "done"
}

func (t *txn) qtyToInvoice(line record) float64 {
	so := t.rec("sale.order", fint(line, "order_id"))
	if !t.orderConfirmed(so) || fstr(line, "display_type") != "" {
		return 0
	}
	p := t.rec("product.product", fint(line, "product_id"))
	if fstr(p, "invoice_policy") == "delivery" {
		return t.qtyDelivered(line) - t.qtyInvoiced(line)
	}
	return fnum(line, "product_uom_qty") - t.qtyInvoiced(line)
}

func (t *txn) lineInvoiceStatus(line record) string {
	so := t.rec("sale.order", fint(line, "order_id"))
	if !t.orderConfirmed(so) || fstr(line, "display_type") != "" {
		return "no"
	}
	if math.Abs(t.qtyToInvoice(line)) > eps {
		return "to invoice"
	}
	inv := t.qtyInvoiced(line)
	if inv >= fnum(line, "product_uom_qty")-eps && inv > eps {
		return "invoiced"
	}
	if fnum(line, "product_uom_qty") == 0 && inv == 0 {
		return "no"
	}
	return "no"
}

func (t *txn) lineSubtotal(line record) float64 {
	return round2(fnum(line, "product_uom_qty") * fnum(line, "price_unit") * (1 - fnum(line, "discount")/100))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func (t *txn) soInvoices(so int) []int {
	lines := t.soLines(so)
	seen := map[int]bool{}
	var out []int
	for _, aml := range t.all("account.move.line") {
		r := t.rec("account.move.line", aml)
		ids, _ := r["sale_line_ids"].([]int)
		for _, x := range ids {
			for _, l := range lines {
				if x == l {
					mv := fint(r, "move_id")
					if !seen[mv] && t.rec("account.move", mv) != nil {
						seen[mv] = true
						out = append(out, mv)
					}
				}
			}
		}
	}
	for _, mv := range t.where("account.move", func(r record) bool { return fint(r, "sim_sale_order_id") == so }) {
		if !seen[mv] {
			seen[mv] = true
			out = append(out, mv)
		}
	}
	if out == nil {
		out = []int{}
	}
	ids, _ := t.sortIDs(t.m("account.move"), out, "")
	return ids
}

func (s *Sim) setupSale() {
	so := s.models["sale.order"]
	sol := s.models["sale.order.line"]
	so.display = func(t *txn, r record) string { return fstr(r, "name") }
	so.inverse("order_line", "order_id")
	so.inverse("picking_ids", "sale_id")
	so.required = []string{"partner_id"}
	so.defaults = func(t *txn, r record) {
		if !truthy(r["name"]) || r["name"] == "New" || r["name"] == "/" {
			r["name"] = fmt.Sprintf("S%05d", t.next("sale.order"))
		}
		setDefault(r, "state", "draft")
		setDefault(r, "date_order", t.nowStr())
		setDefault(r, "company_id", 1)
		setDefault(r, "currency_id", 1)
		setDefault(r, "warehouse_id", 1)
		setDefault(r, "picking_policy", "direct")
		setDefault(r, "user_id", t.uid)
		setDefault(r, "partner_invoice_id", r["partner_id"])
		setDefault(r, "partner_shipping_id", r["partner_id"])
		if t.s.version >= 17 {
			if _, ok := r["locked"]; !ok {
				r["locked"] = false
			}
		}
	}
	amount := func(t *txn, r record) float64 {
		sum := 0.0
		for _, l := range t.soLines(fint(r, "id")) {
			sum += t.lineSubtotal(t.rec("sale.order.line", l))
		}
		return round2(sum)
	}
	so.compute("amount_untaxed", func(t *txn, r record) any { return amount(t, r) })
	so.compute("amount_total", func(t *txn, r record) any { return amount(t, r) })
	so.compute("amount_tax", func(t *txn, r record) any { return 0.0 })
	so.compute("delivery_count", func(t *txn, r record) any { return len(t.children("stock.picking", "sale_id", fint(r, "id"))) })
	so.compute("invoice_ids", func(t *txn, r record) any { return t.soInvoices(fint(r, "id")) })
	so.compute("invoice_count", func(t *txn, r record) any { return len(t.soInvoices(fint(r, "id"))) })
	so.compute("amount_invoiced", func(t *txn, r record) any {
		sum := 0.0
		for _, l := range t.soLines(fint(r, "id")) {
			line := t.rec("sale.order.line", l)
			sum += t.qtyInvoiced(line) * fnum(line, "price_unit") * (1 - fnum(line, "discount")/100)
		}
		return round2(sum)
	})
	so.compute("amount_to_invoice", func(t *txn, r record) any {
		if !t.orderConfirmed(r) {
			return 0.0
		}
		sum := 0.0
		for _, l := range t.soLines(fint(r, "id")) {
			line := t.rec("sale.order.line", l)
			sum += (fnum(line, "product_uom_qty") - t.qtyInvoiced(line)) * fnum(line, "price_unit") * (1 - fnum(line, "discount")/100)
		}
		return round2(sum)
	})
	so.compute("invoice_status", func(t *txn, r record) any {
		if !t.orderConfirmed(r) {
			return "no"
		}
		lines := t.soLines(fint(r, "id"))
		var sts []string
		for _, l := range lines {
			line := t.rec("sale.order.line", l)
			if fstr(line, "display_type") != "" {
				continue
			}
			sts = append(sts, t.lineInvoiceStatus(line))
		}
		allInv := len(sts) > 0
		for _, st := range sts {
			if st == "to invoice" {
				return "to invoice"
			}
			if st != "invoiced" {
				allInv = false
			}
		}
		if allInv {
			return "invoiced"
		}
		return "no"
	})
	so.compute("delivery_status", func(t *txn, r record) any {
		pickings := t.children("stock.picking", "sale_id", fint(r, "id"))
		var open, done int
		for _, p := range pickings {
			switch fstr(t.rec("stock.picking", p), "state") {
			case "cancel":
			case "done":
				done++
			default:
				open++
			}
		}
		switch {
		case open == 0 && done == 0:
			return ""
		case open == 0:
			return "full"
		case done > 0:
			return "partial"
		}
		return "pending"
	})
	so.unlinkOK = func(t *txn, ids []int) error {
		for _, id := range ids {
			st := fstr(t.rec("sale.order", id), "state")
			if st != "draft" && st != "cancel" {
				return userError("You can not delete a sent quotation or a confirmed sales order. You must first cancel it.")
			}
		}
		return nil
	}
	so.methods["action_confirm"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			st := fstr(t.rec("sale.order", id), "state")
			if st != "draft" && st != "sent" {
				return nil, userError("The following orders are not in a state requiring confirmation: %s", t.displayName("sale.order", id))
			}
		}
		for _, id := range c.ids {
			if err := t.confirmOrder(id); err != nil {
				return nil, err
			}
		}
		return true, nil
	}}
	so.methods["action_cancel"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			if t.s.version >= 17 && truthy(t.rec("sale.order", id)["locked"]) {
				return nil, userError("You cannot cancel a locked order. Please unlock it first.")
			}
		}
		if t.s.version <= 18 && !t.ctxTrue("disable_cancel_warning") && len(c.ids) > 0 {
			show := false
			for _, id := range c.ids {
				if st := fstr(t.rec("sale.order", id), "state"); st != "draft" && st != "cancel" {
					show = true
				}
			}
			if show {
				v := t.s.views()
				ctx := newOmap().set("default_template_id", v.cancelTemplate).set("default_order_id", c.ids[0]).
					set("mark_so_as_canceled", true).
					set("default_email_layout_xmlid", "mail.mail_notification_layout_with_responsible_signature").
					set("model_description", "Sales Order")
				return newOmap().set("name", "Cancel Sales Order").set("view_mode", "form").set("res_model", "sale.order.cancel").
					set("view_id", v.soCancel).set("type", "ir.actions.act_window").set("context", ctx).set("target", "new"), nil
			}
		}
		for _, id := range c.ids {
			t.cancelOrder(id)
		}
		return true, nil
	}}
	so.methods["action_draft"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			if st := fstr(t.rec("sale.order", id), "state"); st == "cancel" || st == "sent" {
				t.set("sale.order", id, record{"state": "draft"})
			}
		}
		return true, nil
	}}
	if s.version >= 17 {
		for name, val := range map[string]bool{"action_lock": true, "action_unlock": false} {
			v := val
			so.methods[name] = &method{fn: func(t *txn, c *call) (any, error) {
				if err := t.checkIDs(c); err != nil {
					return nil, err
				}
				for _, id := range c.ids {
					t.set("sale.order", id, record{"locked": v})
				}
				return true, nil
			}}
		}
	} else {
		so.methods["action_done"] = &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			for _, id := range c.ids {
				t.set("sale.order", id, record{"state": "done"})
			}
			return true, nil
		}}
		so.methods["action_unlock"] = &method{fn: func(t *txn, c *call) (any, error) {
			if err := t.checkIDs(c); err != nil {
				return nil, err
			}
			for _, id := range c.ids {
				if fstr(t.rec("sale.order", id), "state") == "done" {
					t.set("sale.order", id, record{"state": "sale"})
				}
			}
			return true, nil
		}}
	}

	sol.display = func(t *txn, r record) string {
		so := t.rec("sale.order", fint(r, "order_id"))
		name := strings.SplitN(fstr(r, "name"), "\n", 2)[0]
		out := fstr(so, "name") + " - " + name
		if p := fint(so, "partner_id"); p != 0 {
			out += " (" + t.displayName("res.partner", p) + ")"
		}
		return out
	}
	sol.inverse("move_ids", "sale_line_id")
	sol.required = []string{"order_id"}
	sol.defaults = func(t *txn, r record) {
		pid := fint(r, "product_id")
		prod := t.rec("product.product", pid)
		if prod != nil {
			setDefault(r, "name", t.displayName("product.product", pid))
			if _, ok := r["price_unit"]; !ok {
				r["price_unit"] = fnum(prod, "list_price")
			}
			setDefault(r, t.lineUoMKey(), fint(prod, "uom_id"))
		}
		if _, ok := r["product_uom_qty"]; !ok && fstr(r, "display_type") == "" {
			r["product_uom_qty"] = 1.0
		}
		setDefault(r, "sequence", 10)
		setDefault(r, "company_id", 1)
		setDefault(r, "currency_id", 1)
		if prod != nil && t.isService(pid) {
			r["qty_delivered_method"] = "manual"
		} else if prod != nil {
			r["qty_delivered_method"] = "stock_move"
		}
	}
	sol.created = func(t *txn, id int) error {
		line := t.rec("sale.order.line", id)
		so := t.rec("sale.order", fint(line, "order_id"))
		if t.orderConfirmed(so) && fint(line, "product_id") != 0 && !t.isService(fint(line, "product_id")) {
			// a line added to a confirmed order gets its own delivery move
			return t.createDeliveryMoves(fint(so, "id"), []int{id})
		}
		return nil
	}
	sol.compute("price_subtotal", func(t *txn, r record) any { return t.lineSubtotal(r) })
	sol.compute("price_total", func(t *txn, r record) any { return t.lineSubtotal(r) })
	sol.compute("qty_delivered", func(t *txn, r record) any { return t.qtyDelivered(r) })
	sol.compute("qty_invoiced", func(t *txn, r record) any { return t.qtyInvoiced(r) })
	sol.compute("qty_to_invoice", func(t *txn, r record) any { return t.qtyToInvoice(r) })
	sol.compute("invoice_status", func(t *txn, r record) any { return t.lineInvoiceStatus(r) })
	sol.compute("state", func(t *txn, r record) any { return fstr(t.rec("sale.order", fint(r, "order_id")), "state") })
	sol.compute("order_partner_id", func(t *txn, r record) any { return fint(t.rec("sale.order", fint(r, "order_id")), "partner_id") })
	sol.compute("invoice_lines", func(t *txn, r record) any {
		lid := fint(r, "id")
		return t.where("account.move.line", func(a record) bool {
			ids, _ := a["sale_line_ids"].([]int)
			for _, x := range ids {
				if x == lid {
					return true
				}
			}
			return false
		})
	})
}

// confirmOrder confirms a quotation: state sale and one outgoing picking with reserved moves.
func (t *txn) confirmOrder(id int) error {
	t.set("sale.order", id, record{"state": "sale", "date_order": t.nowStr()})
	var lines []int
	for _, l := range t.soLines(id) {
		line := t.rec("sale.order.line", l)
		pid := fint(line, "product_id")
		if pid != 0 && !t.isService(pid) && fstr(line, "display_type") == "" && fnum(line, "product_uom_qty") > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return t.createDeliveryMoves(id, lines)
}

func (t *txn) pickingOrigin(so record) string {
	name := fstr(so, "name")
	if ref := fstr(so, "client_order_ref"); ref != "" && t.s.version >= 17 && t.s.version <= 18 {
		return name + " - " + ref
	}
	return name
}

// createDeliveryMoves adds moves for SO lines to the order's open outgoing picking (or a new one).
func (t *txn) createDeliveryMoves(soID int, lines []int) error {
	so := t.rec("sale.order", soID)
	wh := t.rec("stock.warehouse", fint(so, "warehouse_id"))
	if wh == nil {
		wh = t.rec("stock.warehouse", 1)
	}
	if wh == nil {
		return userError("No warehouse found for order %s.", fstr(so, "name"))
	}
	ptID := fint(wh, "out_type_id")
	pt := t.rec("stock.picking.type", ptID)
	pid := 0
	for _, p := range t.children("stock.picking", "sale_id", soID) {
		pr := t.rec("stock.picking", p)
		if st := fstr(pr, "state"); st != "done" && st != "cancel" && fint(pr, "picking_type_id") == ptID {
			pid = p
			break
		}
	}
	if pid == 0 {
		pid = t.insert("stock.picking", record{"name": t.pickingName(ptID), "origin": t.pickingOrigin(so),
			"partner_id": fint(so, "partner_shipping_id"), "picking_type_id": ptID, "location_id": fint(pt, "default_location_src_id"),
			"location_dest_id": fint(pt, "default_location_dest_id"), "sale_id": soID, "carrier_id": fint(so, "carrier_id"),
			"move_type": strOr(fstr(so, "picking_policy"), "direct"), "company_id": 1, "scheduled_date": t.nowStr(),
			"state": "confirmed", "priority": "0", "user_id": t.uid})
	}
	p := t.rec("stock.picking", pid)
	for _, l := range lines {
		line := t.rec("sale.order.line", l)
		mv := record{"product_id": fint(line, "product_id"), "product_uom_qty": fnum(line, "product_uom_qty"),
			"product_uom": fint(line, t.lineUoMKey()), "sale_line_id": l, "picking_id": pid,
			"location_id": p["location_id"], "location_dest_id": p["location_dest_id"], "picking_type_id": ptID,
			"partner_id": p["partner_id"], "origin": fstr(so, "name"), "state": "confirmed", "company_id": 1,
			"date": t.nowStr(), "procure_method": "make_to_stock", "warehouse_id": fint(wh, "id")}
		if fint(line, t.lineUoMKey()) == 0 {
			mv["product_uom"] = 1
		}
		if t.s.version <= 18 {
			mv["name"] = fstr(line, "name")
		}
		if t.s.version >= 17 {
			mv["picked"] = false
		}
		if t.s.version >= 18 {
			mv["location_final_id"] = p["location_dest_id"]
		}
		mid := t.insert("stock.move", mv)
		if fstr(pt, "reservation_method") != "manual" {
			t.reserveMove(mid)
		}
	}
	t.recomputePicking(pid)
	return nil
}

// cancelOrder cancels an order, its open pickings and its draft invoices.
func (t *txn) cancelOrder(id int) {
	for _, p := range t.children("stock.picking", "sale_id", id) {
		t.cancelPicking(p)
	}
	for _, inv := range t.soInvoices(id) {
		if fstr(t.rec("account.move", inv), "state") == "draft" {
			t.set("account.move", inv, record{"state": "cancel"})
		}
	}
	t.set("sale.order", id, record{"state": "cancel"})
}
