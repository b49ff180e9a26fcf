package workflow_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// TestLifecycle takes two shipments planned by external reference from
// planning to delivery, a few events per batch, and checks what each
// batch saved and which actions it enqueued.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Date(2026, 11, 26, 10, 7, 0, 0, time.UTC)
		b := setup(t, db, workflow.Options{
			Policy: shipment.Policy{AutoRelease: true},
			MilestoneIntervals: map[event.Type]time.Duration{
				event.ShipmentDeparted: time.Hour, event.ShipmentArrived: 10 * time.Minute, event.ShipmentDelivered: 30 * time.Minute,
			},
			Now: func() time.Time { return now },
		})
		const corr = "order-42"

		// Planned, reserved (and so released) and loaded in one batch.
		b.send(t,
			ev{id: "a-plan", typ: "shipment.planned", subject: "odoo:OUT-A", at: 0, data: planned("Acme", ""), corr: corr},
			ev{id: "a-res", typ: "inventory.reserved", subject: "odoo:OUT-A", at: 1, data: reserveFull, corr: corr},
			ev{id: "a-load", typ: "shipment.loaded", subject: "odoo:OUT-A", at: 2, data: loadFull, corr: corr},
			ev{id: "b-plan", typ: "shipment.planned", subject: "odoo:OUT-B", at: 0, data: planned("Brouwer", "")},
			ev{id: "b-res", typ: "inventory.reserved", subject: "odoo:OUT-B", at: 1, data: reserveFull},
			ev{id: "b-load", typ: "shipment.loaded", subject: "odoo:OUT-B", at: 2, data: loadFull},
		)
		b.process(t, 6)
		a := b.wantShipment(t, "odoo:OUT-A", shipment.Loaded, 1)
		if diff := jsonDiff(t, a, b.wantShipment(t, a.ID, shipment.Loaded, 1)); diff != "" {
			t.Errorf("by external ref and by canonical id (-ref +id):\n%s", diff)
		}
		sb := b.wantShipment(t, "odoo:OUT-B", shipment.Loaded, 1)
		if a.ID == sb.ID {
			t.Fatalf("both shipments got id %s", a.ID)
		}
		if !a.CreatedAt.Equal(t0) || a.Customer == nil || a.Customer.Name != "Acme" || len(a.Lines) != 2 {
			t.Errorf("shipment A as planned: created %s, customer %+v, lines %+v", a.CreatedAt, a.Customer, a.Lines)
		}
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-plan", "a-res", "a-load")
		b.wantStatus(t, intake.StateApplied, "", sb.ID, "b-plan", "b-res", "b-load")
		got := b.wantActions(t,
			b.wantAct(t, shipment.ActionDispatchRelease, a.ID, "a-res", time.Time{}),
			b.wantAct(t, shipment.ActionPickingValidate, a.ID, "a-load", time.Time{}),
			b.wantAct(t, shipment.ActionDispatchRelease, sb.ID, "b-res", time.Time{}),
			b.wantAct(t, shipment.ActionPickingValidate, sb.ID, "b-load", time.Time{}),
		)
		if len(got) == 4 {
			// Each action carries the shipment as its change left it.
			for i, want := range []shipment.State{shipment.Released, shipment.Loaded} {
				if s := snapshot(t, got[i]); s.ID != a.ID || s.State != want {
					t.Errorf("payload of %s: shipment %s in state %s, want %s in %s", got[i].Kind, s.ID, s.State, a.ID, want)
				}
			}
			if got[0].CorrelationID != corr {
				t.Errorf("correlation id %q, want %q", got[0].CorrelationID, corr)
			}
		}

		// A milestone alone waits for the end of its interval.
		b.send(t, ev{id: "a-dep", typ: "shipment.departed", subject: "odoo:OUT-A", at: 10, data: noData, corr: corr})
		b.process(t, 1)
		b.wantShipment(t, "odoo:OUT-A", shipment.InTransit, 2)
		got = b.wantActions(t, b.wantAct(t, shipment.ActionMilestoneSync, a.ID, "a-dep", time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)))
		if len(got) == 1 && snapshot(t, got[0]).State != shipment.InTransit {
			t.Errorf("milestone payload in state %s, want %s", snapshot(t, got[0]).State, shipment.InTransit)
		}

		// Several milestones of a shipment in one batch: one sync, the
		// last, due when the first of them was.
		b.send(t,
			ev{id: "a-arr", typ: "shipment.arrived", subject: "odoo:OUT-A", at: 300, data: noData, corr: corr},
			ev{id: "b-dep", typ: "shipment.departed", subject: "odoo:OUT-B", at: 300, data: noData},
			ev{id: "a-del", typ: "shipment.delivered", subject: "odoo:OUT-A", at: 360, data: deliveredPOD, corr: corr},
			ev{id: "b-arr", typ: "shipment.arrived", subject: "odoo:OUT-B", at: 310, data: noData},
		)
		b.process(t, 4)
		a = b.wantShipment(t, "odoo:OUT-A", shipment.Delivered, 3)
		if !a.Billable || a.POD == nil || a.POD.Signer != "J. Jansen" || a.POD.EventID != b.id(t, "a-del") {
			t.Errorf("delivered shipment: billable %v, pod %+v", a.Billable, a.POD)
		}
		// The billable column follows the document: A is the one billable.
		if n, err := b.store.CountBillable(t.Context(), workflow.Filter{}); err != nil || n != 1 {
			t.Errorf("CountBillable = %d, %v; want 1", n, err)
		}
		b.wantShipment(t, "odoo:OUT-B", shipment.Arrived, 2)
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-dep", "a-arr", "a-del")
		tenTen := time.Date(2026, 11, 26, 10, 10, 0, 0, time.UTC)
		got = b.wantActions(t,
			b.wantAct(t, shipment.ActionInvoicePrepare, a.ID, "a-del", time.Time{}),
			b.wantAct(t, shipment.ActionMilestoneSync, a.ID, "a-del", tenTen),
			b.wantAct(t, shipment.ActionMilestoneSync, sb.ID, "b-arr", tenTen),
		)
		if len(got) == 3 {
			s := snapshot(t, got[1])
			want := []string{"shipment.planned", "inventory.reserved", "shipment.loaded", "shipment.departed", "shipment.arrived", "shipment.delivered"}
			if s.State != shipment.Delivered || !cmp.Equal(milestoneTypes(s), want) {
				t.Errorf("coalesced milestone payload: state %s, milestones %v, want %s with %v", s.State, milestoneTypes(s), shipment.Delivered, want)
			}
		}
		b.process(t, 0)
	})
}

