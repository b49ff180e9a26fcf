package odoo

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
)

// ReturnLine is a quantity of a product to take back.
type ReturnLine struct {
	ProductID int
	Quantity  float64
}

// Return is a return picking.
type Return struct {
	PickingID int
	Name      string
	State     string
	// Existing reports that the return already existed with these
	// quantities, so nothing was created.
	Existing bool
	// LocationID is the return picking's destination, where the goods
	// come back to (its move lines may put them below it).
	LocationID int
}

// ReturnPicking creates a return of done picking id for lines through the
// stock.return.picking wizard (create_returns on 16–17,
// action_create_returns on 18+), with to_refund set so the sale order's
// delivered quantities go down. The return picking is left ready
// (assigned) for the warehouse to receive.
//
// Before creating it looks for a return of the picking, not cancelled,
// with exactly these quantities and returns that instead, so the call can
// be repeated after any failure.
func (c *Client) ReturnPicking(ctx context.Context, id int, lines []ReturnLine) (Return, error) {
	want := map[int]float64{}
	for i, l := range lines {
		if l.ProductID <= 0 || !(l.Quantity > 0) || math.IsInf(l.Quantity, 0) {
			return Return{}, fmt.Errorf("returning picking %d: %w", id, invalidInput("line %d: need a product and a positive quantity", i))
		}
		want[l.ProductID] += l.Quantity
	}
	if len(want) == 0 {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, invalidInput("no lines"))
	}
	if r, ok, err := c.findReturn(ctx, id, want); err != nil {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, err)
	} else if ok {
		return r, nil
	}

	wctx := map[string]any{"active_model": "stock.picking", "active_id": id, "active_ids": []int{id}}
	wids, err := c.Create(ctx, "stock.return.picking", []map[string]any{{}}, &CallOptions{Context: wctx})
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: creating the return wizard: %w", id, err)
	}
	wiz, err := c.Read(ctx, "stock.return.picking", wids, []string{"product_return_moves"})
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: reading the return wizard: %w", id, err)
	}
	if len(wiz) == 0 {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, missing("stock.return.picking", wids[0]))
	}
	wlines, err := c.Read(ctx, "stock.return.picking.line", wiz[0].IDs("product_return_moves"), []string{"product_id", "quantity"})
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: reading the return lines: %w", id, err)
	}
	// Put each product's quantity on its first line; zero the others.
	byQty := map[float64][]int{}
	assigned := map[int]bool{}
	for _, r := range wlines {
		pid := r.M2O("product_id").ID
		q := 0.0
		if !assigned[pid] {
			q = want[pid]
			assigned[pid] = q > 0
		}
		if q == 0 && c.profile.ReturnLinesDefaultZero && r.Float("quantity") == 0 {
			continue
		}
		byQty[q] = append(byQty[q], r.ID())
	}
	for pid := range want {
		if !assigned[pid] {
			return Return{}, fmt.Errorf("returning picking %d: %w", id, conflict("stock.picking", "product %d was not delivered by picking %d", pid, id))
		}
	}
	for _, q := range slices.Sorted(maps.Keys(byQty)) {
		vals := map[string]any{"quantity": q}
		if q > 0 {
			vals["to_refund"] = true
		}
		if err := c.Write(ctx, "stock.return.picking.line", byQty[q], vals); err != nil {
			return Return{}, fmt.Errorf("returning picking %d: setting return quantities: %w", id, err)
		}
	}
	res, err := c.Execute(ctx, "stock.return.picking", c.profile.ReturnMethod, wids, &CallOptions{Context: wctx})
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, err)
	}
	rid := 0
	if act, ok := decodeAction(res); ok && act.ResID > 0 {
		rid = act.ResID
	}
	if rid == 0 {
		r, ok, err := c.findReturn(ctx, id, want)
		if err != nil {
			return Return{}, fmt.Errorf("returning picking %d: %w", id, err)
		}
		if !ok {
			return Return{}, fmt.Errorf("returning picking %d: %w", id, conflict("stock.return.picking", "%s made no return", c.profile.ReturnMethod))
		}
		r.Existing = false
		return r, nil
	}
	recs, err := c.Read(ctx, "stock.picking", []int{rid}, returnFields)
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: reading return %d: %w", id, rid, err)
	}
	if len(recs) == 0 {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, missing("stock.picking", rid))
	}
	return Return{PickingID: rid, Name: recs[0].String("name"), State: recs[0].String("state"), LocationID: recs[0].M2O("location_dest_id").ID}, nil
}

// returnFields are the fields of a return picking [Return] reports.
var returnFields = []string{"name", "state", "location_dest_id"}

// findReturn looks for a return of picking id, not cancelled, whose moves
// carry exactly want. It searches moves by origin_returned_move_id, which
// every version has.
func (c *Client) findReturn(ctx context.Context, id int, want map[int]float64) (Return, bool, error) {
	recs, err := c.SearchRead(ctx, "stock.move", Domain{
		Leaf("origin_returned_move_id.picking_id", "=", id), Leaf("state", "!=", "cancel"),
	}, &SearchOptions{Fields: []string{"picking_id", "product_id", "product_uom_qty"}})
	if err != nil {
		return Return{}, false, fmt.Errorf("looking for returns: %w", err)
	}
	per := map[int]map[int]float64{}
	names := map[int]string{}
	for _, r := range recs {
		p := r.M2O("picking_id")
		if p.ID == 0 {
			continue
		}
		if per[p.ID] == nil {
			per[p.ID] = map[int]float64{}
		}
		per[p.ID][r.M2O("product_id").ID] += r.Float("product_uom_qty")
		names[p.ID] = p.Name
	}
	for _, pid := range slices.Sorted(maps.Keys(per)) {
		got := per[pid]
		if len(got) != len(want) {
			continue
		}
		same := true
		for prod, q := range want {
			same = same && qtyEqual(got[prod], q)
		}
		if !same {
			continue
		}
		st, err := c.Read(ctx, "stock.picking", []int{pid}, returnFields)
		if err != nil {
			return Return{}, false, fmt.Errorf("reading return %d: %w", pid, err)
		}
		if len(st) == 0 || st[0].String("state") == PickingCancel {
			continue
		}
		return Return{PickingID: pid, Name: st[0].String("name"), State: st[0].String("state"), Existing: true,
			LocationID: st[0].M2O("location_dest_id").ID}, true, nil
	}
	return Return{}, false, nil
}
