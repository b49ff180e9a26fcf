package shipment

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/event"
)

// Input is one accepted event as Apply sees it.
type Input struct {
	EventID string
	// Source is the event's CloudEvents source.
	Source string
	Type   event.Type
	Time   time.Time
	Data   json.RawMessage
	// Decoded, when set, is Data already decoded into its type's data
	// struct, as event.NewData returns it (*event.ShipmentPlannedData for
	// a shipment.planned event): it spares decoding Data again.
	Decoded any
}

// Policy holds the workflow settings Apply honours.
type Policy struct {
	// AutoRelease releases a shipment for dispatch once it is reserved.
	AutoRelease bool
	// PartialRelease lets a partly reserved shipment be released.
	PartialRelease bool
	// PODRadiusMeters is how far from the delivery stop a proof of
	// delivery may be captured; zero skips the check.
	PODRadiusMeters float64
	// Rate rates a shipment that has become billable, once; its charges
	// are added with Source "rated". Nil rates nothing: only the charges
	// partners report are billed. An error holds billing in review.
	Rate func(s *Shipment) ([]Charge, error)
	// AwaitPickingValidation makes a loaded shipment wait for the ERP's
	// picking.validated before it is billable: set it when the connector
	// that validates pickings reports back. A shipment loaded without it
	// bills at delivery.
	AwaitPickingValidation bool
	// FreightAudit audits every carrier freight invoice (charges.reported
	// with an invoice number) against the expected cost: the change calls
	// for ActionFreightAudit.
	FreightAudit bool
}

// Outcome kinds.
const (
	OutcomeApplied  = "applied"
	OutcomeLate     = "late"
	OutcomeRejected = "rejected"
)

// Result is what Apply made of an event.
type Result struct {
	Outcome string
	// Reason explains a rejection or a late milestone.
	Reason string
	// Actions are the outbound action kinds (Action…) the change
	// calls for, to be enqueued in the same transaction.
	Actions []string
}

func rejected(format string, args ...any) Result {
	return Result{Outcome: OutcomeRejected, Reason: fmt.Sprintf(format, args...)}
}

// New creates a shipment from a shipment.planned event.
func New(id string, in Input) (*Shipment, Result) {
	d, err := decodeData[event.ShipmentPlannedData](in)
	if err != nil {
		return nil, rejected("invalid data: %v", err)
	}
	seen := map[string]bool{}
	for _, l := range d.Lines {
		if seen[l.LineID] {
			return nil, rejected("line %s appears twice", l.LineID)
		}
		seen[l.LineID] = true
	}
	s := &Shipment{
		ID: id, State: Planned, Order: d.Order, Customer: d.Customer, Carrier: d.Carrier,
		Vehicle: d.Vehicle, Origin: d.Origin, Destination: d.Destination,
		Lines: plannedLines(d.Lines), Weight: d.Weight, HandlingUnits: d.HandlingUnits,
		PickupWindow: d.PickupWindow, DeliveryWindow: d.DeliveryWindow,
		References: d.References, CreatedAt: in.Time,
		BlockedReason: "awaiting reservation",
	}
	s.milestone(in, false, nil, "")
	return s, Result{Outcome: OutcomeApplied}
}

// Apply applies one event to s. It changes s only when the result is
// applied or late; a rejected event leaves s as it was.
func (s *Shipment) Apply(in Input, p Policy) Result {
	if in.Type == event.ShipmentPlanned {
		return rejected("shipment already planned")
	}
	// Only the events the table lets apply in a terminal state, or once
	// invoiced (charges, exceptions, review decisions), go further.
	if s.State.Terminal() && !appliesIn(in.Type, s.State) {
		return rejected("shipment is %s", s.State)
	}
	if s.State == Invoiced && !appliesIn(in.Type, Invoiced) {
		return Result{Outcome: OutcomeLate, Reason: "shipment already invoiced"}
	}
	switch in.Type {
	case event.InventoryReserved:
		return s.applyReserved(in, p)
	case event.InventoryShortage:
		return s.applyShortage(in)
	case event.DispatchAssigned:
		return s.applyAssigned(in)
	case event.ShipmentLoaded:
		return s.applyLoaded(in, p)
	case event.ShipmentDeparted, event.ShipmentArrived, event.ShipmentDelayed:
		return s.applyMilestone(in)
	case event.ShipmentDelivered:
		return s.applyDelivered(in, p)
	case event.ShipmentException:
		return s.applyException(in, p)
	case event.ShipmentReturned:
		return s.applyReturned(in)
	case event.ShipmentCancelled:
		return s.applyCancelled(in)
	case event.ChargesReported:
		return s.applyCharges(in, p)
	case event.ShipmentTracked:
		return s.applyTracked(in)
	case event.ReviewDecided:
		return s.applyDecision(in, p)
	case event.PickingValidated:
		return s.applyPickingValidated(in, p)
	case event.ShipmentInvoiced:
		return s.applyInvoiced(in)
	}
	return rejected("event type %s does not apply to a shipment", in.Type)
}

