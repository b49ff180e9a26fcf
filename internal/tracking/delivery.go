package tracking

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
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
	at := d.CompletedAt.Format(time.RFC3339)
	var out [][]byte
	for i, e := range d.Exceptions {
		desc := e.Note
		if e.Disposition != "" {
			desc = strings.TrimSpace(desc + " (" + strings.ReplaceAll(e.Disposition, "_", " ") + ")")
		}
		if len(e.Photos) > 0 {
			desc += "; photos: " + strings.Join(e.Photos, " ")
		}
		data := map[string]any{
			"category":     e.Type,
			"exception_id": capID(fmt.Sprintf("%s-%s-%s", d.SourceEventID, e.Type, e.SKU)),
			"lines":        []any{map[string]any{"sku": e.SKU, "quantity": map[string]string{"value": e.Quantity, "unit": e.Unit}}},
		}
		if desc != "" {
			data["description"] = capText(fmt.Sprintf("%s %s %s: %s", e.Quantity, e.SKU, e.Type, desc), 2000)
		}
		raw, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: fmt.Sprintf("%s:exception:%d", d.SourceEventID, i+1),
			Source: SourceURI(profile), Type: "shipment.exception", Subject: refs[0], Time: at,
			DataContentType: "application/json", CorrelationID: correlationID, Data: data})
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	lines := make([]any, 0, len(d.Lines))
	for _, l := range d.Lines {
		lines = append(lines, map[string]any{"sku": l.SKU, "quantity": map[string]string{"value": l.Delivered, "unit": l.Unit}})
	}
	pod := map[string]any{"signer": d.Signer, "signed_at": d.SignedAt.Format(time.RFC3339), "lines": lines}
	if d.SignatureSHA256 != "" {
		pod["signature_sha256"] = d.SignatureSHA256
	}
	if len(d.Photos) > 0 {
		photos := make([]any, 0, len(d.Photos))
		for _, p := range d.Photos {
			ph := map[string]string{"uri": p.URI}
			if p.SHA256 != "" {
				ph["sha256"] = p.SHA256
			}
			photos = append(photos, ph)
		}
		pod["photos"] = photos
	}
	if d.Position != nil {
		pos := map[string]any{"lat": d.Position.Lat, "lon": d.Position.Lon}
		if d.Position.AccuracyM != nil {
			pos["accuracy_m"] = *d.Position.AccuracyM
		}
		pod["position"] = pos
	}
	remarks := d.Remarks
	for _, f := range d.Flags {
		remarks = strings.TrimSpace(remarks + " [" + f + "]")
	}
	if remarks != "" {
		pod["remarks"] = capText(remarks, 2000)
	}
	data := map[string]any{"pod": pod}
	if s := d.Stop; s != nil && s.Lat != nil && s.Lon != nil {
		data["location"] = map[string]any{"lat": *s.Lat, "lon": *s.Lon}
	}
	raw, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: d.SourceEventID, Source: SourceURI(profile),
		Type: "shipment.delivered", Subject: refs[0], Time: at, DataContentType: "application/json",
		CorrelationID: correlationID, Data: data})
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
