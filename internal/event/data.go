package event

import (
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
)

// The data of each event type, one struct per type, named after the type
// with a Data suffix. Their JSON form is the schema of the type: a field per
// property, in the schema's order, with the property's name; a required
// property has no omitempty, an optional one has. TestDataMatchesSchema
// keeps them in step with schemas/.
//
// A required nested object is a pointer when the domain keeps it as one
// (customer, origin, destination, pod): it is still written when nil, as
// null, which intake refuses.
//
// Optional quantities are pointers: [quantity.Quantity.IsZero] reports a zero
// amount, so omitzero would drop a real "0". Optional date-times are
// pointers too, and keep the zone they are given: an ETA in the delivery
// stop's zone is written with that zone's offset.

// ShipmentPlannedData is the data of a shipment.planned event.
type ShipmentPlannedData struct {
	// Order is the sales order the shipment fulfils.
	Order          string             `json:"order,omitempty"`
	Customer       *Party             `json:"customer"`
	Carrier        *Carrier           `json:"carrier,omitempty"`
	Vehicle        *Vehicle           `json:"vehicle,omitempty"`
	Origin         *Location          `json:"origin"`
	Destination    *Location          `json:"destination"`
	Lines          []PlannedLine      `json:"lines"`
	Weight         *quantity.Quantity `json:"weight,omitempty"`
	HandlingUnits  *quantity.Quantity `json:"handling_units,omitempty"`
	PickupWindow   *Window            `json:"pickup_window,omitempty"`
	DeliveryWindow *Window            `json:"delivery_window,omitempty"`
	// References are the sender's own references, by name.
	References map[string]string `json:"references,omitempty"`
}

// PlannedLine is one line of a shipment.planned event.
type PlannedLine struct {
	LineID      string             `json:"line_id"`
	SKU         string             `json:"sku"`
	Description string             `json:"description,omitempty"`
	Quantity    quantity.Quantity  `json:"quantity"`
	Lots        []string           `json:"lots,omitempty"`
	Weight      *quantity.Quantity `json:"weight,omitempty"`
}

// OrderConfirmedData is the data of an order.confirmed event.
type OrderConfirmedData struct {
	Customer *Party      `json:"customer"`
	Lines    []OrderLine `json:"lines"`
	// Currency is an ISO 4217 code.
	Currency string `json:"currency,omitempty"`
	// Shipments are the refs of the order's shipments.
	Shipments []string `json:"shipments,omitempty"`
}

// OrderLine is one line of an order.confirmed event.
type OrderLine struct {
	LineID      string            `json:"line_id"`
	SKU         string            `json:"sku"`
	Description string            `json:"description,omitempty"`
	Quantity    quantity.Quantity `json:"quantity"`
}

// InventoryReservedData is the data of an inventory.reserved event.
type InventoryReservedData struct {
	Lines []ReservedLine `json:"lines"`
	// Warehouse is the ref of the warehouse that reserved the stock.
	Warehouse string `json:"warehouse,omitempty"`
}

// ReservedLine is the reserved quantity of one line.
type ReservedLine struct {
	LineID   string            `json:"line_id"`
	Quantity quantity.Quantity `json:"quantity"`
	Lots     []Lot             `json:"lots,omitempty"`
}

// Lot is a quantity taken from one lot or batch.
type Lot struct {
	Lot      string            `json:"lot"`
	Quantity quantity.Quantity `json:"quantity"`
}

// InventoryShortageData is the data of an inventory.shortage event.
type InventoryShortageData struct {
	Lines  []ShortageLine `json:"lines"`
	Reason string         `json:"reason,omitempty"`
}

// ShortageLine is a line that could not be fully reserved. Available may
// be negative when the stock system allows it.
type ShortageLine struct {
	LineID    string            `json:"line_id"`
	Required  quantity.Quantity `json:"required"`
	Available quantity.Quantity `json:"available"`
}

// DispatchAssignedData is the data of a dispatch.assigned event. The
// schema wants at least one of Vehicle, Carrier and RouteID.
type DispatchAssignedData struct {
	Vehicle         *Vehicle   `json:"vehicle,omitempty"`
	Driver          *Driver    `json:"driver,omitempty"`
	Carrier         *Carrier   `json:"carrier,omitempty"`
	RouteID         string     `json:"route_id,omitempty"`
	PlannedPickup   *time.Time `json:"planned_pickup,omitempty"`
	PlannedDelivery *time.Time `json:"planned_delivery,omitempty"`
	// TrackingRef is the carrier's tracking or PRO number.
	TrackingRef string `json:"tracking_ref,omitempty"`
}

