package x12

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/tracking"
)

// ErrInvalidTender is returned, wrapped with every problem found, when
// [Build204] is given a tender it cannot write as a valid interchange.
var ErrInvalidTender = errors.New("invalid load tender")

// Transaction set purposes of a 204 (B2A-01, element 353).
const (
	PurposeOriginal = "00"
	PurposeCancel   = "01"
	PurposeChange   = "04"
)

// Tender is a load tender Waybill offers a carrier, written as a 204 by
// [Build204].
type Tender struct {
	// SenderQualifier and SenderID identify Waybill: ISA05/ISA06 and GS02.
	// The qualifier defaults to "ZZ" (mutually defined); the ID has 1 to 15
	// characters.
	SenderQualifier, SenderID string
	// ReceiverQualifier and ReceiverID identify the carrier: ISA07/ISA08
	// and GS03. The qualifier defaults to "02" (SCAC).
	ReceiverQualifier, ReceiverID string
	// SCAC is the carrier's code (B2-02), 2 to 4 letters or digits.
	SCAC string
	// ShipmentID is the shipper's shipment identification (B2-04), which the
	// carrier's 990 and 214s quote back; usually the BOL number.
	ShipmentID string
	// BOL is the bill of lading number (L11 BM), optional.
	BOL string
	// PO lists purchase order numbers (L11 PO).
	PO []string
	// Purpose is B2A-01: [PurposeOriginal] (the default), [PurposeCancel]
	// or [PurposeChange].
	Purpose string
	// PaymentMethod is B2-06 (element 146). Defaults to "PP" (prepaid).
	PaymentMethod string
	// Shipper and Consignee are the pickup and delivery stops' parties.
	Shipper, Consignee Party
	// Pickup and Delivery are the requested windows at the two stops.
	Pickup, Delivery Window
	// WeightKG is the gross weight in kilograms as a decimal ("1868.801"),
	// or "" when unknown.
	WeightKG string
	// HandlingUnits is the number of handling units, 0 when unknown, and
	// Packaging their X12 packaging form (PLT, CTN…).
	HandlingUnits int
	Packaging     string
	// Test marks the interchange as test data (ISA15 "T").
	Test bool
}

// Party is a stop's party with its address.
type Party struct {
	// Name is N1-02, required.
	Name string
	// ID is the party's code assigned by Waybill (N1-04, qualifier 93).
	ID string
	// Address is the street line (N3-01).
	Address string
	// City, State, PostalCode and Country are N4-01 to N4-04; Country is
	// ISO 3166-1 alpha-2 or alpha-3.
	City, State, PostalCode, Country string
}

// Window is a requested time window at a stop.
type Window struct {
	// Start is the start of the window, required. End defaults to Start.
	// Both are written to the minute.
	Start, End time.Time
	// Zone is the IANA zone the times are written in. Empty means the zone
	// of the stop's state or country, else UTC. Zones with an X12 time code
	// (ET, CT, MT, PT, AT, HT, NT) are written with it; others are written
	// in UTC with code UT.
	Zone string
}

// Control holds the envelope values of an outbound interchange that the
// caller owns.
type Control struct {
	// InterchangeControl is ISA13/IEA02, 1 to 999999999.
	InterchangeControl int
	// GroupControl is GS06/GE02, 1 to 999999999.
	GroupControl int
	// Time is the interchange and group date and time (ISA09/10, GS04/05),
	// written in its own location.
	Time time.Time
}

// x12Codes are the X12 time codes of the zones that have one.
var x12Codes = map[string]string{
	"UTC": "UT", "America/New_York": "ET", "America/Chicago": "CT", "America/Denver": "MT",
	"America/Los_Angeles": "PT", "America/Anchorage": "AT", "Pacific/Honolulu": "HT",
	"America/St_Johns": "NT",
}

// packagingUnits maps X12 packaging forms to S5-06 units (element 355).
var packagingUnits = map[string]string{
	"PLT": "PL", "CTN": "CT", "CAS": "CA", "BOX": "BX", "DRM": "DR", "BAG": "BG", "ROL": "RL",
}

