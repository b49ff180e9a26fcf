package workflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// TestOutboxAtomic checks that a batch whose jobs cannot be enqueued saves
// nothing, and is saved whole once they can.
func TestOutboxAtomic(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})
		ctx := t.Context()
		b.send(t, ev{id: "x2-plan", typ: "shipment.planned", subject: "odoo:X2", data: planned("Acme", "")})
		b.process(t, 1)
		x2 := b.wantShipment(t, "odoo:X2", shipment.Planned, 1)

		errQueue := errors.New("queue unavailable")
		b.jobs.setFail(errQueue)
		b.send(t,
			ev{id: "x1-plan", typ: "shipment.planned", subject: "odoo:X1", data: planned("Brouwer", `"references":{"bol":"BOL-X1"}`)},
			ev{id: "x1-res", typ: "inventory.reserved", subject: "odoo:X1", at: 1, data: reserveFull},
			ev{id: "x2-res", typ: "inventory.reserved", subject: "odoo:X2", at: 1, data: reserveFull},
		)
		n, err := b.proc.ProcessBatch(ctx)
		if !errors.Is(err, errQueue) || n != 0 {
			t.Fatalf("ProcessBatch with a failing queue = %d, %v, want 0 and the queue's error", n, err)
		}
		if _, err := b.store.Get(ctx, "odoo:X1"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("shipment of the failed batch: got %v, want ErrNotFound", err)
		}
		if _, err := b.store.Resolve(ctx, shipment.KindShipment, "bol:BOL-X1"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("key of the failed batch: got %v, want ErrNotFound", err)
		}
		b.wantShipment(t, x2.ID, shipment.Planned, 1)
		b.wantStatus(t, intake.StatePending, "", "", "x1-plan", "x1-res", "x2-res")
		b.wantActions(t)
		b.wantCounters(t, "waybill_events_processed_total", map[string]float64{"shipment.planned accepted": 1})

		b.jobs.setFail(nil)
		b.process(t, 3)
		x1 := b.wantShipment(t, "odoo:X1", shipment.Released, 1)
		b.wantShipment(t, x2.ID, shipment.Released, 2)
		wantXrefs(t, b.store, x1.ID, "bol:BOL-X1", "odoo:X1")
		b.wantStatus(t, intake.StateApplied, "", x1.ID, "x1-plan", "x1-res")
		b.wantStatus(t, intake.StateApplied, "", x2.ID, "x2-res")
		b.wantActions(t,
			b.wantAct(t, shipment.ActionDispatchRelease, x1.ID, "x1-res", time.Time{}),
			b.wantAct(t, shipment.ActionDispatchRelease, x2.ID, "x2-res", time.Time{}),
		)
	})
}

// TestNoJobInserter checks that without a job inserter (no connector) the
// actions are dropped and the state is saved.
func TestNoJobInserter(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{})
		p := workflow.NewProcessor(db, b.events, b.store, nil, &workflow.Options{
			Policy: shipment.Policy{AutoRelease: true}, Logger: testLogger(t),
		})
		b.send(t,
			ev{id: "plan", typ: "shipment.planned", subject: "odoo:OUT-1", data: planned("Acme", "")},
			ev{id: "res", typ: "inventory.reserved", subject: "odoo:OUT-1", at: 1, data: reserveFull},
			ev{id: "load", typ: "shipment.loaded", subject: "odoo:OUT-1", at: 2, data: loadFull},
		)
		if n, err := p.ProcessBatch(t.Context()); n != 3 || err != nil {
			t.Fatalf("ProcessBatch = %d, %v, want 3, nil", n, err)
		}
		sh := b.wantShipment(t, "odoo:OUT-1", shipment.Loaded, 1)
		b.wantStatus(t, intake.StateApplied, "", sh.ID, "plan", "res", "load")
		b.wantActions(t)
	})
}
