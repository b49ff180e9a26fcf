package odoosim

import (
	"testing"
)

// deliverAll confirms an order and validates its picking completely; it returns the picking.
func (b *bundle) deliverAll(so int) int {
	b.t.Helper()
	b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
	pk := b.pickingsOf(so)[0]
	b.validate(pk, false)
	if st := b.read("stock.picking", pk, "state")["state"]; st != "done" {
		b.t.Fatalf("picking %d: got %v, want done", pk, st)
	}
	return pk
}

func TestReturn(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		v := b.sim.Version()
		so := b.createOrder(b.sim.Demo().Customers[0], "", "E-COM10", 4)
		pk := b.deliverAll(so)
		onHand := num(b.read("product.product", b.product("E-COM10"), "qty_available")["qty_available"])
		ctx := map[string]any{"active_model": "stock.picking", "active_id": pk, "active_ids": []any{pk}}
		kw := map[string]any{"context": ctx}
		wid := toInt(t, b.must("stock.return.picking", "create", []any{map[string]any{}}, kw))
		w := b.read("stock.return.picking", wid, "picking_id", "product_return_moves")
		if m2oID(w["picking_id"]) != pk {
			t.Fatalf("return wizard picking: got %v, want %d", w["picking_id"], pk)
		}
		lines := toInts(t, w["product_return_moves"])
		if len(lines) != 1 {
			t.Fatalf("return lines: got %v, want one", lines)
		}
		l := b.read("stock.return.picking.line", lines[0], "quantity", "move_quantity", "to_refund")
		wantDefault := 0.0
		if v <= 17 {
			wantDefault = 4
		}
		if num(l["quantity"]) != wantDefault || l["to_refund"] != true {
			t.Errorf("return line defaults: got %v, want quantity %v and to_refund", l, wantDefault)
		}
		method, wrong := "action_create_returns", "create_returns"
		if v <= 17 {
			method, wrong = wrong, method
		}
		b.wantErr(excAttributeError, "stock.return.picking", wrong, []any{[]any{wid}}, kw)
		if v >= 18 {
			re := b.wantErr(excUserError, "stock.return.picking", method, []any{[]any{wid}}, kw)
			if re.Data.Message != "Please specify at least one non-zero quantity." {
				t.Errorf("zero return: got %q", re.Data.Message)
			}
		}
		b.must("stock.return.picking.line", "write", []any{[]any{lines[0]}, map[string]any{"quantity": 1}}, nil)
		act := b.must("stock.return.picking", method, []any{[]any{wid}}, kw).(map[string]any)
		if act["res_model"] != "stock.picking" || act["name"] != "Returned Picking" {
			t.Fatalf("return action: got %v", act)
		}
		ret := toInt(t, act["res_id"])
		fields := []string{"state", "origin", "picking_type_code", "sale_id"}
		if v >= 17 {
			fields = append(fields, "return_id")
		}
		r := b.read("stock.picking", ret, fields...)
		pname := b.read("stock.picking", pk, "name")["name"]
		if r["state"] != "assigned" || r["picking_type_code"] != "incoming" || r["origin"] != "Return of "+pname.(string) || m2oID(r["sale_id"]) != so {
			t.Errorf("return picking: got %v", r)
		}
		if v >= 17 && m2oID(r["return_id"]) != pk {
			t.Errorf("return_id: got %v, want %d", r["return_id"], pk)
		}
		b.validate(ret, false)
		if got := num(b.read("product.product", b.product("E-COM10"), "qty_available")["qty_available"]); got != onHand+1 {
			t.Errorf("on hand after return: got %v, want %v", got, onHand+1)
		}
		line := b.search("sale.order.line", []any{[]any{"order_id", "=", so}}, nil)[0]
		if got := num(b.read("sale.order.line", line, "qty_delivered")["qty_delivered"]); got != 3 {
			t.Errorf("qty_delivered after return: got %v, want 3", got)
		}
	})
}

