package odoosim

import (
	"fmt"
	"testing"
)

func TestSaleDeliveryInvoiceFlow(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		v := b.sim.Version()
		d := b.sim.Demo()
		cust := d.Customers[len(d.Customers)-1]
		lot1, lot2 := d.Lots["RESIN-0001"], d.Lots["RESIN-0002"]
		so := b.createOrder(cust, "HUB-1", "E-COM08", 3, "LOT-RESIN", 40)
		if got := b.read("sale.order", so, "state")["state"]; got != "draft" {
			t.Fatalf("new order state: got %v, want draft", got)
		}
		if got := b.must("sale.order", "action_confirm", []any{[]any{so}}, nil); got != true {
			t.Fatalf("action_confirm: got %v, want true", got)
		}
		picks := b.pickingsOf(so)
		if len(picks) != 1 {
			t.Fatalf("pickings after confirm: got %v, want one", picks)
		}
		pk := picks[0]
		p := b.read("stock.picking", pk, "state", "origin", "picking_type_code", "location_dest_id")
		if p["state"] != "assigned" || p["picking_type_code"] != "outgoing" {
			t.Fatalf("picking after confirm: got %v, want assigned outgoing", p)
		}
		wantOrigin := "S"
		if v == 17 || v == 18 {
			wantOrigin = " - HUB-1"
		}
		if o, _ := p["origin"].(string); !contains(o, wantOrigin) {
			t.Errorf("origin: got %q, want it to contain %q", o, wantOrigin)
		}
		resin := b.moveOf(pk, "LOT-RESIN")
		mls := b.search("stock.move.line", []any{[]any{"move_id", "=", resin}}, nil)
		if len(mls) != 2 {
			t.Fatalf("lot move lines: got %d, want 2 (one per lot)", len(mls))
		}
		quants := b.must("stock.quant", "search_read", []any{[]any{[]any{"lot_id", "=", lot1}}}, map[string]any{"fields": []any{"quantity", "reserved_quantity"}})
		if q := quants.([]any)[0].(map[string]any); num(q["quantity"]) != 30 || num(q["reserved_quantity"]) != 30 {
			t.Errorf("RESIN-0001 quant: got %v, want 30 reserved of 30", q)
		}

		// deliver 2 of 3 boxes and 30 of 40 resin from the first lot: backorder
		b.setDone(b.moveOf(pk, "E-COM08"), 2)
		b.setLotDone(resin, map[int]float64{lot1: 30})
		seen := b.validate(pk, false)
		if want := []string{"stock.backorder.confirmation", "confirm.stock.sms"}; len(seen) != 2 || seen[0] != want[0] || seen[1] != want[1] {
			t.Errorf("wizards of the first validation: got %v, want %v", seen, want)
		}
		if v <= 16 && seen[0] == "stock.immediate.transfer" {
			t.Errorf("16: immediate transfer wizard although quantities were done")
		}
		if got := b.read("stock.picking", pk, "state")["state"]; got != "done" {
			t.Fatalf("picking state: got %v, want done", got)
		}
		picks = b.pickingsOf(so)
		if len(picks) != 2 {
			t.Fatalf("pickings after backorder: got %v, want 2", picks)
		}
		bo := picks[1]
		bor := b.read("stock.picking", bo, "state", "backorder_id")
		if bor["state"] != "assigned" || m2oID(bor["backorder_id"]) != pk {
			t.Fatalf("backorder: got %v, want assigned with backorder_id %d", bor, pk)
		}
		if q := b.read("stock.move", b.moveOf(bo, "E-COM08"), "product_uom_qty")["product_uom_qty"]; num(q) != 1 {
			t.Errorf("backorder box demand: got %v, want 1", q)
		}
		if q := b.read("stock.move", b.moveOf(bo, "LOT-RESIN"), "product_uom_qty")["product_uom_qty"]; num(q) != 10 {
			t.Errorf("backorder resin demand: got %v, want 10", q)
		}
		lines := b.must("sale.order.line", "search_read", []any{[]any{[]any{"order_id", "=", so}}}, map[string]any{"fields": []any{"qty_delivered", "qty_to_invoice"}, "order": "id"}).([]any)
		if got := num(lines[0].(map[string]any)["qty_delivered"]); got != 2 {
			t.Errorf("box qty_delivered: got %v, want 2", got)
		}
		if got := num(lines[1].(map[string]any)["qty_delivered"]); got != 30 {
			t.Errorf("resin qty_delivered: got %v, want 30", got)
		}
		fields := []string{"invoice_status"}
		if v >= 17 {
			fields = append(fields, "delivery_status")
		}
		sor := b.read("sale.order", so, fields...)
		if sor["invoice_status"] != "to invoice" || (v >= 17 && sor["delivery_status"] != "partial") {
			t.Errorf("order after partial delivery: got %v, want to invoice / partial", sor)
		}
		if q := b.read("product.product", b.product("E-COM08"), "qty_available")["qty_available"]; num(q) != 16 {
			t.Errorf("box on hand: got %v, want 16", q)
		}

		// invoice what was delivered, post, post again
		invs := b.invoice(so)
		if len(invs) != 1 {
			t.Fatalf("invoices: got %v, want one", invs)
		}
		inv := b.read("account.move", invs[0], "name", "state", "move_type", "amount_total", "invoice_origin", "ref")
		wantName := any(false)
		if v <= 17 {
			wantName = "/"
		}
		if inv["state"] != "draft" || inv["move_type"] != "out_invoice" || inv["name"] != wantName || inv["ref"] != "HUB-1" {
			t.Errorf("draft invoice: got %v", inv)
		}
		if want := 2*15.8 + 30*42; num(inv["amount_total"]) != want {
			t.Errorf("invoice total: got %v, want %v", inv["amount_total"], want)
		}
		if got := b.must("account.move", "action_post", []any{[]any{invs[0]}}, nil); got != false {
			t.Errorf("action_post: got %v, want false", got)
		}
		posted := b.read("account.move", invs[0], "name", "state", "invoice_date")
		name, _ := posted["name"].(string)
		if posted["state"] != "posted" || !contains(name, "INV/") || posted["invoice_date"] == false {
			t.Errorf("posted invoice: got %v", posted)
		}
		re := b.wantErr(excUserError, "account.move", "action_post", []any{[]any{invs[0]}}, nil)
		if want := fmt.Sprintf("The entry %s (id %d) must be in draft.", name, invs[0]); re.Data.Message != want {
			t.Errorf("second post: got %q, want %q", re.Data.Message, want)
		}
		if st := b.read("sale.order", so, "invoice_status")["invoice_status"]; st != "no" && st != "invoiced" {
			t.Errorf("invoice_status after invoicing the delivered part: got %v", st)
		}

		// the backorder: ship everything of the box, half of the rest of the resin, cancel the remainder
		b.setDone(b.moveOf(bo, "E-COM08"), 1)
		b.setLotDone(b.moveOf(bo, "LOT-RESIN"), map[int]float64{lot2: 5})
		seen = b.validate(bo, true)
		if len(seen) == 0 || seen[len(seen)-1] != "stock.backorder.confirmation" {
			t.Errorf("wizards on the backorder: got %v", seen)
		}
		if n := len(b.pickingsOf(so)); n != 2 {
			t.Errorf("pickings after cancelling the remainder: got %d, want 2", n)
		}
		cancelled := b.search("stock.move", []any{[]any{"picking_id", "=", bo}, []any{"state", "=", "cancel"}}, nil)
		if len(cancelled) != 1 {
			t.Errorf("cancelled remainder moves: got %v, want one", cancelled)
		}
		if v >= 17 {
			if ds := b.read("sale.order", so, "delivery_status")["delivery_status"]; ds != "full" {
				t.Errorf("delivery_status: got %v, want full", ds)
			}
		}
		invs = b.invoice(so)
		if len(invs) != 1 {
			t.Fatalf("second invoice: got %v", invs)
		}
		if want := 15.8 + 5*42; num(b.read("account.move", invs[0], "amount_total")["amount_total"]) != want {
			t.Errorf("second invoice total: want %v", want)
		}
		// nothing left to invoice
		ctx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}, "active_id": so}
		wid := b.must("sale.advance.payment.inv", "create", []any{map[string]any{"advance_payment_method": "delivered"}}, map[string]any{"context": ctx})
		re = b.wantErr(excUserError, "sale.advance.payment.inv", "create_invoices", []any{[]any{wid}}, map[string]any{"context": ctx})
		if !contains(re.Data.Message, "Cannot create an invoice. No items are available to invoice.") {
			t.Errorf("nothing to invoice: got %q", re.Data.Message)
		}
		if q := b.read("product.product", b.product("LOT-RESIN"), "qty_available")["qty_available"]; num(q) != 15 {
			t.Errorf("resin on hand: got %v, want 15", q)
		}
	})
}
