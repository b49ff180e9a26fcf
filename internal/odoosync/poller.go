// Package odoosync brings work out of Odoo into Waybill. A Poller reads the
// outgoing pickings that changed since a write_date watermark and turns
// them into events, fed through the same validation and deduplication as
// events received over HTTP:
//
//   - a picking Waybill has not seen becomes shipment.planned, its id
//     "<system>:<picking name>", with the sale order, the customer and its
//     delivery address, the warehouse, lines (one per stock move, SKU =
//     the product's internal reference) and weights;
//   - its reservation becomes inventory.reserved, with the reserved
//     quantity and lots of every line, each time it changes; a picking not
//     fully reserved also reports inventory.shortage, and every poll asks
//     Odoo to try reserving such pickings again (action_assign);
//   - a cancelled picking becomes shipment.cancelled.
//
// Event ids are derived from the picking and the content of the change, so
// the overlap window of the watermark, a restart or a webhook hint that
// reads the same picking again produce duplicates that intake drops.
package odoosync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/quantity"
)

// Emitter stores events; *intake.Emitter implements it.
type Emitter interface {
	Emit(ctx context.Context, raws [][]byte) ([]intake.Result, error)
}

// Cursors keeps the watermark; *sqldb.Cursors implements it.
type Cursors interface {
	Get(ctx context.Context, name string) (string, error)
	Set(ctx context.Context, name, cursor string) error
}

// Source is the CloudEvents source of the events the poller emits for the
// Odoo database db.
func Source(db string) string { return "odoo/" + db }

// Options configure a Poller.
type Options struct {
	// Client returns the Odoo client, connecting on first use.
	Client  func(ctx context.Context) (*odoo.Client, error)
	Emitter Emitter
	Cursors Cursors
	// System is the cross-reference system of Odoo names ("odoo").
	System string
	// Database names the Odoo database in event sources and the cursor.
	Database string
	// Interval is the time between polls. Overlap is how far before the
	// watermark each poll reads again, for transactions that committed
	// out of order.
	Interval, Overlap time.Duration
	// PageSize is the most pickings read per call.
	PageSize int
	// ReserveRetry is how often pickings waiting for stock are asked to
	// reserve again (action_assign); zero asks at every poll.
	ReserveRetry time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Poller polls one Odoo database. Run it once per database.
type Poller struct {
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
	source string
	cursor string

	short      map[int]bool // pickings waiting for stock, seen by polls
	lastAssign time.Time

	polls   *prometheus.CounterVec
	emitted *prometheus.CounterVec
	lag     prometheus.Gauge
}

// New returns a Poller.
func New(opts Options) (*Poller, error) {
	if opts.Client == nil || opts.Emitter == nil || opts.Cursors == nil || opts.System == "" || opts.Database == "" {
		return nil, errors.New("odoosync: client, emitter, cursors, system and database are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = odoo.ChangedPickingsLimitDefault
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Poller{
		opts:   opts,
		log:    log.With(slog.String("component", "odoo-poller"), slog.String("odoo_database", opts.Database)),
		wake:   make(chan struct{}, 1),
		short:  map[int]bool{},
		source: Source(opts.Database),
		cursor: "odoo/" + opts.Database + "/pickings",
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_odoo_polls_total", Help: "Polls of Odoo for changed pickings, by outcome (ok, error).",
		}, []string{"outcome"}),
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_odoo_poll_events_total", Help: "Events the Odoo poller produced, by type and outcome (new, duplicate).",
		}, []string{"type", "outcome"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_odoo_poll_watermark_age_seconds", Help: "Age of the Odoo picking watermark at the last successful poll.",
		}),
	}
	if opts.Registerer != nil {
		if err := registerAll(opts.Registerer, p.polls, p.emitted, p.lag); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering odoo poller metrics: %w", err)
		}
	}
	return nil
}

// Wake asks for a poll now, as an Odoo webhook does. It never blocks.
func (p *Poller) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run polls every Interval, and when woken, until ctx is done. Failures are
// logged and counted; the next poll tries again.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "polling odoo failed; trying again at the next poll", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-p.wake:
		}
	}
}

// Poll reads every picking changed since the watermark, emits its events,
// advances the watermark and asks Odoo to reserve short pickings again. It
// returns the number of new events. Run calls it; it must not run twice at
// once.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	n, err := p.poll(ctx)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	p.polls.WithLabelValues(outcome).Inc()
	return n, err
}

