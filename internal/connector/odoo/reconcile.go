package odoo

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// InvoiceLine is a product line of a customer invoice (account.move.line
// with display_type product).
type InvoiceLine struct {
	ID      int
	MoveID  int
	Product Many2One
	// Name is the line's label; a service line added for a charge carries
	// the charge's marker, such as "[evt-1/0]".
	Name      string
	Quantity  float64
	PriceUnit float64
	// Subtotal is price_subtotal: the amount before taxes.
	Subtotal float64
}

// InvoiceWithLines is a customer invoice and its product lines.
type InvoiceWithLines struct {
	Invoice
	CreatedAt time.Time
	Lines     []InvoiceLine
}

// InvoiceQuery selects customer invoices (out_invoice, not cancelled) for
// a reconciliation: those whose ref is one of Refs, and, when RefPrefix is
// set, those whose ref starts with it and that were created in
// [CreatedFrom, CreatedTo).
type InvoiceQuery struct {
	Refs        []string
	RefPrefix   string
	CreatedFrom time.Time
	CreatedTo   time.Time
}

// InvoicesWithLines reads the invoices q selects and their product lines
// in two calls: one search_read of account.move with an "in" domain, one
// read of their lines. Invoices come oldest first.
func (c *Client) InvoicesWithLines(ctx context.Context, q *InvoiceQuery) ([]InvoiceWithLines, error) {
	if q == nil || (len(q.Refs) == 0 && q.RefPrefix == "") {
		return nil, nil
	}
	if q.RefPrefix != "" && (q.CreatedFrom.IsZero() || !q.CreatedTo.After(q.CreatedFrom)) {
		return nil, invalidInput("reading invoices: a ref prefix needs a creation window")
	}
	var sel Domain
	switch {
	case len(q.Refs) > 0 && q.RefPrefix != "":
		sel = Domain{"|", Leaf("ref", "in", uniqStrings(q.Refs)), "&", "&",
			Leaf("ref", "=like", q.RefPrefix+"%"),
			Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom)), Leaf("create_date", "<", formatOdooTime(q.CreatedTo))}
	case len(q.Refs) > 0:
		sel = Domain{Leaf("ref", "in", uniqStrings(q.Refs))}
	default:
		sel = Domain{Leaf("ref", "=like", q.RefPrefix+"%"),
			Leaf("create_date", ">=", formatOdooTime(q.CreatedFrom)), Leaf("create_date", "<", formatOdooTime(q.CreatedTo))}
	}
	d := append(Domain{Leaf("move_type", "=", "out_invoice"), Leaf("state", "!=", "cancel")}, sel...)
	recs, err := c.SearchRead(ctx, "account.move", d, &SearchOptions{Fields: append(slices.Clone(invoiceFields), "create_date", "invoice_line_ids")})
	if err != nil {
		return nil, fmt.Errorf("reading invoices: %w", err)
	}
	var lineIDs []int
	for _, r := range recs {
		lineIDs = append(lineIDs, r.IDs("invoice_line_ids")...)
	}
	lines, err := c.readChunked(ctx, "account.move.line", lineIDs,
		[]string{"move_id", "product_id", "name", "quantity", "price_unit", "price_subtotal", "display_type"})
	if err != nil {
		return nil, fmt.Errorf("reading invoice lines: %w", err)
	}
	byMove := map[int][]InvoiceLine{}
	for _, r := range lines {
		if dt := r.String("display_type"); dt != "" && dt != "product" {
			continue // sections and notes
		}
		l := InvoiceLine{ID: r.ID(), MoveID: r.M2O("move_id").ID, Product: r.M2O("product_id"), Name: r.String("name"),
			Quantity: r.Float("quantity"), PriceUnit: r.Float("price_unit"), Subtotal: r.Float("price_subtotal")}
		byMove[l.MoveID] = append(byMove[l.MoveID], l)
	}
	out := make([]InvoiceWithLines, 0, len(recs))
	for _, r := range recs {
		ls := byMove[r.ID()]
		slices.SortFunc(ls, func(a, b InvoiceLine) int { return a.ID - b.ID })
		out = append(out, InvoiceWithLines{Invoice: invoiceOf(r), CreatedAt: r.Time("create_date"), Lines: ls})
	}
	return out, nil
}

// PickingQuery selects outgoing pickings for a reconciliation: those named
// in Names, numbered in IDs or delivering a sale order named in Orders,
// whatever their state, and those done in [DoneFrom, DoneTo) when the
// window is set.
type PickingQuery struct {
	Names []string
	// Orders are sale order names. Pickings are found by their sale_id:
	// their origin is the order's name on 16 and 19 but "<name> -
	// <client_order_ref>" on 17 and 18 when the order has a customer
	// reference.
	Orders   []string
	IDs      []int
	DoneFrom time.Time
	DoneTo   time.Time
	// Open adds every outgoing picking neither done nor cancelled.
	Open bool
}

