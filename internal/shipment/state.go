package shipment

import (
	"slices"

	"github.com/waybill/waybill/internal/event"
)

// State is where a shipment stands in the dispatch-to-invoice workflow.
type State string

// The shipment states. See docs/states.md for the transition table.
const (
	Planned   State = "planned"    // known, nothing reserved yet
	Reserved  State = "reserved"   // every line fully reserved
	Short     State = "short"      // some line not (fully) reserved
	Released  State = "released"   // released for dispatch
	Assigned  State = "assigned"   // vehicle, carrier or route assigned
	Loaded    State = "loaded"     // loaded with actual quantities; stock leaves here
	InTransit State = "in_transit" // departed
	Delayed   State = "delayed"    // in transit and late against its ETA
	Arrived   State = "arrived"    // at the delivery stop
	Delivered State = "delivered"  // delivered, with proof of delivery
	Exception State = "exception"  // an open exception holds it
	Returned  State = "returned"   // returned to sender
	Cancelled State = "cancelled"  // cancelled before loading
	Invoiced  State = "invoiced"   // invoiced in the ERP
	Closed    State = "closed"     // reconciled and closed
)

// States lists every state in workflow order.
func States() []State {
	return []State{Planned, Reserved, Short, Released, Assigned, Loaded, InTransit, Delayed, Arrived, Delivered, Exception, Returned, Cancelled, Invoiced, Closed}
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return rank[s] > 0 }

// rank orders progress: a milestone whose target ranks below the current
// state is late and does not move the state backwards.
var rank = map[State]int{
	Planned: 10, Short: 20, Reserved: 20, Released: 30, Assigned: 40, Loaded: 50,
	InTransit: 60, Delayed: 60, Arrived: 70, Delivered: 80, Invoiced: 90, Closed: 100,
	Returned: 95, Cancelled: 95, Exception: 1,
}

// Terminal reports whether no further milestone can move s.
func (s State) Terminal() bool { return s == Returned || s == Cancelled || s == Closed }

// ExceptionCategory classifies an exception. The set follows the overlay of
// shared tracking vocabularies (X12 214 reason codes, EDIFACT, carrier
// webhooks) in docs/states.md.
type ExceptionCategory string

// The exception categories.
const (
	Damaged      ExceptionCategory = "damaged"
	Refused      ExceptionCategory = "refused"
	ReturnedGood ExceptionCategory = "returned"
	ShortShipped ExceptionCategory = "short"
	Lost         ExceptionCategory = "lost"
	Delay        ExceptionCategory = "delay"
	RouteChanged ExceptionCategory = "route_changed"
	Address      ExceptionCategory = "address"
	Customs      ExceptionCategory = "customs"
	Weather      ExceptionCategory = "weather"
	Hold         ExceptionCategory = "hold"
	Other        ExceptionCategory = "other"
)

// ExceptionCategories lists every category.
func ExceptionCategories() []ExceptionCategory {
	return []ExceptionCategory{Damaged, Refused, ReturnedGood, ShortShipped, Lost, Delay, RouteChanged, Address, Customs, Weather, Hold, Other}
}

// ownerRole is who must act on an open exception of a category, unless the
// event names one.
var ownerRole = map[ExceptionCategory]string{
	Damaged: "claims", Refused: "customer_service", ReturnedGood: "customer_service",
	ShortShipped: "warehouse", Lost: "claims", Delay: "dispatch", RouteChanged: "dispatch",
	Address: "customer_service", Customs: "customs", Weather: "dispatch", Hold: "dispatch", Other: "operations",
}

// Pseudo-states name the ends of rows of the transition table that are not
// a state a shipment can be in; no shipment ever has one.
const (
	// NoShipment is where an event that does not apply to an existing
	// shipment starts: shipment.planned creates one, order.confirmed
	// applies to the order.
	NoShipment State = "(no shipment)"
	// Unchanged is where an event that only records something leads: the
	// state stays as it is.
	Unchanged State = "(unchanged)"
	// Resumed is where closing the last open exception leads: back to the
	// state the exception overlay interrupted.
	Resumed State = "(resumed)"
)

// Transition is one row of the transition table: an event of type Event,
// applied while the shipment is in one of the From states, leads to To.
// An event type with several rows tells them apart by When.
type Transition struct {
	Event event.Type
	// When is the case of the event the row covers; empty on an event
	// type's only or main row.
	When string
	From []State
	To   State
}

// State sets the rows share.
var (
	// notTerminal is every state an event other than charges can apply in.
	notTerminal = []State{Planned, Reserved, Short, Released, Assigned, Loaded, InTransit, Delayed, Arrived, Delivered, Exception, Invoiced}
	// notInvoiced is every state that is not terminal and not invoiced yet.
	notInvoiced = []State{Planned, Reserved, Short, Released, Assigned, Loaded, InTransit, Delayed, Arrived, Delivered, Exception}
)

