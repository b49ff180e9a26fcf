package rating

import (
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/decimal"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
)

// Facts is what rules can know about a shipment, derived from the
// canonical shipment by [FactsFrom]. Rules see it in CEL as the variable
// facts; the package documentation lists every fact with its CEL name,
// type and unit.
//
// An unknown fact is absent, never zero: an empty string, a nil pointer or
// a nil map. Collections (lines, exceptions, milestones, references,
// reported charges) are always present in CEL, possibly empty.
//
// Rate reads Facts and never changes it; a Facts value must not be changed
// while Rate runs.
type Facts struct {
	ShipmentID   string
	CustomerRef  string
	CustomerName string
	CarrierRef   string
	CarrierSCAC  string
	VehicleType  string
	Origin       Place
	Destination  Place
	// DistanceKM is the great-circle distance from origin to destination,
	// in kilometres rounded to 0.1 km; nil unless both have coordinates.
	DistanceKM *big.Rat
	// WeightKG is the declared weight in kilograms.
	WeightKG *big.Rat
	// MeasuredWeightKG is the weight measured by a scale (carrier reweigh,
	// loading), in kilograms.
	MeasuredWeightKG *big.Rat
	// HandlingUnits is the number of handling units of any kind, a partial
	// unit counted as one; HandlingUnitType is their UN/ECE Rec 20 code.
	HandlingUnits    *int64
	HandlingUnitType string
	// Pallets is HandlingUnits when the handling units are pallets (XPX).
	Pallets *int64
	Lines   []Line
	// LoadedAt, DepartedAt, ArrivedAt and DeliveredAt are milestone times
	// in UTC. ArrivedAt is the last arrival at or before delivery.
	LoadedAt    *time.Time
	DepartedAt  *time.Time
	ArrivedAt   *time.Time
	DeliveredAt *time.Time
	// DwellMinutes is DeliveredAt − ArrivedAt in whole minutes, rounded
	// down; nil unless both are known and in that order.
	DwellMinutes *int64
	// Milestones maps a milestone type without its "shipment." prefix
	// (loaded, departed, arrived, delayed, delivered, …) to its first time.
	Milestones      map[string]time.Time
	Exceptions      []Exception
	References      map[string]string
	ReportedCharges []ReportedCharge
}

// Place is the part of an origin or destination that rules can use.
type Place struct {
	Country    string
	PostalCode string
	Region     string
	City       string
	Lat        *float64
	Lon        *float64
}

// Line is one shipment line as rules see it.
type Line struct {
	ID       string
	SKU      string
	Quantity *big.Rat
	// Unit is the UN/ECE Rec 20 code of Quantity and Delivered.
	Unit string
	// Delivered is the quantity signed for; nil before delivery.
	Delivered *big.Rat
	WeightKG  *big.Rat
}

// Exception is an exception raised on the shipment.
type Exception struct {
	ID         string
	Category   string
	Status     string
	ReasonCode string
}

// ReportedCharge is a charge a carrier or partner reported for the
// shipment, such as a lumper receipt.
type ReportedCharge struct {
	Code        string
	Type        string
	Description string
	// Amount is in major units of Currency.
	Amount        *big.Rat
	Currency      string
	Quantity      *big.Rat
	Unit          string
	InvoiceNumber string
}

// earthRadiusKM is the mean radius of the earth (IUGG).
const earthRadiusKM = 6371.0088

// FactsFrom derives the facts rules can use from the canonical shipment. It
// never fails: a value that cannot be read (a weight in a unit that is not
// a mass, coordinates out of range) leaves its fact absent.
func FactsFrom(sh *shipment.Shipment) Facts {
	var f Facts
	if sh == nil {
		return f
	}
	f.ShipmentID = sh.ID
	if c := sh.Customer; c != nil {
		f.CustomerRef, f.CustomerName = c.Ref, c.Name
	}
	if c := sh.Carrier; c != nil {
		f.CarrierRef, f.CarrierSCAC = c.Ref, c.SCAC
	}
	if v := sh.Vehicle; v != nil {
		f.VehicleType = v.Type
	}
	f.Origin, f.Destination = placeFrom(sh.Origin), placeFrom(sh.Destination)
	f.DistanceKM = distanceKM(f.Origin, f.Destination)

	f.WeightKG = kilograms(sh.Weight)
	if f.WeightKG == nil {
		f.WeightKG = lineWeights(sh.Lines)
	}
	f.MeasuredWeightKG = kilograms(sh.MeasuredWeight)

	if hu := sh.HandlingUnits; hu != nil && hu.Unit() != "" && hu.Sign() >= 0 {
		if n := decimal.Ceil(hu.Rat()); n.IsInt64() {
			count := n.Int64()
			f.HandlingUnits, f.HandlingUnitType = &count, string(hu.Unit())
			if hu.Unit() == quantity.XPX {
				f.Pallets = &count
			}
		}
	}

	for _, l := range sh.Lines {
		line := Line{ID: l.LineID, SKU: l.SKU, Unit: string(l.Quantity.Unit()), WeightKG: kilograms(l.Weight)}
		if l.Quantity.Unit() != "" {
			line.Quantity = l.Quantity.Rat()
		}
		if l.Delivered != nil && l.Quantity.Unit() != "" {
			if d, err := l.Delivered.In(l.Quantity.Unit()); err == nil {
				line.Delivered = d.Rat()
			}
		}
		f.Lines = append(f.Lines, line)
	}

	milestoneFacts(&f, sh)

	for _, e := range sh.Exceptions {
		f.Exceptions = append(f.Exceptions, Exception{ID: e.ID, Category: string(e.Category), Status: string(e.Status), ReasonCode: e.ReasonCode})
	}
	if len(sh.References) > 0 {
		f.References = maps.Clone(sh.References)
	}
	for _, c := range sh.Charges {
		rc := ReportedCharge{Code: c.Code, Type: c.Type, Description: c.Description, InvoiceNumber: c.InvoiceNumber}
		if r, err := moneyRat(c.Amount); err == nil {
			rc.Amount, rc.Currency = r, c.Amount.Currency
		}
		if q := c.Quantity; q != nil && q.Unit() != "" {
			rc.Quantity, rc.Unit = q.Rat(), string(q.Unit())
		}
		f.ReportedCharges = append(f.ReportedCharges, rc)
	}
	return f
}

