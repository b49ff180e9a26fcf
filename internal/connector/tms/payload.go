package tms

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
)

// The shapes a dispatch shares with the events: one definition each, in
// package event.
type (
	Lot      = event.Lot
	Party    = event.Party
	Location = event.Location
	Window   = event.Window
	Vehicle  = event.Vehicle
	Carrier  = event.Carrier
	Driver   = event.Driver
)

// Dispatch is the canonical dispatch payload: the body of every request the
// connector sends. The package doc describes each field. Its JSON form is
// the wire format; it is decoupled from shipment.Shipment so that changes to
// the stored shipment do not change what a TMS receives.
type Dispatch struct {
	DispatchID    string             `json:"dispatch_id"`
	ShipmentID    string             `json:"shipment_id"`
	CorrelationID string             `json:"correlation_id,omitempty"`
	Order         string             `json:"order,omitempty"`
	Customer      *Party             `json:"customer,omitempty"`
	Pickup        Stop               `json:"pickup"`
	Delivery      Stop               `json:"delivery"`
	Lines         []Line             `json:"lines"`
	Weight        *quantity.Quantity `json:"weight,omitempty"`
	HandlingUnits *quantity.Quantity `json:"handling_units,omitempty"`
	References    map[string]string  `json:"references,omitempty"`
	Carrier       *Carrier           `json:"carrier,omitempty"`
	Vehicle       *Vehicle           `json:"vehicle,omitempty"`
	// Update marks a dispatch.update: the shipment was released before
	// and its route changed; UpdateReason says how.
	Update       bool   `json:"update,omitempty"`
	UpdateReason string `json:"update_reason,omitempty"`
}

// Stop is one end of the trip: where, and within which time window.
type Stop struct {
	Location *Location `json:"location,omitempty"`
	Window   *Window   `json:"window,omitempty"`
}

// Line is one line of the dispatch.
type Line struct {
	LineID      string             `json:"line_id"`
	SKU         string             `json:"sku"`
	Description string             `json:"description,omitempty"`
	Quantity    quantity.Quantity  `json:"quantity"`
	Reserved    *quantity.Quantity `json:"reserved,omitempty"`
	Lots        []Lot              `json:"lots,omitempty"`
	Weight      *quantity.Quantity `json:"weight,omitempty"`
}

// Assignment is the transport a TMS assigned to a dispatch, as its reply may
// carry it. Its JSON form is exactly the data of a dispatch.assigned event
// (see docs/events.md), so it can be sent to intake unchanged.
type Assignment struct {
	Vehicle         *Vehicle   `json:"vehicle,omitempty"`
	Driver          *Driver    `json:"driver,omitempty"`
	Carrier         *Carrier   `json:"carrier,omitempty"`
	RouteID         string     `json:"route_id,omitempty"`
	PlannedPickup   *time.Time `json:"planned_pickup,omitempty"`
	PlannedDelivery *time.Time `json:"planned_delivery,omitempty"`
	TrackingRef     string     `json:"tracking_ref,omitempty"`
}

// EventData is the assignment as the data of the dispatch.assigned event
// that records it.
func (a *Assignment) EventData() event.DispatchAssignedData {
	return event.DispatchAssignedData{
		Vehicle: a.Vehicle, Driver: a.Driver, Carrier: a.Carrier,
		RouteID: a.RouteID, PlannedPickup: a.PlannedPickup, PlannedDelivery: a.PlannedDelivery, TrackingRef: a.TrackingRef,
	}
}

// assignmentKeys are the reply members that make a reply carry an
// assignment.
var assignmentKeys = []string{"vehicle", "driver", "carrier", "route_id", "planned_pickup", "planned_delivery", "tracking_ref"}

// ErrInvalidShipment reports an action payload that cannot become a
// dispatch: not a shipment, no lines, or a shipment id that contradicts the
// action's.
var ErrInvalidShipment = errors.New("invalid shipment payload")

// buildDispatch returns the dispatch payload for a release of s: dispatchID
// is the action's idempotency key, shipmentID the action's shipment id and
// correlationID its correlation id. The shipment's own id wins over
// shipmentID when set; the two must agree when both are. It fails with an
// error wrapping ErrInvalidShipment when s has no id or no lines.
func buildDispatch(s *shipment.Shipment, dispatchID, shipmentID, correlationID string) (*Dispatch, error) {
	id := s.ID
	switch {
	case id == "":
		id = shipmentID
	case shipmentID != "" && shipmentID != id:
		return nil, fmt.Errorf("%w: payload is shipment %q, action is about %q", ErrInvalidShipment, id, shipmentID)
	}
	if id == "" {
		return nil, fmt.Errorf("%w: no shipment id", ErrInvalidShipment)
	}
	if len(s.Lines) == 0 {
		return nil, fmt.Errorf("%w: shipment %s has no lines", ErrInvalidShipment, id)
	}
	d := &Dispatch{
		DispatchID:    dispatchID,
		ShipmentID:    id,
		CorrelationID: correlationID,
		Order:         s.Order,
		Pickup:        Stop{Location: location(s.Origin), Window: window(s.PickupWindow)},
		Delivery:      Stop{Location: location(s.Destination), Window: window(s.DeliveryWindow)},
		Lines:         make([]Line, 0, len(s.Lines)),
		Weight:        s.Weight,
		HandlingUnits: s.HandlingUnits,
		References:    s.References,
	}
	if p := s.Customer; p != nil {
		d.Customer = &Party{Ref: p.Ref, Name: p.Name, Email: p.Email, Phone: p.Phone, VAT: p.VAT}
	}
	if c := s.Carrier; c != nil {
		d.Carrier = &Carrier{Ref: c.Ref, SCAC: c.SCAC, Name: c.Name}
	}
	if v := s.Vehicle; v != nil {
		d.Vehicle = &Vehicle{Ref: v.Ref, Plate: v.Plate, Type: v.Type}
	}
	for _, l := range s.Lines {
		line := Line{
			LineID:      l.LineID,
			SKU:         l.SKU,
			Description: l.Description,
			Quantity:    l.Quantity,
			Reserved:    l.Reserved,
			Weight:      l.Weight,
		}
		for _, lot := range l.ReservedLots {
			line.Lots = append(line.Lots, Lot{Lot: lot.Lot, Quantity: lot.Quantity})
		}
		d.Lines = append(d.Lines, line)
	}
	return d, nil
}

func location(l *shipment.Location) *Location {
	if l == nil {
		return nil
	}
	return &Location{
		Ref: l.Ref, Name: l.Name, AddressLines: l.AddressLines, City: l.City, PostalCode: l.PostalCode,
		Region: l.Region, Country: l.Country, UNLOCODE: l.UNLOCODE, Lat: l.Lat, Lon: l.Lon, Timezone: l.Timezone,
	}
}

func window(w *shipment.Window) *Window {
	if w == nil {
		return nil
	}
	return &Window{Start: w.Start, End: w.End}
}

// decodeShipment reads an action payload as a shipment.
func decodeShipment(payload json.RawMessage) (*shipment.Shipment, error) {
	if len(payload) == 0 || string(payload) == "null" {
		return nil, fmt.Errorf("%w: empty payload", ErrInvalidShipment)
	}
	var s shipment.Shipment
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidShipment, err)
	}
	return &s, nil
}
