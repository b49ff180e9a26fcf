package odoo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VendorBill is a vendor bill (account.move with move_type in_invoice).
type VendorBill struct {
	ID int
	// Name is the bill's number, such as BILL/2026/12/0001; "/" or empty
	// until posted.
	Name    string
	State   string // draft, posted or cancel
	Partner Many2One
	// Ref is the bill reference: the vendor's own invoice number.
	Ref string
	// InvoiceDate is the bill date, YYYY-MM-DD; empty when not set.
	InvoiceDate string
	Currency    Many2One
	AmountTotal float64
	// Lines are the bill's product lines, in order; [Client.FindVendorBill]
	// leaves them empty.
	Lines []InvoiceLine
	// Created reports that this call created the bill.
	Created bool
}

var vendorBillFields = []string{"name", "state", "partner_id", "ref", "invoice_date", "currency_id", "amount_total", "invoice_line_ids"}

func vendorBillOf(r Record) VendorBill {
	return VendorBill{ID: r.ID(), Name: r.String("name"), State: r.String("state"), Partner: r.M2O("partner_id"), Ref: r.String("ref"),
		InvoiceDate: r.String("invoice_date"), Currency: r.M2O("currency_id"), AmountTotal: r.Float("amount_total")}
}

// VendorBillLine is a line of a new vendor bill: one charge on a service
// product.
type VendorBillLine struct {
	// ProductID is the service product; or set ServiceCode.
	ProductID int
	// ServiceCode is the default_code of the service product, used when
	// ProductID is 0.
	ServiceCode string
	Description string
	Quantity    float64
	PriceUnit   float64
}

// VendorBillParams describes a vendor bill for [Client.EnsureVendorBill].
type VendorBillParams struct {
	PartnerID int
	// Ref is the vendor's invoice number, the idempotency key: a bill of
	// the partner with this ref, not cancelled, is the bill. Required.
	Ref string
	// Date is the bill date, YYYY-MM-DD; empty takes today's date (UTC),
	// as Odoo needs one to post a bill.
	Date string
	// Currency is the ISO 4217 code of the bill's currency, an active
	// res.currency; empty keeps the company's.
	Currency string
	Lines    []VendorBillLine
	// Post posts the bill (action_post); false leaves it draft.
	Post bool
}

// FindVendorBill returns the newest vendor bill of partner partnerID, not
// cancelled, whose ref is ref, without its lines: one search_read. It
// returns an error matching [ErrNotFound] when there is none.
func (c *Client) FindVendorBill(ctx context.Context, partnerID int, ref string) (VendorBill, error) {
	if partnerID <= 0 || ref == "" {
		return VendorBill{}, invalidInput("finding vendor bill: need a partner and a ref")
	}
	recs, err := c.SearchRead(ctx, "account.move", Domain{Leaf("move_type", "=", "in_invoice"), Leaf("partner_id", "=", partnerID),
		Leaf("ref", "=", ref), Leaf("state", "!=", "cancel")}, &SearchOptions{Fields: vendorBillFields, Limit: 1, Order: "id desc"})
	if err != nil {
		return VendorBill{}, fmt.Errorf("finding vendor bill %q of partner %d: %w", ref, partnerID, err)
	}
	if len(recs) == 0 {
		return VendorBill{}, fmt.Errorf("finding vendor bill %q of partner %d: %w", ref, partnerID, ErrNotFound)
	}
	return vendorBillOf(recs[0]), nil
}

// VendorBill reads vendor bill id with its product lines: two calls. A
// missing bill, or a move that is not a vendor bill, gives an error
// matching [ErrMissing].
func (c *Client) VendorBill(ctx context.Context, id int) (VendorBill, error) {
	recs, err := c.Read(ctx, "account.move", []int{id}, append(slices.Clone(vendorBillFields), "move_type"))
	if err != nil {
		return VendorBill{}, fmt.Errorf("reading vendor bill %d: %w", id, err)
	}
	if len(recs) == 0 || recs[0].String("move_type") != "in_invoice" {
		return VendorBill{}, fmt.Errorf("reading vendor bill %d: %w", id, missing("account.move", id))
	}
	bill := vendorBillOf(recs[0])
	lines, err := c.readChunked(ctx, "account.move.line", recs[0].IDs("invoice_line_ids"),
		[]string{"move_id", "product_id", "name", "quantity", "price_unit", "price_subtotal", "display_type"})
	if err != nil {
		return VendorBill{}, fmt.Errorf("reading the lines of vendor bill %d: %w", id, err)
	}
	for _, r := range lines {
		if dt := r.String("display_type"); dt != "" && dt != "product" {
			continue
		}
		bill.Lines = append(bill.Lines, InvoiceLine{ID: r.ID(), MoveID: id, Product: r.M2O("product_id"), Name: r.String("name"),
			Quantity: r.Float("quantity"), PriceUnit: r.Float("price_unit"), Subtotal: r.Float("price_subtotal")})
	}
	slices.SortFunc(bill.Lines, func(a, b InvoiceLine) int { return a.ID - b.ID })
	return bill, nil
}

