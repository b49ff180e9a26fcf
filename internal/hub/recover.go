package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/reconcile"
)

// Tasks of the reconciliation.
const (
	// TaskReconcileSchedule runs the business days whose cut-off passed.
	TaskReconcileSchedule = "reconcile.schedule"
	// TaskReconcileRecover reconciles the days an outage touched.
	TaskReconcileRecover = "reconcile.recover"
	// TaskInventoryCheck runs the inventory checks.
	TaskInventoryCheck = "reconcile.inventory"
)

// reconcileScheduleEvery is how often the schedule looks for days due: a
// day is reconciled at most this long after its cut-off and grace.
const reconcileScheduleEvery = 5 * time.Minute

// reconcileTaskTimeout bounds one run of a reconciliation task: a day of
// many thousand shipments reads Odoo in bulk, in seconds, but Odoo may be
// slow.
const reconcileTaskTimeout = 30 * time.Minute

// recoverParams are the parameters of TaskReconcileRecover.
type recoverParams struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Cause string    `json:"cause"`
}

// outage is a window an outage of Odoo or of a proof-of-delivery feed
// covered, waiting to be enqueued for reconciliation.
type outage recoverParams

// recovers reports whether outages are reconciled once over: with an Odoo
// connector and reconcile.recover_after set.
func recovers(cfg config.Config) bool {
	return cfg.Connectors.Odoo.URL != "" && cfg.Reconcile.RecoverAfter > 0
}

// odooRecovered is the Odoo connector's OnRecover: an outage at least
// reconcile.recover_after long is reconciled. It is called on an Odoo
// call, so it only hands the window off.
func (h *Hub) odooRecovered(from, to time.Time) {
	if to.Sub(from) < h.cfg.Reconcile.RecoverAfter {
		return
	}
	h.outageOver(outage{From: from, To: to, Cause: "odoo unreachable for " + to.Sub(from).Truncate(time.Second).String()})
}

// feedRecovered is the silence watch's OnRecover.
func (h *Hub) feedRecovered(_ context.Context, source string, from, to time.Time) {
	h.outageOver(outage{From: from, To: to, Cause: "proof-of-delivery feed " + source + " silent for " + to.Sub(from).Truncate(time.Second).String()})
}

func (h *Hub) outageOver(o outage) {
	select {
	case h.outages <- o:
	default:
		// Many outages at once: the schedule still reconciles the days.
		h.logger.Warn("too many outages to reconcile at once: this one is left to the scheduled run",
			slog.String("cause", o.Cause), slog.Time("from", o.From), slog.Time("to", o.To))
	}
}

// enqueueRecoveries enqueues a recovery task for each outage over, until
// ctx is done. The task, not this loop, does the work: it survives a
// crash and runs on one replica.
func (h *Hub) enqueueRecoveries(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case o := <-h.outages:
			h.logger.InfoContext(ctx, "outage over: reconciling the days it touched", slog.String("cause", o.Cause),
				slog.Time("from", o.From), slog.Time("to", o.To))
			if err := h.Queue.EnqueueTask(ctx, TaskReconcileRecover, recoverParams(o)); err != nil {
				h.logger.ErrorContext(ctx, "enqueueing the reconciliation after an outage failed; the scheduled run covers the days", slog.Any("err", err))
			}
		}
	}
}

// addReconcileTasks adds the scheduled end-of-day run and the recovery
// after outages to the job queue, as the configuration asks.
func (h *Hub) addReconcileTasks() error {
	cfg := h.cfg
	if cfg.Connectors.Odoo.URL == "" {
		return nil
	}
	if cfg.Reconcile.Schedule {
		err := h.Queue.AddTask(jobqueue.Task{Name: TaskReconcileSchedule, Every: reconcileScheduleEvery, Timeout: reconcileTaskTimeout,
			Run: func(ctx context.Context, _ json.RawMessage) error {
				_, err := h.Reconciler.RunDue(ctx)
				return err
			}})
		if err != nil {
			return err
		}
	}
	if every := cfg.Reconcile.InventoryInterval; every > 0 {
		err := h.Queue.AddTask(jobqueue.Task{Name: TaskInventoryCheck, Every: every, Timeout: reconcileTaskTimeout, Run: h.checkInventory})
		if err != nil {
			return err
		}
	}
	if recovers(cfg) {
		return h.Queue.AddTask(jobqueue.Task{Name: TaskReconcileRecover, Timeout: reconcileTaskTimeout, Run: h.recoverOutage})
	}
	return nil
}

// checkInventory runs TaskInventoryCheck: one check per listed warehouse,
// or one for every warehouse.
func (h *Hub) checkInventory(ctx context.Context, _ json.RawMessage) error {
	warehouses := []string{""}
	if ws := h.cfg.Reconcile.Warehouses; len(ws) > 0 {
		warehouses = warehouses[:0]
		for _, w := range ws {
			warehouses = append(warehouses, w.Name)
		}
	}
	var errs []error
	for _, w := range warehouses {
		if _, err := h.Reconciler.RunInventory(ctx, reconcile.InventoryParams{Warehouse: w}); err != nil {
			errs = append(errs, fmt.Errorf("inventory check of %q: %w", w, err))
		}
	}
	return errors.Join(errs...)
}

// recoverOutage runs TaskReconcileRecover and records what it found in the
// audit trail.
func (h *Hub) recoverOutage(ctx context.Context, raw json.RawMessage) error {
	var p recoverParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decoding the recovery window: %w", err)
	}
	rec, err := h.Reconciler.Recover(ctx, reconcile.RecoverParams{From: p.From, To: p.To, Cause: p.Cause})
	if err != nil {
		return err
	}
	if _, err := h.Audit.Append(ctx, audit.Record{Actor: "system", Action: audit.ActionReconciliationRecovered, Subject: p.Cause, Details: rec}); err != nil {
		return fmt.Errorf("recording the reconciliation after an outage: %w", err)
	}
	return nil
}