// Build204 writes t as a 204 interchange with one functional group (GS01
// SM, version 004010) holding one transaction set: B2, B2A, L11 references,
// a pickup stop (S5 LD with G62 37/38, N1 SH, N3, N4) and a delivery stop
// (S5 UL with G62 53/54, N1 CN, N3, N4), and L3 totals. The delimiters are
// '*', '>' and '~', with no line breaks. Control numbers and counts are
// consistent, so [Parse] reads the result without errors.
//
// X12 has no escape character, so a field holding a delimiter, a field too
// long for its element or a missing required field gives an error wrapping
// [ErrInvalidTender] that lists every problem.
func Build204(t Tender, ctl Control) ([]byte, error) {
	v := tenderCheck{}
	t = v.defaults(t)
	v.check(t, ctl)
	pickup := v.window("pickup", t.Pickup, t.Shipper)
	delivery := v.window("delivery", t.Delivery, t.Consignee)
	if len(v.problems) > 0 {
		return nil, fmt.Errorf("building 204: %w: %s", ErrInvalidTender, strings.Join(v.problems, "; "))
	}

	w := ackWriter{d: Delimiters{Element: '*', Component: '>', Segment: '~'}}
	usage := "P"
	if t.Test {
		usage = "T"
	}
	isaCtl := fmt.Sprintf("%09d", ctl.InterchangeControl)
	w.seg("ISA", "00", strings.Repeat(" ", 10), "00", strings.Repeat(" ", 10),
		t.SenderQualifier, fmt.Sprintf("%-15s", t.SenderID), t.ReceiverQualifier, fmt.Sprintf("%-15s", t.ReceiverID),
		ctl.Time.Format("060102"), ctl.Time.Format("1504"), "U", "00401", isaCtl, "0", usage, ">")
	gsCtl := strconv.Itoa(ctl.GroupControl)
	w.seg("GS", "SM", t.SenderID, t.ReceiverID, ctl.Time.Format("20060102"), ctl.Time.Format("1504"), gsCtl, "X", "004010")
	start := w.count
	const stCtl = "0001"
	w.seg("ST", "204", stCtl)
	w.seg("B2", "", t.SCAC, "", t.ShipmentID, "", t.PaymentMethod)
	w.seg("B2A", t.Purpose)
	if t.BOL != "" {
		w.seg("L11", t.BOL, "BM")
	}
	for _, po := range t.PO {
		w.seg("L11", po, "PO")
	}
	stop := func(seq, reason string, win [2]windowTime, qualifiers [4]string, role string, p Party) {
		units, unit := "", ""
		if u, ok := packagingUnits[strings.ToUpper(t.Packaging)]; ok && t.HandlingUnits > 0 {
			units, unit = strconv.Itoa(t.HandlingUnits), u
		}
		weightUnit := ""
		if t.WeightKG != "" {
			weightUnit = "K"
		}
		seg(&w, "S5", seq, reason, t.WeightKG, weightUnit, units, unit)
		w.seg("G62", qualifiers[0], win[0].date, qualifiers[1], win[0].clock, win[0].code)
		w.seg("G62", qualifiers[2], win[1].date, qualifiers[3], win[1].clock, win[1].code)
		if p.ID != "" {
			w.seg("N1", role, p.Name, "93", p.ID)
		} else {
			w.seg("N1", role, p.Name)
		}
		if p.Address != "" {
			w.seg("N3", p.Address)
		}
		if p.City != "" || p.State != "" || p.PostalCode != "" || p.Country != "" {
			seg(&w, "N4", p.City, p.State, p.PostalCode, tracking.Country(p.Country))
		}
	}
	stop("1", "LD", pickup, [4]string{"37", "I", "38", "K"}, "SH", t.Shipper)
	stop("2", "UL", delivery, [4]string{"53", "G", "54", "L"}, "CN", t.Consignee)
	if t.WeightKG != "" || t.HandlingUnits > 0 {
		weight, qual, unit, units := "", "", "", ""
		if t.WeightKG != "" {
			weight, qual, unit = t.WeightKG, "G", "K"
		}
		if t.HandlingUnits > 0 {
			units = strconv.Itoa(t.HandlingUnits)
		}
		seg(&w, "L3", weight, qual, "", "", "", "", "", "", "", "", units, unit)
	}
	w.seg("SE", strconv.Itoa(w.count-start+1), stCtl)
	w.seg("GE", "1", gsCtl)
	w.seg("IEA", "1", isaCtl)
	return w.buf, nil
}

// seg writes a segment without its trailing empty elements.
func seg(w *ackWriter, id string, elems ...string) {
	for len(elems) > 0 && elems[len(elems)-1] == "" {
		elems = elems[:len(elems)-1]
	}
	w.seg(id, elems...)
}

// windowTime is a G62 date, time and time code.
type windowTime struct {
	date, clock, code string
}

// tenderCheck collects the problems of a tender.
type tenderCheck struct {
	problems []string
}

func (v *tenderCheck) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// defaults fills the optional fields of t.
func (v *tenderCheck) defaults(t Tender) Tender {
	if t.SenderQualifier == "" {
		t.SenderQualifier = "ZZ"
	}
	if t.ReceiverQualifier == "" {
		t.ReceiverQualifier = "02"
	}
	if t.Purpose == "" {
		t.Purpose = PurposeOriginal
	}
	if t.PaymentMethod == "" {
		t.PaymentMethod = "PP"
	}
	return t
}

