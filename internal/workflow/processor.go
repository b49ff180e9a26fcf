package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/subscription"
	"github.com/waybill/waybill/internal/tracing"
)

// Options configures a Processor.
type Options struct {
	Policy shipment.Policy
	// BatchSize is the most events applied per transaction.
	BatchSize int
	// MilestoneIntervals batches the sync of milestones of a type: a
	// milestone.sync action for it waits for the end of the current
	// interval, so those arriving together go out together. Types not
	// listed are synced at once.
	MilestoneIntervals map[event.Type]time.Duration
	// PollInterval is how often the processor looks for events when it is
	// not woken.
	PollInterval time.Duration
	Backlog      *intake.Backlog
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	// Now is the clock milestone intervals are measured on; nil is
	// time.Now.
	Now func() time.Time
	// Fence, when set, is called first in every transaction that writes
	// what events did: when it fails, nothing is written. Several serve
	// processes on one PostgreSQL database let the holder of a lease
	// apply events (sqldb.Lease.Fence); an error wrapping
	// sqldb.ErrLeaseLost leaves the events pending for the new holder.
	Fence func(ctx context.Context, tx *sql.Tx) error
	// Active, when set, reports whether this process applies events now
	// (holds the lease): intake applies events as it stores them only
	// then. Nil is always.
	Active func() bool
	// Partitions, when set, makes the processor one of several on a
	// PostgreSQL database, each applying the events routed (Router) to the
	// partitions its replica owns: it reads only those, fences its writes
	// on them, and sends an event whose shipment lives in another
	// partition there. Intake leaves events to it unless this replica
	// owns every partition.
	Partitions Partitioner
	// Publisher, when set, is told of every event applied to a shipment,
	// and writes what it sends to subscribers in the transaction that
	// applies it (subscription.Service).
	Publisher Publisher
	// TracerProvider, when set, traces each event applied as a span
	// ("apply event") that continues the event's trace (intake.Pending's
	// Trace, else its correlation id), and stores the span's traceparent
	// with the outbound actions it causes. Nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Publisher sends applied events to subscribers.
type Publisher interface {
	// Match returns the messages ev, just applied to sh, sends. It runs in
	// memory, in the batch.
	Match(sh *shipment.Shipment, ev *intake.Pending) []subscription.Message
	// InsertTx writes msgs in the transaction that applies their events.
	InsertTx(ctx context.Context, tx *sql.Tx, msgs []subscription.Message) error
}

// Processor applies accepted events to shipments. Run it once per
// database.
type Processor struct {
	db     *sqldb.DB
	events *intake.Store
	store  *Store
	jobs   JobInserter
	opts   Options
	wake   chan struct{}
	logger *slog.Logger
	tracer trace.Tracer // nil with tracing off
	// mu is held while a batch is applied, by Run or by ApplyInTx, so
	// that only one applies events at a time.
	mu sync.Mutex

	applied  *prometheus.CounterVec
	refused  *prometheus.CounterVec
	batches  prometheus.Histogram
	rerouted prometheus.Counter
}

// NewProcessor returns a Processor. jobs may be nil, in which case actions
// are dropped with a debug log (no connector is configured).
func NewProcessor(db *sqldb.DB, events *intake.Store, store *Store, jobs JobInserter, opts *Options) *Processor {
	p := &Processor{
		db: db, events: events, store: store, jobs: jobs, opts: *opts,
		wake:   make(chan struct{}, 1),
		logger: opts.Logger,
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_events_processed_total",
			Help: "Events the processor took, by type and outcome: accepted (applied to their shipment), late (a milestone recorded after a later one), rejected, failed.",
		}, []string{"type", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_events_refused_total",
			Help: "Accepted events that were not applied, by type, outcome (rejected, failed) and reason: unknown_shipment, workflow (a gate or the state table), invalid_data, bad_subject, undecodable, internal. GET /v1/events?state=rejected lists them.",
		}, []string{"type", "outcome", "reason"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waybill_processor_batch_seconds",
			Help:    "Time to apply and commit one batch of events.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		rerouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_events_rerouted_total",
			Help: "Events a replica sent on to the partition of their shipment, which the router could not tell when it routed them (several replicas on PostgreSQL). Such an event is applied after the shipment's events routed there directly, so it may count as late.",
		}),
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if opts.TracerProvider != nil {
		p.tracer = tracing.Tracer(opts.TracerProvider)
	}
	if p.opts.BatchSize <= 0 {
		p.opts.BatchSize = 500
	}
	if p.opts.Now == nil {
		p.opts.Now = time.Now
	}
	if p.opts.PollInterval <= 0 {
		p.opts.PollInterval = 250 * time.Millisecond
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(p.applied, p.refused, p.batches)
		if opts.Partitions != nil {
			opts.Registerer.MustRegister(p.rerouted)
		}
	}
	return p
}

