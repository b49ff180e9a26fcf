package odoo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Picking states, identical on 16–19.
const (
	PickingDraft     = "draft"
	PickingWaiting   = "waiting"
	PickingConfirmed = "confirmed"
	PickingAssigned  = "assigned"
	PickingDone      = "done"
	PickingCancel    = "cancel"
)

// Picking is a stock.picking with its moves and move lines.
type Picking struct {
	ID                 int
	Name               string
	State              string
	Origin             string
	TypeCode           string // incoming, outgoing or internal
	Partner            Many2One
	Carrier            Many2One
	CarrierTrackingRef string
	Location           Many2One
	LocationDest       Many2One
	ScheduledDate      time.Time
	DateDone           time.Time
	WriteDate          time.Time
	// BackorderOf is the picking this one is a backorder of, 0 if none.
	BackorderOf int
	// Backorders are the backorders created from this picking.
	Backorders []int
	// Sale is the sale order the picking delivers, nil if none.
	Sale  *SaleOrderRef
	Moves []Move

	// fromMoves is set on a picking read from its moves alone
	// ([Client.PickingToShip]): its lines carry only their ids, and its
	// sale order, carrier, tracking reference, dates and backorders were
	// not read.
	fromMoves bool
}

// SaleOrderRef is the sale order of a picking.
type SaleOrderRef struct {
	ID        int
	Name      string
	Partner   Many2One
	Origin    string
	ClientRef string
	// DeliveryStatus is pending, started, partial or full; "" before
	// confirmation or when the version lacks the field.
	DeliveryStatus string
}

// Move is a stock.move of a picking.
type Move struct {
	ID      int
	Product Many2One
	// Demand is the ordered quantity (product_uom_qty).
	Demand float64
	// Reserved is the quantity reserved for the move (sum of its lines).
	Reserved float64
	// Done is the quantity set as shipped (16: quantity_done; 17+: quantity
	// of a picked or done move).
	Done       float64
	Picked     bool
	State      string
	SaleLineID int
	// UoM is the move's unit of measure (product_uom on every version).
	UoM   Many2One
	Lines []MoveLine
}

// MoveLine is a stock.move.line: a quantity at one location, lot and
// package.
type MoveLine struct {
	ID           int
	MoveID       int
	Product      Many2One
	Lot          Many2One
	Reserved     float64
	Done         float64
	Picked       bool
	Location     Many2One
	LocationDest Many2One
}

var pickingFields = []string{
	"name", "state", "origin", "picking_type_code", "partner_id", "sale_id", "carrier_id",
	"carrier_tracking_ref", "location_id", "location_dest_id", "scheduled_date", "date_done",
	"write_date", "backorder_id", "backorder_ids", "move_ids", "move_line_ids",
}

func (c *Client) moveFields() []string {
	f := []string{"picking_id", "product_id", "product_uom_qty", "state", "sale_line_id", "product_uom"}
	if c.profile.HasPicked {
		return append(f, "quantity", "picked")
	}
	return append(f, c.profile.MoveDoneField)
}

func (c *Client) moveLineFields() []string {
	f := []string{"move_id", "picking_id", "product_id", "lot_id", "location_id", "location_dest_id"}
	if c.profile.HasPicked {
		return append(f, "quantity", "picked")
	}
	return append(f, c.profile.MoveLineReservedField, c.profile.MoveLineDoneField)
}

