package workflow_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// half owns every other partition: the even ones or the odd ones. Who owns
// what is fixed here; moving partitions between replicas, and fencing
// their writes, are sqldb.Partitions' and tested there.
type half int

func (h half) Count() int { return workflow.Partitions }

func (h half) Owned() []int {
	var out []int
	for p := int(h); p < workflow.Partitions; p += 2 {
		out = append(out, p)
	}
	return out
}

func (h half) Fence(context.Context, *sql.Tx, []int) error { return nil }

// partitioned is two processors on one PostgreSQL database, each applying
// half of the partitions, and the router in front of them.
type partitioned struct {
	*bundle // sends, and applies the even partitions
	odd     *bundle
	router  *workflow.Router
}

func newPartitioned(t *testing.T) *partitioned {
	db := sqldbtest.Postgres(t)
	policy := shipment.Policy{AutoRelease: true}
	p := &partitioned{
		bundle: setup(t, db, workflow.Options{Policy: policy, Partitions: half(0)}),
		odd:    setup(t, db, workflow.Options{Policy: policy, Partitions: half(1)}),
	}
	p.router = workflow.NewRouter(db, p.events, p.store, workflow.RouterOptions{})
	return p
}

// drain routes and applies events until none is pending, and returns how
// many each processor applied.
func (p *partitioned) drain(t *testing.T) (even, odd int) {
	t.Helper()
	for range 20 {
		r, err := p.router.RouteBatch(t.Context())
		if err != nil {
			t.Fatalf("routing: %v", err)
		}
		e, err := p.proc.ProcessBatch(t.Context())
		if err != nil {
			t.Fatalf("applying the even partitions: %v", err)
		}
		o, err := p.odd.proc.ProcessBatch(t.Context())
		if err != nil {
			t.Fatalf("applying the odd partitions: %v", err)
		}
		even, odd = even+e, odd+o
		if r+e+o == 0 {
			return even, odd
		}
	}
	t.Fatal("events still pending after 20 rounds")
	return
}

// parts returns the partitions the events of object id (a shipment, or an
// order with the order column) were applied in.
func (p *partitioned) parts(t *testing.T, query, id string) []int {
	t.Helper()
	rows, err := p.db.QueryContext(t.Context(), `SELECT DISTINCT part FROM events WHERE `+query+` ORDER BY part`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var part sql.NullInt64
		if err := rows.Scan(&part); err != nil {
			t.Fatal(err)
		}
		if !part.Valid {
			t.Fatalf("an event of %s was not routed", id)
		}
		out = append(out, int(part.Int64))
	}
	return out
}

// wantOwnPartition checks that every event of shipment id was applied in
// the shipment's partition.
func (p *partitioned) wantOwnPartition(t *testing.T, id string) {
	t.Helper()
	want := workflow.PartitionOf(id, workflow.Partitions)
	if got := p.parts(t, "shipment_id = $1", id); len(got) != 1 || got[0] != want {
		t.Errorf("events of shipment %s were applied in partitions %v, want only its own, %d", id, got, want)
	}
}

