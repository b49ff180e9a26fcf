package shipment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/waybill/waybill/internal/event"
)

func (s *Shipment) applyReserved(in Input, p Policy) Result {
	if ok, _ := s.allowed(trReservedFull); !ok {
		return rejected("cannot reserve a shipment that is %s", s.State)
	}
	d, err := decodeData[event.InventoryReservedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	next := slices.Clone(s.Lines)
	for _, r := range d.Lines {
		i := slices.IndexFunc(next, func(l Line) bool { return l.LineID == r.LineID })
		if i < 0 {
			return rejected("line %s is not on the shipment", r.LineID)
		}
		c, err := r.Quantity.Cmp(next[i].Quantity)
		if err != nil {
			return rejected("line %s: %v", r.LineID, err)
		}
		if c > 0 {
			return rejected("line %s: reserved %s exceeds the %s shipped", r.LineID, r.Quantity, next[i].Quantity)
		}
		q := r.Quantity
		next[i].Reserved, next[i].ReservedLots = &q, r.Lots
	}
	s.Lines = next
	short := s.shortLines()
	s.milestone(in, false, nil, "")
	if len(short) == 0 {
		s.moveTo(trReservedFull.To)
		s.BlockedReason = ""
		// Stock came: the shortage is over.
		for i := range s.Reviews {
			if r := &s.Reviews[i]; r.Kind == ReviewShortage && r.Status == ReviewOpen {
				at := in.Time
				r.Status, r.Decision, r.Note, r.DecidedAt, r.DecisionEventID = ReviewResolved, "reserved", "fully reserved", &at, in.EventID
			}
		}
	} else {
		s.moveTo(trReservedShort.To)
		s.BlockedReason = "awaiting reservation: " + strings.Join(short, "; ")
	}
	return s.release(p)
}

// shortLines describes every line not fully reserved.
func (s *Shipment) shortLines() []string {
	var out []string
	for _, l := range s.Lines {
		if l.Reserved == nil {
			out = append(out, fmt.Sprintf("line %s not reserved", l.LineID))
			continue
		}
		if c, err := l.Reserved.Cmp(l.Quantity); err != nil || c < 0 {
			out = append(out, fmt.Sprintf("line %s reserved %s of %s", l.LineID, l.Reserved, l.Quantity))
		}
	}
	return out
}

// release is the dispatch-release gate: full reservation, or a partial one
// when the policy allows it.
func (s *Shipment) release(p Policy) Result {
	res := Result{Outcome: OutcomeApplied}
	if !p.AutoRelease || s.State == Exception {
		return res
	}
	if !slices.Contains(trReleased.From, s.State) {
		return res
	}
	if s.State == Short && (!p.PartialRelease || !s.anyReserved()) {
		return res
	}
	s.State = trReleased.To
	s.BlockedReason = ""
	res.Actions = append(res.Actions, ActionDispatchRelease)
	return res
}

func (s *Shipment) anyReserved() bool {
	for _, l := range s.Lines {
		if l.Reserved != nil && l.Reserved.Sign() > 0 {
			return true
		}
	}
	return false
}

func (s *Shipment) applyShortage(in Input) Result {
	if ok, late := s.allowed(trShortage); !ok {
		if late {
			return s.late(in, "shortage reported after the shipment was released")
		}
		return rejected("cannot report a shortage on a shipment that is %s", s.State)
	}
	d, err := decodeData[event.InventoryShortageData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	var parts []string
	for _, l := range d.Lines {
		if s.line(l.LineID) == nil {
			return rejected("line %s is not on the shipment", l.LineID)
		}
		parts = append(parts, fmt.Sprintf("line %s available %s of %s", l.LineID, l.Available, l.Required))
	}
	reason := "shortage: " + strings.Join(parts, "; ")
	if d.Reason != "" {
		reason += " (" + d.Reason + ")"
	}
	s.milestone(in, false, nil, d.Reason)
	s.moveTo(trShortage.To)
	s.BlockedReason = reason
	if !slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewShortage && r.Status == ReviewOpen }) {
		s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewShortage, Status: ReviewOpen, OwnerRole: ownerRole[ShortShipped],
			OpenedAt: in.Time, Reason: reason})
	}
	return Result{Outcome: OutcomeApplied}
}

func (s *Shipment) applyCancelled(in Input) Result {
	if ok, _ := s.allowed(trCancelled); !ok {
		return rejected("cannot cancel a shipment that is %s: return it instead", s.State)
	}
	d, err := decodeData[event.ShipmentCancelledData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	s.milestone(in, false, nil, d.Reason)
	s.State, s.ResumeState = trCancelled.To, ""
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}
