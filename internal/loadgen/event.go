package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
)

// plannedData is the data of every shipment.planned event of a run.
func plannedData() (*event.ShipmentPlannedData, error) {
	pallets, err1 := quantity.Parse("12", "C62")
	boxes, err2 := quantity.Parse("40", "KGM")
	weight, err3 := quantity.Parse("852.5", "KGM")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	return &event.ShipmentPlannedData{
		Customer:    &event.Party{Ref: "loadgen:cust-7", Name: "Acme Retail"},
		Origin:      &event.Location{Name: "WH Rotterdam", Country: "NL", UNLOCODE: "NLRTM"},
		Destination: &event.Location{Name: "Acme DC Duisburg", City: "Duisburg", Country: "DE"},
		Lines: []event.PlannedLine{
			{LineID: "1", SKU: "PAL-EUR-01", Quantity: pallets},
			{LineID: "2", SKU: "BOX-20KG", Quantity: boxes},
		},
		Weight: &weight,
	}, nil
}

// reservedData is the data of every inventory.reserved event of a run: all
// of the planned lines.
func reservedData(planned *event.ShipmentPlannedData) *event.InventoryReservedData {
	d := &event.InventoryReservedData{}
	for _, l := range planned.Lines {
		d.Lines = append(d.Lines, event.ReservedLine{LineID: l.LineID, Quantity: l.Quantity})
	}
	return d
}

// eventTemplate holds the constant JSON of one event type, so that rendering
// an event only appends it around the event and subject numbers.
type eventTemplate struct {
	head, mid, tail []byte
}

// Marks stand for the event and subject numbers in the event the template
// is cut from; they need no JSON escaping.
const (
	idMark      = "{{event-number}}"
	subjectMark = "{{subject-number}}"
)

// newEventTemplate builds the template for events of type typ at time at
// with data, through the CloudEvent builder: the event is encoded once with
// marks in place of the numbers, and cut at the marks.
func newEventTemplate(runID string, typ event.Type, at time.Time, data any) (*eventTemplate, error) {
	body, err := event.CloudEvent{
		ID: runID + "-" + idMark, Source: "loadgen/" + runID, Type: typ,
		Subject: "loadgen:" + runID + "-" + subjectMark, Time: at, Data: data,
	}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the %s template: %w", typ, err)
	}
	head, rest, ok1 := bytes.Cut(body, []byte(idMark))
	mid, tail, ok2 := bytes.Cut(rest, []byte(subjectMark))
	if !ok1 || !ok2 || bytes.Contains(tail, []byte(idMark)) || bytes.Contains(tail, []byte(subjectMark)) {
		return nil, fmt.Errorf("encoding the %s template: the event and subject numbers must each appear once, in that order", typ)
	}
	return &eventTemplate{head: head, mid: mid, tail: tail}, nil
}

// appendEvent appends the event with number id about subject number subject.
func (t *eventTemplate) appendEvent(b []byte, id, subject int64) []byte {
	b = append(b, t.head...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, t.mid...)
	b = strconv.AppendInt(b, subject, 10)
	return append(b, t.tail...)
}

// newPlan returns the plan of run runID with the parameters p, its events
// dated at.
func newPlan(runID string, p *Params, at time.Time) (*plan, error) {
	planned, err := plannedData()
	if err != nil {
		return nil, err
	}
	pt, err := newEventTemplate(runID, event.ShipmentPlanned, at, planned)
	if err != nil {
		return nil, err
	}
	rt, err := newEventTemplate(runID, event.InventoryReserved, at, reservedData(planned))
	if err != nil {
		return nil, err
	}
	return &plan{
		events:    int64(p.Events),
		batch:     int64(p.Batch),
		lifecycle: p.Mix == MixLifecycle,
		planned:   pt,
		reserved:  rt,
	}, nil
}

// span is the events of one request: n events of one type with consecutive
// event and subject numbers starting at id and subject.
type span struct {
	tmpl        *eventTemplate
	id, subject int64
	n           int64
}

// appendBody appends the request body for s: a JSON array when batch is set,
// otherwise the single event as an object.
func (s span) appendBody(b []byte, batch bool) []byte {
	if !batch {
		return s.tmpl.appendEvent(b, s.id, s.subject)
	}
	b = append(b, '[')
	for i := range s.n {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.tmpl.appendEvent(b, s.id+i, s.subject+i)
	}
	return append(b, ']')
}

// plan splits a run into units of work that clients claim in ascending order.
// A unit is one request, or with the lifecycle mix two: shipment.planned for
// up to batch new subjects, then inventory.reserved for the same subjects.
// Event and subject numbers start at 1.
type plan struct {
	events    int64
	batch     int64
	lifecycle bool
	planned   *eventTemplate
	reserved  *eventTemplate
}

// perUnit returns how many events a full unit holds.
func (p *plan) perUnit() int64 {
	if p.lifecycle {
		return 2 * p.batch
	}
	return p.batch
}

// units returns how many units the run has.
func (p *plan) units() int64 {
	return (p.events + p.perUnit() - 1) / p.perUnit()
}

// unit returns the requests of unit k in the order they must be sent; second
// has n == 0 when the unit is a single request.
func (p *plan) unit(k int64) (first, second span) {
	base := k * p.perUnit()
	n := min(p.perUnit(), p.events-base)
	if !p.lifecycle {
		return span{tmpl: p.planned, id: base + 1, subject: base + 1, n: n}, span{}
	}
	planned := (n + 1) / 2
	subject := k*p.batch + 1
	first = span{tmpl: p.planned, id: base + 1, subject: subject, n: planned}
	second = span{tmpl: p.reserved, id: base + 1 + planned, subject: subject, n: n - planned}
	return first, second
}