// ShipmentLoadedData is the data of a shipment.loaded event.
type ShipmentLoadedData struct {
	Lines  []LoadedLine       `json:"lines"`
	Weight *quantity.Quantity `json:"weight,omitempty"`
	Seal   string             `json:"seal,omitempty"`
}

// LoadedLine is the loaded quantity of one line.
type LoadedLine struct {
	LineID   string            `json:"line_id"`
	Quantity quantity.Quantity `json:"quantity"`
	Lots     []Lot             `json:"lots,omitempty"`
	Serials  []string          `json:"serials,omitempty"`
}

// ShipmentDepartedData is the data of a shipment.departed event.
type ShipmentDepartedData struct {
	Location *Location  `json:"location,omitempty"`
	ETA      *time.Time `json:"eta,omitempty"`
}

// ShipmentArrivedData is the data of a shipment.arrived event.
type ShipmentArrivedData struct {
	Location *Location `json:"location,omitempty"`
}

// ShipmentDelayedData is the data of a shipment.delayed event.
type ShipmentDelayedData struct {
	Reason     string     `json:"reason"`
	ReasonCode string     `json:"reason_code,omitempty"`
	ETA        *time.Time `json:"eta,omitempty"`
}

// ShipmentDeliveredData is the data of a shipment.delivered event.
type ShipmentDeliveredData struct {
	POD *ProofOfDelivery `json:"pod"`
	// Location is the delivery stop as the sender knows it.
	Location *Location `json:"location,omitempty"`
}

// ProofOfDelivery is the proof a shipment.delivered event carries.
type ProofOfDelivery struct {
	Signer   string    `json:"signer"`
	SignedAt time.Time `json:"signed_at"`
	// Lines are the delivered quantities, each naming its line by line_id
	// or by SKU.
	Lines []SKULineQuantity `json:"lines"`
	// SignatureSHA256 is the hex SHA-256 of the signature image.
	SignatureSHA256 string    `json:"signature_sha256,omitempty"`
	Photos          []Photo   `json:"photos,omitempty"`
	Position        *Position `json:"position,omitempty"`
	Remarks         string    `json:"remarks,omitempty"`
}

// Photo is a photo taken with a proof of delivery.
type Photo struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256,omitempty"`
}