// TestPartitionedCrossReferences runs the scenario of TestCrossReferences
// with the events routed to partitions and applied by two processors, one
// per half: a shipment's events, under whichever key they name it by,
// reach the one processor that owns its partition, in acceptance order,
// even before the processor has learned the key.
func TestPartitionedCrossReferences(t *testing.T) {
	t.Parallel()
	b := newPartitioned(t)
	ctx := t.Context()

	// The reservation names the shipment by the BOL its plan brought,
	// before the plan is applied: the router sends both to the
	// partition of the plan's reference.
	b.send(t,
		ev{id: "a-plan", typ: "shipment.planned", subject: "odoo:OUT-A", data: planned("Acme", `"carrier":{"scac":"ABCD"},"references":{"bol":"BOL-A","pro":"PRO-A"}`)},
		ev{id: "a-res", typ: "inventory.reserved", subject: "bol:BOL-A", at: 1, data: reserveFull},
	)
	b.drain(t)
	a := b.wantShipment(t, "odoo:OUT-A", shipment.Released, 1)
	b.wantStatus(t, intake.StateApplied, "", a.ID, "a-plan", "a-res")
	wantXrefs(t, b.store, a.ID, "bol:BOL-A", "odoo:OUT-A", "pro:ABCD/PRO-A")
	if got, want := workflow.PartitionOf(a.ID, workflow.Partitions), workflow.RefPartition(shipment.KindShipment, shipment.Ref{System: "odoo", ExternalID: "OUT-A"}, workflow.Partitions); got != want {
		t.Errorf("shipment A is in partition %d, want %d, its plan's", got, want)
	}

	b.send(t,
		ev{id: "b-plan", typ: "shipment.planned", subject: "odoo:OUT-B", at: 2, data: planned("Brouwer", `"references":{"bol":"BOL-A"}`)},
		ev{id: "a-assign", typ: "dispatch.assigned", subject: "pro:ABCD/PRO-A", at: 2, data: `{"carrier":{"scac":"ABCD"},"tracking_ref":"TRK-9"}`},
	)
	b.drain(t)
	b.wantShipment(t, a.ID, shipment.Assigned, 2)
	sb := b.wantShipment(t, "odoo:OUT-B", shipment.Planned, 1)
	wantXrefs(t, b.store, a.ID, "bol:BOL-A", "odoo:OUT-A", "pro:ABCD/PRO-A", "pro:ABCD/TRK-9", "tracking:TRK-9")
	wantXrefs(t, b.store, sb.ID, "odoo:OUT-B")

	// Loaded by the tracking number the assignment brought, sent with it
	// before either is applied.
	b.send(t,
		ev{id: "a-bol", typ: "charges.reported", subject: "bol:BOL-A", at: 3, data: `{"charges":[{"code":"400","amount":{"minor":100,"currency":"EUR"}}]}`},
		ev{id: "c-plan", typ: "shipment.planned", subject: "odoo:OUT-C", at: 3, data: planned("Cafe", `"references":{"bol":"BOL-A"}`)},
		ev{id: "a-load", typ: "shipment.loaded", subject: "tracking:TRK-9", at: 4, data: loadFull},
		ev{id: "a-bol2", typ: "charges.reported", subject: "bol:BOL-A", at: 5, data: `{"charges":[{"code":"FUE","amount":{"minor":10,"currency":"EUR"}}]}`},
	)
	b.drain(t)
	b.wantShipment(t, a.ID, shipment.Loaded, 3)
	sc := b.wantShipment(t, "odoo:OUT-C", shipment.Planned, 1)
	wantXrefs(t, b.store, sc.ID, "odoo:OUT-C")
	b.wantStatus(t, intake.StateApplied, "", a.ID, "a-assign", "a-bol", "a-load", "a-bol2")

	// A carrier's report under a key nobody knows, found by the BOL among
	// its keys.
	tracked := `{"source_event_id":"trk-1","format":"x12_214","shipment_keys":{"scac":"XKTL","pro":"NEW1","bol":"BOL-A"},"kind":"milestone","status":"picked_up","occurred_at":"2026-11-26T09:00:00Z"}`
	b.send(t, ev{id: "a-trk", typ: "shipment.tracked", subject: "pro:XKTL/NEW1", at: 60, data: tracked})
	b.drain(t)
	b.wantShipment(t, a.ID, shipment.InTransit, 4)
	b.send(t, ev{id: "a-arr", typ: "shipment.arrived", subject: "pro:XKTL/NEW1", at: 120, data: noData})
	b.drain(t)
	b.wantShipment(t, a.ID, shipment.Arrived, 5)
	b.wantStatus(t, intake.StateApplied, "", a.ID, "a-trk", "a-arr")
	for _, id := range []string{a.ID, sb.ID, sc.ID} {
		b.wantOwnPartition(t, id)
	}
	for ref, want := range map[string]string{"odoo:OUT-A": a.ID, "bol:BOL-A": a.ID, "tracking:TRK-9": a.ID, "pro:XKTL/NEW1": a.ID, "odoo:OUT-B": sb.ID} {
		if id, err := b.store.Resolve(ctx, shipment.KindShipment, ref); err != nil || id != want {
			t.Errorf("Resolve(%s) = %s, %v, want %s", ref, id, err, want)
		}
	}

	// An order lives in its own partition too.
	b.send(t, ev{id: "so-1", typ: "order.confirmed", subject: "odoo:SO-1", at: 130, data: orderConfirmed},
		ev{id: "so-1b", typ: "order.confirmed", subject: "odoo:SO-1", at: 131, data: orderConfirmed})
	b.drain(t)
	b.wantStatus(t, intake.StateApplied, "", "", "so-1", "so-1b")
	oid, err := b.store.Resolve(ctx, shipment.KindOrder, "odoo:SO-1")
	if err != nil {
		t.Fatal(err)
	}
	want := workflow.PartitionOf(oid, workflow.Partitions)
	if got := b.parts(t, "subject = $1", "odoo:SO-1"); len(got) != 1 || got[0] != want {
		t.Errorf("events of order %s were routed to %v, want its partition %d", oid, got, want)
	}
	if got := (counter(t, b.reg, "waybill_events_rerouted_total")) + (counter(t, b.odd.reg, "waybill_events_rerouted_total")); got != 0 {
		t.Errorf("%v events were rerouted, want none: the router knew every key", got)
	}
}

