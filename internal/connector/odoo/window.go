package odoo

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

// syncWindows holds each milestone sync back for the sync window after it
// is first tried, so that the milestones reported soon after its own are
// noted with it. The time a sync is due is kept in memory, by idempotency
// key: a sync tried again after a restart waits one more window, which
// delays its note and never loses or repeats it.
type syncWindows struct {
	window time.Duration
	now    func() time.Time

	mu  sync.Mutex
	due map[string]time.Time
}

// syncWindowForget is how long past its due time a sync that has not
// noted its milestones yet is remembered: its retries do not wait again,
// and a sync never tried again (a job cancelled meanwhile) is forgotten.
const syncWindowForget = time.Hour

// wait returns how long milestone sync a, of snapshot sh, has still to
// wait: none once its window has passed, when there is no window, when the
// workflow scheduled it (milestone intervals) or when sh has an open
// exception, which people act on and which is noted at once.
func (w *syncWindows) wait(a *connector.Action, sh *shipment.Shipment) time.Duration {
	if w.window <= 0 || !a.NotBefore.IsZero() || slices.ContainsFunc(sh.Exceptions, func(e shipment.ExceptionRecord) bool {
		return e.Status == shipment.ExceptionOpen
	}) {
		return 0
	}
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	due, ok := w.due[a.IdempotencyKey]
	if !ok {
		if w.due == nil {
			w.due = map[string]time.Time{}
		}
		for k, d := range w.due {
			if now.Sub(d) > syncWindowForget {
				delete(w.due, k)
			}
		}
		due = now.Add(w.window)
		w.due[a.IdempotencyKey] = due
	}
	return max(due.Sub(now), 0)
}

// done forgets sync a, which has noted its milestones.
func (w *syncWindows) done(a *connector.Action) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.due, a.IdempotencyKey)
}

// latest returns the shipment of snapshot sh as stored now, or sh when
// there is no lookup, the lookup fails or the stored one is older. Noting
// the snapshot's milestones instead is always correct: the later syncs
// note the rest.
func (c *Connector) latest(ctx context.Context, sh *shipment.Shipment) shipment.Shipment {
	if c.opts.Shipment == nil {
		return *sh
	}
	cur, err := c.opts.Shipment(ctx, sh.ID)
	if err != nil || cur == nil || cur.Version < sh.Version {
		if err != nil {
			c.cfg.Logger.DebugContext(ctx, "noting the milestones of the job's snapshot: the stored shipment could not be read",
				slog.String("shipment_id", sh.ID), slog.Any("err", err))
		}
		return *sh
	}
	return *cur
}