// loadPickings turns picking records into Pickings, reading their moves and
// move lines in one call each and, when withSale, their sale orders in one
// more.
func (c *Client) loadPickings(ctx context.Context, recs []Record, withSale bool) ([]Picking, error) {
	var moveIDs, lineIDs, saleIDs []int
	for _, r := range recs {
		moveIDs = append(moveIDs, r.IDs("move_ids")...)
		lineIDs = append(lineIDs, r.IDs("move_line_ids")...)
		if s := r.M2O("sale_id"); s.ID > 0 {
			saleIDs = append(saleIDs, s.ID)
		}
	}
	moves, err := c.readChunked(ctx, "stock.move", moveIDs, c.moveFields())
	if err != nil {
		return nil, fmt.Errorf("reading moves: %w", err)
	}
	lines, err := c.readChunked(ctx, "stock.move.line", lineIDs, c.moveLineFields())
	if err != nil {
		return nil, fmt.Errorf("reading move lines: %w", err)
	}
	sales := map[int]*SaleOrderRef{}
	if withSale && len(saleIDs) > 0 {
		fields := []string{"name", "partner_id", "origin", "client_order_ref"}
		if c.profile.HasDeliveryStatus {
			fields = append(fields, "delivery_status")
		}
		recs, err := c.readChunked(ctx, "sale.order", uniq(saleIDs), fields)
		if err != nil {
			return nil, fmt.Errorf("reading sale orders: %w", err)
		}
		for _, r := range recs {
			sales[r.ID()] = &SaleOrderRef{ID: r.ID(), Name: r.String("name"), Partner: r.M2O("partner_id"),
				Origin: r.String("origin"), ClientRef: r.String("client_order_ref"), DeliveryStatus: r.String("delivery_status")}
		}
	}
	linesByMove := map[int][]MoveLine{}
	for _, r := range lines {
		l := MoveLine{ID: r.ID(), MoveID: r.M2O("move_id").ID, Product: r.M2O("product_id"), Lot: r.M2O("lot_id"),
			Location: r.M2O("location_id"), LocationDest: r.M2O("location_dest_id")}
		if c.profile.HasPicked {
			l.Picked = r.Bool("picked")
			l.Reserved = r.Float("quantity")
			if l.Picked {
				l.Done = l.Reserved
			}
		} else {
			l.Reserved = r.Float(c.profile.MoveLineReservedField)
			l.Done = r.Float(c.profile.MoveLineDoneField)
		}
		linesByMove[l.MoveID] = append(linesByMove[l.MoveID], l)
	}
	movesByPicking := map[int][]Move{}
	for _, r := range moves {
		m := Move{ID: r.ID(), Product: r.M2O("product_id"), Demand: r.Float("product_uom_qty"), State: r.String("state"),
			SaleLineID: r.M2O("sale_line_id").ID, UoM: r.M2O("product_uom"), Lines: linesByMove[r.ID()]}
		for _, l := range m.Lines {
			m.Reserved += l.Reserved
		}
		if c.profile.HasPicked {
			m.Picked = r.Bool("picked")
			if m.Picked || m.State == PickingDone {
				m.Done = r.Float("quantity")
			}
		} else {
			m.Done = r.Float(c.profile.MoveDoneField)
		}
		pid := r.M2O("picking_id").ID
		movesByPicking[pid] = append(movesByPicking[pid], m)
	}
	out := make([]Picking, 0, len(recs))
	for _, r := range recs {
		p := Picking{
			ID: r.ID(), Name: r.String("name"), State: r.String("state"), Origin: r.String("origin"),
			TypeCode: r.String("picking_type_code"), Partner: r.M2O("partner_id"), Carrier: r.M2O("carrier_id"),
			CarrierTrackingRef: r.String("carrier_tracking_ref"), Location: r.M2O("location_id"),
			LocationDest: r.M2O("location_dest_id"), ScheduledDate: r.Time("scheduled_date"),
			DateDone: r.Time("date_done"), WriteDate: r.Time("write_date"), BackorderOf: r.M2O("backorder_id").ID,
			Backorders: r.IDs("backorder_ids"), Moves: movesByPicking[r.ID()],
		}
		if s := r.M2O("sale_id"); s.ID > 0 {
			if ref, ok := sales[s.ID]; ok {
				cp := *ref
				p.Sale = &cp
			} else {
				p.Sale = &SaleOrderRef{ID: s.ID, Name: s.Name}
			}
		}
		slices.SortFunc(p.Moves, func(a, b Move) int { return cmp.Compare(a.ID, b.ID) })
		c.pickings.learn(p)
		out = append(out, p)
	}
	return out, nil
}

// readChunkSize bounds the ids of one read call.
const readChunkSize = 1000

func (c *Client) readChunked(ctx context.Context, model string, ids []int, fields []string) ([]Record, error) {
	var out []Record
	for len(ids) > 0 {
		n := min(len(ids), readChunkSize)
		recs, err := c.Read(ctx, model, ids[:n], fields)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
		ids = ids[n:]
	}
	return out, nil
}

// Picking reads one picking with its moves, move lines and sale order.
// A picking that does not exist gives an error matching [ErrMissing].
func (c *Client) Picking(ctx context.Context, id int) (Picking, error) {
	return c.readPicking(ctx, id, true)
}

func (c *Client) readPicking(ctx context.Context, id int, withSale bool) (Picking, error) {
	recs, err := c.Read(ctx, "stock.picking", []int{id}, pickingFields)
	if err != nil {
		return Picking{}, fmt.Errorf("reading picking %d: %w", id, err)
	}
	if len(recs) == 0 {
		return Picking{}, missing("stock.picking", id)
	}
	ps, err := c.loadPickings(ctx, recs, withSale)
	if err != nil {
		return Picking{}, fmt.Errorf("reading picking %d: %w", id, err)
	}
	return ps[0], nil
}

func missing(model string, id int) error {
	return classify(&Error{Kind: KindMissing, Model: model, Method: "read", Name: "odoo.exceptions.MissingError",
		Message: fmt.Sprintf("record %s(%d) does not exist or has been deleted", model, id)})
}

