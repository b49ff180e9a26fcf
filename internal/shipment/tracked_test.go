package shipment_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/tracking"
)

// tracked is a shipment.tracked input from a carrier event.
func tracked(id string, minutes int, e tracking.Event) shipment.Input {
	e.SourceEventID, e.Format = id, "test"
	if e.Kind == "" {
		e.Kind = tracking.KindMilestone
	}
	e.Keys = tracking.Keys{BOL: "BOL-1"}
	e.OccurredAt = t0.Add(time.Duration(minutes) * time.Minute)
	data, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return shipment.Input{EventID: id, Type: event.ShipmentTracked, Time: e.OccurredAt, Data: data}
}

func TestTrackedEvents(t *testing.T) {
	t.Parallel()
	sh := run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		// The carrier is faster than the warehouse: kept, but no move.
		{in: tracked("t1", 2, tracking.Event{Status: tracking.PickedUp}), outcome: "late", state: shipment.Released, reason: "recorded only: the carrier reports picked_up but the shipment is released"},
		{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: tracked("t2", 10, tracking.Event{Status: tracking.InTransit}), outcome: "applied", state: shipment.InTransit},
		// A delay opens an exception for review…
		{in: tracked("t3", 20, tracking.Event{Status: tracking.StatusException, Exception: &tracking.Exception{Type: "delay", Reason: "weather", ReasonCode: "AO"},
			ETA: &tracking.Window{Start: t0.Add(5 * time.Hour), End: t0.Add(5 * time.Hour)}}), outcome: "applied", state: shipment.Exception},
		// …that the carrier's next progress resolves.
		{in: tracked("t4", 30, tracking.Event{Status: tracking.OutForDelivery}), outcome: "applied", state: shipment.InTransit},
		// The same status in the same minute under another id, another offset.
		{in: tracked("t5", 30, tracking.Event{Status: tracking.OutForDelivery}), outcome: "late", state: shipment.InTransit, reason: "duplicate: event t4"},
		// An older status never moves the shipment back.
		{in: tracked("t6", 15, tracking.Event{Status: tracking.InTransit, Location: &tracking.Location{City: "TROUTDALE", Region: "OR"}}), outcome: "late", state: shipment.InTransit, reason: "late"},
		// Damaged lading waits for a person, whatever follows.
		{in: tracked("t7", 40, tracking.Event{Status: tracking.DeliveryAttempted, Reason: "consignee_closed",
			Lading: []tracking.Lading{{Condition: "damaged", Count: 2, Packaging: "PLT"}}}), outcome: "applied", state: shipment.Exception},
		{in: tracked("t8", 50, tracking.Event{Status: tracking.Delivered, POD: &tracking.POD{Signer: "R OKAFOR"}}), outcome: "applied", state: shipment.Exception},
		{in: tracked("t9", 55, tracking.Event{Kind: tracking.KindPosition, Position: &tracking.Position{Lat: 1, Lon: 2}}), outcome: "applied", state: shipment.Exception},
	})
	if sh.ResumeState != shipment.Arrived {
		t.Errorf("resume state %s, want arrived: a carrier's delivery arrives the shipment", sh.ResumeState)
	}
	if sh.Billable || sh.POD != nil {
		t.Error("a carrier's delivery made the shipment billable without a proof of delivery")
	}
	if sh.ETA == nil || !sh.ETA.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("ETA %v", sh.ETA)
	}
	var open []string
	for _, e := range sh.Exceptions {
		open = append(open, fmt.Sprintf("%s:%s", e.ID, e.Status))
	}
	if diff := cmp.Diff([]string{"carrier-delay:resolved", "carrier-lading-damaged:open"}, open); diff != "" {
		t.Errorf("exceptions (-want +got):\n%s", diff)
	}
	var got []string
	for _, m := range sh.Milestones {
		if m.Type == string(event.ShipmentTracked) {
			late := ""
			if m.Late {
				late = " late"
			}
			got = append(got, m.EventID+" "+m.Status+late)
		}
	}
	want := []string{"t1 picked_up", "t2 in_transit", "t6 in_transit late", "t3 exception", "t4 out_for_delivery", "t7 delivery_attempted", "t8 delivered", "t9 position"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if i := slices.IndexFunc(sh.Milestones, func(m shipment.Milestone) bool { return m.EventID == "t8" }); sh.Milestones[i].Signer != "R OKAFOR" {
		t.Errorf("signer %q", sh.Milestones[i].Signer)
	}
}

