package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

// ConnectorOptions configures a [Connector].
type ConnectorOptions struct {
	// System is the cross-reference system whose external ids are Odoo
	// names: a shipment referenced as System:WH/OUT/00012 is delivered by
	// that picking, an order System:S00042 is that sale order. Required.
	System string
	// Backorder is what validating a partly loaded picking does with the
	// remainder.
	Backorder BackorderPolicy
	// PostInvoices posts the invoices it creates; false leaves them draft.
	PostInvoices bool
	// Policies override Backorder and PostInvoices per customer and
	// warehouse; the first that matches a shipment applies.
	Policies []Policy
	// ServiceProducts maps a charge type (detention, liftgate…) to the
	// default_code of the Odoo service product that bills it. A charge whose
	// type is not in the map is billed with the product whose default_code
	// is the charge's code.
	ServiceProducts map[string]string
	// OnInvoiced, when set, is told about the invoice of each shipment
	// invoiced (or found invoiced): the hub records it on the shipment. An
	// error from it makes the job retry, which finds the same invoice.
	OnInvoiced func(ctx context.Context, a *connector.Action, inv Invoice) error
	// OnValidated, when set, is told about the picking of each shipment
	// validated (or found validated): the hub records it on the shipment,
	// whose invoice waits for it. An error from it makes the job retry,
	// which finds the picking validated.
	OnValidated func(ctx context.Context, a *connector.Action, p Picking, res ValidateResult) error
	// OnTakeBackFailed, when set, is told about each approved exception
	// whose goods Odoo cannot take back as asked, such as damaged goods
	// that are not in stock where they came back to (Odoo refuses the
	// scrap, and Waybill does not force stock negative), with the reason
	// for a person to act on: the hub opens a review item. The job then
	// completes. An error from it makes the job retry, which meets the
	// same refusal. When nil, such a refusal fails the job permanently.
	OnTakeBackFailed func(ctx context.Context, a *connector.Action, exceptionID, reason string) error
	// Xrefs returns a shipment's cross-references. Required.
	Xrefs func(ctx context.Context, shipmentID string) ([]shipment.Xref, error)
	// Shipment, when set, returns a shipment as stored now. A milestone
	// sync notes the milestones and exceptions of that, the latest state,
	// rather than of the snapshot its job carries, so the first sync of a
	// burst notes them all and the others find theirs noted. When nil, or
	// when it fails, the snapshot is used, which notes no less.
	Shipment func(ctx context.Context, id string) (*shipment.Shipment, error)
	// StartInvoice, when set, durably records that invoicing the invoice
	// reference ref starts, before any call, and reports whether this is
	// the first start ever for it: a first start creates the invoice
	// without looking for one of its own first (one call fewer), as none
	// can exist. When nil every start looks.
	StartInvoice func(ctx context.Context, ref string) (first bool, err error)
	// OnBilled, when set, is told about the vendor bill of each approved
	// carrier invoice billed (or found billed): the hub records it on the
	// freight audit. An error from it makes the job retry, which finds
	// the same bill.
	OnBilled func(ctx context.Context, a *connector.Action, req shipment.CarrierBill, bill VendorBill) error
	// PostBills posts the vendor bills it creates; false leaves them draft.
	PostBills bool
	// MilestoneSyncWindow is how long a milestone sync waits after it is
	// first tried before it notes anything (connector.Waiting, which spends
	// no attempt), so the milestones reported with its own go out in the
	// same note. Syncs scheduled by the workflow (a NotBefore) and those of
	// a shipment with an open exception do not wait. 0 waits for nothing.
	MilestoneSyncWindow time.Duration
}

// Policy overrides the backorder and invoicing policy for the shipments
// it matches. An empty Customer or Warehouse matches every shipment; a nil
// Backorder or Post keeps the connector's own.
type Policy struct {
	// Customer is the shipment's customer ref, such as
	// odoo:res.partner/42.
	Customer string
	// Warehouse is the code the origin location's name starts with, such
	// as WH for WH/Stock.
	Warehouse string
	Backorder *BackorderPolicy
	Post      *bool
}

func (p Policy) matches(sh *shipment.Shipment) bool {
	if p.Customer != "" && (sh.Customer == nil || sh.Customer.Ref != p.Customer) {
		return false
	}
	if p.Warehouse != "" {
		if sh.Origin == nil {
			return false
		}
		name := sh.Origin.Name
		if name != p.Warehouse && !strings.HasPrefix(name, p.Warehouse+"/") {
			return false
		}
	}
	return true
}

// policy returns the backorder policy and whether to post invoices for sh.
func (c *Connector) policy(sh *shipment.Shipment) (BackorderPolicy, bool) {
	backorder, post := c.opts.Backorder, c.opts.PostInvoices
	for _, p := range c.opts.Policies {
		if !p.matches(sh) {
			continue
		}
		if p.Backorder != nil {
			backorder = *p.Backorder
		}
		if p.Post != nil {
			post = *p.Post
		}
		break
	}
	return backorder, post
}

