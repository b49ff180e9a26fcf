package shipment

import (
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
)

// The shapes a shipment shares with the events that describe it: one
// definition each, in package event.
type (
	Lot      = event.Lot
	Party    = event.Party
	Location = event.Location
	Vehicle  = event.Vehicle
	Carrier  = event.Carrier
	Driver   = event.Driver
	Window   = event.Window
	Position = event.Position
	Photo    = event.Photo
)

// Shipment is the canonical shipment aggregate.
type Shipment struct {
	ID    string `json:"id"`
	State State  `json:"state"`
	// BlockedReason says why the shipment cannot take its next step, or is
	// empty.
	BlockedReason string `json:"blocked_reason,omitempty"`
	// ResumeState is the state an open exception interrupted.
	ResumeState State `json:"resume_state,omitempty"`

	Order          string             `json:"order,omitempty"`
	Customer       *Party             `json:"customer,omitempty"`
	Carrier        *Carrier           `json:"carrier,omitempty"`
	Vehicle        *Vehicle           `json:"vehicle,omitempty"`
	Driver         *Driver            `json:"driver,omitempty"`
	RouteID        string             `json:"route_id,omitempty"`
	TrackingRef    string             `json:"tracking_ref,omitempty"`
	Origin         *Location          `json:"origin,omitempty"`
	Destination    *Location          `json:"destination,omitempty"`
	Lines          []Line             `json:"lines"`
	Weight         *quantity.Quantity `json:"weight,omitempty"`
	MeasuredWeight *quantity.Quantity `json:"measured_weight,omitempty"`
	HandlingUnits  *quantity.Quantity `json:"handling_units,omitempty"`
	PickupWindow   *Window            `json:"pickup_window,omitempty"`
	DeliveryWindow *Window            `json:"delivery_window,omitempty"`
	References     map[string]string  `json:"references,omitempty"`
	ETA            *time.Time         `json:"eta,omitempty"`
	Milestones     []Milestone        `json:"milestones,omitempty"`
	POD            *ProofOfDelivery   `json:"pod,omitempty"`
	Exceptions     []ExceptionRecord  `json:"exceptions,omitempty"`
	Charges        []Charge           `json:"charges,omitempty"`
	// CarrierInvoices are the carriers' freight invoices reported for the
	// shipment (charges.reported with an invoice number), once each.
	CarrierInvoices []CarrierInvoice `json:"carrier_invoices,omitempty"`
	Reviews         []Review         `json:"reviews,omitempty"`
	// Picking is the ERP's picking of a loaded shipment, when the ERP
	// reports its validation: the invoice waits for it.
	Picking *PickingRecord `json:"picking,omitempty"`
	Invoice *InvoiceRef    `json:"invoice,omitempty"`
	// Billable is set once the shipment is delivered with a proof of
	// delivery and no open exception; the invoice action is then issued
	// exactly once.
	Billable bool `json:"billable,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Line is one line of a shipment with its quantities along the workflow.
type Line struct {
	LineID       string             `json:"line_id"`
	SKU          string             `json:"sku"`
	Description  string             `json:"description,omitempty"`
	Quantity     quantity.Quantity  `json:"quantity"`
	Weight       *quantity.Quantity `json:"weight,omitempty"`
	Reserved     *quantity.Quantity `json:"reserved,omitempty"`
	ReservedLots []Lot              `json:"reserved_lots,omitempty"`
	Loaded       *quantity.Quantity `json:"loaded,omitempty"`
	LoadedLots   []Lot              `json:"loaded_lots,omitempty"`
	Serials      []string           `json:"serials,omitempty"`
	Delivered    *quantity.Quantity `json:"delivered,omitempty"`
	Lots         []string           `json:"lots,omitempty"`
}

// Milestone is a progress event that reached the shipment.
type Milestone struct {
	Type     string    `json:"type"`
	At       time.Time `json:"at"`
	EventID  string    `json:"event_id"`
	Late     bool      `json:"late,omitempty"`
	Location *Location `json:"location,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Status is a carrier's canonical status (shipment.tracked milestones),
	// or the kind of a tracking event that is not a milestone.
	Status string `json:"status,omitempty"`
	// Signer is who signed, as the carrier reports a delivery.
	Signer string `json:"signer,omitempty"`
}

