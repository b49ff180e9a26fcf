package freight

import (
	"slices"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

// Audit states.
const (
	// StateApproved: the invoice is approved, by itself (within tolerance)
	// or by a person; it is billed as a vendor bill.
	StateApproved = "approved"
	// StateReview: outside tolerance, or the expected cost could not be
	// worked out; finance decides.
	StateReview = "review"
	// StateDisputed: finance disputed the invoice; it is not billed.
	StateDisputed = "disputed"
)

// Decisions on an audit in review.
const (
	Approve = "approve"
	Dispute = "dispute"
)

// Outcomes counted by waybill_freight_audits_total.
const (
	OutcomeApprovedAuto = "approved_auto"
	OutcomeReview       = "review"
	OutcomeApproved     = "approved"
	OutcomeDisputed     = "disputed"
)

// FinanceRole owns the reviews of freight audits.
const FinanceRole = "finance"

// Audit is the audit of one carrier freight invoice.
type Audit struct {
	ID         string `json:"id"`
	ShipmentID string `json:"shipment_id"`
	// CarrierKey identifies the carrier with InvoiceNumber: its SCAC,
	// else its ref.
	CarrierKey    string            `json:"carrier_key"`
	Carrier       *shipment.Carrier `json:"carrier,omitempty"`
	InvoiceNumber string            `json:"invoice_number"`
	// InvoiceDate is the carrier's invoice date, YYYY-MM-DD, if stated.
	InvoiceDate string `json:"invoice_date,omitempty"`
	// EventID is the charges.reported event that reported the invoice.
	EventID       string `json:"event_id"`
	CorrelationID string `json:"correlation_id,omitempty"`
	State         string `json:"state"`
	// AutoApproved reports an invoice approved by itself, within
	// tolerance.
	AutoApproved bool `json:"auto_approved"`
	// ReviewReason says why the invoice needs a person: the charge types
	// outside tolerance, or why no expected cost could be worked out.
	ReviewReason string `json:"review_reason,omitempty"`
	// OwnerRole is who decides a review: finance.
	OwnerRole string `json:"owner_role,omitempty"`
	// Reported and Expected are the totals of both sides, when each is in
	// one currency.
	Reported *money.Money `json:"reported,omitempty"`
	Expected *money.Money `json:"expected,omitempty"`
	// Lines compare the two sides per charge type, side by side.
	Lines []Line `json:"lines"`
	// Charges are the carrier's charges as the invoice reports them.
	Charges []shipment.Charge `json:"charges"`
	// ExpectedCharges are the cost rules' charges, with their evidence.
	ExpectedCharges []rating.Charge `json:"expected_charges"`
	// RulesVersion is the version of the cost rules file.
	RulesVersion string `json:"rules_version,omitempty"`
	// Repeats are later reports of the same invoice (same carrier and
	// number): recorded, never audited or billed again.
	Repeats []Repeat `json:"repeats,omitempty"`
	// Decision, DecidedBy, DecidedAt and DecisionReason record a person's
	// decision on a review.
	Decision       string     `json:"decision,omitempty"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	// Bill is the vendor bill the ERP made of the approved invoice; nil
	// until it is made.
	Bill      *Bill     `json:"bill,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Repeat is a later report of an audited invoice.
type Repeat struct {
	EventID    string    `json:"event_id"`
	ShipmentID string    `json:"shipment_id"`
	At         time.Time `json:"at"`
}

// Bill is the vendor bill of an approved invoice in the ERP.
type Bill struct {
	System string `json:"system"`
	ID     int    `json:"id"`
	// Number is the bill's number once posted, such as BILL/2026/12/0001.
	Number string    `json:"number,omitempty"`
	State  string    `json:"state"`
	At     time.Time `json:"at"`
}

// billRequest is the vendor bill request of a.
func (a *Audit) billRequest() shipment.CarrierBill {
	return shipment.CarrierBill{AuditID: a.ID, ShipmentID: a.ShipmentID, Carrier: a.Carrier, InvoiceNumber: a.InvoiceNumber,
		InvoiceDate: a.InvoiceDate, Charges: a.Charges}
}

// costShipment is sh as the cost rules see it when they rate the carrier
// invoice of event eventID from carrier: the invoice's carrier (its SCAC
// and ref filled from the shipment's carrier where the invoice names
// none), and neither Waybill's rated charges (revenue) nor the invoice's
// own charges, which are what is audited.
func costShipment(sh *shipment.Shipment, eventID string, carrier *shipment.Carrier) *shipment.Shipment {
	out := *sh
	if carrier != nil {
		c := *carrier
		if sh.Carrier != nil {
			if c.SCAC == "" {
				c.SCAC = sh.Carrier.SCAC
			}
			if c.Ref == "" {
				c.Ref = sh.Carrier.Ref
			}
			if c.Name == "" {
				c.Name = sh.Carrier.Name
			}
		}
		out.Carrier = &c
	}
	out.Charges = slices.DeleteFunc(slices.Clone(sh.Charges), func(c shipment.Charge) bool {
		return c.Source == shipment.ChargeRated || c.EventID == eventID
	})
	return &out
}

// CostFacts are the facts the cost rules rate the carrier invoice of
// event eventID on: [rating.FactsFrom] of the shipment with the
// invoice's carrier, without Waybill's rated charges or the invoice's own
// charges. waybill rules test --cost uses it too.
func CostFacts(sh *shipment.Shipment, eventID string) rating.Facts {
	var carrier *shipment.Carrier
	if ci := carrierInvoice(sh, eventID); ci != nil {
		carrier = ci.Carrier
	}
	return rating.FactsFrom(costShipment(sh, eventID, carrier))
}

// carrierInvoice is the carrier invoice event eventID reported on sh:
// recorded with that event, else (a repeat) the one whose number the
// event's charges carry.
func carrierInvoice(sh *shipment.Shipment, eventID string) *shipment.CarrierInvoice {
	for i := range sh.CarrierInvoices {
		if sh.CarrierInvoices[i].EventID == eventID {
			return &sh.CarrierInvoices[i]
		}
	}
	number := ""
	for _, c := range sh.Charges {
		if c.EventID == eventID && c.InvoiceNumber != "" {
			number = c.InvoiceNumber
			break
		}
	}
	for i := len(sh.CarrierInvoices) - 1; i >= 0; i-- {
		if number != "" && sh.CarrierInvoices[i].Number == number {
			return &sh.CarrierInvoices[i]
		}
	}
	return nil
}

// invoiceCharges are the charges event eventID reported on sh.
func invoiceCharges(sh *shipment.Shipment, eventID string) []shipment.Charge {
	var out []shipment.Charge
	for _, c := range sh.Charges {
		if c.EventID == eventID && c.Source != shipment.ChargeRated {
			out = append(out, c)
		}
	}
	return out
}

// total sums charges when they are all in one currency.
func total[C any](charges []C, amount func(C) money.Money) *money.Money {
	if len(charges) == 0 {
		return nil
	}
	sum := money.Money{Currency: amount(charges[0]).Currency}
	for _, c := range charges {
		var err error
		if sum, err = sum.Add(amount(c)); err != nil {
			return nil
		}
	}
	return &sum
}
