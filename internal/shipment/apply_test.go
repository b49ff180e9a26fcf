package shipment_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/shipment"
)

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func in(typ event.Type, minutes int, data string) shipment.Input {
	return shipment.Input{EventID: string(typ), Type: typ, Time: t0.Add(time.Duration(minutes) * time.Minute), Data: json.RawMessage(data)}
}

const plannedData = `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"40","unit":"KGM"}}]}`

const (
	reserveFull    = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40000","unit":"GRM"}}]}`
	reservePartial = `{"lines":[{"line_id":"1","quantity":{"value":"5","unit":"C62"}}]}`
	loadFull       = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	delivered      = `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"88.1849","unit":"LBR"}}]}}`
)

type step struct {
	in      shipment.Input
	outcome string
	state   shipment.State
	reason  string // substring of the result's reason
	actions []string
}

// decoded is in with its data given decoded only, as intake hands it over
// for events applied as they are stored: Data is replaced by text that
// does not decode, so that the data must come from Decoded.
func decoded(t *testing.T, in shipment.Input) shipment.Input {
	t.Helper()
	d := event.NewData(in.Type)
	if err := json.Unmarshal(in.Data, d); err != nil {
		return in // invalid data is never handed over decoded
	}
	in.Data, in.Decoded = json.RawMessage(`"given decoded"`), d
	return in
}

// run applies steps to a new shipment, and each of them also to a twin
// shipment that is given the data decoded: both must end the same.
func run(t *testing.T, p shipment.Policy, steps []step) *shipment.Shipment {
	t.Helper()
	sh, res := shipment.New("s1", in(event.ShipmentPlanned, 0, plannedData))
	if res.Outcome != shipment.OutcomeApplied {
		t.Fatalf("planned: %+v", res)
	}
	twin, tres := shipment.New("s1", decoded(t, in(event.ShipmentPlanned, 0, plannedData)))
	if tres.Outcome != shipment.OutcomeApplied {
		t.Fatalf("planned, with the data decoded by intake: %+v", tres)
	}
	for i, s := range steps {
		before, _ := json.Marshal(sh)
		res := sh.Apply(s.in, p)
		if tres := twin.Apply(decoded(t, s.in), p); !cmp.Equal(res, tres) {
			t.Fatalf("step %d (%s): with the data decoded by intake got %+v, want %+v", i, s.in.Type, tres, res)
		}
		if a, b := mustJSON(t, sh), mustJSON(t, twin); a != b {
			t.Fatalf("step %d (%s): with the data decoded by intake the shipment differs:\n%s\n%s", i, s.in.Type, b, a)
		}
		if res.Outcome != s.outcome || !strings.Contains(res.Reason, s.reason) {
			t.Fatalf("step %d (%s): got %s %q, want %s containing %q", i, s.in.Type, res.Outcome, res.Reason, s.outcome, s.reason)
		}
		if sh.State != s.state {
			t.Fatalf("step %d (%s): got state %s, want %s (blocked: %s)", i, s.in.Type, sh.State, s.state, sh.BlockedReason)
		}
		if diff := cmp.Diff(s.actions, res.Actions); diff != "" {
			t.Fatalf("step %d (%s): actions (-want +got):\n%s", i, s.in.Type, diff)
		}
		if res.Outcome == shipment.OutcomeRejected {
			after, _ := json.Marshal(sh)
			if string(before) != string(after) {
				t.Fatalf("step %d: a rejected event changed the shipment", i)
			}
		}
	}
	return sh
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	sh := run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.DispatchAssigned, 2, `{"route_id":"R1"}`), outcome: "applied", state: shipment.Assigned},
		{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: in(event.ShipmentDeparted, 4, `{}`), outcome: "applied", state: shipment.InTransit},
		{in: in(event.ShipmentDelayed, 5, `{"reason":"traffic","eta":"2026-11-26T15:00:00Z"}`), outcome: "applied", state: shipment.Delayed},
		{in: in(event.ShipmentArrived, 6, `{}`), outcome: "applied", state: shipment.Arrived},
		{in: in(event.ShipmentDelivered, 360, delivered), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
		// A repeat delivery does not bill twice.
		{in: in(event.ShipmentDelivered, 361, delivered), outcome: "late", state: shipment.Delivered, reason: "late"},
	})
	if !sh.Billable || sh.POD == nil || sh.POD.Signer != "J. Jansen" {
		t.Errorf("got billable %v pod %+v", sh.Billable, sh.POD)
	}
	if sh.ETA == nil || !sh.ETA.Equal(time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("got ETA %v", sh.ETA)
	}
}