// Connector performs workflow actions in Odoo. It implements
// connector.Connector for these kinds:
//
//   - shipment.ActionPickingValidate: validate the picking of a loaded
//     shipment with the quantities and lots actually loaded;
//   - shipment.ActionInvoicePrepare: add the shipment's charges to its sale
//     order and invoice the delivered quantities, once the picking is
//     validated (or credit what came back after an invoice);
//   - shipment.ActionPickingReturn and shipment.ActionStockScrap: take back
//     refused, returned or damaged goods of approved exceptions, and scrap
//     damaged ones;
//   - shipment.ActionMilestoneSync: post milestones and exceptions on the
//     picking's chatter and set the tracking reference;
//   - shipment.ActionVendorBillCreate: bill an approved carrier freight
//     invoice as one vendor bill of the carrier's partner.
//
// It connects lazily: the first action (or [Connector.Connect]) builds the
// [Client], so the hub starts and keeps accepting events while Odoo is
// down; actions fail with retryable errors until Odoo answers.
//
// Every action is safe to repeat. The client's operations search before
// they create and re-read before they retry after a lost reply, so a job
// that runs again after a crash or a timeout finds its own work done and
// does not validate or invoice twice.
type Connector struct {
	cfg  Config
	opts ConnectorOptions

	mu     sync.Mutex
	client *Client

	// shipments serialises the actions of one shipment. Two jobs of a
	// shipment running at once (a milestone sync and the invoice, a return
	// and a scrap) could otherwise both look for a note, a return or a
	// scrap, both find none, and both create it. One process serves a
	// database (sqldb.Claim), so an in-process lock is enough.
	shipments keyedMutex

	// pickings remembers which picking delivers a shipment (shipment id →
	// picking id): once found it does not change, and finding it can take
	// several calls.
	pickings sync.Map

	// tracking remembers the carrier tracking reference each picking was
	// found or set with (picking id → reference), so milestone syncs do
	// not read the picking to compare.
	tracking sync.Map

	// products remembers product ids by SKU (default_code); an id that is
	// not on the picking it should be is looked up again.
	products sync.Map
	// productReads shares a product lookup between the validations that
	// need the same SKUs at the same time.
	productReads singleflight.Group

	// waiting holds the picking notes of the milestone syncs waiting for
	// their shipment's lock, so the action holding it posts them with its
	// own note: a burst of milestones (and the validation they come with)
	// costs one message_post.
	waiting waitingNotes

	// windows are the milestone syncs waiting for their window to end.
	windows syncWindows
}

// waitingNotes are picking notes by shipment id.
type waitingNotes struct {
	mu sync.Mutex
	m  map[string][]string
}

// add holds notes for shipment id until the returned func drops them.
func (w *waitingNotes) add(id string, notes []string) (drop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string][]string{}
	}
	w.m[id] = append(w.m[id], notes...)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		left := w.m[id]
		for _, n := range notes {
			if i := slices.Index(left, n); i >= 0 {
				left = slices.Delete(left, i, i+1)
			}
		}
		if len(left) == 0 {
			delete(w.m, id)
		} else {
			w.m[id] = left
		}
	}
}

// with returns notes followed by the notes held for shipment id that are
// not among them.
func (w *waitingNotes) with(id string, notes []string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(notes)
	for _, n := range w.m[id] {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// keyedMutex is a mutex per key, dropped when nobody holds or waits for it.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// NewConnector returns a Connector for the Odoo that cfg describes. It does
// not contact Odoo.
func NewConnector(cfg Config, opts ConnectorOptions) (*Connector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.System == "" {
		return nil, errors.New("odoo connector: empty cross-reference system")
	}
	if opts.Xrefs == nil {
		return nil, errors.New("odoo connector: no cross-reference lookup")
	}
	return &Connector{cfg: cfg, opts: opts, windows: syncWindows{window: opts.MilestoneSyncWindow, now: time.Now}}, nil
}

// Name returns "odoo".
func (c *Connector) Name() string { return "odoo" }

// Connect builds the client if it is not built yet: it detects the Odoo
// version and logs in. Deliver calls it; call it at start-up to find a
// wrong URL or key early.
func (c *Connector) Connect(ctx context.Context) (*Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	cl, err := New(ctx, c.cfg)
	if err != nil {
		return nil, err
	}
	c.client = cl
	return cl, nil
}

// Close closes the client, if one was built. It is idempotent.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil
	}
	return c.client.Close()
}

// Deliver performs one attempt of a. Its payload is the shipment as the
// state change left it.
func (c *Connector) Deliver(ctx context.Context, a *connector.Action) error {
	if err := a.Validate(); err != nil {
		return connector.Permanent(err)
	}
	if a.Kind == shipment.ActionVendorBillCreate {
		return c.vendorBill(ctx, a)
	}
	var sh shipment.Shipment
	if err := json.Unmarshal(a.Payload, &sh); err != nil || sh.ID == "" {
		return connector.Permanent(fmt.Errorf("odoo %s: payload is not a shipment: %v", a.Kind, err))
	}
	if a.Kind == shipment.ActionMilestoneSync {
		if wait := c.windows.wait(a, &sh); wait > 0 {
			return connector.Waiting(fmt.Errorf("noting the milestones of shipment %s waits for those reported with them", sh.ID), wait)
		}
		sh = c.latest(ctx, &sh)
	}
	cl, err := c.Connect(ctx)
	if err != nil {
		return err
	}
	if a.Kind == shipment.ActionMilestoneSync {
		defer c.waiting.add(sh.ID, milestoneNotes(&sh))()
	}
	defer c.shipments.lock(sh.ID)()
	switch a.Kind {
	case shipment.ActionPickingValidate:
		return c.validate(ctx, cl, a, &sh)
	case shipment.ActionInvoicePrepare:
		return c.invoice(ctx, cl, a, &sh)
	case shipment.ActionPickingReturn:
		return c.takeBack(ctx, cl, a, &sh, sh.TakeBacks(shipment.ActionPickingReturn))
	case shipment.ActionStockScrap:
		return c.takeBack(ctx, cl, a, &sh, sh.TakeBacks(shipment.ActionStockScrap))
	case shipment.ActionMilestoneSync:
		if err := c.syncMilestones(ctx, cl, a, &sh); err != nil {
			return err
		}
		c.windows.done(a)
		return nil
	default:
		return connector.Permanent(fmt.Errorf("odoo: action %s is not sent to Odoo", a.Kind))
	}
}

