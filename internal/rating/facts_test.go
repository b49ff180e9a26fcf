package rating_test

import (
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

var ratComparer = cmp.Comparer(func(a, b *big.Rat) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(b) == 0
})

func tp(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func f64(v float64) *float64 { return &v }

func TestFactsFrom(t *testing.T) {
	t.Parallel()
	got := rating.FactsFrom(loadShipment(t, "acme-ltl-reweigh.json"))
	want := rating.Facts{
		ShipmentID:   "0193a5b0-7c1e-7000-8000-000000000101",
		CustomerRef:  acme,
		CustomerName: "Acme Foods Inc.",
		CarrierRef:   "odoo:res.partner/900",
		CarrierSCAC:  "ODFL",
		Origin: rating.Place{Country: "US", PostalCode: "60431", Region: "IL", City: "Joliet",
			Lat: f64(41.5250), Lon: f64(-88.0817)},
		Destination: rating.Place{Country: "US", PostalCode: "46204", Region: "IN", City: "Indianapolis",
			Lat: f64(39.7684), Lon: f64(-86.1581)},
		DistanceKM:       rat("253.9"),
		WeightKG:         rat("1800"),
		MeasuredWeightKG: rat("2050"),
		HandlingUnits:    i64(4),
		HandlingUnitType: "XPX",
		Pallets:          i64(4),
		Lines: []rating.Line{
			{ID: "1", SKU: "ACME-CAN-12", Quantity: rat("240"), Unit: "C62", Delivered: rat("240"), WeightKG: rat("1200")},
			{ID: "2", SKU: "ACME-JAR-6", Quantity: rat("120"), Unit: "C62", Delivered: rat("118"), WeightKG: rat("600")},
		},
		LoadedAt:     tp("2026-03-02T13:05:00Z"),
		DepartedAt:   tp("2026-03-02T13:40:00Z"),
		ArrivedAt:    tp("2026-03-03T08:10:00Z"),
		DeliveredAt:  tp("2026-03-03T11:15:00Z"),
		DwellMinutes: i64(185),
		Milestones: map[string]time.Time{
			"loaded":    *tp("2026-03-02T13:05:00Z"),
			"departed":  *tp("2026-03-02T13:40:00Z"),
			"arrived":   *tp("2026-03-03T08:10:00Z"),
			"delivered": *tp("2026-03-03T11:15:00Z"),
		},
		References: map[string]string{"po": "PO-77812", "liftgate": "yes"},
		ReportedCharges: []rating.ReportedCharge{
			{Code: "UNL", Type: "lumper", Description: "Lumper receipt #5521", Amount: rat("180"), Currency: "USD"},
		},
	}
	if diff := cmp.Diff(want, got, ratComparer); diff != "" {
		t.Errorf("FactsFrom (-want +got):\n%s", diff)
	}
}

func TestFactsFromDerivations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  string
		edit  func(sh *shipment.Shipment)
		check func(t *testing.T, f rating.Facts)
	}{
		{name: "pounds converted exactly", file: "acme-ltl-minimum.json", check: func(t *testing.T, f rating.Facts) {
			// 660 lb × 0.45359237 kg/lb
			if f.WeightKG.Cmp(rat("299.3709642")) != 0 || f.MeasuredWeightKG.Cmp(rat("301.63892605")) != 0 {
				t.Errorf("got %v / %v kg", f.WeightKG.FloatString(9), f.MeasuredWeightKG.FloatString(9))
			}
		}},
		{name: "pallet alias", file: "acme-ltl-minimum.json", check: func(t *testing.T, f rating.Facts) {
			if f.Pallets == nil || *f.Pallets != 1 || f.HandlingUnitType != "XPX" {
				t.Errorf("got pallets %v type %q, want 1 XPX", f.Pallets, f.HandlingUnitType)
			}
		}},
		{name: "no coordinates, no distance", file: "acme-ltl-minimum.json", check: func(t *testing.T, f rating.Facts) {
			if f.DistanceKM != nil || f.Origin.Lat != nil {
				t.Errorf("got distance %v, want none", f.DistanceKM)
			}
		}},
		{name: "partial pallet counts as one; tonnes", file: "rheinland.json", check: func(t *testing.T, f rating.Facts) {
			if *f.Pallets != 6 || f.WeightKG.Cmp(rat("2400")) != 0 || f.DistanceKM.Cmp(rat("57")) != 0 {
				t.Errorf("got %d pallets, %v kg, %v km; want 6, 2400, 57", *f.Pallets, f.WeightKG, f.DistanceKM)
			}
		}},
		{name: "weight from lines; first delivery that was not late", file: "acme-ftl.json", check: func(t *testing.T, f rating.Facts) {
			if f.WeightKG.Cmp(rat("12000")) != 0 || *f.DeliveredAt != *tp("2026-03-07T06:45:00Z") || *f.DwellMinutes != 855 {
				t.Errorf("got %v kg, delivered %v, dwell %d", f.WeightKG, f.DeliveredAt, *f.DwellMinutes)
			}
			if f.DistanceKM.Cmp(rat("947.5")) != 0 || f.VehicleType != "dry_van_53" {
				t.Errorf("got %v km, vehicle %q", f.DistanceKM, f.VehicleType)
			}
			if len(f.Exceptions) != 1 || f.Exceptions[0] != (rating.Exception{ID: "x1", Category: "address", Status: "resolved", ReasonCode: "A1"}) {
				t.Errorf("got exceptions %+v", f.Exceptions)
			}
		}},
		{name: "a line without weight: no declared weight", file: "acme-ftl.json",
			edit: func(sh *shipment.Shipment) {
				sh.Lines = append(sh.Lines, shipment.Line{LineID: "2", Quantity: sh.Lines[0].Quantity})
			},
			check: func(t *testing.T, f rating.Facts) {
				if f.WeightKG != nil {
					t.Errorf("got %v kg, want none", f.WeightKG)
				}
			}},
		{name: "delivered from the proof of delivery", file: "walk-in.json", check: func(t *testing.T, f rating.Facts) {
			if *f.DeliveredAt != *tp("2026-03-11T10:00:00Z") || *f.DwellMinutes != 160 {
				t.Errorf("got delivered %v, dwell %v", f.DeliveredAt, f.DwellMinutes)
			}
			if f.WeightKG != nil || f.Pallets != nil || f.HandlingUnits != nil {
				t.Errorf("got weight %v, pallets %v; want none", f.WeightKG, f.Pallets)
			}
		}},
		{name: "arrival after delivery is not the dwell's", file: "walk-in.json",
			edit: func(sh *shipment.Shipment) {
				sh.Milestones = append(sh.Milestones, shipment.Milestone{Type: "shipment.arrived", At: *tp("2026-03-11T12:00:00Z"), Late: true})
			},
			check: func(t *testing.T, f rating.Facts) {
				if *f.ArrivedAt != *tp("2026-03-11T07:20:00Z") || *f.DwellMinutes != 160 {
					t.Errorf("got arrived %v, dwell %v", f.ArrivedAt, *f.DwellMinutes)
				}
			}},
		{name: "delivery before arrival: no dwell", file: "walk-in.json",
			edit: func(sh *shipment.Shipment) { sh.Milestones[0].At = *tp("2026-03-11T11:00:00Z") },
			check: func(t *testing.T, f rating.Facts) {
				if f.DwellMinutes != nil || f.ArrivedAt != nil {
					t.Errorf("got arrived %v, dwell %v; want none", f.ArrivedAt, f.DwellMinutes)
				}
			}},
		{name: "coordinates out of range", file: "rheinland.json",
			edit: func(sh *shipment.Shipment) { sh.Origin.Lat = f64(91) },
			check: func(t *testing.T, f rating.Facts) {
				if f.DistanceKM != nil || f.Origin.Lat != nil {
					t.Errorf("got distance %v, want none", f.DistanceKM)
				}
			}},
		{name: "weight in a unit that is not a mass", file: "rheinland.json",
			edit: func(sh *shipment.Shipment) {
				q, _ := quantity.Parse("3", "MTQ")
				sh.Weight = &q
			},
			check: func(t *testing.T, f rating.Facts) {
				if f.WeightKG != nil {
					t.Errorf("got %v kg, want none", f.WeightKG)
				}
			}},
		{name: "facts do not share the shipment's maps", file: "acme-ltl-reweigh.json",
			check: func(t *testing.T, f rating.Facts) {
				if f.References["po"] != "PO-77812" {
					t.Errorf("got po %q", f.References["po"])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sh := loadShipment(t, tt.file)
			if tt.edit != nil {
				tt.edit(sh)
			}
			f := rating.FactsFrom(sh)
			if tt.name == "facts do not share the shipment's maps" {
				sh.References["po"] = "changed"
			}
			tt.check(t, f)
		})
	}

	if got := rating.FactsFrom(nil); got.CustomerRef != "" || got.Lines != nil {
		t.Errorf("FactsFrom(nil): got %+v, want zero Facts", got)
	}
}