// ReconcilePickings reads the pickings q selects with their moves and move
// lines in three calls: a search_read of stock.picking, a read of the
// moves, a read of the move lines (whose done quantity is qty_done on 16,
// quantity of picked lines on 17+). Sale orders are not read.
func (c *Client) ReconcilePickings(ctx context.Context, q *PickingQuery) ([]Picking, error) {
	if q == nil {
		return nil, nil
	}
	window := !q.DoneFrom.IsZero() && q.DoneTo.After(q.DoneFrom)
	var parts []Domain
	if len(q.Names) > 0 {
		parts = append(parts, Domain{Leaf("name", "in", uniqStrings(q.Names))})
	}
	if len(q.Orders) > 0 {
		parts = append(parts, Domain{Leaf("sale_id.name", "in", uniqStrings(q.Orders))})
	}
	if len(q.IDs) > 0 {
		parts = append(parts, Domain{Leaf("id", "in", uniq(q.IDs))})
	}
	if q.Open {
		parts = append(parts, Domain{Leaf("state", "not in", []string{PickingDone, PickingCancel})})
	}
	if window {
		parts = append(parts, Domain{"&", "&", Leaf("state", "=", PickingDone),
			Leaf("date_done", ">=", formatOdooTime(q.DoneFrom)), Leaf("date_done", "<", formatOdooTime(q.DoneTo))})
	}
	if len(parts) == 0 {
		return nil, nil
	}
	d := Domain{Leaf("picking_type_code", "=", "outgoing")}
	for range len(parts) - 1 {
		d = append(d, "|")
	}
	for _, p := range parts {
		d = append(d, p...)
	}
	recs, err := c.SearchRead(ctx, "stock.picking", d, &SearchOptions{Fields: pickingFields})
	if err != nil {
		return nil, fmt.Errorf("reading pickings: %w", err)
	}
	ps, err := c.loadPickings(ctx, recs, false)
	if err != nil {
		return nil, fmt.Errorf("loading pickings: %w", err)
	}
	return ps, nil
}

// ProductCodes returns the internal reference (default_code) of each of
// the products ids, in one read; products without one are left out.
func (c *Client) ProductCodes(ctx context.Context, ids []int) (map[int]string, error) {
	recs, err := c.readChunked(ctx, "product.product", uniq(ids), []string{"default_code"})
	if err != nil {
		return nil, fmt.Errorf("reading product codes: %w", err)
	}
	out := make(map[int]string, len(recs))
	for _, r := range recs {
		if code := r.String("default_code"); code != "" {
			out[r.ID()] = code
		}
	}
	return out, nil
}

// InvoicesToPost finds, in one search_read, the draft customer invoices
// whose ref is one of refs, and those of known (invoices an earlier try
// meant to post) that are posted now. An approval that wrote down what it
// was about to post, and died before recording that it had, so learns
// what it posted without posting anything twice.
func (c *Client) InvoicesToPost(ctx context.Context, refs []string, known []int) (drafts, posted []int, err error) {
	if len(refs) == 0 && len(known) == 0 {
		return nil, nil, nil
	}
	var sel Domain
	switch {
	case len(refs) > 0 && len(known) > 0:
		sel = Domain{"|", "&", Leaf("state", "=", "draft"), Leaf("ref", "in", uniqStrings(refs)), Leaf("id", "in", uniq(known))}
	case len(refs) > 0:
		sel = Domain{Leaf("state", "=", "draft"), Leaf("ref", "in", uniqStrings(refs))}
	default:
		sel = Domain{Leaf("id", "in", uniq(known))}
	}
	recs, err := c.SearchRead(ctx, "account.move", append(Domain{Leaf("move_type", "=", "out_invoice")}, sel...),
		&SearchOptions{Fields: []string{"state", "ref"}})
	if err != nil {
		return nil, nil, fmt.Errorf("finding the invoices to post: %w", err)
	}
	for _, r := range recs {
		switch st := r.String("state"); {
		case st == "draft" && slices.Contains(refs, r.String("ref")):
			drafts = append(drafts, r.ID())
		case st == "posted" && slices.Contains(known, r.ID()):
			posted = append(posted, r.ID())
		}
	}
	slices.Sort(drafts)
	slices.Sort(posted)
	return drafts, posted, nil
}

// PostInvoices posts the draft invoices ids with one action_post. Odoo
// refuses the whole call, with an error matching [ErrUser], when one of
// them is no longer a draft: look again ([Client.InvoicesToPost]) and post
// what is left.
func (c *Client) PostInvoices(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := c.Execute(ctx, "account.move", "action_post", ids, nil); err != nil {
		return fmt.Errorf("posting invoices %v: %w", ids, err)
	}
	return nil
}
