package tracking

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
)

// Delivery is a proof of delivery from a driver app: the stop is done,
// what was handed over line by line, and what was not (damaged, short).
type Delivery struct {
	SourceEventID string `json:"source_event_id"`
	Format        string `json:"format"`
	Keys          Keys   `json:"shipment_keys"`
	// Outcome is the app's word: delivered, delivered_with_exceptions.
	Outcome string `json:"outcome"`
	// CompletedAt is when the stop was completed, with the app's offset.
	CompletedAt time.Time `json:"completed_at"`
	Signer      string    `json:"signer"`
	SignedAt    time.Time `json:"signed_at"`
	// Remarks are the signer's remark (a qualified receipt, "received
	// subject to inspection") and the driver's notes.
	Remarks         string          `json:"remarks,omitempty"`
	SignatureSHA256 string          `json:"signature_sha256,omitempty"`
	SignatureURI    string          `json:"signature_uri,omitempty"`
	Photos          []Photo         `json:"photos,omitempty"`
	Position        *Position       `json:"position,omitempty"`
	Stop            *Location       `json:"stop,omitempty"`
	Lines           []DeliveryLine  `json:"lines"`
	Exceptions      []LineException `json:"exceptions,omitempty"`
	// Flags are what the mapper noticed without refusing the proof: lines
	// whose quantities do not add up.
	Flags []string `json:"flags,omitempty"`
}

// Photo is a photo taken at the stop.
type Photo struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256,omitempty"`
	Tag    string `json:"tag,omitempty"`
	SKU    string `json:"sku,omitempty"`
}

// DeliveryLine is one line of a proof of delivery, by SKU. Quantities are
// decimals in Unit (UN/ECE Rec 20).
type DeliveryLine struct {
	SKU       string `json:"sku"`
	Unit      string `json:"unit"`
	Expected  string `json:"expected,omitempty"`
	Delivered string `json:"delivered"`
	Damaged   string `json:"damaged,omitempty"`
	Short     string `json:"short,omitempty"`
}

// LineException is goods of one line that were not delivered as planned.
type LineException struct {
	// Type is damaged, short or refused.
	Type        string   `json:"type"`
	SKU         string   `json:"sku"`
	Quantity    string   `json:"quantity"`
	Unit        string   `json:"unit"`
	Disposition string   `json:"disposition,omitempty"`
	Note        string   `json:"note,omitempty"`
	Photos      []string `json:"photos,omitempty"`
}

// CloudEvents returns the events of a delivery: first one
// shipment.exception per line exception, then the shipment.delivered with
// the proof. The exceptions come first so that the delivery finds them
// open and does not bill goods that were refused or missing.
func (d *Delivery) CloudEvents(profile, correlationID string) ([][]byte, error) {
	refs := d.Keys.Refs()
	switch {
	case d.SourceEventID == "":
		return nil, errors.New("proof of delivery has no id")
	case len(refs) == 0:
		return nil, fmt.Errorf("proof of delivery %s: %w", d.SourceEventID, ErrNoShipmentKey)
	case len(d.Lines) == 0:
		return nil, fmt.Errorf("proof of delivery %s has no lines", d.SourceEventID)
	}
	base := event.CloudEvent{Source: SourceURI(profile), Subject: refs[0], Time: d.CompletedAt.Truncate(time.Second),
		CorrelationID: correlationID}
	var out [][]byte
	for i, e := range d.Exceptions {
		desc := e.Note
		if e.Disposition != "" {
			desc = strings.TrimSpace(desc + " (" + strings.ReplaceAll(e.Disposition, "_", " ") + ")")
		}
		if len(e.Photos) > 0 {
			desc += "; photos: " + strings.Join(e.Photos, " ")
		}
		q, err := quantity.Parse(e.Quantity, e.Unit)
		if err != nil {
			return nil, fmt.Errorf("proof of delivery %s: %s %s: %w", d.SourceEventID, e.Type, e.SKU, err)
		}
		data := &event.ShipmentExceptionData{
			Category:    e.Type,
			ExceptionID: capID(fmt.Sprintf("%s-%s-%s", d.SourceEventID, e.Type, e.SKU)),
			Lines:       []event.SKULineQuantity{{SKU: e.SKU, Quantity: q}},
		}
		if desc != "" {
			data.Description = capText(fmt.Sprintf("%s %s %s: %s", e.Quantity, e.SKU, e.Type, desc), 2000)
		}
		ce := base
		ce.ID, ce.Type, ce.Data = fmt.Sprintf("%s:exception:%d", d.SourceEventID, i+1), event.ShipmentException, data
		raw, err := ce.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	pod := &event.ProofOfDelivery{Signer: d.Signer, SignedAt: d.SignedAt.Truncate(time.Second), SignatureSHA256: d.SignatureSHA256}
	for _, l := range d.Lines {
		q, err := quantity.Parse(l.Delivered, l.Unit)
		if err != nil {
			return nil, fmt.Errorf("proof of delivery %s: line %s: %w", d.SourceEventID, l.SKU, err)
		}
		pod.Lines = append(pod.Lines, event.SKULineQuantity{SKU: l.SKU, Quantity: q})
	}
	for _, p := range d.Photos {
		pod.Photos = append(pod.Photos, event.Photo{URI: p.URI, SHA256: p.SHA256})
	}
	if d.Position != nil {
		pod.Position = &event.Position{Lat: d.Position.Lat, Lon: d.Position.Lon, AccuracyM: d.Position.AccuracyM}
	}
	remarks := d.Remarks
	for _, f := range d.Flags {
		remarks = strings.TrimSpace(remarks + " [" + f + "]")
	}
	pod.Remarks = capText(remarks, 2000)
	data := &event.ShipmentDeliveredData{POD: pod}
	if s := d.Stop; s != nil && s.Lat != nil && s.Lon != nil {
		data.Location = &event.Location{Lat: s.Lat, Lon: s.Lon}
	}
	ce := base
	ce.ID, ce.Type, ce.Data = d.SourceEventID, event.ShipmentDelivered, data
	raw, err := ce.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(out, raw), nil
}

func capID(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

func capText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
