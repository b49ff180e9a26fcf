package shipment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/tracking"
)

// trackedMoves are the rows of the lifecycle steps a carrier's milestone
// stands for (as shipment.departed or shipment.arrived). A carrier's
// delivery arrives the shipment: the proof of delivery with quantities
// (shipment.delivered) is still what lets it be billed.
var trackedMoves = map[tracking.Status]Transition{
	tracking.PickedUp:           trTrackedDeparted,
	tracking.InTransit:          trTrackedDeparted,
	tracking.OutForDelivery:     trTrackedDeparted,
	tracking.AvailableForPickup: trTrackedDeparted,
	tracking.DeliveryAttempted:  trTrackedDeparted,
	tracking.ArrivedAtDelivery:  trTrackedArrived,
	tracking.Delivered:          trTrackedArrived,
}

// clearedByProgress are the exception categories a carrier's later
// progress resolves by itself: the delay is over once the freight moves.
// Damage, refusals and losses wait for a person.
var clearedByProgress = []ExceptionCategory{Delay, Weather, Hold}

// applyTracked takes a carrier's tracking event. Every event takes its
// place in the timeline; a milestone moves the shipment forward when the
// gate allows, never back; an exception or damaged lading opens an
// exception for review. The same status at the same minute again, from
// any source, is a duplicate and changes nothing.
func (s *Shipment) applyTracked(in Input) Result {
	d, err := decodeData[event.ShipmentTrackedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	status, kind := tracking.Status(d.Status), tracking.Kind(d.Kind)
	m := Milestone{Type: string(in.Type), At: in.Time, EventID: in.EventID, Reason: d.Reason, Status: d.Status}
	if kind != tracking.KindMilestone {
		m.Status = d.Kind
	}
	if d.POD != nil {
		m.Signer = d.POD.Signer
	}
	if d.Location != nil {
		l := d.Location
		m.Location = &Location{Name: l.Name, City: l.City, Region: l.Region, PostalCode: l.PostalCode,
			Country: l.Country, UNLOCODE: l.UNLOCODE, Lat: l.Lat, Lon: l.Lon, Timezone: d.TZ}
	}
	if dup := s.trackedDuplicate(m); dup != nil {
		return Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("duplicate: event %s reported %s at the same minute", dup.EventID, m.Status)}
	}
	res := Result{Outcome: OutcomeApplied}
	newest := s.newestTracked()
	if d.ETA != nil && !d.ETA.End.IsZero() && (newest == nil || !in.Time.Before(newest.At)) {
		eta := d.ETA.End.UTC()
		s.ETA = &eta
	}
	progressed := false
	if tr, ok := trackedMoves[status]; ok && kind == tracking.KindMilestone {
		allowed, late := s.allowed(tr)
		older := newest != nil && in.Time.Before(newest.At) && tracking.Rank(status) <= tracking.Rank(tracking.Status(newest.Status))
		// Carrier progress past the newest carrier status, in a state the
		// step already reached (delivered after arrived_at_delivery).
		further := newest == nil || tracking.Rank(status) > tracking.Rank(tracking.Status(newest.Status))
		switch {
		case allowed && !older:
			s.moveTo(tr.To)
			progressed = true
		case late && !older && further && s.current() == tr.To:
			progressed = true
		case late || older:
			m.Late = true
			res = Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("late: the shipment is already %s", s.current())}
		default:
			m.Reason = strings.TrimSpace(m.Reason + " (recorded only: the shipment is " + string(s.current()) + ")")
			res = Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("recorded only: the carrier reports %s but the shipment is %s", d.Status, s.current())}
		}
	} else if kind == tracking.KindMilestone && newest != nil && in.Time.Before(newest.At) {
		m.Late = true
	}
	s.insertMilestone(m)
	// A carrier's scale weight is the measured weight when nothing
	// measured the shipment before.
	for _, w := range d.Weights {
		if w.Kind == tracking.WeightActual && s.MeasuredWeight == nil {
			if q, err := quantity.Parse(w.KG, string(quantity.KGM)); err == nil {
				s.MeasuredWeight = &q
			}
		}
	}
	if progressed {
		s.clearCarrierExceptions(in)
	}
	s.trackedExceptions(in, d)
	return res
}

// trackedDuplicate returns the tracking milestone m repeats: the same
// canonical status within the same minute.
func (s *Shipment) trackedDuplicate(m Milestone) *Milestone {
	if m.Status == string(tracking.KindPosition) || m.Status == string(tracking.KindNote) {
		return nil
	}
	minute := m.At.Truncate(time.Minute)
	for i := range s.Milestones {
		o := &s.Milestones[i]
		if o.Type == m.Type && o.Status == m.Status && o.At.Truncate(time.Minute).Equal(minute) {
			return o
		}
	}
	return nil
}

// newestTracked is the latest tracking milestone that moved or could have
// moved the shipment.
func (s *Shipment) newestTracked() *Milestone {
	for i := len(s.Milestones) - 1; i >= 0; i-- {
		m := &s.Milestones[i]
		if m.Type == string(event.ShipmentTracked) && tracking.Rank(tracking.Status(m.Status)) > 0 && !m.Late {
			return m
		}
	}
	return nil
}

// trackedExceptions opens what a tracking event reports going wrong: its
// exception overlay, and damaged, short or refused lading.
func (s *Shipment) trackedExceptions(in Input, d event.ShipmentTrackedData) {
	open := func(id string, cat ExceptionCategory, desc, code string) {
		if slices.ContainsFunc(s.Exceptions, func(e ExceptionRecord) bool { return e.ID == id && e.Status == ExceptionOpen }) {
			return
		}
		s.openException(in, ExceptionRecord{ID: id, Category: cat, Description: desc, ReasonCode: code})
	}
	remarks := strings.Join(d.Remarks, "; ")
	if e := d.Exception; e != nil {
		desc := strings.TrimSpace(strings.Join([]string{e.Reason, remarks}, ": "))
		desc = strings.Trim(desc, ": ")
		open("carrier-"+e.Type, ExceptionCategory(e.Type), desc, e.ReasonCode)
	}
	for _, l := range d.Lading {
		cat := ExceptionCategory(l.Condition)
		if !slices.Contains(ExceptionCategories(), cat) {
			cat = Other
		}
		desc := fmt.Sprintf("carrier reports %d %s %s", l.Count, l.Packaging, l.Condition)
		open("carrier-lading-"+string(cat), cat, desc, d.RawReason)
	}
}

// clearCarrierExceptions resolves the delays a carrier opened once the
// freight moves again.
func (s *Shipment) clearCarrierExceptions(in Input) {
	for i := range s.Exceptions {
		e := &s.Exceptions[i]
		if e.Status == ExceptionOpen && strings.HasPrefix(e.ID, "carrier-") && slices.Contains(clearedByProgress, e.Category) {
			s.closeException(i, in, ResolutionResolved)
			s.closeReviewOf(e.ID, in, ReviewResolved, "resolved", "", "the carrier reports progress")
		}
	}
}
