package workflow

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// RouterOptions configures a Router.
type RouterOptions struct {
	// Count is the number of partitions; Partitions when zero.
	Count int
	// BatchSize is the most events routed per transaction.
	BatchSize int
	// PollInterval is how often the router looks for events when it is not
	// woken.
	PollInterval time.Duration
	// Fence is called first in the transaction that records routes
	// (sqldb.Lease.Fence): one router at a time routes events.
	Fence func(ctx context.Context, tx *sql.Tx) error
	// Routed, when set, is called after events were routed (to wake the
	// processor of this replica).
	Routed func()
	// Channel, when set, is notified (sqldb.DB.Notify) with the
	// partitions of every batch routed, as a comma-separated list, so that
	// the replicas that own them wake at once.
	Channel    string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// A Router sends each accepted event to the partition of the shipment (or
// order) it is about, in acceptance order, when several replicas share a
// PostgreSQL database: the replica that owns a partition applies its
// events (Processor with Options.Partitions), so a shipment's events are
// applied in order by one replica at a time. One router runs per database,
// on the replica that holds the lease.
//
// A shipment's partition is the hash of its id (PartitionOf). An event
// naming a shipment by a reference the cross-references know goes there.
// One naming a reference nothing knows yet, such as the TMS load of a
// shipment being planned, goes to the hash of the reference, and the
// shipment it creates gets an id in that partition; the router remembers
// that reference, and the keys the event brings (its BOL, tracking number,
// PRO), in the routes table, so that the events that follow find the same
// partition before the processor has created the shipment.
type Router struct {
	db     *sqldb.DB
	events *intake.Store
	store  *Store
	opts   RouterOptions
	wake   chan struct{}
	logger *slog.Logger
	routed prometheus.Counter
}

// NewRouter returns a Router.
func NewRouter(db *sqldb.DB, events *intake.Store, store *Store, opts RouterOptions) *Router {
	if opts.Count <= 0 {
		opts.Count = Partitions
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{db: db, events: events, store: store, opts: opts, wake: make(chan struct{}, 1), logger: opts.Logger,
		routed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_events_routed_total",
			Help: "Accepted events the router sent to a partition (several replicas on PostgreSQL).",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.routed)
	}
	return r
}

// Wake asks the router to look for events now. It never blocks.
func (r *Router) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run routes events until ctx is done. A failing batch is logged and
// retried after the poll interval.
func (r *Router) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		n, err := r.RouteBatch(ctx)
		if err != nil && ctx.Err() == nil {
			r.logger.ErrorContext(ctx, "routing events failed", slog.Any("err", err))
		}
		if n == r.opts.BatchSize && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-t.C:
		}
	}
	return nil
}

// routeKey is a reference of a kind.
type routeKey struct {
	kind string
	ref  shipment.Ref
}

// RouteBatch routes up to one batch of events and returns how many.
func (r *Router) RouteBatch(ctx context.Context) (int, error) {
	if some, err := r.events.AnyUnrouted(ctx); err != nil || !some {
		return 0, err
	}
	evs, err := r.events.Unrouted(ctx, r.opts.BatchSize)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	// What the database knows of every reference the batch names.
	byKind := map[string][]shipment.Ref{}
	for i := range evs {
		for _, k := range candidates(&evs[i]) {
			byKind[k.kind] = append(byKind[k.kind], k.ref)
		}
		if evs[i].Err == nil {
			for _, ref := range routeKeys(&evs[i]) {
				byKind[shipment.KindShipment] = append(byKind[shipment.KindShipment], ref)
			}
		}
	}
	bt := batchTx{s: r.store, tx: r.db.Reader}
	xrefs, known := map[routeKey]string{}, map[routeKey]int{}
	for kind, refs := range byKind {
		ids, err := bt.resolve(ctx, kind, refs)
		if err != nil {
			return 0, err
		}
		for ref, id := range ids {
			xrefs[routeKey{kind, ref}] = id
		}
		parts, err := r.knownRoutes(ctx, kind, refs)
		if err != nil {
			return 0, err
		}
		for ref, p := range parts {
			known[routeKey{kind, ref}] = p
		}
	}
	n := r.opts.Count
	// find is the partition of k: its object's when the cross-references
	// know it, else the one recorded for it.
	find := func(k routeKey) (int, bool) {
		if id, ok := xrefs[k]; ok {
			return PartitionOf(id, n), true
		}
		p, ok := known[k]
		return p, ok
	}
	routes := make([]intake.Route, 0, len(evs))
	var fresh []newRoute
	remember := func(k routeKey, part int) {
		if _, ok := find(k); !ok {
			known[k] = part
			fresh = append(fresh, newRoute{key: k, part: part})
		}
	}
	for i := range evs {
		ev := &evs[i]
		kind := kindOf(ev.Type)
		ref, err := shipment.ParseRef(ev.Subject)
		part := -1
		switch {
		case err != nil:
			// Rejected by whichever replica applies it.
			part = PartitionOf(ev.Subject, n)
		case ref.Canonical != "":
			part = PartitionOf(ref.Canonical, n)
		default:
			for _, k := range candidates(ev) {
				if p, ok := find(k); ok {
					part = p
					break
				}
			}
			if part < 0 {
				// Named first here: the shipment or order this event
				// creates lives in the reference's partition. Other events
				// go there too, to be refused as unknown, unless an
				// earlier event brings the reference as a key.
				part = refPartition(kind, ref, n)
				if ev.Type == event.ShipmentPlanned || ev.Type == event.OrderConfirmed {
					remember(routeKey{kind, ref}, part)
				}
			}
		}
		if ev.Err == nil {
			for _, key := range routeKeys(ev) {
				remember(routeKey{shipment.KindShipment, key}, part)
			}
		}
		routes = append(routes, intake.Route{Seq: ev.Seq, Part: part})
	}
	err = r.db.InTx(ctx, func(tx *sql.Tx) error {
		if r.opts.Fence != nil {
			if err := r.opts.Fence(ctx, tx); err != nil {
				return err
			}
		}
		if err := r.insertRoutes(ctx, tx, fresh); err != nil {
			return err
		}
		if err := r.events.RouteTx(ctx, tx, routes); err != nil {
			return err
		}
		if r.opts.Channel == "" {
			return nil
		}
		return r.db.Notify(ctx, tx, r.opts.Channel, partList(routes))
	})
	if err != nil {
		return 0, err
	}
	r.routed.Add(float64(len(routes)))
	if r.opts.Routed != nil {
		r.opts.Routed()
	}
	return len(routes), nil
}