func TestScrap(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		pid := b.product("E-COM10")
		before := num(b.read("product.product", pid, "qty_available")["qty_available"])
		sid := toInt(t, b.must("stock.scrap", "create", []any{map[string]any{"product_id": pid, "scrap_qty": 2}}, nil))
		if got := b.must("stock.scrap", "action_validate", []any{[]any{sid}}, nil); got != true {
			t.Fatalf("action_validate: got %v, want true", got)
		}
		if st := b.read("stock.scrap", sid, "state")["state"]; st != "done" {
			t.Errorf("scrap state: got %v, want done", st)
		}
		if got := num(b.read("product.product", pid, "qty_available")["qty_available"]); got != before-2 {
			t.Errorf("on hand after scrap: got %v, want %v", got, before-2)
		}
		// lot tracked: scrap from one lot
		lot := b.sim.Demo().Lots["PAINT-0002"]
		sid = toInt(t, b.must("stock.scrap", "create", []any{map[string]any{"product_id": b.product("LOT-PAINT"), "scrap_qty": 5, "lot_id": lot}}, nil))
		b.must("stock.scrap", "action_validate", []any{[]any{sid}}, nil)
		if q := num(b.read("stock.lot", lot, "product_qty")["product_qty"]); q != 10 {
			t.Errorf("lot after scrap: got %v, want 10", q)
		}
		// not enough stock: the insufficient quantity wizard
		sid = toInt(t, b.must("stock.scrap", "create", []any{map[string]any{"product_id": b.product("E-COM11"), "scrap_qty": 5}}, nil))
		act, ok := b.must("stock.scrap", "action_validate", []any{[]any{sid}}, nil).(map[string]any)
		if !ok || act["res_model"] != "stock.warn.insufficient.qty.scrap" {
			t.Fatalf("scrap beyond stock: got %v, want the insufficient quantity wizard", act)
		}
		if st := b.read("stock.scrap", sid, "state")["state"]; st != "draft" {
			t.Errorf("scrap state after warning: got %v, want draft", st)
		}
	})
}

func TestPartialAvailability(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		v := b.sim.Version()
		cust := b.sim.Demo().Customers[0]
		so := b.createOrder(cust, "", "E-COM11", 5) // only 2 in stock
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		mv := b.moveOf(pk, "E-COM11")
		qf := "quantity"
		if v <= 16 {
			qf = "reserved_availability"
		}
		m := b.read("stock.move", mv, "state", qf)
		if m["state"] != "partially_available" || num(m[qf]) != 2 {
			t.Errorf("short move: got %v, want partially_available with 2", m)
		}
		if st := b.read("stock.picking", pk, "state")["state"]; st != "assigned" {
			t.Errorf("picking with partial reservation (direct): got %v, want assigned", st)
		}
		so2 := b.createOrder(cust, "", "E-COM11", 1)
		b.must("sale.order", "action_confirm", []any{[]any{so2}}, nil)
		pk2 := b.pickingsOf(so2)[0]
		if got := b.must("stock.picking", "action_assign", []any{[]any{pk2}}, nil); got != true {
			t.Errorf("action_assign without stock: got %v, want true", got)
		}
		p2 := b.read("stock.picking", pk2, "state", "products_availability_state")
		if p2["state"] != "confirmed" || p2["products_availability_state"] != "late" {
			t.Errorf("picking without stock: got %v, want confirmed/late", p2)
		}
		re := b.wantErr(excUserError, "stock.picking", "button_validate", []any{[]any{pk2}}, nil)
		if !contains(re.Data.Message, "You cannot validate a transfer if no quantities are reserved") {
			t.Errorf("validate without reservation: got %q", re.Data.Message)
		}
		// unreserve the first picking: the stock becomes available for the second one
		env, err := b.jsonrpc("object", "execute_kw", b.sim.Database(), 2, "admin", "stock.picking", "do_unreserve", []any{[]any{pk}})
		if err != nil {
			t.Fatal(err)
		}
		if _, has := env["result"]; has || env["error"] != nil {
			t.Errorf("do_unreserve envelope: got %v, want no result key", env)
		}
		b.must("stock.picking", "action_assign", []any{[]any{pk2}}, nil)
		if st := b.read("stock.picking", pk2, "state")["state"]; st != "assigned" {
			t.Errorf("second picking after unreserve: got %v, want assigned", st)
		}
	})
}