func placeFrom(l *shipment.Location) Place {
	if l == nil {
		return Place{}
	}
	p := Place{Country: l.Country, PostalCode: l.PostalCode, Region: l.Region, City: l.City}
	if l.Lat != nil && l.Lon != nil && validCoord(*l.Lat, 90) && validCoord(*l.Lon, 180) {
		lat, lon := *l.Lat, *l.Lon
		p.Lat, p.Lon = &lat, &lon
	}
	return p
}

func validCoord(v, limit float64) bool {
	return !math.IsNaN(v) && v >= -limit && v <= limit
}

// distanceKM is the haversine distance between a and b in kilometres. The
// float64 result is rounded to 0.1 km through its decimal text, so the fact
// is an exact decimal from then on.
func distanceKM(a, b Place) *big.Rat {
	if a.Lat == nil || a.Lon == nil || b.Lat == nil || b.Lon == nil {
		return nil
	}
	rad := math.Pi / 180
	φ1, φ2 := *a.Lat*rad, *b.Lat*rad
	dφ, dλ := (*b.Lat-*a.Lat)*rad, (*b.Lon-*a.Lon)*rad
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	d := 2 * earthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
	r, err := parseDecimal(strconv.FormatFloat(d, 'f', 1, 64))
	if err != nil {
		return nil
	}
	return r
}

func kilograms(q *quantity.Quantity) *big.Rat {
	if q == nil {
		return nil
	}
	kg, err := q.In(quantity.KGM)
	if err != nil {
		return nil
	}
	return kg.Rat()
}

// lineWeights sums the line weights when every line has one.
func lineWeights(lines []shipment.Line) *big.Rat {
	if len(lines) == 0 {
		return nil
	}
	total := new(big.Rat)
	for _, l := range lines {
		w := kilograms(l.Weight)
		if w == nil {
			return nil
		}
		total.Add(total, w)
	}
	return total
}

// milestoneFacts sets the milestone times and the dwell at delivery. For
// each type the first milestone in order is used, preferring those that
// were not reported late; the arrival is the last one at or before
// delivery.
func milestoneFacts(f *Facts, sh *shipment.Shipment) {
	first := make(map[string]shipment.Milestone)
	var arrivals []time.Time
	for _, m := range sh.Milestones {
		name, ok := strings.CutPrefix(m.Type, "shipment.")
		if !ok || name == "" {
			continue
		}
		if name == "arrived" {
			arrivals = append(arrivals, m.At.UTC())
		}
		if prev, seen := first[name]; !seen || (prev.Late && !m.Late) {
			first[name] = m
		}
	}
	if len(first) > 0 {
		f.Milestones = make(map[string]time.Time, len(first))
		for name, m := range first {
			f.Milestones[name] = m.At.UTC()
		}
	}
	at := func(name string) *time.Time {
		if m, ok := first[name]; ok {
			t := m.At.UTC()
			return &t
		}
		return nil
	}
	f.LoadedAt, f.DepartedAt, f.DeliveredAt = at("loaded"), at("departed"), at("delivered")
	if f.DeliveredAt == nil && sh.POD != nil && !sh.POD.SignedAt.IsZero() {
		t := sh.POD.SignedAt.UTC()
		f.DeliveredAt = &t
	}
	slices.SortFunc(arrivals, time.Time.Compare)
	for i := len(arrivals) - 1; i >= 0; i-- {
		if f.DeliveredAt == nil || !arrivals[i].After(*f.DeliveredAt) {
			t := arrivals[i]
			f.ArrivedAt = &t
			break
		}
	}
	if f.ArrivedAt != nil && f.DeliveredAt != nil && !f.DeliveredAt.Before(*f.ArrivedAt) {
		m := int64(f.DeliveredAt.Sub(*f.ArrivedAt) / time.Minute)
		f.DwellMinutes = &m
	}
}
