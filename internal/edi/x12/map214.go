package x12

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/tracking"
)

// Format214 is the Event.Format of events mapped from a 214.
const Format214 = "x12_214"

// SignerRemarkDefault is the K1 remark prefix that names the POD signer
// when the partner sets no [tracking.Partner.SignerRemark].
const SignerRemarkDefault = "POD SIGNED BY"

// Map214 turns one 214 (shipment status) transaction set into canonical
// events, one per AT7 status, in input order.
//
// Shipment keys come from B10 (01 PRO, 02 BOL, 03 SCAC) and L11 (BM bill of
// lading when B10-02 is empty, PO purchase orders, CR customer reference).
// AT7-01 is looked up in the partner's status codes, then in the standard
// table: a status gives a milestone; AG, X2, C1 and B6 give an eta_update
// and AA, AD or an AT7-03 appointment code an appointment, which never
// change the status; SD, A7 and A9 give a milestone with status "exception"
// that opens an exception (delay, refused, damaged) without moving the
// status, and AP a delivery attempt with an exception from its reason. An
// unknown AT7-01 gives status "unknown" with the raw code kept. AT7-02 is
// looked up in the partner's reason codes, then in the standard table, and
// becomes Reason; RawCode and RawReason keep both codes.
//
// AT7-05/06 are read in the zone of the AT7-07 time code; LT or no code
// resolves them from the MS1 location, then the partner's default zone.
// An estimate or appointment with a date and no time keeps the civil date
// in its window and occurs at the start of that day. MS1 gives the
// location, MS2 the trailer number. The segments that follow the AT7 loops
// of an LX describe its last status: AT8 weight (actual) and counts (AT8-04
// pieces, AT8-05 handling units, else AT8-04), Q7 lading exceptions, K1
// remarks, L11 DK the dock (as the location name). A K1 remark that starts
// with the partner's SignerRemark (default [SignerRemarkDefault]) names the
// POD signer of the block's delivered status instead of becoming a remark.
//
// SourceEventID hashes the shipment keys and the AT7 codes, date, time and
// time code, so the same status sent again in another interchange gets the
// same id. A set that cannot be mapped gives an error holding one *Error per
// problem, located at the segment and element, and no events.
func Map214(tx *Transaction, p *tracking.Partner) ([]tracking.Event, error) {
	return map214(tx, partnerOrZero(p), envelope{})
}

// status214 is one AT7 loop: the status and the MS1/MS2 that follow it.
type status214 struct {
	at7   Segment
	loc   *tracking.Location
	equip string
}

// block214 is one LX loop.
type block214 struct {
	statuses []status214
	bol      string
	po       []string
	dock     string
	signer   string
	remarks  []string
	lading   []tracking.Lading
	weights  []tracking.Weight
	pieces   int
	units    *tracking.Count
	inCD3    bool // inside a CD3 package loop, whose details are not mapped
}

type mapper214 struct {
	p       *tracking.Partner
	tx      *Transaction
	prefix  string
	keys    tracking.Keys
	b10     *Segment
	remarks []string // header K1
	signer  string   // header K1 signer
	events  []tracking.Event
	errs    []*Error
	seenAT7 bool
	// keysReported is set once an error says the keys name no shipment.
	keysReported bool
}

func map214(tx *Transaction, p *tracking.Partner, env envelope) ([]tracking.Event, error) {
	if tx == nil || len(tx.Segments) == 0 {
		return nil, errors.New("mapping 214: empty transaction set")
	}
	m := &mapper214{p: p, tx: tx, prefix: strings.ToUpper(strings.TrimSpace(p.SignerRemark))}
	if m.prefix == "" {
		m.prefix = SignerRemarkDefault
	}
	detail := false
	var b block214
	for _, s := range tx.Segments[1:] {
		if !detail && (s.ID == "LX" || s.ID == "AT7") {
			detail = true
			m.finishHeader(env)
		}
		if !detail {
			m.header(s)
			continue
		}
		switch s.ID {
		case "LX":
			m.flush(&b)
			b = block214{}
		case "SE":
			m.flush(&b)
			b = block214{}
		default:
			m.detail(&b, s)
		}
	}
	if !detail {
		m.finishHeader(env)
		m.flush(&b)
	}
	if !m.seenAT7 {
		m.errs = append(m.errs, missingErr(tx, "AT7"))
	}
	if len(m.errs) > 0 {
		return nil, joinErrs(m.errs)
	}
	return m.events, nil
}