// TestCrossReferences checks the keys a shipment learns and that events
// addressed by them find it.
func TestCrossReferences(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})
		ctx := t.Context()

		// The reservation names the shipment by the BOL its plan brought,
		// in the same batch.
		b.send(t,
			ev{id: "a-plan", typ: "shipment.planned", subject: "odoo:OUT-A", data: planned("Acme", `"carrier":{"scac":"ABCD"},"references":{"bol":"BOL-A","pro":"PRO-A"}`)},
			ev{id: "a-res", typ: "inventory.reserved", subject: "bol:BOL-A", at: 1, data: reserveFull},
		)
		b.process(t, 2)
		a := b.wantShipment(t, "odoo:OUT-A", shipment.Released, 1)
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-plan", "a-res")
		wantXrefs(t, b.store, a.ID, "bol:BOL-A", "odoo:OUT-A", "pro:ABCD/PRO-A")

		// B is planned with A's BOL, which stays A's; the assignment names
		// A by its PRO and brings a tracking number.
		b.send(t,
			ev{id: "b-plan", typ: "shipment.planned", subject: "odoo:OUT-B", at: 2, data: planned("Brouwer", `"references":{"bol":"BOL-A"}`)},
			ev{id: "a-assign", typ: "dispatch.assigned", subject: "pro:ABCD/PRO-A", at: 2, data: `{"carrier":{"scac":"ABCD"},"tracking_ref":"TRK-9"}`},
		)
		b.process(t, 2)
		b.wantShipment(t, a.ID, shipment.Assigned, 2)
		sb := b.wantShipment(t, "odoo:OUT-B", shipment.Planned, 1)
		wantXrefs(t, b.store, a.ID, "bol:BOL-A", "odoo:OUT-A", "pro:ABCD/PRO-A", "pro:ABCD/TRK-9", "tracking:TRK-9")
		wantXrefs(t, b.store, sb.ID, "odoo:OUT-B")

		// Loaded by the learned tracking number; C is planned with A's BOL
		// in a batch that already resolved it to A, and an event after it
		// under that BOL still goes to A.
		b.send(t,
			ev{id: "a-bol", typ: "charges.reported", subject: "bol:BOL-A", at: 3, data: `{"charges":[{"code":"400","amount":{"minor":100,"currency":"EUR"}}]}`},
			ev{id: "c-plan", typ: "shipment.planned", subject: "odoo:OUT-C", at: 3, data: planned("Cafe", `"references":{"bol":"BOL-A"}`)},
			ev{id: "a-load", typ: "shipment.loaded", subject: "tracking:TRK-9", at: 4, data: loadFull},
			ev{id: "a-bol2", typ: "charges.reported", subject: "bol:BOL-A", at: 5, data: `{"charges":[{"code":"FUE","amount":{"minor":10,"currency":"EUR"}}]}`},
		)
		b.process(t, 4)
		b.wantShipment(t, a.ID, shipment.Loaded, 3)
		sc := b.wantShipment(t, "odoo:OUT-C", shipment.Planned, 1)
		wantXrefs(t, b.store, sc.ID, "odoo:OUT-C")
		if got := b.shipment(t, "bol:BOL-A"); got.ID != a.ID {
			t.Errorf("bol:BOL-A is shipment %s, want A %s", got.ID, a.ID)
		}
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-assign", "a-bol", "a-load", "a-bol2")
		if a := b.shipment(t, a.ID); len(a.Charges) != 2 {
			t.Errorf("shipment A has charges %+v, want the two reported under its BOL", a.Charges)
		}

		// A carrier's tracking event under a key nobody knows, found by
		// the BOL among its shipment keys: A learns the new key.
		tracked := `{"source_event_id":"trk-1","format":"x12_214","shipment_keys":{"scac":"XKTL","pro":"NEW1","bol":"BOL-A"},"kind":"milestone","status":"picked_up","occurred_at":"2026-11-26T09:00:00Z"}`
		b.send(t, ev{id: "a-trk", typ: "shipment.tracked", subject: "pro:XKTL/NEW1", at: 60, data: tracked})
		b.process(t, 1)
		b.wantShipment(t, a.ID, shipment.InTransit, 4)
		b.wantStatus(t, intake.StateApplied, "", a.ID, "a-trk")
		wantXrefs(t, b.store, a.ID, "bol:BOL-A", "odoo:OUT-A", "pro:ABCD/PRO-A", "pro:ABCD/TRK-9", "pro:XKTL/NEW1", "tracking:TRK-9")

		b.send(t, ev{id: "a-arr", typ: "shipment.arrived", subject: "pro:XKTL/NEW1", at: 120, data: noData})
		b.process(t, 1)
		b.wantShipment(t, a.ID, shipment.Arrived, 5)
		for ref, want := range map[string]string{"odoo:OUT-A": a.ID, "bol:BOL-A": a.ID, "tracking:TRK-9": a.ID, "pro:XKTL/NEW1": a.ID, "odoo:OUT-B": sb.ID} {
			if id, err := b.store.Resolve(ctx, shipment.KindShipment, ref); err != nil || id != want {
				t.Errorf("Resolve(%s) = %s, %v, want %s", ref, id, err, want)
			}
		}
	})
}

