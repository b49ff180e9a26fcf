package odoo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/waybill/waybill/internal/connector"
)

// ScrapParams describes a scrap for [Client.Scrap].
type ScrapParams struct {
	ProductID int
	Quantity  float64
	// Lot is the lot or serial number name; empty for untracked products.
	Lot string
	// LocationID is the stock location to scrap from; 0 uses the
	// warehouse stock location Odoo picks by default. Odoo takes the stock
	// from exactly this location, not from the locations below it.
	LocationID int
	// Origin is the scrap's source document, and with the product and the
	// lot the idempotency key: a scrap of the product and lot with this
	// origin is reused. Required.
	Origin string
}

// Scrap is a stock.scrap.
type Scrap struct {
	ID    int
	Name  string
	State string // draft or done
	// Existing reports that a scrap with this origin already existed.
	Existing bool
	// Product, Quantity, Origin, Picking (the picking it was scrapped
	// from, if any) and CreatedAt are read by [Client.Scraps] only.
	Product   Many2One
	Quantity  float64
	Origin    string
	Picking   Many2One
	CreatedAt time.Time
}

// InsufficientStockError is a scrap Odoo refused to validate because the
// source location lacks the quantity: action_validate answered with the
// stock.warn.insufficient.qty.scrap wizard. The scrap stays in draft, and
// a later [Client.Scrap] with the same origin, product and lot reuses it.
// It matches [ErrConflict].
type InsufficientStockError struct {
	ScrapID   int
	Product   string
	Lot       string // empty for untracked products
	Location  string
	Quantity  float64 // to scrap
	Available float64 // on hand of the product (and lot) at exactly Location
}

func (e *InsufficientStockError) Error() string {
	what := e.Product
	if e.Lot != "" {
		what += " lot " + e.Lot
	}
	return fmt.Sprintf("not enough stock to scrap %s %s at %s: %s on hand (scrap %d left in draft)",
		fmtQty(e.Quantity), what, e.Location, fmtQty(e.Available), e.ScrapID)
}

// Is matches [ErrConflict].
func (e *InsufficientStockError) Is(target error) bool { return target == ErrConflict }