func TestGates(t *testing.T) {
	t.Parallel()
	t.Run("no release while short", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reservePartial), outcome: "applied", state: shipment.Short},
			{in: in(event.DispatchAssigned, 2, `{"route_id":"R1"}`), outcome: "rejected", state: shipment.Short, reason: "not released for dispatch: awaiting reservation"},
			{in: in(event.ShipmentLoaded, 3, loadFull), outcome: "rejected", state: shipment.Short, reason: "not released"},
		})
		if !strings.Contains(sh.BlockedReason, "line 1 reserved 5 C62 of 12 C62") || !strings.Contains(sh.BlockedReason, "line 2 not reserved") {
			t.Errorf("blocked reason %q does not say which lines wait", sh.BlockedReason)
		}
	})
	t.Run("partial release when allowed", func(t *testing.T) {
		t.Parallel()
		run(t, shipment.Policy{AutoRelease: true, PartialRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reservePartial), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		})
	})
	t.Run("loaded above reserved", func(t *testing.T) {
		t.Parallel()
		run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 2, `{"lines":[{"line_id":"2","quantity":{"value":"40.001","unit":"KGM"}}]}`), outcome: "rejected", state: shipment.Released, reason: "exceeds the 40000 GRM reserved"},
			{in: in(event.ShipmentLoaded, 3, `{"lines":[{"line_id":"2","quantity":{"value":"12","unit":"C62"}}]}`), outcome: "rejected", state: shipment.Released, reason: "incompatible"},
		})
	})
	t.Run("delivered above loaded and before loading", func(t *testing.T) {
		t.Parallel()
		run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.ShipmentDelivered, 1, delivered), outcome: "rejected", state: shipment.Planned, reason: "before the shipment was loaded"},
			{in: in(event.InventoryReserved, 2, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 3, `{"lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}}]}`), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
			{in: in(event.ShipmentDelivered, 4, delivered), outcome: "rejected", state: shipment.Loaded, reason: "line 2 was not loaded"},
		})
	})
	t.Run("open exception blocks billing until resolved", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
			{in: in(event.ShipmentException, 3, `{"category":"damaged","lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}`), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentDeparted, 4, `{}`), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentException, 301, `{"category":"damaged","status":"resolved"}`), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
		})
		if sh.Exceptions[0].OwnerRole != "claims" || sh.Exceptions[0].Status != "resolved" {
			t.Errorf("exception: %+v", sh.Exceptions[0])
		}
	})
	t.Run("cancel only before loading", func(t *testing.T) {
		t.Parallel()
		run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
			{in: in(event.ShipmentCancelled, 3, `{}`), outcome: "rejected", state: shipment.Loaded, reason: "return it instead"},
			{in: in(event.ShipmentReturned, 4, `{"reason":"refused"}`), outcome: "applied", state: shipment.Returned},
			{in: in(event.ShipmentDeparted, 5, `{}`), outcome: "rejected", state: shipment.Returned, reason: "returned"},
		})
	})
}

func TestLateMilestonesKeepTheirPlace(t *testing.T) {
	t.Parallel()
	sh := run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: in(event.ShipmentArrived, 60, `{}`), outcome: "applied", state: shipment.Arrived},
		{in: in(event.ShipmentDeparted, 10, `{}`), outcome: "late", state: shipment.Arrived, reason: "late"},
		{in: in(event.ShipmentDelayed, 20, `{"reason":"queue at border"}`), outcome: "late", state: shipment.Arrived, reason: "late"},
	})
	var got []string
	for _, m := range sh.Milestones {
		got = append(got, m.Type)
	}
	want := []string{"shipment.planned", "inventory.reserved", "shipment.loaded", "shipment.departed", "shipment.delayed", "shipment.arrived"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("milestones not in time order (-want +got):\n%s", diff)
	}
}

func TestChargesMustAddUp(t *testing.T) {
	t.Parallel()
	run(t, shipment.Policy{}, []step{
		{in: in(event.ChargesReported, 1, `{"charges":[{"code":"400","type":"linehaul","amount":{"minor":58220,"currency":"USD"}},{"code":"FUE","type":"fuel","amount":{"minor":18339,"currency":"USD"}}],"total":{"minor":76559,"currency":"USD"}}`), outcome: "applied", state: shipment.Planned},
		{in: in(event.ChargesReported, 2, `{"charges":[{"code":"400","amount":{"minor":100,"currency":"USD"}}],"total":{"minor":101,"currency":"USD"}}`), outcome: "rejected", state: shipment.Planned, reason: "add up"},
		{in: in(event.ChargesReported, 3, `{"charges":[{"code":"400","amount":{"minor":100,"currency":"USD"}},{"code":"X","amount":{"minor":100,"currency":"EUR"}}],"total":{"minor":200,"currency":"USD"}}`), outcome: "rejected", state: shipment.Planned, reason: "currenc"},
	})
}

