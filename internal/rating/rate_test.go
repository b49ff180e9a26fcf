package rating_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

const (
	acme      = "odoo:res.partner/42"
	rheinland = "odoo:res.partner/77"
)

// loadExample loads testdata/example.yaml.
func loadExample(t *testing.T) *rating.Rules {
	t.Helper()
	rs, err := rating.Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	return rs
}

// loadShipment reads a canonical shipment from testdata/shipments.
func loadShipment(t testing.TB, name string) *shipment.Shipment {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "shipments", name))
	if err != nil {
		t.Fatal(err)
	}
	var sh shipment.Shipment
	if err := json.Unmarshal(data, &sh); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return &sh
}

// parse compiles an inline rules file, failing the test on error.
func parse(t *testing.T, src string) *rating.Rules {
	t.Helper()
	rs, err := rating.Parse([]byte(src), t.Name()+".yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return rs
}

// summary renders charges one per line: rule, code, type, amount and
// quantity.
func summary(cs []rating.Charge) []string {
	out := []string{}
	for _, c := range cs {
		s := fmt.Sprintf("%s %s %s %s", c.RuleID, c.Code, c.Type, c.Amount)
		if c.Quantity != nil {
			s += fmt.Sprintf(" [%s %s]", c.Quantity.Value, c.Quantity.Unit)
		}
		out = append(out, s)
	}
	return out
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

func i64(v int64) *int64 { return &v }

func TestRateExample(t *testing.T) {
	t.Parallel()
	rs := loadExample(t)

	tests := []struct {
		shipment string
		want     []string
	}{
		{
			shipment: "acme-ltl-reweigh.json",
			want: []string{
				"acme-ltl 400 linehaul 656.00 USD [2050 KGM]", // re-rated: 2050 kg × 0.32
				"acme-reweigh WTV accessorial 35.00 USD [250 KGM]",
				"acme-detention DET detention 93.75 USD [75 MIN]", // 185 − 120 = 65 → 75 min
				"liftgate LFT liftgate 95.00 USD",                 // default: Acme has no liftgate rule
				"acme-lumper UNL lumper 198.00 USD",               // 180.00 + 10 %
				"acme-fuel 405 fuel 206.64 USD",                   // 31.5 % of 656.00
			},
		},
		{
			shipment: "acme-ltl-minimum.json",
			want: []string{
				"acme-ltl 400 linehaul 145.00 USD [299.3709642 KGM]", // 660 lb; minimum applies
				"acme-fuel 405 fuel 45.68 USD",                       // 45.675 half-even
			},
		},
		{
			shipment: "acme-ftl.json",
			want: []string{
				"acme-ftl 400 linehaul 1468.62 USD [947.5 KMT]",     // 1468.625 half-even
				"acme-detention DET detention 600.00 USD [735 MIN]", // 918.75 capped
				"acme-residential RES residential 110.00 USD",
				"acme-redelivery RCL redelivery 125.00 USD",
				"acme-layover LAY layover 350.00 USD",
				"acme-fuel 405 fuel 462.62 USD",
			},
		},
		{
			shipment: "rheinland.json",
			want: []string{
				"rheinland-pallets 400 linehaul 231.00 EUR [6 XPX]", // 5.5 pallets count as 6
				"rheinland-detention DET detention 22.50 EUR [30 MIN]",
				"rheinland-liftgate LFT liftgate 45.00 EUR",
				"rheinland-fuel 405 fuel 42.04 EUR", // 42.042
			},
		},
		{
			shipment: "walk-in.json",
			want: []string{
				"default-freight 400 linehaul 275.00 USD",
				"default-detention DET detention 48.75 USD [45 MIN]", // delivered_at from the POD
				"liftgate LFT liftgate 95.00 USD",
				"default-fuel 405 fuel 79.75 USD",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.shipment, func(t *testing.T) {
			t.Parallel()
			cs, err := rs.Rate(rating.FactsFrom(loadShipment(t, tt.shipment)))
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(cs)); diff != "" {
				t.Errorf("charges (-want +got):\n%s", diff)
			}
			for _, c := range cs {
				if c.RulesVersion != "2026.03" {
					t.Errorf("%s: got rules version %q, want 2026.03", c.RuleID, c.RulesVersion)
				}
				if c.Description == "" || c.Calculation == "" {
					t.Errorf("%s: got empty description or calculation", c.RuleID)
				}
			}
		})
	}
}

func TestRateEvidence(t *testing.T) {
	t.Parallel()
	rs := loadExample(t)
	cs, err := rs.Rate(rating.FactsFrom(loadShipment(t, "acme-ltl-reweigh.json")))
	if err != nil {
		t.Fatal(err)
	}
	byRule := make(map[string]rating.Charge)
	for _, c := range cs {
		byRule[c.RuleID] = c
	}
	tests := []struct {
		rule string
		want map[string]any
	}{
		{rule: "acme-ltl", want: map[string]any{"customer_ref": acme, "weight_kg": "1800", "measured_weight_kg": "2050"}},
		{rule: "acme-reweigh", want: map[string]any{"customer_ref": acme, "weight_kg": "1800", "measured_weight_kg": "2050"}},
		{rule: "acme-detention", want: map[string]any{
			"customer_ref":  acme,
			"dwell_minutes": int64(185),
			"arrived_at":    time.Date(2026, 3, 3, 8, 10, 0, 0, time.UTC),
			"delivered_at":  time.Date(2026, 3, 3, 11, 15, 0, 0, time.UTC),
		}},
		{rule: "liftgate", want: map[string]any{
			"customer_ref": acme,
			"references":   map[string]any{"po": "PO-77812", "liftgate": "yes"},
		}},
		{rule: "acme-fuel", want: map[string]any{"customer_ref": acme, "linehaul_amount": "656.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			c, ok := byRule[tt.rule]
			if !ok {
				t.Fatalf("no charge from rule %s", tt.rule)
			}
			if diff := cmp.Diff(tt.want, c.Facts); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
		})
	}
	if got := byRule["acme-ltl"].ReratedBy; got != "acme-reweigh" {
		t.Errorf("acme-ltl: got rerated_by %q, want acme-reweigh", got)
	}
	lumper := byRule["acme-lumper"].Facts["reported_charges"]
	want := []any{map[string]any{"code": "UNL", "type": "lumper", "description": "Lumper receipt #5521", "amount": "180", "currency": "USD"}}
	if diff := cmp.Diff(want, lumper); diff != "" {
		t.Errorf("acme-lumper reported_charges (-want +got):\n%s", diff)
	}
}

func TestRateFreightBasesAndMinimums(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: flat, kind: freight, customers: [flat], per: shipment, rate: 180}
  - {id: kg, kind: freight, customers: [kg], per: kg, rate: "0.085", minimum: 95.00}
  - {id: pallet, kind: freight, customers: [pallet], per: pallet, rate: 42.5, minimum: 60}
  - {id: km, kind: freight, customers: [km], per: km, rate: 1.2, minimum: 150}
  - id: tiered
    kind: freight
    customers: [tiered]
    amount: 'facts.weight_kg <= 1000 ? facts.weight_kg * decimal("0.12") : facts.weight_kg * decimal("0.09")'
    minimum: 50
`)
	tests := []struct {
		name  string
		facts rating.Facts
		want  []string
	}{
		{name: "per shipment", facts: rating.Facts{CustomerRef: "flat"}, want: []string{"flat 400 linehaul 180.00 USD"}},
		{name: "per kg above minimum", facts: rating.Facts{CustomerRef: "kg", WeightKG: rat("2000")},
			want: []string{"kg 400 linehaul 170.00 USD [2000 KGM]"}},
		{name: "per kg at minimum", facts: rating.Facts{CustomerRef: "kg", WeightKG: rat("1117.64")}, // 94.9994
			want: []string{"kg 400 linehaul 95.00 USD [1117.64 KGM]"}},
		{name: "per kg just above minimum", facts: rating.Facts{CustomerRef: "kg", WeightKG: rat("1117.7")}, // 95.0045
			want: []string{"kg 400 linehaul 95.00 USD [1117.7 KGM]"}},
		{name: "per pallet", facts: rating.Facts{CustomerRef: "pallet", Pallets: i64(3)},
			want: []string{"pallet 400 linehaul 127.50 USD [3 XPX]"}},
		{name: "per pallet minimum", facts: rating.Facts{CustomerRef: "pallet", Pallets: i64(1)},
			want: []string{"pallet 400 linehaul 60.00 USD [1 XPX]"}},
		{name: "per km", facts: rating.Facts{CustomerRef: "km", DistanceKM: rat("412.3")},
			want: []string{"km 400 linehaul 494.76 USD [412.3 KMT]"}},
		{name: "CEL amount low tier", facts: rating.Facts{CustomerRef: "tiered", WeightKG: rat("800")},
			want: []string{"tiered 400 linehaul 96.00 USD"}},
		{name: "CEL amount high tier", facts: rating.Facts{CustomerRef: "tiered", WeightKG: rat("1500")},
			want: []string{"tiered 400 linehaul 135.00 USD"}},
		{name: "CEL amount minimum", facts: rating.Facts{CustomerRef: "tiered", WeightKG: rat("100")},
			want: []string{"tiered 400 linehaul 50.00 USD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := rs.Rate(tt.facts)
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(cs)); diff != "" {
				t.Errorf("charges (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateCustomerSelection(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: acme-light, kind: freight, customers: [A], when: facts.weight_kg < 1000, per: shipment, rate: 100}
  - {id: acme-heavy, kind: freight, customers: [A], when: facts.weight_kg >= 1000, per: shipment, rate: 300}
  - {id: beta, kind: freight, customers: [B, C], per: shipment, rate: 150}
  - {id: default, kind: freight, default: true, per: shipment, rate: 200}
  - {id: all-liftgate, kind: accessorial, type: liftgate, when: '"liftgate" in facts.references', amount: 50}
  - {id: a-fuel, kind: fuel, customers: [A], percent: 10}
`)
	tests := []struct {
		name  string
		facts rating.Facts
		want  []string
	}{
		{name: "customer rule", facts: rating.Facts{CustomerRef: "A", WeightKG: rat("500")},
			want: []string{"acme-light 400 linehaul 100.00 USD", "a-fuel 405 fuel 10.00 USD"}},
		{name: "customer rule by when", facts: rating.Facts{CustomerRef: "A", WeightKG: rat("1000")},
			want: []string{"acme-heavy 400 linehaul 300.00 USD", "a-fuel 405 fuel 30.00 USD"}},
		{name: "one of several customers", facts: rating.Facts{CustomerRef: "C"}, want: []string{"beta 400 linehaul 150.00 USD"}},
		{name: "default for others", facts: rating.Facts{CustomerRef: "Z"}, want: []string{"default 400 linehaul 200.00 USD"}},
		{name: "default for unknown customer", facts: rating.Facts{}, want: []string{"default 400 linehaul 200.00 USD"}},
		{name: "rule for everyone", facts: rating.Facts{CustomerRef: "B", References: map[string]string{"liftgate": "1"}},
			want: []string{"beta 400 linehaul 150.00 USD", "all-liftgate LFT liftgate 50.00 USD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := rs.Rate(tt.facts)
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(cs)); diff != "" {
				t.Errorf("charges (-want +got):\n%s", diff)
			}
		})
	}

	// A default never stands in for a named customer, even when none of
	// that customer's rules apply.
	_, err := rs.Rate(rating.Facts{CustomerRef: "A"})
	if !errors.Is(err, rating.ErrUnknownFact) {
		t.Errorf("customer A without weight: got error %v, want ErrUnknownFact", err)
	}
}

