package rating_test

import (
	"fmt"
	"log"

	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

func Example() {
	rules, err := rating.Parse([]byte(`
version: "2026.03"
currency: USD
rules:
  - id: ltl
    kind: freight
    per: kg
    rate: 0.32
    minimum: 145.00
  - id: fuel
    kind: fuel
    percent: 31.5
  - id: liftgate
    kind: accessorial
    type: liftgate
    when: '"liftgate" in facts.references'
    amount: 95.00
`), "rules.yaml")
	if err != nil {
		log.Fatal(err)
	}
	sh := &shipment.Shipment{
		ID:         "SH-1",
		Customer:   &shipment.Party{Ref: "odoo:res.partner/42"},
		References: map[string]string{"liftgate": "yes"},
	}
	weight, err := quantity.Parse("1819.375", "KGM")
	if err != nil {
		log.Fatal(err)
	}
	sh.Weight = &weight
	charges, err := rules.Rate(rating.FactsFrom(sh))
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range charges {
		fmt.Printf("%-8s %-9s %12s  %s\n", c.RuleID, c.Type, c.Amount, c.Calculation)
	}
	// Output:
	// ltl      linehaul    582.20 USD  1819.375 kg × 0.32 USD/kg = 582.20 USD
	// fuel     fuel        183.39 USD  31.5% of linehaul 582.20 USD = 183.393 USD
	// liftgate liftgate     95.00 USD  amount 95.00 USD
}
