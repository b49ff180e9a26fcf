package quantity

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// ErrUnknownUnit is returned, wrapped with the offending code, for a unit
// code that is not in the table of known UN/ECE Recommendation 20 codes.
var ErrUnknownUnit = errors.New("unknown unit")

// Unit is an upper-case UN/ECE Recommendation 20 unit code, such as "KGM".
// Use [ParseUnit] to turn partner input into a Unit; it normalises case and
// packaging aliases.
type Unit string

// Canonical unit codes. Each is the UN/ECE Recommendation 20 common code.
const (
	// Count.
	C62 Unit = "C62" // one; base unit of the count dimension
	EA  Unit = "EA"  // each (legacy code, newer revisions use C62 or H87)
	H87 Unit = "H87" // piece

	// Mass.
	KGM Unit = "KGM" // kilogram; base unit of the mass dimension
	GRM Unit = "GRM" // gram
	MGM Unit = "MGM" // milligram
	TNE Unit = "TNE" // tonne (metric ton)
	LBR Unit = "LBR" // pound, exactly 0.45359237 kg
	ONZ Unit = "ONZ" // ounce, exactly 0.028349523125 kg
	CWA Unit = "CWA" // hundredweight (US), 100 lb, exactly 45.359237 kg

	// Volume.
	MTQ Unit = "MTQ" // cubic metre; base unit of the volume dimension
	LTR Unit = "LTR" // litre
	DMQ Unit = "DMQ" // cubic decimetre
	CMQ Unit = "CMQ" // cubic centimetre
	FTQ Unit = "FTQ" // cubic foot, exactly 0.028316846592 m³

	// Length.
	MTR Unit = "MTR" // metre; base unit of the length dimension
	CMT Unit = "CMT" // centimetre
	MMT Unit = "MMT" // millimetre
	KMT Unit = "KMT" // kilometre
	INH Unit = "INH" // inch, exactly 0.0254 m
	FOT Unit = "FOT" // foot, exactly 0.3048 m

	// Time, for charges billed by the hour (detention, waiting).
	SEC Unit = "SEC" // second; base unit of the time dimension
	MIN Unit = "MIN" // minute
	HUR Unit = "HUR" // hour
	DAY Unit = "DAY" // day
	// Handling units, each its own dimension.
	XPX Unit = "XPX" // pallet
	XCT Unit = "XCT" // carton
	XBX Unit = "XBX" // box
	XCS Unit = "XCS" // case
)

// Dimension names returned by [Dimension].
const (
	dimCount  = "count"
	dimMass   = "mass"
	dimVolume = "volume"
	dimLength = "length"
	dimTime   = "time"
	dimPallet = "pallet"
	dimCarton = "carton"
	dimBox    = "box"
	dimCase   = "case"
)

// unitInfo describes a known unit: its dimension and its exact factor to the
// dimension's base unit, as num/den. The factors are kept as integers, not
// as shared *big.Rat values, so that nothing package-level can be mutated.
type unitInfo struct {
	dim      string
	num, den int64
}

func (ui unitInfo) factor() *big.Rat { return big.NewRat(ui.num, ui.den) }

// units is the table of known units. It is read-only.
var units = map[Unit]unitInfo{
	C62: {dimCount, 1, 1},
	EA:  {dimCount, 1, 1},
	H87: {dimCount, 1, 1},

	KGM: {dimMass, 1, 1},
	GRM: {dimMass, 1, 1_000},
	MGM: {dimMass, 1, 1_000_000},
	TNE: {dimMass, 1_000, 1},
	LBR: {dimMass, 45_359_237, 100_000_000},
	ONZ: {dimMass, 28_349_523_125, 1_000_000_000_000},
	CWA: {dimMass, 45_359_237, 1_000_000},

	MTQ: {dimVolume, 1, 1},
	LTR: {dimVolume, 1, 1_000},
	DMQ: {dimVolume, 1, 1_000},
	CMQ: {dimVolume, 1, 1_000_000},
	FTQ: {dimVolume, 28_316_846_592, 1_000_000_000_000},

	MTR: {dimLength, 1, 1},
	CMT: {dimLength, 1, 100},
	MMT: {dimLength, 1, 1_000},
	KMT: {dimLength, 1_000, 1},
	INH: {dimLength, 254, 10_000},
	FOT: {dimLength, 3_048, 10_000},

	SEC: {dimTime, 1, 1},
	MIN: {dimTime, 60, 1},
	HUR: {dimTime, 3_600, 1},
	DAY: {dimTime, 86_400, 1},

	XPX: {dimPallet, 1, 1},
	XCT: {dimCarton, 1, 1},
	XBX: {dimBox, 1, 1},
	XCS: {dimCase, 1, 1},
}

// aliases maps packaging codes from UN/ECE Recommendation 21 and X12
// element 355 to their Recommendation 20 X-codes. It is read-only.
var aliases = map[Unit]Unit{
	"PX":  XPX,
	"PLT": XPX,
	"PL":  XPX,
	"CT":  XCT,
	"BX":  XBX,
	"CS":  XCS,
	"CA":  XCS,
}

// ParseUnit returns the canonical Unit for code. Matching is
// case-insensitive and packaging aliases are normalised (PX, PLT and PL to
// XPX; CT to XCT; BX to XBX; CS and CA to XCS). Surrounding white space is
// not trimmed. An unknown code gives an error wrapping [ErrUnknownUnit].
func ParseUnit(code string) (Unit, error) {
	u := Unit(strings.ToUpper(code))
	if a, ok := aliases[u]; ok {
		return a, nil
	}
	if _, ok := units[u]; ok {
		return u, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownUnit, code)
}

// lookup normalises u and returns it with its table entry.
func lookup(u Unit) (Unit, unitInfo, error) {
	c, err := ParseUnit(string(u))
	if err != nil {
		return "", unitInfo{}, err
	}
	return c, units[c], nil
}

// Dimension reports the dimension of u: "count", "mass", "volume",
// "length", or for handling units "pallet", "carton", "box" or "case". The
// code is normalised as by [ParseUnit]; ok is false for an unknown code.
func Dimension(u Unit) (dim string, ok bool) {
	_, ui, err := lookup(u)
	if err != nil {
		return "", false
	}
	return ui.dim, true
}

// Compatible reports whether a quantity in unit a can be converted to unit
// b, that is whether both are known and share a dimension.
func Compatible(a, b Unit) bool {
	da, okA := Dimension(a)
	db, okB := Dimension(b)
	return okA && okB && da == db
}

// Known returns the canonical codes of all known units, sorted. Aliases
// such as PLT are not included. The caller owns the returned slice.
func Known() []Unit {
	out := make([]Unit, 0, len(units))
	for u := range units {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