// Wake asks the processor to look for events now. It never blocks.
func (p *Processor) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// batchGrace is how long a batch under way when Run's context ends may
// take to finish.
const batchGrace = 10 * time.Second

// Run applies events until ctx is done. A failing batch is retried after
// the poll interval; it is logged, not returned. A batch under way when ctx
// ends is finished (within batchGrace) rather than rolled back, so that
// shutdown does not throw away work already done.
func (p *Processor) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		n, err := p.finishing(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger.ErrorContext(ctx, "applying events failed", slog.Any("err", err))
		}
		if n == p.opts.BatchSize && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// finishing runs one batch that outlives ctx by up to batchGrace.
func (p *Processor) finishing(ctx context.Context) (int, error) {
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-bctx.Done():
		case <-time.After(batchGrace):
			cancel()
		}
	})
	defer stop()
	return p.ProcessBatch(bctx)
}

// ProcessBatch applies up to one batch of pending events and returns how
// many it processed.
//
// A batch is read and applied in memory first, without holding the writer;
// only its results are written in one short transaction. That keeps the
// single SQLite writer free for intake most of the time. It is safe because
// the processor is the only writer of shipments, orders, cross-references
// and event outcomes.
func (p *Processor) ProcessBatch(ctx context.Context) (int, error) {
	// Intake applies what it stores while the processor is idle: look
	// before taking the processor, so that it is busy only when there is
	// work left to it.
	var owned []int
	if p.opts.Partitions != nil {
		if owned = p.opts.Partitions.Owned(); len(owned) == 0 {
			return 0, nil
		}
	}
	if some, err := p.anyPending(ctx, owned); err != nil || !some {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pending, err := p.pending(ctx, owned)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	start := time.Now()
	// A panic while applying an event may have left shipments of the batch
	// half changed. Nothing is saved then: the batch is prepared again from
	// the database, with the events that panicked marked failed and not
	// applied, so every shipment is as its other events leave it.
	var failed map[int64]string
	var w *batchWrite
	for {
		w, err = p.prepare(ctx, pending, failed)
		var pe *panicked
		if !errors.As(err, &pe) {
			break
		}
		if failed == nil {
			failed = make(map[int64]string, len(pe.reasons))
		}
		maps.Copy(failed, pe.reasons)
	}
	if err != nil {
		return 0, err
	}
	err = p.db.InTx(ctx, func(tx *sql.Tx) error { return p.commit(ctx, tx, w, true) })
	if err != nil {
		return 0, err
	}
	p.done(w, len(pending)-len(w.reroutes)-w.deferred, start)
	if len(w.reroutes) > 0 {
		p.rerouted.Add(float64(len(w.reroutes)))
		p.logger.InfoContext(ctx, "events sent on to the partition of their shipment", slog.Int("events", len(w.reroutes)))
	}
	// Deferred events wait for another replica: they are no progress, and
	// the processor waits for its next poll to look at them again.
	return len(pending) - w.deferred, nil
}

// anyPending reports whether an event waits for this processor: in the
// partitions owned, when there are partitions.
func (p *Processor) anyPending(ctx context.Context, owned []int) (bool, error) {
	if p.opts.Partitions != nil {
		return p.events.AnyPendingIn(ctx, owned)
	}
	return p.events.AnyPending(ctx)
}

// pending reads a batch of the events that wait for this processor.
func (p *Processor) pending(ctx context.Context, owned []int) ([]intake.Pending, error) {
	if p.opts.Partitions != nil {
		return p.events.PendingIn(ctx, owned, p.opts.BatchSize)
	}
	return p.events.Pending(ctx, p.opts.BatchSize)
}

// others are the partitions this processor does not own.
func (p *Processor) others() []int {
	owned := p.opts.Partitions.Owned()
	var out []int
	for i := range p.opts.Partitions.Count() {
		if !slices.Contains(owned, i) {
			out = append(out, i)
		}
	}
	return out
}

// partitions is the number of partitions shipments are spread over: 1
// without partitions.
func (p *Processor) partitions() int {
	if p.opts.Partitions == nil {
		return 1
	}
	return p.opts.Partitions.Count()
}

// elsewhere reports the partition of the shipment or order id when ev
// was routed to another one: the router did not know yet, when it routed
// ev, which shipment a key names.
func (p *Processor) elsewhere(ev intake.Pending, id string) (int, bool) {
	if p.opts.Partitions == nil || ev.Part < 0 || id == "" {
		return 0, false
	}
	q := PartitionOf(id, p.opts.Partitions.Count())
	return q, q != ev.Part
}

// done counts a committed batch of n events.
func (p *Processor) done(w *batchWrite, n int, start time.Time) {
	p.batches.Observe(time.Since(start).Seconds())
	for _, c := range w.counts {
		p.applied.WithLabelValues(string(c.typ), c.outcome).Inc()
		if c.cause != "" {
			p.refused.WithLabelValues(string(c.typ), c.outcome, c.cause).Inc()
		}
	}
	if p.opts.Backlog != nil {
		p.opts.Backlog.Add(-int64(n))
	}
}

// ApplyInTx applies events intake is storing, in tx, the transaction that
// stores them (an intake.ApplyFunc), and returns their outcomes for intake
// to store them with: an accepted event, its outcome, its effect on its
// shipment and the outbound actions it causes are then one durable write,
// and nothing is read or decoded again. It applies nothing, leaving the
// events pending for Run, when the processor is busy or when an older
// event is still pending: events of a shipment are applied in acceptance
// order either way. A batch that panics is left to Run too, which isolates
// the event. An error means a write in tx failed. The processor stays busy
// until tx has ended.
func (p *Processor) ApplyInTx(ctx context.Context, tx *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(committed bool), error) {
	if len(evs) == 0 || (p.opts.Active != nil && !p.opts.Active()) {
		return nil, nil, nil
	}
	var all []int
	if p.opts.Partitions != nil {
		// With partitions, only a replica that owns them all (one alone
		// on the database) applies events as they are stored.
		if all = p.opts.Partitions.Owned(); len(all) != p.opts.Partitions.Count() {
			return nil, nil, nil
		}
	}
	if !p.mu.TryLock() {
		return nil, nil, nil
	}
	start := time.Now()
	w, err := p.applyInTx(ctx, tx, evs, all)
	if w == nil {
		p.mu.Unlock()
		return nil, nil, err
	}
	return w.outcomes, func(committed bool) {
		defer p.mu.Unlock()
		if committed {
			p.done(w, len(evs), start)
		}
	}, nil
}

// applyInTx is ApplyInTx with the processor held: it returns what it
// wrote, or nil when it left the events pending.
func (p *Processor) applyInTx(ctx context.Context, tx *sql.Tx, evs []intake.Pending, parts []int) (*batchWrite, error) {
	if older, err := p.events.OlderPendingTx(ctx, tx, evs[0].Seq); err != nil || older {
		return nil, err
	}
	w, err := p.prepare(ctx, evs, nil)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.DebugContext(ctx, "events left to the processor", slog.Int("events", len(evs)), slog.Any("err", err))
		}
		return nil, nil
	}
	w.parts = parts
	if err := p.commit(ctx, tx, w, false); err != nil {
		if errors.Is(err, sqldb.ErrLeaseLost) {
			// Another process applies events: they stay pending for it.
			return nil, nil
		}
		p.logger.WarnContext(ctx, "applying events as they were stored failed: the processor applies them", slog.Any("err", err))
		return nil, err
	}
	return w, nil
}