// partList is the partitions of routes, as a sorted comma-separated list.
func partList(routes []intake.Route) string {
	seen := map[int]bool{}
	var parts []int
	for _, r := range routes {
		if !seen[r.Part] {
			seen[r.Part] = true
			parts = append(parts, r.Part)
		}
	}
	slices.Sort(parts)
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

// ParsePartList reverses the list of partitions a router's notification
// carries; numbers that do not parse are left out.
func ParsePartList(s string) []int {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// candidates are the references an event's object may be known by, most
// telling first: its subject, then for a carrier's report the keys it
// carries.
func candidates(ev *intake.Pending) []routeKey {
	ref, err := shipment.ParseRef(ev.Subject)
	if err != nil || ref.Canonical != "" {
		return nil
	}
	kind := kindOf(ev.Type)
	out := []routeKey{{kind, ref}}
	if ev.Type == event.ShipmentTracked && ev.Err == nil {
		for _, r := range shipment.TrackedRefs(ev.Data) {
			out = append(out, routeKey{kind, r})
		}
	}
	return out
}

type newRoute struct {
	key  routeKey
	part int
}

// knownRoutes returns the partitions recorded for refs of kind.
func (r *Router) knownRoutes(ctx context.Context, kind string, refs []shipment.Ref) (map[shipment.Ref]int, error) {
	out := make(map[shipment.Ref]int, len(refs))
	systems, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, ref := range refs {
		systems[i], ids[i] = ref.System, ref.ExternalID
	}
	probe := sqldb.PairProbe{Table: "routes", ColA: "system", ColB: "external_id", Cols: []string{"part"}, Where: "kind = ?", Args: []any{kind}}
	err := probe.Run(ctx, r.db.Dialect, r.db.Reader, systems, ids, func(rows *sql.Rows) error {
		var ref shipment.Ref
		var part int
		if err := rows.Scan(&ref.System, &ref.ExternalID, &part); err != nil {
			return err
		}
		out[ref] = part
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	return out, nil
}

var routeColumns = []string{"text", "text", "text", "integer", "bigint"}

// insertRoutes records fresh routes; one recorded meanwhile stays.
func (r *Router) insertRoutes(ctx context.Context, tx *sql.Tx, fresh []newRoute) error {
	ins := r.db.Dialect.NewInsert(`INSERT INTO routes (kind, system, external_id, part, created_at)`, routeColumns,
		` ON CONFLICT (system, kind, external_id) DO NOTHING`)
	now := time.Now().UnixMicro()
	for start := 0; start < len(fresh); start += docChunk {
		chunk := fresh[start:min(start+docChunk, len(fresh))]
		args := make([]any, 0, len(chunk)*len(routeColumns))
		for _, f := range chunk {
			args = append(args, f.key.kind, f.key.ref.System, f.key.ref.ExternalID, f.part, now)
		}
		q, args := ins.Statement(args)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("recording routes: %w", err)
		}
	}
	return nil
}
