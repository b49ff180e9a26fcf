package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"
	"time"
)

// SaleOrder is a sale.order as the hub sees it.
type SaleOrder struct {
	ID        int
	Name      string
	State     string
	Partner   Many2One
	ClientRef string
	Origin    string
	// DeliveryStatus is pending, started, partial or full; "" before
	// confirmation or when the version lacks it.
	DeliveryStatus string
	InvoiceStatus  string
	PickingIDs     []int
	InvoiceIDs     []int
	LineIDs        []int
}

func (c *Client) saleOrderFields() []string {
	f := []string{"name", "state", "partner_id", "client_order_ref", "origin", "invoice_status", "picking_ids", "invoice_ids", "order_line"}
	if c.profile.HasDeliveryStatus {
		f = append(f, "delivery_status")
	}
	return f
}

func saleOrderOf(r Record) SaleOrder {
	return SaleOrder{
		ID: r.ID(), Name: r.String("name"), State: r.String("state"), Partner: r.M2O("partner_id"),
		ClientRef: r.String("client_order_ref"), Origin: r.String("origin"), DeliveryStatus: r.String("delivery_status"),
		InvoiceStatus: r.String("invoice_status"), PickingIDs: r.IDs("picking_ids"), InvoiceIDs: r.IDs("invoice_ids"),
		LineIDs: r.IDs("order_line"),
	}
}

// SaleOrder reads sale order id. A missing order gives an error matching
// [ErrMissing].
func (c *Client) SaleOrder(ctx context.Context, id int) (SaleOrder, error) {
	recs, err := c.Read(ctx, "sale.order", []int{id}, c.saleOrderFields())
	if err != nil {
		return SaleOrder{}, fmt.Errorf("reading sale order %d: %w", id, err)
	}
	if len(recs) == 0 {
		return SaleOrder{}, fmt.Errorf("reading sale order %d: %w", id, missing("sale.order", id))
	}
	return saleOrderOf(recs[0]), nil
}

// SaleLine is a product line of a new sale order.
type SaleLine struct {
	ProductID int
	Quantity  float64
	// PriceUnit is the unit price; zero keeps the pricelist price.
	PriceUnit float64
}

// SaleOrderParams describes a sale order for [Client.EnsureSaleOrder].
type SaleOrderParams struct {
	PartnerID int
	// ClientRef is the customer reference (client_order_ref), the
	// idempotency key: an order of the partner with this reference is
	// reused. Required.
	ClientRef string
	Lines     []SaleLine
	// CarrierID sets the delivery carrier; 0 leaves it empty.
	CarrierID int
	// Confirm confirms the order (action_confirm), which creates its
	// pickings.
	Confirm bool
}

// EnsureSaleOrder returns the sale order of p.PartnerID with reference
// p.ClientRef, creating it (and confirming it when p.Confirm) if there is
// none. Safe to repeat.
func (c *Client) EnsureSaleOrder(ctx context.Context, p *SaleOrderParams) (SaleOrder, error) {
	if p == nil || p.PartnerID <= 0 || p.ClientRef == "" || len(p.Lines) == 0 {
		return SaleOrder{}, invalidInput("sale order needs a partner, a client reference and lines")
	}
	recs, err := c.SearchRead(ctx, "sale.order",
		Domain{Leaf("client_order_ref", "=", p.ClientRef), Leaf("partner_id", "=", p.PartnerID), Leaf("state", "!=", "cancel")},
		&SearchOptions{Fields: c.saleOrderFields(), Limit: 1})
	if err != nil {
		return SaleOrder{}, fmt.Errorf("finding sale order %q: %w", p.ClientRef, err)
	}
	var so SaleOrder
	if len(recs) > 0 {
		so = saleOrderOf(recs[0])
	} else {
		lines := make([]any, 0, len(p.Lines))
		for _, l := range p.Lines {
			v := map[string]any{"product_id": l.ProductID, "product_uom_qty": l.Quantity}
			if l.PriceUnit != 0 {
				v["price_unit"] = l.PriceUnit
			}
			lines = append(lines, []any{0, 0, v})
		}
		vals := map[string]any{"partner_id": p.PartnerID, "client_order_ref": p.ClientRef, "order_line": lines}
		if p.CarrierID > 0 {
			vals["carrier_id"] = p.CarrierID
		}
		ids, err := c.Create(ctx, "sale.order", []map[string]any{vals}, nil)
		if err != nil {
			return SaleOrder{}, fmt.Errorf("creating sale order %q: %w", p.ClientRef, err)
		}
		so = SaleOrder{ID: ids[0], State: "draft"}
	}
	if p.Confirm && (so.State == "draft" || so.State == "sent") {
		if _, err := c.Execute(ctx, "sale.order", "action_confirm", []int{so.ID}, nil); err != nil {
			return SaleOrder{}, fmt.Errorf("confirming sale order %d: %w", so.ID, err)
		}
	} else if len(recs) > 0 {
		return so, nil
	}
	return c.SaleOrder(ctx, so.ID)
}