type outcomeCount struct {
	typ     event.Type
	outcome string
	cause   string
}

// Causes of events that were not applied: the reason label of
// waybill_events_refused_total.
const (
	CauseUnknownShipment = "unknown_shipment"
	CauseWorkflow        = "workflow"
	CauseInvalidData     = "invalid_data"
	CauseBadSubject      = "bad_subject"
	CauseUndecodable     = "undecodable"
	CauseInternal        = "internal"
)

// batch is the in-memory state of one batch.
type batch struct {
	ships     map[string]*shipment.Shipment
	orders    map[string]*shipment.Order
	changed   map[string]bool
	changedOr map[string]bool
	refs      map[shipment.Ref]string  // external shipment refs → ids
	tracked   map[int64][]shipment.Ref // the keys of shipment.tracked events, by seq
	orderRefs map[shipment.Ref]string
	newXrefs  []newXref
	// failed are events that panicked in an earlier try of the batch;
	// panics collects those that panic in this one.
	failed, panics map[int64]string
	// reroutes are events sent on to the partition of their shipment.
	reroutes []intake.Route
	// messages are what the batch's events send to subscribers.
	messages []subscription.Message
	// teachBefore returns the oldest event pending in a partition this
	// processor does not own that may teach a shipment a key (0 when
	// none): an event naming an unknown key after it waits for it. It is
	// read once, when first needed.
	teachBefore func() int64
}

