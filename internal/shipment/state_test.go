package shipment_test

import (
	"slices"
	"testing"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
)

// TestTransitionsComplete checks that the transition table is authoritative:
// every event type has its rows, in event-type order, and every row names
// where it applies and where it leads.
func TestTransitionsComplete(t *testing.T) {
	t.Parallel()
	table := shipment.Transitions()
	types := event.Types()
	for _, typ := range types {
		if !slices.ContainsFunc(table, func(tr shipment.Transition) bool { return tr.Event == typ }) {
			t.Errorf("event type %s has no row in the transition table", typ)
		}
	}
	from := slices.Concat(shipment.States(), []shipment.State{shipment.NoShipment})
	to := slices.Concat(shipment.States(), []shipment.State{shipment.Unchanged, shipment.Resumed})
	type key struct {
		typ  event.Type
		when string
	}
	seen := map[key]bool{}
	last := -1
	for _, tr := range table {
		i := slices.Index(types, tr.Event)
		if i < 0 {
			t.Errorf("row %s %q: not an event type", tr.Event, tr.When)
			continue
		}
		if i < last {
			t.Errorf("row %s %q: out of event-type order", tr.Event, tr.When)
		}
		last = i
		if len(tr.From) == 0 {
			t.Errorf("row %s %q: empty From", tr.Event, tr.When)
		}
		for _, s := range tr.From {
			if !slices.Contains(from, s) {
				t.Errorf("row %s %q: From %q is not a state", tr.Event, tr.When, s)
			}
		}
		if tr.To == "" {
			t.Errorf("row %s %q: empty To", tr.Event, tr.When)
		} else if !slices.Contains(to, tr.To) {
			t.Errorf("row %s %q: To %q is not a state", tr.Event, tr.When, tr.To)
		}
		if k := (key{tr.Event, tr.When}); seen[k] {
			t.Errorf("row %s %q: appears twice (rows of one event type differ by When)", tr.Event, tr.When)
		} else {
			seen[k] = true
		}
	}
	for _, s := range []shipment.State{shipment.NoShipment, shipment.Unchanged, shipment.Resumed} {
		if s.Valid() {
			t.Errorf("pseudo-state %s is valid, want it never on a shipment", s)
		}
	}
}

// TestTransitionsTerminal checks the rows that let an event through the
// checks Apply makes before any step: only charges apply in a terminal
// state, and once invoiced only charges, exceptions and review decisions
// do; every other event is then rejected or late.
func TestTransitionsTerminal(t *testing.T) {
	t.Parallel()
	afterInvoice := []event.Type{event.ChargesReported, event.ShipmentException, event.ReviewDecided}
	for _, tr := range shipment.Transitions() {
		for _, s := range tr.From {
			if s.Terminal() && tr.Event != event.ChargesReported {
				t.Errorf("row %s %q applies in terminal state %s", tr.Event, tr.When, s)
			}
			if s == shipment.Invoiced && !slices.Contains(afterInvoice, tr.Event) {
				t.Errorf("row %s %q applies in %s", tr.Event, tr.When, s)
			}
		}
	}
}