// PickingToShip reads picking id as validating it needs it. A validation
// that ships no lots (lots false) needs the moves and the ids of their
// lines only: one search_read of the picking's moves, whose states give
// the picking's as Odoo computes it (draft while a move is draft, cancel
// when all are cancelled, done when all are done or cancelled), its name
// and its locations. With lots, or for a picking without moves (or none
// at all), the picking is read whole with its moves and lines (three
// calls).
func (c *Client) PickingToShip(ctx context.Context, id int, lots bool) (Picking, error) {
	if lots {
		return c.readPicking(ctx, id, false)
	}
	fields := append(c.moveFields(), "location_id", "location_dest_id", "move_line_ids")
	recs, err := c.SearchRead(ctx, "stock.move", Domain{Leaf("picking_id", "=", id)}, &SearchOptions{Fields: fields})
	if err != nil {
		return Picking{}, fmt.Errorf("reading the moves of picking %d: %w", id, err)
	}
	if len(recs) == 0 {
		return c.readPicking(ctx, id, false)
	}
	p := Picking{ID: id, fromMoves: true}
	draft, cancelled, closed := false, 0, 0
	for _, r := range recs {
		m := Move{ID: r.ID(), Product: r.M2O("product_id"), Demand: r.Float("product_uom_qty"), State: r.String("state"),
			SaleLineID: r.M2O("sale_line_id").ID, UoM: r.M2O("product_uom")}
		if c.profile.HasPicked {
			m.Picked = r.Bool("picked")
			if m.Picked || m.State == PickingDone {
				m.Done = r.Float("quantity")
			}
		} else {
			m.Done = r.Float(c.profile.MoveDoneField)
		}
		for _, lid := range r.IDs("move_line_ids") {
			m.Lines = append(m.Lines, MoveLine{ID: lid, MoveID: m.ID, Product: m.Product})
		}
		switch m.State {
		case PickingDraft:
			draft = true
		case PickingCancel:
			cancelled++
			closed++
		case PickingDone:
			closed++
		}
		if p.Name == "" {
			p.Name = r.M2O("picking_id").Name
			p.Location, p.LocationDest = r.M2O("location_id"), r.M2O("location_dest_id")
		}
		p.Moves = append(p.Moves, m)
	}
	switch {
	case draft:
		p.State = PickingDraft
	case cancelled == len(recs):
		p.State = PickingCancel
	case closed == len(recs):
		p.State = PickingDone
	default:
		p.State = PickingConfirmed
		if !slices.ContainsFunc(p.Moves, func(m Move) bool { return m.State != PickingAssigned && m.State != PickingCancel }) {
			p.State = PickingAssigned
		}
	}
	slices.SortFunc(p.Moves, func(a, b Move) int { return cmp.Compare(a.ID, b.ID) })
	if p.State == PickingDone {
		c.pickings.markDone(id)
	}
	return p, nil
}

// ValidateReadPicking is [Client.ValidatePicking] of picking p, read by
// the caller just before with [Client.PickingToShip] (lots as lines has
// lots) or [Client.Picking]: it saves reading the picking again. It is as
// safe to repeat.
func (c *Client) ValidateReadPicking(ctx context.Context, p Picking, lines []ShipLine, policy BackorderPolicy) (ValidateResult, error) {
	want, err := shipTotals(lines)
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", p.ID, err)
	}
	return c.validateRead(ctx, p, want, policy)
}

// PickingHead reads the name, state, source location and sale order of
// picking id, without its moves: one call.
func (c *Client) PickingHead(ctx context.Context, id int) (Picking, error) {
	recs, err := c.Read(ctx, "stock.picking", []int{id}, []string{"name", "state", "sale_id", "location_id", "carrier_tracking_ref"})
	if err != nil {
		return Picking{}, fmt.Errorf("reading picking %d: %w", id, err)
	}
	if len(recs) == 0 {
		return Picking{}, missing("stock.picking", id)
	}
	p := pickingHead(recs[0])
	c.pickings.learn(p)
	return p, nil
}

// pickingHead is the name, state, source location, tracking reference and
// sale order of picking record r.
func pickingHead(r Record) Picking {
	p := Picking{ID: r.ID(), Name: r.String("name"), State: r.String("state"), Location: r.M2O("location_id"),
		CarrierTrackingRef: r.String("carrier_tracking_ref")}
	if so := r.M2O("sale_id"); so.ID != 0 {
		p.Sale = &SaleOrderRef{ID: so.ID, Name: so.Name}
	}
	return p
}

