package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SpecVersion is the CloudEvents version of every event Waybill takes and
// makes.
const SpecVersion = "1.0"

// ContentType is the datacontenttype of every event Waybill makes.
const ContentType = "application/json"

// ErrIncomplete is returned, wrapped, by [CloudEvent.MarshalJSON] for an
// event without an id, source, type or time.
var ErrIncomplete = errors.New("incomplete cloudevent")

// CloudEvent is an event as Waybill's own producers make it: connectors,
// pollers, source profiles, simulators and the load generator. Fill it in
// and marshal it (with [encoding/json] or [CloudEvent.MarshalJSON]) to get
// the structured-mode JSON that intake takes: specversion "1.0",
// datacontenttype "application/json" and the data member as JSON.
//
// A CloudEvent is a plain value; it checks only that the attributes every
// event needs are there. Intake validates the rest, including Data against
// its type's schema.
type CloudEvent struct {
	// ID identifies the event within Source: the same ID again is a repeat
	// to intake. Required.
	ID string
	// Source is the CloudEvents source, such as "/sources/dhl". Required.
	Source string
	// Type is the event type. Required.
	Type Type
	// Subject is the shipment or order the event is about: a UUID or a
	// system-qualified ref such as odoo:WH/OUT/00012.
	Subject string
	// Time is when it happened. It is written as RFC 3339 with as many
	// fractional digits as it has, in its own zone: pass t.UTC() for UTC,
	// or t.In(loc) to keep the offset the producer saw. Required.
	Time time.Time
	// CorrelationID and TraceParent are written only when set.
	CorrelationID string
	TraceParent   string
	// Data is the event's data, normally a pointer to or value of the
	// type's data struct (see [NewData]), or encoded JSON as a
	// json.RawMessage or a []byte (never base64: event data is an object).
	// It is written with [json.Marshal].
	Data any
}

// envelope is the JSON form of a CloudEvent, in the member order intake's
// documentation shows.
type envelope struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            Type   `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	CorrelationID   string `json:"correlationid,omitempty"`
	TraceParent     string `json:"traceparent,omitempty"`
	Data            any    `json:"data"`
}

// MarshalJSON writes e in the CloudEvents structured JSON mode. It returns
// an error wrapping [ErrIncomplete] if ID, Source or Type is empty or Time is
// zero, and the error of encoding Data if that fails.
func (e CloudEvent) MarshalJSON() ([]byte, error) {
	switch {
	case e.ID == "", e.Source == "", e.Type == "", e.Time.IsZero():
		return nil, fmt.Errorf("%w: id %q, source %q, type %q, time %s", ErrIncomplete, e.ID, e.Source, e.Type, e.Time)
	}
	data := e.Data
	if b, ok := data.([]byte); ok {
		data = json.RawMessage(b)
	}
	return json.Marshal(envelope{
		SpecVersion:     SpecVersion,
		ID:              e.ID,
		Source:          e.Source,
		Type:            e.Type,
		Subject:         e.Subject,
		Time:            e.Time.Format(time.RFC3339Nano),
		DataContentType: ContentType,
		CorrelationID:   e.CorrelationID,
		TraceParent:     e.TraceParent,
		Data:            data,
	})
}
