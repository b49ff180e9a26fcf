package shipment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/waybill/waybill/internal/event"
)

// ErrBadRef is returned for a reference that is neither a canonical id nor
// system:external-id.
var ErrBadRef = errors.New("reference must be a canonical id or system:external-id")

// Ref is a parsed reference: a canonical id, or an external id in a system.
type Ref struct {
	Canonical  string
	System     string
	ExternalID string
}

// ParseRef parses "0192…" (a canonical UUID) or "system:external-id".
func ParseRef(s string) (Ref, error) {
	if len(s) == 36 {
		if id, err := uuid.Parse(s); err == nil {
			return Ref{Canonical: id.String()}, nil
		}
	}
	sys, ext, ok := strings.Cut(s, ":")
	if !ok || sys == "" || ext == "" || strings.ContainsAny(s, " \t\r\n") {
		return Ref{}, fmt.Errorf("%q: %w", s, ErrBadRef)
	}
	return Ref{System: sys, ExternalID: ext}, nil
}

func (r Ref) String() string {
	if r.Canonical != "" {
		return r.Canonical
	}
	return r.System + ":" + r.ExternalID
}

// Xref is one cross-reference of a canonical id.
type Xref struct {
	System     string `json:"system"`
	Kind       string `json:"kind"`
	ExternalID string `json:"external_id"`
}

// Object kinds in the cross-reference table.
const (
	KindShipment = "shipment"
	KindOrder    = "order"
)

// KeyRefs are the references partners name the shipment by: its BOL, the
// carrier's tracking number and PRO.
func (s *Shipment) KeyRefs() []Ref {
	var out []Ref
	add := func(sys, ext string) {
		if ext != "" && !strings.ContainsAny(ext, " \t\r\n") {
			out = append(out, Ref{System: sys, ExternalID: ext})
		}
	}
	add("bol", s.References["bol"])
	add("tracking", s.TrackingRef)
	if s.Carrier != nil && s.Carrier.SCAC != "" {
		if pro := s.References["pro"]; pro != "" {
			add("pro", s.Carrier.SCAC+"/"+pro)
		}
		if s.TrackingRef != "" {
			add("pro", s.Carrier.SCAC+"/"+s.TrackingRef)
		}
	}
	return out
}

// TrackedRefs are the shipment references the keys of a shipment.tracked
// event's data give, or none when the data does not decode.
func TrackedRefs(data []byte) []Ref {
	var d struct {
		Keys event.ShipmentKeys `json:"shipment_keys"`
	}
	if json.Unmarshal(data, &d) != nil {
		return nil
	}
	var out []Ref
	for _, s := range d.Keys.Refs() {
		if r, err := ParseRef(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// ReviewItem is a review with the shipment it belongs to, as the review
// queue lists it.
type ReviewItem struct {
	Review
	ShipmentID string `json:"shipment_id"`
}

// ReviewAge is how long r has been waiting, or took, at now. It is a
// function rather than a method so that API types can embed Review (huma
// builds response schemas with reflect.StructOf, which refuses embedded
// types with methods).
func ReviewAge(r Review, now time.Time) time.Duration {
	if r.DecidedAt != nil {
		return r.DecidedAt.Sub(r.OpenedAt)
	}
	return now.Sub(r.OpenedAt)
}
