package workflow_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// accept appends evs as intake's committer does with ApplyInTx.
func (b *bundle) accept(t *testing.T, evs ...ev) {
	t.Helper()
	parsed := make([]*intake.Event, len(evs))
	for i, e := range evs {
		p, err := b.parser.Parse(e.raw(t), intake.Hints{})
		if err != nil {
			t.Fatalf("parsing %s: %v", e.id, err)
		}
		parsed[i] = p
	}
	res, err := b.events.AppendApply(t.Context(), parsed, b.proc.ApplyInTx)
	if err != nil {
		t.Fatalf("storing events: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || r.Duplicate {
			t.Fatalf("storing %s: %+v", evs[i].id, r)
		}
		b.sent[parsed[i].SourceID] = r
	}
}

// TestApplyInTx checks that events are applied, with their actions, in
// the transaction that stores them; and that whenever that could break
// the order of a shipment's events or hide a defect, they are left pending
// for the processor, which then applies them as it always did.
func TestApplyInTx(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})

		// Stored and applied at once: no batch to process.
		b.accept(t,
			ev{id: "a-plan", typ: "shipment.planned", subject: "tms:A", data: planned("Acme", "")},
			ev{id: "a-res", typ: "inventory.reserved", subject: "tms:A", at: 1, data: reserveFull},
		)
		a := b.wantShipment(t, "tms:A", shipment.Released, 1)
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-plan", "a-res")
		b.wantActions(t, b.wantAct(t, shipment.ActionDispatchRelease, a.ID, "a-res", time.Time{}))
		b.wantCounters(t, "waybill_events_processed_total", map[string]float64{
			"shipment.planned accepted": 1, "inventory.reserved accepted": 1})
		b.process(t, 0)

		// A large group, as intake commits under load: applied at once
		// too.
		var many []ev
		for i := range 300 {
			many = append(many, ev{id: fmt.Sprintf("m-%d", i), typ: "shipment.planned", subject: fmt.Sprintf("tms:M%d", i), data: planned("Many", "")})
		}
		b.accept(t, many...)
		m := b.wantShipment(t, "tms:M299", shipment.Planned, 1)
		b.wantStatus(t, intake.StateApplied, "", m.ID, "m-299")
		b.process(t, 0)

		// An older event still pending: the new ones wait for the
		// processor, which applies all of them in order.
		b.send(t, ev{id: "b-plan", typ: "shipment.planned", subject: "tms:B", data: planned("Bolt", "")})
		b.accept(t, ev{id: "b-res", typ: "inventory.reserved", subject: "tms:B", at: 1, data: reserveFull})
		b.wantStatus(t, intake.StatePending, "", "", "b-plan", "b-res")
		b.process(t, 2)
		bs := b.wantShipment(t, "tms:B", shipment.Released, 1)
		b.wantStatus(t, intake.StateApplied, "", bs.ID, "b-plan", "b-res")
		b.jobs.take()

		// The outbox refuses the actions: the events are stored, nothing
		// of their effect is, and the processor applies them later.
		b.jobs.setFail(errors.New("queue full"))
		b.accept(t,
			ev{id: "c-plan", typ: "shipment.planned", subject: "tms:C", data: planned("Cargo", "")},
			ev{id: "c-res", typ: "inventory.reserved", subject: "tms:C", at: 1, data: reserveFull},
		)
		b.wantStatus(t, intake.StatePending, "", "", "c-plan", "c-res")
		if _, err := b.store.Get(t.Context(), "tms:C"); err == nil {
			t.Error("shipment C was saved although its actions were not")
		}
		b.jobs.setFail(nil)
		b.process(t, 2)
		b.wantShipment(t, "tms:C", shipment.Released, 1)
	})
}

// TestApplyInTxLeavesPanicsToTheProcessor checks that an event that
// panics while applied as it is stored is stored pending, its batch with
// it, and the processor then isolates it.
func TestApplyInTxLeavesPanicsToTheProcessor(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rate := func(s *shipment.Shipment) ([]shipment.Charge, error) { panic("rating exploded") }
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true, Rate: rate}})
		b.accept(t,
			ev{id: "p-plan", typ: "shipment.planned", subject: "odoo:P", data: planned("Panic Ltd", "")},
			ev{id: "p-res", typ: "inventory.reserved", subject: "odoo:P", at: 1, data: reserveFull},
			ev{id: "p-load", typ: "shipment.loaded", subject: "odoo:P", at: 2, data: loadFull},
		)
		b.jobs.take()
		b.accept(t,
			ev{id: "p-arr", typ: "shipment.arrived", subject: "odoo:P", at: 300, data: noData},
			ev{id: "p-del", typ: "shipment.delivered", subject: "odoo:P", at: 360, data: deliveredPOD},
		)
		b.wantStatus(t, intake.StatePending, "", "", "p-arr", "p-del")
		b.process(t, 2)
		b.wantShipment(t, "odoo:P", shipment.Arrived, 2)
		b.wantStatus(t, intake.StateFailed, "internal error: rating exploded", anyShipment, "p-del")
	})
}
