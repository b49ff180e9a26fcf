package odoosim

import (
	"fmt"
	"time"
)

func (t *txn) invoiceLines(move int) []int {
	return t.pointing("account.move.line", "move_id", move)
}

func (t *txn) invoiceTotal(move int) float64 {
	sum := 0.0
	for _, l := range t.invoiceLines(move) {
		r := t.rec("account.move.line", l)
		if dt := fstr(r, "display_type"); dt != "" && dt != "product" {
			continue
		}
		sum += fnum(r, "quantity") * fnum(r, "price_unit") * (1 - fnum(r, "discount")/100)
	}
	return round2(sum)
}

// purchaseJournal is the id of the seeded purchase journal (Vendor Bills,
// code BILL), where vendor bills go by default.
const purchaseJournal = 2

// purchaseDocument reports whether a move type is a vendor bill, refund or
// receipt: such moves need a bill date before posting.
func purchaseDocument(moveType string) bool {
	return moveType == "in_invoice" || moveType == "in_refund" || moveType == "in_receipt"
}

// endOfNextMonth is the due date of the demo payment term ("End of Following Month").
func endOfNextMonth(day string) string {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	first := time.Date(d.Year(), d.Month()+2, 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, 0, -1).Format("2006-01-02")
}

func (s *Sim) setupAccount() {
	am := s.models["account.move"]
	aml := s.models["account.move.line"]
	am.inverse("invoice_line_ids", "move_id")
	am.inverse("line_ids", "move_id")
	am.display = func(t *txn, r record) string {
		if n := fstr(r, "name"); n != "" && n != "/" {
			return n
		}
		if t.s.version >= 17 {
			return "Draft Invoice"
		}
		return fmt.Sprintf("Draft Invoice (* %d)", fint(r, "id"))
	}
	am.defaults = func(t *txn, r record) {
		setDefault(r, "move_type", "entry")
		setDefault(r, "state", "draft")
		if purchaseDocument(fstr(r, "move_type")) {
			setDefault(r, "journal_id", purchaseJournal)
		}
		setDefault(r, "journal_id", 1)
		setDefault(r, "currency_id", 1)
		setDefault(r, "company_id", 1)
		setDefault(r, "date", t.today())
		setDefault(r, "payment_state", "not_paid")
		setDefault(r, "invoice_date_due", endOfNextMonth(t.today()))
		if t.s.version <= 17 {
			setDefault(r, "name", "/")
		}
	}
	total := func(t *txn, r record) any {
		v := t.invoiceTotal(fint(r, "id"))
		return v
	}
	am.compute("amount_untaxed", total)
	am.compute("amount_total", total)
	am.compute("amount_tax", func(t *txn, r record) any { return 0.0 })
	am.compute("amount_residual", func(t *txn, r record) any {
		switch fstr(r, "payment_state") {
		case "paid", "in_payment", "reversed":
			return 0.0
		case "partial":
			return round2(t.invoiceTotal(fint(r, "id")) / 2)
		}
		return t.invoiceTotal(fint(r, "id"))
	})
	am.compute("amount_total_signed", func(t *txn, r record) any {
		v := t.invoiceTotal(fint(r, "id"))
		// Outbound documents (credit notes, vendor bills) are negative.
		if mt := fstr(r, "move_type"); mt == "out_refund" || mt == "in_invoice" || mt == "in_receipt" {
			return -v
		}
		return v
	})
	am.unlinkOK = func(t *txn, ids []int) error {
		for _, id := range ids {
			if fstr(t.rec("account.move", id), "state") == "posted" {
				return userError("You cannot delete an entry which has been posted once.")
			}
		}
		return nil
	}
	am.methods["action_post"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			r := t.rec("account.move", id)
			if fstr(r, "state") != "draft" {
				return nil, userError("The entry %s (id %d) must be in draft.", t.displayName("account.move", id), id)
			}
			if len(t.invoiceLines(id)) == 0 {
				return nil, userError("You need to add a line before posting.")
			}
			if purchaseDocument(fstr(r, "move_type")) && fstr(r, "invoice_date") == "" {
				return nil, userError("The Bill/Refund date is required to validate this document.")
			}
		}
		for _, id := range c.ids {
			r := t.rec("account.move", id)
			upd := record{"state": "posted"}
			if fstr(r, "invoice_date") == "" {
				upd["invoice_date"] = t.today()
			}
			if n := fstr(r, "name"); n == "" || n == "/" {
				prefix := "INV"
				switch fstr(r, "move_type") {
				case "out_refund":
					prefix = "RINV"
				case "entry":
					prefix = "MISC"
				case "in_invoice", "in_receipt":
					prefix = "BILL"
				case "in_refund":
					prefix = "RBILL"
				}
				now := t.now.UTC()
				if purchaseDocument(fstr(r, "move_type")) {
					// The purchase journal numbers by month, as Odoo's
					// starting sequence for non-sale journals does.
					key := fmt.Sprintf("%s/%d/%02d", prefix, now.Year(), now.Month())
					upd["name"] = fmt.Sprintf("%s/%04d", key, t.next(key))
				} else {
					upd["name"] = fmt.Sprintf("%s/%d/%05d", prefix, now.Year(), t.next(fmt.Sprintf("%s/%d", prefix, now.Year())))
				}
			}
			t.set("account.move", id, upd)
		}
		return false, nil
	}}
	am.methods["button_draft"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			st := fstr(t.rec("account.move", id), "state")
			if st != "posted" && st != "cancel" {
				return nil, userError("Only posted/cancelled journal entries can be reset to draft.")
			}
			t.set("account.move", id, record{"state": "draft"})
		}
		return nil, nil
	}}
	am.methods["button_cancel"] = &method{fn: func(t *txn, c *call) (any, error) {
		if err := t.checkIDs(c); err != nil {
			return nil, err
		}
		for _, id := range c.ids {
			if fstr(t.rec("account.move", id), "state") == "posted" {
				return nil, userError("Only draft journal entries can be cancelled.")
			}
			t.set("account.move", id, record{"state": "cancel"})
		}
		return nil, nil
	}}

	aml.display = func(t *txn, r record) string {
		mv := t.displayName("account.move", fint(r, "move_id"))
		if n := fstr(r, "name"); n != "" {
			return mv + " " + n
		}
		return mv
	}
	aml.defaults = func(t *txn, r record) {
		if pid := fint(r, "product_id"); pid != 0 {
			setDefault(r, "name", t.displayName("product.product", pid))
			if _, ok := r["price_unit"]; !ok {
				r["price_unit"] = fnum(t.rec("product.product", pid), "list_price")
			}
		}
		setDefault(r, "display_type", "product")
		setDefault(r, "product_uom_id", 1)
		setDefault(r, "account_id", 26)
		setDefault(r, "currency_id", 1)
		setDefault(r, "company_id", 1)
		setDefault(r, "sequence", 10)
		if _, ok := r["quantity"]; !ok {
			r["quantity"] = 1.0
		}
	}
	aml.required = []string{"move_id"}
	sub := func(t *txn, r record) any {
		return round2(fnum(r, "quantity") * fnum(r, "price_unit") * (1 - fnum(r, "discount")/100))
	}
	aml.compute("price_subtotal", sub)
	aml.compute("price_total", sub)
	aml.compute("parent_state", func(t *txn, r record) any { return fstr(t.rec("account.move", fint(r, "move_id")), "state") })
	aml.created = func(t *txn, id int) error {
		mv := fint(t.rec("account.move.line", id), "move_id")
		if st := fstr(t.rec("account.move", mv), "state"); st == "posted" {
			return userError("You cannot modify a posted entry of this journal.")
		}
		return nil
	}
}

