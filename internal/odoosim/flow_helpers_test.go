package odoosim

import (
	"strings"
	"testing"
)

// createOrder creates a quotation with lines {code: qty} for a demo customer.
func (b *bundle) createOrder(partner int, ref string, lines ...any) int {
	b.t.Helper()
	var ol []any
	for i := 0; i+1 < len(lines); i += 2 {
		ol = append(ol, []any{0, 0, map[string]any{"product_id": b.product(lines[i].(string)), "product_uom_qty": lines[i+1]}})
	}
	vals := map[string]any{"partner_id": partner, "order_line": ol}
	if ref != "" {
		vals["client_order_ref"] = ref
	}
	return toInt(b.t, b.must("sale.order", "create", []any{vals}, nil))
}

func (b *bundle) product(code string) int {
	b.t.Helper()
	d := b.sim.Demo()
	if id, ok := d.Products[code]; ok {
		return id
	}
	if id, ok := d.Services[code]; ok {
		return id
	}
	b.t.Fatalf("no demo product %q", code)
	return 0
}

// pickingsOf returns the order's pickings, newest first (Odoo's picking order ends with id desc).
func (b *bundle) pickingsOf(so int) []int {
	b.t.Helper()
	return b.search("stock.picking", []any{[]any{"sale_id", "=", so}}, map[string]any{"order": "id asc"})
}

// moveOf finds the picking's move for a product.
func (b *bundle) moveOf(picking int, code string) int {
	b.t.Helper()
	ids := b.search("stock.move", []any{[]any{"picking_id", "=", picking}, []any{"product_id", "=", b.product(code)}}, nil)
	if len(ids) != 1 {
		b.t.Fatalf("moves of picking %d for %s: %v", picking, code, ids)
	}
	return ids[0]
}

// setDone sets what will be delivered on a move, as the hub would per version.
func (b *bundle) setDone(move int, qty float64) {
	b.t.Helper()
	if b.sim.Version() <= 16 {
		b.must("stock.move", "write", []any{[]any{move}, map[string]any{"quantity_done": qty}}, nil)
		return
	}
	b.must("stock.move", "write", []any{[]any{move}, map[string]any{"quantity": qty, "picked": true}}, nil)
}

// setLotDone sets the done quantity on the move line of a lot (and zero on the others).
func (b *bundle) setLotDone(move int, lots map[int]float64) {
	b.t.Helper()
	mls := b.search("stock.move.line", []any{[]any{"move_id", "=", move}}, nil)
	seen := map[int]bool{}
	for _, ml := range mls {
		lot := m2oID(b.read("stock.move.line", ml, "lot_id")["lot_id"])
		q, ok := lots[lot]
		seen[lot] = true
		if b.sim.Version() <= 16 {
			b.must("stock.move.line", "write", []any{[]any{ml}, map[string]any{"qty_done": q}}, nil)
			continue
		}
		if !ok || q == 0 {
			b.must("stock.move.line", "unlink", []any{[]any{ml}}, nil)
			continue
		}
		b.must("stock.move.line", "write", []any{[]any{ml}, map[string]any{"quantity": q, "picked": true}}, nil)
	}
	for lot, q := range lots {
		if !seen[lot] {
			vals := map[string]any{"move_id": move, "lot_id": lot}
			if b.sim.Version() <= 16 {
				vals["qty_done"] = q
			} else {
				vals["quantity"] = q
				vals["picked"] = true
			}
			b.must("stock.move.line", "create", []any{vals}, nil)
		}
	}
}

// validate calls button_validate and answers the wizards: SMS (don't send), immediate transfer (16)
// and the backorder wizard (create a backorder, or cancel the remainder when cancelRest).
// It returns the wizard models seen, in order.
func (b *bundle) validate(picking int, cancelRest bool) []string {
	b.t.Helper()
	var seen []string
	res := b.must("stock.picking", "button_validate", []any{[]any{picking}}, nil)
	for i := 0; i < 5; i++ {
		act, ok := res.(map[string]any)
		if !ok {
			if res != true {
				b.t.Fatalf("button_validate: got %v, want true or an action", res)
			}
			return seen
		}
		model, _ := act["res_model"].(string)
		seen = append(seen, model)
		ctx, _ := act["context"].(map[string]any)
		kw := map[string]any{"context": ctx}
		switch model {
		case "confirm.stock.sms":
			res = b.must(model, "dont_send_sms", []any{[]any{act["res_id"]}}, kw)
		case "stock.backorder.confirmation", "stock.immediate.transfer":
			if _, has := act["res_id"]; has {
				b.t.Fatalf("%s action has a res_id: %v", model, act)
			}
			wid := b.must(model, "create", []any{map[string]any{}}, kw)
			meth := "process"
			if cancelRest && model == "stock.backorder.confirmation" {
				meth = "process_cancel_backorder"
			}
			res = b.must(model, meth, []any{[]any{wid}}, kw)
		default:
			b.t.Fatalf("unexpected action %v", act)
		}
	}
	b.t.Fatalf("too many wizards: %v", seen)
	return nil
}

// invoice runs sale.advance.payment.inv "delivered" and returns the new invoice ids.
func (b *bundle) invoice(so int) []int {
	b.t.Helper()
	before := toInts(b.t, b.read("sale.order", so, "invoice_ids")["invoice_ids"])
	ctx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}, "active_id": so}
	wid := b.must("sale.advance.payment.inv", "create", []any{map[string]any{"advance_payment_method": "delivered"}}, map[string]any{"context": ctx})
	res := b.must("sale.advance.payment.inv", "create_invoices", []any{[]any{wid}}, map[string]any{"context": ctx})
	act, _ := res.(map[string]any)
	if b.sim.Version() <= 16 {
		if act["type"] != "ir.actions.act_window_close" {
			b.t.Fatalf("16 create_invoices: got %v, want act_window_close", res)
		}
	} else if act["res_model"] != "account.move" || act["res_id"] == nil {
		b.t.Fatalf("create_invoices: got %v, want the Invoices action with res_id", res)
	}
	after := toInts(b.t, b.read("sale.order", so, "invoice_ids")["invoice_ids"])
	var out []int
	for _, id := range after {
		found := false
		for _, o := range before {
			found = found || o == id
		}
		if !found {
			out = append(out, id)
		}
	}
	return out
}

func num(v any) float64 { f, _ := v.(float64); return f }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func forVersions(t *testing.T, fn func(t *testing.T, b *bundle)) {
	for _, v := range versions() {
		t.Run(vname(v), func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, Options{Version: v}))
		})
	}
}

func vname(v int) string { return "odoo" + string(rune('0'+v/10)) + string(rune('0'+v%10)) }
