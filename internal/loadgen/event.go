package loadgen

import "strconv"

const (
	typePlanned  = "shipment.planned"
	typeReserved = "inventory.reserved"

	plannedData = `{"customer":{"ref":"loadgen:cust-7","name":"Acme Retail"},` +
		`"origin":{"name":"WH Rotterdam","country":"NL","unlocode":"NLRTM"},` +
		`"destination":{"name":"Acme DC Duisburg","city":"Duisburg","country":"DE"},` +
		`"lines":[{"line_id":"1","sku":"PAL-EUR-01","quantity":{"value":"12","unit":"C62"}},` +
		`{"line_id":"2","sku":"BOX-20KG","quantity":{"value":"40","unit":"KGM"}}],` +
		`"weight":{"value":"852.5","unit":"KGM"}}`
	reservedData = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},` +
		`{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
)

// eventTemplate holds the constant JSON of one event type, so that rendering
// an event only appends it around the event and subject numbers.
type eventTemplate struct {
	head, mid, tail []byte
}

// newEventTemplate builds the template for events of one type. runID and
// eventTime must need no JSON escaping (a UUID and an RFC 3339 time do not).
func newEventTemplate(runID, eventType, eventTime, data string) *eventTemplate {
	return &eventTemplate{
		head: []byte(`{"specversion":"1.0","id":"` + runID + `-`),
		mid: []byte(`","source":"loadgen/` + runID + `","type":"` + eventType +
			`","subject":"loadgen:` + runID + `-`),
		tail: []byte(`","time":"` + eventTime + `","datacontenttype":"application/json","data":` + data + `}`),
	}
}

// appendEvent appends the event with number id about subject number subject.
func (t *eventTemplate) appendEvent(b []byte, id, subject int64) []byte {
	b = append(b, t.head...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, t.mid...)
	b = strconv.AppendInt(b, subject, 10)
	return append(b, t.tail...)
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