func TestOrderCancel(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		v := b.sim.Version()
		so := b.createOrder(b.sim.Demo().Customers[0], "", "E-COM08", 1)
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		res := b.must("sale.order", "action_cancel", []any{[]any{so}}, nil)
		if v <= 18 {
			act, ok := res.(map[string]any)
			if !ok || act["res_model"] != "sale.order.cancel" || act["res_id"] != nil {
				t.Fatalf("≤18 action_cancel: got %v, want the sale.order.cancel wizard without res_id", res)
			}
			if st := b.read("sale.order", so, "state")["state"]; st != "sale" {
				t.Errorf("state after the wizard action: got %v, want sale", st)
			}
			res = b.must("sale.order", "action_cancel", []any{[]any{so}}, map[string]any{"context": map[string]any{"disable_cancel_warning": true}})
		}
		if res != true {
			t.Fatalf("action_cancel: got %v, want true", res)
		}
		if st := b.read("sale.order", so, "state")["state"]; st != "cancel" {
			t.Errorf("order: got %v, want cancel", st)
		}
		if st := b.read("stock.picking", pk, "state")["state"]; st != "cancel" {
			t.Errorf("picking: got %v, want cancel", st)
		}
		if q := num(b.read("stock.quant", b.search("stock.quant", []any{[]any{"product_id", "=", b.product("E-COM08")}}, nil)[0], "reserved_quantity")["reserved_quantity"]); q != 0 {
			t.Errorf("reservation after cancel: got %v, want 0", q)
		}
		// unlink: confirmed orders refuse, cancelled ones go
		so2 := b.createOrder(b.sim.Demo().Customers[0], "", "E-COM08", 1)
		b.must("sale.order", "action_confirm", []any{[]any{so2}}, nil)
		re := b.wantErr(excUserError, "sale.order", "unlink", []any{[]any{so2}}, nil)
		if re.Data.Message != "You can not delete a sent quotation or a confirmed sales order. You must first cancel it." {
			t.Errorf("unlink message: got %q", re.Data.Message)
		}
		if got := b.must("sale.order", "unlink", []any{[]any{so}}, nil); got != true {
			t.Errorf("unlink cancelled: got %v", got)
		}
	})
}

func TestVersionFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		version     int
		model, fld  string
		wantPresent bool
	}{
		{16, "stock.move", "quantity_done", true},
		{16, "stock.move", "picked", false},
		{16, "stock.move.line", "qty_done", true},
		{16, "stock.move.line", "reserved_uom_qty", true},
		{16, "sale.order", "locked", false},
		{17, "stock.move", "picked", true},
		{17, "stock.move.line", "qty_done", false},
		{17, "product.product", "is_storable", false},
		{17, "product.product", "detailed_type", true},
		{18, "product.product", "is_storable", true},
		{18, "product.product", "detailed_type", false},
		{18, "sale.order.line", "product_uom", true},
		{18, "sale.order.line", "product_uom_id", false},
		{18, "stock.move", "name", true},
		{18, "res.partner", "mobile", true},
		{19, "sale.order.line", "product_uom", false},
		{19, "sale.order.line", "tax_ids", true},
		{19, "sale.order.line", "tax_id", false},
		{19, "stock.move", "name", false},
		{19, "stock.move", "product_uom", true},
		{19, "stock.picking", "move_ids_without_package", false},
		{19, "res.partner", "mobile", false},
		{19, "sale.order", "stock_reference_ids", true},
	}
	for _, tc := range cases {
		t.Run(vname(tc.version)+"_"+tc.model+"_"+tc.fld, func(t *testing.T) {
			t.Parallel()
			sim, err := New(Options{Version: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			got := sim.models[tc.model].has(tc.fld)
			if got != tc.wantPresent {
				t.Errorf("field present: got %v, want %v", got, tc.wantPresent)
			}
		})
	}
}

func TestWrongVersionFieldFails(t *testing.T) {
	t.Parallel()
	cases := map[int][2]string{16: {"stock.move", "quantity"}, 17: {"product.product", "is_storable"},
		18: {"product.product", "detailed_type"}, 19: {"sale.order.line", "product_uom"}}
	forVersions(t, func(t *testing.T, b *bundle) {
		c := cases[b.sim.Version()]
		re := b.wantErr(excValueError, c[0], "search_read", []any{[]any{}}, map[string]any{"fields": []any{c[1]}, "limit": 1})
		if !contains(re.Data.Message, "Invalid field '"+c[1]+"'") {
			t.Errorf("message: got %q", re.Data.Message)
		}
		if b.sim.Version() >= 18 {
			re = b.wantErr(excValueError, "product.product", "create", []any{map[string]any{"name": "x", "type": "product"}}, nil)
			if re.Data.Message != "Wrong value for product.template.type: 'product'" {
				t.Errorf("type product: got %q", re.Data.Message)
			}
		}
	})
}