// PickingByName finds the picking named name and reads it in the same
// call: its head (as [Client.PickingHead]) or, withMoves, its moves and
// move lines too (as [Client.Picking] without the sale order's details).
// No picking or several by that name give a permanent error matching
// [ErrMissing] or [ErrConflict].
func (c *Client) PickingByName(ctx context.Context, name string, withMoves bool) (Picking, error) {
	fields := []string{"name", "state", "sale_id", "location_id", "carrier_tracking_ref"}
	if withMoves {
		fields = pickingFields
	}
	recs, err := c.SearchRead(ctx, "stock.picking", Domain{Leaf("name", "=", name)}, &SearchOptions{Fields: fields, Limit: 2})
	if err != nil {
		return Picking{}, fmt.Errorf("finding picking %q: %w", name, err)
	}
	switch len(recs) {
	case 0:
		return Picking{}, classify(&Error{Kind: KindMissing, Model: "stock.picking", Message: fmt.Sprintf("no picking is named %q", name)})
	case 1:
	default:
		return Picking{}, conflict("stock.picking", "%d pickings are named %q", len(recs), name)
	}
	if !withMoves {
		p := pickingHead(recs[0])
		c.pickings.learn(p)
		return p, nil
	}
	ps, err := c.loadPickings(ctx, recs, false)
	if err != nil {
		return Picking{}, fmt.Errorf("reading picking %q: %w", name, err)
	}
	return ps[0], nil
}

// ChangedPickingsLimitDefault is the page size of [Client.ChangedPickings]
// when its limit is zero or negative.
const ChangedPickingsLimitDefault = 200

// ChangedPickings returns the outgoing pickings whose write_date is after
// since, with their moves, move lines and sale orders, and the new
// watermark to pass as since next time.
//
// write_date is the start of the writing transaction, and transactions
// commit out of order, so it also returns every picking written in the
// overlap window before since: callers dedupe by (ID, WriteDate). It
// returns at most limit pickings written after since (all of the overlap
// window comes in addition), oldest first; when there are more, the
// watermark lets the next call continue. A zero since reads everything.
//
// Cost: one search_read per page of pickings, then one read each for
// moves, move lines and sale orders.
func (c *Client) ChangedPickings(ctx context.Context, since time.Time, overlap time.Duration, limit int) ([]Picking, time.Time, error) {
	if limit <= 0 {
		limit = ChangedPickingsLimitDefault
	}
	base := Domain{Leaf("picking_type_code", "=", "outgoing")}
	var recs []Record
	newCount := 0
	var lastWD string
	var seenAtLast []int
	first := true
	for {
		d := slices.Clone(base)
		switch {
		case !first:
			d = append(d, Leaf("write_date", ">=", lastWD), Leaf("id", "not in", seenAtLast))
		case !since.IsZero():
			d = append(d, Leaf("write_date", ">=", formatOdooTime(since.Add(-max(overlap, 0)))))
		}
		first = false
		page, err := c.SearchRead(ctx, "stock.picking", d, &SearchOptions{Fields: pickingFields, Limit: limit, Order: "write_date asc, id asc"})
		if err != nil {
			return nil, since, fmt.Errorf("searching changed pickings: %w", err)
		}
		full := len(page) == limit
		for _, r := range page {
			recs = append(recs, r)
			wd := r.String("write_date")
			if wd != lastWD {
				lastWD, seenAtLast = wd, nil
			}
			seenAtLast = append(seenAtLast, r.ID())
			if since.IsZero() || parseOdooTime(wd).After(since) {
				newCount++
				if newCount >= limit {
					break
				}
			}
		}
		if !full || newCount >= limit || len(page) == 0 {
			break
		}
	}
	ps, err := c.loadPickings(ctx, recs, true)
	if err != nil {
		return nil, since, fmt.Errorf("loading changed pickings: %w", err)
	}
	wm := since
	for _, p := range ps {
		if p.WriteDate.After(wm) {
			wm = p.WriteDate
		}
	}
	return ps, wm, nil
}

// Reservation is what Odoo has reserved for a picking.
type Reservation struct {
	PickingID int
	State     string
	Moves     []MoveReservation
}

// MoveReservation is the reservation of one move.
type MoveReservation struct {
	MoveID   int
	Product  Many2One
	Demand   float64
	Reserved float64
	State    string
	Lots     []LotQuantity
}

// LotQuantity is a quantity of one lot or serial number.
type LotQuantity struct {
	Lot      Many2One
	Quantity float64
}

// PickingReservation returns the state of picking id and the quantity
// reserved per move, with the reserved lots. Three calls.
func (c *Client) PickingReservation(ctx context.Context, id int) (Reservation, error) {
	p, err := c.readPicking(ctx, id, false)
	if err != nil {
		return Reservation{}, err
	}
	res := Reservation{PickingID: p.ID, State: p.State}
	for _, m := range p.Moves {
		mr := MoveReservation{MoveID: m.ID, Product: m.Product, Demand: m.Demand, Reserved: m.Reserved, State: m.State}
		for _, l := range m.Lines {
			if l.Lot.ID > 0 && l.Reserved > 0 {
				mr.Lots = append(mr.Lots, LotQuantity{Lot: l.Lot, Quantity: l.Reserved})
			}
		}
		res.Moves = append(res.Moves, mr)
	}
	return res, nil
}

