package shipment

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
)

// Input is one accepted event as Apply sees it.
type Input struct {
	EventID string
	// Source is the event's CloudEvents source.
	Source string
	Type   event.Type
	Time   time.Time
	Data   json.RawMessage
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
	// Actions are the outbound action kinds (connector.Kind…) the change
	// calls for, to be enqueued in the same transaction.
	Actions []string
}

func rejected(format string, args ...any) Result {
	return Result{Outcome: OutcomeRejected, Reason: fmt.Sprintf(format, args...)}
}

// New creates a shipment from a shipment.planned event.
func New(id string, in Input) (*Shipment, Result) {
	var d struct {
		Order          string             `json:"order"`
		Customer       *Party             `json:"customer"`
		Carrier        *Carrier           `json:"carrier"`
		Vehicle        *Vehicle           `json:"vehicle"`
		Origin         *Location          `json:"origin"`
		Destination    *Location          `json:"destination"`
		Lines          []Line             `json:"lines"`
		Weight         *quantity.Quantity `json:"weight"`
		HandlingUnits  *quantity.Quantity `json:"handling_units"`
		PickupWindow   *Window            `json:"pickup_window"`
		DeliveryWindow *Window            `json:"delivery_window"`
		References     map[string]string  `json:"references"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
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
		ID: id, State: Planned, Order: d.Order, Customer: d.Customer, Carrier: d.Carrier, Vehicle: d.Vehicle,
		Origin: d.Origin, Destination: d.Destination, Lines: d.Lines, Weight: d.Weight,
		HandlingUnits: d.HandlingUnits, PickupWindow: d.PickupWindow, DeliveryWindow: d.DeliveryWindow,
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
	if s.State.Terminal() && in.Type != event.ChargesReported {
		return rejected("shipment is %s", s.State)
	}
	if s.State == Invoiced && in.Type != event.ChargesReported && in.Type != event.ShipmentException && in.Type != event.ReviewDecided {
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
		return s.applyLoaded(in)
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
		return s.applyCharges(in)
	case event.ShipmentTracked:
		return s.applyTracked(in)
	case event.ReviewDecided:
		return s.applyDecision(in, p)
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

// allowed reports whether t may apply in the current state; late reports
// that the state is already past t's target.
func (s *Shipment) allowed(t event.Type) (ok, late bool) {
	tr := transitions[t]
	cur := s.current()
	if slices.Contains(tr.From, cur) {
		return true, false
	}
	if tr.To != "" && rank[cur] >= rank[tr.To] {
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

type lineQtyData struct {
	LineID   string            `json:"line_id"`
	Quantity quantity.Quantity `json:"quantity"`
	Lots     []Lot             `json:"lots"`
	Serials  []string          `json:"serials"`
}

func (s *Shipment) applyReserved(in Input, p Policy) Result {
	if ok, late := s.allowed(in.Type); !ok {
		if late {
			return s.late(in, "reservation after the shipment was released")
		}
		return rejected("cannot reserve a shipment that is %s", s.State)
	}
	var d struct {
		Lines []lineQtyData `json:"lines"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
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
		s.moveTo(Reserved)
		s.BlockedReason = ""
		// Stock came: the shortage is over.
		for i := range s.Reviews {
			if r := &s.Reviews[i]; r.Kind == ReviewShortage && r.Status == ReviewOpen {
				at := in.Time
				r.Status, r.Decision, r.Note, r.DecidedAt, r.DecisionEventID = ReviewResolved, "reserved", "fully reserved", &at, in.EventID
			}
		}
	} else {
		s.moveTo(Short)
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
	switch s.State {
	case Reserved:
	case Short:
		if !p.PartialRelease || !s.anyReserved() {
			return res
		}
	default:
		return res
	}
	s.State = Released
	s.BlockedReason = ""
	res.Actions = append(res.Actions, connector.KindDispatchRelease)
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
	if ok, late := s.allowed(in.Type); !ok {
		if late {
			return s.late(in, "shortage reported after the shipment was released")
		}
		return rejected("cannot report a shortage on a shipment that is %s", s.State)
	}
	var d struct {
		Lines []struct {
			LineID    string            `json:"line_id"`
			Required  quantity.Quantity `json:"required"`
			Available quantity.Quantity `json:"available"`
		} `json:"lines"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
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
	s.moveTo(Short)
	s.BlockedReason = reason
	if !slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewShortage && r.Status == ReviewOpen }) {
		s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewShortage, Status: ReviewOpen, OwnerRole: ownerRole[ShortShipped],
			OpenedAt: in.Time, Reason: reason})
	}
	return Result{Outcome: OutcomeApplied}
}

func (s *Shipment) applyAssigned(in Input) Result {
	ok, late := s.allowed(in.Type)
	if !ok && !late {
		return rejected("not released for dispatch: %s", s.waitReason())
	}
	var d struct {
		Vehicle     *Vehicle `json:"vehicle"`
		Driver      *Driver  `json:"driver"`
		Carrier     *Carrier `json:"carrier"`
		RouteID     string   `json:"route_id"`
		TrackingRef string   `json:"tracking_ref"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	if late {
		// The TMS's reply and its first report race: an assignment that
		// comes after loading still says who carries the goods, but it
		// does not overwrite what a later report set.
		s.assign(d.Vehicle, d.Driver, d.Carrier, d.RouteID, d.TrackingRef, false)
		return s.late(in, "assignment after loading")
	}
	s.assign(d.Vehicle, d.Driver, d.Carrier, d.RouteID, d.TrackingRef, true)
	s.milestone(in, false, nil, "")
	s.moveTo(Assigned)
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
func (s *Shipment) applyLoaded(in Input) Result {
	if ok, late := s.allowed(in.Type); !ok {
		if late {
			return s.late(in, "loading reported again after departure")
		}
		return rejected("cannot load: not released for dispatch: %s", s.waitReason())
	}
	var d struct {
		Lines  []lineQtyData      `json:"lines"`
		Weight *quantity.Quantity `json:"weight"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
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
	s.moveTo(Loaded)
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied, Actions: []string{connector.KindPickingValidate}}
}

func (s *Shipment) applyMilestone(in Input) Result {
	var d struct {
		Location *Location  `json:"location"`
		ETA      *time.Time `json:"eta"`
		Reason   string     `json:"reason"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	ok, late := s.allowed(in.Type)
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
	if last := s.lastProgress(); last != nil && in.Time.Before(last.At) && rank[transitions[in.Type].To] <= rank[s.current()] {
		s.milestone(in, true, d.Location, d.Reason)
		return Result{Outcome: OutcomeLate, Reason: fmt.Sprintf("late: happened before %s", last.Type)}
	}
	s.milestone(in, false, d.Location, d.Reason)
	s.moveTo(transitions[in.Type].To)
	return Result{Outcome: OutcomeApplied}
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

func (s *Shipment) late(in Input, why string) Result {
	s.milestone(in, true, nil, why)
	return Result{Outcome: OutcomeLate, Reason: "late: " + why}
}

// applyDelivered takes the proof of delivery. One that names lines the
// shipment does not have, or lines never loaded, is rejected. Otherwise it
// is validated: delivered quantities not above loaded, signed after
// departure, captured near the stop. One that fails is kept, and waits in
// review instead of going to billing. A new proof may replace one that
// failed or was rejected.
func (s *Shipment) applyDelivered(in Input, p Policy) Result {
	if ok, late := s.allowed(in.Type); !ok {
		replaceable := s.current() == Delivered && s.POD != nil && !s.POD.Validation.Billable()
		if !replaceable {
			if late {
				return s.late(in, "delivery reported again")
			}
			return rejected("delivered before the shipment was loaded (it is %s)", s.State)
		}
	}
	var d struct {
		POD      *ProofOfDelivery `json:"pod"`
		Location *Location        `json:"location"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	if d.POD == nil || strings.TrimSpace(d.POD.Signer) == "" || d.POD.SignedAt.IsZero() || len(d.POD.Lines) == 0 {
		return rejected("delivery needs a proof of delivery with signer, time and delivered quantities")
	}
	if err := s.resolveSKUs(d.POD.Lines); err != nil {
		return rejected("proof of delivery: %v", err)
	}
	v := &PODValidation{Status: PODValid}
	next := slices.Clone(s.Lines)
	for _, pl := range d.POD.Lines {
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
	if dep := s.milestoneOf(event.ShipmentDeparted); dep != nil && d.POD.SignedAt.Before(dep.At) {
		v.Problems = append(v.Problems, fmt.Sprintf("signed at %s, before departure at %s",
			d.POD.SignedAt.UTC().Format(time.RFC3339), dep.At.UTC().Format(time.RFC3339)))
	}
	s.checkPosition(d.POD, d.Location, v, p.PODRadiusMeters)
	if len(v.Problems) > 0 {
		v.Status = PODFailed
	}
	s.Lines = next
	d.POD.EventID, d.POD.Source = in.EventID, in.Source
	d.POD.Validation = v
	s.POD = d.POD
	s.milestone(in, false, d.Location, "")
	s.moveTo(Delivered)
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
		s.BlockedReason = "not billable: proof of delivery failed validation: " + strings.Join(v.Problems, "; ")
		return Result{Outcome: OutcomeApplied}
	}
	return s.billing(in, p)
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

// billing is the billing gate: delivered, with a proof of delivery, and no
// open exception. It rates the shipment and issues the invoice action
// once.
func (s *Shipment) billing(in Input, p Policy) Result {
	res := Result{Outcome: OutcomeApplied}
	if s.current() != Delivered || s.Billable {
		return res
	}
	if s.POD == nil {
		s.BlockedReason = "not billable: no proof of delivery"
		return res
	}
	if !s.POD.Validation.Billable() {
		s.BlockedReason = "not billable: proof of delivery " + s.POD.Validation.Status
		return res
	}
	if open := s.openExceptions(); len(open) > 0 {
		s.BlockedReason = "not billable: open exception " + strings.Join(open, ", ")
		return res
	}
	if p.Rate != nil && !s.rated() && !s.ratingWaived() {
		charges, err := p.Rate(s)
		if err != nil {
			reason := "rating failed: " + err.Error()
			s.BlockedReason = "not billable: " + reason
			if !slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewRating && r.Status == ReviewOpen }) {
				s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewRating, Status: ReviewOpen, OwnerRole: "billing",
					OpenedAt: in.Time, Reason: reason})
			}
			return res
		}
		for _, c := range charges {
			c.Source, c.EventID = ChargeRated, in.EventID
			s.Charges = append(s.Charges, c)
		}
	}
	s.Billable = true
	s.BlockedReason = ""
	res.Actions = append(res.Actions, connector.KindInvoicePrepare)
	return res
}

func (s *Shipment) openExceptions() []string {
	var out []string
	for _, e := range s.Exceptions {
		if e.Status == "open" {
			out = append(out, fmt.Sprintf("%s (%s)", e.ID, e.Category))
		}
	}
	return out
}

func (s *Shipment) applyException(in Input, p Policy) Result {
	var d struct {
		Category    ExceptionCategory `json:"category"`
		Status      string            `json:"status"`
		ExceptionID string            `json:"exception_id"`
		Description string            `json:"description"`
		ReasonCode  string            `json:"reason_code"`
		Lines       []LineQty         `json:"lines"`
		OwnerRole   string            `json:"owner_role"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	if !slices.Contains(ExceptionCategories(), d.Category) {
		return rejected("unknown exception category %q", d.Category)
	}
	id := d.ExceptionID
	if id == "" {
		id = string(d.Category)
	}
	i := slices.IndexFunc(s.Exceptions, func(e ExceptionRecord) bool { return e.ID == id && e.Status == "open" })
	if d.Status == "resolved" {
		if i < 0 {
			return rejected("no open exception %s to resolve", id)
		}
		s.closeException(i, in, "resolved")
		s.closeReviewOf(id, in, ReviewResolved, "resolved", "", "resolved by "+string(in.Type))
		s.milestone(in, false, nil, "resolved "+id)
		return s.billing(in, p)
	}
	if err := s.resolveSKUs(d.Lines); err != nil {
		return rejected("%v", err)
	}
	for _, l := range d.Lines {
		if s.line(l.LineID) == nil {
			return rejected("line %s is not on the shipment", l.LineID)
		}
	}
	if i >= 0 {
		return rejected("exception %s is already open", id)
	}
	s.openException(in, ExceptionRecord{ID: id, Category: d.Category, OwnerRole: d.OwnerRole,
		Description: d.Description, ReasonCode: d.ReasonCode, Lines: d.Lines})
	s.milestone(in, false, nil, string(d.Category))
	res := Result{Outcome: OutcomeApplied}
	if d.Category == RouteChanged && rank[s.current()] >= rank[Released] && rank[s.current()] < rank[Delivered] {
		// The TMS planned the old route: send it the dispatch again.
		res.Actions = []string{connector.KindDispatchUpdate}
	}
	return res
}

// openException opens exception e, with a review for its owner, and puts
// the shipment under the exception overlay.
func (s *Shipment) openException(in Input, e ExceptionRecord) {
	if e.OwnerRole == "" {
		e.OwnerRole = ownerRole[e.Category]
	}
	e.Status, e.OpenedAt, e.EventID = "open", in.Time, in.EventID
	s.Exceptions = append(s.Exceptions, e)
	reason := "exception " + e.ID + " (" + string(e.Category) + ")"
	if e.Description != "" {
		reason += ": " + e.Description
	}
	s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewException, Status: ReviewOpen, ExceptionID: e.ID,
		OwnerRole: e.OwnerRole, OpenedAt: in.Time, Reason: reason})
	if s.State != Exception {
		s.ResumeState, s.State = s.State, Exception
	}
	s.BlockedReason = "open exception " + strings.Join(s.openExceptions(), ", ")
}

func (s *Shipment) applyReturned(in Input) Result {
	if ok, _ := s.allowed(in.Type); !ok {
		return rejected("cannot return a shipment that is %s", s.State)
	}
	var d struct {
		Reason string    `json:"reason"`
		Lines  []LineQty `json:"lines"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	s.milestone(in, false, nil, d.Reason)
	s.State, s.ResumeState = Returned, ""
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}

func (s *Shipment) applyCancelled(in Input) Result {
	if ok, _ := s.allowed(in.Type); !ok {
		return rejected("cannot cancel a shipment that is %s: return it instead", s.State)
	}
	var d struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	s.milestone(in, false, nil, d.Reason)
	s.State, s.ResumeState = Cancelled, ""
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}

func (s *Shipment) applyCharges(in Input) Result {
	var d struct {
		Charges []Charge     `json:"charges"`
		Invoice string       `json:"invoice_number"`
		Total   *money.Money `json:"total"`
		Weights []struct {
			KG   string `json:"kg"`
			Kind string `json:"kind"`
		} `json:"weights"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	if d.Total != nil {
		sum := money.Money{Currency: d.Total.Currency}
		for _, c := range d.Charges {
			var err error
			if sum, err = sum.Add(c.Amount); err != nil {
				return rejected("charges: %v", err)
			}
		}
		if sum != *d.Total {
			return rejected("charges add up to %s, not the total %s", sum, d.Total)
		}
	}
	for _, c := range d.Charges {
		c.InvoiceNumber, c.EventID = d.Invoice, in.EventID
		s.Charges = append(s.Charges, c)
	}
	// The weight the carrier billed after a reweigh is the measured weight
	// that weight reconciliation compares with the declared one.
	for _, w := range d.Weights {
		if w.Kind != "billed" {
			continue
		}
		if q, err := quantity.Parse(w.KG, string(quantity.KGM)); err == nil {
			s.MeasuredWeight = &q
		}
	}
	return Result{Outcome: OutcomeApplied}
}

// closeException closes exception i, and the exception overlay once no
// exception is open.
func (s *Shipment) closeException(i int, in Input, resolution string) {
	at := in.Time
	s.Exceptions[i].Status, s.Exceptions[i].ResolvedAt, s.Exceptions[i].Resolution = "resolved", &at, resolution
	if s.State == Exception && len(s.openExceptions()) == 0 {
		s.State, s.ResumeState = s.ResumeState, ""
	}
	s.BlockedReason = ""
}

// closeReviewOf closes the open review of exception id, if any.
func (s *Shipment) closeReviewOf(exceptionID string, in Input, status, decision, actor, note string) {
	for i := range s.Reviews {
		r := &s.Reviews[i]
		if r.Kind == ReviewException && r.ExceptionID == exceptionID && r.Status == ReviewOpen {
			at := in.Time
			r.Status, r.Decision, r.Actor, r.Note, r.DecidedAt, r.DecisionEventID = status, decision, actor, note, &at, in.EventID
		}
	}
}

// Review decisions.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionResolve = "resolve"
)

// Decisions lists every review decision. The caller owns the slice.
func Decisions() []string { return []string{DecisionApprove, DecisionReject, DecisionResolve} }

// consequences are the outbound actions an approved exception calls for:
// damaged goods, and goods missing at delivery (short, lost), are taken
// back from the delivery and written off (scrapped); refused or returned
// goods are taken back into stock. Either way they are not invoiced.
var consequences = map[ExceptionCategory]string{
	Damaged:      connector.KindStockScrap,
	ShortShipped: connector.KindStockScrap,
	Lost:         connector.KindStockScrap,
	Refused:      connector.KindPickingReturn,
	ReturnedGood: connector.KindPickingReturn,
}

// WrittenOff are the exception categories whose goods, once approved, are
// taken back from the delivery and scrapped: damaged, or missing.
func WrittenOff() []ExceptionCategory { return []ExceptionCategory{Damaged, ShortShipped, Lost} }

// applyDecision carries out a person's decision on an open review.
func (s *Shipment) applyDecision(in Input, p Policy) Result {
	var d struct {
		ReviewID string `json:"review_id"`
		Decision string `json:"decision"`
		Actor    string `json:"actor"`
		Reason   string `json:"reason"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	i := slices.IndexFunc(s.Reviews, func(r Review) bool { return r.ID == d.ReviewID })
	if i < 0 {
		return rejected("review %s is not on the shipment", d.ReviewID)
	}
	r := &s.Reviews[i]
	if r.Status != ReviewOpen {
		return rejected("review %s is already %s", r.ID, r.Status)
	}
	status := map[string]string{DecisionApprove: ReviewApproved, DecisionReject: ReviewRejected, DecisionResolve: ReviewResolved}[d.Decision]
	if status == "" {
		return rejected("unknown decision %q", d.Decision)
	}
	decide := func() {
		at := in.Time
		r.Status, r.Decision, r.Actor, r.Note, r.DecidedAt, r.DecisionEventID = status, d.Decision, d.Actor, d.Reason, &at, in.EventID
	}
	note := d.Decision + " by " + d.Actor
	if d.Reason != "" {
		note += ": " + d.Reason
	}
	switch r.Kind {
	case ReviewPOD:
		if d.Decision == DecisionResolve {
			return rejected("a proof of delivery is approved or rejected, not resolved")
		}
		if s.POD == nil || s.POD.EventID != r.ID {
			return rejected("review %s is about a proof of delivery that was replaced", r.ID)
		}
		decide()
		s.milestone(in, false, nil, "proof of delivery "+note)
		if d.Decision == DecisionReject {
			s.POD.Validation.Status = PODRejected
			s.BlockedReason = "not billable: proof of delivery rejected by " + d.Actor + ": send a new one"
			return Result{Outcome: OutcomeApplied}
		}
		s.POD.Validation.Status = PODApproved
		return s.billing(in, p)
	case ReviewShortage:
		if d.Decision == DecisionApprove {
			// Ship what is reserved: a release by hand, for the
			// shipments the partial-release policy does not cover.
			if s.State != Short {
				return rejected("only a short shipment can be released in part (it is %s)", s.State)
			}
			if !s.anyReserved() {
				return rejected("nothing is reserved to release")
			}
			decide()
			s.milestone(in, false, nil, "shortage "+note+": released in part")
			s.State, s.BlockedReason = Released, ""
			return Result{Outcome: OutcomeApplied, Actions: []string{connector.KindDispatchRelease}}
		}
		decide()
		s.milestone(in, false, nil, "shortage "+note)
		return Result{Outcome: OutcomeApplied}
	case ReviewRating:
		decide()
		s.milestone(in, false, nil, "rating "+note)
		switch d.Decision {
		case DecisionApprove: // bill without rated charges
			return s.billing(in, p)
		case DecisionResolve: // the rules were fixed: rate again
			return s.billing(in, p)
		}
		s.BlockedReason = "not billable: rating rejected by " + d.Actor
		return Result{Outcome: OutcomeApplied}
	case ReviewException:
		j := slices.IndexFunc(s.Exceptions, func(e ExceptionRecord) bool { return e.ID == r.ExceptionID && e.Status == "open" })
		if j < 0 {
			return rejected("exception %s of review %s is no longer open", r.ExceptionID, r.ID)
		}
		decide()
		e := s.Exceptions[j]
		resolution := map[string]string{DecisionApprove: "approved", DecisionReject: "dismissed", DecisionResolve: "resolved"}[d.Decision]
		s.closeException(j, in, resolution)
		s.milestone(in, false, nil, "exception "+e.ID+" "+note)
		var actions []string
		if kind, ok := consequences[e.Category]; ok && d.Decision == DecisionApprove && len(e.Lines) > 0 {
			actions = append(actions, kind)
			if s.current() == Invoiced {
				// Billed already: invoicing again after the goods came
				// back credits them.
				actions = append(actions, connector.KindInvoicePrepare)
			}
		}
		res := s.billing(in, p)
		res.Actions = append(actions, res.Actions...)
		return res
	}
	return rejected("review %s has unknown kind %s", r.ID, r.Kind)
}

// rated reports whether the shipment's charges were rated already.
func (s *Shipment) rated() bool {
	return slices.ContainsFunc(s.Charges, func(c Charge) bool { return c.Source == ChargeRated })
}

// ratingWaived reports whether a person approved billing without rating.
func (s *Shipment) ratingWaived() bool {
	return slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewRating && r.Decision == DecisionApprove })
}

// applyInvoiced records the ERP's invoice of a billable shipment and closes
// its billing. The invoice is found again by reference, so a second report
// of the same invoice changes nothing.
func (s *Shipment) applyInvoiced(in Input) Result {
	var d struct {
		System    string `json:"system"`
		InvoiceID string `json:"invoice_id"`
		Number    string `json:"number"`
	}
	if err := json.Unmarshal(in.Data, &d); err != nil {
		return rejected("invalid data: %v", err)
	}
	if s.Invoice != nil {
		if s.Invoice.System == d.System && s.Invoice.ExternalID == d.InvoiceID {
			if d.Number != "" {
				s.Invoice.Number = d.Number
			}
			return Result{Outcome: OutcomeLate, Reason: "invoice already recorded"}
		}
		return rejected("shipment already invoiced by %s:%s", s.Invoice.System, s.Invoice.ExternalID)
	}
	if s.current() != Delivered || !s.Billable {
		return rejected("invoiced while not billable (it is %s): %s", s.State, s.BlockedReason)
	}
	s.Invoice = &InvoiceRef{System: d.System, ExternalID: d.InvoiceID, Number: d.Number, At: in.Time}
	s.milestone(in, false, nil, "")
	s.moveTo(Invoiced)
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}