// header reads a segment of the heading area (before the first LX).
func (m *mapper214) header(s Segment) {
	switch s.ID {
	case "B10":
		if m.b10 == nil {
			m.b10 = &s
			m.keys.PRO = s.Element(1)
			m.keys.BOL = s.Element(2)
			m.keys.SCAC = s.Element(3)
		}
	case "L11":
		switch s.Element(2) {
		case "BM":
			if m.keys.BOL == "" {
				m.keys.BOL = s.Element(1)
			}
		case "PO":
			m.keys.PO = appendUnique(m.keys.PO, s.Element(1))
		case "CR":
			if m.keys.CustomerRef == "" {
				m.keys.CustomerRef = s.Element(1)
			}
		}
	case "K1":
		m.remarks, m.signer = m.k1(s, m.remarks, m.signer)
	}
}

// finishHeader checks the shipment keys once the heading area is read.
func (m *mapper214) finishHeader(env envelope) {
	if m.keys.SCAC == "" {
		m.keys.SCAC = env.scac
	}
	if m.b10 == nil {
		m.errs = append(m.errs, missingErr(m.tx, "B10"))
	}
}

// checkKeys reports, once, keys that name no shipment.
func (m *mapper214) checkKeys(keys tracking.Keys) bool {
	if len(keys.Refs()) > 0 {
		return true
	}
	if m.b10 == nil || m.keysReported {
		return false
	}
	m.keysReported = true
	if keys.PRO != "" {
		m.errs = append(m.errs, segErr(*m.b10, 3, "PRO %q has no SCAC and there is no bill of lading", keys.PRO))
	} else {
		m.errs = append(m.errs, segErr(*m.b10, 1, "no PRO and no bill of lading: the status names no shipment"))
	}
	return false
}

// detail reads a segment of the detail area into the open LX block.
func (m *mapper214) detail(b *block214, s Segment) {
	if s.ID == "CD3" {
		b.inCD3 = true
	}
	if b.inCD3 {
		return
	}
	last := len(b.statuses) - 1
	switch s.ID {
	case "AT7":
		m.seenAT7 = true
		b.statuses = append(b.statuses, status214{at7: s})
	case "MS1":
		if last >= 0 && b.statuses[last].loc == nil {
			b.statuses[last].loc = m.ms1(s)
		}
	case "MS2":
		if last >= 0 && b.statuses[last].equip == "" {
			b.statuses[last].equip = s.Element(2)
		}
	case "L11":
		switch s.Element(2) {
		case "BM":
			if b.bol == "" {
				b.bol = s.Element(1)
			}
		case "PO":
			b.po = appendUnique(b.po, s.Element(1))
		case "DK":
			b.dock = s.Element(1)
		}
	case "K1":
		b.remarks, b.signer = m.k1(s, b.remarks, b.signer)
	case "Q7":
		m.q7(b, s)
	case "AT8":
		m.at8(b, s)
	}
}

// k1 adds the remarks of a K1 segment, or takes the POD signer from it.
func (m *mapper214) k1(s Segment, remarks []string, signer string) ([]string, string) {
	first := strings.TrimSpace(s.Element(1))
	up := strings.ToUpper(first)
	switch {
	case up == m.prefix:
		if name := strings.TrimSpace(s.Element(2)); name != "" {
			return remarks, name
		}
	case strings.HasPrefix(up, m.prefix+" ") || strings.HasPrefix(up, m.prefix+":"):
		if name := strings.Trim(first[len(m.prefix):], " :-"); name != "" {
			return remarks, name
		}
	}
	for i := 1; i <= len(s.Elements); i++ {
		if r := strings.TrimSpace(s.Element(i)); r != "" {
			remarks = append(remarks, r)
		}
	}
	return remarks, signer
}

// ms1 reads an MS1 location: city, state or province and country, or
// longitude and latitude.
func (m *mapper214) ms1(s Segment) *tracking.Location {
	loc := location(s.Element(1), s.Element(2), "", s.Element(3))
	lon, okLon := ms1Coordinate(s.Element(4), s.Element(6), "W")
	lat, okLat := ms1Coordinate(s.Element(5), s.Element(7), "S")
	if okLon && okLat && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
		if loc == nil {
			loc = &tracking.Location{}
		}
		loc.Lat, loc.Lon = &lat, &lon
	}
	return loc
}

