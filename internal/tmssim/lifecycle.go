package tmssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/event"
)

// Source is the CloudEvents source of every event the simulator sends.
const Source = "tmssim"

// The simulated timeline, from the moment a release is accepted.
const (
	// pickupLead is how long after acceptance the vehicle is planned at the
	// pickup, unless the pickup window starts later.
	pickupLead = 45 * time.Minute
	// loadingTime is from loading to departure.
	loadingTime = 15 * time.Minute
	// transitTime is from departure to planned arrival, unless the
	// delivery window starts later.
	transitTime = 2 * time.Hour
	// exceptionAfter and deliveredAfter are from arrival.
	exceptionAfter = 10 * time.Minute
	deliveredAfter = 20 * time.Minute
	// returnTime is from the last event at the delivery stop back to the
	// sender.
	returnTime = 2 * time.Hour
)

// Steps of a lifecycle: the suffix of each event's id.
const (
	stepAssigned  = "assigned"
	stepLoaded    = "loaded"
	stepDeparted  = "departed"
	stepDelayed   = "delayed"
	stepArrived   = "arrived"
	stepException = "exception"
	stepDelivered = "delivered"
	stepReturned  = "returned"
)

// maxEventID is the longest CloudEvent id Waybill accepts.
const maxEventID = 256

// outEvent is one lifecycle event, encoded once so that every resend is
// byte for byte the same.
type outEvent struct {
	id   string
	typ  event.Type
	time time.Time
	data json.RawMessage
	body []byte
}

var (
	vehicleTypes = []string{"box_truck", "tractor_trailer", "van", "rigid_truck"}
	driverNames  = []string{"Sanne de Vries", "Mehmet Yılmaz", "Jan Jansen", "Fatima El Amrani", "Piotr Nowak", "Lotte Bakker", "Karim Haddad", "Eva Visser"}
	signerNames  = []string{"R. Okafor", "M. de Groot", "T. Schmidt", "A. Rossi", "J. Peeters", "L. Moreau", "K. Nielsen", "S. Janssens"}
)

// rng returns the random source of one dispatch: the same seed and dispatch
// id always make up the same assignment, signer and position, whatever the
// order releases arrive in.
func rng(seed int64, dispatchID string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(dispatchID))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// timeline is when each step happens, in simulated time.
type timeline struct {
	assigned, loaded, departed, eta time.Time
	delayed, arrived                time.Time
	exception, delivered, returned  time.Time
}

func newTimeline(t0 time.Time, d *tms.Dispatch, p *Plan) timeline {
	var tl timeline
	tl.assigned = t0
	pickup := t0.Add(pickupLead)
	if w := d.Pickup.Window; w != nil && w.Start.After(pickup) {
		pickup = w.Start
	}
	if a := p.Assignment; a != nil && a.PlannedPickup != nil && a.PlannedPickup.After(t0) {
		pickup = *a.PlannedPickup
	}
	tl.loaded = pickup.Truncate(time.Second)
	tl.departed = tl.loaded.Add(loadingTime)
	eta := tl.departed.Add(transitTime)
	if w := d.Delivery.Window; w != nil && w.Start.After(eta) {
		eta = w.Start
	}
	if a := p.Assignment; a != nil && a.PlannedDelivery != nil && a.PlannedDelivery.After(tl.departed) {
		eta = *a.PlannedDelivery
	}
	tl.eta = eta.Truncate(time.Second)
	tl.arrived = tl.eta
	if p.Delay != nil {
		tl.delayed = tl.departed.Add(tl.eta.Sub(tl.departed) / 2).Truncate(time.Second)
		tl.arrived = tl.eta.Add(p.Delay.By)
	}
	tl.exception = tl.arrived.Add(exceptionAfter)
	tl.delivered = tl.arrived.Add(deliveredAfter)
	last := tl.arrived
	if p.Exception != nil {
		last = tl.exception
	}
	if !p.NoDelivery {
		last = tl.delivered
	}
	tl.returned = last.Add(returnTime)
	return tl
}