// stateDeferred is the outcome of an event that names an unknown key
// while an older event that may teach it is pending in another partition:
// it stays pending, and is looked at again once that one is applied.
const stateDeferred = "deferred"

// teaching are the events that teach a shipment keys (batch.learnKeys).
var teaching = []event.Type{event.ShipmentPlanned, event.DispatchAssigned, event.ShipmentTracked}

// stateRerouted is the outcome of an event sent on to another partition:
// it stays pending.
const stateRerouted = "rerouted"

// batchWrite is everything one batch writes, ready to bind.
type batchWrite struct {
	now      time.Time
	xrefs    []newXref
	ships    docRows
	reviews  docRows
	orders   docRows
	outcomes []intake.Outcome
	actions  []connector.Action
	counts   []outcomeCount
	// parts are the partitions of the batch's events; reroutes the
	// events sent on to another.
	parts    []int
	reroutes []intake.Route
	// deferred counts the events left pending for an older event of
	// another partition.
	deferred int
	messages []subscription.Message
}

// panicked is prepare's error when applying events panicked: the events
// (by seq) and what they panicked with.
type panicked struct{ reasons map[int64]string }

func (e *panicked) Error() string { return fmt.Sprintf("%d events panicked", len(e.reasons)) }

// prepare reads what pending refers to through the read pool, applies the
// events in memory and encodes the results. Events in failed are marked
// failed with their reason instead of being applied.
func (p *Processor) prepare(ctx context.Context, pending []intake.Pending, failed map[int64]string) (*batchWrite, error) {
	bt := batchTx{s: p.store, tx: p.db.Reader}
	b := &batch{changed: map[string]bool{}, changedOr: map[string]bool{}, tracked: map[int64][]shipment.Ref{},
		failed: failed, panics: map[int64]string{}}
	b.teachBefore = func() int64 { return 0 }
	if p.opts.Partitions != nil {
		b.teachBefore = sync.OnceValue(func() int64 {
			seq, err := p.events.OldestPendingIn(ctx, p.others(), teaching)
			if err != nil {
				// As if one were pending: the event waits for the next
				// batch rather than be refused on a guess.
				p.logger.WarnContext(ctx, "looking for older events of other partitions failed", slog.Any("err", err))
				return 1
			}
			return seq
		})
	}

	// Resolve every subject and load every shipment and order named.
	var shipRefs, orderRefs []shipment.Ref
	var ids, orderIDs []string
	for _, ev := range pending {
		r, err := shipment.ParseRef(ev.Subject)
		if err != nil {
			continue
		}
		isOrder := ev.Type == event.OrderConfirmed
		if ev.Type == event.ShipmentTracked {
			refs := shipment.TrackedRefs(ev.Data)
			b.tracked[ev.Seq] = refs
			shipRefs = append(shipRefs, refs...)
		}
		switch {
		case r.Canonical != "" && isOrder:
			orderIDs = append(orderIDs, r.Canonical)
		case r.Canonical != "":
			ids = append(ids, r.Canonical)
		case isOrder:
			orderRefs = append(orderRefs, r)
		default:
			shipRefs = append(shipRefs, r)
		}
	}
	var err error
	if b.refs, err = bt.resolve(ctx, shipment.KindShipment, shipRefs); err != nil {
		return nil, err
	}
	if b.orderRefs, err = bt.resolve(ctx, shipment.KindOrder, orderRefs); err != nil {
		return nil, err
	}
	for _, id := range b.refs {
		ids = append(ids, id)
	}
	for _, id := range b.orderRefs {
		orderIDs = append(orderIDs, id)
	}
	if b.ships, err = loadDocs[shipment.Shipment](ctx, bt, "shipments", ids); err != nil {
		return nil, err
	}
	if b.orders, err = loadDocs[shipment.Order](ctx, bt, "orders", orderIDs); err != nil {
		return nil, err
	}

	w := &batchWrite{
		now:      time.Now().UTC(),
		outcomes: make([]intake.Outcome, 0, len(pending)),
		counts:   make([]outcomeCount, 0, len(pending)),
	}
	for _, ev := range pending {
		o, acts := p.applyOne(ctx, b, ev)
		if _, ok := b.panics[ev.Seq]; ok {
			continue // the batch is prepared again
		}
		if o.State == stateDeferred {
			w.deferred++
		}
		if o.State == stateRerouted || o.State == stateDeferred {
			continue
		}
		w.outcomes = append(w.outcomes, o)
		w.actions = append(w.actions, acts...)
		label := o.State
		if o.State == intake.StateApplied && o.Reason != "" {
			label = shipment.OutcomeLate
		}
		w.counts = append(w.counts, outcomeCount{typ: ev.Type, outcome: label, cause: o.Cause})
	}
	if len(b.panics) > 0 {
		return nil, &panicked{reasons: b.panics}
	}
	w.actions = coalesceMilestones(w.actions)
	w.xrefs = b.newXrefs
	w.reroutes = b.reroutes
	w.messages = b.messages
	if p.opts.Partitions != nil {
		seen := map[int]bool{}
		for _, ev := range pending {
			if ev.Part >= 0 && !seen[ev.Part] {
				seen[ev.Part] = true
				w.parts = append(w.parts, ev.Part)
			}
		}
		slices.Sort(w.parts)
	}

	ships := make([]*shipment.Shipment, 0, len(b.changed))
	for id := range b.changed {
		ships = append(ships, b.ships[id])
	}
	if w.ships, err = p.store.encodeShipments(ships, w.now); err != nil {
		return nil, err
	}
	if w.reviews, err = p.store.encodeReviews(ships); err != nil {
		return nil, err
	}
	orders := make([]*shipment.Order, 0, len(b.changedOr))
	for id := range b.changedOr {
		orders = append(orders, b.orders[id])
	}
	if w.orders, err = p.store.encodeOrders(orders, w.now); err != nil {
		return nil, err
	}
	return w, nil
}