// TestTrackedOrderIndependence applies the same carrier events in every
// order: the state and the set of events kept must not change.
func TestTrackedOrderIndependence(t *testing.T) {
	t.Parallel()
	evs := []shipment.Input{
		tracked("ppe-90017", 348, tracking.Event{Status: tracking.Delivered, POD: &tracking.POD{Signer: "A. LINDQVIST"}}),
		tracked("ppe-90011", 62, tracking.Event{Status: tracking.OutForDelivery}),
		tracked("ppe-90019", 348, tracking.Event{Status: tracking.Delivered, POD: &tracking.POD{Signer: "A LINDQVIST"}}),
		tracked("ppe-90008", 15, tracking.Event{Status: tracking.InTransit}),
	}
	var first []string
	for _, order := range permutations(len(evs)) {
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		})
		for _, i := range order {
			sh.Apply(evs[i], shipment.Policy{})
		}
		if sh.State != shipment.Arrived {
			t.Fatalf("order %v: state %s", order, sh.State)
		}
		var kept []string
		for _, m := range sh.Milestones {
			if m.Type == string(event.ShipmentTracked) {
				kept = append(kept, m.At.Format("15:04")+" "+m.Status)
			}
		}
		if first == nil {
			first = kept
			if len(kept) != 3 {
				t.Fatalf("kept %v, want 3 events", kept)
			}
		} else if diff := cmp.Diff(first, kept); diff != "" {
			t.Fatalf("order %v changed what is kept (-first +got):\n%s", order, diff)
		}
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestTrackedDeliveryAfterArrival: the carrier's delivery after its
// arrival at the consignee is progress, not a late event, though the
// shipment is arrived already.
func TestTrackedDeliveryAfterArrival(t *testing.T) {
	t.Parallel()
	run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: tracked("a", 10, tracking.Event{Status: tracking.ArrivedAtDelivery}), outcome: "applied", state: shipment.Arrived},
		{in: tracked("d", 20, tracking.Event{Status: tracking.Delivered}), outcome: "applied", state: shipment.Arrived},
		{in: tracked("x", 15, tracking.Event{Status: tracking.ArrivedAtDelivery}), outcome: "late", state: shipment.Arrived, reason: "late"},
	})
}

// TestCarrierWeights: a carrier's scale weight fills the measured weight
// when none was measured; the weight its invoice billed after a reweigh
// replaces it, for weight reconciliation.
func TestCarrierWeights(t *testing.T) {
	t.Parallel()
	sh := run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: tracked("w1", 10, tracking.Event{Status: tracking.InTransit,
			Weights: []tracking.Weight{{KG: "1868.801", RawValue: "4120", RawUnit: "L", Kind: tracking.WeightActual}}}), outcome: "applied", state: shipment.InTransit},
	})
	if sh.MeasuredWeight == nil || sh.MeasuredWeight.String() != "1868.801 KGM" {
		t.Fatalf("measured weight after the 214: %v", sh.MeasuredWeight)
	}
	res := sh.Apply(in(event.ChargesReported, 20, `{"charges":[{"code":"400","amount":{"minor":100,"currency":"USD"}}],
		"weights":[{"kg":"816.466","raw_value":"1800","raw_unit":"L","kind":"declared"},{"kg":"929.864","raw_value":"2050","raw_unit":"L","kind":"billed"}]}`), shipment.Policy{})
	if res.Outcome != shipment.OutcomeApplied || sh.MeasuredWeight.String() != "929.864 KGM" {
		t.Errorf("after the 210: %+v, measured %v", res, sh.MeasuredWeight)
	}
}