// resolve fills the zero fields of p with their defaults and returns it
// with its timeline, t0 being when the release was accepted.
func resolve(p Plan, r *Release, t0 time.Time, rnd *rand.Rand) (Plan, timeline) {
	if p.Delay != nil {
		d := *p.Delay
		if d.Reason == "" {
			d.Reason = "Congestion on the motorway, traffic held"
		}
		if d.By <= 0 {
			d.By = DelayDefault
		}
		p.Delay = &d
	}
	tl := newTimeline(t0, &r.Dispatch, &p)
	if p.Assignment == nil {
		a := makeAssignment(tl, r, rnd)
		p.Assignment = &a
	}
	if p.Loaded == nil {
		p.Loaded = DefaultLoad(*r)
	}
	if p.Seal == "" {
		p.Seal = fmt.Sprintf("SIM-%07d", rnd.IntN(10_000_000))
	}
	if p.Exception != nil {
		e := *p.Exception
		if e.ID == "" {
			e.ID = truncate(e.Category+"-"+r.Dispatch.DispatchID, 64)
		}
		p.Exception = &e
	}
	if p.Delivered == nil {
		for _, l := range p.Loaded {
			p.Delivered = append(p.Delivered, LineQty{LineID: l.LineID, Quantity: l.Quantity})
		}
	}
	if p.Signer == "" {
		p.Signer = signerNames[rnd.IntN(len(signerNames))]
	}
	return p, tl
}

func makeAssignment(tl timeline, r *Release, rnd *rand.Rand) tms.Assignment {
	letter := func() byte { return "BDFGHJKLNPRSTVXZ"[rnd.IntN(16)] }
	plate := fmt.Sprintf("%c%c-%03d-%c", letter(), letter(), rnd.IntN(1000), letter())
	pickup := tl.loaded.In(zone(r.Dispatch.Pickup.Location))
	delivery := tl.eta.In(zone(r.Dispatch.Delivery.Location))
	return tms.Assignment{
		Vehicle: &tms.Vehicle{Plate: plate, Type: vehicleTypes[rnd.IntN(len(vehicleTypes))]},
		Driver: &tms.Driver{
			Name:  driverNames[rnd.IntN(len(driverNames))],
			Phone: fmt.Sprintf("+31 6 %04d %04d", rnd.IntN(10000), rnd.IntN(10000)),
		},
		RouteID:         fmt.Sprintf("RT-%s-%c%c%c", pickup.Format("20060102"), letter(), letter(), letter()),
		PlannedPickup:   &pickup,
		PlannedDelivery: &delivery,
	}
}

// build returns the lifecycle events of plan p, resolved, for release r.
func build(r *Release, p Plan, tl timeline, rnd *rand.Rand, skipAssigned bool) ([]outEvent, error) {
	d := &r.Dispatch
	pickupTZ, deliveryTZ := zone(d.Pickup.Location), zone(d.Delivery.Location)
	b := &builder{r: r}
	if !skipAssigned {
		b.add(stepAssigned, event.DispatchAssigned, tl.assigned.In(pickupTZ), p.Assignment.EventData())
	}
	loaded := event.ShipmentLoadedData{Seal: p.Seal}
	for _, l := range p.Loaded {
		loaded.Lines = append(loaded.Lines, event.LoadedLine{LineID: l.LineID, Quantity: l.Quantity, Lots: l.Lots})
	}
	b.add(stepLoaded, event.ShipmentLoaded, tl.loaded.In(pickupTZ), loaded)
	eta := tl.eta.In(deliveryTZ)
	b.add(stepDeparted, event.ShipmentDeparted, tl.departed.In(pickupTZ),
		event.ShipmentDepartedData{Location: nonEmpty(d.Pickup.Location), ETA: &eta})
	if p.Delay != nil {
		eta := tl.arrived.In(deliveryTZ).Truncate(time.Second)
		b.add(stepDelayed, event.ShipmentDelayed, tl.delayed.In(pickupTZ),
			event.ShipmentDelayedData{Reason: p.Delay.Reason, ReasonCode: p.Delay.ReasonCode, ETA: &eta})
	}
	b.add(stepArrived, event.ShipmentArrived, tl.arrived.In(deliveryTZ),
		event.ShipmentArrivedData{Location: nonEmpty(d.Delivery.Location)})
	if e := p.Exception; e != nil {
		b.add(stepException, event.ShipmentException, tl.exception.In(deliveryTZ), event.ShipmentExceptionData{
			Category: e.Category, Status: "open", ExceptionID: e.ID, Description: e.Description,
			ReasonCode: e.ReasonCode, Lines: lineQtys(e.Lines), OwnerRole: e.OwnerRole,
		})
	}
	if !p.NoDelivery {
		signedAt := tl.delivered.In(deliveryTZ).Truncate(time.Second)
		sum := sha256.Sum256([]byte(d.DispatchID + "\x00" + p.Signer + "\x00" + rfc3339(signedAt)))
		b.add(stepDelivered, event.ShipmentDelivered, signedAt, event.ShipmentDeliveredData{POD: &event.ProofOfDelivery{
			Signer:          p.Signer,
			SignedAt:        signedAt,
			Lines:           lineQtys(p.Delivered),
			SignatureSHA256: hex.EncodeToString(sum[:]),
			Position:        near(d.Delivery.Location, rnd),
			Remarks:         p.Remarks,
		}})
	}
	if ret := p.Return; ret != nil {
		var lines []event.LineQuantity
		for _, l := range ret.Lines {
			lines = append(lines, event.LineQuantity(l))
		}
		b.add(stepReturned, event.ShipmentReturned, tl.returned.In(pickupTZ), event.ShipmentReturnedData{Reason: ret.Reason, Lines: lines})
	}
	return b.events, b.err
}