func TestRateDetention(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: det15, kind: detention, customers: [d15], free_time: 2h, increment: 15m, hourly_rate: 75, maximum: 300}
  - {id: det1, kind: detention, customers: [d1], free_time: 90m, hourly_rate: "62.50"}
  - {id: det-none, kind: detention, customers: [d0], free_time: 0s, increment: 1h, hourly_rate: 40}
  - id: det-origin
    kind: detention
    customers: [origin]
    free_time: 1h
    increment: 30m
    hourly_rate: 60
    minutes: 'int((facts.departed_at - facts.loaded_at).getMinutes())'
`)
	at := func(h, m int) *time.Time {
		t := time.Date(2026, 3, 2, h, m, 0, 0, time.UTC)
		return &t
	}
	tests := []struct {
		name  string
		facts rating.Facts
		want  []string
	}{
		{name: "within free time", facts: rating.Facts{CustomerRef: "d15", DwellMinutes: i64(120)}, want: []string{}},
		{name: "one minute over", facts: rating.Facts{CustomerRef: "d15", DwellMinutes: i64(121)},
			want: []string{"det15 DET detention 18.75 USD [15 MIN]"}},
		{name: "exact increment", facts: rating.Facts{CustomerRef: "d15", DwellMinutes: i64(150)},
			want: []string{"det15 DET detention 37.50 USD [30 MIN]"}},
		{name: "rounded up", facts: rating.Facts{CustomerRef: "d15", DwellMinutes: i64(151)},
			want: []string{"det15 DET detention 56.25 USD [45 MIN]"}},
		{name: "capped", facts: rating.Facts{CustomerRef: "d15", DwellMinutes: i64(600)},
			want: []string{"det15 DET detention 300.00 USD [480 MIN]"}},
		{name: "per minute", facts: rating.Facts{CustomerRef: "d1", DwellMinutes: i64(97)}, // 7 min × 62.50/60 = 7.291666…
			want: []string{"det1 DET detention 7.29 USD [7 MIN]"}},
		{name: "no free time", facts: rating.Facts{CustomerRef: "d0", DwellMinutes: i64(1)},
			want: []string{"det-none DET detention 40.00 USD [60 MIN]"}},
		{name: "minutes from CEL", facts: rating.Facts{CustomerRef: "origin", LoadedAt: at(6, 0), DepartedAt: at(8, 10)},
			want: []string{"det-origin DET detention 90.00 USD [90 MIN]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := rs.Rate(tt.facts)
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(cs)); diff != "" {
				t.Errorf("charges (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateDetentionFromShipment(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: det, kind: detention, when: has(facts.dwell_minutes), free_time: 2h, increment: 15m, hourly_rate: 75}
`)
	sh := loadShipment(t, "acme-ltl-reweigh.json")
	cs, err := rs.Rate(rating.FactsFrom(sh))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"det DET detention 93.75 USD [75 MIN]"}, summary(cs)); diff != "" {
		t.Errorf("charges (-want +got):\n%s", diff)
	}
	sh.Milestones = nil // no arrival: no dwell, the when guard skips the rule
	sh.POD = nil
	cs, err = rs.Rate(rating.FactsFrom(sh))
	if err != nil || len(cs) != 0 {
		t.Errorf("without milestones: got %v, %v; want no charges", summary(cs), err)
	}
}

