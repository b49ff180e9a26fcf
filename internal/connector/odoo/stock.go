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
		return Return{PickingID: r.PickingID, Name: r.Name, State: r.State}, nil
	}
	recs, err := c.Read(ctx, "stock.picking", []int{rid}, []string{"name", "state"})
	if err != nil {
		return Return{}, fmt.Errorf("returning picking %d: reading return %d: %w", id, rid, err)
	}
	if len(recs) == 0 {
		return Return{}, fmt.Errorf("returning picking %d: %w", id, missing("stock.picking", rid))
	}
	return Return{PickingID: rid, Name: recs[0].String("name"), State: recs[0].String("state")}, nil
}

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
		st, err := c.Read(ctx, "stock.picking", []int{pid}, []string{"name", "state"})
		if err != nil {
			return Return{}, false, fmt.Errorf("reading return %d: %w", pid, err)
		}
		if len(st) == 0 || st[0].String("state") == PickingCancel {
			continue
		}
		return Return{PickingID: pid, Name: st[0].String("name"), State: st[0].String("state"), Existing: true}, true, nil
	}
	return Return{}, false, nil
}

// ScrapParams describes a scrap for [Client.Scrap].
type ScrapParams struct {
	ProductID int
	Quantity  float64
	// Lot is the lot or serial number name; empty for untracked products.
	Lot string
	// LocationID is the stock location to scrap from; 0 uses the
	// warehouse stock location Odoo picks by default.
	LocationID int
	// Origin is the scrap's source document, and the idempotency key: a
	// scrap of the product with this origin is reused. Required.
	Origin string
}

// Scrap is a stock.scrap.
type Scrap struct {
	ID    int
	Name  string
	State string // draft or done
	// Existing reports that a scrap with this origin already existed.
	Existing bool
}

// Scrap scraps p.Quantity of p.ProductID (create + action_validate) unless
// a scrap of that product with origin p.Origin exists; a draft one found
// that way is validated. When the location lacks the stock Odoo asks for
// confirmation; Scrap does not force it and returns a permanent error
// matching [ErrConflict], leaving the scrap in draft.
func (c *Client) Scrap(ctx context.Context, p *ScrapParams) (Scrap, error) {
	if p == nil || p.ProductID <= 0 || !(p.Quantity > 0) || p.Origin == "" {
		return Scrap{}, invalidInput("scrap needs a product, a positive quantity and an origin")
	}
	fields := []string{"name", "state"}
	recs, err := c.SearchRead(ctx, "stock.scrap", Domain{Leaf("origin", "=", p.Origin), Leaf("product_id", "=", p.ProductID)},
		&SearchOptions{Fields: fields, Limit: 1})
	if err != nil {
		return Scrap{}, fmt.Errorf("scrapping %q: looking for a previous scrap: %w", p.Origin, err)
	}
	var s Scrap
	if len(recs) > 0 {
		s = Scrap{ID: recs[0].ID(), Name: recs[0].String("name"), State: recs[0].String("state"), Existing: true}
		if s.State == "done" {
			return s, nil
		}
	} else {
		vals := map[string]any{"product_id": p.ProductID, "scrap_qty": p.Quantity, "origin": p.Origin}
		if p.LocationID > 0 {
			vals["location_id"] = p.LocationID
		}
		if p.Lot != "" {
			lots, err := c.SearchRead(ctx, "stock.lot", Domain{Leaf("name", "=", p.Lot), Leaf("product_id", "=", p.ProductID)},
				&SearchOptions{Fields: []string{"name"}, Limit: 1})
			if err != nil {
				return Scrap{}, fmt.Errorf("scrapping %q: finding lot %q: %w", p.Origin, p.Lot, err)
			}
			if len(lots) == 0 {
				return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, classify(&Error{Kind: KindMissing, Model: "stock.lot",
					Message: fmt.Sprintf("lot %q of product %d not found", p.Lot, p.ProductID)}))
			}
			vals["lot_id"] = lots[0].ID()
		}
		ids, err := c.Create(ctx, "stock.scrap", []map[string]any{vals}, nil)
		if err != nil {
			return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, err)
		}
		s.ID = ids[0]
	}
	res, err := c.Execute(ctx, "stock.scrap", "action_validate", []int{s.ID}, nil)
	if err != nil {
		return Scrap{}, fmt.Errorf("scrapping %q: validating scrap %d: %w", p.Origin, s.ID, err)
	}
	if act, ok := decodeAction(res); ok {
		return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, conflict("stock.scrap", "odoo asks to confirm scrap %d (%s): not enough stock", s.ID, act.ResModel))
	}
	st, err := c.Read(ctx, "stock.scrap", []int{s.ID}, fields)
	if err != nil {
		return Scrap{}, fmt.Errorf("scrapping %q: reading scrap %d: %w", p.Origin, s.ID, err)
	}
	if len(st) == 0 {
		return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, missing("stock.scrap", s.ID))
	}
	s.Name, s.State = st[0].String("name"), st[0].String("state")
	return s, nil
}
