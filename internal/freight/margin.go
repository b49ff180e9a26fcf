package freight

import (
	"math/big"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/shipment"
)

// Margin is what a shipment earns: the revenue its customer invoice bills
// for it less the freight cost carriers billed for it. Amounts are
// decimal text in major units of Currency.
type Margin struct {
	ShipmentID string `json:"shipment_id"`
	Currency   string `json:"currency,omitempty"`
	// Invoiced reports that the customer invoice is made; until then
	// Revenue and Margin are empty.
	Invoiced bool `json:"invoiced"`
	// Revenue is the sum of the shipment's charges billed to the customer:
	// the rated ones and those partners reported without a carrier invoice
	// number.
	Revenue string `json:"revenue,omitempty"`
	// FreightCost is the sum of the approved carrier invoices.
	FreightCost string `json:"freight_cost"`
	// PendingCost is the sum of the carrier invoices in review, not yet
	// in FreightCost; disputed ones count nowhere.
	PendingCost string `json:"pending_cost,omitempty"`
	// Margin is Revenue − FreightCost, once invoiced and when both are in
	// Currency.
	Margin string `json:"margin,omitempty"`
	// Note says why Margin is empty, when it is.
	Note string `json:"note,omitempty"`
}

// MarginOf works out the margin of sh from the audits of its carrier
// invoices. It is pure.
func MarginOf(sh *shipment.Shipment, audits []*Audit) Margin {
	m := Margin{ShipmentID: sh.ID, Invoiced: sh.Invoice != nil}
	currencies := map[string]bool{}
	revenue, cost, pending := new(big.Rat), new(big.Rat), new(big.Rat)
	for _, c := range sh.Charges {
		if c.InvoiceNumber != "" && c.Source != shipment.ChargeRated {
			continue // a carrier's invoice: a cost, audited
		}
		currencies[c.Amount.Currency] = true
		m.Currency = c.Amount.Currency
		revenue.Add(revenue, moneyRat(c.Amount))
	}
	hasPending := false
	for _, a := range audits {
		if a.State == StateDisputed {
			continue
		}
		for _, c := range a.Charges {
			currencies[c.Amount.Currency] = true
			if m.Currency == "" {
				m.Currency = c.Amount.Currency
			}
			if a.State == StateApproved {
				cost.Add(cost, moneyRat(c.Amount))
			} else {
				hasPending = true
				pending.Add(pending, moneyRat(c.Amount))
			}
		}
	}
	places := exponent(m.Currency)
	if len(currencies) > 1 {
		m.Currency = ""
		m.FreightCost = ""
		m.Note = "charges in more than one currency: no margin is worked out"
		return m
	}
	m.FreightCost = decimal.FormatFixed(cost, places)
	if hasPending {
		m.PendingCost = decimal.FormatFixed(pending, places)
	}
	if !m.Invoiced {
		m.Note = "not invoiced yet"
		return m
	}
	m.Revenue = decimal.FormatFixed(revenue, places)
	m.Margin = decimal.FormatFixed(new(big.Rat).Sub(revenue, cost), places)
	if hasPending {
		m.Note = "carrier invoices in review are not counted yet"
	}
	return m
}