func (p *Poller) poll(ctx context.Context) (int, error) {
	cl, err := p.opts.Client(ctx)
	if err != nil {
		return 0, err
	}
	mark, err := p.opts.Cursors.Get(ctx, p.cursor)
	if err != nil {
		return 0, err
	}
	var since time.Time
	if mark != "" {
		if since, err = time.Parse(time.RFC3339Nano, mark); err != nil {
			return 0, fmt.Errorf("cursor %s: %w", p.cursor, err)
		}
	}
	total := 0
	for {
		pickings, next, err := cl.ChangedPickings(ctx, since, p.opts.Overlap, p.opts.PageSize)
		if err != nil {
			return total, err
		}
		p.prefetchNotes(ctx, cl, pickings)
		n, short, err := p.emit(ctx, cl, pickings)
		total += n
		if err != nil {
			return total, err
		}
		for _, pk := range pickings {
			delete(p.short, pk.ID)
		}
		for _, id := range short {
			p.short[id] = true
		}
		if !next.After(since) {
			break
		}
		// The watermark moves only once the page's events are stored.
		if err := p.opts.Cursors.Set(ctx, p.cursor, next.UTC().Format(time.RFC3339Nano)); err != nil {
			return total, err
		}
		p.lag.Set(time.Since(next).Seconds())
		if len(pickings) < p.opts.PageSize {
			break
		}
		since = next
	}
	p.reserveShort(ctx, cl)
	return total, nil
}

// prefetchNotes reads Waybill's notes on the open pickings of a page that
// the client does not know yet, in one call, so the actions that note
// milestones and validations on them need no search each. A failure only
// leaves that search to them.
func (p *Poller) prefetchNotes(ctx context.Context, cl *odoo.Client, pickings []odoo.Picking) {
	var ids []int
	for _, pk := range pickings {
		if pk.State != odoo.PickingCancel {
			ids = append(ids, pk.ID)
		}
	}
	if err := cl.PrefetchNotes(ctx, "stock.picking", ids, odoo.NoteMarker); err != nil && ctx.Err() == nil {
		p.log.WarnContext(ctx, "reading waybill's notes on odoo pickings failed; actions will look for them", slog.Any("err", err))
	}
}