func TestRateFuelIsPercentOfLinehaulOnly(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: fsc, kind: fuel, percent: "18.2"}
  - {id: freight, kind: freight, per: shipment, rate: 2000}
  - {id: extra-linehaul, kind: freight, when: '"stop_off" in facts.references', amount: 450}
  - {id: liftgate, kind: accessorial, type: liftgate, amount: 95}
  - {id: det, kind: detention, free_time: 0s, hourly_rate: 60}
`)
	cs, err := rs.Rate(rating.Facts{DwellMinutes: i64(60), References: map[string]string{"stop_off": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fsc 405 fuel 445.90 USD", // 18.2 % of 2450.00, before the freight in the file but rated after it
		"freight 400 linehaul 2000.00 USD",
		"extra-linehaul 400 linehaul 450.00 USD",
		"liftgate LFT liftgate 95.00 USD",
		"det DET detention 60.00 USD [60 MIN]",
	}
	if diff := cmp.Diff(want, summary(cs)); diff != "" {
		t.Errorf("charges (-want +got):\n%s", diff)
	}
	if got := cs[0].Facts["linehaul_amount"]; got != "2450.00" {
		t.Errorf("fuel evidence: got linehaul_amount %v, want 2450.00", got)
	}

	// No linehaul, no fuel.
	rs = parse(t, `
