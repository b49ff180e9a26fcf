package x12

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/tracking"
)

// 997 AK5 transaction set syntax error codes (element 717) that mapping
// errors carry.
const (
	// codeNotSupported is "transaction set not supported".
	codeNotSupported = "1"
	// codeSegmentsInError is "one or more segments in error".
	codeSegmentsInError = "5"
)

// Map turns the transaction sets of ic into canonical values, dispatching on
// ST01: 214 to [Map214], 210 to [Map210] and 990 to [Map990].
//
// Every other transaction set gives an *Error with the 997 code "1"
// (transaction set not supported) located at ST01. A set that fails to map
// gives one or more *Error values with code "5" (one or more segments in
// error), each naming the segment position and element, and contributes
// nothing to the result. All of them can be passed to [Ack997], together
// with the errors of [Parse], to reject exactly the sets that could not be
// used.
//
// Map skips, without an error of its own, what Parse has already reported:
// a set without a consistent SE trailer or in the wrong kind of functional
// group, a group without a consistent GE trailer, and everything when the
// IEA trailer is missing or inconsistent. Parse's errors say why, and the
// caller acknowledges them; mapping those parts would store what the 997
// rejects. Problems Parse reports that leave no trace in the Interchange
// (empty segments, segments outside a set or after the IEA) are the
// caller's to act on: reject the interchange when Parse returned any
// interchange-level (TA1) error.
//
// When the ISA sender qualifier (ISA05) is "02", the sender ID is a SCAC
// and stands in for a SCAC the transaction set leaves out. Events, invoices
// and tender responses that repeat one already mapped from ic (same
// SourceEventID) are dropped and counted in Mapped.Dropped. p may be nil
// for the standard tables and no default zone. Map never panics; it returns
// an empty result for a nil ic.
func Map(ic *Interchange, p *tracking.Partner) (tracking.Mapped, []*Error) {
	var out tracking.Mapped
	if ic == nil || !intactInterchange(ic) {
		return out, nil
	}
	p = partnerOrZero(p)
	env := envelope{}
	if ic.SenderQualifier == "02" {
		env.scac = ic.SenderID
	}
	var errs []*Error
	seen := make(map[string]bool)
	fresh := func(id string) bool {
		if seen[id] {
			out.Dropped++
			return false
		}
		seen[id] = true
		return true
	}
	for _, g := range ic.Groups {
		if !intactGroup(g) {
			continue
		}
		for i := range g.Transactions {
			tx := &g.Transactions[i]
			if !intactTx(g, tx) {
				continue
			}
			switch tx.Code {
			case "214":
				events, err := map214(tx, p, env)
				if err != nil {
					errs = append(errs, Errors(err)...)
					continue
				}
				for _, ev := range events {
					if fresh(ev.SourceEventID) {
						out.Events = append(out.Events, ev)
					}
				}
			case "210":
				inv, err := map210(tx, p, env)
				if err != nil {
					errs = append(errs, Errors(err)...)
					continue
				}
				if fresh(inv.SourceEventID) {
					out.Invoices = append(out.Invoices, inv)
				}
			case "990":
				resp, err := map990(tx, p, env)
				if err != nil {
					errs = append(errs, Errors(err)...)
					continue
				}
				if fresh(resp.SourceEventID) {
					out.Responses = append(out.Responses, resp)
				}
			default:
				st := tx.Segments[0]
				errs = append(errs, &Error{Pos: st.Pos, Segment: "ST", Element: 1, Code: codeNotSupported,
					Msg: fmt.Sprintf("transaction set %s is not supported", strconv.Quote(tx.Code))})
			}
		}
	}
	return out, errs
}

// envelope holds what a mapper may take from the envelope around its
// transaction set.
type envelope struct {
	// scac is the SCAC to use when the set has none: the ISA sender ID
	// when ISA05 is "02".
	scac string
}

// intactInterchange reports whether the IEA trailer is present and agrees
// with the interchange.
func intactInterchange(ic *Interchange) bool {
	return ic.IEA != nil && countMatches(ic.IEA.Element(1), len(ic.Groups)) &&
		ic.IEA.Element(2) == ic.ControlNumber
}

// intactGroup reports whether the GE trailer of g is present and agrees
// with the group.
func intactGroup(g Group) bool {
	return g.GE != nil && countMatches(g.GE.Element(1), len(g.Transactions)) &&
		g.GE.Element(2) == g.ControlNumber
}

// intactTx reports whether tx has an ST header and an SE trailer that
// agree with it, and belongs in g.
func intactTx(g Group, tx *Transaction) bool {
	n := len(tx.Segments)
	if n < 2 || tx.Code == "" || tx.ControlNumber == "" {
		return false
	}
	se := tx.Segments[n-1]
	if se.ID != "SE" || !countMatches(se.Element(1), n) || se.Element(2) != tx.ControlNumber {
		return false
	}
	if want, known := functionalIDs[tx.Code]; known && want != g.FunctionalID {
		return false
	}
	return true
}

// partnerOrZero returns p, or the zero Partner when p is nil.
func partnerOrZero(p *tracking.Partner) *tracking.Partner {
	if p == nil {
		return &tracking.Partner{}
	}
	return p
}

// segErr returns a mapping error located at element elem of s.
func segErr(s Segment, elem int, format string, args ...any) *Error {
	return &Error{Pos: s.Pos, Segment: s.ID, Element: elem, Code: codeSegmentsInError, Msg: fmt.Sprintf(format, args...)}
}