// wantXrefs checks the cross-references of id, given as system:external-id
// of kind shipment, in order.
func wantXrefs(t *testing.T, s *workflow.Store, id string, refs ...string) {
	t.Helper()
	wantXrefsOf(t, s, id, shipment.KindShipment, refs...)
}

func wantXrefsOf(t *testing.T, s *workflow.Store, id, kind string, refs ...string) {
	t.Helper()
	got, err := s.Xrefs(t.Context(), id)
	if err != nil {
		t.Fatalf("listing cross-references of %s: %v", id, err)
	}
	want := make([]shipment.Xref, len(refs))
	for i, r := range refs {
		sys, ext, _ := strings.Cut(r, ":")
		want[i] = shipment.Xref{System: sys, Kind: kind, ExternalID: ext}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cross-references of %s (-want +got):\n%s", id, diff)
	}
}

// TestOrders checks that order.confirmed creates and updates orders.
func TestOrders(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{})
		ctx := t.Context()

		b.send(t, ev{id: "o1", typ: "order.confirmed", subject: "odoo:S1", data: orderConfirmed})
		b.process(t, 1)
		o, err := b.store.GetOrder(ctx, "odoo:S1")
		if err != nil {
			t.Fatalf("getting order odoo:S1: %v", err)
		}
		if o.Version != 1 || o.Currency != "EUR" || o.Customer == nil || o.Customer.Name != "Acme" || len(o.Lines) != 1 || o.Lines[0].LineID != "9001" || !o.CreatedAt.Equal(t0) {
			t.Errorf("order after confirmation: %+v", o)
		}
		byID, err := b.store.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatalf("getting order %s: %v", o.ID, err)
		}
		if diff := jsonDiff(t, o, byID); diff != "" {
			t.Errorf("order by external ref and by id (-ref +id):\n%s", diff)
		}
		wantXrefsOf(t, b.store, o.ID, shipment.KindOrder, "odoo:S1")
		b.wantStatus(t, intake.StateApplied, "", "", "o1")
		if _, err := b.store.Get(ctx, "odoo:S1"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("an order's ref as a shipment: got %v, want ErrNotFound", err)
		}

		// Confirmed again, by canonical id and then by ref: the same order,
		// updated; a unit nobody knows is refused.
		b.send(t,
			ev{id: "o2", typ: "order.confirmed", subject: o.ID, at: 5, data: `{"customer":{"name":"Acme B.V."},"lines":[{"line_id":"9001","sku":"A","quantity":{"value":"10","unit":"C62"}},{"line_id":"9002","sku":"B","quantity":{"value":"3","unit":"C62"}}],"currency":"USD","shipments":["odoo:OUT-1"]}`},
			ev{id: "o-bad", typ: "order.confirmed", subject: "odoo:S2", at: 6, data: `{"customer":{"name":"X"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"ZZZ"}}]}`},
		)
		b.process(t, 2)
		o2, err := b.store.GetOrder(ctx, "odoo:S1")
		if err != nil {
			t.Fatal(err)
		}
		if o2.ID != o.ID || o2.Version != 2 || o2.Currency != "USD" || len(o2.Lines) != 2 || o2.Customer.Name != "Acme B.V." ||
			!slices.Equal(o2.Shipments, []string{"odoo:OUT-1"}) || !o2.CreatedAt.Equal(t0) {
			t.Errorf("order after the second confirmation: %+v", o2)
		}
		b.wantStatus(t, intake.StateApplied, "", "", "o2")
		b.wantStatus(t, intake.StateRejected, "invalid data: ", "", "o-bad")
		if _, err := b.store.GetOrder(ctx, "odoo:S2"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("refused order: got %v, want ErrNotFound", err)
		}

		b.send(t, ev{id: "o3", typ: "order.confirmed", subject: "odoo:S1", at: 7, data: orderConfirmed})
		b.process(t, 1)
		if o3, err := b.store.GetOrder(ctx, o.ID); err != nil || o3.Version != 3 || o3.Currency != "EUR" || len(o3.Lines) != 1 {
			t.Errorf("order after the third confirmation: %+v, %v", o3, err)
		}
		wantXrefsOf(t, b.store, o.ID, shipment.KindOrder, "odoo:S1")
		b.wantCounters(t, "waybill_events_refused_total", map[string]float64{
			`order.confirmed rejected invalid_data`: 1,
		})
	})
}

