package odoosim

import "testing"

// adjust sets the counted quantity of product (and lot) at loc and applies
// it, as an inventory adjustment over RPC does.
func (b *bundle) adjust(pid, loc, lot int, qty float64) int {
	b.t.Helper()
	vals := map[string]any{"product_id": pid, "location_id": loc, "inventory_quantity": qty}
	if lot != 0 {
		vals["lot_id"] = lot
	}
	qid := toInt(b.t, b.must("stock.quant", "create", []any{vals}, map[string]any{"context": map[string]any{"inventory_mode": true}}))
	b.must("stock.quant", "action_apply_inventory", []any{[]any{qid}}, nil)
	return qid
}

func TestInventoryAdjustment(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		stock := b.sim.Demo().StockLocationID
		pid := b.product("E-COM10")
		before := num(b.read("product.product", pid, "qty_available")["qty_available"])
		qid := b.adjust(pid, stock, 0, before+7)
		if got := num(b.read("product.product", pid, "qty_available")["qty_available"]); got != before+7 {
			t.Errorf("on hand after counting %v: got %v", before+7, got)
		}
		if again := b.adjust(pid, stock, 0, 4); again != qid {
			t.Errorf("second count: got quant %d, want the same quant %d", again, qid)
		}
		if got := num(b.read("stock.quant", qid, "quantity")["quantity"]); got != 4 {
			t.Errorf("quant after counting 4: got %v", got)
		}
		// a new lot of a tracked product
		paint := b.product("LOT-PAINT")
		lot := toInt(t, b.must("stock.lot", "create", []any{map[string]any{"name": "PAINT-NEW", "product_id": paint}}, nil))
		b.adjust(paint, stock, lot, 6)
		if got := num(b.read("stock.lot", lot, "product_qty")["product_qty"]); got != 6 {
			t.Errorf("new lot after counting 6: got %v", got)
		}
	})
}

// TestScrapChecksTheLotAtTheLocation: action_validate compares the scrap
// quantity with the quantity of exactly that lot at exactly the source
// location (Odoo's strict=True), not the product's or the lot's elsewhere.
func TestScrapChecksTheLotAtTheLocation(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		stock := b.sim.Demo().StockLocationID
		paint := b.product("LOT-PAINT")
		lot1, lot2 := b.sim.Demo().Lots["PAINT-0001"], b.sim.Demo().Lots["PAINT-0002"] // 10 and 15 in stock
		shelf := toInt(t, b.must("stock.location", "create", []any{map[string]any{"name": "Shelf 9", "usage": "internal", "location_id": stock}}, nil))
		b.adjust(paint, stock, lot1, 0)
		b.adjust(paint, shelf, lot1, 10) // the lot sits below the source location
		warned := func(name string, vals map[string]any) int {
			t.Helper()
			sid := toInt(t, b.must("stock.scrap", "create", []any{vals}, nil))
			act, ok := b.must("stock.scrap", "action_validate", []any{[]any{sid}}, nil).(map[string]any)
			if !ok || act["res_model"] != "stock.warn.insufficient.qty.scrap" {
				t.Errorf("%s: got %v, want the insufficient quantity wizard", name, act)
			}
			if st := b.read("stock.scrap", sid, "state")["state"]; st != "draft" {
				t.Errorf("%s: scrap state %v, want draft", name, st)
			}
			return sid
		}
		// lot 1 has none at WH/Stock itself, though the product (lot 2) and
		// the lot (on the shelf) have plenty
		warned("lot elsewhere", map[string]any{"product_id": paint, "scrap_qty": 1, "lot_id": lot1, "location_id": stock})
		// more than the lot has, though the product has enough
		warned("more than the lot", map[string]any{"product_id": paint, "scrap_qty": 16, "lot_id": lot2, "location_id": stock})
		for _, l := range []struct {
			lot, loc int
			want     float64
		}{{lot1, stock, 0}, {lot1, shelf, 10}, {lot2, stock, 15}} {
			sum := 0.0
			for _, q := range b.search("stock.quant", []any{[]any{"lot_id", "=", l.lot}, []any{"location_id", "=", l.loc}}, nil) {
				sum += num(b.read("stock.quant", q, "quantity")["quantity"])
			}
			if sum != l.want {
				t.Errorf("lot %d at %d after the warnings: got %v, want %v", l.lot, l.loc, sum, l.want)
			}
		}
		// from the shelf it is there
		sid := toInt(t, b.must("stock.scrap", "create", []any{map[string]any{"product_id": paint, "scrap_qty": 4, "lot_id": lot1, "location_id": shelf}}, nil))
		if got := b.must("stock.scrap", "action_validate", []any{[]any{sid}}, nil); got != true {
			t.Fatalf("scrap from the shelf: got %v, want true", got)
		}
		if q := num(b.read("stock.lot", lot1, "product_qty")["product_qty"]); q != 6 {
			t.Errorf("lot after scrap: got %v, want 6", q)
		}
		// a done scrap cannot be deleted, a draft one can
		b.wantErr(excUserError, "stock.scrap", "unlink", []any{[]any{sid}}, nil)
		draft := warned("draft to delete", map[string]any{"product_id": paint, "scrap_qty": 100, "lot_id": lot2, "location_id": stock})
		b.must("stock.scrap", "unlink", []any{[]any{draft}}, nil)
	})
}