// current is the state progress is measured from: under an open exception,
// the state it interrupted.
func (s *Shipment) current() State {
	if s.State == Exception && s.ResumeState != "" {
		return s.ResumeState
	}
	return s.State
}

// allowed reports whether row tr applies in the current state; late
// reports that the state is already past tr's target.
func (s *Shipment) allowed(tr Transition) (ok, late bool) {
	cur := s.current()
	if slices.Contains(tr.From, cur) {
		return true, false
	}
	if rank[tr.To] > 0 && rank[cur] >= rank[tr.To] {
		return false, true
	}
	return false, false
}

// moveTo sets the state, keeping an open exception's overlay.
func (s *Shipment) moveTo(st State) {
	if s.State == Exception {
		s.ResumeState = st
		return
	}
	s.State = st
}

func (s *Shipment) milestone(in Input, late bool, loc *Location, reason string) {
	s.insertMilestone(Milestone{Type: string(in.Type), At: in.Time, EventID: in.EventID, Late: late, Location: loc, Reason: reason})
}

// insertMilestone puts m in the timeline in time order, after any
// milestone at the same instant.
func (s *Shipment) insertMilestone(m Milestone) {
	i, _ := slices.BinarySearchFunc(s.Milestones, m, func(a, b Milestone) int { return a.At.Compare(b.At) })
	for i < len(s.Milestones) && !s.Milestones[i].At.After(m.At) {
		i++
	}
	s.Milestones = slices.Insert(s.Milestones, i, m)
}

// resolveSKUs fills in the line id of lines named by SKU: the one line
// of the shipment with that SKU.
func (s *Shipment) resolveSKUs(lines []LineQty) error {
	for i := range lines {
		l := &lines[i]
		if l.LineID != "" || l.SKU == "" {
			continue
		}
		var found []string
		for _, sl := range s.Lines {
			if sl.SKU == l.SKU {
				found = append(found, sl.LineID)
			}
		}
		switch len(found) {
		case 0:
			return fmt.Errorf("no line of the shipment has SKU %s", l.SKU)
		case 1:
			l.LineID = found[0]
		default:
			return fmt.Errorf("SKU %s is on lines %s: name the line by line_id", l.SKU, strings.Join(found, ", "))
		}
	}
	return nil
}

func (s *Shipment) line(id string) *Line {
	for i := range s.Lines {
		if s.Lines[i].LineID == id {
			return &s.Lines[i]
		}
	}
	return nil
}

// decodeData decodes the data of in into T, the data struct of its type.
func decodeData[T any](in Input) (T, error) {
	if d, ok := in.Decoded.(*T); ok && d != nil {
		return *d, nil
	}
	var d T
	err := json.Unmarshal(in.Data, &d)
	return d, err
}

// plannedLines makes the lines of a new shipment from those of its
// shipment.planned event.
func plannedLines(in []event.PlannedLine) []Line {
	if in == nil {
		return nil
	}
	out := make([]Line, len(in))
	for i, l := range in {
		out[i] = Line{LineID: l.LineID, SKU: l.SKU, Description: l.Description, Quantity: l.Quantity, Weight: l.Weight, Lots: l.Lots}
	}
	return out
}

// lineQtys converts the line quantities of an event.
func lineQtys(in []event.SKULineQuantity) []LineQty {
	if in == nil {
		return nil
	}
	out := make([]LineQty, len(in))
	for i, l := range in {
		out[i] = LineQty(l)
	}
	return out
}

func (s *Shipment) late(in Input, why string) Result {
	s.milestone(in, true, nil, why)
	return Result{Outcome: OutcomeLate, Reason: "late: " + why}
}