func inID(id string, typ event.Type, minutes int, data string) shipment.Input {
	x := in(typ, minutes, data)
	x.EventID = id
	return x
}

func decision(review, verdict string) string {
	return `{"review_id":"` + review + `","decision":"` + verdict + `","actor":"key:cs","reason":"checked the photos"}`
}

// dest plans a shipment whose stop has coordinates (Utrecht).
const (
	loadTen     = `{"lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	deliverOver = `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}}`
	deliverTen  = `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T15:00:00Z","lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}}]}}`
)

func TestPODReview(t *testing.T) {
	t.Parallel()
	start := []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 2, loadTen), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: inID("pod-1", event.ShipmentDelivered, 300, deliverOver), outcome: "applied", state: shipment.Delivered},
	}
	t.Run("approved", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, append(start,
			step{in: inID("d1", event.ReviewDecided, 310, decision("pod-1", "approve")), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
			step{in: inID("d2", event.ReviewDecided, 311, decision("pod-1", "reject")), outcome: "rejected", state: shipment.Delivered, reason: "already approved"},
		))
		r := sh.Reviews[0]
		if r.ID != "pod-1" || r.Kind != shipment.ReviewPOD || r.Status != shipment.ReviewApproved || r.Actor != "key:cs" || r.DecisionEventID != "d1" {
			t.Errorf("review %+v", r)
		}
		if !sh.Billable || sh.POD.Validation.Status != shipment.PODApproved {
			t.Errorf("billable %v, validation %+v", sh.Billable, sh.POD.Validation)
		}
	})
	t.Run("rejected, then a valid proof", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, append(start,
			step{in: inID("d1", event.ReviewDecided, 310, decision("pod-1", "reject")), outcome: "applied", state: shipment.Delivered},
			step{in: inID("pod-2", event.ShipmentDelivered, 320, deliverTen), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
			step{in: inID("pod-3", event.ShipmentDelivered, 330, deliverTen), outcome: "late", state: shipment.Delivered, reason: "delivery reported again"},
		))
		if !sh.Billable || sh.POD.EventID != "pod-2" || sh.POD.Validation.Status != shipment.PODValid {
			t.Errorf("billable %v, pod %+v", sh.Billable, sh.POD)
		}
	})
	t.Run("a failed proof is not billable", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, start)
		if sh.Billable || !strings.Contains(sh.BlockedReason, "delivered 12 C62 exceeds the 10 C62 loaded") {
			t.Errorf("billable %v, blocked %q", sh.Billable, sh.BlockedReason)
		}
		if len(sh.Reviews) != 1 || sh.Reviews[0].Status != shipment.ReviewOpen || sh.Reviews[0].OwnerRole == "" {
			t.Errorf("reviews %+v", sh.Reviews)
		}
	})
}

func TestPODPosition(t *testing.T) {
	t.Parallel()
	planned := strings.Replace(plannedData, `"destination":{"name":"DC"}`, `"destination":{"name":"DC","lat":52.0907,"lon":5.1214}`, 1)
	pod := func(lat, lon string) string {
		return `{"pod":{"signer":"J","signed_at":"2026-11-26T15:00:00Z","lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}}],"position":{"lat":` + lat + `,"lon":` + lon + `}}}`
	}
	for _, tc := range []struct {
		name, data, plan string
		status           string
		flag             bool
	}{
		{"at the stop", pod("52.0910", "5.1220"), planned, shipment.PODValid, false},
		{"across town", pod("52.1300", "5.1214"), planned, shipment.PODFailed, false},
		{"stop without coordinates", pod("52.1300", "5.1214"), plannedData, shipment.PODValid, true},
		{"proof without position", deliverTen, planned, shipment.PODValid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sh, _ := shipment.New("s1", in(event.ShipmentPlanned, 0, tc.plan))
			p := shipment.Policy{AutoRelease: true, PODRadiusMeters: 500}
			for _, x := range []shipment.Input{in(event.InventoryReserved, 1, reserveFull), in(event.ShipmentLoaded, 2, loadTen), in(event.ShipmentDelivered, 300, tc.data)} {
				if res := sh.Apply(x, p); res.Outcome != shipment.OutcomeApplied {
					t.Fatalf("%s: %+v", x.Type, res)
				}
			}
			v := sh.POD.Validation
			if v.Status != tc.status || (len(v.Flags) > 0) != tc.flag {
				t.Errorf("validation %+v, want status %s, flagged %v", v, tc.status, tc.flag)
			}
			if tc.status == shipment.PODFailed && (v.DistanceM == nil || *v.DistanceM < 4000 || !strings.Contains(v.Problems[0], "more than the 500 m allowed")) {
				t.Errorf("distance %v, problems %v", v.DistanceM, v.Problems)
			}
		})
	}
}

