package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// The inventory difference types: what an inventory check
// ([Reconciler.RunInventory]) finds between Odoo's stock records and
// Waybill's shipments.
const (
	// UntrackedPicking: an outgoing picking is open in Odoo and no
	// shipment Waybill has in progress ships it (created by hand, a
	// backorder nobody planned, or its shipment was cancelled).
	UntrackedPicking Type = "untracked_picking"
	// PickingNotOpen: a shipment Waybill has not loaded yet has no open
	// picking in Odoo: its picking is cancelled, already done, or not
	// found.
	PickingNotOpen Type = "picking_not_open"
	// ReservationMismatch: the quantity of a SKU Waybill holds as reserved
	// differs from what Odoo has reserved on the picking.
	ReservationMismatch Type = "reservation_mismatch"
	// DoneVsLoaded: a picking is done in Odoo with another quantity of a
	// SKU than Waybill loaded.
	DoneVsLoaded Type = "done_vs_loaded"
	// MissingReturn: an approved exception takes goods back from a done
	// picking, and Odoo has no return of the picking with its quantities.
	MissingReturn Type = "missing_return"
	// MissingScrap: an approved exception writes goods off, and Odoo has
	// no done scrap of its quantities with the exception's origin.
	MissingScrap Type = "missing_scrap"
	// UnexpectedReturn: goods of a shipment's picking were returned in
	// Odoo and no approved exception of the shipment explains it.
	UnexpectedReturn Type = "unexpected_return"
	// UnexpectedScrap: a scrap in Odoo names a shipment's exception that
	// is not an approved write-off, or was made from a shipment's picking
	// without one.
	UnexpectedScrap Type = "unexpected_scrap"
)

// InventoryTypes lists every inventory difference type, in report order.
// They are not among [Types]. The caller owns the slice.
func InventoryTypes() []Type {
	return []Type{UntrackedPicking, PickingNotOpen, ReservationMismatch, DoneVsLoaded, MissingReturn, MissingScrap, UnexpectedReturn, UnexpectedScrap}
}

// OperationsRole is the owner role of the inventory differences that are
// not healed: the warehouse people, who decide them with the review:write
// scope.
const OperationsRole = "operations"

// InventoryLookbackDefault is how far back an inventory check compares
// returns and scraps with the exceptions that caused them.
const InventoryLookbackDefault = 7 * 24 * time.Hour

// InventoryParams selects what an inventory check compares.
type InventoryParams struct {
	// Warehouse, when set, keeps the shipments and the pickings whose
	// source location's name is it or starts with it and a slash (WH for
	// WH/Stock).
	Warehouse string
	// CorrelationID goes on the healing actions.
	CorrelationID string
	// Lookback is how far back returns and scraps made in Odoo, and
	// shipments changed in Waybill, are compared; 0 takes
	// InventoryLookbackDefault.
	Lookback time.Duration
}

