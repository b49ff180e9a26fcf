package tracking

import (
	"fmt"
	"slices"
	"time"

	"github.com/waybill/waybill/internal/event"
)

// Weight is a weight a partner stated, as the events carry it.
type Weight = event.Weight

// Status is a canonical shipment status. Only milestones carry one that
// moves the shipment; see [Rank].
type Status string

// The canonical status vocabulary.
const (
	InfoReceived       Status = "info_received"
	ArrivedAtPickup    Status = "arrived_at_pickup"
	PickedUp           Status = "picked_up"
	InTransit          Status = "in_transit"
	OutForDelivery     Status = "out_for_delivery"
	AvailableForPickup Status = "available_for_pickup"
	ArrivedAtDelivery  Status = "arrived_at_delivery"
	DeliveryAttempted  Status = "delivery_attempted"
	Delivered          Status = "delivered"
	StatusException    Status = "exception"
	ReturnedToSender   Status = "returned_to_sender"
	Cancelled          Status = "cancelled"
	Unknown            Status = "unknown"
)

// Statuses lists the vocabulary in rank order. The caller owns the slice.
func Statuses() []Status {
	return []Status{InfoReceived, ArrivedAtPickup, PickedUp, InTransit, OutForDelivery,
		AvailableForPickup, ArrivedAtDelivery, DeliveryAttempted, Delivered, StatusException,
		ReturnedToSender, Cancelled, Unknown}
}

// Valid reports whether s is in the vocabulary.
func (s Status) Valid() bool { _, ok := ranks[s]; return ok }

var ranks = map[Status]int{
	Unknown: 0, StatusException: 0,
	InfoReceived: 10, ArrivedAtPickup: 20, PickedUp: 30, InTransit: 40,
	OutForDelivery: 50, AvailableForPickup: 50, ArrivedAtDelivery: 55, DeliveryAttempted: 55,
	Delivered: 90, ReturnedToSender: 90, Cancelled: 90,
}

// Rank orders statuses by progress: a later event with a lower rank never
// moves a shipment back. The exception overlay and unknown rank 0.
func Rank(s Status) int { return ranks[s] }

// Terminal reports whether s ends the shipment's journey.
func Terminal(s Status) bool { return ranks[s] == 90 }

// Kind says what an event is. Only a milestone changes the status.
type Kind string

// Event kinds.
const (
	KindMilestone   Kind = "milestone"
	KindETA         Kind = "eta_update"
	KindAppointment Kind = "appointment"
	KindPosition    Kind = "position"
	KindNote        Kind = "note"
)

// Where a time's zone came from.
const (
	TZOffset         = "explicit_offset" // the value carried its own offset
	TZX12Code        = "x12_time_code"   // an X12 time code (element 623)
	TZLocation       = "location"        // the event's location
	TZPartnerDefault = "partner_default" // the source profile's default zone
	TZUTC            = "utc"             // the value was UTC by definition (epoch, UT)
)

// Event is one canonical tracking event.
type Event struct {
	// SourceEventID identifies the event within its source: the provider's
	// id, or a hash of what identifies it when the provider has none. It
	// becomes the CloudEvent id, so it must be stable across repeats.
	SourceEventID string `json:"source_event_id"`
	// Format is the mapper that made the event: x12_214, edifact_iftsta,
	// easypost, aftership, project44 or json.
	Format string `json:"format"`
	Keys   Keys   `json:"shipment_keys"`
	Kind   Kind   `json:"kind"`
	// Status is set for milestones; exception overlays without progress
	// carry StatusException.
	Status    Status `json:"status,omitempty"`
	Substatus string `json:"substatus,omitempty"`
	// RawCode and RawReason are the partner's own codes (AT7-01/AT7-02,
	// STS, tag/subtag), kept for audit.
	RawCode   string     `json:"raw_code,omitempty"`
	RawReason string     `json:"raw_reason,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Exception *Exception `json:"exception,omitempty"`
	// OccurredAt is the UTC instant. Local and TZ are the reading the
	// partner sent and the zone it was resolved in; TZSource says where the
	// zone came from.
	OccurredAt  time.Time `json:"occurred_at"`
	Local       string    `json:"occurred_at_local,omitempty"`
	TZ          string    `json:"tz,omitempty"`
	TZSource    string    `json:"tz_source,omitempty"`
	ETA         *Window   `json:"eta,omitempty"`
	Appointment *Window   `json:"appointment,omitempty"`
	Location    *Location `json:"location,omitempty"`
	Position    *Position `json:"position,omitempty"`
	// Weights are what the event states, each with its kind.
	Weights       []Weight `json:"weights,omitempty"`
	Pieces        int      `json:"pieces,omitempty"`
	HandlingUnits *Count   `json:"handling_units,omitempty"`
	Equipment     string   `json:"equipment,omitempty"`
	POD           *POD     `json:"pod,omitempty"`
	// Lading lists goods reported damaged, short or refused (X12 Q7).
	Lading  []Lading `json:"lading,omitempty"`
	Remarks []string `json:"remarks,omitempty"`
}

// Keys are the shipment's identifiers as the partner knows them, as the
// shipment.tracked event carries them. PRO numbers are scoped by SCAC,
// BOLs by shipper.
type Keys = event.ShipmentKeys

// Exception is the overlay an event opens: something went wrong that
// someone must look at.
type Exception = event.TrackedException

// ExceptionTypes lists the exception categories, as in the
// shipment.exception event. The caller owns the slice.
func ExceptionTypes() []string {
	return []string{"damaged", "refused", "returned", "short", "lost", "delay", "route_changed",
		"address", "customs", "weather", "hold", "other"}
}

// Window is an instant (Start == End) or an interval.
type Window = event.TrackedWindow

// Location is where an event happened.
type Location = event.TrackedLocation

// Position is a vehicle position.
type Position = event.VehiclePosition

// Weight kinds.
const (
	WeightActual   = "actual"
	WeightDeclared = "declared"
	WeightBilled   = "billed"
)

// Count is a number of handling units with their packaging code (PLT, CTN).
type Count = event.HandlingUnitCount

// POD is the proof of delivery a carrier reports with a delivery.
type POD = event.TrackedPOD

// Lading is goods a status concerns: damaged, short or refused.
type Lading = event.Lading

// Validate checks what every mapper must guarantee.
func (e *Event) Validate() error {
	switch {
	case e.SourceEventID == "":
		return fmt.Errorf("event has no id")
	case len(e.Keys.Refs()) == 0:
		return fmt.Errorf("event %s names no shipment (no picking, PRO with SCAC, BOL, tracking number or consignment)", e.SourceEventID)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("event %s has no time", e.SourceEventID)
	}
	switch e.Kind {
	case KindMilestone:
		if !e.Status.Valid() {
			return fmt.Errorf("event %s: status %q is not canonical", e.SourceEventID, e.Status)
		}
	case KindETA, KindAppointment, KindPosition, KindNote:
	default:
		return fmt.Errorf("event %s: kind %q is not canonical", e.SourceEventID, e.Kind)
	}
	if e.Exception != nil && !slices.Contains(ExceptionTypes(), e.Exception.Type) {
		return fmt.Errorf("event %s: exception type %q is not canonical", e.SourceEventID, e.Exception.Type)
	}
	return nil
}