func TestExceptionReview(t *testing.T) {
	t.Parallel()
	start := []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
	}
	damaged := `{"category":"damaged","exception_id":"EXC-1","lines":[{"line_id":"1","quantity":{"value":"2","unit":"C62"}}]}`
	refused := `{"category":"refused","exception_id":"EXC-2","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}`
	t.Run("damaged before billing, approved", func(t *testing.T) {
		t.Parallel()
		steps := []step{
			start[0], start[1],
			{in: inID("exc", event.ShipmentException, 290, damaged), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Exception},
			{in: inID("d1", event.ReviewDecided, 310, decision("exc", "approve")), outcome: "applied", state: shipment.Delivered,
				actions: []string{shipment.ActionStockScrap, shipment.ActionInvoicePrepare}},
		}
		sh := run(t, shipment.Policy{AutoRelease: true}, steps)
		if e := sh.Exceptions[0]; e.Status != "resolved" || e.Resolution != "approved" {
			t.Errorf("exception %+v", e)
		}
	})
	t.Run("missing at delivery, approved: written off", func(t *testing.T) {
		t.Parallel()
		short := `{"category":"short","exception_id":"EXC-3","lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}`
		run(t, shipment.Policy{AutoRelease: true}, []step{
			start[0], start[1],
			{in: inID("exc", event.ShipmentException, 290, short), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Exception},
			{in: inID("d1", event.ReviewDecided, 310, decision("exc", "approve")), outcome: "applied", state: shipment.Delivered,
				actions: []string{shipment.ActionStockScrap, shipment.ActionInvoicePrepare}},
		})
	})
	t.Run("refused, dismissed", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			start[0], start[1],
			{in: inID("exc", event.ShipmentException, 290, refused), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Exception},
			{in: inID("d1", event.ReviewDecided, 310, decision("exc", "reject")), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
		})
		if e := sh.Exceptions[0]; e.Resolution != "dismissed" {
			t.Errorf("exception %+v", e)
		}
	})
	t.Run("refused, approved", func(t *testing.T) {
		t.Parallel()
		run(t, shipment.Policy{AutoRelease: true}, []step{
			start[0], start[1],
			{in: inID("exc", event.ShipmentException, 290, refused), outcome: "applied", state: shipment.Exception},
			{in: inID("d1", event.ReviewDecided, 310, decision("exc", "approve")), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingReturn}},
			{in: inID("d2", event.ReviewDecided, 311, decision("nope", "approve")), outcome: "rejected", state: shipment.Loaded, reason: "not on the shipment"},
		})
	})
	t.Run("resolved by event closes the review", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			start[0], start[1],
			{in: inID("exc", event.ShipmentException, 290, damaged), outcome: "applied", state: shipment.Exception},
			{in: in(event.ShipmentException, 295, `{"category":"damaged","exception_id":"EXC-1","status":"resolved"}`), outcome: "applied", state: shipment.Loaded},
			{in: inID("d1", event.ReviewDecided, 310, decision("exc", "approve")), outcome: "rejected", state: shipment.Loaded, reason: "already resolved"},
		})
		if r := sh.Reviews[0]; r.Status != shipment.ReviewResolved {
			t.Errorf("review %+v", r)
		}
	})
}

