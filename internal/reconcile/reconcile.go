package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

// Record states.
const (
	StateOpen     = "open"
	StateApproved = "approved"
	StateRejected = "rejected"
)

// Errors callers branch on.
var (
	// ErrNotFound: no reconciliation has the id.
	ErrNotFound = sqldb.ErrNotFound
	// ErrDecided: the day was already decided otherwise.
	ErrDecided = errors.New("reconciliation already decided")
	// ErrInvalid: a bad date, warehouse, decision or cursor.
	ErrInvalid = errors.New("invalid reconciliation parameters")
	// ErrNoOdoo: no Odoo connector is configured.
	ErrNoOdoo = errors.New("no odoo connector configured")
)

// Record is one reconciliation of a business day.
type Record struct {
	ID        string `json:"id"`
	Date      string `json:"date"`
	Warehouse string `json:"warehouse,omitempty"`
	State     string `json:"state"`
	// Shipments is how many shipments were compared.
	Shipments   int             `json:"shipments"`
	Counts      map[Type]int    `json:"counts"`
	Differences []Difference    `json:"differences"`
	Totals      []CustomerTotal `json:"totals"`
	// OdooCalls is how many calls to Odoo the last run made.
	OdooCalls int `json:"odoo_calls"`
	// InvoiceRefs are the invoice references of the day's delivered
	// shipments: the invoices approving the day posts.
	InvoiceRefs []string `json:"invoice_refs"`
	// Posted lists the draft invoices the approval posted. While the day
	// is open it lists those an approval under way is posting, written
	// before Odoo posts them.
	Posted []int `json:"posted,omitempty"`
	// Runs are the latest runs of the day, oldest first: when, what
	// started them and what they found.
	Runs      []Run      `json:"runs"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// JobInserter enqueues the healing actions in the transaction that saves
// the record (jobqueue.Queue).
type JobInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, actions []connector.Action) error
}

// Options configures a [Reconciler].
type Options struct {
	DB        *sqldb.DB
	Shipments *workflow.Store
	// Odoo returns the Odoo client (odoo.Connector.Connect); nil refuses
	// every run with ErrNoOdoo.
	Odoo func(ctx context.Context) (*odoo.Client, error)
	// System is the cross-reference system of Odoo names (connectors.odoo.system).
	System string
	// Jobs enqueues healing actions; nil heals nothing (differences stay
	// marked safe, with no action enqueued).
	Jobs JobInserter
	// PostDrafts makes approving a day post its draft invoices
	// (connectors.odoo.invoice_state: draft).
	PostDrafts bool
	// Location is the business day's time zone where no schedule names
	// one. Defaults to UTC.
	Location *time.Location
	// Schedules say when each warehouse's business day ends; none is the
	// calendar day in Location for every warehouse together. A schedule
	// with an empty warehouse is the default of the warehouses no other
	// one names. The scheduled run (RunDue) runs each of them.
	Schedules []Schedule
	// Grace is how long after a day's cut-off the scheduled run waits,
	// for late proofs of delivery and invoices.
	Grace time.Duration
	// CatchUp is how many days before the latest one the scheduled run
	// looks back for days no run covered (the server was down).
	CatchUp int
	// Registerer receives the reconciliation metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Reconciler runs, stores and decides reconciliations. It is safe for
// concurrent use; runs of the same day and warehouse are serialised by the
// record's unique key (the later one updates the record).
type Reconciler struct {
	opts Options

	runs   *prometheus.CounterVec
	healed *prometheus.CounterVec

	mu    sync.Mutex
	first time.Time // when the first shipment was recorded, once known
}

// New returns a Reconciler.
func New(opts Options) (*Reconciler, error) {
	if opts.DB == nil || opts.Shipments == nil {
		return nil, errors.New("reconcile: a database and a shipment store are required")
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	for i, s := range opts.Schedules {
		if s.Cutoff <= 0 || s.Cutoff > 24*time.Hour || s.Cutoff%time.Minute != 0 {
			return nil, fmt.Errorf("reconcile: the cut-off of warehouse %q must be whole minutes after 00:00, at most 24:00", s.Warehouse)
		}
		if s.Location == nil {
			opts.Schedules[i].Location = opts.Location
		}
	}
	if opts.Grace < 0 || opts.CatchUp < 0 {
		return nil, errors.New("reconcile: grace and catch-up cannot be negative")
	}
	r := &Reconciler{opts: opts,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_reconciliation_runs_total",
			Help: "Runs of a business day's reconciliation with Odoo, by trigger: manual (API or CLI), schedule (after the day's cut-off) or recovery (after an outage).",
		}, []string{"trigger"}),
		healed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_reconciliation_healed_total",
			Help: "Differences a reconciliation healed by enqueuing the normal outbound action again, by difference type (missing_invoice, missing_validation).",
		}, []string{"type"}),
	}
	for _, t := range Triggers() {
		r.runs.WithLabelValues(t)
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(r.runs); err != nil {
			return nil, err
		}
		if err := opts.Registerer.Register(r.healed); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// RunParams selects the day to reconcile.
type RunParams struct {
	// Date is the business day, YYYY-MM-DD, in the configured zone.
	Date string
	// Warehouse, when set, keeps the shipments whose origin's name is it
	// or starts with it and a slash (WH for WH/Stock).
	Warehouse string
	// CorrelationID goes on the healing actions.
	CorrelationID string
	// Trigger says what started the run: TriggerManual (the default),
	// TriggerSchedule or TriggerRecovery.
	Trigger string
	// Cause says why a recovery runs.
	Cause string
}

// Day returns the bounds of the calendar day date in loc.
func Day(date string, loc *time.Location) (from, to time.Time, err error) {
	d, err := time.ParseInLocation("2006-01-02", date, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalid, date)
	}
	return d, d.AddDate(0, 0, 1), nil
}

// Run reconciles a day now and saves the record: a new one, or the day's
// open record updated with what is found now. A day already approved or
// rejected is not run again: its record is returned as it stands. Safe
// differences are healed in the transaction that saves the record.
func (r *Reconciler) Run(ctx context.Context, p RunParams) (*Record, error) {
	from, to, err := r.Bounds(p.Date, p.Warehouse)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(p.Warehouse, "\x00\n") || len(p.Warehouse) > 100 {
		return nil, fmt.Errorf("%w: warehouse %q", ErrInvalid, p.Warehouse)
	}
	switch p.Trigger {
	case "":
		p.Trigger = TriggerManual
	case TriggerManual, TriggerSchedule, TriggerRecovery:
	default:
		return nil, fmt.Errorf("%w: trigger %q", ErrInvalid, p.Trigger)
	}
	prev, err := r.byDay(ctx, p.Date, p.Warehouse)
	switch {
	case err == nil && prev.State != StateOpen:
		return prev, nil
	case errors.Is(err, ErrNotFound):
		prev = nil
	case err != nil:
		return nil, err
	}
	if r.opts.Odoo == nil {
		return nil, ErrNoOdoo
	}
	all, err := r.opts.Shipments.UpdatedBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var ships []*shipment.Shipment
	for _, sh := range all {
		if inWarehouse(sh, p.Warehouse) {
			ships = append(ships, sh)
		}
	}
	links := make(map[string]pickingLink, len(ships))
	q := &odoo.PickingQuery{DoneFrom: from, DoneTo: to}
	refs := make([]string, 0, len(ships))
	for _, sh := range ships {
		refs = append(refs, InvoiceRef(sh.ID))
		if !loaded(sh) {
			continue
		}
		var xrefs []shipment.Xref
		if sh.Picking == nil {
			if xrefs, err = r.opts.Shipments.Xrefs(ctx, sh.ID); err != nil {
				return nil, err
			}
		}
		l := linkOf(sh, r.opts.System, xrefs)
		links[sh.ID] = l
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
	before := calls(cl)
	var od odooDay
	if od.invoices, err = cl.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: refs, RefPrefix: invoiceRefPrefix, CreatedFrom: from, CreatedTo: to}); err != nil {
		return nil, err
	}
	if od.pickings, err = cl.ReconcilePickings(ctx, q); err != nil {
		return nil, err
	}
	var products []int
	for _, inv := range od.invoices {
		for _, l := range inv.Lines {
			products = append(products, l.Product.ID)
		}
	}
	for _, pk := range od.pickings {
		for _, m := range pk.Moves {
			products = append(products, m.Product.ID)
		}
	}
	if od.codes, err = cl.ProductCodes(ctx, products); err != nil {
		return nil, err
	}
	odooCalls := calls(cl) - before
	cp := compareParams{links: links, known: map[string]bool{}, loadedElsewhere: map[int]bool{}}
	ours := map[string]bool{}
	for _, sh := range ships {
		ours[InvoiceRef(sh.ID)] = true
	}
	// An invoice of another day's (or warehouse's) delivered shipment is
	// no orphan; nor is a picking another shipment loaded.
	for _, inv := range od.invoices {
		if ours[inv.Ref] || cp.known[inv.Ref] {
			continue
		}
		sh, err := r.opts.Shipments.Get(ctx, strings.TrimPrefix(inv.Ref, invoiceRefPrefix))
		switch {
		case errors.Is(err, workflow.ErrNotFound) || errors.Is(err, shipment.ErrBadRef):
		case err != nil:
			return nil, err
		case delivered(sh):
			cp.known[inv.Ref] = true
		}
	}
	for _, pk := range od.pickings {
		id, err := r.opts.Shipments.Resolve(ctx, shipment.KindShipment, r.opts.System+":"+pk.Name)
		if err != nil {
			continue
		}
		if ours[InvoiceRef(id)] {
			continue
		}
		if sh, err := r.opts.Shipments.Get(ctx, id); err == nil && loaded(sh) {
			cp.loadedElsewhere[pk.ID] = true
		}
	}
	diffs, totals := compare(ships, od, cp)
	now := r.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	rec := &Record{ID: uuid.Must(uuid.NewV7()).String(), Date: p.Date, Warehouse: p.Warehouse, State: StateOpen,
		Shipments: len(ships), Differences: diffs, Totals: totals, OdooCalls: odooCalls, CreatedAt: now, UpdatedAt: now}
	rec.Counts = counts(diffs)
	for _, sh := range ships {
		if delivered(sh) {
			rec.InvoiceRefs = append(rec.InvoiceRefs, InvoiceRef(sh.ID))
		}
	}
	byID := map[string]*shipment.Shipment{}
	for _, sh := range ships {
		byID[sh.ID] = sh
	}
	var heal []connector.Action
	for i := range rec.Differences {
		d := &rec.Differences[i]
		if !d.Safe || r.opts.Jobs == nil {
			continue
		}
		kind := shipment.ActionInvoicePrepare
		if d.Type == MissingValidation {
			kind = shipment.ActionPickingValidate
		}
		snap, err := json.Marshal(byID[d.ShipmentID])
		if err != nil {
			return nil, fmt.Errorf("encoding shipment %s: %w", d.ShipmentID, err)
		}
		key := "reconcile/" + p.Date + "/" + d.ShipmentID + "/" + kind
		heal = append(heal, connector.Action{Kind: kind, ShipmentID: d.ShipmentID, EventID: "reconcile:" + p.Date,
			CorrelationID: cmpOr(p.CorrelationID, key), IdempotencyKey: key, Payload: snap})
		d.Healed = kind
	}
	run := Run{At: now, Trigger: p.Trigger, Cause: p.Cause, Differences: len(rec.Differences), Healed: len(heal), OdooCalls: odooCalls}
	for _, d := range rec.Differences {
		if d.Review != nil {
			run.Reviews++
		}
	}
	if prev != nil {
		rec.Runs = prev.Runs
	}
	rec.Runs = append(rec.Runs, run)
	if len(rec.Runs) > maxRuns {
		rec.Runs = rec.Runs[len(rec.Runs)-maxRuns:]
	}
	err = r.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		saved, err := r.save(ctx, tx, rec)
		if err != nil {
			return err
		}
		if saved.State != StateOpen {
			// Decided meanwhile: nothing to heal, keep the decision.
			*rec = *saved
			return nil
		}
		rec.ID, rec.CreatedAt = saved.ID, saved.CreatedAt
		r.runs.WithLabelValues(p.Trigger).Inc()
		for _, a := range heal {
			typ := MissingInvoice
			if a.Kind == shipment.ActionPickingValidate {
				typ = MissingValidation
			}
			r.healed.WithLabelValues(string(typ)).Inc()
		}
		if len(heal) > 0 {
			if err := r.opts.Jobs.InsertTx(ctx, tx, heal); err != nil {
				return fmt.Errorf("enqueuing healing actions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("saving the reconciliation of %s: %w", p.Date, err)
	}
	r.opts.Logger.InfoContext(ctx, "day reconciled", slog.String("date", p.Date), slog.String("warehouse", p.Warehouse), slog.String("trigger", p.Trigger),
		slog.Int("shipments", rec.Shipments), slog.Int("differences", len(rec.Differences)), slog.Int("healed", len(heal)),
		slog.Int("odoo_calls", odooCalls))
	return rec, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func calls(cl *odoo.Client) int {
	n := 0
	for _, v := range cl.Calls() {
		n += v
	}
	return n
}

func counts(diffs []Difference) map[Type]int {
	out := map[Type]int{}
	for _, t := range Types() {
		out[t] = 0
	}
	for _, d := range diffs {
		out[d.Type]++
	}
	return out
}

func inWarehouse(sh *shipment.Shipment, wh string) bool {
	if wh == "" {
		return true
	}
	if sh.Origin == nil {
		return false
	}
	return sh.Origin.Name == wh || strings.HasPrefix(sh.Origin.Name, wh+"/")
}

// doc is what the doc column holds.
type doc struct {
	Counts      map[Type]int    `json:"counts"`
	Differences []Difference    `json:"differences"`
	Totals      []CustomerTotal `json:"totals"`
	OdooCalls   int             `json:"odoo_calls"`
	Posted      []int           `json:"posted,omitempty"`
	InvoiceRefs []string        `json:"invoice_refs"`
	Runs        []Run           `json:"runs,omitempty"`
}

const recordColumns = `id, day, warehouse, state, shipments, doc, decided_by, decided_at, reason, created_at, updated_at`

// save inserts rec, or updates the day's record while it is open, and
// returns the record as stored.
func (r *Reconciler) save(ctx context.Context, tx *sql.Tx, rec *Record) (*Record, error) {
	d := r.opts.DB.Dialect
	// The invoices an approval under way posts stay on the record
	// (postDrafts).
	if prev, err := scanRecord(tx.QueryRowContext(ctx, d.Rebind(`SELECT `+recordColumns+` FROM reconciliations WHERE day = ? AND warehouse = ?`), rec.Date, rec.Warehouse)); err == nil && prev.State == StateOpen {
		rec.Posted = prev.Posted
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	raw, err := json.Marshal(doc{Counts: rec.Counts, Differences: rec.Differences, Totals: rec.Totals, OdooCalls: rec.OdooCalls, Posted: rec.Posted, InvoiceRefs: rec.InvoiceRefs, Runs: rec.Runs})
	if err != nil {
		return nil, fmt.Errorf("encoding the reconciliation: %w", err)
	}
	_, err = tx.ExecContext(ctx, d.Rebind(`INSERT INTO reconciliations (id, day, warehouse, state, shipments, differences, doc, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (day, warehouse) DO UPDATE SET shipments = excluded.shipments, differences = excluded.differences, doc = excluded.doc, updated_at = excluded.updated_at
WHERE reconciliations.state = 'open'`),
		rec.ID, rec.Date, rec.Warehouse, StateOpen, rec.Shipments, len(rec.Differences), string(raw), rec.CreatedAt.UnixMicro(), rec.UpdatedAt.UnixMicro())
	if err != nil {
		return nil, err
	}
	return scanRecord(tx.QueryRowContext(ctx, d.Rebind(`SELECT `+recordColumns+` FROM reconciliations WHERE day = ? AND warehouse = ?`), rec.Date, rec.Warehouse))
}

type rowScanner interface{ Scan(dest ...any) error }

func scanRecord(row rowScanner) (*Record, error) {
	var (
		rec              Record
		raw              string
		decidedAt        sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&rec.ID, &rec.Date, &rec.Warehouse, &rec.State, &rec.Shipments, &raw, &rec.DecidedBy, &decidedAt, &rec.Reason, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading a reconciliation: %w", err)
	}
	var d doc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, fmt.Errorf("decoding reconciliation %s: %w", rec.ID, err)
	}
	rec.Counts, rec.Differences, rec.Totals, rec.OdooCalls, rec.Posted, rec.InvoiceRefs, rec.Runs = d.Counts, d.Differences, d.Totals, d.OdooCalls, d.Posted, d.InvoiceRefs, d.Runs
	if rec.Runs == nil {
		rec.Runs = []Run{}
	}
	if rec.Differences == nil {
		rec.Differences = []Difference{}
	}
	if rec.Totals == nil {
		rec.Totals = []CustomerTotal{}
	}
	if decidedAt.Valid {
		t := time.UnixMicro(decidedAt.Int64).UTC()
		rec.DecidedAt = &t
	}
	rec.CreatedAt, rec.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return &rec, nil
}

func (r *Reconciler) byDay(ctx context.Context, date, warehouse string) (*Record, error) {
	return scanRecord(r.opts.DB.Reader.QueryRowContext(ctx, r.opts.DB.Dialect.Rebind(`SELECT `+recordColumns+` FROM reconciliations WHERE day = ? AND warehouse = ?`), date, warehouse))
}

// Get returns a reconciliation by id.
func (r *Reconciler) Get(ctx context.Context, id string) (*Record, error) {
	return scanRecord(r.opts.DB.Reader.QueryRowContext(ctx, r.opts.DB.Dialect.Rebind(`SELECT `+recordColumns+` FROM reconciliations WHERE id = ?`), id))
}

// ListParams selects a page of reconciliations.
type ListParams struct {
	// Limit is the page size, 1..500.
	Limit int
	// Cursor continues after the page that returned it.
	Cursor string
}

// List returns reconciliations newest first and the cursor of the next
// page ("" when this is the last).
func (r *Reconciler) List(ctx context.Context, p ListParams) ([]*Record, string, error) {
	return page(ctx, r.opts.DB, "reconciliations", "reconciliations", recordColumns, p, scanRecord,
		func(rec *Record) (time.Time, string) { return rec.CreatedAt, rec.ID })
}

// Decisions.
const (
	Approve = "approve"
	Reject  = "reject"
)

// DecideParams is finance's decision on a day.
type DecideParams struct {
	ID       string
	Decision string // approve or reject
	Actor    string
	Reason   string
}

// Decide records the decision on a reconciliation and closes its reviews.
// Approving posts the day's draft invoices in Odoo when PostDrafts is set,
// before the decision is recorded: the posting looks for drafts first, so
// a retry after a crash posts nothing twice. Deciding again the same way
// returns the record as it stands (repeat reports that); deciding
// otherwise gives ErrDecided.
func (r *Reconciler) Decide(ctx context.Context, p DecideParams) (rec *Record, repeat bool, err error) {
	if p.Decision != Approve && p.Decision != Reject {
		return nil, false, fmt.Errorf("%w: decision %q is not approve or reject", ErrInvalid, p.Decision)
	}
	rec, err = r.Get(ctx, p.ID)
	if err != nil {
		return nil, false, err
	}
	state := StateApproved
	if p.Decision == Reject {
		state = StateRejected
	}
	if rec.State != StateOpen {
		if rec.State == state {
			return rec, true, nil
		}
		return rec, false, fmt.Errorf("%w: %s is %s by %s", ErrDecided, rec.ID, rec.State, rec.DecidedBy)
	}
	posted, err := r.postDrafts(ctx, rec, state == StateApproved && r.opts.PostDrafts)
	if errors.Is(err, errDecidedMeanwhile) {
		return r.Decide(ctx, p)
	}
	if err != nil {
		return nil, false, err
	}
	for i := range rec.Differences {
		if rv := rec.Differences[i].Review; rv != nil && rv.Status == ReviewOpen {
			rv.Status = state
		}
	}
	rec.Posted = posted
	now := r.opts.Now().UTC().Truncate(time.Microsecond) // as stored
	raw, err := json.Marshal(doc{Counts: rec.Counts, Differences: rec.Differences, Totals: rec.Totals, OdooCalls: rec.OdooCalls, Posted: rec.Posted, InvoiceRefs: rec.InvoiceRefs, Runs: rec.Runs})
	if err != nil {
		return nil, false, fmt.Errorf("encoding the reconciliation: %w", err)
	}
	var n int64
	err = r.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, r.opts.DB.Dialect.Rebind(`UPDATE reconciliations SET state = ?, doc = ?, decided_by = ?, decided_at = ?, reason = ?, updated_at = ?
WHERE id = ? AND state = 'open'`), state, string(raw), p.Actor, now.UnixMicro(), p.Reason, now.UnixMicro(), rec.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("recording the decision on %s: %w", rec.ID, err)
	}
	if n == 0 { // decided meanwhile
		return r.Decide(ctx, p)
	}
	out, err := r.Get(ctx, rec.ID)
	return out, false, err
}