version: "t1"
currency: USD
rules:
  - {id: fsc, kind: fuel, percent: 30}
  - {id: liftgate, kind: accessorial, type: liftgate, amount: 95}
`)
	cs, err = rs.Rate(rating.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"liftgate LFT liftgate 95.00 USD"}, summary(cs)); diff != "" {
		t.Errorf("charges (-want +got):\n%s", diff)
	}

	// Linehaul in another currency is an error, not a silent conversion.
	rs = parse(t, `
version: "t1"
currency: USD
rules:
  - {id: freight, kind: freight, currency: EUR, per: shipment, rate: 100}
  - {id: fsc, kind: fuel, percent: 30}
`)
	_, err = rs.Rate(rating.Facts{})
	var re *rating.RateError
	if !errors.As(err, &re) || re.RuleID != "fsc" {
		t.Errorf("mixed currencies: got %v, want a RateError for rule fsc", err)
	}
}

func TestRateReweigh(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: ltl, kind: freight, per: kg, rate: "0.20", minimum: 50}
  - {id: flat, kind: freight, customers: [flat], per: shipment, rate: 100}
  - {id: rw-pct, kind: reweigh, customers: [pct], tolerance_percent: 2, fee: 25}
  - {id: rw-kg, kind: reweigh, customers: [kg], tolerance_kg: 10}
  - {id: rw-both, kind: reweigh, default: true, tolerance_percent: 2, tolerance_kg: 10}
`)
	tests := []struct {
		name         string
		customer     string
		declared     string
		measured     string
		want         []string
		wantRerated  string
		wantEvidence bool
	}{
		{name: "percent inside", customer: "pct", declared: "1000", measured: "1020",
			want: []string{"ltl 400 linehaul 200.00 USD [1000 KGM]"}, wantEvidence: true},
		{name: "percent beyond", customer: "pct", declared: "1000", measured: "1020.5",
			want:        []string{"ltl 400 linehaul 204.10 USD [1020.5 KGM]", "rw-pct WTV accessorial 25.00 USD [20.5 KGM]"},
			wantRerated: "rw-pct", wantEvidence: true},
		{name: "absolute inside", customer: "kg", declared: "100", measured: "110",
			want: []string{"ltl 400 linehaul 50.00 USD [100 KGM]"}, wantEvidence: true},
		{name: "absolute beyond", customer: "kg", declared: "300", measured: "310.1",
			want: []string{"ltl 400 linehaul 62.02 USD [310.1 KGM]"}, wantRerated: "rw-kg", wantEvidence: true},
		{name: "both: beyond percent only", customer: "other", declared: "100", measured: "105",
			want: []string{"ltl 400 linehaul 50.00 USD [100 KGM]"}, wantEvidence: true},
		{name: "both: beyond both", customer: "other", declared: "1000", measured: "1100",
			want: []string{"ltl 400 linehaul 220.00 USD [1100 KGM]"}, wantRerated: "rw-both", wantEvidence: true},
		{name: "lighter than declared", customer: "other", declared: "1000", measured: "900",
			want: []string{"ltl 400 linehaul 200.00 USD [1000 KGM]"}, wantEvidence: true},
		{name: "no measured weight", customer: "pct", declared: "1000",
			want: []string{"ltl 400 linehaul 200.00 USD [1000 KGM]"}},
		{name: "weight-based freight only", customer: "flat", declared: "1000", measured: "2000",
			want:        []string{"ltl 400 linehaul 400.00 USD [2000 KGM]", "flat 400 linehaul 100.00 USD"},
			wantRerated: "rw-both", wantEvidence: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := rating.Facts{CustomerRef: tt.customer, WeightKG: rat(tt.declared)}
			if tt.measured != "" {
				f.MeasuredWeightKG = rat(tt.measured)
			}
			cs, err := rs.Rate(f)
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if diff := cmp.Diff(tt.want, summary(cs)); diff != "" {
				t.Errorf("charges (-want +got):\n%s", diff)
			}
			ltl := cs[0]
			if ltl.ReratedBy != tt.wantRerated {
				t.Errorf("got rerated_by %q, want %q", ltl.ReratedBy, tt.wantRerated)
			}
			wantFacts := map[string]any{"weight_kg": tt.declared}
			if tt.wantEvidence {
				wantFacts["measured_weight_kg"] = tt.measured
			}
			if diff := cmp.Diff(wantFacts, ltl.Facts); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
		})
	}

	// Two reweigh rules that both apply are an error.
	two := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: rw1, kind: reweigh, tolerance_kg: 1}
  - {id: rw2, kind: reweigh, tolerance_kg: 2}