func TestRating(t *testing.T) {
	t.Parallel()
	freight := shipment.Charge{Code: "400", Type: "linehaul", Amount: money.Money{Minor: 41250, Currency: "EUR"}, RuleID: "acme-freight", RulesVersion: "2026.11"}
	rate := func(*shipment.Shipment) ([]shipment.Charge, error) { return []shipment.Charge{freight}, nil }
	broken := func(*shipment.Shipment) ([]shipment.Charge, error) {
		return nil, errors.New("rule acme-freight: no facts.distance_km")
	}
	steps := func(p shipment.Policy) []step {
		return []step{
			{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
			{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		}
	}
	t.Run("rated once when billable", func(t *testing.T) {
		t.Parallel()
		p := shipment.Policy{AutoRelease: true, Rate: rate}
		sh := run(t, p, append(steps(p),
			step{in: inID("pod", event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
			step{in: in(event.ChargesReported, 301, `{"charges":[{"code":"DET","type":"detention","amount":{"minor":7500,"currency":"EUR"}}]}`), outcome: "applied", state: shipment.Delivered},
		))
		var rated int
		for _, c := range sh.Charges {
			if c.Source == shipment.ChargeRated {
				rated++
				if c.EventID != "pod" || c.RuleID != "acme-freight" {
					t.Errorf("rated charge %+v", c)
				}
			}
		}
		if rated != 1 || len(sh.Charges) != 2 {
			t.Errorf("charges %+v: want the rated freight once and the reported detention", sh.Charges)
		}
	})
	t.Run("a rating failure waits in review", func(t *testing.T) {
		t.Parallel()
		p := shipment.Policy{AutoRelease: true, Rate: broken}
		sh := run(t, p, append(steps(p),
			step{in: inID("pod", event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered},
		))
		if sh.Billable || !strings.Contains(sh.BlockedReason, "rating failed: rule acme-freight") || sh.Reviews[0].Kind != shipment.ReviewRating {
			t.Fatalf("billable %v, blocked %q, reviews %+v", sh.Billable, sh.BlockedReason, sh.Reviews)
		}
		// Resolved once the rules are fixed: rated again, then billed.
		fixed := shipment.Policy{AutoRelease: true, Rate: rate}
		res := sh.Apply(inID("d1", event.ReviewDecided, 310, decision("pod", "resolve")), fixed)
		if res.Outcome != shipment.OutcomeApplied || !sh.Billable || len(sh.Charges) != 1 || !slices.Equal(res.Actions, []string{shipment.ActionInvoicePrepare}) {
			t.Errorf("after resolve: %+v, billable %v, charges %+v", res, sh.Billable, sh.Charges)
		}
	})
	t.Run("approved without rating", func(t *testing.T) {
		t.Parallel()
		p := shipment.Policy{AutoRelease: true, Rate: broken}
		sh := run(t, p, append(steps(p),
			step{in: inID("pod", event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered},
			step{in: inID("d1", event.ReviewDecided, 310, decision("pod", "approve")), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
		))
		if !sh.Billable || len(sh.Charges) != 0 {
			t.Errorf("billable %v, charges %+v", sh.Billable, sh.Charges)
		}
	})
}

func TestShortageReview(t *testing.T) {
	t.Parallel()
	shortage := `{"lines":[{"line_id":"1","required":{"value":"12","unit":"C62"},"available":{"value":"5","unit":"C62"}}]}`
	t.Run("released in part by hand", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: in(event.InventoryReserved, 1, reservePartial), outcome: "applied", state: shipment.Short},
			{in: inID("short", event.InventoryShortage, 2, shortage), outcome: "applied", state: shipment.Short},
			{in: inID("short2", event.InventoryShortage, 3, shortage), outcome: "applied", state: shipment.Short},
			{in: inID("d1", event.ReviewDecided, 10, decision("short", "approve")), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		})
		if len(sh.Reviews) != 1 || sh.Reviews[0].OwnerRole != "warehouse" {
			t.Errorf("reviews %+v: want one, for the warehouse", sh.Reviews)
		}
	})
	t.Run("closed when stock comes", func(t *testing.T) {
		t.Parallel()
		sh := run(t, shipment.Policy{AutoRelease: true}, []step{
			{in: inID("short", event.InventoryShortage, 2, shortage), outcome: "applied", state: shipment.Short},
			{in: inID("d0", event.ReviewDecided, 5, decision("short", "approve")), outcome: "rejected", state: shipment.Short, reason: "nothing is reserved"},
			{in: in(event.InventoryReserved, 10, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		})
		if r := sh.Reviews[0]; r.Status != shipment.ReviewResolved || r.Decision != "reserved" {
			t.Errorf("review %+v", r)
		}
	})
}

func TestLateAssignmentFillsTheCarrier(t *testing.T) {
	t.Parallel()
	sh := run(t, shipment.Policy{AutoRelease: true}, []step{
		{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}},
		{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}},
		{in: in(event.DispatchAssigned, 3, `{"vehicle":{"plate":"BX-12-CD"},"route_id":"R-7"}`), outcome: "late", state: shipment.Loaded, reason: "assignment after loading"},
		{in: in(event.DispatchAssigned, 4, `{"vehicle":{"plate":"ZZ-99-ZZ"},"route_id":"R-8"}`), outcome: "late", state: shipment.Loaded},
	})
	if sh.Vehicle == nil || sh.Vehicle.Plate != "BX-12-CD" || sh.RouteID != "R-7" {
		t.Errorf("vehicle %+v route %q: a late assignment fills in, and only once", sh.Vehicle, sh.RouteID)
	}
}