// Position is where a proof of delivery was captured.
type Position struct {
	Lat       float64  `json:"lat"`
	Lon       float64  `json:"lon"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

// ShipmentExceptionData is the data of a shipment.exception event.
type ShipmentExceptionData struct {
	// Category is one of damaged, refused, returned, short, lost, delay,
	// route_changed, address, customs, weather, hold and other.
	Category string `json:"category"`
	// Status is open (the default) or resolved.
	Status      string            `json:"status,omitempty"`
	ExceptionID string            `json:"exception_id,omitempty"`
	Description string            `json:"description,omitempty"`
	ReasonCode  string            `json:"reason_code,omitempty"`
	Lines       []SKULineQuantity `json:"lines,omitempty"`
	OwnerRole   string            `json:"owner_role,omitempty"`
}

// SKULineQuantity is a quantity of one line, named by line_id or, when the
// sender does not know line ids, by SKU; the schema wants at least one.
type SKULineQuantity struct {
	LineID   string            `json:"line_id,omitempty"`
	SKU      string            `json:"sku,omitempty"`
	Quantity quantity.Quantity `json:"quantity"`
}

// ShipmentReturnedData is the data of a shipment.returned event.
type ShipmentReturnedData struct {
	Reason string `json:"reason,omitempty"`
	// Lines are the returned quantities.
	Lines []LineQuantity `json:"lines,omitempty"`
}

// LineQuantity is a quantity of one line.
type LineQuantity struct {
	LineID   string            `json:"line_id"`
	Quantity quantity.Quantity `json:"quantity"`
}

// ShipmentCancelledData is the data of a shipment.cancelled event.
type ShipmentCancelledData struct {
	Reason string `json:"reason,omitempty"`
}

// ChargesReportedData is the data of a charges.reported event.
type ChargesReportedData struct {
	Charges       []Charge     `json:"charges"`
	InvoiceNumber string       `json:"invoice_number,omitempty"`
	Total         *money.Money `json:"total,omitempty"`
	Carrier       *Carrier     `json:"carrier,omitempty"`
	// InvoiceDate is a civil date, YYYY-MM-DD.
	InvoiceDate string `json:"invoice_date,omitempty"`
	// Weights are the weights the invoice states.
	Weights []Weight `json:"weights,omitempty"`
	// POD is the delivery the invoice claims.
	POD *ChargesPOD `json:"pod,omitempty"`
}

// Charge is one freight charge.
type Charge struct {
	// Code is the partner's charge code.
	Code string `json:"code"`
	// Type is the canonical charge type: linehaul, fuel, detention, ….
	Type        string             `json:"type,omitempty"`
	Description string             `json:"description,omitempty"`
	Amount      money.Money        `json:"amount"`
	Quantity    *quantity.Quantity `json:"quantity,omitempty"`
}

// ChargesPOD is the delivery a freight invoice claims.
type ChargesPOD struct {
	Signer   string     `json:"signer,omitempty"`
	SignedAt *time.Time `json:"signed_at,omitempty"`
}

// ShipmentTrackedData is the data of a shipment.tracked event: a
// carrier's tracking event in the canonical vocabulary. The tracking
// package makes it from its sources' payloads.
type ShipmentTrackedData struct {
	SourceEventID string       `json:"source_event_id"`
	Format        string       `json:"format"`
	Keys          ShipmentKeys `json:"shipment_keys"`
	// Kind is milestone, eta_update, appointment, position or note.
	Kind string `json:"kind"`
	// Status is the canonical status of a milestone.
	Status      string            `json:"status,omitempty"`
	Substatus   string            `json:"substatus,omitempty"`
	RawCode     string            `json:"raw_code,omitempty"`
	RawReason   string            `json:"raw_reason,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Exception   *TrackedException `json:"exception,omitempty"`
	OccurredAt  time.Time         `json:"occurred_at"`
	Local       string            `json:"occurred_at_local,omitempty"`
	TZ          string            `json:"tz,omitempty"`
	TZSource    string            `json:"tz_source,omitempty"`
	ETA         *TrackedWindow    `json:"eta,omitempty"`
	Appointment *TrackedWindow    `json:"appointment,omitempty"`
	Location    *TrackedLocation  `json:"location,omitempty"`
	Position    *VehiclePosition  `json:"position,omitempty"`
	Weights     []Weight          `json:"weights,omitempty"`
	Pieces      int               `json:"pieces,omitempty"`
	// HandlingUnits is a count of handling units, not a quantity as in
	// shipment.planned.
	HandlingUnits *HandlingUnitCount `json:"handling_units,omitempty"`
	Equipment     string             `json:"equipment,omitempty"`
	POD           *TrackedPOD        `json:"pod,omitempty"`
	Lading        []Lading           `json:"lading,omitempty"`
	Remarks       []string           `json:"remarks,omitempty"`
}

// ShipmentKeys are a shipment's identifiers as a tracking partner knows
// them.
type ShipmentKeys struct {
	SCAC           string   `json:"scac,omitempty"`
	PRO            string   `json:"pro,omitempty"`
	BOL            string   `json:"bol,omitempty"`
	PO             []string `json:"po,omitempty"`
	TrackingNumber string   `json:"tracking_number,omitempty"`
	Carrier        string   `json:"carrier,omitempty"`
	ConsignmentID  string   `json:"consignment_id,omitempty"`
	OdooPicking    string   `json:"odoo_picking,omitempty"`
	SaleOrder      string   `json:"sale_order,omitempty"`
	CustomerRef    string   `json:"customer_ref,omitempty"`
	ProviderID     string   `json:"provider_id,omitempty"`
}

// Refs returns the shipment references the keys give, most specific first,
// in the system:external-id form of event subjects: odoo:<picking>,
// pro:<SCAC>/<PRO>, bol:<BOL>, tracking:<number>, consignment:<id>.
func (k ShipmentKeys) Refs() []string {
	var out []string
	if k.OdooPicking != "" {
		out = append(out, "odoo:"+k.OdooPicking)
	}
	if k.PRO != "" && k.SCAC != "" {
		out = append(out, "pro:"+k.SCAC+"/"+k.PRO)
	}
	if k.BOL != "" {
		out = append(out, "bol:"+k.BOL)
	}
	if k.TrackingNumber != "" {
		out = append(out, "tracking:"+k.TrackingNumber)
	}
	if k.ConsignmentID != "" {
		out = append(out, "consignment:"+k.ConsignmentID)
	}
	if k.ProviderID != "" {
		out = append(out, "provider:"+k.ProviderID)
	}
	return out
}

// TrackedException is the exception a tracking event opens.
type TrackedException struct {
	// Type is the exception category, as in shipment.exception.
	Type       string `json:"type"`
	Reason     string `json:"reason,omitempty"`
	ReasonCode string `json:"reason_code,omitempty"`
}