// CreateVendorBill creates a draft vendor bill of p, one line per
// p.Lines, without looking for an existing one, and returns its id: a
// search of the service products by code when lines name them, a search
// of the currency when p.Currency is set, and one create. Callers that may
// repeat use [Client.EnsureVendorBill].
func (c *Client) CreateVendorBill(ctx context.Context, p *VendorBillParams) (int, error) {
	if p == nil || p.PartnerID <= 0 || p.Ref == "" || len(p.Lines) == 0 {
		return 0, invalidInput("vendor bill needs a partner, a ref and lines")
	}
	var codes []string
	for i, l := range p.Lines {
		if !(l.Quantity > 0) {
			return 0, invalidInput("vendor bill line %d: quantity %g must be positive", i, l.Quantity)
		}
		if l.ProductID <= 0 {
			if l.ServiceCode == "" {
				return 0, invalidInput("vendor bill line %d: needs a product id or a service code", i)
			}
			codes = append(codes, l.ServiceCode)
		}
	}
	products := map[string]int{}
	if len(codes) > 0 {
		recs, err := c.SearchRead(ctx, "product.product", Domain{Leaf("default_code", "in", uniqStrings(codes))},
			&SearchOptions{Fields: []string{"default_code"}})
		if err != nil {
			return 0, fmt.Errorf("finding service products: %w", err)
		}
		for _, r := range recs {
			if _, dup := products[r.String("default_code")]; !dup {
				products[r.String("default_code")] = r.ID()
			}
		}
	}
	date := p.Date
	if date == "" {
		date = time.Now().UTC().Format(time.DateOnly)
	}
	vals := map[string]any{"move_type": "in_invoice", "partner_id": p.PartnerID, "ref": p.Ref, "invoice_date": date}
	if p.Currency != "" {
		ids, err := c.Search(ctx, "res.currency", Domain{Leaf("name", "=", strings.ToUpper(p.Currency))}, &SearchOptions{Limit: 1})
		if err != nil {
			return 0, fmt.Errorf("finding currency %s: %w", p.Currency, err)
		}
		if len(ids) == 0 {
			return 0, classify(&Error{Kind: KindMissing, Model: "res.currency", Message: fmt.Sprintf("no active currency %s", p.Currency)})
		}
		vals["currency_id"] = ids[0]
	}
	lines := make([]any, 0, len(p.Lines))
	for _, l := range p.Lines {
		pid := l.ProductID
		if pid <= 0 {
			if pid = products[l.ServiceCode]; pid == 0 {
				return 0, classify(&Error{Kind: KindMissing, Model: "product.product", Message: fmt.Sprintf("no product with code %q", l.ServiceCode)})
			}
		}
		v := map[string]any{"product_id": pid, "quantity": l.Quantity, "price_unit": l.PriceUnit}
		if d := strings.TrimSpace(l.Description); d != "" {
			v["name"] = d
		}
		lines = append(lines, []any{0, 0, v})
	}
	vals["invoice_line_ids"] = lines
	ids, err := c.Create(ctx, "account.move", []map[string]any{vals}, nil)
	if err != nil {
		return 0, fmt.Errorf("creating vendor bill %q: %w", p.Ref, err)
	}
	return ids[0], nil
}

// EnsureVendorBill returns the vendor bill of p.PartnerID with ref p.Ref,
// creating it if there is none, and posts it when p.Post and it is draft.
// It looks before it creates, so it is safe to repeat after any error,
// including one wrapping [connector.ErrOutcomeUnknown]: the bill a lost
// reply created is found. Calls: the search, the create's (see
// [Client.CreateVendorBill]) when there is no bill, action_post when
// posting, and the read of the bill with its lines (two).
func (c *Client) EnsureVendorBill(ctx context.Context, p *VendorBillParams) (VendorBill, error) {
	if p == nil || p.PartnerID <= 0 || p.Ref == "" || len(p.Lines) == 0 {
		return VendorBill{}, invalidInput("vendor bill needs a partner, a ref and lines")
	}
	bill, err := c.FindVendorBill(ctx, p.PartnerID, p.Ref)
	created := false
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		id, err := c.CreateVendorBill(ctx, p)
		if err != nil {
			return VendorBill{}, err
		}
		bill, created = VendorBill{ID: id, State: "draft"}, true
	default:
		return VendorBill{}, err
	}
	if p.Post && bill.State == "draft" {
		if _, err := c.Execute(ctx, "account.move", "action_post", []int{bill.ID}, nil); err != nil {
			return VendorBill{}, fmt.Errorf("posting vendor bill %d: %w", bill.ID, err)
		}
	}
	out, err := c.VendorBill(ctx, bill.ID)
	if err != nil {
		return VendorBill{}, err
	}
	out.Created = created
	return out, nil
}
