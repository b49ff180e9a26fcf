package x12

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/tracking"
)

// Format210 is the Invoice.Format of invoices mapped from a 210.
const Format210 = "x12_210"

// CurrencyDefault is the currency of a 210 that has no C3 segment when the
// partner sets no [tracking.Partner.Currency].
const CurrencyDefault = "USD"

// Map210 turns one 210 (freight invoice) transaction set into an invoice.
//
// B3 gives the invoice number (02), the invoice date as a civil date (06),
// the SCAC (11) and the net amount due (07, N2: two implied decimals),
// which becomes Total. C3-01 gives the currency (CurrencySource
// "document"); without it the partner's currency, else [CurrencyDefault],
// is used (CurrencySource "partner_default"). Amounts are converted to the
// currency's minor unit and refused when they carry more decimals than it
// has. N9 references give the keys (BM bill of lading, CN PRO, PO purchase
// orders, CR customer reference); B3-03, the shipment identification,
// fills the PRO when no N9 CN does, else the BOL, unless it repeats one.
//
// Each L1 becomes a line: L1-08 (element 150) is looked up in the
// partner's charge codes, then in the standard table, and unknown codes
// give "other"; the raw code is always kept. Rate and rate basis are L1-02
// and L1-03 as sent, the description L1-12, and for per-unit bases (PR per
// hour, CW per hundredweight, PM per mile, PP per piece, LB, KG) the
// quantity is the charge divided by the rate, with its UN/ECE unit. The
// charge is L1-04, else L1-06. Σ L1 must equal L3-05 and B3-07; a
// difference is an *Error located at the total that disagrees.
//
// The billed weight is L3-01 (else each L0-04), in the unit of L3-12 or
// L0-11, else B3-05, else the partner's. A K1 remark "REWEIGH <declared> TO
// <billed> [unit]" adds the declared weight it states. Handling units are
// L3-11 (else Σ L0-08) with the L0-09 packaging. The POD segment gives the
// signer and the delivery time, resolved in the zone of the consignee's N4
// (N1 CN, else ST), then the partner's default zone. K1 remarks are kept.
// G62 dates are checked but not carried: the canonical invoice has no
// field for them.
//
// SourceEventID hashes the SCAC, the invoice number and the correction
// indicator (B3-08). A set that cannot be mapped gives an error holding one
// *Error per problem and a zero Invoice.
func Map210(tx *Transaction, p *tracking.Partner) (tracking.Invoice, error) {
	return map210(tx, partnerOrZero(p), envelope{})
}

type mapper210 struct {
	p    *tracking.Partner
	tx   *Transaction
	errs []*Error

	b3, c3, pod, l3 *Segment
	l0s, l1s        []Segment
	keys            tracking.Keys
	cnPRO           string
	consignee       *tracking.Location
	shipTo          *tracking.Location
	remarks         []string
	declared        *tracking.Weight
}

func (m *mapper210) fail(s Segment, elem int, format string, args ...any) {
	m.errs = append(m.errs, segErr(s, elem, format, args...))
}

func map210(tx *Transaction, p *tracking.Partner, env envelope) (tracking.Invoice, error) {
	if tx == nil || len(tx.Segments) == 0 {
		return tracking.Invoice{}, errors.New("mapping 210: empty transaction set")
	}
	m := &mapper210{p: p, tx: tx}
	party := ""
	for _, s := range tx.Segments[1:] {
		switch s.ID {
		case "B3":
			if m.b3 == nil {
				m.b3 = &s
			}
		case "C3":
			if m.c3 == nil {
				m.c3 = &s
			}
		case "N9":
			m.n9(s)
		case "G62":
			if _, _, _, ok := parseDate(s.Element(2)); !ok {
				m.fail(s, 2, "date %q is not CCYYMMDD", s.Element(2))
			}
			if t := s.Element(4); t != "" {
				if _, _, _, _, ok := parseClock(t); !ok {
					m.fail(s, 4, "time %q is not HHMM, HHMMSS or HHMMSSD[D]", t)
				}
			}
		case "N1":
			party = s.Element(1)
		case "N4":
			loc := location(s.Element(1), s.Element(2), s.Element(3), s.Element(4))
			switch party {
			case "CN":
				m.consignee = loc
			case "ST":
				m.shipTo = loc
			}
		case "LX":
			party = ""
		case "POD":
			if m.pod == nil {
				m.pod = &s
			}
		case "L0":
			m.l0s = append(m.l0s, s)
		case "L1":
			m.l1s = append(m.l1s, s)
		case "K1":
			m.k1(s)
		case "L3":
			if m.l3 == nil {
				m.l3 = &s
			}
		}
	}
	if m.b3 == nil {
		m.errs = append(m.errs, missingErr(tx, "B3"))
		return tracking.Invoice{}, joinErrs(m.errs)
	}
	inv := m.invoice(env)
	if len(m.errs) > 0 {
		return tracking.Invoice{}, joinErrs(m.errs)
	}
	return inv, nil
}