// commit writes a prepared batch: state, outcomes (unless the events are
// about to be stored with them: mark is false) and outbound jobs in one
// transaction, which is the outbox.
func (p *Processor) commit(ctx context.Context, tx *sql.Tx, w *batchWrite, mark bool) error {
	if p.opts.Fence != nil {
		if err := p.opts.Fence(ctx, tx); err != nil {
			return err
		}
	}
	if p.opts.Partitions != nil {
		if err := p.opts.Partitions.Fence(ctx, tx, w.parts); err != nil {
			return err
		}
	}
	if len(w.reroutes) > 0 {
		if err := p.events.RouteTx(ctx, tx, w.reroutes); err != nil {
			return err
		}
	}
	bt := batchTx{s: p.store, tx: tx}
	if len(w.xrefs) > 0 {
		if err := bt.addXrefs(ctx, w.xrefs, w.now); err != nil {
			return err
		}
	}
	if err := bt.save(ctx, "shipments", w.ships); err != nil {
		return err
	}
	if err := bt.save(ctx, "review_items", w.reviews); err != nil {
		return err
	}
	if err := bt.save(ctx, "orders", w.orders); err != nil {
		return err
	}
	if mark {
		if err := p.events.MarkTx(ctx, tx, w.outcomes); err != nil {
			return err
		}
	}
	if p.opts.Publisher != nil && len(w.messages) > 0 {
		if err := p.opts.Publisher.InsertTx(ctx, tx, w.messages); err != nil {
			return err
		}
	}
	return p.enqueue(ctx, tx, w.actions)
}

