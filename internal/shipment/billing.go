package shipment

import (
	"slices"
	"strings"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/quantity"
)

// billing is the billing gate: delivered, with a proof of delivery, no
// open exception, and the picking validated when the ERP reports it. It rates the shipment and issues the invoice action
// once.
func (s *Shipment) billing(in Input, p Policy) Result {
	res := Result{Outcome: OutcomeApplied}
	if s.current() != Delivered || s.Billable {
		return res
	}
	if s.POD == nil {
		s.BlockedReason = "not billable: no proof of delivery"
		return res
	}
	if !s.POD.Validation.Billable() {
		s.BlockedReason = podBlocked(s.POD.Validation)
		return res
	}
	if open := s.openExceptions(); len(open) > 0 {
		s.BlockedReason = "not billable: open exception " + strings.Join(open, ", ")
		return res
	}
	if s.Picking != nil && s.Picking.ValidatedAt == nil {
		s.BlockedReason = "not billable: the ERP has not validated the picking yet"
		return res
	}
	if p.Rate != nil && !s.rated() && !s.ratingWaived() {
		charges, err := p.Rate(s)
		if err != nil {
			reason := "rating failed: " + err.Error()
			s.BlockedReason = "not billable: " + reason
			if !slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewRating && r.Status == ReviewOpen }) {
				s.Reviews = append(s.Reviews, Review{ID: in.EventID, Kind: ReviewRating, Status: ReviewOpen, OwnerRole: "billing",
					OpenedAt: in.Time, Reason: reason})
			}
			return res
		}
		for _, c := range charges {
			c.Source, c.EventID = ChargeRated, in.EventID
			s.Charges = append(s.Charges, c)
		}
	}
	s.Billable = true
	s.BlockedReason = ""
	res.Actions = append(res.Actions, ActionInvoicePrepare)
	return res
}

// applyCharges records reported charges. A carrier freight invoice (an
// invoice number) is recorded once per carrier and number, and with
// p.FreightAudit calls for its audit; the same invoice reported again
// calls for the audit too, which finds it audited and records the repeat.
func (s *Shipment) applyCharges(in Input, p Policy) Result {
	d, err := decodeData[event.ChargesReportedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	if d.Total != nil {
		sum := money.Money{Currency: d.Total.Currency}
		for _, c := range d.Charges {
			var err error
			if sum, err = sum.Add(c.Amount); err != nil {
				return rejected("charges: %v", err)
			}
		}
		if sum != *d.Total {
			return rejected("charges add up to %s, not the total %s", sum, d.Total)
		}
	}
	for _, c := range d.Charges {
		s.Charges = append(s.Charges, Charge{Code: c.Code, Type: c.Type, Description: c.Description, Amount: c.Amount,
			Quantity: c.Quantity, InvoiceNumber: d.InvoiceNumber, EventID: in.EventID})
	}
	// The weight the carrier billed after a reweigh is the measured weight
	// that weight reconciliation compares with the declared one.
	for _, w := range d.Weights {
		if w.Kind != "billed" {
			continue
		}
		if q, err := quantity.Parse(w.KG, string(quantity.KGM)); err == nil {
			s.MeasuredWeight = &q
		}
	}
	res := Result{Outcome: OutcomeApplied}
	if d.InvoiceNumber == "" {
		return res
	}
	carrier := d.Carrier
	if carrier == nil {
		carrier = s.Carrier
	}
	key := CarrierKey(carrier)
	if !slices.ContainsFunc(s.CarrierInvoices, func(ci CarrierInvoice) bool {
		return ci.Number == d.InvoiceNumber && CarrierKey(ci.Carrier) == key
	}) {
		s.CarrierInvoices = append(s.CarrierInvoices, CarrierInvoice{Number: d.InvoiceNumber, Carrier: carrier, Date: d.InvoiceDate, EventID: in.EventID})
	}
	if p.FreightAudit {
		res.Actions = append(res.Actions, ActionFreightAudit)
	}
	return res
}

// rated reports whether the shipment's charges were rated already.
func (s *Shipment) rated() bool {
	return slices.ContainsFunc(s.Charges, func(c Charge) bool { return c.Source == ChargeRated })
}

// ratingWaived reports whether a person approved billing without rating.
func (s *Shipment) ratingWaived() bool {
	return slices.ContainsFunc(s.Reviews, func(r Review) bool { return r.Kind == ReviewRating && r.Decision == DecisionApprove })
}

// applyInvoiced records the ERP's invoice of a billable shipment and closes
// its billing. The invoice is found again by reference, so a second report
// of the same invoice changes nothing.
func (s *Shipment) applyInvoiced(in Input) Result {
	d, err := decodeData[event.ShipmentInvoicedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	if s.Invoice != nil {
		if s.Invoice.System == d.System && s.Invoice.ExternalID == d.InvoiceID {
			if d.Number != "" {
				s.Invoice.Number = d.Number
			}
			return Result{Outcome: OutcomeLate, Reason: "invoice already recorded"}
		}
		return rejected("shipment already invoiced by %s:%s", s.Invoice.System, s.Invoice.ExternalID)
	}
	if !slices.Contains(trInvoiced.From, s.current()) || !s.Billable {
		return rejected("invoiced while not billable (it is %s): %s", s.State, s.BlockedReason)
	}
	s.Invoice = &InvoiceRef{System: d.System, ExternalID: d.InvoiceID, Number: d.Number, At: in.Time}
	s.milestone(in, false, nil, "")
	s.moveTo(trInvoiced.To)
	s.BlockedReason = ""
	return Result{Outcome: OutcomeApplied}
}

// podBlocked is why a proof of delivery that validation did not pass
// holds billing, with the checks it failed.
func podBlocked(v *PODValidation) string {
	if v.Status == PODFailed && len(v.Problems) > 0 {
		return "not billable: proof of delivery failed validation: " + strings.Join(v.Problems, "; ")
	}
	return "not billable: proof of delivery " + v.Status
}

// applyPickingValidated records the ERP's validation of the shipment's
// picking and, on a delivered shipment, opens the billing gate it held.
// The same validation reported again changes nothing.
func (s *Shipment) applyPickingValidated(in Input, p Policy) Result {
	d, err := decodeData[event.PickingValidatedData](in)
	if err != nil {
		return rejected("invalid data: %v", err)
	}
	if !appliesIn(in.Type, s.State) {
		return rejected("picking validated while the shipment is %s", s.State)
	}
	if pr := s.Picking; pr != nil && pr.ValidatedAt != nil {
		if pr.System == d.System && pr.ExternalID == d.PickingID {
			return Result{Outcome: OutcomeLate, Reason: "picking validation already recorded"}
		}
		return rejected("picking %s:%s already validated for the shipment", pr.System, pr.ExternalID)
	}
	if s.Picking == nil {
		s.Picking = &PickingRecord{RequestedAt: in.Time}
	}
	at := in.Time
	s.Picking.ValidatedAt, s.Picking.System, s.Picking.ExternalID, s.Picking.Name, s.Picking.BackorderID = &at, d.System, d.PickingID, d.Name, d.BackorderID
	if s.State == Exception {
		return Result{Outcome: OutcomeApplied} // billing waits for the exception
	}
	return s.billing(in, p)
}
