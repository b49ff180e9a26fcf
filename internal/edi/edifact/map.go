package edifact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/tracking"
)

// ErrContent is wrapped by an [*Error] from [MapIFTSTA] when a well-formed
// IFTSTA message says something that cannot become a canonical event: a
// status without a status code or DTM+334 time, a time in an unsupported
// format or with no zone to read it in, a bad weight, or an event that names
// no shipment. When the tracking package found the problem, its error (such
// as tracking.ErrNoZone) is wrapped as well.
var ErrContent = errors.New("edifact content error")

// FormatIFTSTA is the tracking.Event Format of events made by [MapIFTSTA].
const FormatIFTSTA = "edifact_iftsta"

// defaultSignerPrefix starts the FTX+DEL text that names the POD signer when
// the partner has no SignerRemark of its own.
const defaultSignerPrefix = "SIGNED BY"

// MapIFTSTA turns the status reports of every message of ic into canonical
// tracking events, in message and STS order. Every message must be an
// IFTSTA. p holds the partner's settings and may be nil.
//
// Each STS segment gives one event:
//
//   - Keys: ConsignmentID is the CNI consignment reference; Carrier is the
//     party identification (else the name) of the NAD+CA before the first
//     CNI, or of one inside the status group. RFF+CU gives CustomerRef,
//     RFF+BM BOL and RFF+ON a PO. References of any status group of a CNI
//     apply to all its events; the group's own references win.
//   - Status: the partner's StatusCodes first, then UN/ECE Rec 24: 6
//     info_received, 7 cancelled, 12 in_transit (customs_cleared), 13
//     picked_up, 16 in_transit (crossed_border), 21 and 22 delivered, 23
//     delivery_attempted, 31 and 35 in_transit, 37 in_transit (found), 45
//     arrived_at_delivery; 24 is picked_up (departed_pickup) when the
//     LOC+175 place is a place of departure or loading (LOC 5 or 9) of the
//     message or CNI, else in_transit; 1 is arrived_at_pickup there,
//     arrived_at_delivery at a place of delivery or destination (LOC 7 or
//     8), else in_transit (arrived). 17, 18, 20, 25 and 36 are exception
//     overlays (customs, damaged, delay, delay, lost); 5 and 14 are notes;
//     any other code is a milestone with status unknown. RawCode keeps the
//     code.
//   - Reason: the first STS reason code (9013) the partner's ReasonCodes or
//     the standard table maps (1 and 9 address_issue, 3 refused, 5
//     appointment, 7 consignee_closed, 13 customs, 14 damaged); RawReason
//     keeps every reason code, joined with ",".
//   - Time: the first DTM+334 of the group. Formats 203 and 204 are local
//     times, read in the zone of the LOC+175 UN/LOCODE (tz_source
//     location), else in p.Zone (partner_default); formats 303 and 304 end
//     with their own zone, UTC or an offset such as +01, +0100 or +01:00
//     (explicit_offset). Other formats are an error.
//   - Location: the first LOC+175 of the group: its UN/LOCODE (agency 6 or
//     none), the country of its first two letters and its name.
//   - FTX+DEL whose text starts with the partner's SignerRemark (default
//     "SIGNED BY") gives the POD signer; every other FTX is a remark, its
//     text components joined with a space.
//   - Weights: MEA segments of the group or of its GID goods items whose
//     unit is a mass unit, converted to kilograms, as actual weights. MEA
//     of TDT and EQD groups are skipped.
//   - SourceEventID: "iftsta-" and a hash of the UNB sender, the consignment
//     reference, the status code and the DTM+334 value and format as sent,
//     so a repeated report gives the same id. A repeat inside ic is dropped
//     and counted in Mapped.Dropped.
//
// The document date (DTM+137), message-level references and estimated
// times (such as DTM+132) are not mapped.
//
// On error MapIFTSTA returns no events. A message of another type gives the
// [*Error] of [Statuses] (wrapping [ErrEnvelope]); a status that cannot be
// mapped gives an [*Error] at its segment wrapping [ErrContent].
func MapIFTSTA(ic *Interchange, p *tracking.Partner) (tracking.Mapped, error) {
	if ic == nil {
		return tracking.Mapped{}, errors.New("mapping IFTSTA: no interchange")
	}
	mp := &mapper{ic: ic, p: p, seen: make(map[string]bool)}
	if p != nil {
		mp.def = p.Zone
	}
	for i := range ic.Messages {
		if err := mp.message(&ic.Messages[i]); err != nil {
			return tracking.Mapped{}, fmt.Errorf("mapping IFTSTA message %s: %w", ic.Messages[i].Ref, err)
		}
	}
	return mp.out, nil
}

