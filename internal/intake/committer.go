package intake

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/tracing"
)

// ErrClosed is returned by Submit once the committer has stopped.
var ErrClosed = errors.New("intake is shutting down")

// Committer writes the events of concurrent requests in shared
// transactions. Run must be running for Submit to make progress.
type Committer struct {
	store    *Store
	maxGroup int
	logger   *slog.Logger
	in       chan *request

	// mu guards closed. Submit holds it shared while it checks closed and
	// queues, without blocking; Run takes it to close intake before its
	// last drain, so no request can be queued after the drain and wait
	// forever.
	mu     sync.RWMutex
	closed bool
	notify func()
	apply  ApplyFunc

	groupSize prometheus.Histogram
	isolated  prometheus.Counter
}

type request struct {
	evs  []*Event
	res  []Result
	err  error
	done chan struct{}
}

// CommitterOptions configures a Committer.
type CommitterOptions struct {
	// MaxGroup is the most events written in one transaction.
	MaxGroup int
	// NotifyFunc, if set, is called after each commit that stored new
	// events it did not apply (it must not block): it wakes the processor.
	NotifyFunc func()
	// Apply, if set, applies the events of each group in the transaction
	// that stores them (see ApplyFunc); what it leaves pending is the
	// processor's.
	Apply      ApplyFunc
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewCommitter returns a Committer writing to store.
func NewCommitter(store *Store, opts *CommitterOptions) *Committer {
	c := &Committer{
		store:    store,
		maxGroup: max(1, opts.MaxGroup),
		logger:   opts.Logger,
		in:       make(chan *request, 4096),
		notify:   opts.NotifyFunc,
		apply:    opts.Apply,
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waybill_intake_group_commit_events",
			Help:    "Events written per group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
		isolated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_intake_group_splits_total",
			Help: "Group-commit transactions that failed for something in their events and were written again in parts, so that only the events the database refused failed.",
		}),
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(c.groupSize, c.isolated)
	}
	return c
}

// Submit stores evs, sharing a transaction with other callers, and returns
// once it is committed: one Result per event, in order. When ctx carries a
// span (tracing is on), the events whose Trace is not set yet continue from
// it, or from their own traceparent attribute.
func (c *Committer) Submit(ctx context.Context, evs []*Event) ([]Result, error) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		for _, ev := range evs {
			if ev.Trace.IsValid() {
				continue
			}
			if own := tracing.SpanContext(ev.traceparent); own.IsValid() {
				ev.Trace, ev.Via = own, sc
			} else {
				ev.Trace = sc
			}
		}
	}
	c.store.sealAhead(evs)
	r := &request{evs: evs, done: make(chan struct{})}
	for !c.queue(r) {
		if c.isClosed() {
			return nil, ErrClosed
		}
		// The queue is full: wait a little for the committer.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	// Once queued, the request is written whatever happens to the caller:
	// wait for the outcome so a 2xx is only ever sent for what is stored.
	<-r.done
	return r.res, r.err
}

// queue puts r in the queue if intake is open and there is room.
func (c *Committer) queue(r *request) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	select {
	case c.in <- r:
		return true
	default:
		return false
	}
}

func (c *Committer) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}

// Run writes submitted events until ctx is done, then writes what is still
// queued and returns. Requests submitted after that get ErrClosed.
func (c *Committer) Run(ctx context.Context) error {
	group := make([]*request, 0, 64)
	for {
		select {
		case r := <-c.in:
			group = c.collect(append(group[:0], r))
			c.write(group)
		case <-ctx.Done():
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			for {
				select {
				case r := <-c.in:
					group = c.collect(append(group[:0], r))
					c.write(group)
				default:
					return nil
				}
			}
		}
	}
}

// collect adds queued requests to group up to maxGroup events.
func (c *Committer) collect(group []*request) []*request {
	n := len(group[0].evs)
	for n < c.maxGroup {
		select {
		case r := <-c.in:
			group = append(group, r)
			n += len(r.evs)
		default:
			return group
		}
	}
	return group
}

func (c *Committer) write(group []*request) {
	var all []*Event
	if len(group) == 1 {
		all = group[0].evs
	} else {
		for _, r := range group {
			all = append(all, r.evs...)
		}
	}
	// The write must not be cut short by shutdown: callers wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res []Result
	var err error
	applied := false
	if c.apply != nil {
		res, err = c.store.AppendApply(ctx, all, func(ctx context.Context, tx *sql.Tx, evs []Pending) ([]Outcome, func(bool), error) {
			outcomes, done, err := c.apply(ctx, tx, evs)
			applied = outcomes != nil && err == nil
			return outcomes, done, err
		})
	} else {
		res, err = c.store.Append(ctx, all)
	}
	if err != nil {
		applied = false // nothing of this try was kept
	}
	c.groupSize.Observe(float64(len(all)))
	var errs []error // per event, when the group had to be split
	switch {
	case err == nil:
	case sqldb.IsUnavailable(err):
		c.logger.ErrorContext(ctx, "group commit failed", slog.Int("events", len(all)), slog.Any("err", err))
	case len(all) == 1:
		res, err = []Result{c.refused(ctx, all[0], err)}, nil
	default:
		// One event the database refuses must not fail the others
		// sharing its transaction: split the group until it stands alone.
		c.isolated.Inc()
		res, errs = make([]Result, len(all)), make([]error, len(all))
		c.split(ctx, all, res, errs)
		err = nil
	}
	fresh := false
	off := 0
	for _, r := range group {
		n := len(r.evs)
		switch {
		case err != nil:
			r.err = err
		case errs != nil && errors.Join(errs[off:off+n]...) != nil:
			// Part of the request could not be written for want of the
			// database: the client retries it all, and what was stored
			// answers as a duplicate then.
			r.err = errors.Join(errs[off : off+n]...)
		default:
			r.res = res[off : off+n]
			for _, x := range r.res {
				if !x.Duplicate && x.Err == nil {
					fresh = true
				}
			}
		}
		off += n
		close(r.done)
	}
	if fresh && !applied && c.notify != nil {
		c.notify()
	}
}

// split writes evs in two halves, and each half that fails in halves
// again, until an event that fails alone is known to be refused. It stops
// splitting where the database is unavailable: those events get the error
// in errs. It writes at most about 2·k·log2(n) transactions for k refused
// events among n.
func (c *Committer) split(ctx context.Context, evs []*Event, res []Result, errs []error) {
	mid := len(evs) / 2
	for _, part := range [2][2]int{{0, mid}, {mid, len(evs)}} {
		lo, hi := part[0], part[1]
		r, err := c.store.Append(ctx, evs[lo:hi])
		switch {
		case err == nil:
			copy(res[lo:hi], r)
		case sqldb.IsUnavailable(err):
			c.logger.ErrorContext(ctx, "group commit failed", slog.Int("events", hi-lo), slog.Any("err", err))
			for i := lo; i < hi; i++ {
				errs[i] = err
			}
		case hi-lo == 1:
			res[lo] = c.refused(ctx, evs[lo], err)
		default:
			c.split(ctx, evs[lo:hi], res[lo:hi], errs[lo:hi])
		}
	}
}

// refused is the outcome of an event the database refused on its own.
func (c *Committer) refused(ctx context.Context, ev *Event, err error) Result {
	c.logger.WarnContext(correlation.With(ctx, ev.CorrelationID), "the database refused an event",
		slog.String("source", ev.Source), slog.String("source_event_id", ev.SourceID), slog.String("type", string(ev.Type)), slog.Any("err", err))
	return Result{CorrelationID: ev.CorrelationID, Err: &RefusedError{Err: err}}
}
