package tracking

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
)

// ErrNoShipmentKey is returned for a message that names no shipment.
var ErrNoShipmentKey = errors.New("no shipment key")

// SourceURI is the CloudEvents source of the events made from a source
// profile's payloads.
func SourceURI(profile string) string { return "/sources/" + profile }

// CloudEvent returns the shipment.tracked CloudEvent of e, from the source
// profile named profile. Its id is e's SourceEventID, so the same event
// mapped again (a webhook retried, a file dropped twice, a full-history
// push) is a repeat to intake; its time is the instant in the zone the
// partner's reading was taken in.
func (e *Event) CloudEvent(profile, correlationID string) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	refs := e.Keys.Refs()
	return event.CloudEvent{
		ID: e.SourceEventID, Source: SourceURI(profile), Type: event.ShipmentTracked, Subject: refs[0],
		Time: inZone(e.OccurredAt, e.TZ), CorrelationID: correlationID, Data: e.Data(),
	}.MarshalJSON()
}

// Data returns e as the data of a shipment.tracked event.
func (e *Event) Data() *event.ShipmentTrackedData {
	return &event.ShipmentTrackedData{
		SourceEventID: e.SourceEventID, Format: e.Format, Keys: e.Keys,
		Kind: string(e.Kind), Status: string(e.Status), Substatus: e.Substatus,
		RawCode: e.RawCode, RawReason: e.RawReason, Reason: e.Reason, Exception: e.Exception,
		OccurredAt: e.OccurredAt, Local: e.Local, TZ: e.TZ, TZSource: e.TZSource,
		ETA: e.ETA, Appointment: e.Appointment, Location: e.Location, Position: e.Position,
		Weights: e.Weights, Pieces: e.Pieces, HandlingUnits: e.HandlingUnits,
		Equipment: e.Equipment, POD: e.POD, Lading: e.Lading, Remarks: e.Remarks,
	}
}

// inZone returns t in the zone named tz when it loads, to the second: the
// time of an event is written as the partner's reading, without fractions.
func inZone(t time.Time, tz string) time.Time {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			t = t.In(loc)
		}
	}
	return t.Truncate(time.Second)
}

// CloudEvent returns the charges.reported CloudEvent of the invoice. Its
// time is the delivery the invoice claims when it names one, otherwise the
// start of the invoice date in UTC.
func (inv *Invoice) CloudEvent(profile, correlationID string) ([]byte, error) {
	refs := inv.Keys.Refs()
	switch {
	case inv.SourceEventID == "":
		return nil, fmt.Errorf("invoice %s has no id", inv.InvoiceNumber)
	case len(refs) == 0:
		return nil, fmt.Errorf("invoice %s: %w", inv.InvoiceNumber, ErrNoShipmentKey)
	case len(inv.Lines) == 0:
		return nil, fmt.Errorf("invoice %s has no charges", inv.InvoiceNumber)
	}
	total := inv.Total
	d := &event.ChargesReportedData{InvoiceNumber: inv.InvoiceNumber, InvoiceDate: inv.InvoiceDate, Total: &total, Weights: inv.Weights}
	for _, l := range inv.Lines {
		c := event.Charge{Code: l.RawCode, Type: l.Type, Description: l.Description, Amount: l.Amount}
		if l.Quantity != "" && l.Unit != "" {
			q, err := quantity.Parse(l.Quantity, l.Unit)
			if err != nil {
				return nil, fmt.Errorf("invoice %s: charge %s: %w", inv.InvoiceNumber, l.RawCode, err)
			}
			c.Quantity = &q
		}
		d.Charges = append(d.Charges, c)
	}
	if inv.Keys.SCAC != "" {
		d.Carrier = &event.Carrier{SCAC: inv.Keys.SCAC}
	}
	var at time.Time
	if inv.POD != nil && inv.POD.At != "" {
		signed, err := time.Parse(time.RFC3339, inv.POD.At)
		if err != nil {
			return nil, fmt.Errorf("invoice %s: delivery time: %w", inv.InvoiceNumber, err)
		}
		at = signed
		d.POD = &event.ChargesPOD{Signer: inv.POD.Signer, SignedAt: &signed}
	}
	if at.IsZero() {
		day, err := time.Parse(time.DateOnly, inv.InvoiceDate)
		if err != nil {
			return nil, fmt.Errorf("invoice %s: no delivery time and no invoice date", inv.InvoiceNumber)
		}
		at = day
	}
	return event.CloudEvent{
		ID: inv.SourceEventID, Source: SourceURI(profile), Type: event.ChargesReported,
		Subject: refs[0], Time: at, CorrelationID: correlationID, Data: d,
	}.MarshalJSON()
}

// CloudEvent returns the event a tender response becomes, at the
// response's date or, without one, when it was received: an accepted
// tender assigns the carrier (dispatch.assigned); a declined one opens an
// exception for the dispatcher (shipment.exception), since the load has
// no carrier any more.
func (r *TenderResponse) CloudEvent(profile, correlationID string, received time.Time) ([]byte, error) {
	refs := r.Keys.Refs()
	if len(refs) == 0 {
		return nil, fmt.Errorf("tender response %s: %w", r.SourceEventID, ErrNoShipmentKey)
	}
	// The response's own date when it has one, so that the same response
	// received again is the same event.
	at := received.UTC()
	if d, err := time.Parse(time.DateOnly, r.Date); err == nil {
		at = d
	}
	// B1-02 quotes the shipment id of the tender: Waybill's own id when
	// the shipment had no BOL, else the BOL.
	subject := refs[0]
	if b := r.Keys.BOL; b != "" {
		subject = "bol:" + b
		if _, err := uuid.Parse(b); err == nil && len(b) == 36 {
			subject = b
		}
	}
	ce := event.CloudEvent{ID: r.SourceEventID, Source: SourceURI(profile), Subject: subject,
		Time: at.Truncate(time.Second), CorrelationID: correlationID}
	if r.Accepted {
		if r.Keys.SCAC == "" {
			return nil, fmt.Errorf("tender response %s accepts but names no carrier", r.SourceEventID)
		}
		// The carrier's PRO, when it sends one: its 214s and 210s will
		// quote it.
		ce.Type = event.DispatchAssigned
		ce.Data = &event.DispatchAssignedData{Carrier: &event.Carrier{SCAC: r.Keys.SCAC}, TrackingRef: r.Keys.PRO}
		return ce.MarshalJSON()
	}
	desc := "the carrier declined the load tender"
	if r.Keys.SCAC != "" {
		desc = "carrier " + r.Keys.SCAC + " declined the load tender"
	}
	if r.Reason != "" {
		desc += ": " + r.Reason
	}
	ce.Type = event.ShipmentException
	ce.Data = &event.ShipmentExceptionData{Category: "other", ExceptionID: "tender-" + r.SourceEventID,
		Description: desc, OwnerRole: "dispatcher"}
	return ce.MarshalJSON()
}
