package odoosim

import (
	"fmt"
	"sort"
	"sync"
	"testing"
)

// TestReadEveryModel reads all fields of every model and runs fields_get, on every version.
func TestReadEveryModel(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		// make sure there are pickings, moves, invoices and wizards to read
		so := b.createOrder(15, "ALL", "E-COM08", 2, "LOT-PAINT", 3)
		pk := b.deliverAll(so)
		b.invoice(so)
		b.must("stock.return.picking", "create", []any{map[string]any{}}, map[string]any{"context": map[string]any{"active_model": "stock.picking", "active_id": pk}})
		names := make([]string, 0, len(b.sim.models))
		for n := range b.sim.models {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			rows, err := b.call(n, "search_read", []any{[]any{}}, map[string]any{"limit": 3})
			if err != nil {
				t.Errorf("%s search_read: %v", n, err)
				continue
			}
			if _, ok := rows.([]any); !ok {
				t.Errorf("%s search_read: got %T", n, rows)
			}
			fg, err := b.call(n, "fields_get", []any{}, map[string]any{"attributes": []any{"type", "string", "relation", "required", "readonly", "selection"}})
			if err != nil {
				t.Errorf("%s fields_get: %v", n, err)
				continue
			}
			m, _ := fg.(map[string]any)
			if _, ok := m["id"]; !ok {
				t.Errorf("%s fields_get: no id field", n)
			}
		}
	})
}

func TestValidateWithoutQuantities(t *testing.T) {
	t.Parallel()
	forVersions(t, func(t *testing.T, b *bundle) {
		so := b.createOrder(15, "", "E-COM08", 2, "E-COM10", 1)
		b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
		pk := b.pickingsOf(so)[0]
		seen := b.validate(pk, false)
		want := "confirm.stock.sms"
		if b.sim.Version() <= 16 {
			want = "stock.immediate.transfer"
		}
		if len(seen) == 0 || seen[0] != want {
			t.Errorf("wizards: got %v, want %s first", seen, want)
		}
		if st := b.read("stock.picking", pk, "state")["state"]; st != "done" {
			t.Fatalf("picking: got %v, want done", st)
		}
		if b.sim.Version() >= 17 {
			for _, m := range b.search("stock.move", []any{[]any{"picking_id", "=", pk}}, nil) {
				r := b.read("stock.move", m, "picked", "quantity", "state")
				if r["picked"] != true || r["state"] != "done" {
					t.Errorf("move %d: got %v", m, r)
				}
			}
		}
		if len(b.pickingsOf(so)) != 1 {
			t.Errorf("a full delivery must not create a backorder")
		}
		// validating again is a no-op returning true
		if got := b.must("stock.picking", "button_validate", []any{[]any{pk}}, nil); got != true {
			t.Errorf("second validation: got %v", got)
		}
		// carrier_tracking_ref stays writable on a done picking
		b.must("stock.picking", "write", []any{[]any{pk}, map[string]any{"carrier_tracking_ref": "TRK-9"}}, nil)
		if ref := b.read("stock.picking", pk, "carrier_tracking_ref")["carrier_tracking_ref"]; ref != "TRK-9" {
			t.Errorf("tracking ref: got %v", ref)
		}
	})
}

func TestQuantityContext(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	pid := b.product("E-COM08")
	d := b.sim.Demo()
	read := func(ctx map[string]any) float64 {
		rows := b.must("product.product", "read", []any{[]any{pid}}, map[string]any{"fields": []any{"qty_available", "free_qty"}, "context": ctx}).([]any)
		return num(rows[0].(map[string]any)["qty_available"])
	}
	if q := read(nil); q != 18 {
		t.Errorf("qty_available: got %v, want 18", q)
	}
	if q := read(map[string]any{"location": d.CustomerLocationID}); q != 0 {
		t.Errorf("qty at the customer location: got %v, want 0", q)
	}
	if q := read(map[string]any{"warehouse_id": d.WarehouseID, "warehouse": d.WarehouseID}); q != 18 {
		t.Errorf("qty in the warehouse: got %v, want 18", q)
	}
	so := b.createOrder(15, "", "E-COM08", 5)
	b.must("sale.order", "action_confirm", []any{[]any{so}}, nil)
	r := b.read("product.product", pid, "qty_available", "free_qty", "virtual_available", "outgoing_qty")
	if num(r["qty_available"]) != 18 || num(r["free_qty"]) != 13 || num(r["virtual_available"]) != 13 || num(r["outgoing_qty"]) != 5 {
		t.Errorf("after reserving 5: got %v", r)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	const workers = 8
	before := toInt(t, b.must("sale.order", "search_count", []any{[]any{}}, nil))
	var wg sync.WaitGroup
	errs := make(chan error, workers*3)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				id, err := b.call("sale.order", "create", []any{map[string]any{"partner_id": 15, "client_order_ref": fmt.Sprintf("C-%d-%d", i, j),
					"order_line": []any{[]any{0, 0, map[string]any{"product_id": b.sim.Demo().Products["E-COM07"], "product_uom_qty": 1}}}}}, nil)
				if err != nil {
					errs <- err
					return
				}
				if _, err := b.call("sale.order", "action_confirm", []any{[]any{id}}, nil); err != nil {
					errs <- err
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	if n := toInt(t, b.must("sale.order", "search_count", []any{[]any{}}, nil)); n != before+workers*3 {
		t.Errorf("orders: got %d, want %d", n, before+workers*3)
	}
	names := map[string]bool{}
	for _, r := range b.must("stock.picking", "search_read", []any{[]any{}}, map[string]any{"fields": []any{"name"}}).([]any) {
		n := r.(map[string]any)["name"].(string)
		if names[n] {
			t.Errorf("duplicate picking name %s", n)
		}
		names[n] = true
	}
}