// The rows of the transition table. Apply moves a shipment only to a row's
// To, and checks its From; each row is also listed in transitions.
var (
	trPlanned        = Transition{Event: event.ShipmentPlanned, When: "creates the shipment", From: []State{NoShipment}, To: Planned}
	trOrderConfirmed = Transition{Event: event.OrderConfirmed, When: "applies to the order, not to a shipment", From: []State{NoShipment}, To: Unchanged}
	trReservedFull   = Transition{Event: event.InventoryReserved, When: "every line is fully reserved",
		From: []State{Planned, Short, Reserved}, To: Reserved}
	trReservedShort = Transition{Event: event.InventoryReserved, When: "some line is not fully reserved",
		From: []State{Planned, Short, Reserved}, To: Short}
	trReleased = Transition{Event: event.InventoryReserved, When: "then, when the dispatch-release gate opens (see gates)",
		From: []State{Reserved, Short}, To: Released}
	trShortage    = Transition{Event: event.InventoryShortage, From: []State{Planned, Short, Reserved}, To: Short}
	trAssigned    = Transition{Event: event.DispatchAssigned, From: []State{Released, Assigned}, To: Assigned}
	trLoaded      = Transition{Event: event.ShipmentLoaded, From: []State{Released, Assigned}, To: Loaded}
	trDeparted    = Transition{Event: event.ShipmentDeparted, From: []State{Loaded, InTransit, Delayed}, To: InTransit}
	trArrived     = Transition{Event: event.ShipmentArrived, From: []State{Loaded, InTransit, Delayed}, To: Arrived}
	trDelayed     = Transition{Event: event.ShipmentDelayed, From: []State{Loaded, InTransit, Delayed}, To: Delayed}
	trDelivered   = Transition{Event: event.ShipmentDelivered, From: []State{Loaded, InTransit, Delayed, Arrived}, To: Delivered}
	trRedelivered = Transition{Event: event.ShipmentDelivered, When: "a new proof replaces one that failed validation or was rejected",
		From: []State{Delivered}, To: Delivered}
	trExceptionOpened = Transition{Event: event.ShipmentException, When: "opens an exception: an overlay over the state it interrupts",
		From: notTerminal, To: Exception}
	trExceptionResolved = Transition{Event: event.ShipmentException, When: "`status: resolved` closes the last open exception",
		From: []State{Exception}, To: Resumed}
	trReturned  = Transition{Event: event.ShipmentReturned, From: []State{Loaded, InTransit, Delayed, Arrived, Delivered}, To: Returned}
	trCancelled = Transition{Event: event.ShipmentCancelled, From: []State{Planned, Reserved, Short, Released, Assigned}, To: Cancelled}
	trCharges   = Transition{Event: event.ChargesReported, When: "records the charges, in any state", From: States(), To: Unchanged}
	// A carrier's milestones move the shipment as the lifecycle step they
	// stand for (trackedMoves).
	trTrackedDeparted = Transition{Event: event.ShipmentTracked,
		When: "`picked_up`, `in_transit`, `out_for_delivery`, `available_for_pickup` or `delivery_attempted`: as `shipment.departed`",
		From: trDeparted.From, To: trDeparted.To}
	trTrackedArrived = Transition{Event: event.ShipmentTracked, When: "`arrived_at_delivery` or `delivered`: as `shipment.arrived`",
		From: trArrived.From, To: trArrived.To}
	trTrackedException = Transition{Event: event.ShipmentTracked, When: "reports an exception, or damaged, short or refused lading",
		From: notInvoiced, To: Exception}
	trTrackedCleared = Transition{Event: event.ShipmentTracked, When: "progress resolves the last open carrier `delay`, `weather` or `hold` exception",
		From: []State{Exception}, To: Resumed}
	trTrackedOther = Transition{Event: event.ShipmentTracked, When: "any other status (see carrier tracking)",
		From: notInvoiced, To: Unchanged}
	trPickingValidated = Transition{Event: event.PickingValidated, When: "records the ERP's validation; on a delivered shipment, the billing gate follows (see billing)",
		From: []State{Loaded, InTransit, Delayed, Arrived, Delivered, Exception}, To: Unchanged}
	trInvoiced           = Transition{Event: event.ShipmentInvoiced, From: []State{Delivered}, To: Invoiced}
	trDecidedPartRelease = Transition{Event: event.ReviewDecided, When: "approves a shortage review: the reserved part is released",
		From: []State{Short}, To: Released}
	trDecidedException = Transition{Event: event.ReviewDecided, When: "decides the review of the last open exception",
		From: []State{Exception}, To: Resumed}
	trDecidedOther = Transition{Event: event.ReviewDecided, When: "any other decision (see billing)",
		From: notTerminal, To: Unchanged}
)

// transitions is the transition table: every row, in event-type order.
// Milestones arriving in a later state are late, not rejected.
var transitions = []Transition{
	trPlanned, trOrderConfirmed,
	trReservedFull, trReservedShort, trReleased,
	trShortage, trAssigned, trLoaded,
	trDeparted, trArrived, trDelayed,
	trDelivered, trRedelivered,
	trExceptionOpened, trExceptionResolved,
	trReturned, trCancelled, trCharges,
	trTrackedDeparted, trTrackedArrived, trTrackedException, trTrackedCleared, trTrackedOther,
	trPickingValidated, trInvoiced,
	trDecidedPartRelease, trDecidedException, trDecidedOther,
}

// Transitions returns the transition table in event-type order. The caller
// owns the returned slice.
func Transitions() []Transition {
	out := make([]Transition, len(transitions))
	for i, tr := range transitions {
		tr.From = slices.Clone(tr.From)
		out[i] = tr
	}
	return out
}

// appliesIn reports whether some row of event type t applies in state st.
func appliesIn(t event.Type, st State) bool {
	for _, tr := range transitions {
		if tr.Event == t && slices.Contains(tr.From, st) {
			return true
		}
	}
	return false
}

// OwnerRole is who must act on an open exception of category c, unless
// the event names one.
func OwnerRole(c ExceptionCategory) string { return ownerRole[c] }