// TestPartitionedReroute checks an event that names its shipment by a key
// the router cannot know: the PRO a shipment gets from its plan's
// reference and its assignment's carrier. The processor that gets it waits
// for the assignment to be applied in the shipment's partition, then sends
// it on there, where it is applied.
func TestPartitionedReroute(t *testing.T) {
	t.Parallel()
	b := newPartitioned(t)
	b.send(t,
		ev{id: "d-plan", typ: "shipment.planned", subject: "odoo:OUT-D", data: planned("Delta", `"references":{"pro":"PRO-D"}`)},
		ev{id: "d-res", typ: "inventory.reserved", subject: "odoo:OUT-D", at: 1, data: reserveFull},
	)
	b.drain(t)
	d := b.wantShipment(t, "odoo:OUT-D", shipment.Released, 1)
	home := workflow.PartitionOf(d.ID, workflow.Partitions)
	// A carrier whose PRO key hashes to a partition of the other half.
	var scac string
	for i := range 26 * 26 {
		s := "C" + string(rune('A'+i/26)) + string(rune('A'+i%26))
		if p := workflow.RefPartition(shipment.KindShipment, shipment.Ref{System: "pro", ExternalID: s + "/PRO-D"}, workflow.Partitions); p%2 != home%2 {
			scac = s
			break
		}
	}
	// And a report for a load nobody planned, in the same half as the
	// loading report.
	var nope string
	for i := range 1000 {
		nope = fmt.Sprintf("NOPE-%d", i)
		if p := workflow.RefPartition(shipment.KindShipment, shipment.Ref{System: "tms", ExternalID: nope}, workflow.Partitions); p%2 != home%2 {
			break
		}
	}
	b.send(t,
		ev{id: "d-assign", typ: "dispatch.assigned", subject: "odoo:OUT-D", at: 2, data: `{"carrier":{"scac":"` + scac + `"}}`},
		ev{id: "d-load", typ: "shipment.loaded", subject: "pro:" + scac + "/PRO-D", at: 3, data: loadFull},
		ev{id: "nope", typ: "shipment.departed", subject: "tms:" + nope, at: 3, data: noData},
	)
	if n, err := b.router.RouteBatch(t.Context()); err != nil || n != 3 {
		t.Fatalf("routed %d events, %v; want 3", n, err)
	}
	// The replica the loading report went to sees an unknown PRO while the
	// older assignment, which may teach it, waits in another partition:
	// the report waits too, rather than being refused. A load no event
	// can teach is refused at once.
	away := b.proc
	if home%2 == 0 {
		away = b.odd.proc
	}
	if n, err := away.ProcessBatch(t.Context()); err != nil || n != 1 {
		t.Fatalf("the other replica applied %d events, %v; want the unknown load's", n, err)
	}
	b.wantStatus(t, intake.StatePending, "", "", "d-load")
	b.wantStatus(t, intake.StateRejected, "unknown shipment", "", "nope")
	b.drain(t)
	b.wantShipment(t, d.ID, shipment.Loaded, 3)
	b.wantStatus(t, intake.StateApplied, "", d.ID, "d-assign", "d-load")
	b.wantOwnPartition(t, d.ID)
	rerouted := (counter(t, b.reg, "waybill_events_rerouted_total")) + (counter(t, b.odd.reg, "waybill_events_rerouted_total"))
	if rerouted != 1 {
		t.Errorf("%v events were rerouted, want the one loading report", rerouted)
	}
}

// TestPartitionedSkipsOthers checks that a processor applies only the
// events of its partitions.
func TestPartitionedSkipsOthers(t *testing.T) {
	t.Parallel()
	b := newPartitioned(t)
	for i := range 40 {
		b.send(t, ev{id: fmt.Sprintf("p%d", i), typ: "shipment.planned", subject: fmt.Sprintf("odoo:OUT-%d", i), data: planned("Acme", "")})
	}
	if n, err := b.router.RouteBatch(t.Context()); err != nil || n != 40 {
		t.Fatalf("routed %d events, %v; want 40", n, err)
	}
	n, err := b.proc.ProcessBatch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var wantEven int
	for i := range 40 {
		ref := shipment.Ref{System: "odoo", ExternalID: fmt.Sprintf("OUT-%d", i)}
		if workflow.RefPartition(shipment.KindShipment, ref, workflow.Partitions)%2 == 0 {
			wantEven++
			b.wantStatus(t, intake.StateApplied, "", anyShipment, fmt.Sprintf("p%d", i))
		} else {
			b.wantStatus(t, intake.StatePending, "", "", fmt.Sprintf("p%d", i))
		}
	}
	if n != wantEven || wantEven == 0 || wantEven == 40 {
		t.Errorf("the even processor applied %d events, want %d of 40", n, wantEven)
	}
	_, odd := b.drain(t)
	if odd != 40-wantEven {
		t.Errorf("the odd processor applied %d events, want %d", odd, 40-wantEven)
	}
}

// counter is the value of the counter name (without labels) in reg; 0
// when it was never counted.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// TestPartList checks the partitions a router's notification carries.
func TestPartList(t *testing.T) {
	routes := []intake.Route{{Seq: 1, Part: 7}, {Seq: 2, Part: 0}, {Seq: 3, Part: 7}, {Seq: 4, Part: 31}}
	if got, want := workflow.PartList(routes), "0,7,31"; got != want {
		t.Errorf("partList = %q, want %q", got, want)
	}
	if got := workflow.ParsePartList("0,7,31"); len(got) != 3 || got[0] != 0 || got[1] != 7 || got[2] != 31 {
		t.Errorf("ParsePartList = %v, want [0 7 31]", got)
	}
	if got := workflow.ParsePartList("x,,3"); len(got) != 1 || got[0] != 3 {
		t.Errorf("ParsePartList of a damaged list = %v, want [3]", got)
	}
}