`)
	_, err := two.Rate(rating.Facts{WeightKG: rat("1"), MeasuredWeightKG: rat("5")})
	var re *rating.RateError
	if !errors.As(err, &re) || re.RuleID != "rw2" {
		t.Errorf("two reweigh rules: got %v, want a RateError for rw2", err)
	}
}

func TestRateMissingFacts(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: km-guarded, kind: freight, customers: [guarded], when: has(facts.distance_km), per: km, rate: 1.5}
  - {id: km-unguarded, kind: freight, customers: [unguarded], per: km, rate: 1.5}
  - {id: cel-unguarded, kind: accessorial, type: other, customers: [cel], when: facts.destination_country == "US", amount: 10}
  - {id: det-unguarded, kind: detention, customers: [det], free_time: 2h, hourly_rate: 60}
  - {id: pallets-unguarded, kind: freight, customers: [pallets], per: pallet, rate: 40}
`)
	tests := []struct {
		name     string
		facts    rating.Facts
		wantRule string
		wantKey  string
		wantFact string
	}{
		{name: "per km with when", facts: rating.Facts{CustomerRef: "guarded"}},
		{name: "per km without when", facts: rating.Facts{CustomerRef: "unguarded"}, wantRule: "km-unguarded", wantKey: "per", wantFact: "distance_km"},
		{name: "CEL reads an unknown fact", facts: rating.Facts{CustomerRef: "cel"}, wantRule: "cel-unguarded", wantKey: "when", wantFact: "destination_country"},
		{name: "detention without dwell", facts: rating.Facts{CustomerRef: "det"}, wantRule: "det-unguarded", wantFact: "dwell_minutes"},
		{name: "per pallet without pallets", facts: rating.Facts{CustomerRef: "pallets"}, wantRule: "pallets-unguarded", wantKey: "per", wantFact: "pallets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := rs.Rate(tt.facts)
			if tt.wantRule == "" {
				if err != nil || len(cs) != 0 {
					t.Fatalf("got %v, %v; want no charges and no error", summary(cs), err)
				}
				return
			}
			if !errors.Is(err, rating.ErrUnknownFact) {
				t.Fatalf("got error %v, want ErrUnknownFact", err)
			}
			var re *rating.RateError
			if !errors.As(err, &re) || re.RuleID != tt.wantRule || re.Key != tt.wantKey {
				t.Fatalf("got %#v, want a RateError for rule %s key %q", err, tt.wantRule, tt.wantKey)
			}
			if !strings.Contains(err.Error(), tt.wantFact) {
				t.Errorf("got %q, want it to name %s", err, tt.wantFact)
			}
		})
	}

	// Coordinates at one end only give no distance.
	sh := loadShipment(t, "acme-ftl-no-coordinates.json")
	if f := rating.FactsFrom(sh); f.DistanceKM != nil {
		t.Errorf("one end without coordinates: got distance %v, want none", f.DistanceKM)
	}
	_, err := loadExample(t).Rate(rating.FactsFrom(sh))
	var re *rating.RateError
	if !errors.As(err, &re) || re.RuleID != "acme-ftl" || !errors.Is(err, rating.ErrUnknownFact) {
		t.Errorf("example without coordinates: got %v, want ErrUnknownFact from acme-ftl", err)
	}
}