// TestRefusals checks the events the workflow refuses, why, and how they
// are counted.
func TestRefusals(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})
		twice := `{"customer":{"name":"X"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}},{"line_id":"1","sku":"B","quantity":{"value":"1","unit":"C62"}}]}`
		lost := `{"source_event_id":"trk-9","format":"x12_214","shipment_keys":{"scac":"XKTL","pro":"GONE","bol":"BOL-GONE"},"kind":"milestone","status":"in_transit","occurred_at":"2026-11-26T09:00:00Z"}`
		b.send(t,
			ev{id: "unknown", typ: "shipment.departed", subject: "odoo:NOPE", data: noData},
			ev{id: "bad-subject", typ: "shipment.departed", subject: "nocolon", data: noData},
			ev{id: "plan", typ: "shipment.planned", subject: "odoo:R1", data: planned("Acme", "")},
			ev{id: "load-early", typ: "shipment.loaded", subject: "odoo:R1", at: 1, data: loadFull},
			ev{id: "plan-again", typ: "shipment.planned", subject: "odoo:R1", at: 1, data: planned("Acme", "")},
			ev{id: "depart-early", typ: "shipment.departed", subject: "odoo:R1", at: 1, data: noData},
			ev{id: "plan-twice", typ: "shipment.planned", subject: "odoo:R2", at: 1, data: twice},
			ev{id: "lost", typ: "shipment.tracked", subject: "pro:XKTL/GONE", at: 60, data: lost},
			ev{id: "reserve", typ: "inventory.reserved", subject: "odoo:R1", at: 2, data: reserveFull},
			ev{id: "short-late", typ: "inventory.shortage", subject: "odoo:R1", at: 3, data: shortageLine1},
		)
		b.process(t, 10)
		r1 := b.wantShipment(t, "odoo:R1", shipment.Released, 1)
		b.wantStatus(t, intake.StateRejected, "unknown shipment odoo:NOPE: it must be planned first", "", "unknown")
		b.wantStatus(t, intake.StateRejected, shipment.ErrBadRef.Error(), "", "bad-subject")
		b.wantStatus(t, intake.StateRejected, "cannot load: not released for dispatch: awaiting reservation", r1.ID, "load-early")
		b.wantStatus(t, intake.StateRejected, "shipment already planned", r1.ID, "plan-again")
		b.wantStatus(t, intake.StateRejected, "shipment.departed before the shipment was loaded (it is planned)", r1.ID, "depart-early")
		b.wantStatus(t, intake.StateRejected, "line 1 appears twice", "", "plan-twice")
		b.wantStatus(t, intake.StateRejected, "unknown shipment pro:XKTL/GONE", "", "lost")
		b.wantStatus(t, intake.StateApplied, "", r1.ID, "plan", "reserve")
		b.wantStatus(t, intake.StateApplied, "late: shortage reported after the shipment was released", r1.ID, "short-late")
		if _, err := b.store.Get(t.Context(), "odoo:R2"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("shipment refused at planning: got %v, want ErrNotFound", err)
		}
		wantXrefs(t, b.store, r1.ID, "odoo:R1")

		// Applied events count as "accepted", the state intake shows them
		// in.
		b.wantCounters(t, "waybill_events_processed_total", map[string]float64{
			"inventory.reserved accepted": 1,
			"shipment.planned accepted":   1,
			"inventory.shortage late":     1,
			"shipment.departed rejected":  3,
			"shipment.loaded rejected":    1,
			"shipment.planned rejected":   2,
			"shipment.tracked rejected":   1,
		})
		b.wantCounters(t, "waybill_events_refused_total", map[string]float64{
			"shipment.departed rejected bad_subject":      1,
			"shipment.departed rejected unknown_shipment": 1,
			"shipment.tracked rejected unknown_shipment":  1,
			"shipment.departed rejected workflow":         1,
			"shipment.loaded rejected workflow":           1,
			"shipment.planned rejected workflow":          2,
		})
		b.wantCounters(t, "waybill_processor_batch_seconds", map[string]float64{"": 1})
		b.wantActions(t, b.wantAct(t, shipment.ActionDispatchRelease, r1.ID, "reserve", time.Time{}))
	})
}

