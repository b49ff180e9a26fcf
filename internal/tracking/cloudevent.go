package tracking

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ErrNoShipmentKey is returned for a message that names no shipment.
var ErrNoShipmentKey = errors.New("no shipment key")

// cloudEvent is the structured-mode CloudEvent that enters intake.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	CorrelationID   string `json:"correlationid,omitempty"`
	Data            any    `json:"data"`
}

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
	return json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: e.SourceEventID, Source: SourceURI(profile), Type: "shipment.tracked",
		Subject: refs[0], Time: inZone(e.OccurredAt, e.TZ), DataContentType: "application/json",
		CorrelationID: correlationID, Data: e,
	})
}

func inZone(t time.Time, tz string) string {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			t = t.In(loc)
		}
	}
	return t.Format(time.RFC3339)
}

type charge struct {
	Code        string `json:"code"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
	Amount      any    `json:"amount"`
	Quantity    any    `json:"quantity,omitempty"`
}

type chargesData struct {
	Charges       []charge `json:"charges"`
	InvoiceNumber string   `json:"invoice_number,omitempty"`
	InvoiceDate   string   `json:"invoice_date,omitempty"`
	Total         any      `json:"total"`
	Carrier       any      `json:"carrier,omitempty"`
	Weights       []Weight `json:"weights,omitempty"`
	POD           any      `json:"pod,omitempty"`
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
	d := chargesData{InvoiceNumber: inv.InvoiceNumber, InvoiceDate: inv.InvoiceDate, Total: inv.Total, Weights: inv.Weights}
	for _, l := range inv.Lines {
		c := charge{Code: l.RawCode, Type: l.Type, Description: l.Description, Amount: l.Amount}
		if l.Quantity != "" && l.Unit != "" {
			c.Quantity = map[string]string{"value": l.Quantity, "unit": l.Unit}
		}
		d.Charges = append(d.Charges, c)
	}
	if inv.Keys.SCAC != "" {
		d.Carrier = map[string]string{"scac": inv.Keys.SCAC}
	}
	at := ""
	if inv.POD != nil && inv.POD.At != "" {
		at = inv.POD.At
		d.POD = map[string]string{"signer": inv.POD.Signer, "signed_at": inv.POD.At}
		if inv.POD.Signer == "" {
			d.POD = map[string]string{"signed_at": inv.POD.At}
		}
	}
	if at == "" {
		day, err := time.Parse(time.DateOnly, inv.InvoiceDate)
		if err != nil {
			return nil, fmt.Errorf("invoice %s: no delivery time and no invoice date", inv.InvoiceNumber)
		}
		at = day.Format(time.RFC3339)
	}
	return json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: inv.SourceEventID, Source: SourceURI(profile), Type: "charges.reported",
		Subject: refs[0], Time: at, DataContentType: "application/json", CorrelationID: correlationID, Data: d,
	})
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
	ce := cloudEvent{SpecVersion: "1.0", ID: r.SourceEventID, Source: SourceURI(profile), Subject: subject,
		Time: at.Format(time.RFC3339), DataContentType: "application/json", CorrelationID: correlationID}
	carrier := map[string]string{}
	if r.Keys.SCAC != "" {
		carrier["scac"] = r.Keys.SCAC
	}
	if r.Accepted {
		if len(carrier) == 0 {
			return nil, fmt.Errorf("tender response %s accepts but names no carrier", r.SourceEventID)
		}
		data := map[string]any{"carrier": carrier}
		if r.Keys.PRO != "" {
			// The carrier's PRO: its 214s and 210s will quote it.
			data["tracking_ref"] = r.Keys.PRO
		}
		ce.Type, ce.Data = "dispatch.assigned", data
		return json.Marshal(ce)
	}
	desc := "the carrier declined the load tender"
	if r.Keys.SCAC != "" {
		desc = "carrier " + r.Keys.SCAC + " declined the load tender"
	}
	if r.Reason != "" {
		desc += ": " + r.Reason
	}
	ce.Type = "shipment.exception"
	ce.Data = map[string]any{"category": "other", "exception_id": "tender-" + r.SourceEventID,
		"description": desc, "owner_role": "dispatcher"}
	return json.Marshal(ce)
}