// ProofOfDelivery is what the consignee signed for.
type ProofOfDelivery struct {
	Signer          string    `json:"signer"`
	SignedAt        time.Time `json:"signed_at"`
	Lines           []LineQty `json:"lines"`
	SignatureSHA256 string    `json:"signature_sha256,omitempty"`
	Photos          []Photo   `json:"photos,omitempty"`
	Position        *Position `json:"position,omitempty"`
	Remarks         string    `json:"remarks,omitempty"`
	EventID         string    `json:"event_id"`
	// Source is the source of the event that brought it: the feed whose
	// silence holds the shipment's invoice.
	Source string `json:"source,omitempty"`
	// Validation is what Waybill made of it; nil on shipments delivered
	// before proofs of delivery were validated, which count as valid.
	Validation *PODValidation `json:"validation,omitempty"`
}

// Proof-of-delivery validation statuses.
const (
	PODValid    = "valid"    // passed every check: billable
	PODFailed   = "failed"   // failed a check: waits for review
	PODApproved = "approved" // failed, then approved in review: billable
	PODRejected = "rejected" // failed, then rejected in review: waits for a new one
)

// PODValidation is the outcome of checking a proof of delivery against the
// shipment: delivered quantities not above loaded, signed after departure,
// captured near the delivery stop.
type PODValidation struct {
	Status string `json:"status"`
	// Problems are the checks it failed.
	Problems []string `json:"problems,omitempty"`
	// Flags are checks that could not be made, such as the position check
	// when the stop or the proof has no coordinates. They do not block.
	Flags []string `json:"flags,omitempty"`
	// DistanceM is how far from the delivery stop it was captured, when
	// both positions are known.
	DistanceM *float64 `json:"distance_m,omitempty"`
}

// Billable reports whether v lets the shipment be billed.
func (v *PODValidation) Billable() bool {
	return v == nil || v.Status == PODValid || v.Status == PODApproved
}

// LineQty is a quantity of one line.
type LineQty struct {
	LineID string `json:"line_id"`
	// SKU names the line when the sender does not know line ids; it is
	// resolved to LineID when the event applies.
	SKU      string            `json:"sku,omitempty"`
	Quantity quantity.Quantity `json:"quantity"`
}

// ExceptionRecord is an exception raised on a shipment.
type ExceptionRecord struct {
	ID          string            `json:"id"`
	Category    ExceptionCategory `json:"category"`
	Status      ExceptionStatus   `json:"status"`
	OwnerRole   string            `json:"owner_role"`
	Description string            `json:"description,omitempty"`
	ReasonCode  string            `json:"reason_code,omitempty"`
	Lines       []LineQty         `json:"lines,omitempty"`
	OpenedAt    time.Time         `json:"opened_at"`
	ResolvedAt  *time.Time        `json:"resolved_at,omitempty"`
	// Resolution says how it was closed, once it is.
	Resolution Resolution `json:"resolution,omitempty"`
	EventID    string     `json:"event_id"`
}

// ExceptionStatus is whether an exception is open.
type ExceptionStatus string

// Exception statuses.
const (
	ExceptionOpen     ExceptionStatus = "open"
	ExceptionResolved ExceptionStatus = "resolved"
)

// Resolution is how an exception was closed.
type Resolution string

// Resolutions.
const (
	// ResolutionApproved: approved in review; its consequences were carried
	// out, such as returning and scrapping damaged goods.
	ResolutionApproved Resolution = "approved"
	// ResolutionDismissed: rejected in review; no consequences.
	ResolutionDismissed Resolution = "dismissed"
	// ResolutionResolved: resolved by its reporter, a review or the
	// carrier's progress.
	ResolutionResolved Resolution = "resolved"
)

// Review kinds.
const (
	ReviewPOD       = "pod"       // a proof of delivery failed validation
	ReviewException = "exception" // an exception was reported
	ReviewRating    = "rating"    // the rating rules failed for the shipment
	ReviewShortage  = "shortage"  // stock could not be fully reserved
)

// Review statuses.
const (
	ReviewOpen     = "open"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
	ReviewResolved = "resolved"
)

// ReviewStatuses lists every review status. The caller owns the slice.
func ReviewStatuses() []string {
	return []string{ReviewOpen, ReviewApproved, ReviewRejected, ReviewResolved}
}