// TestPanicIsolation checks that an event whose application panics fails
// alone: its shipment is saved as its other events of the batch leave it,
// and the other shipments of the batch are applied.
func TestPanicIsolation(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rate := func(s *shipment.Shipment) ([]shipment.Charge, error) {
			if s.Customer != nil && s.Customer.Name == "Panic Ltd" {
				panic("rating exploded")
			}
			return nil, nil
		}
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true, Rate: rate}})
		b.send(t,
			ev{id: "p-plan", typ: "shipment.planned", subject: "odoo:P", data: planned("Panic Ltd", "")},
			ev{id: "p-res", typ: "inventory.reserved", subject: "odoo:P", at: 1, data: reserveFull},
			ev{id: "p-load", typ: "shipment.loaded", subject: "odoo:P", at: 2, data: loadFull},
			ev{id: "q-plan", typ: "shipment.planned", subject: "odoo:Q", data: planned("Quiet", "")},
			ev{id: "q-res", typ: "inventory.reserved", subject: "odoo:Q", at: 1, data: reserveFull},
			ev{id: "q-load", typ: "shipment.loaded", subject: "odoo:Q", at: 2, data: loadFull},
		)
		b.process(t, 6)
		b.jobs.take()

		b.send(t,
			ev{id: "p-arr", typ: "shipment.arrived", subject: "odoo:P", at: 300, data: noData},
			ev{id: "q-dep", typ: "shipment.departed", subject: "odoo:Q", at: 300, data: noData},
			ev{id: "p-del", typ: "shipment.delivered", subject: "odoo:P", at: 360, data: deliveredPOD},
			ev{id: "q-arr", typ: "shipment.arrived", subject: "odoo:Q", at: 310, data: noData},
			ev{id: "q-del", typ: "shipment.delivered", subject: "odoo:Q", at: 360, data: deliveredPOD},
		)
		b.process(t, 5)
		p := b.wantShipment(t, "odoo:P", shipment.Arrived, 2)
		if p.POD != nil || p.Billable || slices.Contains(milestoneTypes(p), "shipment.delivered") || p.Lines[0].Delivered != nil {
			t.Errorf("shipment P keeps part of the failed delivery: pod %+v, billable %v, milestones %v, line %+v", p.POD, p.Billable, milestoneTypes(p), p.Lines[0])
		}
		q := b.wantShipment(t, "odoo:Q", shipment.Delivered, 2)
		if !q.Billable {
			t.Errorf("shipment Q not billable: %s", q.BlockedReason)
		}
		b.wantStatus(t, intake.StateFailed, "internal error: rating exploded", anyShipment, "p-del")
		b.wantStatus(t, intake.StateApplied, "", p.ID, "p-arr")
		b.wantStatus(t, intake.StateApplied, "", q.ID, "q-dep", "q-arr", "q-del")
		b.wantActions(t,
			b.wantAct(t, shipment.ActionMilestoneSync, p.ID, "p-arr", time.Time{}),
			b.wantAct(t, shipment.ActionInvoicePrepare, q.ID, "q-del", time.Time{}),
			b.wantAct(t, shipment.ActionMilestoneSync, q.ID, "q-del", time.Time{}),
		)
		b.wantCounters(t, "waybill_events_refused_total", map[string]float64{
			"shipment.delivered failed internal": 1,
		})
		b.process(t, 0)
	})
}

