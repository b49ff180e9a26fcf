package odoosim

import (
	"errors"
	"testing"
)

func TestServicesCarrierAndPayment(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		d := b.sim.Demo()
		so := toInt(t, b.must("sale.order", "create", []any{map[string]any{"partner_id": 15, "order_line": []any{
			[]any{0, 0, map[string]any{"product_id": b.product("E-COM08"), "product_uom_qty": 1}},
			[]any{0, 0, map[string]any{"product_id": d.Services["FREIGHT"], "product_uom_qty": 1, "price_unit": 120}},
			[]any{0, 0, map[string]any{"product_id": d.Services["LIFTGATE"], "product_uom_qty": 1}},
		}}}, nil))
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		if moves := b.search("stock.move", []any{[]any{"picking_id", "=", pk}}, nil); len(moves) != 1 {
			t.Errorf("services must not create moves: got %v", moves)
		}
		wid := toInt(t, b.must("choose.delivery.carrier", "create", []any{map[string]any{"order_id": so, "carrier_id": d.CarrierID}}, nil))
		act := b.must("choose.delivery.carrier", "update_price", []any{[]any{wid}}, nil).(map[string]any)
		if toInt(t, act["res_id"]) != wid {
			t.Errorf("update_price: got %v", act)
		}
		env, err := b.jsonrpc("object", "execute_kw", b.sim.Database(), 2, "admin", "choose.delivery.carrier", "button_confirm", []any{[]any{wid}})
		if err != nil || env["error"] != nil {
			t.Fatalf("button_confirm: %v %v", err, env)
		}
		dl := b.search("sale.order.line", []any{[]any{"order_id", "=", so}, []any{"is_delivery", "=", true}}, nil)
		if len(dl) != 1 || num(b.read("sale.order.line", dl[0], "price_unit")["price_unit"]) != 5 {
			t.Errorf("delivery line: got %v", dl)
		}
		if m2oID(b.read("sale.order", so, "carrier_id")["carrier_id"]) != d.CarrierID {
			t.Errorf("carrier not set on the order")
		}
		// services (ordered quantities) are invoiceable before delivery, the box is not
		inv := b.invoice(so)
		if len(inv) != 1 {
			t.Fatalf("invoices: %v", inv)
		}
		if got := num(b.read("account.move", inv[0], "amount_total")["amount_total"]); got != 120+45+5 {
			t.Errorf("services invoice: got %v, want 170", got)
		}
		b.must("account.move", "action_post", []any{[]any{inv[0]}}, nil)
		if err := b.sim.SetPaymentState(inv[0], "paid"); err != nil {
			t.Fatal(err)
		}
		r := b.read("account.move", inv[0], "payment_state", "amount_residual")
		if r["payment_state"] != "paid" || num(r["amount_residual"]) != 0 {
			t.Errorf("paid invoice: got %v", r)
		}
		if err := b.sim.SetPaymentState(999999, "paid"); !errors.Is(err, ErrNotPosted) {
			t.Errorf("SetPaymentState on a missing invoice: got %v", err)
		}
		if err := b.sim.SetPaymentState(inv[0], "bogus"); !errors.Is(err, ErrInvalidPaymentState) {
			t.Errorf("SetPaymentState bogus: got %v", err)
		}
	})
}

func TestSerialTracking(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		d := b.sim.Demo()
		so := b.createOrder(15, "", "SN-SCAN", 2)
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		mv := b.moveOf(pk, "SN-SCAN")
		mls := b.search("stock.move.line", []any{[]any{"move_id", "=", mv}}, nil)
		if len(mls) != 2 {
			t.Fatalf("serial move lines: got %v, want one per serial", mls)
		}
		// two units on one serial is refused at validation
		b.setLotDone(mv, map[int]float64{d.Lots["SCAN-0001"]: 2})
		b.wantErr(excUserError, "stock.picking", "button_validate", []any{[]any{pk}}, map[string]any{"context": map[string]any{"skip_sms": true}})
		b.setLotDone(mv, map[int]float64{d.Lots["SCAN-0001"]: 1, d.Lots["SCAN-0003"]: 1})
		b.validate(pk, false)
		for lot, want := range map[string]float64{"SCAN-0001": 0, "SCAN-0002": 1, "SCAN-0003": 0} {
			if q := num(b.read("stock.lot", d.Lots[lot], "product_qty")["product_qty"]); q != want {
				t.Errorf("%s on hand: got %v, want %v", lot, q, want)
			}
		}
	})
}

// TestLoad stores records as given and refuses unknown models and fields;
// the loaded records read back through RPC, their lines found through the
// one2many, and long "in" lists match as short ones do.
func TestLoad(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		if _, err := b.sim.Load("no.such.model", []map[string]any{{}}); !errors.Is(err, ErrUnknownModel) {
			t.Errorf("unknown model: got %v, want ErrUnknownModel", err)
		}
		if _, err := b.sim.Load("account.move", []map[string]any{{"no_such_field": 1}}); !errors.Is(err, ErrUnknownField) {
			t.Errorf("unknown field: got %v, want ErrUnknownField", err)
		}
		vals := make([]map[string]any, 40)
		refs := make([]any, 0, 41)
		for i := range vals {
			ref := "LOAD-" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			vals[i] = map[string]any{"move_type": "out_invoice", "state": "draft", "ref": ref, "partner_id": 15}
			refs = append(refs, ref)
		}
		moves, err := b.sim.Load("account.move", vals)
		if err != nil || len(moves) != 40 {
			t.Fatalf("Load: got %v, %v", moves, err)
		}
		if _, err := b.sim.Load("account.move.line", []map[string]any{{"move_id": moves[3], "name": "x", "quantity": 2.0, "price_unit": 5.0, "display_type": "product"}}); err != nil {
			t.Fatal(err)
		}
		got := b.read("account.move", moves[3], "ref", "amount_total", "invoice_line_ids")
		if got["ref"] != "LOAD-Da" || num(got["amount_total"]) != 10 || len(got["invoice_line_ids"].([]any)) != 1 {
			t.Errorf("loaded invoice: got %v, want LOAD-Da, 10, one line", got)
		}
		refs = append(refs, false)
		if ids := b.search("account.move", []any{[]any{"ref", "in", refs}}, nil); len(ids) != 40 {
			t.Errorf("ref in a list of %d: got %d invoices, want 40", len(refs), len(ids))
		}
		ids := make([]any, 0, 40)
		for _, id := range moves[:35] {
			ids = append(ids, id)
		}
		if got := b.search("account.move", []any{[]any{"id", "in", ids}, []any{"ref", "not in", refs[:2]}}, nil); len(got) != 33 {
			t.Errorf("id in a list of 35, ref not in 2: got %d invoices, want 33", len(got))
		}
	})
}