// AssignPicking asks Odoo to reserve stock for picking id (action_assign).
// It is idempotent: Odoo answers true whether or not anything changed.
func (c *Client) AssignPicking(ctx context.Context, id int) error {
	if _, err := c.Execute(ctx, "stock.picking", "action_assign", []int{id}, nil); err != nil {
		return fmt.Errorf("reserving picking %d: %w", id, err)
	}
	return nil
}

// SetTrackingRef sets the carrier tracking reference of picking id; it also
// works on a done picking. Idempotent.
func (c *Client) SetTrackingRef(ctx context.Context, pickingID int, ref string) error {
	if err := c.Write(ctx, "stock.picking", []int{pickingID}, map[string]any{"carrier_tracking_ref": ref}); err != nil {
		return fmt.Errorf("setting tracking ref of picking %d: %w", pickingID, err)
	}
	return nil
}

// ShipLine is a quantity of a product actually shipped, optionally of one
// lot or serial number.
type ShipLine struct {
	ProductID int
	Quantity  float64
	// Lot is the lot or serial number name; empty for untracked products.
	Lot string
}

// BackorderPolicy says what happens to the quantities of a picking that
// were not shipped.
type BackorderPolicy int

const (
	// BackorderCreate moves the remainder to a new backorder picking.
	BackorderCreate BackorderPolicy = iota
	// BackorderCancel cancels the remainder.
	BackorderCancel
)

// ValidateResult is the outcome of [Client.ValidatePicking].
type ValidateResult struct {
	PickingID int
	State     string
	// BackorderID is the backorder created for the remainder, 0 if none.
	BackorderID int
	// AlreadyDone reports that the picking was already validated with these
	// quantities, so nothing was changed.
	AlreadyDone bool
}

const qtyEpsilon = 1e-6

func qtyEqual(a, b float64) bool { return math.Abs(a-b) < qtyEpsilon }

type prodLot struct {
	product int
	lot     string
}

// ValidatePicking ships exactly lines from picking id and validates it:
// it sets the quantities (with lots) the way the server's version expects,
// calls button_validate with the context that skips the SMS and backorder
// questions, answers any wizard that still comes back according to policy,
// and re-reads the picking to confirm it is done.
//
// It is safe to call again after any failure, including one wrapping
// [connector.ErrOutcomeUnknown]: a picking already done with the same
// quantities is reported as such without changes; one done with other
// quantities, or cancelled, gives a permanent error matching [ErrConflict].
func (c *Client) ValidatePicking(ctx context.Context, id int, lines []ShipLine, policy BackorderPolicy) (ValidateResult, error) {
	want, err := shipTotals(lines)
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
	}
	p, err := c.PickingToShip(ctx, id, hasLots(want))
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
	}
	return c.validateRead(ctx, p, want, policy)
}

func hasLots(want map[prodLot]float64) bool {
	for k := range want {
		if k.lot != "" {
			return true
		}
	}
	return false
}

// validateRead is [Client.ValidatePicking] of picking p as just read with
// its moves and move lines, shipping want.
func (c *Client) validateRead(ctx context.Context, p Picking, want map[prodLot]float64, policy BackorderPolicy) (ValidateResult, error) {
	id := p.ID
	switch p.State {
	case PickingDone:
		if p.fromMoves && hasLots(want) {
			// Lots are compared on the lines, which were not read.
			full, err := c.readPicking(ctx, id, false)
			if err != nil {
				return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
			}
			p = full
		}
		if err := sameShipment(p, want); err != nil {
			return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
		}
		backorders := p.Backorders
		if p.fromMoves {
			recs, err := c.Read(ctx, "stock.picking", []int{id}, []string{"backorder_ids"})
			if err != nil {
				return ValidateResult{}, fmt.Errorf("validating picking %d: reading its backorders: %w", id, err)
			}
			if len(recs) > 0 {
				backorders = recs[0].IDs("backorder_ids")
			}
		}
		return ValidateResult{PickingID: id, State: p.State, BackorderID: firstID(backorders), AlreadyDone: true}, nil
	case PickingCancel, PickingDraft:
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, conflict("stock.picking", "picking %s is %s", p.Name, p.State))
	}
	complete, err := c.setShipped(ctx, p, want)
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
	}
	validated, err := c.buttonValidate(ctx, id, policy)
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, err)
	}
	if validated && complete {
		// Odoo answers true once the picking is done, and with every move's
		// demand shipped there is no remainder to put on a backorder:
		// nothing is left to read.
		c.pickings.markDone(id)
		return ValidateResult{PickingID: id, State: PickingDone}, nil
	}
	recs, err := c.Read(ctx, "stock.picking", []int{id}, []string{"state", "backorder_ids"})
	if err != nil {
		return ValidateResult{}, fmt.Errorf("validating picking %d: re-reading: %w", id, err)
	}
	if len(recs) == 0 {
		return ValidateResult{}, fmt.Errorf("validating picking %d: %w", id, missing("stock.picking", id))
	}
	res := ValidateResult{PickingID: id, State: recs[0].String("state"), BackorderID: firstID(recs[0].IDs("backorder_ids"))}
	if res.State != PickingDone {
		return res, fmt.Errorf("validating picking %d: %w", id, conflict("stock.picking", "picking still %s after button_validate", res.State))
	}
	c.pickings.markDone(id)
	return res, nil
}

