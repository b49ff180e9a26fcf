package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

	groupSize prometheus.Histogram
}

type request struct {
	evs  []*Event
	res  []Result
	err  error
	done chan struct{}
}

// CommitterOpts configures a Committer.
type CommitterOpts struct {
	// MaxGroup is the most events written in one transaction.
	MaxGroup int
	// NotifyFunc, if set, is called after each commit that stored new
	// events (it must not block): it wakes the processor.
	NotifyFunc func()
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewCommitter returns a Committer writing to store.
func NewCommitter(store *Store, opts *CommitterOpts) *Committer {
	c := &Committer{
		store:    store,
		maxGroup: max(1, opts.MaxGroup),
		logger:   opts.Logger,
		in:       make(chan *request, 4096),
		notify:   opts.NotifyFunc,
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "waybill_intake_group_commit_events",
			Help:    "Events written per group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(c.groupSize)
	}
	return c
}

// Submit stores evs, sharing a transaction with other callers, and returns
// once it is committed: one Result per event, in order.
func (c *Committer) Submit(ctx context.Context, evs []*Event) ([]Result, error) {
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
	res, err := c.store.Append(ctx, all)
	c.groupSize.Observe(float64(len(all)))
	if err != nil {
		c.logger.ErrorContext(ctx, "group commit failed", slog.Int("events", len(all)), slog.Any("err", err))
	}
	fresh := false
	off := 0
	for _, r := range group {
		if err != nil {
			r.err = err
		} else {
			r.res = res[off : off+len(r.evs)]
			for _, x := range r.res {
				if !x.Duplicate {
					fresh = true
				}
			}
		}
		off += len(r.evs)
		close(r.done)
	}
	if fresh && c.notify != nil {
		c.notify()
	}
}