// Review is a decision a person has to take before the shipment can be
// billed: a proof of delivery that failed validation, or an exception.
type Review struct {
	// ID identifies the review everywhere: it is the id of the event that
	// opened it.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Status is open until decided.
	Status string `json:"status"`
	// Reason says what is to be decided.
	Reason string `json:"reason"`
	// ExceptionID is the exception a review of kind exception is about.
	ExceptionID string    `json:"exception_id,omitempty"`
	OwnerRole   string    `json:"owner_role"`
	OpenedAt    time.Time `json:"opened_at"`
	// Decision, Actor, Note and DecidedAt record the decision.
	Decision  string     `json:"decision,omitempty"`
	Actor     string     `json:"actor,omitempty"`
	Note      string     `json:"note,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// DecisionEventID is the review.decided event that decided it.
	DecisionEventID string `json:"decision_event_id,omitempty"`
}

// Charge is a charge reported for a shipment (by a carrier) or rated by
// Waybill.
type Charge struct {
	Code          string             `json:"code"`
	Type          string             `json:"type,omitempty"`
	Description   string             `json:"description,omitempty"`
	Amount        money.Money        `json:"amount"`
	Quantity      *quantity.Quantity `json:"quantity,omitempty"`
	InvoiceNumber string             `json:"invoice_number,omitempty"`
	EventID       string             `json:"event_id"`
	// Source is "rated" for a charge Waybill's rules rated, empty for one a
	// partner reported.
	Source string `json:"source,omitempty"`
	// RuleID, RulesVersion, Calculation and Facts are the evidence of a
	// rated charge: the rule, the rules file version, how the amount was
	// worked out and the facts the rule used.
	RuleID       string         `json:"rule_id,omitempty"`
	RulesVersion string         `json:"rules_version,omitempty"`
	Calculation  string         `json:"calculation,omitempty"`
	Facts        map[string]any `json:"facts,omitempty"`
}

// CarrierInvoice is a carrier's freight invoice for the shipment: its
// charges are the shipment's charges of the same event.
type CarrierInvoice struct {
	Number string `json:"number"`
	// Carrier is who billed: the invoice's carrier, else the shipment's.
	Carrier *Carrier `json:"carrier,omitempty"`
	// Date is the invoice date, YYYY-MM-DD, when the invoice states it.
	Date string `json:"date,omitempty"`
	// EventID is the charges.reported event that reported it.
	EventID string `json:"event_id"`
}

// CarrierBill is the payload of an ActionVendorBillCreate action: an
// approved carrier invoice to bill as one vendor bill, one line per
// charge.
type CarrierBill struct {
	// AuditID is the freight audit that approved it.
	AuditID       string   `json:"audit_id"`
	ShipmentID    string   `json:"shipment_id"`
	Carrier       *Carrier `json:"carrier,omitempty"`
	InvoiceNumber string   `json:"invoice_number"`
	// InvoiceDate is the carrier's invoice date, YYYY-MM-DD, if stated.
	InvoiceDate string   `json:"invoice_date,omitempty"`
	Charges     []Charge `json:"charges"`
}

// CarrierKey is what tells carriers apart in a carrier invoice's identity:
// the SCAC, else the carrier ref, else empty.
func CarrierKey(c *Carrier) string {
	switch {
	case c == nil:
		return ""
	case c.SCAC != "":
		return c.SCAC
	}
	return c.Ref
}

// ChargeRated is the Source of a charge Waybill rated.
const ChargeRated = "rated"

// PickingRecord is the ERP's validation of the picking that ships a loaded
// shipment's goods.
type PickingRecord struct {
	// RequestedAt is when the shipment was loaded and its validation
	// asked for.
	RequestedAt time.Time `json:"requested_at"`
	// ValidatedAt is when the ERP reported the validation; nil while it is
	// awaited.
	ValidatedAt *time.Time `json:"validated_at,omitempty"`
	System      string     `json:"system,omitempty"`
	ExternalID  string     `json:"external_id,omitempty"`
	Name        string     `json:"name,omitempty"`
	BackorderID string     `json:"backorder_id,omitempty"`
}

// InvoiceRef points at the invoice that billed a shipment.
type InvoiceRef struct {
	System     string    `json:"system"`
	ExternalID string    `json:"external_id"`
	Number     string    `json:"number,omitempty"`
	At         time.Time `json:"at"`
}

// Order is a customer order as confirmed in the ERP.
type Order struct {
	ID        string      `json:"id"`
	Customer  *Party      `json:"customer,omitempty"`
	Lines     []OrderLine `json:"lines"`
	Currency  string      `json:"currency,omitempty"`
	Shipments []string    `json:"shipments,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Version   int64       `json:"version"`
}

// OrderLine is one line of an order.
type OrderLine struct {
	LineID      string            `json:"line_id"`
	SKU         string            `json:"sku"`
	Description string            `json:"description,omitempty"`
	Quantity    quantity.Quantity `json:"quantity"`
}