func conflict(model, format string, args ...any) error {
	return classify(&Error{Kind: KindConflict, Model: model, Message: fmt.Sprintf(format, args...)})
}

func invalidInput(format string, args ...any) error {
	return classify(&Error{Kind: KindInvalid, Message: fmt.Sprintf(format, args...)})
}

func firstID(ids []int) int {
	if len(ids) == 0 {
		return 0
	}
	return slices.Min(ids)
}

func shipTotals(lines []ShipLine) (map[prodLot]float64, error) {
	if len(lines) == 0 {
		return nil, invalidInput("no lines to ship")
	}
	want := map[prodLot]float64{}
	for i, l := range lines {
		if l.ProductID <= 0 || !(l.Quantity > 0) || math.IsInf(l.Quantity, 0) {
			return nil, invalidInput("line %d: product %d quantity %g: need a product and a positive quantity", i, l.ProductID, l.Quantity)
		}
		want[prodLot{l.ProductID, l.Lot}] += l.Quantity
	}
	return want, nil
}

// sameShipment checks that done picking p shipped exactly want.
func sameShipment(p Picking, want map[prodLot]float64) error {
	got := map[prodLot]float64{}
	gotProd := map[int]float64{}
	for _, m := range p.Moves {
		if m.State != PickingDone {
			continue
		}
		gotProd[m.Product.ID] += m.Done
		for _, l := range m.Lines {
			if l.Lot.ID > 0 {
				got[prodLot{m.Product.ID, l.Lot.Name}] += l.Done
			}
		}
	}
	wantProd := map[int]float64{}
	for k, q := range want {
		wantProd[k.product] += q
		if k.lot != "" && !qtyEqual(got[k], q) {
			return conflict("stock.picking", "picking %s is already done with %g of lot %q of product %d, not %g", p.Name, got[k], k.lot, k.product, q)
		}
	}
	for prod := range mapsUnion(gotProd, wantProd) {
		if !qtyEqual(gotProd[prod], wantProd[prod]) {
			return conflict("stock.picking", "picking %s is already done with %g of product %d, not %g", p.Name, gotProd[prod], prod, wantProd[prod])
		}
	}
	return nil
}

func mapsUnion(a, b map[int]float64) map[int]struct{} {
	out := map[int]struct{}{}
	for k := range a {
		out[k] = struct{}{}
	}
	for k := range b {
		out[k] = struct{}{}
	}
	return out
}