func fmtQty(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

var scrapFields = []string{"name", "state", "location_id", "scrap_qty"}

// Scrap scraps p.Quantity of p.ProductID (create + action_validate) unless
// a done scrap of that product and lot with origin p.Origin exists. A
// draft one left by an earlier attempt is reused (moved to p.LocationID
// and p.Quantity if they changed) and validated; further drafts of the
// same origin, product and lot are deleted, so retries never pile them up.
//
// When the location lacks the stock, Odoo asks to confirm a scrap that
// would make it negative. Scrap never confirms it: it returns a permanent
// [*InsufficientStockError] (matching [ErrConflict]) and leaves the scrap
// in draft.
func (c *Client) Scrap(ctx context.Context, p *ScrapParams) (Scrap, error) {
	if p == nil || p.ProductID <= 0 || !(p.Quantity > 0) || p.Origin == "" {
		return Scrap{}, invalidInput("scrap needs a product, a positive quantity and an origin")
	}
	lotID := 0
	if p.Lot != "" {
		lots, err := c.Search(ctx, "stock.lot", Domain{Leaf("name", "=", p.Lot), Leaf("product_id", "=", p.ProductID)}, &SearchOptions{Limit: 1})
		if err != nil {
			return Scrap{}, fmt.Errorf("scrapping %q: finding lot %q: %w", p.Origin, p.Lot, err)
		}
		if len(lots) == 0 {
			return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, classify(&Error{Kind: KindMissing, Model: "stock.lot",
				Message: fmt.Sprintf("lot %q of product %d not found", p.Lot, p.ProductID)}))
		}
		lotID = lots[0]
	}
	lotLeaf := Leaf("lot_id", "=", false)
	if lotID != 0 {
		lotLeaf = Leaf("lot_id", "=", lotID)
	}
	recs, err := c.SearchRead(ctx, "stock.scrap", Domain{Leaf("origin", "=", p.Origin), Leaf("product_id", "=", p.ProductID), lotLeaf},
		&SearchOptions{Fields: scrapFields, Order: "id"})
	if err != nil {
		return Scrap{}, fmt.Errorf("scrapping %q: looking for a previous scrap: %w", p.Origin, err)
	}
	var drafts []Record
	for _, r := range recs {
		if r.String("state") == "done" {
			return Scrap{ID: r.ID(), Name: r.String("name"), State: "done", Existing: true}, nil
		}
		drafts = append(drafts, r)
	}
	var s Scrap
	if len(drafts) > 0 {
		d := drafts[0]
		s = Scrap{ID: d.ID(), Name: d.String("name"), State: d.String("state"), Existing: true}
		if len(drafts) > 1 {
			extra := make([]int, 0, len(drafts)-1)
			for _, r := range drafts[1:] {
				extra = append(extra, r.ID())
			}
			if err := c.Unlink(ctx, "stock.scrap", extra); err != nil && !errors.Is(err, ErrMissing) {
				return Scrap{}, fmt.Errorf("scrapping %q: deleting extra draft scraps %v: %w", p.Origin, extra, err)
			}
		}
		vals := map[string]any{}
		if p.LocationID > 0 && d.M2O("location_id").ID != p.LocationID {
			vals["location_id"] = p.LocationID
		}
		if !qtyEqual(d.Float("scrap_qty"), p.Quantity) {
			vals["scrap_qty"] = p.Quantity
		}
		if len(vals) > 0 {
			if err := c.Write(ctx, "stock.scrap", []int{s.ID}, vals); err != nil {
				return Scrap{}, fmt.Errorf("scrapping %q: updating draft scrap %d: %w", p.Origin, s.ID, err)
			}
		}
	} else {
		vals := map[string]any{"product_id": p.ProductID, "scrap_qty": p.Quantity, "origin": p.Origin}
		if p.LocationID > 0 {
			vals["location_id"] = p.LocationID
		}
		if lotID != 0 {
			vals["lot_id"] = lotID
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
	if _, ok := decodeAction(res); ok {
		return Scrap{}, c.insufficient(ctx, p, s.ID, lotID)
	}
	st, err := c.Read(ctx, "stock.scrap", []int{s.ID}, []string{"name", "state"})
	if err != nil {
		return Scrap{}, fmt.Errorf("scrapping %q: reading scrap %d: %w", p.Origin, s.ID, err)
	}
	if len(st) == 0 {
		return Scrap{}, fmt.Errorf("scrapping %q: %w", p.Origin, missing("stock.scrap", s.ID))
	}
	s.Name, s.State = st[0].String("name"), st[0].String("state")
	return s, nil
}

// insufficient builds the error of a scrap Odoo found short of stock, with
// what is on hand at its location, so a person can see why.
func (c *Client) insufficient(ctx context.Context, p *ScrapParams, scrapID, lotID int) error {
	e := &InsufficientStockError{ScrapID: scrapID, Product: strconv.Itoa(p.ProductID), Lot: p.Lot, Quantity: p.Quantity}
	sc, err := c.Read(ctx, "stock.scrap", []int{scrapID}, []string{"product_id", "location_id"})
	if err == nil && len(sc) == 1 {
		e.Product = sc[0].M2O("product_id").Name
		loc := sc[0].M2O("location_id")
		e.Location = loc.Name
		lotLeaf := Leaf("lot_id", "=", false)
		if lotID != 0 {
			lotLeaf = Leaf("lot_id", "=", lotID)
		}
		quants, qerr := c.SearchRead(ctx, "stock.quant", Domain{Leaf("product_id", "=", p.ProductID), Leaf("location_id", "=", loc.ID), lotLeaf},
			&SearchOptions{Fields: []string{"quantity"}})
		if qerr == nil {
			for _, q := range quants {
				e.Available += q.Float("quantity")
			}
		}
	}
	return fmt.Errorf("scrapping %q: %w", p.Origin, connector.Permanent(e))
}