// createInvoices implements sale.advance.payment.inv.create_invoices for method "delivered".
func (t *txn) createInvoices(wizID int) (any, error) {
	w := t.rec("sale.advance.payment.inv", wizID)
	orders, _ := w["sale_order_ids"].([]int)
	if len(orders) == 0 {
		orders = t.ctxIDs("active_ids")
	}
	method := fstr(w, "advance_payment_method")
	if method != "delivered" {
		return t.createDownPayment(w, orders)
	}
	var created []int
	for _, so := range orders {
		r := t.rec("sale.order", so)
		if r == nil {
			return nil, missingError("sale.order", []int{so}, t.uid)
		}
		type item struct {
			line int
			qty  float64
		}
		var items []item
		total := 0.0
		for _, l := range t.soLines(so) {
			line := t.rec("sale.order.line", l)
			q := t.qtyToInvoice(line)
			if q > eps || q < -eps {
				items = append(items, item{l, q})
				total += q * fnum(line, "price_unit")
			}
		}
		if len(items) == 0 {
			continue
		}
		mt := "out_invoice"
		sign := 1.0
		if total < 0 {
			mt, sign = "out_refund", -1
		}
		mv, err := t.create(t.m("account.move"), map[string]any{})
		if err != nil {
			return nil, err
		}
		vals := record{"move_type": mt, "partner_id": fint(r, "partner_invoice_id"), "partner_shipping_id": fint(r, "partner_shipping_id"),
			"invoice_origin": fstr(r, "name"), "ref": fstr(r, "client_order_ref"), "invoice_payment_term_id": 0,
			"invoice_user_id": t.uid, "team_id": 0}
		if fint(r, "partner_invoice_id") == 0 {
			vals["partner_id"] = fint(r, "partner_id")
		}
		if t.s.version <= 17 {
			vals["name"] = "/"
		}
		t.set("account.move", mv, vals)
		seq := 10
		for _, it := range items {
			line := t.rec("sale.order.line", it.line)
			t.insert("account.move.line", record{"move_id": mv, "product_id": fint(line, "product_id"), "name": fstr(line, "name"),
				"quantity": it.qty * sign, "price_unit": fnum(line, "price_unit"), "discount": fnum(line, "discount"),
				"product_uom_id": 1, "account_id": 26, "sale_line_ids": []int{it.line}, "display_type": "product",
				"currency_id": 1, "company_id": 1, "sequence": seq})
			seq++
		}
		created = append(created, mv)
		t.touch("sale.order", so)
	}
	if len(created) == 0 {
		return nil, userError("%s", nothingToInvoice)
	}
	return t.invoiceAction(created, orders), nil
}