// setShipped writes the shipped quantities on the picking's moves and move
// lines, in one write on the picking. It reports whether they fill the
// demand of every move still open, which leaves nothing for a backorder.
func (c *Client) setShipped(ctx context.Context, p Picking, want map[prodLot]float64) (complete bool, err error) {
	movesByProduct := map[int][]*Move{}
	for i := range p.Moves {
		m := &p.Moves[i]
		if m.State == PickingDone || m.State == PickingCancel {
			continue
		}
		movesByProduct[m.Product.ID] = append(movesByProduct[m.Product.ID], m)
	}
	var lotNames []string
	var lotProducts []int
	for k := range want {
		if len(movesByProduct[k.product]) == 0 {
			return false, conflict("stock.picking", "product %d is not to be shipped in picking %s", k.product, p.Name)
		}
		if k.lot != "" {
			lotNames = append(lotNames, k.lot)
			lotProducts = append(lotProducts, k.product)
		}
	}
	lotIDs, lotLoc, err := c.findLots(ctx, p.Location.ID, want, uniqStrings(lotNames), uniq(lotProducts))
	if err != nil {
		return false, err
	}

	// Distribute each (product, lot) quantity over the product's moves,
	// filling each move's demand in order; the last move takes the rest.
	type alloc struct {
		lotID int
		qty   float64
	}
	perMove := map[int][]alloc{}
	keys := slices.SortedFunc(maps.Keys(want), func(a, b prodLot) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.lot, b.lot))
	})
	filled := map[int]float64{}
	for _, k := range keys {
		q := want[k]
		ms := movesByProduct[k.product]
		for i, m := range ms {
			if q <= qtyEpsilon {
				break
			}
			take := q
			if i < len(ms)-1 {
				take = min(q, max(m.Demand-filled[m.ID], 0))
			}
			if take <= qtyEpsilon {
				continue
			}
			perMove[m.ID] = append(perMove[m.ID], alloc{lotIDs[k], take})
			filled[m.ID] += take
			q -= take
		}
	}

	// One write on the picking carries everything: move commands for
	// untracked moves on 17+ ({quantity, picked}, as the transcripts do on
	// stock.move), move line commands for lots (and for everything on 16,
	// where qty_done lives on the lines). The web client saves a picking
	// form the same way.
	doneField := c.profile.MoveLineDoneField
	var moveCmds, lineCmds []any
	productIDs := slices.Sorted(maps.Keys(movesByProduct))
	for _, pid := range productIDs {
		for _, m := range movesByProduct[pid] {
			allocs := perMove[m.ID]
			if len(allocs) == 0 {
				continue
			}
			tracked := slices.ContainsFunc(allocs, func(a alloc) bool { return a.lotID > 0 })
			if c.profile.HasPicked && !tracked {
				moveCmds = append(moveCmds, []any{1, m.ID, map[string]any{c.profile.MoveDoneField: filled[m.ID], "picked": true}})
				continue
			}
			// Reuse existing lines, first those already on the right lot;
			// create the missing ones; drop (17+) or zero (16) the rest.
			// On 17+ every line ends picked, which picks the move.
			free := slices.Clone(m.Lines)
			for _, a := range allocs {
				vals := map[string]any{doneField: a.qty}
				if a.lotID > 0 {
					vals["lot_id"] = a.lotID
				}
				if c.profile.HasPicked {
					vals["picked"] = true
				}
				idx := slices.IndexFunc(free, func(l MoveLine) bool { return l.Lot.ID == a.lotID })
				if idx < 0 && len(free) > 0 {
					idx = 0
				}
				if idx >= 0 {
					if loc := lotLoc[a.lotID]; loc > 0 && free[idx].Lot.ID != a.lotID && free[idx].Location.ID != loc {
						vals["location_id"] = loc
					}
					lineCmds = append(lineCmds, []any{1, free[idx].ID, vals})
					free = slices.Delete(free, idx, idx+1)
					continue
				}
				vals["move_id"] = m.ID
				vals["product_id"] = m.Product.ID
				vals["location_id"] = cmp.Or(lotLoc[a.lotID], p.Location.ID)
				vals["location_dest_id"] = p.LocationDest.ID
				if m.UoM.ID > 0 {
					vals["product_uom_id"] = m.UoM.ID
				}
				lineCmds = append(lineCmds, []any{0, 0, vals})
			}
			for _, l := range free {
				if c.profile.HasPicked {
					lineCmds = append(lineCmds, []any{2, l.ID, 0})
				} else {
					lineCmds = append(lineCmds, []any{1, l.ID, map[string]any{doneField: 0}})
				}
			}
		}
	}
	vals := map[string]any{}
	if len(moveCmds) > 0 {
		vals["move_ids"] = moveCmds
	}
	if len(lineCmds) > 0 {
		vals["move_line_ids"] = lineCmds
	}
	if len(vals) > 0 {
		if err := c.Write(ctx, "stock.picking", []int{p.ID}, vals); err != nil {
			return false, fmt.Errorf("setting shipped quantities: %w", err)
		}
	}
	complete = true
	for _, ms := range movesByProduct {
		for _, m := range ms {
			if filled[m.ID] < m.Demand-qtyEpsilon {
				complete = false
			}
		}
	}
	return complete, nil
}

// findLots resolves the lot names of want to lot ids, and each lot to the
// location under the picking's source location that holds most of it, in
// one stock.quant search; lots without stock there are looked up in
// stock.lot (one more call), and are shipped from the source location.
func (c *Client) findLots(ctx context.Context, srcLoc int, want map[prodLot]float64, names []string, products []int) (map[prodLot]int, map[int]int, error) {
	ids := map[prodLot]int{}
	locs := map[int]int{}
	if len(names) == 0 {
		return ids, locs, nil
	}
	d := Domain{Leaf("product_id", "in", products), Leaf("lot_id.name", "in", names), Leaf("quantity", ">", 0)}
	if srcLoc > 0 {
		d = append(d, Leaf("location_id", "child_of", srcLoc))
	} else {
		d = append(d, Leaf("location_id.usage", "=", "internal"))
	}
	quants, err := c.SearchRead(ctx, "stock.quant", d, &SearchOptions{Fields: []string{"product_id", "lot_id", "location_id", "quantity"}})
	if err != nil {
		return nil, nil, fmt.Errorf("finding lots in stock: %w", err)
	}
	best := map[int]float64{}
	for _, q := range quants {
		lot := q.M2O("lot_id")
		if lot.ID == 0 {
			continue
		}
		ids[prodLot{q.M2O("product_id").ID, lot.Name}] = lot.ID
		if qty := q.Float("quantity"); qty > best[lot.ID] {
			best[lot.ID], locs[lot.ID] = qty, q.M2O("location_id").ID
		}
	}
	var missingNames []string
	var missingProducts []int
	for k := range want {
		if k.lot != "" && ids[k] == 0 {
			missingNames = append(missingNames, k.lot)
			missingProducts = append(missingProducts, k.product)
		}
	}
	if len(missingNames) == 0 {
		return ids, locs, nil
	}
	recs, err := c.SearchRead(ctx, "stock.lot", Domain{Leaf("name", "in", uniqStrings(missingNames)), Leaf("product_id", "in", uniq(missingProducts))},
		&SearchOptions{Fields: []string{"name", "product_id"}})
	if err != nil {
		return nil, nil, fmt.Errorf("finding lots: %w", err)
	}
	for _, r := range recs {
		ids[prodLot{r.M2O("product_id").ID, r.String("name")}] = r.ID()
	}
	for k := range want {
		if k.lot != "" && ids[k] == 0 {
			return nil, nil, classify(&Error{Kind: KindMissing, Model: "stock.lot", Message: fmt.Sprintf("lot %q of product %d not found", k.lot, k.product)})
		}
	}
	return ids, locs, nil
}