// n9 reads a reference.
func (m *mapper210) n9(s Segment) {
	v := s.Element(2)
	switch s.Element(1) {
	case "BM":
		if m.keys.BOL == "" {
			m.keys.BOL = v
		}
	case "CN":
		if m.cnPRO == "" {
			m.cnPRO = v
		}
	case "PO":
		m.keys.PO = appendUnique(m.keys.PO, v)
	case "CR":
		if m.keys.CustomerRef == "" {
			m.keys.CustomerRef = v
		}
	}
}

// reweighRemark matches "REWEIGH 1800 TO 2050 LB".
var reweighRemark = regexp.MustCompile(`^REWEIGH\s+([0-9][0-9,]*(?:\.[0-9]+)?)\s+TO\s+[0-9][0-9,]*(?:\.[0-9]+)?\s*([A-Z]*)$`)

// k1 keeps the remarks of a K1 segment and reads a reweigh remark.
func (m *mapper210) k1(s Segment) {
	for i := 1; i <= len(s.Elements); i++ {
		r := strings.TrimSpace(s.Element(i))
		if r == "" {
			continue
		}
		m.remarks = append(m.remarks, r)
		if sub := reweighRemark.FindStringSubmatch(strings.ToUpper(r)); sub != nil && m.declared == nil {
			m.declared = &tracking.Weight{RawValue: sub[1], RawUnit: sub[2]}
		}
	}
}

// invoice builds the invoice once every segment is read.
func (m *mapper210) invoice(env envelope) tracking.Invoice {
	b3 := *m.b3
	inv := tracking.Invoice{
		Format:        Format210,
		InvoiceNumber: b3.Element(2),
		Remarks:       m.remarks,
	}
	if inv.InvoiceNumber == "" {
		m.fail(b3, 2, "no invoice number")
	}
	if d := b3.Element(6); d != "" {
		date, ok := civilDate(d)
		if !ok {
			m.fail(b3, 6, "invoice date %q is not CCYYMMDD", d)
		}
		inv.InvoiceDate = date
	}

	// Keys.
	keys := m.keys
	keys.SCAC = b3.Element(11)
	if keys.SCAC == "" {
		keys.SCAC = env.scac
	}
	keys.PRO = m.cnPRO
	switch sid := b3.Element(3); {
	case sid == "" || sid == keys.PRO || sid == keys.BOL:
	case keys.PRO == "":
		keys.PRO = sid
	case keys.BOL == "":
		keys.BOL = sid
	}
	if len(keys.Refs()) == 0 {
		m.fail(b3, 3, "no PRO with a SCAC and no bill of lading: the invoice names no shipment")
	}
	inv.Keys = keys
	inv.SourceEventID = sourceID("x12-210-", keys.SCAC, inv.InvoiceNumber, b3.Element(8))

	// Currency and amounts.
	inv.Currency, inv.CurrencySource = m.currency()
	if inv.Currency == "" {
		return inv
	}
	total, totalOK := m.amount(b3, 7, inv.Currency)
	inv.Total = total
	sum, sumOK := money.Money{Currency: inv.Currency}, true
	inv.Lines = []tracking.InvoiceLine{}
	for _, l1 := range m.l1s {
		line, ok := m.line(l1, inv.Currency)
		if !ok {
			sumOK = false
			continue
		}
		inv.Lines = append(inv.Lines, line)
		next, err := sum.Add(line.Amount)
		if err != nil {
			m.fail(l1, 4, "adding the charge: %v", err)
			sumOK = false
			continue
		}
		sum = next
	}
	var l3Total money.Money
	l3Present, l3OK := m.l3 != nil && m.l3.Element(5) != "", false
	if l3Present {
		l3Total, l3OK = m.amount(*m.l3, 5, inv.Currency)
	}
	switch {
	case !sumOK || !totalOK || (l3Present && !l3OK):
		// Already reported.
	case l3OK && sum != l3Total:
		m.fail(*m.l3, 5, "total charge %s does not match the sum of the L1 charges %s", l3Total.Decimal(), sum.Decimal())
	case l3OK && l3Total != total:
		m.fail(b3, 7, "net amount due %s does not match the L3 total charge %s", total.Decimal(), l3Total.Decimal())
	case !l3OK && sum != total:
		m.fail(b3, 7, "net amount due %s does not match the sum of the L1 charges %s", total.Decimal(), sum.Decimal())
	}

	m.weights(&inv)
	inv.POD = m.podOf()
	return inv
}