// TestBatchSize checks that more pending events than a batch holds are
// applied over several batches, in acceptance order.
func TestBatchSize(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		backlog := new(intake.Backlog)
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}, BatchSize: 2, Backlog: backlog})
		// Each event is refused unless the ones before it were applied.
		b.send(t,
			ev{id: "1", typ: "shipment.planned", subject: "odoo:OUT-1", data: planned("Acme", "")},
			ev{id: "2", typ: "inventory.reserved", subject: "odoo:OUT-1", at: 1, data: reserveFull},
			ev{id: "3", typ: "shipment.loaded", subject: "odoo:OUT-1", at: 2, data: loadFull},
			ev{id: "4", typ: "shipment.departed", subject: "odoo:OUT-1", at: 3, data: noData},
			ev{id: "5", typ: "shipment.arrived", subject: "odoo:OUT-1", at: 4, data: noData},
		)
		if n := backlog.Load(); n != 5 {
			t.Fatalf("backlog %d after sending, want 5", n)
		}
		for i, want := range []struct {
			n       int
			state   shipment.State
			backlog int64
		}{{2, shipment.Released, 3}, {2, shipment.InTransit, 1}, {1, shipment.Arrived, 0}} {
			b.process(t, want.n)
			sh := b.wantShipment(t, "odoo:OUT-1", want.state, int64(i+1))
			done := 2*i + want.n
			for j := 1; j <= 5; j++ {
				st := b.status(t, strconv.Itoa(j))
				if wantState := map[bool]string{true: intake.StateApplied, false: intake.StatePending}[j <= done]; st.State != wantState || (j <= done && st.ShipmentID != sh.ID) {
					t.Errorf("after batch %d: event %d is %s (%s), want %s", i+1, j, st.State, st.Reason, wantState)
				}
			}
			if n := backlog.Load(); n != want.backlog {
				t.Errorf("after batch %d: backlog %d, want %d", i+1, n, want.backlog)
			}
		}
		b.process(t, 0)
	})
}