// ChargeLine is a freight or accessorial charge to add to a sale order.
type ChargeLine struct {
	// ProductID is the service product; or set ServiceCode.
	ProductID int
	// ServiceCode is the default_code of the service product, used when
	// ProductID is 0.
	ServiceCode string
	Quantity    float64
	PriceUnit   float64
	Description string
	// Ref identifies the charge across retries; it is stored in the line's
	// description as "[Ref]". Required.
	Ref string
}

// chargeMarker is how a charge reference appears in a line's name.
func chargeMarker(ref string) string { return "[" + ref + "]" }

// AddChargeLines adds charge lines to sale order soID and returns the ids of
// the order lines that carry them, in the order of lines. A line whose Ref
// already appears on the order is not added again, so the call can be
// repeated safely. Three calls at most: the order's lines, the service
// products by code, and one create for all new lines.
func (c *Client) AddChargeLines(ctx context.Context, soID int, lines []ChargeLine) ([]int, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	var codes []string
	for i, l := range lines {
		if l.Ref == "" || strings.ContainsAny(l.Ref, "[]") {
			return nil, invalidInput("charge line %d: ref %q must be set and free of brackets", i, l.Ref)
		}
		if !(l.Quantity > 0) {
			return nil, invalidInput("charge line %d (%s): quantity %g must be positive", i, l.Ref, l.Quantity)
		}
		if l.ProductID <= 0 {
			if l.ServiceCode == "" {
				return nil, invalidInput("charge line %d (%s): needs a product id or a service code", i, l.Ref)
			}
			codes = append(codes, l.ServiceCode)
		}
	}
	existing, err := c.SearchRead(ctx, "sale.order.line", Domain{Leaf("order_id", "=", soID)}, &SearchOptions{Fields: []string{"name"}})
	if err != nil {
		return nil, fmt.Errorf("reading lines of sale order %d: %w", soID, err)
	}
	products := map[string]int{}
	if len(codes) > 0 {
		recs, err := c.SearchRead(ctx, "product.product", Domain{Leaf("default_code", "in", uniqStrings(codes))},
			&SearchOptions{Fields: []string{"default_code"}})
		if err != nil {
			return nil, fmt.Errorf("finding service products: %w", err)
		}
		for _, r := range recs {
			if _, dup := products[r.String("default_code")]; !dup {
				products[r.String("default_code")] = r.ID()
			}
		}
	}
	out := make([]int, len(lines))
	var vals []map[string]any
	var slots []int
	for i, l := range lines {
		if idx := slices.IndexFunc(existing, func(r Record) bool { return strings.Contains(r.String("name"), chargeMarker(l.Ref)) }); idx >= 0 {
			out[i] = existing[idx].ID()
			continue
		}
		if slices.ContainsFunc(lines[:i], func(o ChargeLine) bool { return o.Ref == l.Ref }) {
			return nil, invalidInput("charge line %d: ref %q repeated", i, l.Ref)
		}
		pid := l.ProductID
		if pid <= 0 {
			pid = products[l.ServiceCode]
			if pid == 0 {
				return nil, classify(&Error{Kind: KindMissing, Model: "product.product", Message: fmt.Sprintf("no product with code %q", l.ServiceCode)})
			}
		}
		desc := strings.TrimSpace(l.Description)
		if desc == "" {
			desc = cmpOr(l.ServiceCode, "Charge")
		}
		vals = append(vals, map[string]any{
			"order_id": soID, "product_id": pid, "product_uom_qty": l.Quantity,
			"price_unit": l.PriceUnit, "name": desc + " " + chargeMarker(l.Ref),
		})
		slots = append(slots, i)
	}
	if len(vals) > 0 {
		ids, err := c.Create(ctx, "sale.order.line", vals, nil)
		if err != nil {
			return nil, fmt.Errorf("adding charge lines to sale order %d: %w", soID, err)
		}
		for j, id := range ids {
			out[slots[j]] = id
		}
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Invoice is a customer invoice (account.move).
type Invoice struct {
	ID             int
	Name           string // false (empty) until posted
	State          string // draft, posted or cancel
	MoveType       string
	Partner        Many2One
	Ref            string
	Origin         string // invoice_origin: the sale order name
	PaymentState   string
	InvoiceDate    time.Time
	AmountTotal    float64
	AmountResidual float64
	// Created reports that this call created the invoice.
	Created bool
}

var invoiceFields = []string{"name", "state", "move_type", "partner_id", "ref", "invoice_origin", "payment_state",
	"invoice_date", "amount_total", "amount_residual"}

func invoiceOf(r Record) Invoice {
	return Invoice{
		ID: r.ID(), Name: r.String("name"), State: r.String("state"), MoveType: r.String("move_type"),
		Partner: r.M2O("partner_id"), Ref: r.String("ref"), Origin: r.String("invoice_origin"),
		PaymentState: r.String("payment_state"), InvoiceDate: r.Time("invoice_date"),
		AmountTotal: r.Float("amount_total"), AmountResidual: r.Float("amount_residual"),
	}
}

// FindInvoice returns the newest customer invoice or credit note, not
// cancelled, whose ref or invoice_origin is refOrOrigin. It returns an
// error matching [ErrNotFound] when there is none.
func (c *Client) FindInvoice(ctx context.Context, refOrOrigin string) (Invoice, error) {
	if refOrOrigin == "" {
		return Invoice{}, invalidInput("finding invoice: empty reference")
	}
	recs, err := c.SearchRead(ctx, "account.move", Domain{
		"|", Leaf("ref", "=", refOrOrigin), Leaf("invoice_origin", "=", refOrOrigin),
		Leaf("move_type", "in", []string{"out_invoice", "out_refund"}), Leaf("state", "!=", "cancel"),
	}, &SearchOptions{Fields: invoiceFields, Limit: 1, Order: "id desc"})
	if err != nil {
		return Invoice{}, fmt.Errorf("finding invoice %q: %w", refOrOrigin, err)
	}
	if len(recs) == 0 {
		return Invoice{}, fmt.Errorf("finding invoice %q: %w", refOrOrigin, ErrNotFound)
	}
	return invoiceOf(recs[0]), nil
}

// InvoiceDelivered invoices the delivered, not yet invoiced quantities of
// sale order soID through the sale.advance.payment.inv wizard (method
// "delivered"), sets the invoice's ref and, when post, posts it.
//
// ref is the idempotency key. Before creating anything it looks at the
// order's invoices: one with this ref is taken as is (and posted if asked
// and still draft); a draft one whose ref is empty or the order's customer
// reference, as a create_invoices call whose reply was lost leaves it, is
// adopted. So the call is safe to repeat after any error, including one
// wrapping [connector.ErrOutcomeUnknown], and never makes a second
// invoice. Nothing to invoice gives a permanent error matching [ErrUser].
func (c *Client) InvoiceDelivered(ctx context.Context, soID int, ref string, post bool) (Invoice, error) {
	return c.invoiceDelivered(ctx, soID, ref, post, false)
}

// InvoiceDeliveredFirst is [Client.InvoiceDelivered] for a ref that no
// earlier call has tried to invoice, which the caller knows from a durable
// record of its own made before this call (such as sqldb.DB.Start): as no
// invoice can carry the ref yet, it creates one without reading the order
// and its invoices first, which saves a call. Should the wizard make an
// invoice it cannot tell (Odoo 16 closing the window instead of opening
// it), it fails with an error matching [connector.ErrOutcomeUnknown]: the
// next try, no longer the first, finds and adopts that invoice.
func (c *Client) InvoiceDeliveredFirst(ctx context.Context, soID int, ref string, post bool) (Invoice, error) {
	return c.invoiceDelivered(ctx, soID, ref, post, true)
}

func (c *Client) invoiceDelivered(ctx context.Context, soID int, ref string, post, first bool) (Invoice, error) {
	if ref == "" {
		return Invoice{}, invalidInput("invoicing sale order %d: empty ref", soID)
	}
	var inv Invoice
	found := false
	so := SaleOrder{ID: soID, Name: fmt.Sprintf("sale order %d", soID)}
	if !first {
		var err error
		if so, err = c.SaleOrder(ctx, soID); err != nil {
			return Invoice{}, fmt.Errorf("invoicing sale order %d: %w", soID, err)
		}
		if inv, found, err = c.findOrderInvoice(ctx, so, ref); err != nil {
			return Invoice{}, fmt.Errorf("invoicing sale order %d: %w", soID, err)
		}
	}
	if !found {
		id, err := c.createInvoice(ctx, so, !first)
		if err != nil {
			return Invoice{}, fmt.Errorf("invoicing sale order %d: %w", soID, err)
		}
		inv = Invoice{ID: id, State: "draft", Created: true}
		// Odoo copies the order's customer reference into ref; unread,
		// it is taken to differ from ref, which is written.
		inv.Ref = so.ClientRef
	}
	if inv.Ref != ref {
		if err := c.Write(ctx, "account.move", []int{inv.ID}, map[string]any{"ref": ref}); err != nil {
			return Invoice{}, fmt.Errorf("invoicing sale order %d: setting ref of invoice %d: %w", soID, inv.ID, err)
		}
	}
	if post && inv.State == "draft" {
		if _, err := c.Execute(ctx, "account.move", "action_post", []int{inv.ID}, nil); err != nil {
			return Invoice{}, fmt.Errorf("invoicing sale order %d: posting invoice %d: %w", soID, inv.ID, err)
		}
	}
	recs, err := c.Read(ctx, "account.move", []int{inv.ID}, invoiceFields)
	if err != nil {
		return Invoice{}, fmt.Errorf("invoicing sale order %d: reading invoice %d: %w", soID, inv.ID, err)
	}
	if len(recs) == 0 {
		return Invoice{}, fmt.Errorf("invoicing sale order %d: %w", soID, missing("account.move", inv.ID))
	}
	out := invoiceOf(recs[0])
	out.Created = inv.Created
	return out, nil
}

// findOrderInvoice looks for the invoice of so that ref identifies, or a
// draft one to adopt.
func (c *Client) findOrderInvoice(ctx context.Context, so SaleOrder, ref string) (Invoice, bool, error) {
	if len(so.InvoiceIDs) == 0 {
		return Invoice{}, false, nil
	}
	recs, err := c.Read(ctx, "account.move", so.InvoiceIDs, invoiceFields)
	if err != nil {
		return Invoice{}, false, fmt.Errorf("reading invoices of %s: %w", so.Name, err)
	}
	var adopt *Invoice
	for _, r := range recs {
		inv := invoiceOf(r)
		if inv.State == "cancel" || inv.MoveType != "out_invoice" {
			continue
		}
		if inv.Ref == ref {
			return inv, true, nil
		}
		if adopt == nil && inv.State == "draft" && (inv.Ref == "" || inv.Ref == so.ClientRef) {
			adopt = &inv
		}
	}
	if adopt != nil {
		return *adopt, true, nil
	}
	return Invoice{}, false, nil
}

// createInvoice runs the invoicing wizard for so and returns the new
// invoice id. read says so's invoices were read before the call: without
// them a new invoice the reply does not name cannot be told apart.
func (c *Client) createInvoice(ctx context.Context, so SaleOrder, read bool) (int, error) {
	// open_invoices makes 16 answer with the invoice action instead of
	// closing the window; 17+ always do.
	wctx := map[string]any{"active_model": "sale.order", "active_ids": []int{so.ID}, "active_id": so.ID, "open_invoices": true}
	ids, err := c.Create(ctx, "sale.advance.payment.inv", []map[string]any{{
		"advance_payment_method": "delivered",
		"sale_order_ids":         []any{[]any{6, 0, []int{so.ID}}},
	}}, &CallOptions{Context: wctx})
	if err != nil {
		return 0, fmt.Errorf("creating the invoicing wizard: %w", err)
	}
	res, err := c.Execute(ctx, "sale.advance.payment.inv", "create_invoices", ids, &CallOptions{Context: wctx})
	if err != nil {
		return 0, fmt.Errorf("creating the invoice: %w", err)
	}
	if act, ok := decodeAction(res); ok && act.ResModel == "account.move" && act.ResID > 0 {
		return act.ResID, nil
	}
	// 16 may close the window instead of opening the invoice: look at the
	// order's invoices again.
	if !read {
		return 0, classify(&Error{Kind: KindOutcomeUnknown, Model: "sale.advance.payment.inv", Method: "create_invoices",
			Message: fmt.Sprintf("the reply does not name the invoice of %s; the next try looks for it", so.Name)})
	}
	after, err := c.SaleOrder(ctx, so.ID)
	if err != nil {
		return 0, err
	}
	var fresh []int
	for _, id := range after.InvoiceIDs {
		if !slices.Contains(so.InvoiceIDs, id) {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return 0, conflict("sale.advance.payment.inv", "create_invoices made no invoice for %s", so.Name)
	}
	return slices.Max(fresh), nil
}

// PostMessage posts body as an internal note in the chatter of record id of
// model and returns the message id. body is plain text. Before posting it
// looks for a message with the same text on the record, so a repeat after a
// lost reply does not post twice; if the server does not let it search
// mail.message it posts anyway (at least once).
func (c *Client) PostMessage(ctx context.Context, model string, id int, body string) (int, error) {
	if model == "" || id <= 0 || strings.TrimSpace(body) == "" {
		return 0, invalidInput("posting message: need a model, a record id and a body")
	}
	found, err := c.SearchRead(ctx, "mail.message", Domain{
		Leaf("model", "=", model), Leaf("res_id", "=", id), Leaf("body", "ilike", html.EscapeString(body)),
	}, &SearchOptions{Fields: []string{"id"}, Limit: 1, Order: "id desc"})
	if err == nil && len(found) > 0 {
		return found[0].ID(), nil
	}
	if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUser) && !errors.Is(err, ErrAccessError) {
		return 0, fmt.Errorf("posting message on %s(%d): looking for a previous post: %w", model, id, err)
	}
	return c.postNote(ctx, model, id, body)
}

// postNote posts body as an internal note on record id of model without
// looking for it first: for records the caller knows are new.
func (c *Client) postNote(ctx context.Context, model string, id int, body string) (int, error) {
	res, err := c.Execute(ctx, model, "message_post", []int{id}, &CallOptions{Kwargs: map[string]any{
		"body": body, "message_type": "comment", "subtype_xmlid": "mail.mt_note",
	}})
	if err != nil {
		return 0, fmt.Errorf("posting message on %s(%d): %w", model, id, err)
	}
	ids, ok := decodeIDs(res)
	if !ok || len(ids) == 0 {
		return 0, fmt.Errorf("posting message on %s(%d): %w", model, id, decodeError(model, "message_post", fmt.Errorf("result %s", snippet(res))))
	}
	return ids[0], nil
}

// PostMessages posts the bodies that are not on record id of model yet as
// one internal note, one body a line, and returns how many it posted. A
// body counts as posted when an existing message contains its key: the
// text from marker to the following "]" (such as "[wb:0193…]"), else the
// text between its first "[" and the following "]", else the whole body.
// A combined note carries every key, so each body in it is found later.
//
// The first time for a record it searches the record's messages
// containing marker; the client then remembers what it found and posted
// there, so later calls for that record and marker only post (one call).
// Any failure makes it search again next time, so a note whose reply was
// lost is found rather than posted again.
func (c *Client) PostMessages(ctx context.Context, model string, id int, bodies []string, marker string) (int, error) {
	if model == "" || id <= 0 || marker == "" {
		return 0, invalidInput("posting messages: need a model, a record id and a marker")
	}
	if len(bodies) == 0 {
		return 0, nil
	}
	key := noteKey{model: model, id: id, marker: marker}
	existing, ok := c.notes.get(key)
	if !ok {
		found, err := c.SearchRead(ctx, "mail.message", Domain{
			Leaf("model", "=", model), Leaf("res_id", "=", id), Leaf("body", "ilike", html.EscapeString(marker)),
		}, &SearchOptions{Fields: []string{"body"}})
		if err != nil {
			return 0, fmt.Errorf("posting messages on %s(%d): reading earlier ones: %w", model, id, err)
		}
		for _, r := range found {
			existing = append(existing, html.UnescapeString(r.String("body")))
		}
	}
	var todo []string
	for _, body := range bodies {
		k := noteID(body, marker)
		posted := func(e string) bool { return strings.Contains(e, k) }
		if slices.ContainsFunc(existing, posted) || slices.ContainsFunc(todo, posted) {
			continue
		}
		todo = append(todo, body)
	}
	if len(todo) == 0 {
		c.notes.put(key, existing)
		return 0, nil
	}
	note := strings.Join(todo, "\n")
	if _, err := c.Execute(ctx, model, "message_post", []int{id}, &CallOptions{Kwargs: map[string]any{
		"body": note, "message_type": "comment", "subtype_xmlid": "mail.mt_note",
	}}); err != nil {
		c.notes.drop(key)
		return 0, fmt.Errorf("posting message on %s(%d): %w", model, id, err)
	}
	c.notes.put(key, append(existing, note))
	return len(todo), nil
}

// noteID is what identifies body among the notes of a record: the key
// that starts with marker, else its first bracketed text, else all of it.
func noteID(body, marker string) string {
	if i := strings.Index(body, marker); i >= 0 {
		if j := strings.IndexByte(body[i:], ']'); j > 0 {
			return body[i : i+j+1]
		}
	}
	if i := strings.IndexByte(body, '['); i >= 0 {
		if j := strings.IndexByte(body[i:], ']'); j > 0 {
			return body[i : i+j+1]
		}
	}
	return body
}

// PrefetchNotes reads, in one search, the notes containing marker on the
// records ids of model whose notes the client does not know yet, so that
// [Client.PostMessages] on them needs no search of its own: the poller
// calls it for the pickings it reads, which costs one call for a page of
// new pickings and none for pickings seen before. What it read is kept
// only if no note was posted (or failed to post) meanwhile.
func (c *Client) PrefetchNotes(ctx context.Context, model string, ids []int, marker string) error {
	var todo []int
	for _, id := range uniq(ids) {
		if _, ok := c.notes.get(noteKey{model: model, id: id, marker: marker}); !ok && id > 0 {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 || model == "" || marker == "" {
		return nil
	}
	gen := c.notes.generation()
	found, err := c.SearchRead(ctx, "mail.message", Domain{
		Leaf("model", "=", model), Leaf("res_id", "in", todo), Leaf("body", "ilike", html.EscapeString(marker)),
	}, &SearchOptions{Fields: []string{"res_id", "body"}})
	if err != nil {
		return fmt.Errorf("reading the notes of %d %s records: %w", len(todo), model, err)
	}
	byID := make(map[int][]string, len(todo))
	for _, id := range todo {
		byID[id] = nil
	}
	for _, r := range found {
		var id int
		if json.Unmarshal(r["res_id"], &id) == nil {
			if _, ok := byID[id]; ok {
				byID[id] = append(byID[id], html.UnescapeString(r.String("body")))
			}
		}
	}
	c.notes.fill(gen, model, marker, byID)
	return nil
}

// noteCache remembers, per record and marker, the notes known to be
// posted there. It forgets everything once it holds noteCacheMax records,
// which only costs a search each. gen counts the changes PostMessages
// makes, so a prefetch can tell it raced with one.
type noteCache struct {
	mu  sync.Mutex
	m   map[noteKey][]string
	gen uint64
}

func (n *noteCache) generation() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen
}

// fill remembers the notes found per record, unless PostMessages changed
// anything since generation gen; records already known are left alone.
func (n *noteCache) fill(gen uint64, model, marker string, byID map[int][]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.gen != gen {
		return
	}
	if n.m == nil || len(n.m)+len(byID) > noteCacheMax {
		n.m = make(map[noteKey][]string)
	}
	for id, notes := range byID {
		k := noteKey{model: model, id: id, marker: marker}
		if _, ok := n.m[k]; !ok {
			n.m[k] = notes
		}
	}
}

type noteKey struct {
	model  string
	id     int
	marker string
}

const noteCacheMax = 10000

func (n *noteCache) get(k noteKey) ([]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.m[k]
	return slices.Clone(v), ok
}

func (n *noteCache) put(k noteKey, v []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil || len(n.m) >= noteCacheMax {
		n.m = make(map[noteKey][]string)
	}
	n.m[k] = v
	n.gen++
}

func (n *noteCache) drop(k noteKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.m, k)
	n.gen++
}