// TestFactsInCEL checks how facts look to expressions: unknown facts are
// absent, collections are present, values have their documented types.
func TestFactsInCEL(t *testing.T) {
	t.Parallel()
	full := rating.FactsFrom(loadShipment(t, "acme-ltl-reweigh.json"))
	tests := []struct {
		expr  string
		facts rating.Facts
		want  bool
	}{
		{expr: `!has(facts.weight_kg)`, facts: rating.Facts{}, want: true},
		{expr: `!has(facts.customer_ref) && !has(facts.pallets) && !has(facts.dwell_minutes) && !has(facts.distance_km)`, facts: rating.Facts{}, want: true},
		{expr: `facts.line_count == 0 && size(facts.lines) == 0 && size(facts.references) == 0`, facts: rating.Facts{}, want: true},
		{expr: `size(facts.exceptions) == 0 && size(facts.reported_charges) == 0 && size(facts.milestones) == 0`, facts: rating.Facts{}, want: true},
		{expr: `has(facts.pallets) && facts.pallets == 0`, facts: rating.Facts{Pallets: i64(0)}, want: true}, // zero is known, not absent
		{expr: `facts.weight_kg == decimal("1800") && facts.weight_kg > 1799 && facts.weight_kg < decimal("1800.01")`, facts: full, want: true},
		{expr: `facts.measured_weight_kg - facts.weight_kg == decimal("250")`, facts: full, want: true},
		{expr: `facts.distance_km > 250 && facts.distance_km < 260`, facts: full, want: true},
		{expr: `facts.origin_lat > 41.0 && facts.destination_country == "US"`, facts: full, want: true},
		{expr: `facts.dwell_minutes == 185 && facts.delivered_at - facts.arrived_at == duration("3h5m")`, facts: full, want: true},
		{expr: `facts.milestones.departed < facts.milestones.arrived && !("delayed" in facts.milestones)`, facts: full, want: true},
		{expr: `facts.lines.exists(l, has(l.delivered) && l.delivered < l.quantity)`, facts: full, want: true},
		{expr: `facts.lines.all(l, l.unit == "C62" && l.weight_kg > 0)`, facts: full, want: true},
		{expr: `sum(facts.lines.map(l, l.weight_kg)) == facts.weight_kg`, facts: full, want: true},
		{expr: `facts.reported_charges.exists(c, c.type == "lumper" && c.amount == decimal("180") && !has(c.quantity))`, facts: full, want: true},
		{expr: `facts.references.po.startsWith("PO-")`, facts: full, want: true},
		{expr: `ceil(decimal("2.1")) == decimal("3") && floor(decimal("-2.1")) == decimal("-3")`, facts: full, want: true},
		{expr: `max(decimal("1"), decimal("2")) == decimal("2") && min(decimal("1"), decimal("2")) == decimal("1")`, facts: full, want: true},
		{expr: `-decimal("1.5") + 2 == decimal("0.5") && decimal("1") / 4 == decimal("0.25")`, facts: full, want: true},
		{expr: `dyn(facts).customer_ref == "odoo:res.partner/42"`, facts: full, want: true},
	}
	for i, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			rs := parse(t, fmt.Sprintf("version: x\ncurrency: USD\nrules:\n  - {id: r%d, kind: accessorial, type: other, amount: 1, when: '%s'}\n", i, tt.expr))
			cs, err := rs.Rate(tt.facts)
			if err != nil {
				t.Fatalf("Rate: %v", err)
			}
			if got := len(cs) == 1; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDocListsEveryFact keeps the package documentation in step with the
// facts expressions can read.
func TestDocListsEveryFact(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rating.FactNamesForTest() {
		if !strings.Contains(string(doc), "//\t"+name+" ") {
			t.Errorf("doc.go does not document fact %s", name)
		}
	}
}