// TrackedWindow is an ETA or appointment: an interval (Start == End for an
// instant) or, instead, a civil date.
type TrackedWindow struct {
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	Date  string    `json:"date,omitempty"`
}

// TrackedLocation is where a tracking event happened.
type TrackedLocation struct {
	Name       string   `json:"name,omitempty"`
	City       string   `json:"city,omitempty"`
	Region     string   `json:"region,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country,omitempty"`
	UNLOCODE   string   `json:"unlocode,omitempty"`
	Lat        *float64 `json:"lat,omitempty"`
	Lon        *float64 `json:"lon,omitempty"`
	// Role is origin, destination or stop.
	Role string `json:"role,omitempty"`
}

// VehiclePosition is a vehicle's position in a tracking event.
type VehiclePosition struct {
	Lat       float64  `json:"lat"`
	Lon       float64  `json:"lon"`
	SpeedKmh  *float64 `json:"speed_kmh,omitempty"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

// Weight is a weight in kilograms to 3 decimals, with the value and unit
// the partner sent, and its kind: actual, declared or billed.
type Weight struct {
	KG       string `json:"kg"`
	RawValue string `json:"raw_value"`
	RawUnit  string `json:"raw_unit"`
	Kind     string `json:"kind,omitempty"`
}

// HandlingUnitCount is a number of handling units with their packaging
// code (PLT, CTN).
type HandlingUnitCount struct {
	Count     int    `json:"count"`
	Packaging string `json:"packaging,omitempty"`
}

// TrackedPOD is the proof of delivery a carrier reports with a delivery.
type TrackedPOD struct {
	Signer  string `json:"signer,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

// Lading is goods a tracking event reports damaged, short or refused.
type Lading struct {
	Condition string `json:"condition"`
	Count     int    `json:"count"`
	Packaging string `json:"packaging,omitempty"`
}

// ShipmentInvoicedData is the data of a shipment.invoiced event.
type ShipmentInvoicedData struct {
	// System names the ERP, as in its refs (odoo).
	System    string `json:"system"`
	InvoiceID string `json:"invoice_id"`
	Number    string `json:"number,omitempty"`
	Reference string `json:"reference,omitempty"`
	// State is draft or posted.
	State string `json:"state,omitempty"`
}

// PickingValidatedData is the data of a picking.validated event.
type PickingValidatedData struct {
	// System names the ERP, as in its refs (odoo).
	System      string `json:"system"`
	PickingID   string `json:"picking_id"`
	Name        string `json:"name,omitempty"`
	BackorderID string `json:"backorder_id,omitempty"`
}

// ReviewDecidedData is the data of a review.decided event.
type ReviewDecidedData struct {
	ReviewID string `json:"review_id"`
	// Decision is approve, reject or resolve.
	Decision string `json:"decision"`
	Actor    string `json:"actor"`
	Reason   string `json:"reason,omitempty"`
}

// Party is a customer or other party; the schema wants Ref or Name.
type Party struct {
	Ref   string `json:"ref,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// VAT is the VAT or tax registration number.
	VAT string `json:"vat,omitempty"`
}

// Location is an address or place; the schema wants at least one field.
type Location struct {
	Ref          string   `json:"ref,omitempty"`
	Name         string   `json:"name,omitempty"`
	AddressLines []string `json:"address_lines,omitempty"`
	City         string   `json:"city,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
	Region       string   `json:"region,omitempty"`
	Country      string   `json:"country,omitempty"`
	UNLOCODE     string   `json:"unlocode,omitempty"`
	Lat          *float64 `json:"lat,omitempty"`
	Lon          *float64 `json:"lon,omitempty"`
	// Timezone is an IANA time zone name.
	Timezone string `json:"timezone,omitempty"`
}

// Vehicle is a vehicle; the schema wants at least one field.
type Vehicle struct {
	Ref   string `json:"ref,omitempty"`
	Plate string `json:"plate,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Carrier is a carrier; the schema wants at least one field.
type Carrier struct {
	Ref  string `json:"ref,omitempty"`
	SCAC string `json:"scac,omitempty"`
	Name string `json:"name,omitempty"`
}

// Driver is a driver; the schema wants at least one field.
type Driver struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Window is a time window.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// NewData returns a pointer to a new zero value of the data struct of
// events of type t, such as *ShipmentPlannedData for [ShipmentPlanned], to
// decode data into; nil if t is not a known type.
func NewData(t Type) any {
	for _, c := range catalogue {
		if c.typ == t {
			return c.newData()
		}
	}
	return nil
}