// validate ships the loaded quantities from the shipment's picking.
func (c *Connector) validate(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment) error {
	p, err := c.pickingToShip(ctx, cl, sh)
	if err != nil {
		return err
	}
	lines, err := c.shipLines(ctx, cl, sh, p)
	if err != nil {
		return err
	}
	backorder, _ := c.policy(sh)
	res, err := cl.ValidateReadPicking(ctx, p, lines, backorder)
	if err != nil {
		return fmt.Errorf("validating picking %s: %w", p.Name, err)
	}
	if err := c.setTrackingRef(ctx, cl, sh, p.ID, &p); err != nil {
		return err
	}
	note := fmt.Sprintf("Waybill validated this delivery with the quantities loaded on shipment %s (correlation id %s).", sh.ID, a.CorrelationID)
	if res.BackorderID != 0 {
		note += " The remainder is on a backorder."
	}
	// The note carries the action's key, so a repeat finds it; the
	// milestones waiting to be noted go with it.
	note += " " + milestoneMarker + a.IdempotencyKey + "]"
	if _, err := cl.PostMessages(ctx, "stock.picking", p.ID, c.waiting.with(sh.ID, []string{note}), milestoneMarker); err != nil {
		return fmt.Errorf("noting the validation on %s: %w", p.Name, err)
	}
	if c.opts.OnValidated != nil {
		if err := c.opts.OnValidated(ctx, a, p, res); err != nil {
			return connector.Retryable(fmt.Errorf("recording the validation of %s for shipment %s: %w", p.Name, sh.ID, err), 0)
		}
	}
	return nil
}