// mapper holds the state of one MapIFTSTA call.
type mapper struct {
	ic    *Interchange
	p     *tracking.Partner
	def   string                    // the partner's default zone
	zones map[string]*time.Location // loaded zones by name
	seen  map[string]bool           // source event ids already mapped
	out   tracking.Mapped
}

// message maps the statuses of one message.
func (mp *mapper) message(m *Message) error {
	sts, err := Statuses(m)
	if err != nil {
		return err
	}
	info := scan(m)
	// References of every status group of a CNI apply to all its events.
	cniRefs := make([][]Reference, len(info.cnis))
	for _, s := range sts {
		if g := info.groups[s.Pos]; g != nil && g.cni >= 0 {
			cniRefs[g.cni] = append(cniRefs[g.cni], s.References...)
		}
	}
	for i := range sts {
		s := &sts[i]
		g := info.groups[s.Pos]
		if g == nil || g.cni < 0 {
			// Statuses and scan group alike; this is only a guard.
			return &Error{Pos: s.Pos, Tag: "STS", Msg: "status outside a CNI group", Err: ErrContent}
		}
		ev, err := mp.event(s, g, &info, cniRefs[g.cni])
		if err != nil {
			return err
		}
		if mp.seen[ev.SourceEventID] {
			mp.out.Dropped++
			continue
		}
		mp.seen[ev.SourceEventID] = true
		mp.out.Events = append(mp.out.Events, ev)
	}
	return nil
}

// msgInfo is what scan finds beyond [Statuses].
type msgInfo struct {
	carrier string            // NAD+CA before the first CNI
	places  placeSet          // LOC before the first CNI
	cnis    []placeSet        // LOC of each CNI group before its first STS
	groups  map[int]*groupSeg // status groups by STS position
}

// placeSet holds the origin and destination places given by LOC segments.
type placeSet struct {
	origin, destination []string
}

// add records the place of a LOC segment by its qualifier.
func (ps *placeSet) add(s *Segment) {
	id := s.Component(2, 1)
	if id == "" {
		return
	}
	switch s.Component(1, 1) {
	case "5", "9": // place of departure, place/port of loading
		ps.origin = append(ps.origin, id)
	case "7", "8": // place of delivery, place/port of destination
		ps.destination = append(ps.destination, id)
	}
}

// groupSeg is what scan finds in one status group.
type groupSeg struct {
	cni     int        // index of the CNI group in msgInfo.cnis, or -1
	carrier string     // NAD+CA of the group
	meas    []*Segment // MEA of the group and of its GID groups
}

// scan walks m for the segments [Statuses] does not report: NAD+CA, the LOC
// of the message and CNI levels, and MEA. Grouping follows Statuses: a
// status group runs from its STS to the next STS or CNI, and TDT, EQD and
// GID open nested groups.
func scan(m *Message) msgInfo {
	info := msgInfo{groups: make(map[int]*groupSeg)}
	var (
		cur    *groupSeg
		nested string // tag that opened the nested group of cur, or ""
	)
	for i := range m.Segments {
		s := &m.Segments[i]
		switch s.Tag {
		case "CNI":
			info.cnis = append(info.cnis, placeSet{})
			cur = nil
		case "STS":
			cur, nested = &groupSeg{cni: len(info.cnis) - 1}, ""
			info.groups[s.Pos] = cur
		case "TDT", "EQD", "GID":
			nested = s.Tag
		case "NAD":
			if s.Component(1, 1) != "CA" {
				continue
			}
			name := partyName(s)
			switch {
			case len(info.cnis) == 0 && info.carrier == "":
				info.carrier = name
			case cur != nil && nested == "" && cur.carrier == "":
				cur.carrier = name
			}
		case "LOC":
			switch {
			case len(info.cnis) == 0:
				info.places.add(s)
			case cur == nil:
				info.cnis[len(info.cnis)-1].add(s)
			}
		case "MEA":
			if cur != nil && (nested == "" || nested == "GID") {
				cur.meas = append(cur.meas, s)
			}
		}
	}
	return info
}