// reserveShort asks Odoo to reserve the pickings waiting for stock again,
// every ReserveRetry: one that gets stock changes, and the next poll reads
// it. One call serves them all.
func (p *Poller) reserveShort(ctx context.Context, cl *odoo.Client) {
	if len(p.short) == 0 || time.Since(p.lastAssign) < p.opts.ReserveRetry {
		return
	}
	ids := make([]int, 0, len(p.short))
	for id := range p.short {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	p.lastAssign = time.Now()
	if _, err := cl.Execute(ctx, "stock.picking", "action_assign", ids, nil); err != nil {
		p.log.WarnContext(ctx, "asking odoo to reserve short pickings failed", slog.Any("err", err), slog.Any("picking_ids", ids))
	}
}

// emit turns pickings into events and stores them. It returns the ids of
// pickings that are waiting for stock.
func (p *Poller) emit(ctx context.Context, cl *odoo.Client, pickings []odoo.Picking) (int, []int, error) {
	if len(pickings) == 0 {
		return 0, nil, nil
	}
	ref, err := p.readReferences(ctx, cl, pickings)
	if err != nil {
		return 0, nil, err
	}
	var (
		raws  [][]byte
		types []string
		short []int
	)
	add := func(typ event.Type, id, subject string, at time.Time, data json.RawMessage) error {
		raw, err := cloudEvent(p.source, id, typ, subject, at, data)
		if err != nil {
			return err
		}
		raws, types = append(raws, raw), append(types, string(typ))
		return nil
	}
	for _, pk := range pickings {
		evs, waiting, err := p.pickingEvents(pk, ref)
		if err != nil {
			// One picking Waybill cannot describe (a unit it does not
			// know, a product without internal reference) must not
			// hold up the others: it is logged and counted.
			p.log.WarnContext(ctx, "skipping an odoo picking", slog.String("picking", pk.Name), slog.Any("err", err))
			p.emitted.WithLabelValues("", "skipped").Inc()
			continue
		}
		for _, e := range evs {
			if err := add(e.typ, e.id, p.opts.System+":"+pk.Name, e.at, e.data); err != nil {
				return 0, nil, err
			}
		}
		if waiting {
			short = append(short, pk.ID)
		}
	}
	res, err := p.opts.Emitter.Emit(ctx, raws)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	for i, r := range res {
		switch {
		case r.Err != nil:
			// The same event id with another payload: the picking was
			// planned before with other data. Waybill keeps the first.
			p.emitted.WithLabelValues(types[i], "conflict").Inc()
		case r.Duplicate:
			p.emitted.WithLabelValues(types[i], "duplicate").Inc()
		default:
			n++
			p.emitted.WithLabelValues(types[i], "new").Inc()
		}
	}
	return n, short, nil
}

type pendingEvent struct {
	typ  event.Type
	id   string
	at   time.Time
	data json.RawMessage
}

// pickingEvents describes one picking as events, and reports whether it is
// waiting for stock.
func (p *Poller) pickingEvents(pk odoo.Picking, ref *references) ([]pendingEvent, bool, error) {
	base := "picking-" + strconv.Itoa(pk.ID)
	at := pk.WriteDate
	if pk.State == odoo.PickingCancel {
		cancelled, err := canonical(event.ShipmentCancelledData{Reason: "cancelled in Odoo"})
		if err != nil {
			return nil, false, err
		}
		return []pendingEvent{{typ: event.ShipmentCancelled, id: base + "-cancelled", at: at, data: cancelled}}, false, nil
	}
	plannedData, err := p.planned(pk, ref)
	if err != nil {
		return nil, false, err
	}
	planned, err := canonical(plannedData)
	if err != nil {
		return nil, false, err
	}
	// planned is emitted every time with the same id: intake drops the
	// repeats. Its time is the scheduled date, fixed at creation.
	plannedAt := pk.ScheduledDate
	if plannedAt.IsZero() {
		plannedAt = at
	}
	evs := []pendingEvent{{typ: event.ShipmentPlanned, id: base + "-planned", at: plannedAt, data: planned}}
	switch pk.State {
	case odoo.PickingDone, odoo.PickingDraft:
		return evs, false, nil
	}
	reservedData, full, err := reservation(pk, ref)
	if err != nil {
		return nil, false, err
	}
	reserved, err := canonical(reservedData)
	if err != nil {
		return nil, false, err
	}
	digest := digestOf(reserved)
	evs = append(evs, pendingEvent{typ: event.InventoryReserved, id: base + "-reserved-" + digest, at: at, data: reserved})
	if !full {
		shortage, err := canonical(shortageOf(pk, ref))
		if err != nil {
			return nil, false, err
		}
		evs = append(evs, pendingEvent{typ: event.InventoryShortage, id: base + "-shortage-" + digest, at: at, data: shortage})
	}
	return evs, !full, nil
}

func (p *Poller) planned(pk odoo.Picking, ref *references) (*event.ShipmentPlannedData, error) {
	lines := make([]event.PlannedLine, 0, len(pk.Moves))
	var weight *big.Rat
	for _, m := range pk.Moves {
		if m.State == "cancel" {
			continue
		}
		prod, ok := ref.products[m.Product.ID]
		if !ok || prod.code == "" {
			return nil, fmt.Errorf("product %q has no internal reference to use as SKU", m.Product.Name)
		}
		q, err := qty(m.Demand, m.UoM.Name)
		if err != nil {
			return nil, err
		}
		l := event.PlannedLine{LineID: strconv.Itoa(m.ID), SKU: prod.code, Description: prod.name, Quantity: q}
		if prod.weight > 0 {
			w := new(big.Rat).Mul(rat(prod.weight), rat(m.Demand))
			if l.Weight, err = kilograms(w); err != nil {
				return nil, err
			}
			if weight == nil {
				weight = new(big.Rat)
			}
			weight.Add(weight, w)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, errors.New("no moves to ship")
	}
	d := &event.ShipmentPlannedData{
		Customer: ref.party(pk.Partner, p.opts.System),
		Origin: &event.Location{
			Ref:  p.opts.System + ":stock.location/" + strconv.Itoa(pk.Location.ID),
			Name: orName(pk.Location.Name, "warehouse"),
		},
		Destination: ref.address(pk.Partner, p.opts.System),
		Lines:       lines,
		References:  map[string]string{"odoo_picking_id": strconv.Itoa(pk.ID)},
	}
	if pk.Sale != nil {
		d.Order = p.opts.System + ":" + pk.Sale.Name
		if pk.Sale.ClientRef != "" {
			d.References["po"] = pk.Sale.ClientRef
		}
	}
	if pk.Carrier.ID != 0 {
		d.Carrier = &event.Carrier{Ref: p.opts.System + ":delivery.carrier/" + strconv.Itoa(pk.Carrier.ID), Name: pk.Carrier.Name}
	}
	if weight != nil {
		w, err := kilograms(weight)
		if err != nil {
			return nil, err
		}
		d.Weight = w
	}
	return d, nil
}

// reservation returns the inventory.reserved data of pk and whether every
// move is fully reserved.
func reservation(pk odoo.Picking, ref *references) (*event.InventoryReservedData, bool, error) {
	full := true
	lines := make([]event.ReservedLine, 0, len(pk.Moves))
	for _, m := range pk.Moves {
		if m.State == "cancel" {
			continue
		}
		q, err := qty(m.Reserved, m.UoM.Name)
		if err != nil {
			return nil, false, err
		}
		l := event.ReservedLine{LineID: strconv.Itoa(m.ID), Quantity: q}
		lots := map[string]float64{}
		var names []string
		for _, ml := range m.Lines {
			if ml.Lot.Name == "" || ml.Reserved <= 0 {
				continue
			}
			if _, ok := lots[ml.Lot.Name]; !ok {
				names = append(names, ml.Lot.Name)
			}
			lots[ml.Lot.Name] += ml.Reserved
		}
		if len(names) > 0 {
			slices.Sort(names)
			for _, n := range names {
				lq, err := qty(lots[n], m.UoM.Name)
				if err != nil {
					return nil, false, err
				}
				l.Lots = append(l.Lots, event.Lot{Lot: n, Quantity: lq})
			}
		}
		if m.Reserved < m.Demand {
			full = false
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, false, errors.New("no moves to reserve")
	}
	return &event.InventoryReservedData{Lines: lines}, full, nil
}

func shortageOf(pk odoo.Picking, _ *references) *event.InventoryShortageData {
	d := &event.InventoryShortageData{Reason: "Odoo could not reserve the full quantity of " + pk.Name}
	for _, m := range pk.Moves {
		if m.State == "cancel" || m.Reserved >= m.Demand {
			continue
		}
		req, err1 := qty(m.Demand, m.UoM.Name)
		avail, err2 := qty(m.Reserved, m.UoM.Name)
		if err1 != nil || err2 != nil {
			continue
		}
		d.Lines = append(d.Lines, event.ShortageLine{LineID: strconv.Itoa(m.ID), Required: req, Available: avail})
	}
	return d
}

// cloudEvent renders one structured-mode CloudEvent.
func cloudEvent(source, id string, typ event.Type, subject string, at time.Time, data json.RawMessage) ([]byte, error) {
	if at.IsZero() {
		at = time.Unix(0, 0)
	}
	return event.CloudEvent{ID: id, Source: source, Type: typ, Subject: subject, Time: at.UTC(), Data: data}.MarshalJSON()
}

// canonical encodes event data with its object members sorted by name, the
// form this poller has always sent. The planned event of a picking is sent
// again on every poll under the same id, and the reserved event's id holds
// a digest of its data: the bytes must stay the same from one release to
// the next, or intake would see a conflict, or a new reservation.
func canonical(data any) (json.RawMessage, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func digestOf(b json.RawMessage) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// uomCodes maps Odoo's standard unit of measure names to UN/ECE
// Recommendation 20 codes.
var uomCodes = map[string]string{
	"units": "C62", "unit": "C62", "unit(s)": "C62", "dozens": "DZN", "dozen": "DZN",
	"kg": "KGM", "g": "GRM", "t": "TNE", "lb": "LBR", "lbs": "LBR", "oz": "ONZ",
	"l": "LTR", "liter": "LTR", "liters": "LTR", "m³": "MTQ", "m3": "MTQ",
	"m": "MTR", "km": "KMT", "cm": "CMT", "mm": "MMT",
}

// qty renders an Odoo quantity in its unit of measure as a canonical
// quantity. Odoo's floats are rounded to the UoM's precision already; six
// decimals keep every value Odoo shows.
func qty(v float64, uom string) (quantity.Quantity, error) {
	code, ok := uomCodes[strings.ToLower(strings.TrimSpace(uom))]
	if !ok {
		return quantity.Quantity{}, fmt.Errorf("unit of measure %q has no UN/ECE code", uom)
	}
	d := strconv.FormatFloat(v, 'f', 6, 64)
	d = strings.TrimRight(strings.TrimRight(d, "0"), ".")
	return quantity.Parse(d, code)
}

// kilograms is a weight in kilograms, to six decimals.
func kilograms(r *big.Rat) (*quantity.Quantity, error) {
	q, err := quantity.Parse(decimal(r), string(quantity.KGM))
	if err != nil {
		return nil, err
	}
	return &q, nil
}

func rat(f float64) *big.Rat {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	if r == nil {
		return new(big.Rat)
	}
	return r
}

func decimal(r *big.Rat) string {
	s := r.FloatString(6)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

func orName(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
