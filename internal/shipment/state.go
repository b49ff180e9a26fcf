package shipment

import "github.com/waybill/waybill/internal/event"

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

// transitions is the transition table: for each event type, the states it
// may be applied in and the state it leads to. Reservation, delivery and
// exception events compute their target (and gates) in Apply; To is then
// empty. Milestones arriving in a later state are late, not rejected.
var transitions = map[event.Type]struct {
	From []State
	To   State
}{
	event.ShipmentPlanned:   {From: nil, To: Planned},
	event.InventoryReserved: {From: []State{Planned, Short, Reserved}},
	event.InventoryShortage: {From: []State{Planned, Short, Reserved}, To: Short},
	event.DispatchAssigned:  {From: []State{Released, Assigned}, To: Assigned},
	event.ShipmentLoaded:    {From: []State{Released, Assigned}, To: Loaded},
	event.ShipmentDeparted:  {From: []State{Loaded, InTransit, Delayed}, To: InTransit},
	event.ShipmentDelayed:   {From: []State{Loaded, InTransit, Delayed}, To: Delayed},
	event.ShipmentArrived:   {From: []State{Loaded, InTransit, Delayed}, To: Arrived},
	event.ShipmentDelivered: {From: []State{Loaded, InTransit, Delayed, Arrived}, To: Delivered},
	event.ShipmentReturned:  {From: []State{Loaded, InTransit, Delayed, Arrived, Delivered}, To: Returned},
	event.ShipmentCancelled: {From: []State{Planned, Reserved, Short, Released, Assigned}, To: Cancelled},
	event.ShipmentException: {From: nil},
	event.ChargesReported:   {From: nil},
	event.ShipmentTracked:   {From: nil},
	event.ShipmentInvoiced:  {From: []State{Delivered}, To: Invoiced},
	event.ReviewDecided:     {From: nil},
}

// Transition describes one row of the transition table, for documentation.
type Transition struct {
	Event event.Type
	From  []State
	To    State
}

// Transitions returns the transition table in event-type order.
func Transitions() []Transition {
	var out []Transition
	for _, t := range event.Types() {
		if tr, ok := transitions[t]; ok {
			out = append(out, Transition{Event: t, From: tr.From, To: tr.To})
		}
	}
	return out
}

// OwnerRole is who must act on an open exception of category c, unless
// the event names one.
func OwnerRole(c ExceptionCategory) string { return ownerRole[c] }