// partyName returns the party identification of a NAD segment (C082 3039),
// else its party name (C080 3036).
func partyName(s *Segment) string {
	if id := s.Component(2, 1); id != "" {
		return id
	}
	return s.Component(4, 1)
}

// rec24 is the canonical reading of a UN/ECE Rec 24 status code.
type rec24 struct {
	kind      tracking.Kind
	status    tracking.Status
	substatus string
	exception string // exception type when status is StatusException
}

// rec24Codes maps the Rec 24 status codes with a fixed reading. Codes 1 and
// 24 depend on the place; see rec24At.
var rec24Codes = map[string]rec24{
	"5":  {kind: tracking.KindNote},
	"6":  {kind: tracking.KindMilestone, status: tracking.InfoReceived},
	"7":  {kind: tracking.KindMilestone, status: tracking.Cancelled},
	"12": {kind: tracking.KindMilestone, status: tracking.InTransit, substatus: "customs_cleared"},
	"13": {kind: tracking.KindMilestone, status: tracking.PickedUp},
	"14": {kind: tracking.KindNote},
	"16": {kind: tracking.KindMilestone, status: tracking.InTransit, substatus: "crossed_border"},
	"17": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "customs"},
	"18": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "damaged"},
	"20": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "delay"},
	"21": {kind: tracking.KindMilestone, status: tracking.Delivered},
	"22": {kind: tracking.KindMilestone, status: tracking.Delivered},
	"23": {kind: tracking.KindMilestone, status: tracking.DeliveryAttempted},
	"25": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "delay"},
	"31": {kind: tracking.KindMilestone, status: tracking.InTransit},
	"35": {kind: tracking.KindMilestone, status: tracking.InTransit},
	"36": {kind: tracking.KindMilestone, status: tracking.StatusException, exception: "lost"},
	"37": {kind: tracking.KindMilestone, status: tracking.InTransit, substatus: "found"},
	"45": {kind: tracking.KindMilestone, status: tracking.ArrivedAtDelivery},
}

// reasons9013 maps STS reason codes (element 9013) to canonical reasons,
// the categories of the X12 1651 table.
var reasons9013 = map[string]string{
	"1":  "address_issue",    // address outside delivery area
	"3":  "refused",          // agent refusal
	"5":  "appointment",      // appointment scheduled
	"7":  "consignee_closed", // business closed
	"9":  "address_issue",    // complementary address needed
	"13": "customs",          // customs refusal
	"14": "damaged",          // damaged
}

// rec24At reads status code at place, where ps are the origin and
// destination places that apply.
func rec24At(code, place string, ps ...placeSet) rec24 {
	atOrigin, atDestination := false, false
	if place != "" {
		for _, p := range ps {
			atOrigin = atOrigin || slices.Contains(p.origin, place)
			atDestination = atDestination || slices.Contains(p.destination, place)
		}
	}
	switch code {
	case "1": // arrival completed
		switch {
		case atOrigin:
			return rec24{kind: tracking.KindMilestone, status: tracking.ArrivedAtPickup}
		case atDestination:
			return rec24{kind: tracking.KindMilestone, status: tracking.ArrivedAtDelivery}
		}
		return rec24{kind: tracking.KindMilestone, status: tracking.InTransit, substatus: "arrived"}
	case "24": // departure completed
		if atOrigin {
			return rec24{kind: tracking.KindMilestone, status: tracking.PickedUp, substatus: "departed_pickup"}
		}
		return rec24{kind: tracking.KindMilestone, status: tracking.InTransit}
	}
	if r, ok := rec24Codes[code]; ok {
		return r
	}
	return rec24{kind: tracking.KindMilestone, status: tracking.Unknown}
}