const nothingToInvoice = "Cannot create an invoice. No items are available to invoice.\n\nTo resolve this issue, please ensure that:\n   \u2022 The products have been delivered before attempting to invoice them.\n   \u2022 The invoicing policy of the product is configured correctly.\n\nIf you want to invoice based on ordered quantities instead:\n   \u2022 For consumable or storable products, open the product, go to the 'General Information' tab and change the 'Invoicing Policy' from 'Delivered Quantities' to 'Ordered Quantities'.\n   \u2022 For services (and other products), change the 'Invoicing Policy' to 'Prepaid/Fixed Price'.\n"

// createDownPayment creates a down-payment invoice (percentage or fixed) linked to the order.
func (t *txn) createDownPayment(w record, orders []int) (any, error) {
	var created []int
	for _, so := range orders {
		r := t.rec("sale.order", so)
		if r == nil {
			return nil, missingError("sale.order", []int{so}, t.uid)
		}
		amt := fnum(w, "fixed_amount")
		if fstr(w, "advance_payment_method") == "percentage" {
			amt = round2(t.num("sale.order", r, "amount_total") * fnum(w, "amount") / 100)
		}
		if amt <= 0 {
			return nil, userError("The value of the down payment amount must be positive.")
		}
		mv, err := t.create(t.m("account.move"), map[string]any{})
		if err != nil {
			return nil, err
		}
		t.set("account.move", mv, record{"move_type": "out_invoice", "partner_id": fint(r, "partner_id"),
			"invoice_origin": fstr(r, "name"), "ref": fstr(r, "client_order_ref"), "sim_sale_order_id": so})
		t.insert("account.move.line", record{"move_id": mv, "name": "Down Payment", "quantity": 1.0, "price_unit": amt,
			"product_uom_id": 1, "account_id": 26, "display_type": "product", "currency_id": 1, "company_id": 1})
		created = append(created, mv)
	}
	if len(created) == 0 {
		return nil, userError("%s", nothingToInvoice)
	}
	return t.invoiceAction(created, orders), nil
}

// invoiceAction is the "Invoices" window action create_invoices returns (17+); 16 closes the wizard.
func (t *txn) invoiceAction(moves, orders []int) any {
	if t.s.version <= 16 && !t.ctxTrue("open_invoices") {
		return newOmap().set("type", "ir.actions.act_window_close")
	}
	v := t.s.views()
	var so record
	if len(orders) > 0 {
		so = t.rec("sale.order", orders[0])
	}
	ctx := newOmap().set("default_move_type", "out_invoice").set("default_partner_id", fint(so, "partner_id")).
		set("default_partner_shipping_id", fint(so, "partner_shipping_id")).set("default_invoice_payment_term_id", 6)
	domain := "[('move_type', 'in', ['out_invoice', 'out_refund'])]"
	if t.s.version >= 19 {
		domain = "[('move_type', 'in', ['out_invoice', 'out_refund', 'out_receipt'])]"
	} else {
		ctx.set("default_invoice_origin", fstr(so, "name"))
	}
	a := newOmap().set("id", v.invoiceAction)
	if t.s.version >= 19 {
		a.set("display_name", "Invoices")
	}
	a.set("name", "Invoices").set("type", "ir.actions.act_window").set("xml_id", "account.action_move_out_invoice_type").
		set("path", "invoicing").set("help", "<p class=\"o_view_nocontent_smiling_face\">\n                Create a customer invoice\n              </p>").
		set("binding_model_id", false).set("binding_type", "action").set("binding_view_types", "list,form")
	if t.s.version < 19 {
		a.set("display_name", "Invoices")
	}
	a.set("view_id", []any{v.invoiceList, "account.out.invoice.list"}).set("domain", domain).set("context", ctx)
	if len(moves) == 1 {
		a.set("res_id", moves[0])
	} else {
		a.set("domain", fmt.Sprintf("[('id', 'in', %s)]", pyRepr(intsToAny(moves))))
	}
	a.set("res_model", "account.move").set("target", "current").set("view_mode", "list,kanban,form,activity").
		set("mobile_view_mode", "kanban").
		set("views", []any{[]any{v.invoiceForm, "form"}, []any{v.invoiceList, "list"}, []any{false, "kanban"}, []any{false, "activity"}}).
		set("limit", 80)
	if t.s.version >= 19 {
		a.set("group_ids", []any{})
	} else {
		a.set("groups_id", []any{})
	}
	a.set("search_view_id", []any{v.invoiceSearch, "account.invoice.select"}).set("embedded_action_ids", []any{}).set("filter", false)
	if t.s.version >= 19 {
		a.set("cache", true)
	}
	return a
}

func intsToAny(l []int) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = float64(v)
	}
	return out
}