func TestRateRoundingHalfEven(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount   string
		currency string
		want     string
	}{
		{amount: `"0.125"`, currency: "USD", want: "0.12 USD"},
		{amount: `"0.135"`, currency: "USD", want: "0.14 USD"},
		{amount: `"2.675"`, currency: "USD", want: "2.68 USD"},
		{amount: `"2.665"`, currency: "USD", want: "2.66 USD"},
		{amount: `"2.6650001"`, currency: "USD", want: "2.67 USD"},
		{amount: `decimal("10") / 3`, currency: "USD", want: "3.33 USD"},
		{amount: `decimal("20") / 3`, currency: "USD", want: "6.67 USD"},
		{amount: `"100.5"`, currency: "JPY", want: "100 JPY"},
		{amount: `"101.5"`, currency: "JPY", want: "102 JPY"},
		{amount: `"1.2345"`, currency: "KWD", want: "1.234 KWD"},
		{amount: `"1.2355"`, currency: "KWD", want: "1.236 KWD"},
		// Rounded once, at the end: 3 × 0.335 = 1.005 → 1.00, whereas
		// rounding 0.335 first would give 3 × 0.34 = 1.02.
		{amount: `decimal("0.335") * 3`, currency: "USD", want: "1.00 USD"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+" "+tt.amount, func(t *testing.T) {
			t.Parallel()
			rs := parse(t, fmt.Sprintf(`
version: "t1"
currency: %s
rules:
  - id: a
    kind: accessorial
    type: other
    amount: '%s'
`, tt.currency, tt.amount))
			cs, err := rs.Rate(rating.Facts{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].Amount.String() != tt.want {
				t.Errorf("got %v, want %s", summary(cs), tt.want)
			}
		})
	}

	// A charge that rounds to zero is not emitted.
	rs := parse(t, "version: x\ncurrency: USD\nrules:\n  - {id: z, kind: accessorial, type: other, amount: '\"0.004\"'}\n")
	if cs, err := rs.Rate(rating.Facts{}); err != nil || len(cs) != 0 {
		t.Errorf("0.004 USD: got %v, %v; want no charge", summary(cs), err)
	}
}

