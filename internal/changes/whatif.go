package changes

import (
	"context"
	"slices"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// WhatIf is a rules change tried on recently billed shipments: each rated
// with the approved rules and with the proposed ones.
type WhatIf struct {
	// OldVersion and NewVersion are the rules' versions.
	OldVersion string `json:"old_version"`
	NewVersion string `json:"new_version"`
	// Sampled is how many shipments were rated; Changed how many of them
	// the change charges differently.
	Sampled int `json:"sampled"`
	Changed int `json:"changed"`
	// Shipments are the sampled shipments, newest first.
	Shipments []ShipmentWhatIf `json:"shipments"`
}

// ShipmentWhatIf is one shipment rated both ways.
type ShipmentWhatIf struct {
	ShipmentID string `json:"shipment_id"`
	// Changed says the totals or lines differ.
	Changed bool `json:"changed"`
	// Old and New are the charges with the approved and the proposed
	// rules.
	Old WhatIfRating `json:"old"`
	New WhatIfRating `json:"new"`
}

// WhatIfRating is one rating of a shipment: its charge lines and totals per
// currency, or the error that stopped it.
type WhatIfRating struct {
	Lines  []WhatIfLine  `json:"lines"`
	Totals []money.Money `json:"totals"`
	Error  string        `json:"error,omitempty"`
}

// WhatIfLine is one charge line.
type WhatIfLine struct {
	RuleID      string      `json:"rule_id"`
	Code        string      `json:"code"`
	Type        string      `json:"type"`
	Description string      `json:"description"`
	Amount      money.Money `json:"amount"`
	Calculation string      `json:"calculation"`
}

// TryRules rates each shipment with old and new. Shipments keep their
// order. As when billing, a shipment's own rated charges are left out of
// the facts: rules see what partners reported.
func TryRules(old, new *rating.Rules, ships []*shipment.Shipment) *WhatIf {
	w := &WhatIf{OldVersion: old.Version(), NewVersion: new.Version(), Shipments: []ShipmentWhatIf{}}
	for _, sh := range ships {
		reported := *sh
		reported.Charges = slices.DeleteFunc(slices.Clone(sh.Charges), func(c shipment.Charge) bool { return c.Source == shipment.ChargeRated })
		facts := rating.FactsFrom(&reported)
		s := ShipmentWhatIf{ShipmentID: sh.ID, Old: rate(old, facts), New: rate(new, facts)}
		s.Changed = !sameRating(s.Old, s.New)
		if s.Changed {
			w.Changed++
		}
		w.Shipments = append(w.Shipments, s)
	}
	w.Sampled = len(w.Shipments)
	return w
}

func rate(rules *rating.Rules, facts rating.Facts) WhatIfRating {
	charges, err := rules.Rate(facts)
	if err != nil {
		return WhatIfRating{Lines: []WhatIfLine{}, Totals: []money.Money{}, Error: err.Error()}
	}
	r := WhatIfRating{Lines: make([]WhatIfLine, 0, len(charges)), Totals: []money.Money{}}
	for _, c := range charges {
		r.Lines = append(r.Lines, WhatIfLine{RuleID: c.RuleID, Code: c.Code, Type: string(c.Type), Description: c.Description,
			Amount: c.Amount, Calculation: c.Calculation})
		i := slices.IndexFunc(r.Totals, func(m money.Money) bool { return m.Currency == c.Amount.Currency })
		if i < 0 {
			r.Totals = append(r.Totals, c.Amount)
			continue
		}
		sum, err := r.Totals[i].Add(c.Amount)
		if err != nil {
			return WhatIfRating{Lines: []WhatIfLine{}, Totals: []money.Money{}, Error: "totalling charges: " + err.Error()}
		}
		r.Totals[i] = sum
	}
	return r
}

// sameRating compares what is billed: amounts, codes and types, not the
// explanations.
func sameRating(a, b WhatIfRating) bool {
	if a.Error != b.Error || !slices.Equal(a.Totals, b.Totals) || len(a.Lines) != len(b.Lines) {
		return false
	}
	for i := range a.Lines {
		x, y := a.Lines[i], b.Lines[i]
		if x.Code != y.Code || x.Type != y.Type || x.Amount != y.Amount || x.Description != y.Description {
			return false
		}
	}
	return true
}

// billedStates are the states of shipments that were rated for billing.
var billedStates = []shipment.State{shipment.Delivered, shipment.Invoiced, shipment.Closed}

// BilledSample returns the n most recently created shipments that carry
// rated charges (delivered, invoiced or closed): the shipments a what-if
// report tries a rules change on.
func BilledSample(store *workflow.Store) func(ctx context.Context, n int) ([]*shipment.Shipment, error) {
	return func(ctx context.Context, n int) ([]*shipment.Shipment, error) {
		var all []*shipment.Shipment
		for _, st := range billedStates {
			cursor := ""
			for {
				page, next, err := store.List(ctx, workflow.ListParams{State: st, Limit: 500, Cursor: cursor})
				if err != nil {
					return nil, err
				}
				for _, sh := range page {
					if slices.ContainsFunc(sh.Charges, func(c shipment.Charge) bool { return c.Source == shipment.ChargeRated }) {
						all = append(all, sh)
					}
				}
				if len(all) > 4*n {
					// Keep memory bounded: only the newest matter.
					slices.SortFunc(all, newestFirst)
					all = all[:n]
				}
				if next == "" {
					break
				}
				cursor = next
			}
		}
		slices.SortFunc(all, newestFirst)
		return all[:min(n, len(all))], nil
	}
}

// newestFirst orders shipments by creation, newest first; ids (UUIDv7)
// break ties.
func newestFirst(a, b *shipment.Shipment) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}
