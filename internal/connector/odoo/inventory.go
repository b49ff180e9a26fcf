package odoo

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// CallCounter counts the requests made with a context from
// [WithCallCounter], as [Client.Calls] counts them: the calls of one
// operation, when the client serves others at the same time.
type CallCounter struct{ n atomic.Int64 }

// N returns how many requests were counted.
func (cc *CallCounter) N() int { return int(cc.n.Load()) }

type callCounterKey struct{}

// WithCallCounter returns a context whose requests cc counts.
func WithCallCounter(ctx context.Context, cc *CallCounter) context.Context {
	return context.WithValue(ctx, callCounterKey{}, cc)
}

func countCall(ctx context.Context) {
	if cc, ok := ctx.Value(callCounterKey{}).(*CallCounter); ok {
		cc.n.Add(1)
	}
}

// ReturnMove is a move of a return: goods taken back from a done picking
// (a stock.move whose origin_returned_move_id is set).
type ReturnMove struct {
	ID int
	// Picking is the return picking the move belongs to.
	Picking Many2One
	// Returned is the picking whose goods it takes back.
	Returned Many2One
	Product  Many2One
	// Quantity is the quantity to take back (product_uom_qty).
	Quantity  float64
	State     string
	CreatedAt time.Time
}

// ReturnQuery selects return moves, not cancelled: those taking back goods
// of the pickings Of, whenever they were made, and, when CreatedFrom is
// set, every return move created since then.
type ReturnQuery struct {
	Of          []int
	CreatedFrom time.Time
}

// Returns reads the return moves q selects in two calls: a search_read of
// stock.move by origin_returned_move_id (a field every version has), and a
// read of the moves they return, for their pickings. Moves come in id
// order.
func (c *Client) Returns(ctx context.Context, q *ReturnQuery) ([]ReturnMove, error) {
	if q == nil || (len(q.Of) == 0 && q.CreatedFrom.IsZero()) {
		return nil, nil
	}
	d := Domain{Leaf("origin_returned_move_id", "!=", false), Leaf("state", "!=", PickingCancel)}
	switch {
	case len(q.Of) > 0 && !q.CreatedFrom.IsZero():
		d = append(d, "|", Leaf("origin_returned_move_id.picking_id", "in", uniq(q.Of)), Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom)))
	case len(q.Of) > 0:
		d = append(d, Leaf("origin_returned_move_id.picking_id", "in", uniq(q.Of)))
	default:
		d = append(d, Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom)))
	}
	recs, err := c.SearchRead(ctx, "stock.move", d, &SearchOptions{
		Fields: []string{"picking_id", "product_id", "product_uom_qty", "state", "origin_returned_move_id", "create_date"}, Order: "id"})
	if err != nil {
		return nil, fmt.Errorf("reading returns: %w", err)
	}
	var origins []int
	for _, r := range recs {
		origins = append(origins, r.M2O("origin_returned_move_id").ID)
	}
	orig, err := c.readChunked(ctx, "stock.move", uniq(origins), []string{"picking_id"})
	if err != nil {
		return nil, fmt.Errorf("reading the moves returns take back: %w", err)
	}
	pickingOf := make(map[int]Many2One, len(orig))
	for _, r := range orig {
		pickingOf[r.ID()] = r.M2O("picking_id")
	}
	out := make([]ReturnMove, 0, len(recs))
	for _, r := range recs {
		out = append(out, ReturnMove{ID: r.ID(), Picking: r.M2O("picking_id"), Returned: pickingOf[r.M2O("origin_returned_move_id").ID],
			Product: r.M2O("product_id"), Quantity: r.Float("product_uom_qty"), State: r.String("state"), CreatedAt: r.Time("create_date")})
	}
	return out, nil
}

// ScrapQuery selects scraps: those whose origin is one of Origins, and,
// when CreatedFrom is set, every scrap created since then.
type ScrapQuery struct {
	Origins     []string
	CreatedFrom time.Time
}

// Scraps reads the scraps q selects, drafts included, in one search_read
// of stock.scrap, in id order.
func (c *Client) Scraps(ctx context.Context, q *ScrapQuery) ([]Scrap, error) {
	if q == nil || (len(q.Origins) == 0 && q.CreatedFrom.IsZero()) {
		return nil, nil
	}
	var d Domain
	switch {
	case len(q.Origins) > 0 && !q.CreatedFrom.IsZero():
		d = Domain{"|", Leaf("origin", "in", uniqStrings(q.Origins)), Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom))}
	case len(q.Origins) > 0:
		d = Domain{Leaf("origin", "in", uniqStrings(q.Origins))}
	default:
		d = Domain{Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom))}
	}
	recs, err := c.SearchRead(ctx, "stock.scrap", d, &SearchOptions{
		Fields: []string{"name", "state", "product_id", "scrap_qty", "origin", "picking_id", "create_date"}, Order: "id"})
	if err != nil {
		return nil, fmt.Errorf("reading scraps: %w", err)
	}
	out := make([]Scrap, 0, len(recs))
	for _, r := range recs {
		out = append(out, Scrap{ID: r.ID(), Name: r.String("name"), State: r.String("state"), Product: r.M2O("product_id"),
			Quantity: r.Float("scrap_qty"), Origin: r.String("origin"), Picking: r.M2O("picking_id"), CreatedAt: r.Time("create_date")})
	}
	slices.SortFunc(out, func(a, b Scrap) int { return a.ID - b.ID })
	return out, nil
}