// builder collects encoded events.
type builder struct {
	r      *Release
	events []outEvent
	err    error
}

func (b *builder) add(step string, typ event.Type, at time.Time, data any) {
	if b.err != nil {
		return
	}
	raw, err := json.Marshal(data)
	if err != nil {
		b.err = fmt.Errorf("encoding %s data: %w", typ, err)
		return
	}
	// Times are to the second, as the simulated timeline is.
	at = at.Truncate(time.Second)
	ev := outEvent{id: eventID(b.r.Dispatch.DispatchID, step), typ: typ, time: at, data: raw}
	ce := event.CloudEvent{ID: ev.id, Source: Source, Type: typ, Subject: b.r.Dispatch.ShipmentID, Time: at, Data: ev.data}
	if correlation.Valid(b.r.Dispatch.CorrelationID) {
		ce.CorrelationID = b.r.Dispatch.CorrelationID
	}
	if ev.body, err = ce.MarshalJSON(); err != nil {
		b.err = fmt.Errorf("encoding %s: %w", typ, err)
		return
	}
	b.events = append(b.events, ev)
}

// eventID derives the CloudEvent id of one step from the dispatch id, so a
// resend of the same step is a duplicate Waybill recognises.
func eventID(dispatchID, step string) string {
	id := dispatchID + "." + step
	if len(id) <= maxEventID {
		return id
	}
	sum := sha256.Sum256([]byte(dispatchID))
	return "tmssim-" + hex.EncodeToString(sum[:20]) + "." + step
}

func lineQtys(in []LineQty) []event.SKULineQuantity {
	if len(in) == 0 {
		return nil
	}
	out := make([]event.SKULineQuantity, len(in))
	for i, l := range in {
		out[i] = event.SKULineQuantity{LineID: l.LineID, Quantity: l.Quantity}
	}
	return out
}

// zone returns the time zone of l, or UTC when l names none that loads.
func zone(l *tms.Location) *time.Location {
	if l == nil || l.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// nonEmpty returns l, or nil when it has no field set (a location must have
// one).
func nonEmpty(l *tms.Location) *tms.Location {
	if l == nil {
		return nil
	}
	b, err := json.Marshal(l)
	if err != nil || string(b) == "{}" {
		return nil
	}
	return l
}

// near returns a position within about 25 metres of l, or nil when l has no
// coordinates.
func near(l *tms.Location, rnd *rand.Rand) *event.Position {
	if l == nil || l.Lat == nil || l.Lon == nil {
		return nil
	}
	round := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
	lat := min(max(*l.Lat+(rnd.Float64()-0.5)*0.0004, -90), 90)
	lon := min(max(*l.Lon+(rnd.Float64()-0.5)*0.0004, -180), 180)
	accuracy := float64(4 + rnd.IntN(12))
	return &event.Position{Lat: round(lat), Lon: round(lon), AccuracyM: &accuracy}
}

func rfc3339(t time.Time) string { return t.Format(time.RFC3339) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Keep it unique: a hash of the whole in place of the tail.
	sum := sha256.Sum256([]byte(s))
	tail := hex.EncodeToString(sum[:8])
	head := strings.ToValidUTF8(s[:n-len(tail)-1], "")
	return head + "-" + tail
}

// encode writes v as compact JSON without HTML escaping.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