// ms1Coordinate reads an MS1 longitude or latitude, DDDMMSS, negative when
// the direction is neg (W or S).
func ms1Coordinate(s, dir, neg string) (float64, bool) {
	if len(s) < 5 || len(s) > 7 || !isDigits(s) {
		return 0, false
	}
	deg, _ := strconv.Atoi(s[:len(s)-4])
	mins, _ := strconv.Atoi(s[len(s)-4 : len(s)-2])
	secs, _ := strconv.Atoi(s[len(s)-2:])
	if mins > 59 || secs > 59 {
		return 0, false
	}
	v := float64(deg) + float64(mins)/60 + float64(secs)/3600
	if dir == neg {
		v = -v
	}
	return v, true
}

// q7 reads a lading exception.
func (m *mapper214) q7(b *block214, s Segment) {
	l := tracking.Lading{Condition: ladingConditions[s.Element(1)], Packaging: s.Element(2)}
	if l.Condition == "" {
		l.Condition = "other"
	}
	if q := s.Element(3); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 0 {
			m.errs = append(m.errs, segErr(s, 3, "lading quantity %q is not a whole number", q))
			return
		}
		l.Count = n
	}
	b.lading = append(b.lading, l)
}

// at8 reads a weight and the piece counts.
func (m *mapper214) at8(b *block214, s Segment) {
	if v := s.Element(3); v != "" {
		unit := s.Element(2)
		if unit == "" {
			unit = m.p.WeightUnit
		}
		w, err := tracking.ParseWeight(v, unit, tracking.WeightActual)
		switch {
		case errors.Is(err, tracking.ErrBadUnit):
			m.errs = append(m.errs, segErr(s, 2, "reading weight: %v", err))
		case err != nil:
			m.errs = append(m.errs, segErr(s, 3, "reading weight: %v", err))
		default:
			b.weights = append(b.weights, w)
		}
	}
	count := func(elem int) (int, bool) {
		v := s.Element(elem)
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			m.errs = append(m.errs, segErr(s, elem, "quantity %q is not a whole number", v))
			return 0, false
		}
		return n, true
	}
	pieces, okPieces := count(4)
	units, okUnits := count(5)
	if okPieces {
		b.pieces = pieces
	}
	switch {
	case okUnits:
		b.units = &tracking.Count{Count: units}
	case okPieces:
		b.units = &tracking.Count{Count: pieces}
	}
}

// flush turns the statuses of block b into events and gives the block's
// details to its last status.
func (m *mapper214) flush(b *block214) {
	if len(b.statuses) == 0 {
		return
	}
	keys := m.keys
	keys.PO = slices.Clone(keys.PO)
	if keys.BOL == "" {
		keys.BOL = b.bol
	}
	for _, po := range b.po {
		keys.PO = appendUnique(keys.PO, po)
	}
	if !m.checkKeys(keys) {
		return
	}
	first := len(m.events)
	for _, st := range b.statuses {
		ev, err := m.event(st, keys)
		if err != nil {
			m.errs = append(m.errs, err)
			continue
		}
		m.events = append(m.events, ev)
	}
	evs := m.events[first:]
	if len(evs) == 0 {
		return
	}
	for i := range evs {
		if evs[i].Status == tracking.Delivered {
			signer := b.signer
			if signer == "" {
				signer = m.signer
			}
			if signer != "" {
				evs[i].POD = &tracking.POD{Signer: signer}
			}
		}
	}
	last := &evs[len(evs)-1]
	if b.signer != "" && !slices.ContainsFunc(evs, func(e tracking.Event) bool { return e.POD != nil }) {
		last.POD = &tracking.POD{Signer: b.signer}
	}
	last.Remarks = append(last.Remarks, b.remarks...)
	last.Lading = append(last.Lading, b.lading...)
	last.Weights = append(last.Weights, b.weights...)
	if b.pieces > 0 {
		last.Pieces = b.pieces
	}
	if b.units != nil {
		last.HandlingUnits = b.units
	}
	if b.dock != "" {
		loc := tracking.Location{}
		if last.Location != nil {
			loc = *last.Location
		}
		loc.Name = b.dock
		last.Location = &loc
	}
}