// InventoryCheck is one run of the inventory reconciliation. Every run
// is kept; the newest one feeds waybill_kpi_inventory_mismatches.
type InventoryCheck struct {
	ID        string `json:"id"`
	Warehouse string `json:"warehouse,omitempty"`
	// State is open until its reviews are decided (approved or rejected).
	State string `json:"state"`
	// Since is the start of the window of returns and scraps compared.
	Since time.Time `json:"since"`
	// Shipments is how many shipments were compared.
	Shipments   int          `json:"shipments"`
	Counts      map[Type]int `json:"counts"`
	Differences []Difference `json:"differences"`
	// OdooCalls is how many calls to Odoo the check made, and
	// OdooCallsByRead how many each of its reads made: pickings (with
	// moves and move lines), returns, scraps and products.
	OdooCalls       int            `json:"odoo_calls"`
	OdooCallsByRead map[string]int `json:"odoo_calls_by_read"`
	DecidedBy       string         `json:"decided_by,omitempty"`
	DecidedAt       *time.Time     `json:"decided_at,omitempty"`
	Reason          string         `json:"reason,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// phase is where a shipment stands for the inventory: before loading
// (its picking should be open), after (its picking should be done), or
// out of it (cancelled).
type phase int

const (
	phaseNone phase = iota
	phasePreLoad
	phasePostLoad
)

func phaseOf(sh *shipment.Shipment) phase {
	st := sh.State
	if st == shipment.Exception {
		st = sh.ResumeState
	}
	switch st {
	case shipment.Planned, shipment.Reserved, shipment.Short, shipment.Released, shipment.Assigned:
		if loaded(sh) {
			return phasePostLoad
		}
		return phasePreLoad
	case shipment.Cancelled, "":
		return phaseNone
	}
	return phasePostLoad
}

// inProgress are the states whose shipments every check compares; the
// others are compared when they changed within the lookback.
var inProgress = []shipment.State{shipment.Planned, shipment.Reserved, shipment.Short, shipment.Released, shipment.Assigned,
	shipment.Loaded, shipment.InTransit, shipment.Delayed, shipment.Arrived, shipment.Delivered, shipment.Exception}

// reserving are the states in which Waybill holds a reservation to
// compare with Odoo's.
var reserving = []shipment.State{shipment.Reserved, shipment.Short, shipment.Released, shipment.Assigned}

// RunInventory compares what Odoo holds with what Waybill saw, and saves
// the check: Odoo's open outgoing pickings against the shipments in
// progress, the quantities Waybill holds as reserved against Odoo's
// reservation, done pickings against the loaded quantities, and the
// returns and scraps of the lookback against the approved exceptions that
// call for them. Odoo is read in bulk: at most seven calls whatever the
// number of shipments (reads of more than 1000 records are chunked).
//
// Missing returns and scraps of approved exceptions are healed: their
// take-back action (picking.return or stock.scrap) is enqueued again in
// the transaction that saves the check, and the connector finds the
// return and the scrap before it creates them. The other differences open
// a review for the operations role.
func (r *Reconciler) RunInventory(ctx context.Context, p InventoryParams) (*InventoryCheck, error) {
	if strings.ContainsAny(p.Warehouse, "\x00\n") || len(p.Warehouse) > 100 {
		return nil, fmt.Errorf("%w: warehouse %q", ErrInvalid, p.Warehouse)
	}
	if p.Lookback < 0 {
		return nil, fmt.Errorf("%w: lookback %s", ErrInvalid, p.Lookback)
	}
	if p.Lookback == 0 {
		p.Lookback = InventoryLookbackDefault
	}
	if r.opts.Odoo == nil {
		return nil, ErrNoOdoo
	}
	now := r.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	since := now.Add(-p.Lookback)
	ships, err := r.inventoryShipments(ctx, since, now, p.Warehouse)
	if err != nil {
		return nil, err
	}
	w := &inventoryWorld{r: r, warehouse: p.Warehouse, ships: ships, links: map[string]pickingLink{}, byID: map[string]*shipment.Shipment{}}
	q := &odoo.PickingQuery{Open: true}
	for _, sh := range ships {
		w.byID[sh.ID] = sh
		var xrefs []shipment.Xref
		if sh.Picking == nil {
			if xrefs, err = r.opts.Shipments.Xrefs(ctx, sh.ID); err != nil {
				return nil, err
			}
		}
		l := linkOf(sh, r.opts.System, xrefs)
		w.links[sh.ID] = l
		switch {
		case l.ID > 0:
			q.IDs = append(q.IDs, l.ID)
		case l.Name != "":
			q.Names = append(q.Names, l.Name)
		case l.Order != "":
			q.Orders = append(q.Orders, l.Order)
		}
	}
	cl, err := r.opts.Odoo(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to odoo: %w", err)
	}
	// Count this check's calls alone: the client serves the outbox too.
	byRead := map[string]int{}
	read := func(name string, f func(ctx context.Context) error) error {
		var cc odoo.CallCounter
		err := f(odoo.WithCallCounter(ctx, &cc))
		byRead[name] = cc.N()
		return err
	}
	if err := read("pickings", func(ctx context.Context) (err error) { w.pickings, err = cl.ReconcilePickings(ctx, q); return err }); err != nil {
		return nil, err
	}
	w.index()
	var returnsOf []int
	var scrapOrigins []string
	for _, sh := range ships {
		pk, ok := w.picking(sh)
		for _, e := range sh.TakeBacks() {
			if ok && pk.State == odoo.PickingDone {
				returnsOf = append(returnsOf, pk.ID)
			}
			if e.WritesOff() {
				scrapOrigins = append(scrapOrigins, scrapOrigin(sh.ID, e.ID))
			}
		}
	}
	if err := read("returns", func(ctx context.Context) (err error) {
		w.returns, err = cl.Returns(ctx, &odoo.ReturnQuery{Of: returnsOf, CreatedFrom: since})
		return err
	}); err != nil {
		return nil, err
	}
	if err := read("scraps", func(ctx context.Context) (err error) {
		w.scraps, err = cl.Scraps(ctx, &odoo.ScrapQuery{Origins: scrapOrigins, CreatedFrom: since})
		return err
	}); err != nil {
		return nil, err
	}
	var products []int
	for _, pk := range w.pickings {
		for _, m := range pk.Moves {
			products = append(products, m.Product.ID)
		}
	}
	for _, rm := range w.returns {
		products = append(products, rm.Product.ID)
	}
	for _, s := range w.scraps {
		products = append(products, s.Product.ID)
	}
	if err := read("products", func(ctx context.Context) (err error) { w.codes, err = cl.ProductCodes(ctx, products); return err }); err != nil {
		return nil, err
	}
	odooCalls := 0
	for _, n := range byRead {
		odooCalls += n
	}
	diffs, err := w.compare(ctx)
	if err != nil {
		return nil, err
	}
	chk := &InventoryCheck{ID: uuid.Must(uuid.NewV7()).String(), Warehouse: p.Warehouse, State: StateOpen, Since: since,
		Shipments: len(ships), Differences: diffs, OdooCalls: odooCalls, OdooCallsByRead: byRead, CreatedAt: now, UpdatedAt: now}
	chk.Counts = inventoryCounts(diffs)
	var heal []connector.Action
	healed := map[string]bool{}
	for i := range chk.Differences {
		d := &chk.Differences[i]
		kind := d.Healed
		if !d.Safe || r.opts.Jobs == nil {
			d.Healed = "" // nothing is enqueued
			continue
		}
		key := "inventory/" + chk.ID + "/" + d.ShipmentID + "/" + kind
		if healed[key] {
			continue // one action takes back every exception of its kind
		}
		healed[key] = true
		snap, err := json.Marshal(w.byID[d.ShipmentID])
		if err != nil {
			return nil, fmt.Errorf("encoding shipment %s: %w", d.ShipmentID, err)
		}
		heal = append(heal, connector.Action{Kind: kind, ShipmentID: d.ShipmentID, EventID: "inventory:" + chk.ID,
			CorrelationID: cmpOr(p.CorrelationID, key), IdempotencyKey: key, Payload: snap})
	}
	err = r.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.insertCheck(ctx, tx, chk); err != nil {
			return err
		}
		if len(heal) > 0 {
			if err := r.opts.Jobs.InsertTx(ctx, tx, heal); err != nil {
				return fmt.Errorf("enqueuing healing actions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("saving the inventory check: %w", err)
	}
	r.opts.Logger.InfoContext(ctx, "inventory checked", slog.String("warehouse", p.Warehouse), slog.Int("shipments", chk.Shipments),
		slog.Int("differences", len(chk.Differences)), slog.Int("healed", len(heal)), slog.Int("odoo_calls", odooCalls))
	return chk, nil
}

// inventoryShipments are the shipments a check compares: every one in
// progress, and those changed since since (for the take-backs of
// shipments already invoiced), in id order.
func (r *Reconciler) inventoryShipments(ctx context.Context, since, now time.Time, warehouse string) ([]*shipment.Shipment, error) {
	seen := map[string]bool{}
	var out []*shipment.Shipment
	add := func(sh *shipment.Shipment) {
		if !seen[sh.ID] && inWarehouse(sh, warehouse) {
			seen[sh.ID] = true
			out = append(out, sh)
		}
	}
	for _, st := range inProgress {
		cursor := ""
		for {
			page, next, err := r.opts.Shipments.List(ctx, workflow.ListParams{State: st, Limit: 500, Cursor: cursor})
			if err != nil {
				return nil, fmt.Errorf("listing %s shipments: %w", st, err)
			}
			for _, sh := range page {
				add(sh)
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	changed, err := r.opts.Shipments.UpdatedBetween(ctx, since, now.Add(time.Microsecond))
	if err != nil {
		return nil, err
	}
	for _, sh := range changed {
		add(sh)
	}
	slices.SortFunc(out, func(a, b *shipment.Shipment) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// scrapOrigin is the origin of the scraps of exception e of shipment sh,
// as the Odoo connector makes them.
func scrapOrigin(shipmentID, exceptionID string) string {
	return invoiceRefPrefix + shipmentID + "/" + exceptionID
}

// inventoryWorld is what a check compares: the shipments and what was
// read from Odoo.
type inventoryWorld struct {
	r         *Reconciler
	warehouse string
	ships     []*shipment.Shipment
	byID      map[string]*shipment.Shipment
	links     map[string]pickingLink
	pickings  []odoo.Picking
	returns   []odoo.ReturnMove
	scraps    []odoo.Scrap
	codes     map[int]string

	pickByID                map[int]odoo.Picking
	pickByName, pickByOrder map[string]odoo.Picking
	// owner is the shipment of each picking id, among the compared ones.
	owner map[int]*shipment.Shipment
	// others caches the shipments found outside the compared ones by
	// picking name ("" when none).
	others map[string]*shipment.Shipment
}

func (w *inventoryWorld) index() {
	w.pickByID, w.pickByName, w.pickByOrder = map[int]odoo.Picking{}, map[string]odoo.Picking{}, map[string]odoo.Picking{}
	w.owner, w.others = map[int]*shipment.Shipment{}, map[string]*shipment.Shipment{}
	for _, pk := range w.pickings {
		w.pickByID[pk.ID] = pk
		w.pickByName[pk.Name] = pk
		order := pk.Origin
		if pk.Sale != nil && pk.Sale.Name != "" {
			order = pk.Sale.Name
		}
		if pk.BackorderOf != 0 || order == "" {
			continue
		}
		// The order's first delivery; a cancelled one only when it has
		// no other.
		if prev, ok := w.pickByOrder[order]; !ok || prev.State == odoo.PickingCancel && pk.State != odoo.PickingCancel {
			w.pickByOrder[order] = pk
		}
	}
	for _, sh := range w.ships {
		if pk, ok := w.picking(sh); ok {
			w.owner[pk.ID] = sh
		}
	}
}

// picking is the picking of sh among those read.
func (w *inventoryWorld) picking(sh *shipment.Shipment) (odoo.Picking, bool) {
	l := w.links[sh.ID]
	if pk, ok := w.pickByID[l.ID]; ok && l.ID > 0 {
		return pk, true
	}
	if pk, ok := w.pickByName[l.Name]; ok && l.Name != "" {
		return pk, true
	}
	if pk, ok := w.pickByOrder[l.Order]; ok && l.Order != "" && l.ID == 0 && l.Name == "" {
		return pk, true
	}
	return odoo.Picking{}, false
}

// shipmentOf is the shipment of picking pk: a compared one, else the one
// whose cross-reference names it; nil when none.
func (w *inventoryWorld) shipmentOf(ctx context.Context, id int, name string) (*shipment.Shipment, error) {
	if sh := w.owner[id]; sh != nil {
		return sh, nil
	}
	if name == "" {
		return nil, nil
	}
	if sh, ok := w.others[name]; ok {
		return sh, nil
	}
	var sh *shipment.Shipment
	sid, err := w.r.opts.Shipments.Resolve(ctx, shipment.KindShipment, w.r.opts.System+":"+name)
	switch {
	case errors.Is(err, workflow.ErrNotFound) || errors.Is(err, shipment.ErrBadRef):
	case err != nil:
		return nil, err
	default:
		if sh, err = w.r.opts.Shipments.Get(ctx, sid); err != nil && !errors.Is(err, workflow.ErrNotFound) {
			return nil, err
		}
	}
	w.others[name] = sh
	return sh, nil
}

// fromWarehouse reports whether picking pk leaves the check's warehouse.
func (w *inventoryWorld) fromWarehouse(pk odoo.Picking) bool {
	return w.warehouse == "" || pk.Location.Name == w.warehouse || strings.HasPrefix(pk.Location.Name, w.warehouse+"/")
}

func (w *inventoryWorld) compare(ctx context.Context) ([]Difference, error) {
	var diffs []Difference
	accounted := map[int]bool{}
	// Return moves by returned picking, then by return picking.
	returnsOf := map[int]map[int][]odoo.ReturnMove{}
	for _, rm := range w.returns {
		if returnsOf[rm.Returned.ID] == nil {
			returnsOf[rm.Returned.ID] = map[int][]odoo.ReturnMove{}
		}
		returnsOf[rm.Returned.ID][rm.Picking.ID] = append(returnsOf[rm.Returned.ID][rm.Picking.ID], rm)
	}
	usedReturn := map[int]bool{}
	scrapsOf := map[string][]odoo.Scrap{}
	for _, s := range w.scraps {
		scrapsOf[s.Origin] = append(scrapsOf[s.Origin], s)
	}
	expectedScrap := map[string]bool{}
	for _, sh := range w.ships {
		cust := customerOf(sh)
		pk, found := w.picking(sh)
		l := w.links[sh.ID]
		linked := l.ID > 0 || l.Name != "" || l.Order != ""
		switch phaseOf(sh) {
		case phasePreLoad:
			if !linked {
				break
			}
			if found {
				accounted[pk.ID] = true
			}
			if !found || pk.State == odoo.PickingDone || pk.State == odoo.PickingCancel {
				diffs = append(diffs, pickingNotOpen(sh, cust, pk, found))
				break
			}
			if slices.Contains(reserving, currentState(sh)) {
				diffs = append(diffs, w.compareReservation(sh, cust, pk)...)
			}
		case phasePostLoad:
			if found {
				accounted[pk.ID] = true
			}
			if found && pk.State == odoo.PickingDone && loaded(sh) {
				diffs = append(diffs, w.compareDone(sh, cust, pk)...)
			}
		}
		// Take-backs: each approved exception has its return (when its
		// goods left with the done picking) and its scrap (when written
		// off, or damaged before leaving).
		for _, e := range sh.TakeBacks() {
			left := found && pk.State == odoo.PickingDone
			if left {
				if d, ok := w.matchReturn(sh, cust, e, pk, returnsOf[pk.ID], usedReturn); !ok {
					diffs = append(diffs, d)
				}
			}
			if e.WritesOff() && (left || e.Category == shipment.Damaged) {
				origin := scrapOrigin(sh.ID, e.ID)
				expectedScrap[origin] = true
				if d, ok := w.matchScrap(sh, cust, e, origin, scrapsOf[origin]); !ok {
					diffs = append(diffs, d)
				}
			}
		}
	}
	// Returns no exception explains.
	for returned, byReturn := range returnsOf {
		for retID, moves := range byReturn {
			if usedReturn[retID] {
				continue
			}
			sh, err := w.shipmentOf(ctx, returned, moves[0].Returned.Name)
			if err != nil {
				return nil, err
			}
			if sh == nil || !inWarehouse(sh, w.warehouse) {
				continue // not a shipment's picking
			}
			if w.byID[sh.ID] == nil {
				// A shipment outside the compared ones: its approved
				// take-backs may explain the return.
				if slices.ContainsFunc(sh.TakeBacks(), func(e shipment.ExceptionRecord) bool {
					return sameQuantities(w.exceptionQuantities(sh, e), w.returnQuantities(moves))
				}) {
					continue
				}
			}
			diffs = append(diffs, Difference{Type: UnexpectedReturn, ShipmentID: sh.ID, Customer: customerOf(sh), Subject: moves[0].Picking.Name,
				Evidence: Evidence{Waybill: "no approved exception of the shipment takes back " + quantitiesText(w.returnQuantities(moves)),
					Odoo:      fmt.Sprintf("return %s of picking %s: %s", moves[0].Picking.Name, moves[0].Returned.Name, quantitiesText(w.returnQuantities(moves))),
					OdooModel: "stock.picking", OdooIDs: []int{retID, returned}},
				Action: "find out why the goods came back: record the exception in Waybill, or cancel the return in Odoo"})
		}
	}
	// Scraps no approved exception explains.
	for _, s := range w.scraps {
		if s.State != "done" || expectedScrap[s.Origin] {
			continue
		}
		var sh *shipment.Shipment
		what := ""
		if sid, eid, ok := strings.Cut(strings.TrimPrefix(s.Origin, invoiceRefPrefix), "/"); ok && strings.HasPrefix(s.Origin, invoiceRefPrefix) {
			got, err := w.r.opts.Shipments.Get(ctx, sid)
			if err != nil && !errors.Is(err, workflow.ErrNotFound) && !errors.Is(err, shipment.ErrBadRef) {
				return nil, err
			}
			sh = got
			if sh != nil && slices.ContainsFunc(sh.TakeBacks(shipment.ActionStockScrap), func(e shipment.ExceptionRecord) bool { return e.ID == eid }) {
				continue // a write-off of a shipment outside the compared ones
			}
			what = "no approved write-off " + eid + " on shipment " + sid
		} else if s.Picking.ID != 0 {
			got, err := w.shipmentOf(ctx, s.Picking.ID, s.Picking.Name)
			if err != nil {
				return nil, err
			}
			sh = got
			if sh == nil {
				continue // the warehouse's own scrap
			}
			what = "no approved write-off on shipment " + sh.ID
		} else {
			continue // the warehouse's own scrap
		}
		if sh != nil && !inWarehouse(sh, w.warehouse) {
			continue
		}
		d := Difference{Type: UnexpectedScrap, Subject: s.Name,
			Evidence: Evidence{Waybill: what, Odoo: fmt.Sprintf("scrap %s of %s %s (origin %q)", s.Name, fmtQty(s.Quantity), w.code(s.Product), s.Origin),
				OdooModel: "stock.scrap", OdooIDs: []int{s.ID}},
			Action: "find out why the goods were scrapped: record the exception in Waybill, or correct the scrap in Odoo"}
		if sh != nil {
			d.ShipmentID, d.Customer = sh.ID, customerOf(sh)
		}
		diffs = append(diffs, d)
	}
	// Open pickings no shipment in progress ships.
	for _, pk := range w.pickings {
		if pk.State == odoo.PickingDone || pk.State == odoo.PickingCancel || accounted[pk.ID] || !w.fromWarehouse(pk) {
			continue
		}
		sh, err := w.shipmentOf(ctx, pk.ID, pk.Name)
		if err != nil {
			return nil, err
		}
		waybill := "no shipment ships it"
		switch {
		case sh != nil && sh.State == shipment.Cancelled:
			waybill = "shipment " + sh.ID + " is cancelled"
		case sh != nil:
			continue // a shipment outside the compared ones ships it
		case pk.BackorderOf != 0:
			waybill = "no shipment ships this backorder"
		}
		d := Difference{Type: UntrackedPicking, Subject: pk.Name,
			Evidence: Evidence{Waybill: waybill, Odoo: fmt.Sprintf("picking %s is %s (origin %q): %s", pk.Name, pk.State, pk.Origin, w.moveText(pk)),
				OdooModel: "stock.picking", OdooIDs: []int{pk.ID}},
			Action: "plan a shipment for the picking in Waybill, or cancel the picking in Odoo"}
		if sh != nil {
			d.ShipmentID, d.Customer = sh.ID, customerOf(sh)
		}
		diffs = append(diffs, d)
	}
	slices.SortStableFunc(diffs, func(a, b Difference) int {
		if c := slices.Index(InventoryTypes(), a.Type) - slices.Index(InventoryTypes(), b.Type); c != 0 {
			return c
		}
		if c := strings.Compare(a.ShipmentID, b.ShipmentID); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	for i := range diffs {
		if !diffs[i].Safe {
			diffs[i].Review = &Review{OwnerRole: OperationsRole, Status: ReviewOpen}
		}
	}
	return diffs, nil
}

func currentState(sh *shipment.Shipment) shipment.State {
	if sh.State == shipment.Exception {
		return sh.ResumeState
	}
	return sh.State
}

func pickingNotOpen(sh *shipment.Shipment, cust string, pk odoo.Picking, found bool) Difference {
	d := Difference{Type: PickingNotOpen, ShipmentID: sh.ID, Customer: cust,
		Evidence: Evidence{Waybill: string(currentState(sh)) + ", not loaded", OdooModel: "stock.picking"}}
	switch {
	case !found:
		d.Evidence.Odoo = "no picking found for the shipment"
		d.Action = "find the shipment's picking in Odoo, or cancel the shipment in Waybill"
	case pk.State == odoo.PickingCancel:
		d.Subject, d.Evidence.OdooIDs = pk.Name, []int{pk.ID}
		d.Evidence.Odoo = "picking " + pk.Name + " is cancelled"
		d.Action = "cancel the shipment in Waybill, or plan a new picking in Odoo"
	default:
		d.Subject, d.Evidence.OdooIDs = pk.Name, []int{pk.ID}
		d.Evidence.Odoo = fmt.Sprintf("picking %s is done since %s", pk.Name, pk.DateDone.UTC().Format("2006-01-02 15:04:05"))
		d.Action = "find who validated the picking in Odoo: record the loading in Waybill, or return the goods"
	}
	return d
}

// code is the SKU of product p: its internal reference, else its name.
func (w *inventoryWorld) code(p odoo.Many2One) string {
	if c := w.codes[p.ID]; c != "" {
		return c
	}
	if p.Name != "" {
		return p.Name
	}
	return "product " + strconv.Itoa(p.ID)
}

func (w *inventoryWorld) moveText(pk odoo.Picking) string {
	q := map[string]float64{}
	for _, m := range pk.Moves {
		if m.State != odoo.PickingCancel {
			q[w.code(m.Product)] += m.Demand
		}
	}
	return quantitiesText(q)
}

// compareReservation compares the quantities Waybill holds as reserved
// with those Odoo reserved on the picking's open moves, per SKU.
func (w *inventoryWorld) compareReservation(sh *shipment.Shipment, cust string, pk odoo.Picking) []Difference {
	reserved := map[string]float64{}
	for _, m := range pk.Moves {
		if m.State == odoo.PickingDone || m.State == odoo.PickingCancel {
			continue
		}
		reserved[w.code(m.Product)] += m.Reserved
	}
	return w.compareSKUs(sh, cust, ReservationMismatch, "reserved", func(l shipment.Line) *quantity.Quantity { return l.Reserved }, reserved,
		"reserved on picking "+pk.Name+" ("+pk.State+")", pk.ID,
		"check the reservation in Odoo (the next poll reports it to Waybill), and the shipment's release")
}

// compareDone compares the loaded quantities with the done picking's.
func (w *inventoryWorld) compareDone(sh *shipment.Shipment, cust string, pk odoo.Picking) []Difference {
	done := map[string]float64{}
	for _, m := range pk.Moves {
		if m.State != odoo.PickingDone {
			continue
		}
		for _, l := range m.Lines {
			done[w.code(m.Product)] += l.Done
		}
	}
	return w.compareSKUs(sh, cust, DoneVsLoaded, "loaded", func(l shipment.Line) *quantity.Quantity { return l.Loaded }, done,
		"done on picking "+pk.Name, pk.ID,
		"count the goods: correct the picking's stock in Odoo (a return or an adjustment), or the loading in Waybill")
}

// compareSKUs compares a quantity of sh's lines per SKU with Odoo's
// quantities per product code: the SKUs of either side.
func (w *inventoryWorld) compareSKUs(sh *shipment.Shipment, cust string, typ Type, what string, qty func(shipment.Line) *quantity.Quantity,
	odooQty map[string]float64, odooWhat string, pickingID int, action string) []Difference {
	ours := map[string]*big.Rat{}
	units := map[string]quantity.Unit{}
	var skus []string
	for _, l := range sh.Lines {
		if ours[l.SKU] == nil {
			ours[l.SKU] = new(big.Rat)
			units[l.SKU] = l.Quantity.Unit()
			skus = append(skus, l.SKU)
		}
		if q := qty(l); q != nil {
			ours[l.SKU].Add(ours[l.SKU], q.Rat())
		}
	}
	for _, sku := range sortedKeys(odooQty) {
		if ours[sku] == nil {
			ours[sku] = new(big.Rat)
			units[sku] = "C62"
			skus = append(skus, sku)
		}
	}
	var diffs []Difference
	for _, sku := range skus {
		theirs := ratOf(odooQty[sku])
		if ours[sku].Cmp(theirs) == 0 {
			continue
		}
		diffs = append(diffs, Difference{Type: typ, ShipmentID: sh.ID, Customer: cust, Subject: sku,
			Evidence: Evidence{Waybill: what + " " + decimalOf(ours[sku]) + " " + string(units[sku]), Odoo: decimalOf(theirs) + " " + odooWhat,
				OdooModel: "stock.picking", OdooIDs: []int{pickingID}},
			Action: action})
	}
	return diffs
}

// exceptionQuantities are the quantities per SKU exception e takes back.
func (w *inventoryWorld) exceptionQuantities(sh *shipment.Shipment, e shipment.ExceptionRecord) map[string]float64 {
	out := map[string]float64{}
	for _, el := range e.Lines {
		i := slices.IndexFunc(sh.Lines, func(l shipment.Line) bool { return l.LineID == el.LineID })
		if i < 0 {
			continue
		}
		f, _ := el.Quantity.Rat().Float64()
		out[sh.Lines[i].SKU] += f
	}
	return out
}

func (w *inventoryWorld) returnQuantities(moves []odoo.ReturnMove) map[string]float64 {
	out := map[string]float64{}
	for _, m := range moves {
		out[w.code(m.Product)] += m.Quantity
	}
	return out
}

// A safe difference leaves compare with Healed set to the action that
// heals it; RunInventory clears it when it enqueues nothing.

// matchReturn finds the return of pk carrying exactly e's quantities, as
// the connector's take-back does before it creates one, and marks it
// used; ok is false with the difference when there is none.
func (w *inventoryWorld) matchReturn(sh *shipment.Shipment, cust string, e shipment.ExceptionRecord, pk odoo.Picking,
	returns map[int][]odoo.ReturnMove, used map[int]bool) (Difference, bool) {
	want := w.exceptionQuantities(sh, e)
	for _, id := range sortedKeys(returns) {
		if !used[id] && sameQuantities(want, w.returnQuantities(returns[id])) {
			used[id] = true
			return Difference{}, true
		}
	}
	kind := shipment.ActionPickingReturn
	if e.WritesOff() {
		kind = shipment.ActionStockScrap
	}
	odooSide := "no return of picking " + pk.Name + " with these quantities"
	if len(returns) > 0 {
		var parts []string
		for _, id := range sortedKeys(returns) {
			parts = append(parts, returns[id][0].Picking.Name+": "+quantitiesText(w.returnQuantities(returns[id])))
		}
		odooSide += "; its returns: " + strings.Join(parts, "; ")
	}
	return Difference{Type: MissingReturn, ShipmentID: sh.ID, Customer: cust, Subject: e.ID,
		Evidence: Evidence{Waybill: fmt.Sprintf("exception %s (%s) approved: take back %s", e.ID, e.Category, quantitiesText(want)),
			Odoo: odooSide, OdooModel: "stock.picking", OdooIDs: []int{pk.ID}},
		Safe:   true,
		Action: "enqueue " + kind + ": the return is looked for before it is created, so it is never made twice",
		Healed: kind}, false
}

// matchScrap checks that the scraps with e's origin are done with e's
// quantities. With no scrap at all, re-enqueueing the take-back is safe;
// a draft (Odoo refused it for lack of stock) or other quantities are for
// a person.
func (w *inventoryWorld) matchScrap(sh *shipment.Shipment, cust string, e shipment.ExceptionRecord, origin string, scraps []odoo.Scrap) (Difference, bool) {
	want := w.exceptionQuantities(sh, e)
	done := map[string]float64{}
	var ids []int
	drafts := 0
	for _, s := range scraps {
		ids = append(ids, s.ID)
		if s.State == "done" {
			done[w.code(s.Product)] += s.Quantity
		} else {
			drafts++
		}
	}
	if len(scraps) > 0 && sameQuantities(want, done) {
		return Difference{}, true
	}
	d := Difference{Type: MissingScrap, ShipmentID: sh.ID, Customer: cust, Subject: e.ID,
		Evidence: Evidence{Waybill: fmt.Sprintf("exception %s (%s) approved: write off %s", e.ID, e.Category, quantitiesText(want)),
			OdooModel: "stock.scrap", OdooIDs: ids}}
	switch {
	case len(scraps) == 0:
		d.Evidence.Odoo = fmt.Sprintf("no scrap with origin %q", origin)
		d.Safe, d.Healed = true, shipment.ActionStockScrap
		d.Action = "enqueue " + shipment.ActionStockScrap + ": the scrap is looked for by its origin before it is created, so it is never made twice"
	case drafts > 0 && len(done) == 0:
		d.Evidence.Odoo = fmt.Sprintf("%d scrap(s) with origin %q left in draft", drafts, origin)
		d.Action = "Odoo refused the scrap (not enough stock where the goods came back to): put the stock there, then validate the draft scrap"
	default:
		d.Evidence.Odoo = fmt.Sprintf("scrapped %s with origin %q", quantitiesText(done), origin)
		d.Action = "correct the scrap in Odoo to the exception's quantities"
	}
	return d, false
}

func sameQuantities(a, b map[string]float64) bool {
	for k, v := range a {
		if !qtyEqual(v, b[k]) {
			return false
		}
	}
	for k, v := range b {
		if !qtyEqual(v, a[k]) {
			return false
		}
	}
	return true
}

func qtyEqual(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func ratOf(f float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	if !ok {
		return new(big.Rat)
	}
	return r
}

func fmtQty(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// quantitiesText writes quantities per SKU in SKU order: "A 2, B 1".
func quantitiesText(q map[string]float64) string {
	if len(q) == 0 {
		return "nothing"
	}
	parts := make([]string, 0, len(q))
	for _, k := range sortedKeys(q) {
		parts = append(parts, k+" "+fmtQty(q[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func inventoryCounts(diffs []Difference) map[Type]int {
	out := map[Type]int{}
	for _, t := range InventoryTypes() {
		out[t] = 0
	}
	for _, d := range diffs {
		out[d.Type]++
	}
	return out
}