// applyOne applies one event. A panic in the domain code is recorded in
// b.panics, and the batch is prepared again without it (see ProcessBatch),
// so it marks the event failed instead of stopping the batch or saving a
// half-changed shipment.
func (p *Processor) applyOne(ctx context.Context, b *batch, ev intake.Pending) (o intake.Outcome, actions []connector.Action) {
	o = intake.Outcome{Seq: ev.Seq}
	ctx = correlation.With(ctx, ev.CorrelationID)
	if p.tracer != nil {
		var span trace.Span
		ctx, span = tracing.Start(ctx, p.tracer, &tracing.SpanParams{
			Name: "apply event", CorrelationID: ev.CorrelationID, Parent: ev.Trace, Link: ev.Via,
			Attributes: []attribute.KeyValue{
				attribute.String(tracing.AttrEventType, string(ev.Type)),
				attribute.String(tracing.AttrEventID, ev.ID),
				attribute.String(tracing.AttrEventSource, ev.Source),
			},
		})
		// Registered before the recover below, so it runs after it and
		// sees the final outcome.
		defer func() {
			span.SetAttributes(attribute.String(tracing.AttrShipmentID, o.ShipmentID), attribute.String(tracing.AttrEventOutcome, o.State))
			if o.State == intake.StateFailed {
				span.SetStatus(codes.Error, o.Reason)
			}
			span.End()
		}()
	}
	if reason, ok := b.failed[ev.Seq]; ok {
		o.State, o.Reason, o.Cause = intake.StateFailed, reason, CauseInternal
		return o, nil
	}
	defer func() {
		if r := recover(); r != nil {
			p.logger.ErrorContext(ctx, "applying event panicked", slog.String("event_id", ev.ID), slog.Any("panic", r))
			b.panics[ev.Seq] = fmt.Sprintf("internal error: %v", r)
			o.State, o.Reason, o.Cause, actions = intake.StateFailed, b.panics[ev.Seq], CauseInternal, nil
		}
	}()
	if ev.Err != nil {
		p.logger.ErrorContext(ctx, "event cannot be applied", slog.String("event_id", ev.ID), slog.Any("err", ev.Err))
		o.State, o.Reason, o.Cause = intake.StateFailed, ev.Err.Error(), CauseUndecodable
		return o, nil
	}
	in := shipment.Input{EventID: ev.ID, Source: ev.Source, Type: ev.Type, Time: ev.Time, Data: ev.Data, Decoded: ev.Decoded}

	ref, err := shipment.ParseRef(ev.Subject)
	if err != nil {
		o.State, o.Reason, o.Cause = intake.StateRejected, err.Error(), CauseBadSubject
		return o, nil
	}
	if ev.Type == event.OrderConfirmed {
		p.applyOrder(b, ev, ref, in, &o)
		return o, nil
	}

	id := ref.Canonical
	if id == "" {
		id = b.refs[ref]
	}
	sh := b.ships[id]
	if sh == nil && ev.Type == event.ShipmentTracked {
		// The partner's other keys: a PRO when the subject is the BOL…
		for _, r := range b.tracked[ev.Seq] {
			if other := b.refs[r]; other != "" && b.ships[other] != nil {
				id, sh = other, b.ships[other]
				break
			}
		}
	}
	if q, ok := p.elsewhere(ev, id); ok {
		b.reroute(ev, q)
		o.State = stateRerouted
		return o, nil
	}
	var res shipment.Result
	switch {
	case sh == nil && ev.Type == event.ShipmentPlanned:
		external := id == ""
		if external {
			id = newIDIn(ev.Part, p.partitions())
		}
		sh, res = shipment.New(id, in)
		if sh != nil {
			b.ships[id] = sh
			if external {
				b.refs[ref] = id
				b.newXrefs = append(b.newXrefs, newXref{ref: ref, kind: shipment.KindShipment, id: id})
			}
		}
	case sh == nil && b.mayLearnLate(ev, ref) && b.teachBefore() != 0 && b.teachBefore() < ev.Seq:
		// Another partition's replica has yet to apply an older event
		// that may teach a shipment this key.
		o.State = stateDeferred
		return o, nil
	case sh == nil:
		o.State, o.Reason, o.Cause = intake.StateRejected, fmt.Sprintf("unknown shipment %s: it must be planned first", ev.Subject), CauseUnknownShipment
		return o, nil
	default:
		res = sh.Apply(in, p.opts.Policy)
	}
	o.ShipmentID = id
	switch res.Outcome {
	case shipment.OutcomeRejected:
		o.State, o.Reason, o.Cause = intake.StateRejected, res.Reason, CauseWorkflow
		p.logger.InfoContext(ctx, "event rejected", slog.String("event_id", ev.ID), slog.String("shipment_id", id), slog.String("type", string(ev.Type)), slog.String("reason", res.Reason))
		if sh == nil || b.ships[id] == nil {
			o.ShipmentID = ""
		}
		return o, nil
	case shipment.OutcomeLate:
		o.State, o.Reason = intake.StateApplied, res.Reason
	default:
		o.State = intake.StateApplied
	}
	b.changed[id] = true
	b.learnKeys(sh, ev)
	if p.opts.Publisher != nil {
		b.messages = append(b.messages, p.opts.Publisher.Match(sh, &ev)...)
	}
	actions = p.outbox(sh, ev, res.Actions)
	if p.tracer != nil {
		if tp := tracing.Traceparent(trace.SpanContextFromContext(ctx)); tp != "" {
			for i := range actions {
				actions[i].Traceparent = tp
			}
		}
	}
	return o, actions
}