// missingErr returns a mapping error for a mandatory segment id that tx
// lacks, located where it was expected: right after the ST header.
func missingErr(tx *Transaction, id string) *Error {
	pos := tx.Segments[0].Pos + 1
	if pos > tx.End {
		pos = tx.End
	}
	return &Error{Pos: pos, Segment: id, Code: codeSegmentsInError,
		Msg: fmt.Sprintf("transaction set %s has no %s segment", tx.ControlNumber, id)}
}

// joinErrs returns nil, the only error, or all of them joined, so that
// [Errors] lists every one.
func joinErrs(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// sourceID returns prefix followed by the first 32 hex digits of the
// SHA-256 of parts, each terminated by a unit separator so that ("ab", "c")
// and ("a", "bc") differ.
func sourceID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0x1f})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:32]
}

// parseDate reads a CCYYMMDD date. It reports false for anything else,
// including dates that do not exist.
func parseDate(s string) (year int, month time.Month, day int, ok bool) {
	if len(s) != 8 || !isDigits(s) {
		return 0, 0, 0, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[4:6])
	d, _ := strconv.Atoi(s[6:])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || t.Month() != time.Month(m) || t.Day() != d {
		return 0, 0, 0, false
	}
	return y, time.Month(m), d, true
}

// civilDate returns a CCYYMMDD date as YYYY-MM-DD.
func civilDate(s string) (string, bool) {
	y, m, d, ok := parseDate(s)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d), true
}

// parseClock reads an X12 time (element 337): HHMM, HHMMSS, HHMMSSD or
// HHMMSSDD, where D are tenths and DD hundredths of a second.
func parseClock(s string) (hour, minute, sec, nsec int, ok bool) {
	switch len(s) {
	case 4, 6, 7, 8:
	default:
		return 0, 0, 0, 0, false
	}
	if !isDigits(s) {
		return 0, 0, 0, 0, false
	}
	hour, _ = strconv.Atoi(s[:2])
	minute, _ = strconv.Atoi(s[2:4])
	if len(s) >= 6 {
		sec, _ = strconv.Atoi(s[4:6])
	}
	if len(s) > 6 {
		frac, _ := strconv.Atoi(s[6:])
		if len(s) == 7 {
			nsec = frac * 100_000_000
		} else {
			nsec = frac * 10_000_000
		}
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return 0, 0, 0, 0, false
	}
	return hour, minute, sec, nsec, true
}

// localReading is a wall-clock reading and the time code it came with.
type localReading struct {
	local time.Time // in UTC as a carrier of the wall-clock fields only
	code  string    // element 623, may be empty
}

// resolved is a reading turned into an instant.
type resolved struct {
	utc    time.Time
	local  string
	tz     string
	source string
}

// resolveReading turns r into an instant: with the zone of its X12 time
// code when it has one, otherwise ([tracking.Resolve]) the zone of at, then
// the partner's default zone. UT and GM are flagged [tracking.TZUTC], the
// other codes [tracking.TZX12Code]. An unknown time code is an error.
func resolveReading(r localReading, at *tracking.Location, p *tracking.Partner) (resolved, error) {
	zone, known := tracking.X12Zone(r.code)
	source := ""
	switch {
	case known && zone == time.UTC:
		source = tracking.TZUTC
	case known:
		source = tracking.TZX12Code
	case r.code != "" && r.code != "LT":
		return resolved{}, fmt.Errorf("unknown time code %q", r.code)
	}
	utc, tz, src, err := tracking.Resolve(r.local, zone, source, at, p.Zone)
	if err != nil {
		return resolved{}, fmt.Errorf("resolving local time %s: %w", tracking.LocalString(r.local), err)
	}
	return resolved{utc: utc, local: tracking.LocalString(r.local), tz: tz, source: src}, nil
}

// n2Money converts an N2 amount (two implied decimals, optional sign) into
// money in currency. The amount must not have more decimals than the
// currency: 150000 in JPY is 1500, 150050 in JPY is an error.
func n2Money(s, currency string) (money.Money, error) {
	body := strings.TrimPrefix(s, "-")
	if body == "" || !isDigits(body) || len(body) > 18 {
		return money.Money{}, fmt.Errorf("amount %q is not an N2 number", s)
	}
	for len(body) < 3 {
		body = "0" + body
	}
	dec := body[:len(body)-2] + "." + body[len(body)-2:]
	if strings.HasPrefix(s, "-") {
		dec = "-" + dec
	}
	m, err := money.ParseDecimal(dec, currency)
	if err != nil {
		return money.Money{}, fmt.Errorf("amount %q: %w", s, err)
	}
	return m, nil
}

// decimalRat reads a plain decimal (digits, optional sign and point) as
// sent in R elements such as L1-02.
func decimalRat(s string) (*big.Rat, bool) {
	body := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(body, ".")
	if intPart+frac == "" || !isDigits(intPart) || !isDigits(frac) || len(body) > 30 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// isDigits reports whether s holds only ASCII digits; "" holds none.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shortDecimal formats r with at most three decimals and no trailing
// zeros, and reports false when r needs more.
func shortDecimal(r *big.Rat) (string, bool) {
	scaled := new(big.Rat).Mul(r, big.NewRat(1000, 1))
	if !scaled.IsInt() {
		return "", false
	}
	s := r.FloatString(3)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	return s, true
}

// location returns the location of a city, state or province, postal code
// and country as X12 sends them (MS1, N4), or nil when all are empty.
func location(city, region, postal, country string) *tracking.Location {
	if city == "" && region == "" && postal == "" && country == "" {
		return nil
	}
	return &tracking.Location{City: city, Region: region, PostalCode: postal, Country: tracking.Country(country)}
}

// appendUnique appends s to list unless it is empty or already there.
func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}
