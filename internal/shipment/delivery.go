package shipment

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/event"
)

func (s *Shipment) applyAssigned(in Input) Result {
	ok, late := s.allowed(trAssigned)
	if !ok && !late {
		return rejected("not released for dispatch: %s", s.waitReason())
	}
	d, err := decodeData[event.DispatchAssignedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	v, dr, c := d.Vehicle, d.Driver, d.Carrier
	if late {
		// The TMS's reply and its first report race: an assignment that
		// comes after loading still says who carries the goods, but it
		// does not overwrite what a later report set.
		s.assign(v, dr, c, d.RouteID, d.TrackingRef, false)
		return s.late(in, "assignment after loading")
	}
	s.assign(v, dr, c, d.RouteID, d.TrackingRef, true)
	s.milestone(in, false, nil, "")
	s.moveTo(trAssigned.To)
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}

// assign records who carries the shipment; with overwrite false it only
// fills what is not known yet.
func (s *Shipment) assign(v *Vehicle, d *Driver, c *Carrier, route, tracking string, overwrite bool) {
	if v != nil && (overwrite || s.Vehicle == nil) {
		s.Vehicle = v
	}
	if d != nil && (overwrite || s.Driver == nil) {
		s.Driver = d
	}
	if c != nil && (overwrite || s.Carrier == nil) {
		s.Carrier = c
	}
	if route != "" && (overwrite || s.RouteID == "") {
		s.RouteID = route
	}
	if tracking != "" && (overwrite || s.TrackingRef == "") {
		s.TrackingRef = tracking
	}
}

func (s *Shipment) waitReason() string {
	if s.BlockedReason != "" {
		return s.BlockedReason
	}
	return "shipment is " + string(s.State)
}

// applyLoaded records actual loaded quantities: the gate refuses more than
// was reserved; less is allowed (the remainder follows a backorder or is
// cancelled by the ERP connector, per policy).
func (s *Shipment) applyLoaded(in Input, p Policy) Result {
	if ok, late := s.allowed(trLoaded); !ok {
		if late {
			return s.late(in, "loading reported again after departure")
		}
		return rejected("cannot load: not released for dispatch: %s", s.waitReason())
	}
	d, err := decodeData[event.ShipmentLoadedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	next := slices.Clone(s.Lines)
	for _, r := range d.Lines {
		i := slices.IndexFunc(next, func(l Line) bool { return l.LineID == r.LineID })
		if i < 0 {
			return rejected("line %s is not on the shipment", r.LineID)
		}
		if next[i].Reserved == nil {
			return rejected("line %s: loaded %s but nothing was reserved", r.LineID, r.Quantity)
		}
		c, err := r.Quantity.Cmp(*next[i].Reserved)
		if err != nil {
			return rejected("line %s: %v", r.LineID, err)
		}
		if c > 0 {
			return rejected("line %s: loaded %s exceeds the %s reserved", r.LineID, r.Quantity, next[i].Reserved)
		}
		q := r.Quantity
		next[i].Loaded, next[i].LoadedLots, next[i].Serials = &q, r.Lots, r.Serials
	}
	s.Lines = next
	if d.Weight != nil {
		s.MeasuredWeight = d.Weight
	}
	s.milestone(in, false, nil, "")
	s.moveTo(trLoaded.To)
	s.BlockedReason = ""
	if p.AwaitPickingValidation {
		s.Picking = &PickingRecord{RequestedAt: in.Time}
	}
	return Result{Outcome: OutcomeApplied, Actions: []string{ActionPickingValidate}}
}

// milestoneMoves are the rows of the milestones applyMilestone takes.
var milestoneMoves = map[event.Type]Transition{
	event.ShipmentDeparted: trDeparted,
	event.ShipmentArrived:  trArrived,
	event.ShipmentDelayed:  trDelayed,
}

func (s *Shipment) applyMilestone(in Input) Result {
	tr := milestoneMoves[in.Type]
	d, err := milestoneData(in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	ok, late := s.allowed(tr)
	if !ok && !late {
		return rejected("%s before the shipment was loaded (it is %s)", in.Type, s.State)
	}
	if d.ETA != nil && (!late || s.ETA == nil) {
		eta := d.ETA.UTC()
		s.ETA = &eta
	}
	if late {
		s.milestone(in, true, d.Location, d.Reason)
		return Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("late: shipment is already %s", s.current())}
	}
	// A milestone older than the newest applied one takes its place in the
	// timeline but does not move the state.
	if last := s.lastProgress(); last != nil && in.Time.Before(last.At) && rank[tr.To] <= rank[s.current()] {
		s.milestone(in, true, d.Location, d.Reason)
		return Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("late: happened before %s", last.Type)}
	}
	s.milestone(in, false, d.Location, d.Reason)
	s.moveTo(tr.To)
	return Result{Outcome: OutcomeApplied}
}

// milestoneFacts is what applyMilestone takes from the data of a
// shipment.departed, shipment.arrived or shipment.delayed event.
type milestoneFacts struct {
	Location *Location
	ETA      *time.Time
	Reason   string
}

func milestoneData(in Input) (milestoneFacts, error) {
	switch in.Type {
	case event.ShipmentDeparted:
		d, err := decodeData[event.ShipmentDepartedData](in)
		return milestoneFacts{Location: d.Location, ETA: d.ETA}, err
	case event.ShipmentArrived:
		d, err := decodeData[event.ShipmentArrivedData](in)
		return milestoneFacts{Location: d.Location}, err
	case event.ShipmentDelayed:
		d, err := decodeData[event.ShipmentDelayedData](in)
		return milestoneFacts{ETA: d.ETA, Reason: d.Reason}, err
	}
	return milestoneFacts{}, fmt.Errorf("%s is not a milestone", in.Type)
}

func (s *Shipment) lastProgress() *Milestone {
	for i := len(s.Milestones) - 1; i >= 0; i-- {
		m := &s.Milestones[i]
		switch event.Type(m.Type) {
		case event.ShipmentDeparted, event.ShipmentArrived, event.ShipmentDelayed, event.ShipmentDelivered:
			if !m.Late {
				return m
			}
		}
	}
	return nil
}

// applyDelivered takes the proof of delivery. One that names lines the
// shipment does not have, or lines never loaded, is rejected. Otherwise it
// is validated: delivered quantities not above loaded, signed after
// departure, captured near the stop. One that fails is kept, and waits in
// review instead of going to billing. A new proof may replace one that
// failed or was rejected.
func (s *Shipment) applyDelivered(in Input, p Policy) Result {
	tr := trDelivered
	if ok, late := s.allowed(tr); !ok {
		replaceable := slices.Contains(trRedelivered.From, s.current()) && s.POD != nil && !s.POD.Validation.Billable()
		if !replaceable {
			if late {
				return s.late(in, "delivery reported again")
			}
			return rejected("delivered before the shipment was loaded (it is %s)", s.State)
		}
		tr = trRedelivered
	}
	d, err := decodeData[event.ShipmentDeliveredData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	pod, stop := proofOfDelivery(d.POD), d.Location
	if pod == nil || strings.TrimSpace(pod.Signer) == "" || pod.SignedAt.IsZero() || len(pod.Lines) == 0 {
		return rejected("delivery needs a proof of delivery with signer, time and delivered quantities")
	}
	if err := s.resolveSKUs(pod.Lines); err != nil {
		return rejected("proof of delivery: %v", err)
	}
	v := &PODValidation{Status: PODValid}
	next := slices.Clone(s.Lines)
	for _, pl := range pod.Lines {
		i := slices.IndexFunc(next, func(l Line) bool { return l.LineID == pl.LineID })
		if i < 0 {
			return rejected("proof of delivery: line %s is not on the shipment", pl.LineID)
		}
		if next[i].Loaded == nil {
			return rejected("proof of delivery: line %s was not loaded", pl.LineID)
		}
		c, err := pl.Quantity.Cmp(*next[i].Loaded)
		if err != nil {
			return rejected("proof of delivery: line %s: %v", pl.LineID, err)
		}
		if c > 0 {
			v.Problems = append(v.Problems, fmt.Sprintf("line %s delivered %s exceeds the %s loaded", pl.LineID, pl.Quantity, next[i].Loaded))
		}
		q := pl.Quantity
		next[i].Delivered = &q
	}
	if dep := s.milestoneOf(event.ShipmentDeparted); dep != nil && pod.SignedAt.Before(dep.At) {
		v.Problems = append(v.Problems, fmt.Sprintf("signed at %s, before departure at %s",
			pod.SignedAt.UTC().Format(time.RFC3339), dep.At.UTC().Format(time.RFC3339)))
	}
	s.checkPosition(pod, stop, v, p.PODRadiusMeters)
	if len(v.Problems) > 0 {
		v.Status = PODFailed
	}
	s.Lines = next
	pod.EventID, pod.Source = in.EventID, in.Source
	pod.Validation = v
	s.POD = pod
	s.milestone(in, false, stop, "")
	s.moveTo(tr.To)
	// A new proof supersedes the review of the one it replaces.
	for i := range s.Reviews {
		if r := &s.Reviews[i]; r.Kind == ReviewPOD && r.Status == ReviewOpen {
			at := in.Time
			r.Status, r.Decision, r.Note, r.DecidedAt = ReviewResolved, "superseded", "a new proof of delivery arrived", &at
		}
	}
	if v.Status == PODFailed {
		s.Reviews = append(s.Reviews, Review{
			ID: in.EventID, Kind: ReviewPOD, Status: ReviewOpen, OwnerRole: "customer_service", OpenedAt: in.Time,
			Reason: "proof of delivery failed validation: " + strings.Join(v.Problems, "; "),
		})
		s.BlockedReason = podBlocked(v)
		return Result{Outcome: OutcomeApplied}
	}
	return s.billing(in, p)
}

// proofOfDelivery makes the proof of delivery of a shipment.delivered
// event; nil if the event has none.
func proofOfDelivery(p *event.ProofOfDelivery) *ProofOfDelivery {
	if p == nil {
		return nil
	}
	return &ProofOfDelivery{Signer: p.Signer, SignedAt: p.SignedAt, Lines: lineQtys(p.Lines),
		SignatureSHA256: p.SignatureSHA256, Photos: p.Photos, Position: p.Position, Remarks: p.Remarks}
}

// checkPosition compares where the proof was captured with the delivery
// stop. A check that cannot be made is flagged, not failed.
func (s *Shipment) checkPosition(pod *ProofOfDelivery, stop *Location, v *PODValidation, radius float64) {
	if radius <= 0 {
		return
	}
	dest := s.Destination
	if (dest == nil || dest.Lat == nil || dest.Lon == nil) && stop != nil {
		// The stop the sender reports, when the plan has no coordinates.
		dest = stop
	}
	switch {
	case pod.Position == nil:
		v.Flags = append(v.Flags, "position not checked: the proof of delivery has no position")
	case dest == nil || dest.Lat == nil || dest.Lon == nil:
		v.Flags = append(v.Flags, "position not checked: the delivery stop has no coordinates")
	default:
		dist := haversineMeters(*dest.Lat, *dest.Lon, pod.Position.Lat, pod.Position.Lon)
		dist = math.Round(dist)
		v.DistanceM = &dist
		if dist > radius {
			v.Problems = append(v.Problems, fmt.Sprintf("captured %.0f m from the delivery stop, more than the %.0f m allowed", dist, radius))
		}
	}
}

// haversineMeters is the great-circle distance between two points.
func haversineMeters(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadius = 6371008.8 // mean radius, m
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

func (s *Shipment) milestoneOf(t event.Type) *Milestone {
	for i := range s.Milestones {
		if s.Milestones[i].Type == string(t) && !s.Milestones[i].Late {
			return &s.Milestones[i]
		}
	}
	return nil
}

func (s *Shipment) applyReturned(in Input) Result {
	if ok, _ := s.allowed(trReturned); !ok {
		return rejected("cannot return a shipment that is %s", s.State)
	}
	d, err := decodeData[event.ShipmentReturnedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	s.milestone(in, false, nil, d.Reason)
	s.State, s.ResumeState = trReturned.To, ""
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}