// event maps one status.
func (mp *mapper) event(s *Status, g *groupSeg, info *msgInfo, cniRefs []Reference) (tracking.Event, error) {
	if s.Code == "" {
		return tracking.Event{}, &Error{Pos: s.Pos, Tag: "STS", Element: 2, Msg: "missing status code", Err: ErrContent}
	}
	ev := tracking.Event{Format: FormatIFTSTA, RawCode: s.Code}

	// Keys.
	ev.Keys.ConsignmentID = s.ConsignmentRef
	ev.Keys.Carrier = g.carrier
	if ev.Keys.Carrier == "" {
		ev.Keys.Carrier = info.carrier
	}
	setRefs(&ev.Keys, s.References)
	setRefs(&ev.Keys, cniRefs)

	// Status.
	r := rec24At(s.Code, s.Place, info.places, info.cnis[g.cni])
	if st, ok := mp.p.Status(s.Code); ok {
		r = rec24{kind: tracking.KindMilestone, status: st, exception: r.exception}
	}
	ev.Kind, ev.Status, ev.Substatus = r.kind, r.status, r.substatus

	// Reason.
	if len(s.Reasons) > 0 {
		ev.RawReason = strings.Join(s.Reasons, ",")
		for _, code := range s.Reasons {
			if reason, ok := mp.reason(code); ok {
				ev.Reason = reason
				break
			}
		}
	}
	if ev.Status == tracking.StatusException {
		typ := r.exception
		if typ == "" {
			// A partner status with no type of its own: the reason tells
			// it when it is an exception type.
			typ = "other"
			if slices.Contains(tracking.ExceptionTypes(), ev.Reason) {
				typ = ev.Reason
			}
		}
		ev.Exception = &tracking.Exception{Type: typ, Reason: ev.Reason, ReasonCode: ev.RawReason}
	}

	// Location.
	ev.Location = location(s)

	// Time.
	dt, ok := statusTime(s)
	if !ok {
		return tracking.Event{}, &Error{Pos: s.Pos, Tag: "STS", Msg: "status has no DTM+334 status date/time", Err: ErrContent}
	}
	if err := mp.setTime(&ev, dt, s); err != nil {
		return tracking.Event{}, err
	}

	// Free text.
	prefix := defaultSignerPrefix
	if mp.p != nil && mp.p.SignerRemark != "" {
		prefix = mp.p.SignerRemark
	}
	for _, t := range s.Texts {
		text := strings.Join(t.Lines, " ")
		if text == "" {
			continue
		}
		if t.Subject == "DEL" && ev.POD == nil {
			if signer, ok := signerOf(text, prefix); ok {
				ev.POD = &tracking.POD{Signer: signer}
				continue
			}
		}
		ev.Remarks = append(ev.Remarks, text)
	}

	// Weights.
	for _, m := range g.meas {
		w, ok, err := weight(m, mp.ic.Delimiters.Decimal)
		if err != nil {
			return tracking.Event{}, err
		}
		if ok {
			ev.Weights = append(ev.Weights, w)
		}
	}

	ev.SourceEventID = sourceEventID(mp.ic.Sender, s, dt)
	if err := ev.Validate(); err != nil {
		return tracking.Event{}, &Error{Pos: s.Pos, Tag: "STS", Msg: err.Error(), Err: fmt.Errorf("%w: %w", ErrContent, err)}
	}
	return ev, nil
}

// reason maps a 9013 reason code, the partner's table first.
func (mp *mapper) reason(code string) (string, bool) {
	if r, ok := mp.p.Reason(code); ok {
		return r, true
	}
	r, ok := reasons9013[code]
	return r, ok
}

// setRefs fills the keys that refs give and k does not have yet: CU the
// customer reference, BM the bill of lading, ON the purchase orders.
func setRefs(k *tracking.Keys, refs []Reference) {
	for _, r := range refs {
		if r.Value == "" {
			continue
		}
		switch r.Qualifier {
		case "CU":
			if k.CustomerRef == "" {
				k.CustomerRef = r.Value
			}
		case "BM":
			if k.BOL == "" {
				k.BOL = r.Value
			}
		case "ON":
			if !slices.Contains(k.PO, r.Value) {
				k.PO = append(k.PO, r.Value)
			}
		}
	}
}