// event maps one AT7 loop.
func (m *mapper214) event(st status214, keys tracking.Keys) (tracking.Event, *Error) {
	at7 := st.at7
	code, reasonCode := at7.Element(1), at7.Element(2)
	c := m.classify(code)
	if code == "" {
		if at7.Element(3) == "" {
			return tracking.Event{}, segErr(at7, 1, "no shipment status code (AT7-01) and no appointment status code (AT7-03)")
		}
		code, reasonCode = at7.Element(3), at7.Element(4)
		c = classified{kind: tracking.KindAppointment}
	}
	ev := tracking.Event{
		Format:    Format214,
		Keys:      keys,
		Kind:      c.kind,
		Status:    c.status,
		Substatus: c.sub,
		RawCode:   code,
		RawReason: reasonCode,
		Reason:    m.reason(reasonCode),
		Location:  st.loc,
		Equipment: st.equip,
		Remarks:   slices.Clone(m.remarks),
	}
	ev.SourceEventID = sourceID("x12-214-", keys.SCAC, keys.PRO, keys.BOL,
		at7.Element(1), at7.Element(2), at7.Element(3), at7.Element(4),
		at7.Element(5), at7.Element(6), at7.Element(7))
	if c.exception != "" {
		typ := c.exception
		if typ == fromReason {
			typ = exceptionFromReason(ev.Reason)
		}
		ev.Exception = &tracking.Exception{Type: typ, Reason: ev.Reason}
		if reasonCode != "NS" && reasonCode != "NA" {
			ev.Exception.ReasonCode = reasonCode
		}
	}

	y, mo, d, ok := parseDate(at7.Element(5))
	if !ok {
		return tracking.Event{}, segErr(at7, 5, "date %q is not CCYYMMDD", at7.Element(5))
	}
	estimate := c.kind == tracking.KindETA || c.kind == tracking.KindAppointment
	clock := at7.Element(6)
	if clock == "" && !estimate {
		return tracking.Event{}, segErr(at7, 6, "status %s has a date and no time", code)
	}
	var h, mi, sec, ns int
	if clock != "" {
		if h, mi, sec, ns, ok = parseClock(clock); !ok {
			return tracking.Event{}, segErr(at7, 6, "time %q is not HHMM, HHMMSS or HHMMSSD[D]", clock)
		}
	}
	r, err := resolveReading(localReading{local: time.Date(y, mo, d, h, mi, sec, ns, time.UTC), code: at7.Element(7)}, st.loc, m.p)
	if err != nil {
		return tracking.Event{}, segErr(at7, 7, "%v", err)
	}
	ev.OccurredAt, ev.TZ, ev.TZSource = r.utc, r.tz, r.source
	window := &tracking.Window{Start: r.utc, End: r.utc}
	if clock == "" {
		window = &tracking.Window{Date: fmt.Sprintf("%04d-%02d-%02d", y, int(mo), d)}
	} else {
		ev.Local = r.local
	}
	switch c.kind {
	case tracking.KindETA:
		ev.ETA = window
	case tracking.KindAppointment:
		ev.Appointment = window
	}
	if err := ev.Validate(); err != nil {
		return tracking.Event{}, segErr(at7, 0, "mapping status %s: %v", code, err)
	}
	return ev, nil
}

// fromReason marks an exception whose type comes from the status reason.
const fromReason = "<reason>"

// classified is what an AT7-01 code means.
type classified struct {
	kind      tracking.Kind
	status    tracking.Status
	sub       string
	exception string // exception type the status opens, or fromReason
}

// classify looks an AT7-01 code up in the partner's table, then in the
// standard one.
func (m *mapper214) classify(code string) classified {
	if s, ok := m.p.Status(code); ok {
		c := classified{kind: tracking.KindMilestone, status: s}
		if s == tracking.StatusException {
			c.exception = fromReason
			if std, found := statusCodes214[code]; found && std.exception != "" {
				c.exception = std.exception
			}
		}
		return c
	}
	if c, ok := statusCodes214[code]; ok {
		return c
	}
	return classified{kind: tracking.KindMilestone, status: tracking.Unknown}
}

// reason looks an AT7-02 code up in the partner's table, then in the
// standard one. Normal codes (NS, NA) give "".
func (m *mapper214) reason(code string) string {
	if r, ok := m.p.Reason(code); ok {
		return r
	}
	return reasonCodes214[code]
}

// exceptionFromReason returns the exception type of a canonical reason.
func exceptionFromReason(reason string) string {
	if slices.Contains(tracking.ExceptionTypes(), reason) {
		return reason
	}
	if t, ok := reasonExceptions[reason]; ok {
		return t
	}
	return "other"
}

func milestone(s tracking.Status, sub string) classified {
	return classified{kind: tracking.KindMilestone, status: s, sub: sub}
}