// maxWizardSteps bounds the wizard answers of one validation.
const maxWizardSteps = 4

// buttonValidate calls button_validate on picking id and answers the
// wizards it returns until Odoo stops asking. It reports whether Odoo's
// last answer was true, which button_validate and the wizards' process
// give only after the picking is done (16–19); any other answer (a report
// to print) says nothing either way.
func (c *Client) buttonValidate(ctx context.Context, id int, policy BackorderPolicy) (validated bool, err error) {
	vctx := map[string]any{"skip_sms": true, "skip_backorder": true, "button_validate_picking_ids": []int{id}}
	if c.profile.ImmediateTransfer {
		vctx["skip_immediate"] = true
	}
	if policy == BackorderCancel {
		vctx["picking_ids_not_to_backorder"] = []int{id}
	}
	res, err := c.Execute(ctx, "stock.picking", "button_validate", []int{id}, &CallOptions{Context: vctx})
	if err != nil {
		return false, err
	}
	for range maxWizardSteps {
		act, ok := decodeAction(res)
		if !ok {
			return isTrue(res), nil
		}
		wctx := act.Context
		if wctx == nil {
			wctx = map[string]any{"button_validate_picking_ids": []int{id}}
		}
		if policy == BackorderCancel {
			if _, ok := wctx["picking_ids_not_to_backorder"]; !ok {
				wctx["picking_ids_not_to_backorder"] = []int{id}
			}
		}
		switch act.ResModel {
		case "confirm.stock.sms":
			wid := act.ResID
			if wid == 0 {
				ids, err := c.Create(ctx, act.ResModel, []map[string]any{{}}, &CallOptions{Context: wctx})
				if err != nil {
					return false, fmt.Errorf("answering the sms wizard: %w", err)
				}
				wid = ids[0]
			}
			res, err = c.Execute(ctx, act.ResModel, "dont_send_sms", []int{wid}, &CallOptions{Context: wctx})
			if err != nil {
				return false, fmt.Errorf("answering the sms wizard: %w", err)
			}
		case "stock.backorder.confirmation", "stock.immediate.transfer":
			wid := act.ResID
			if wid == 0 {
				ids, err := c.Create(ctx, act.ResModel, []map[string]any{{}}, &CallOptions{Context: wctx})
				if err != nil {
					return false, fmt.Errorf("answering the %s wizard: %w", act.ResModel, err)
				}
				wid = ids[0]
			}
			method := "process"
			if act.ResModel == "stock.backorder.confirmation" && policy == BackorderCancel {
				method = "process_cancel_backorder"
			}
			res, err = c.Execute(ctx, act.ResModel, method, []int{wid}, &CallOptions{Context: wctx})
			if err != nil {
				return false, fmt.Errorf("answering the %s wizard: %w", act.ResModel, err)
			}
		default:
			// Another action (a report to print): validation is over or not;
			// the caller re-reads the state.
			return false, nil
		}
	}
	return false, nil
}

// Action is an ir.actions.* dictionary as returned by business methods and
// wizards.
type Action struct {
	Type     string         `json:"type"`
	Name     string         `json:"name"`
	ResModel string         `json:"res_model"`
	ResID    int            `json:"res_id"`
	Context  map[string]any `json:"context"`
}

// isTrue reports whether a method's result is JSON true.
func isTrue(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "true"
}

// decodeAction reads an action dict; anything else (true, false, null) is
// not an action.
func decodeAction(raw json.RawMessage) (Action, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return Action{}, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return Action{}, false
	}
	a := Action{Type: jsonString(m["type"]), Name: jsonString(m["name"]), ResModel: jsonString(m["res_model"])}
	var id float64
	if json.Unmarshal(m["res_id"], &id) == nil {
		a.ResID = int(id)
	}
	var ctx map[string]any
	if json.Unmarshal(m["context"], &ctx) == nil {
		a.Context = ctx
	}
	return a, a.ResModel != "" || a.Type != ""
}

func uniq(ids []int) []int {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func uniqStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