func TestRateErrorsNameTheRule(t *testing.T) {
	t.Parallel()
	rs := parse(t, `
version: "t1"
currency: USD
rules:
  - {id: ok, kind: accessorial, type: other, amount: 1}
  - {id: div0, kind: accessorial, type: other, customers: [div0], amount: 'decimal("10") / (facts.line_count - facts.line_count)'}
  - {id: negative, kind: accessorial, type: other, customers: [neg], amount: 'decimal("-5")'}
  - {id: bad-text, kind: accessorial, type: other, customers: [text], amount: '"12,50"'}
  - {id: dyn-type, kind: accessorial, type: other, customers: [dyn], amount: 'dyn(facts.line_count)'}
  - {id: dyn-when, kind: accessorial, type: other, customers: [dynwhen], when: 'dyn(facts.line_count)', amount: 1}
  - {id: nested, kind: accessorial, type: other, customers: [nested], amount: 'sum(facts.lines.map(l, l.weight_kg))'}
  - {id: neg-minutes, kind: detention, customers: [negmin], free_time: 0s, hourly_rate: 1, minutes: '-5'}
`)
	tests := []struct {
		customer string
		wantRule string
		wantKey  string
		wantText string
	}{
		{customer: "div0", wantRule: "div0", wantKey: "amount", wantText: "division by zero"},
		{customer: "neg", wantRule: "negative", wantKey: "amount", wantText: "negative"},
		{customer: "text", wantRule: "bad-text", wantKey: "amount", wantText: "12,50"},
		{customer: "dyn", wantRule: "dyn-type", wantKey: "amount", wantText: "int"},
		{customer: "dynwhen", wantRule: "dyn-when", wantKey: "when", wantText: "want bool"},
		{customer: "nested", wantRule: "nested", wantKey: "amount", wantText: "line field weight_kg is unknown"},
		{customer: "negmin", wantRule: "neg-minutes", wantKey: "minutes", wantText: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.wantRule, func(t *testing.T) {
			t.Parallel()
			_, err := rs.Rate(rating.Facts{CustomerRef: tt.customer, Lines: []rating.Line{{ID: "1"}}})
			var re *rating.RateError
			if !errors.As(err, &re) {
				t.Fatalf("got error %v, want a *RateError", err)
			}
			if re.RuleID != tt.wantRule || re.Key != tt.wantKey {
				t.Errorf("got rule %q key %q, want %q %q", re.RuleID, re.Key, tt.wantRule, tt.wantKey)
			}
			if !strings.Contains(err.Error(), "rule "+tt.wantRule) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %q, want it to name rule %s and say %q", err, tt.wantRule, tt.wantText)
			}
		})
	}
}

func TestRateIsDeterministic(t *testing.T) {
	t.Parallel()
	rs := loadExample(t)
	facts := rating.FactsFrom(loadShipment(t, "acme-ftl.json"))
	first, err := rs.Rate(facts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent calls on the same Rules and Facts give identical results.
	var wg sync.WaitGroup
	results := make([][]byte, 8)
	errs := make([]error, len(results))
	for i := range results {
		wg.Go(func() {
			for range 5 {
				cs, err := rs.Rate(facts)
				if err != nil {
					errs[i] = err
					return
				}
				results[i], errs[i] = json.Marshal(cs)
			}
		})
	}
	wg.Wait()
	for i, got := range results {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if string(got) != string(want) {
			t.Errorf("goroutine %d: got\n%s\nwant\n%s", i, got, want)
		}
	}
}