// location returns the place of the first LOC+175 of s, or nil.
func location(s *Status) *tracking.Location {
	for _, l := range s.Locations {
		if l.Qualifier != "175" {
			continue
		}
		loc := &tracking.Location{Name: l.Name}
		if isLOCODE(l.ID) && (l.Agency == "" || l.Agency == "6") {
			loc.UNLOCODE = l.ID
			loc.Country = tracking.Country(l.ID[:2])
		}
		if *loc == (tracking.Location{}) {
			return nil
		}
		return loc
	}
	return nil
}

// isLOCODE reports whether id has the shape of a UN/LOCODE: two letters of
// country, then three letters or digits 2–9.
func isLOCODE(id string) bool {
	if len(id) != 5 {
		return false
	}
	for i := range 5 {
		c := id[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case i >= 2 && c >= '2' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// statusTime returns the first DTM+334 (status change date/time) of s.
func statusTime(s *Status) (DateTime, bool) {
	for _, dt := range s.Times {
		if dt.Qualifier == "334" {
			return dt, true
		}
	}
	return DateTime{}, false
}

// setTime reads dt and sets the time fields of ev.
func (mp *mapper) setTime(ev *tracking.Event, dt DateTime, s *Status) error {
	bad := func(format string, args ...any) *Error {
		return &Error{Pos: s.Pos, Tag: "STS", Msg: "DTM+334: " + fmt.Sprintf(format, args...), Err: ErrContent}
	}
	var layout string
	switch dt.Format {
	case "203", "303":
		layout = "200601021504"
	case "204", "304":
		layout = "20060102150405"
	case "":
		return bad("missing date/time format")
	default:
		return bad("date/time format %s is not supported (want 203, 204, 303 or 304)", dt.Format)
	}
	if len(dt.Value) < len(layout) || !allDigits(dt.Value[:len(layout)]) {
		return bad("value %q does not match format %s", dt.Value, dt.Format)
	}
	wall, zone := dt.Value[:len(layout)], dt.Value[len(layout):]
	local, err := time.Parse(layout, wall)
	if err != nil {
		return bad("value %q is not a valid date/time", dt.Value)
	}

	var (
		z      *time.Location
		source string
	)
	switch {
	case dt.Format == "303" || dt.Format == "304":
		if z, err = fixedZone(zone); err != nil {
			return bad("value %q: %v", dt.Value, err)
		}
		source = tracking.TZOffset
	case zone != "":
		return bad("value %q does not match format %s", dt.Value, dt.Format)
	default:
		name, src := tracking.ZoneOf(ev.Location), tracking.TZLocation
		if name == "" {
			name, src = mp.def, tracking.TZPartnerDefault
		}
		if name == "" {
			return &Error{Pos: s.Pos, Tag: "STS", Msg: fmt.Sprintf("DTM+334 %s: no LOC+175 UN/LOCODE with a known zone: %v", dt.Value, tracking.ErrNoZone), Err: fmt.Errorf("%w: %w", ErrContent, tracking.ErrNoZone)}
		}
		if z, err = mp.zone(name); err != nil {
			return &Error{Pos: s.Pos, Tag: "STS", Msg: fmt.Sprintf("loading zone %q: %v", name, err), Err: fmt.Errorf("%w: %w", ErrContent, err)}
		}
		source = src
	}
	utc, tz, source, err := tracking.Resolve(local, z, source, ev.Location, mp.def)
	if err != nil {
		return &Error{Pos: s.Pos, Tag: "STS", Msg: fmt.Sprintf("resolving DTM+334 %s: %v", dt.Value, err), Err: fmt.Errorf("%w: %w", ErrContent, err)}
	}
	if y := utc.Year(); y < 1 || y > 9999 {
		return bad("value %q is out of range", dt.Value)
	}
	ev.OccurredAt, ev.Local, ev.TZ, ev.TZSource = utc, tracking.LocalString(local), tz, source
	return nil
}

// zone loads the IANA zone name, once per MapIFTSTA call.
func (mp *mapper) zone(name string) (*time.Location, error) {
	if z, ok := mp.zones[name]; ok {
		return z, nil
	}
	if name == "Local" {
		return nil, errors.New("the machine's local zone is not a partner zone")
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if mp.zones == nil {
		mp.zones = make(map[string]*time.Location)
	}
	mp.zones[name] = z
	return z, nil
}

// fixedZone reads the zone suffix of DTM formats 303 and 304, whose content
// the partner defines: UTC (also UT, GMT, Z) or an offset ±hh, ±hhmm or
// ±hh:mm.
func fixedZone(s string) (*time.Location, error) {
	switch strings.ToUpper(s) {
	case "UTC", "UT", "GMT", "Z":
		return time.UTC, nil
	case "":
		return nil, errors.New("missing time zone")
	}
	var hh, mm string
	switch {
	case len(s) == 3:
		hh = s[1:3]
	case len(s) == 5:
		hh, mm = s[1:3], s[3:5]
	case len(s) == 6 && s[3] == ':':
		hh, mm = s[1:3], s[4:6]
	}
	if (s[0] != '+' && s[0] != '-') || hh == "" || !allDigits(hh+mm) {
		return nil, fmt.Errorf("time zone %q is neither UTC nor an offset such as +01 or +0100", s)
	}
	h, _ := strconv.Atoi(hh)
	m := 0
	if mm != "" {
		m, _ = strconv.Atoi(mm)
	}
	if h > 14 || m > 59 {
		return nil, fmt.Errorf("time zone offset %q is out of range", s)
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone(fmt.Sprintf("%c%02d:%02d", s[0], h, m), off), nil
}

// allDigits reports whether s is all ASCII digits.
func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// signerOf returns the signer named by a text that starts with prefix,
// compared without regard to case, such as "SIGNED BY J VAN DAM".
func signerOf(text, prefix string) (string, bool) {
	if len(text) < len(prefix) || !strings.EqualFold(text[:len(prefix)], prefix) {
		return "", false
	}
	signer := strings.TrimLeft(text[len(prefix):], " :")
	signer = strings.TrimSpace(signer)
	return signer, signer != ""
}

// weight reads a MEA segment (C174: unit 6411, value 6314) as an actual
// weight. ok is false when the MEA is not a weight: no value, or a unit
// that is not a mass unit while the purpose (6311) is not WT. decimal is
// the interchange's decimal mark.
func weight(s *Segment, decimal byte) (w tracking.Weight, ok bool, err error) {
	unit, value := s.Component(3, 1), s.Component(3, 2)
	if value == "" {
		return tracking.Weight{}, false, nil
	}
	num := value
	if decimal != '.' && decimal != 0 {
		// EDIFACT numbers have no thousands separators: the mark is the
		// only one.
		num = strings.ReplaceAll(value, string(decimal), ".")
	}
	w, err = tracking.ParseWeight(num, unit, tracking.WeightActual)
	if err != nil {
		if errors.Is(err, tracking.ErrBadUnit) && s.Component(1, 1) != "WT" {
			return tracking.Weight{}, false, nil
		}
		return tracking.Weight{}, false, &Error{Pos: s.Pos, Tag: "MEA", Element: 3, Msg: fmt.Sprintf("reading weight: %v", err), Err: fmt.Errorf("%w: %w", ErrContent, err)}
	}
	w.RawValue = value
	return w, true, nil
}

// sourceEventID hashes what identifies a status report: the interchange
// sender, the consignment (its reference, else its CNI number), the status
// code and the DTM+334 value and format as sent.
func sourceEventID(sender string, s *Status, dt DateTime) string {
	consignment := s.ConsignmentRef
	if consignment == "" {
		consignment = "#" + s.ConsignmentSeq
	}
	h := sha256.New()
	for _, f := range []string{sender, consignment, s.Code, dt.Value, dt.Format} {
		h.Write([]byte(f))
		h.Write([]byte{0x1f})
	}
	return "iftsta-" + hex.EncodeToString(h.Sum(nil)[:16])
}