// invoice adds the shipment's charges to its sale order and invoices the
// order's delivered quantities. The workflow issues it once the picking is
// validated (picking.validated). A shipment loaded before validations were
// reported, or whose picking was reset in Odoo since, can still find it
// not done: the job then waits, as invoicing before the validation would
// bill the service lines without the goods.
func (c *Connector) invoice(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment) error {
	p, err := c.donePicking(ctx, cl, sh)
	if err != nil {
		return err
	}
	if p.State != PickingDone {
		return connector.Waiting(fmt.Errorf("invoicing shipment %s waits for its picking %s to be validated (it is %s)", sh.ID, p.Name, p.State), 0)
	}
	soID := 0
	if p.Sale != nil {
		soID = p.Sale.ID
	} else if name, ok := c.orderName(sh); ok {
		if soID, err = c.recordID(ctx, cl, "sale.order", name); err != nil {
			return err
		}
	} else {
		return connector.Permanent(fmt.Errorf("picking %s of shipment %s has no sale order to invoice", p.Name, sh.ID))
	}
	// Goods refused, returned or damaged, once approved in review, come
	// back before the invoice is made: the return lowers the delivered
	// quantity Odoo invoices. The return jobs may still be running; doing
	// it here too (every step finds what it did before) keeps the order.
	if err := c.takeBack(ctx, cl, a, sh, sh.TakeBacks()); err != nil {
		return err
	}
	if charges := c.chargeLines(sh); len(charges) > 0 {
		if _, err := cl.AddChargeLines(ctx, soID, charges); err != nil {
			return fmt.Errorf("adding the charges of shipment %s: %w", sh.ID, err)
		}
	}
	_, post := c.policy(sh)
	if sh.Invoice != nil {
		return c.credit(ctx, cl, a, sh, p, soID, post)
	}
	inv, err := c.invoiceDelivered(ctx, cl, soID, invoiceRef(sh), post)
	if errors.Is(err, ErrUser) && sh.NothingLeftToBill() {
		// Everything loaded came back: there is nothing to bill, which
		// is the outcome, not a failure.
		note := fmt.Sprintf("Waybill: nothing to invoice for shipment %s: every loaded unit was refused, returned or damaged (correlation id %s).", sh.ID, a.CorrelationID)
		if _, err := cl.PostMessage(ctx, "stock.picking", p.ID, note); err != nil {
			return fmt.Errorf("noting shipment %s on %s: %w", sh.ID, p.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("invoicing shipment %s: %w", sh.ID, err)
	}
	note := fmt.Sprintf("Waybill invoiced shipment %s, delivered with proof of delivery (correlation id %s).", sh.ID, a.CorrelationID)
	postNote := cl.PostMessage
	if inv.Created {
		postNote = cl.postNote // a new invoice has no note of ours yet
	}
	if _, err := postNote(ctx, "account.move", inv.ID, note); err != nil {
		return fmt.Errorf("noting the invoice of shipment %s: %w", sh.ID, err)
	}
	if c.opts.OnInvoiced != nil {
		if err := c.opts.OnInvoiced(ctx, a, inv); err != nil {
			return connector.Retryable(fmt.Errorf("recording the invoice of shipment %s: %w", sh.ID, err), 0)
		}
	}
	return nil
}

// invoiceDelivered invoices sale order soID under ref, without looking for
// an earlier invoice when StartInvoice says no try of ref started before.
func (c *Connector) invoiceDelivered(ctx context.Context, cl *Client, soID int, ref string, post bool) (Invoice, error) {
	if c.opts.StartInvoice != nil {
		first, err := c.opts.StartInvoice(ctx, ref)
		if err != nil {
			return Invoice{}, connector.Retryable(err, 0)
		}
		if first {
			return cl.InvoiceDeliveredFirst(ctx, soID, ref, post)
		}
	}
	return cl.InvoiceDelivered(ctx, soID, ref, post)
}

// invoiceRef is the reference an invoice of sh carries in Odoo: what makes
// invoicing it again find the same invoice.
func invoiceRef(sh *shipment.Shipment) string { return "WB-" + sh.ID }

// pickingRead is how much of a picking an action reads.
type pickingRead int

const (
	// readHead is the name, state, source location and sale order: one
	// call.
	readHead pickingRead = iota
	// readMoves adds the moves and their lines: three calls.
	readMoves
)

// picking finds the picking that delivers sh: the one its cross-reference
// names, else the one delivery of its order. Once found it reads as much
// as how asks; finding it reads it all.
func (c *Connector) picking(ctx context.Context, cl *Client, sh *shipment.Shipment, how pickingRead) (Picking, error) {
	if id, ok := c.pickings.Load(sh.ID); ok {
		var p Picking
		var err error
		if how == readHead {
			p, err = cl.PickingHead(ctx, id.(int))
		} else {
			p, err = cl.readPicking(ctx, id.(int), false)
		}
		if err == nil || !errors.Is(err, ErrMissing) {
			return p, err
		}
		c.forgetPicking(cl, sh, id.(int)) // deleted in Odoo: look again
	}
	p, err := c.findPicking(ctx, cl, sh, how)
	if err == nil {
		c.pickings.Store(sh.ID, p.ID)
	}
	return p, err
}

// cachedPickingID is the id of the picking that delivers sh when it is
// known without a call, from an earlier read or from what the poller
// found; ok is false when it is not.
func (c *Connector) cachedPickingID(ctx context.Context, cl *Client, sh *shipment.Shipment) (id int, ok bool, err error) {
	if v, found := c.pickings.Load(sh.ID); found {
		return v.(int), true, nil
	}
	return c.knownPicking(ctx, cl, sh)
}

// pickingToShip reads the picking that delivers sh as validating it
// needs ([Client.PickingToShip]): its moves alone when sh ships no lots or
// serial numbers and the picking is known, else the whole picking.
func (c *Connector) pickingToShip(ctx context.Context, cl *Client, sh *shipment.Shipment) (Picking, error) {
	lots := slices.ContainsFunc(sh.Lines, func(l shipment.Line) bool { return len(l.LoadedLots) > 0 || len(l.Serials) > 0 })
	id, ok, err := c.cachedPickingID(ctx, cl, sh)
	if err != nil {
		return Picking{}, err
	}
	if ok {
		p, err := cl.PickingToShip(ctx, id, lots)
		if err == nil {
			c.pickings.Store(sh.ID, id)
		}
		if err == nil || !errors.Is(err, ErrMissing) {
			return p, err
		}
		c.forgetPicking(cl, sh, id) // deleted in Odoo: look again
	}
	return c.picking(ctx, cl, sh, readMoves)
}

// pickingID is picking without reading the picking, when it is known:
// found before, or named by the shipment and read by the client already
// (the poller reads every outgoing picking).
func (c *Connector) pickingID(ctx context.Context, cl *Client, sh *shipment.Shipment) (int, error) {
	if id, ok, err := c.cachedPickingID(ctx, cl, sh); err != nil || ok {
		if ok {
			c.pickings.Store(sh.ID, id)
		}
		return id, err
	}
	p, err := c.picking(ctx, cl, sh, readHead)
	return p.ID, err
}

// knownPicking returns the id of the picking sh's cross-reference names
// when that needs no call: a number, or a name the client has read.
func (c *Connector) knownPicking(ctx context.Context, cl *Client, sh *shipment.Shipment) (int, bool, error) {
	xrefs, err := c.opts.Xrefs(ctx, sh.ID)
	if err != nil {
		return 0, false, fmt.Errorf("reading the cross-references of shipment %s: %w", sh.ID, err)
	}
	for _, x := range xrefs {
		if x.System != c.opts.System || x.Kind != shipment.KindShipment {
			continue
		}
		if id, err := strconv.Atoi(x.ExternalID); err == nil && id > 0 {
			return id, true, nil
		}
		id, ok := cl.pickings.named(x.ExternalID)
		return id, ok, nil
	}
	return 0, false, nil
}

// forgetPicking drops what is remembered of sh's picking id, which Odoo
// no longer has: the next action looks for it again.
func (c *Connector) forgetPicking(cl *Client, sh *shipment.Shipment, id int) {
	c.pickings.Delete(sh.ID)
	cl.pickings.forget(id)
}

// donePicking is the picking that delivers sh, with its state and sale
// order, for invoicing. A picking known to be done is not read again:
// done is final in Odoo, and Waybill knows it from its own validation
// (sh.Picking) or from an earlier read; its sale order never changes.
func (c *Connector) donePicking(ctx context.Context, cl *Client, sh *shipment.Shipment) (Picking, error) {
	id, ok, err := c.cachedPickingID(ctx, cl, sh)
	if err != nil {
		return Picking{}, err
	}
	if ok {
		fact, known := cl.pickings.of(id)
		validated := sh.Picking != nil && sh.Picking.ValidatedAt != nil && sh.Picking.System == c.opts.System &&
			sh.Picking.ExternalID == strconv.Itoa(id)
		if known && (fact.done || validated) && fact.sale.ID != 0 {
			c.pickings.Store(sh.ID, id)
			return Picking{ID: id, Name: fact.name, State: PickingDone, Sale: &SaleOrderRef{ID: fact.sale.ID, Name: fact.sale.Name}}, nil
		}
	}
	return c.picking(ctx, cl, sh, readHead)
}

func (c *Connector) findPicking(ctx context.Context, cl *Client, sh *shipment.Shipment, how pickingRead) (Picking, error) {
	xrefs, err := c.opts.Xrefs(ctx, sh.ID)
	if err != nil {
		return Picking{}, fmt.Errorf("reading the cross-references of shipment %s: %w", sh.ID, err)
	}
	for _, x := range xrefs {
		if x.System != c.opts.System || x.Kind != shipment.KindShipment {
			continue
		}
		if id, err := strconv.Atoi(x.ExternalID); err == nil && id > 0 {
			if how == readHead {
				return cl.PickingHead(ctx, id)
			}
			return cl.readPicking(ctx, id, false)
		}
		p, err := cl.PickingByName(ctx, x.ExternalID, how != readHead)
		if errors.Is(err, ErrMissing) || errors.Is(err, ErrConflict) {
			return Picking{}, connector.Permanent(fmt.Errorf("finding stock.picking %q: %w", x.ExternalID, err))
		}
		return p, err
	}
	name, ok := c.orderName(sh)
	if !ok {
		return Picking{}, connector.Permanent(fmt.Errorf("shipment %s names no Odoo picking or sale order: give it the id %s:<picking name> or the order %s:<sale order name>",
			sh.ID, c.opts.System, c.opts.System))
	}
	soID, err := c.recordID(ctx, cl, "sale.order", name)
	if err != nil {
		return Picking{}, err
	}
	so, err := cl.SaleOrder(ctx, soID)
	if err != nil {
		return Picking{}, err
	}
	// The order's first delivery is the one picking of it that is not a
	// backorder; a backorder must be named by the shipment itself, or a
	// retry could take the backorder of the picking it already validated.
	var first []Picking
	for _, id := range so.PickingIDs {
		p, err := cl.Picking(ctx, id)
		if err != nil {
			if errors.Is(err, ErrMissing) {
				continue
			}
			return Picking{}, err
		}
		if p.TypeCode == "outgoing" && p.BackorderOf == 0 && p.State != PickingCancel {
			first = append(first, p)
		}
	}
	if len(first) != 1 {
		return Picking{}, connector.Permanent(fmt.Errorf("sale order %s has %d first deliveries: give shipment %s the id %s:<picking name>",
			so.Name, len(first), sh.ID, c.opts.System))
	}
	return first[0], nil
}

// orderName returns the sale order name of sh's order reference, when the
// order is an Odoo one.
func (c *Connector) orderName(sh *shipment.Shipment) (string, bool) {
	sys, name, ok := strings.Cut(sh.Order, ":")
	if !ok || sys != c.opts.System || name == "" {
		return "", false
	}
	return name, true
}

// recordID resolves an external id: a number is a record id, anything else
// the record's name.
func (c *Connector) recordID(ctx context.Context, cl *Client, model, ext string) (int, error) {
	if id, err := strconv.Atoi(ext); err == nil && id > 0 {
		return id, nil
	}
	ids, err := cl.Search(ctx, model, Domain{Leaf("name", "=", ext)}, &SearchOptions{Limit: 2})
	if err != nil {
		return 0, fmt.Errorf("finding %s %q: %w", model, ext, err)
	}
	if len(ids) != 1 {
		return 0, connector.Permanent(fmt.Errorf("finding %s %q: %d records have that name", model, ext, len(ids)))
	}
	return ids[0], nil
}

// shipLines turns the loaded quantities of sh into picking lines. Lines are
// matched to products by SKU = default_code; quantities are sent in the
// shipment line's unit, which must be the product's unit of measure in
// Odoo.
func (c *Connector) shipLines(ctx context.Context, cl *Client, sh *shipment.Shipment, p Picking) ([]ShipLine, error) {
	product, err := c.productIDs(ctx, cl, sh, false)
	if err != nil {
		return nil, err
	}
	onPicking := make(map[int]bool)
	for _, m := range p.Moves {
		onPicking[m.Product.ID] = true
	}
	for _, l := range sh.Lines {
		if !onPicking[product[l.SKU]] {
			// A product remembered from before may have been replaced
			// since: look them all up again.
			if product, err = c.productIDs(ctx, cl, sh, true); err != nil {
				return nil, err
			}
			break
		}
	}
	var out []ShipLine
	for _, l := range sh.Lines {
		pid, ok := product[l.SKU]
		if !ok {
			return nil, connector.Permanent(fmt.Errorf("shipment %s line %s: no Odoo product has the internal reference %q", sh.ID, l.LineID, l.SKU))
		}
		if !onPicking[pid] {
			return nil, connector.Permanent(fmt.Errorf("shipment %s line %s: product %q is not on picking %s", sh.ID, l.LineID, l.SKU, p.Name))
		}
		switch {
		case len(l.LoadedLots) > 0:
			for _, lot := range l.LoadedLots {
				out = append(out, ShipLine{ProductID: pid, Quantity: float(lot.Quantity.Rat()), Lot: lot.Lot})
			}
		case len(l.Serials) > 0 && l.Loaded != nil:
			for _, sn := range l.Serials {
				out = append(out, ShipLine{ProductID: pid, Quantity: 1, Lot: sn})
			}
		case l.Loaded != nil && l.Loaded.Sign() > 0:
			out = append(out, ShipLine{ProductID: pid, Quantity: float(l.Loaded.Rat())})
		}
	}
	if len(out) == 0 {
		return nil, connector.Permanent(fmt.Errorf("shipment %s has nothing loaded to ship", sh.ID))
	}
	return out, nil
}

// chargeLines turns the charges of sh into sale order lines.
func (c *Connector) chargeLines(sh *shipment.Shipment) []ChargeLine {
	out := make([]ChargeLine, 0, len(sh.Charges))
	seen := make(map[string]int) // charges per event so far
	for _, ch := range sh.Charges {
		n := seen[ch.EventID]
		seen[ch.EventID]++
		code := c.opts.ServiceProducts[ch.Type]
		if code == "" {
			code = ch.Code
		}
		desc := ch.Description
		if desc == "" {
			desc = strings.TrimSpace(ch.Type + " " + ch.Code)
		}
		if ch.RuleID != "" {
			desc += " (rule " + ch.RuleID + ", rules " + ch.RulesVersion + ")"
		}
		amount, _ := new(big.Rat).SetString(ch.Amount.Decimal())
		out = append(out, ChargeLine{
			ServiceCode: code,
			Quantity:    1,
			PriceUnit:   float(amount),
			Description: desc,
			// The reporting event and the charge's place in it identify
			// the charge for good, so a repeat finds the line it added.
			Ref: fmt.Sprintf("%s/%d", ch.EventID, n),
		})
	}
	return out
}

func float(r *big.Rat) float64 {
	if r == nil {
		return 0
	}
	f, _ := r.Float64()
	return f
}

// takeBack carries out approved exceptions (shipment.TakeBacks):
// goods that left with a validated picking are returned (a return picking
// with to_refund, validated at once so the delivered quantity Odoo
// invoices goes down), and damaged goods are then scrapped from where the
// return put them; damaged goods that never left are scrapped from where
// the picking takes them. When Odoo refuses a scrap for lack of stock
// there, the refusal goes to OnTakeBackFailed for a person to resolve.
func (c *Connector) takeBack(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment, todo []shipment.ExceptionRecord) error {
	if len(todo) == 0 {
		return nil
	}
	p, err := c.picking(ctx, cl, sh, readMoves)
	if err != nil {
		return err
	}
	product, err := c.productIDs(ctx, cl, sh, false)
	if err != nil {
		return err
	}
	for _, e := range todo {
		lines, err := exceptionLines(sh, e, product)
		if err != nil {
			return err
		}
		writeOff := e.WritesOff()
		from := pickingSources(p)
		if p.State == PickingDone {
			ret, err := returnLines(ctx, cl, p, lines)
			if err != nil {
				return fmt.Errorf("taking back exception %s of shipment %s: %w", e.ID, sh.ID, err)
			}
			if writeOff {
				if from, err = returnedTo(ctx, cl, ret); err != nil {
					return fmt.Errorf("finding where exception %s of shipment %s came back to: %w", e.ID, sh.ID, err)
				}
			}
		} else if e.Category != shipment.Damaged {
			continue // refused or missing before it left: nothing went out
		}
		if writeOff {
			failed, err := c.scrapLines(ctx, cl, a, sh, e, lines, from)
			if err != nil {
				return err
			}
			if failed {
				continue
			}
		}
		note := fmt.Sprintf("Waybill took back the goods of exception %s (%s) on shipment %s (correlation id %s).", e.ID, e.Category, sh.ID, a.CorrelationID)
		switch {
		case e.Category == shipment.Damaged:
			note = fmt.Sprintf("Waybill took back and scrapped the damaged goods of exception %s on shipment %s (correlation id %s).", e.ID, sh.ID, a.CorrelationID)
		case writeOff:
			note = fmt.Sprintf("Waybill took back and wrote off the goods missing at delivery, exception %s (%s) on shipment %s (correlation id %s).", e.ID, e.Category, sh.ID, a.CorrelationID)
		}
		if _, err := cl.PostMessage(ctx, "stock.picking", p.ID, note); err != nil {
			return fmt.Errorf("noting exception %s on %s: %w", e.ID, p.Name, err)
		}
	}
	return nil
}

// scrapLines scraps lines of exception e, each from the location from
// gives for its product and lot. A scrap Odoo refuses (not enough stock
// there, unknown lot) goes to OnTakeBackFailed when set; failed reports
// that one was refused.
func (c *Connector) scrapLines(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment, e shipment.ExceptionRecord,
	lines []ShipLine, from *stockPlaces) (failed bool, err error) {
	var reasons []string
	for _, l := range lines {
		_, err := cl.Scrap(ctx, &ScrapParams{ProductID: l.ProductID, Quantity: l.Quantity, Lot: l.Lot, LocationID: from.of(l.ProductID, l.Lot),
			Origin: "WB-" + sh.ID + "/" + e.ID})
		if err == nil {
			continue
		}
		refused := errors.Is(err, ErrConflict) || errors.Is(err, ErrMissing) || errors.Is(err, ErrUser)
		if c.opts.OnTakeBackFailed == nil || !refused {
			return false, fmt.Errorf("scrapping exception %s of shipment %s: %w", e.ID, sh.ID, err)
		}
		if ise := (*InsufficientStockError)(nil); errors.As(err, &ise) {
			reasons = append(reasons, ise.Error())
		} else {
			reasons = append(reasons, err.Error())
		}
	}
	if len(reasons) == 0 {
		return false, nil
	}
	reason := fmt.Sprintf("Odoo could not scrap the goods of exception %s (%s) of shipment %s: %s", e.ID, e.Category, sh.ID, strings.Join(reasons, "; "))
	if err := c.opts.OnTakeBackFailed(ctx, a, e.ID, reason); err != nil {
		return true, connector.Retryable(fmt.Errorf("reporting the failed take-back of exception %s of shipment %s: %w", e.ID, sh.ID, err), 0)
	}
	return true, nil
}

// stockPlaces says where goods are: the location of each product and lot,
// else a default.
type stockPlaces struct {
	def int
	at  map[productLot]int
}

type productLot struct {
	product int
	lot     string
}

func (s *stockPlaces) of(product int, lot string) int {
	if id, ok := s.at[productLot{product, lot}]; ok {
		return id
	}
	if id, ok := s.at[productLot{product, ""}]; ok {
		return id
	}
	return s.def
}

// pickingSources are the locations picking p takes its goods from: its
// move lines' sources, else its own source location.
func pickingSources(p Picking) *stockPlaces {
	s := &stockPlaces{def: p.Location.ID, at: map[productLot]int{}}
	for _, m := range p.Moves {
		for _, l := range m.Lines {
			if l.Location.ID != 0 {
				s.at[productLot{m.Product.ID, l.Lot.Name}] = l.Location.ID
			}
		}
	}
	return s
}

// returnedTo are the locations the done return ret put its goods in: its
// done move lines' destinations (putaway can put them below the return's
// destination), else the return's destination.
func returnedTo(ctx context.Context, cl *Client, ret Return) (*stockPlaces, error) {
	s := &stockPlaces{def: ret.LocationID, at: map[productLot]int{}}
	recs, err := cl.SearchRead(ctx, "stock.move.line", Domain{Leaf("picking_id", "=", ret.PickingID), Leaf("state", "=", "done")},
		&SearchOptions{Fields: []string{"product_id", "lot_id", "location_dest_id"}, Order: "id"})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if dest := r.M2O("location_dest_id").ID; dest != 0 {
			s.at[productLot{r.M2O("product_id").ID, r.M2O("lot_id").Name}] = dest
		}
	}
	return s, nil
}

// returnLines returns lines of done picking p and validates the return.
func returnLines(ctx context.Context, cl *Client, p Picking, lines []ShipLine) (Return, error) {
	var rl []ReturnLine
	for _, l := range lines {
		rl = append(rl, ReturnLine{ProductID: l.ProductID, Quantity: l.Quantity})
	}
	ret, err := cl.ReturnPicking(ctx, p.ID, rl)
	if err != nil {
		return Return{}, err
	}
	if ret.State == PickingDone {
		return ret, nil
	}
	vr, err := cl.ValidatePicking(ctx, ret.PickingID, lines, BackorderCancel)
	ret.State = vr.State
	return ret, err
}

// productIDs maps the shipment's SKUs to Odoo product ids, from what it
// found before unless fresh; it looks up only the SKUs it has not seen.
func (c *Connector) productIDs(ctx context.Context, cl *Client, sh *shipment.Shipment, fresh bool) (map[string]int, error) {
	product := make(map[string]int, len(sh.Lines))
	var skus []string
	for _, l := range sh.Lines {
		if _, ok := product[l.SKU]; ok || slices.Contains(skus, l.SKU) {
			continue
		}
		if id, ok := c.products.Load(l.SKU); ok && !fresh {
			product[l.SKU] = id.(int)
			continue
		}
		skus = append(skus, l.SKU)
	}
	if len(skus) == 0 {
		return product, nil
	}
	// Shipments of one wave often ship the same SKUs, and are validated
	// at once: a read of the same SKUs already under way is shared.
	slices.Sort(skus)
	v, err, _ := c.productReads.Do(strings.Join(skus, "\x00"), func() (any, error) {
		return cl.SearchRead(ctx, "product.product", Domain{Leaf("default_code", "in", skus)},
			&SearchOptions{Fields: []string{"id", "default_code"}})
	})
	if err != nil {
		return nil, fmt.Errorf("finding the products of shipment %s: %w", sh.ID, err)
	}
	for _, r := range v.([]Record) {
		var id int
		var code string
		if json.Unmarshal(r["id"], &id) == nil && json.Unmarshal(r["default_code"], &code) == nil {
			product[code] = id
			c.products.Store(code, id)
		}
	}
	return product, nil
}

// exceptionLines are the products and quantities of exception e, with the
// lots they were loaded from.
func exceptionLines(sh *shipment.Shipment, e shipment.ExceptionRecord, product map[string]int) ([]ShipLine, error) {
	var out []ShipLine
	for _, el := range e.Lines {
		i := slices.IndexFunc(sh.Lines, func(l shipment.Line) bool { return l.LineID == el.LineID })
		if i < 0 {
			return nil, connector.Permanent(fmt.Errorf("exception %s: line %s is not on shipment %s", e.ID, el.LineID, sh.ID))
		}
		l := sh.Lines[i]
		pid, ok := product[l.SKU]
		if !ok {
			return nil, connector.Permanent(fmt.Errorf("exception %s line %s: no Odoo product has the internal reference %q", e.ID, l.LineID, l.SKU))
		}
		want := float(el.Quantity.Rat())
		if want <= 0 {
			continue
		}
		// Take the quantity from the lots the line was loaded from, in
		// order; untracked goods have none.
		for _, lot := range l.LoadedLots {
			if want <= 0 {
				break
			}
			q := min(want, float(lot.Quantity.Rat()))
			out = append(out, ShipLine{ProductID: pid, Quantity: q, Lot: lot.Lot})
			want -= q
		}
		if want > 1e-9 {
			out = append(out, ShipLine{ProductID: pid, Quantity: want})
		}
	}
	return out, nil
}

// NoteMarker starts the key of every note Waybill posts in a picking's
// chatter, so one search finds the notes already posted; the poller
// prefetches them with [Client.PrefetchNotes].
const NoteMarker = "[wb:"

const milestoneMarker = NoteMarker

// syncMilestones posts the milestones and exceptions of the shipment that
// the picking does not show yet, with those of the syncs waiting behind
// it, as one chatter note, and sets the carrier tracking reference when it
// is known. Each carries its event id as key, so however many sync jobs a
// shipment has, each milestone is posted once.
func (c *Connector) syncMilestones(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment) error {
	id, err := c.pickingID(ctx, cl, sh)
	if err != nil {
		return err
	}
	if err := c.setTrackingRef(ctx, cl, sh, id, nil); err != nil {
		return err
	}
	// The notes of the syncs waiting behind this one go with its own.
	notes := c.waiting.with(sh.ID, milestoneNotes(sh))
	if _, err := cl.PostMessages(ctx, "stock.picking", id, notes, milestoneMarker); err != nil {
		if errors.Is(err, ErrMissing) {
			c.forgetPicking(cl, sh, id) // deleted in Odoo: look again next time
		}
		return fmt.Errorf("syncing milestones of shipment %s to picking %d: %w", sh.ID, id, err)
	}
	return nil
}

// milestoneNotes are the chatter notes of the milestones and exceptions
// of sh, each keyed by its event id.
func milestoneNotes(sh *shipment.Shipment) []string {
	var notes []string
	for _, m := range sh.Milestones {
		if note := milestoneNote(sh, m); note != "" {
			notes = append(notes, note)
		}
	}
	for _, e := range sh.Exceptions {
		note := fmt.Sprintf("Waybill: exception %s (%s), owner %s", e.ID, e.Category, e.OwnerRole)
		if e.Description != "" {
			note += ": " + e.Description
		}
		notes = append(notes, note+" "+milestoneMarker+e.EventID+"]")
	}
	return notes
}

// setTrackingRef sets the shipment's carrier tracking reference on its
// picking id unless it is there: p is the picking when the caller read it,
// else it is read, once per process and reference (what Waybill set or
// found stays set).
func (c *Connector) setTrackingRef(ctx context.Context, cl *Client, sh *shipment.Shipment, id int, p *Picking) error {
	if sh.TrackingRef == "" {
		return nil
	}
	if ref, ok := c.tracking.Load(id); ok && ref == sh.TrackingRef {
		return nil
	}
	if p == nil {
		head, err := cl.PickingHead(ctx, id)
		if err != nil {
			if errors.Is(err, ErrMissing) {
				c.forgetPicking(cl, sh, id)
			}
			return fmt.Errorf("picking %d of shipment %s: %w", id, sh.ID, err)
		}
		p = &head
	}
	if sh.TrackingRef != p.CarrierTrackingRef {
		if err := cl.SetTrackingRef(ctx, id, sh.TrackingRef); err != nil {
			return fmt.Errorf("setting the tracking reference of %s: %w", p.Name, err)
		}
	}
	c.tracking.Store(id, sh.TrackingRef)
	return nil
}

// milestoneNote is the chatter note of one milestone, or "" for the steps
// Odoo records itself (planning, reservation, loading).
func milestoneNote(sh *shipment.Shipment, m shipment.Milestone) string {
	at := m.At.UTC().Format("2006-01-02 15:04 UTC")
	var text string
	switch m.Type {
	case "shipment.departed":
		text = "departed at " + at
	case "shipment.arrived":
		text = "arrived at the delivery stop at " + at
	case "shipment.delayed":
		text = "delayed at " + at
		if m.Reason != "" {
			text += ": " + m.Reason
		}
		if sh.ETA != nil {
			text += "; new ETA " + sh.ETA.UTC().Format("2006-01-02 15:04 UTC")
		}
	case "shipment.delivered":
		text = "delivered at " + at
		if sh.POD != nil && sh.POD.EventID == m.EventID {
			text += ", signed by " + sh.POD.Signer
			if v := sh.POD.Validation; v != nil && v.Status == shipment.PODFailed {
				text += " (proof of delivery waits for review: " + strings.Join(v.Problems, "; ") + ")"
			}
		}
	case "shipment.returned":
		text = "returned at " + at
	default:
		return ""
	}
	if m.Late {
		text += " (reported late)"
	}
	return "Waybill: " + text + " " + milestoneMarker + m.EventID + "]"
}

// credit invoices a shipment again after goods it was billed for came back
// (damage or refusal approved after invoicing): Odoo's delivered quantity
// is now below the invoiced one, so invoicing the order makes a credit
// note. Its reference names the exception, so each is credited once.
func (c *Connector) credit(ctx context.Context, cl *Client, a *connector.Action, sh *shipment.Shipment, p Picking, soID int, post bool) error {
	e, ok := sh.CreditableException()
	if !ok {
		return nil // nothing came back after the invoice
	}
	exc := e.ID
	ref := invoiceRef(sh) + "/" + exc
	cn, err := c.invoiceDelivered(ctx, cl, soID, ref, post)
	if errors.Is(err, ErrUser) {
		return nil // nothing to credit: the goods were never billed
	}
	if err != nil {
		return fmt.Errorf("crediting shipment %s for exception %s: %w", sh.ID, exc, err)
	}
	note := fmt.Sprintf("Waybill credited shipment %s for exception %s (correlation id %s).", sh.ID, exc, a.CorrelationID)
	if _, err := cl.PostMessage(ctx, "account.move", cn.ID, note); err != nil {
		return fmt.Errorf("noting the credit of shipment %s on %s: %w", sh.ID, p.Name, err)
	}
	return nil
}