// currency returns the invoice currency and where it came from.
func (m *mapper210) currency() (code, source string) {
	if m.c3 != nil && m.c3.Element(1) != "" {
		c := strings.ToUpper(m.c3.Element(1))
		if _, err := money.Exponent(c); err != nil {
			m.fail(*m.c3, 1, "currency: %v", err)
			return "", ""
		}
		return c, "document"
	}
	c := strings.ToUpper(m.p.Currency)
	if c == "" {
		c = CurrencyDefault
	}
	if _, err := money.Exponent(c); err != nil {
		m.fail(*m.b3, 7, "partner default currency: %v", err)
		return "", ""
	}
	return c, "partner_default"
}

// amount reads the N2 amount in element elem of s, which must be there.
func (m *mapper210) amount(s Segment, elem int, currency string) (money.Money, bool) {
	v := s.Element(elem)
	if v == "" {
		m.fail(s, elem, "no amount")
		return money.Money{}, false
	}
	a, err := n2Money(v, currency)
	if err != nil {
		m.fail(s, elem, "reading amount: %v", err)
		return money.Money{}, false
	}
	return a, true
}

// unitQuantities maps per-unit rate bases (element 122) to the UN/ECE
// unit of the quantity they bill.
var unitQuantities = map[string]string{
	"PR": "HUR", // per hour
	"CW": "CWA", // per hundredweight (100 lb)
	"PM": "SMI", // per mile
	"PP": "H87", // per piece
	"LB": "LBR", // per pound
	"KG": "KGM", // per kilogram
}

// line maps one L1.
func (m *mapper210) line(l1 Segment, currency string) (tracking.InvoiceLine, bool) {
	code := l1.Element(8)
	line := tracking.InvoiceLine{
		Type:        chargeType(code, m.p),
		RawCode:     code,
		Description: strings.TrimSpace(l1.Element(12)),
		Rate:        l1.Element(2),
		RateBasis:   l1.Element(3),
	}
	elem := 4
	if l1.Element(4) == "" && l1.Element(6) != "" {
		elem = 6
	}
	amt, ok := m.amount(l1, elem, currency)
	if !ok {
		return line, false
	}
	line.Amount = amt
	if line.Rate == "" {
		return line, true
	}
	rate, ok := decimalRat(line.Rate)
	if !ok {
		m.fail(l1, 2, "rate %q is not a decimal number", line.Rate)
		return line, false
	}
	unit, perUnit := unitQuantities[line.RateBasis]
	if !perUnit || rate.Sign() == 0 {
		return line, true
	}
	exp, _ := money.Exponent(currency)
	major := new(big.Rat).SetFrac(big.NewInt(amt.Minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	if q, exact := shortDecimal(new(big.Rat).Quo(major, rate)); exact {
		line.Quantity, line.Unit = q, unit
	}
	return line, true
}

// chargeType looks an L1-08 code up in the partner's charge codes, then in
// the standard table.
func chargeType(code string, p *tracking.Partner) string {
	if t, ok := p.Charge(code); ok {
		return t
	}
	if t, ok := chargeCodes[strings.ToUpper(code)]; ok {
		return t
	}
	return tracking.ChargeOther
}

// weights fills the billed and declared weights and the handling units.
func (m *mapper210) weights(inv *tracking.Invoice) {
	defUnit := m.b3.Element(5)
	if defUnit == "" {
		defUnit = m.p.WeightUnit
	}
	billedUnit := defUnit
	parse := func(s Segment, valElem, unitElem int, kind string) {
		unit := s.Element(unitElem)
		if unit == "" {
			unit = defUnit
		}
		w, err := tracking.ParseWeight(s.Element(valElem), unit, kind)
		switch {
		case errors.Is(err, tracking.ErrBadUnit):
			m.fail(s, unitElem, "reading weight: %v", err)
		case err != nil:
			m.fail(s, valElem, "reading weight: %v", err)
		default:
			inv.Weights = append(inv.Weights, w)
			billedUnit = unit
		}
	}
	if m.l3 != nil && m.l3.Element(1) != "" {
		parse(*m.l3, 1, 12, tracking.WeightBilled)
	} else {
		for _, l0 := range m.l0s {
			if l0.Element(4) != "" {
				parse(l0, 4, 11, tracking.WeightBilled)
			}
		}
	}
	if d := m.declared; d != nil {
		unit := d.RawUnit
		if unit == "" {
			unit = billedUnit
		}
		// The remark is free text: a weight it does not give is no error.
		if w, err := tracking.ParseWeight(d.RawValue, unit, tracking.WeightDeclared); err == nil {
			inv.Weights = append(inv.Weights, w)
		}
	}

	count, counted, packaging := 0, false, ""
	for _, l0 := range m.l0s {
		if v := l0.Element(8); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				m.fail(l0, 8, "lading quantity %q is not a whole number", v)
				continue
			}
			count += n
			counted = true
		}
		switch pk := l0.Element(9); {
		case pk == "":
		case packaging == "":
			packaging = pk
		case packaging != pk:
			packaging = "MIX"
		}
	}
	if packaging == "MIX" {
		packaging = ""
	}
	if m.l3 != nil && m.l3.Element(11) != "" {
		n, err := strconv.Atoi(m.l3.Element(11))
		if err != nil || n < 0 {
			m.fail(*m.l3, 11, "lading quantity %q is not a whole number", m.l3.Element(11))
			return
		}
		count, counted = n, true
	}
	if counted {
		inv.HandlingUnits = &tracking.Count{Count: count, Packaging: packaging}
	}
}