// TestRun checks the processor's loop: woken, it applies what is
// pending, batch after batch; a failing batch is retried; it returns when
// its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}, BatchSize: 1, PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- b.proc.Run(ctx) }()
		defer func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after its context was cancelled")
			}
		}()

		b.send(t,
			ev{id: "plan", typ: "shipment.planned", subject: "odoo:OUT-1", data: planned("Acme", "")},
			ev{id: "reserve", typ: "inventory.reserved", subject: "odoo:OUT-1", at: 1, data: reserveFull},
		)
		b.proc.Wake()
		b.waitApplied(t, "plan", "reserve")
		b.wantShipment(t, "odoo:OUT-1", shipment.Released, 2)

		// The queue refuses the loading's job: nothing is saved, and the
		// event is applied when woken again once the queue takes it.
		b.jobs.setFail(errors.New("queue unavailable"))
		b.send(t, ev{id: "load", typ: "shipment.loaded", subject: "odoo:OUT-1", at: 2, data: loadFull})
		b.proc.Wake()
		select {
		case <-b.jobs.failed:
		case <-time.After(10 * time.Second):
			t.Fatal("the processor did not try to enqueue the loading's job")
		}
		if st := b.status(t, "load"); st.State != intake.StatePending {
			t.Errorf("event of a failed batch is %s, want pending", st.State)
		}
		b.jobs.setFail(nil)
		b.proc.Wake()
		b.waitApplied(t, "load")
		b.wantShipment(t, "odoo:OUT-1", shipment.Loaded, 3)
	})
}

// waitApplied waits until the events sent as srcs are applied.
func (b *bundle) waitApplied(t *testing.T, srcs ...string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for _, src := range srcs {
		for b.status(t, src).State != intake.StateApplied {
			select {
			case <-deadline:
				t.Fatalf("event %s is %s after 10s, want applied", src, b.status(t, src).State)
			case <-tick.C:
			}
		}
	}
}
