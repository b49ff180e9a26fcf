package shipment

import (
	"math/big"
	"slices"
)

// Settling a shipment with the ERP: what comes back after delivery, what
// is credited, and whether anything is left to bill. Connectors ask these
// questions of the shipment; the answers are the workflow's, not theirs.

// WritesOff reports whether e's goods, once approved, are taken back from
// the delivery and scrapped (damaged or missing goods), rather than taken
// back into stock.
func (e *ExceptionRecord) WritesOff() bool { return consequences[e.Category] == ActionStockScrap }

// TakeBacks are the approved exceptions with lines whose consequence is
// one of kinds (ActionPickingReturn, ActionStockScrap), in the order they
// were raised; with no kinds, those of every kind. Their goods come back
// from the delivery and are not invoiced.
func (s *Shipment) TakeBacks(kinds ...string) []ExceptionRecord {
	var out []ExceptionRecord
	for _, e := range s.Exceptions {
		kind, ok := consequences[e.Category]
		if !ok || e.Resolution != ResolutionApproved || len(e.Lines) == 0 {
			continue
		}
		if len(kinds) == 0 || slices.Contains(kinds, kind) {
			out = append(out, e)
		}
	}
	return out
}

// NothingLeftToBill reports whether approved take-backs cover every unit
// loaded, so that an invoice would have no goods on it.
func (s *Shipment) NothingLeftToBill() bool {
	back := map[string]*big.Rat{}
	for _, e := range s.TakeBacks() {
		for _, l := range e.Lines {
			if back[l.LineID] == nil {
				back[l.LineID] = new(big.Rat)
			}
			back[l.LineID].Add(back[l.LineID], l.Quantity.Rat())
		}
	}
	for _, l := range s.Lines {
		if l.Loaded == nil || l.Loaded.Sign() == 0 {
			continue
		}
		if b := back[l.LineID]; b == nil || b.Cmp(l.Loaded.Rat()) < 0 {
			return false
		}
	}
	return true
}

// CreditableException is the exception a credit note is for: the last
// one approved with lines after the shipment was invoiced, whose goods
// came back after they were billed. ok is false when nothing came back
// after the invoice, or the shipment is not invoiced.
func (s *Shipment) CreditableException() (e ExceptionRecord, ok bool) {
	if s.Invoice == nil {
		return ExceptionRecord{}, false
	}
	for _, x := range s.Exceptions {
		if x.Resolution == ResolutionApproved && len(x.Lines) > 0 && x.ResolvedAt != nil && x.ResolvedAt.After(s.Invoice.At) {
			e, ok = x, true
		}
	}
	return e, ok
}