// podOf reads the POD segment: date, time and signer.
func (m *mapper210) podOf() *tracking.InvoicePOD {
	if m.pod == nil {
		return nil
	}
	s := *m.pod
	pod := &tracking.InvoicePOD{Signer: strings.TrimSpace(s.Element(3))}
	y, mo, d, ok := parseDate(s.Element(1))
	if !ok {
		m.fail(s, 1, "date %q is not CCYYMMDD", s.Element(1))
		return nil
	}
	if s.Element(2) == "" {
		return pod
	}
	h, mi, sec, ns, ok := parseClock(s.Element(2))
	if !ok {
		m.fail(s, 2, "time %q is not HHMM, HHMMSS or HHMMSSD[D]", s.Element(2))
		return nil
	}
	at := m.consignee
	if at == nil {
		at = m.shipTo
	}
	r, err := resolveReading(localReading{local: time.Date(y, mo, d, h, mi, sec, ns, time.UTC)}, at, m.p)
	if err != nil {
		m.fail(s, 2, "%v", err)
		return nil
	}
	pod.At = r.utc.Format(time.RFC3339Nano)
	pod.TZSource = r.source
	return pod
}

// chargeCodes is the standard L1-08 table (element 150, with the element
// 1602 aliases seen in the wild), from the reference's §1.5.1. Types the
// canonical vocabulary does not have (reweigh, hazmat, tolls, storage…)
// are accessorials; the raw code keeps the detail.
var chargeCodes = func() map[string]string {
	m := make(map[string]string)
	add := func(typ string, codes ...string) {
		for _, c := range codes {
			m[c] = typ
		}
	}
	add(tracking.ChargeLinehaul, "400", "LHS", "FAK", "MIN", "MIC", "FRT", "LH")
	add(tracking.ChargeFuel, "405", "FUE", "ENS", "FSC", "FS")
	add(tracking.ChargeDetention, "DET", "DEP", "TDT", "DTV", "DTL", "DTU", "DTB", "DPU", "DWP", "DETN")
	add(tracking.ChargeLayover, "LAY", "LYC", "LOVR")
	add(tracking.ChargeLumper, "UNL", "UND", "LAB", "LOA", "LUM", "LMP")
	add(tracking.ChargeLiftgate, "LFT", "LGT", "LG")
	add(tracking.ChargeResidential, "RES", "REP", "RSD")
	add(tracking.ChargeInsideDelivery, "IDL", "IPU") // not INS: that is insurance
	add(tracking.ChargeRedelivery, "RCL", "RDL")
	add(tracking.ChargeDiscount, "DSC")
	add(tracking.ChargeAccessorial,
		"LAC", "LTD", // limited access
		"APT", "MNC", "NFY", "NOA", // appointment, notification
		"RCC", "DIV", // reconsignment
		"WTV", "WRC", "RWT", // reweigh
		"HAZ", "HZC", "420", "425", // hazmat
		"SOC", "STD", "STQ", // stop-off
		"VOR", "CAA", "TONU", // truck ordered not used
		"SRG", "STR", // storage
		"IHT", "BRD", // tolls
		"INS", "INC", // insurance
	)
	add(tracking.ChargeOther, "MSC", "MSG", "999")
	return m
}()