// learnKeys records the keys partners know sh by (its BOL, the carrier's
// PRO or tracking number, and every key a carrier's event matched it
// with), so their later messages find it. A key already taken by another
// shipment keeps pointing there.
func (b *batch) learnKeys(sh *shipment.Shipment, ev intake.Pending) {
	if sh == nil {
		return
	}
	switch ev.Type {
	case event.ShipmentPlanned, event.DispatchAssigned, event.ShipmentTracked:
	default:
		return // only these events bring keys
	}
	refs := sh.KeyRefs()
	if ev.Type == event.ShipmentTracked {
		refs = append(refs, b.tracked[ev.Seq]...)
	}
	for _, r := range refs {
		if _, known := b.refs[r]; known {
			continue
		}
		b.refs[r] = sh.ID
		b.newXrefs = append(b.newXrefs, newXref{ref: r, kind: shipment.KindShipment, id: sh.ID, learned: true})
	}
}

func (p *Processor) applyOrder(b *batch, ev intake.Pending, ref shipment.Ref, in shipment.Input, o *intake.Outcome) {
	var d struct {
		Customer  *shipment.Party      `json:"customer"`
		Lines     []shipment.OrderLine `json:"lines"`
		Currency  string               `json:"currency"`
		Shipments []string             `json:"shipments"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		o.State, o.Reason, o.Cause = intake.StateRejected, "invalid data: "+err.Error(), CauseInvalidData
		return
	}
	id := ref.Canonical
	if id == "" {
		id = b.orderRefs[ref]
	}
	if q, ok := p.elsewhere(ev, id); ok {
		b.reroute(ev, q)
		o.State = stateRerouted
		return
	}
	ord := b.orders[id]
	if ord == nil {
		if id == "" {
			id = newIDIn(ev.Part, p.partitions())
			b.orderRefs[ref] = id
			b.newXrefs = append(b.newXrefs, newXref{ref: ref, kind: shipment.KindOrder, id: id})
		}
		ord = &shipment.Order{ID: id, CreatedAt: in.Time}
		b.orders[id] = ord
	}
	ord.Customer, ord.Lines, ord.Currency, ord.Shipments = d.Customer, d.Lines, d.Currency, d.Shipments
	b.changedOr[id] = true
	o.State = intake.StateApplied
}

// mayLearnLate reports whether ev names its shipment by a key the router
// may not have known (routeKeys): a PRO, which a shipment can learn from
// two events (the SCAC of one, the number of the other).
func (b *batch) mayLearnLate(ev intake.Pending, ref shipment.Ref) bool {
	if ref.System == "pro" {
		return true
	}
	return slices.ContainsFunc(b.tracked[ev.Seq], func(r shipment.Ref) bool { return r.System == "pro" })
}

// reroute sends ev on to partition part, where its shipment or order
// lives: it stays pending for the replica that owns part.
func (b *batch) reroute(ev intake.Pending, part int) {
	b.reroutes = append(b.reroutes, intake.Route{Seq: ev.Seq, Part: part})
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