// statusCodes214 is the standard AT7-01 table (shipment status codes,
// element 1650), from the reference's §1.4.1.
var statusCodes214 = map[string]classified{
	"XB": milestone(tracking.InfoReceived, ""),
	"X3": milestone(tracking.ArrivedAtPickup, ""),
	"X8": milestone(tracking.ArrivedAtPickup, ""),
	"L1": milestone(tracking.ArrivedAtPickup, "loading"),
	"CP": milestone(tracking.PickedUp, "loaded"),
	"AF": milestone(tracking.PickedUp, ""),
	"AM": milestone(tracking.InTransit, ""),
	"X6": milestone(tracking.InTransit, ""),
	"X4": milestone(tracking.InTransit, "at_terminal"),
	"P1": milestone(tracking.InTransit, "departed_terminal"),
	"I1": milestone(tracking.InTransit, ""),
	"OA": milestone(tracking.InTransit, ""),
	"AR": milestone(tracking.InTransit, ""),
	"RL": milestone(tracking.InTransit, ""),
	"J1": milestone(tracking.InTransit, "interline_handoff"),
	"R1": milestone(tracking.InTransit, "interline_received"),
	"K1": milestone(tracking.InTransit, "customs"),
	"AI": milestone(tracking.InTransit, "reconsigned"),
	"AV": milestone(tracking.InTransit, "ready_for_delivery"),
	"AJ": milestone(tracking.OutForDelivery, ""),
	"X1": milestone(tracking.ArrivedAtDelivery, ""),
	"X5": milestone(tracking.ArrivedAtDelivery, ""),
	"S1": milestone(tracking.ArrivedAtDelivery, "spotted"),
	"D1": milestone(tracking.Delivered, ""),
	"CD": milestone(tracking.Delivered, "carrier_departed"),
	"AH": milestone(tracking.DeliveryAttempted, ""),
	"AP": {kind: tracking.KindMilestone, status: tracking.DeliveryAttempted, exception: fromReason},
	"SD": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "delay"},
	"A7": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "refused"},
	"A9": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "damaged"},
	"A3": milestone(tracking.ReturnedToSender, ""),
	"CA": milestone(tracking.Cancelled, ""),
	"AG": {kind: tracking.KindETA},
	"X2": {kind: tracking.KindETA},
	"C1": {kind: tracking.KindETA},
	"B6": {kind: tracking.KindETA},
	"AA": {kind: tracking.KindAppointment},
	"AD": {kind: tracking.KindAppointment},
}

// reasonCodes214 is the standard AT7-02 table (status reason codes,
// element 1651), from the reference's §1.4.2.
var reasonCodes214 = map[string]string{
	"NS": "", "NA": "",
	"A1": "carrier_missed",
	"A2": "address_issue", "A6": "address_issue", "A5": "address_issue",
	"AA": "carrier_sort_error",
	"AD": "consignee_request", "BJ": "consignee_request",
	"AF": "carrier_accident",
	"AG": "consignee_issue",
	"AH": "carrier_capacity", "D2": "carrier_capacity",
	"AI": "carrier_equipment",
	"AK": "damaged", "BP": "damaged",
	"AM": "shipper_issue", "BB": "shipper_issue",
	"AN": "consignee_closed", "C4": "consignee_closed", "C5": "consignee_closed", "B1": "consignee_closed",
	"AO": "weather",
	"AQ": "consignee_unavailable",
	"AR": "customs", "AS": "customs", "AT": "customs", "BD": "customs", "CA": "customs",
	"AU": "force_majeure",
	"AW": "pickup_issue", "AX": "pickup_issue", "AY": "pickup_issue",
	"B4": "payment_hold", "C2": "payment_hold", "C8": "payment_hold", "C9": "payment_hold",
	"B5": "hold", "C1": "hold",
	"B8": "consignee_facility", "B9": "consignee_facility",
	"BC": "documents",
	"BE": "road_conditions",
	"BF": "carrier_error", "D1": "carrier_error",
	"BQ": "weight_issue",
	"BS": "refused",
	"BT": "return",
	"HB": "appointment", "BK": "appointment",
	"S1": "short",
	"T1": "carrier_capacity", "T2": "carrier_capacity", "T3": "carrier_capacity", "T4": "carrier_capacity",
	"T5": "carrier_capacity", "T6": "carrier_capacity", "T7": "carrier_capacity",
	"BG": "other",
}

// reasonExceptions gives the exception type of canonical reasons that are
// not exception types themselves.
var reasonExceptions = map[string]string{
	"address_issue": "address",
	"return":        "returned",
	"payment_hold":  "hold",
	"appointment":   "hold",
}

// ladingConditions maps Q7-01 lading exception codes (element 33).
var ladingConditions = map[string]string{
	"A": "short", "P": "short", "0": "short",
	"D": "damaged",
	"E": "refused",
	"O": "overage",
	"W": "wrong_product",
}