// check validates the fields of t and ctl.
func (v *tenderCheck) check(t Tender, ctl Control) {
	field := func(name, val string, minLen, maxLen int) {
		switch {
		case val == "":
			v.addf("%s is required", name)
		case len(val) < minLen || len(val) > maxLen:
			v.addf("%s %q must have %d to %d characters", name, val, minLen, maxLen)
		case strings.ContainsAny(val, "*>~"):
			v.addf("%s %q holds a delimiter (*, > or ~)", name, val)
		case !printableASCII(val):
			v.addf("%s %q must be printable ASCII", name, val)
		}
	}
	field("sender qualifier", t.SenderQualifier, 2, 2)
	field("sender ID", t.SenderID, 1, 15)
	field("receiver qualifier", t.ReceiverQualifier, 2, 2)
	field("receiver ID", t.ReceiverID, 1, 15)
	field("SCAC", t.SCAC, 2, 4)
	if !isAlnum(t.SCAC) {
		v.addf("SCAC %q must be letters and digits", t.SCAC)
	}
	field("shipment ID", t.ShipmentID, 1, 30)
	field("payment method", t.PaymentMethod, 2, 2)
	if t.BOL != "" {
		field("BOL", t.BOL, 1, 30)
	}
	for _, po := range t.PO {
		field("PO", po, 1, 30)
	}
	switch t.Purpose {
	case PurposeOriginal, PurposeCancel, PurposeChange:
	default:
		v.addf("purpose %q must be %s, %s or %s", t.Purpose, PurposeOriginal, PurposeCancel, PurposeChange)
	}
	for _, p := range []struct {
		role  string
		party Party
	}{{"shipper", t.Shipper}, {"consignee", t.Consignee}} {
		field(p.role+" name", p.party.Name, 1, 60)
		for _, f := range [][2]string{{"ID", p.party.ID}, {"address", p.party.Address}, {"city", p.party.City},
			{"state", p.party.State}, {"postal code", p.party.PostalCode}, {"country", p.party.Country}} {
			if f[1] != "" {
				field(p.role+" "+f[0], f[1], 1, 55)
			}
		}
		if c := p.party.Country; c != "" && tracking.Country(c) == "" {
			v.addf("%s country %q is not an ISO 3166-1 code Waybill knows", p.role, c)
		}
	}
	if t.WeightKG != "" {
		if r, ok := decimalRat(t.WeightKG); !ok || r.Sign() < 0 || strings.HasPrefix(t.WeightKG, "+") || len(t.WeightKG) > 10 {
			v.addf("weight %q must be a non-negative decimal of at most 10 characters", t.WeightKG)
		}
	}
	if t.HandlingUnits < 0 || t.HandlingUnits > 9_999_999 {
		v.addf("handling units %d out of range", t.HandlingUnits)
	}
	if t.Packaging != "" {
		field("packaging", t.Packaging, 3, 3)
	}
	if ctl.InterchangeControl < 1 || ctl.InterchangeControl > 999_999_999 {
		v.addf("interchange control number %d must be 1 to 999999999", ctl.InterchangeControl)
	}
	if ctl.GroupControl < 1 || ctl.GroupControl > 999_999_999 {
		v.addf("group control number %d must be 1 to 999999999", ctl.GroupControl)
	}
	if ctl.Time.IsZero() {
		v.addf("control time is required")
	}
}

// window returns the G62 values of a stop's window.
func (v *tenderCheck) window(name string, win Window, p Party) [2]windowTime {
	var out [2]windowTime
	if win.Start.IsZero() {
		v.addf("%s window start is required", name)
		return out
	}
	end := win.End
	if end.IsZero() {
		end = win.Start
	}
	if end.Before(win.Start) {
		v.addf("%s window ends before it starts", name)
		return out
	}
	zone := win.Zone
	if zone == "" {
		zone = tracking.ZoneOf(&tracking.Location{Region: p.State, Country: tracking.Country(p.Country)})
	}
	loc := time.UTC
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			v.addf("%s window zone %q: %v", name, zone, err)
			return out
		}
		loc = l
	}
	code, ok := x12Codes[loc.String()]
	if !ok {
		loc, code = time.UTC, "UT"
	}
	for i, t := range []time.Time{win.Start, end} {
		lt := t.In(loc)
		if lt.Year() < 1 || lt.Year() > 9999 {
			v.addf("%s window time %s out of range", name, t)
			return out
		}
		out[i] = windowTime{date: lt.Format("20060102"), clock: lt.Format("1504"), code: code}
	}
	return out
}

// isAlnum reports whether s holds only ASCII letters and digits.
func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds only printable ASCII characters,
// the X12 basic and extended character sets without control characters.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
