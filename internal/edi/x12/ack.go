package x12

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AckControl holds the values of a 997 interchange that the caller owns.
type AckControl struct {
	// InterchangeControl is ISA13/IEA02 of the acknowledgement, 1 to 999999999.
	InterchangeControl int
	// GroupControl is GS06/GE02 of the acknowledgement, 1 to 999999999.
	GroupControl int
	// Time is the interchange and group date and time (ISA09/10, GS04/05),
	// written in its own location.
	Time time.Time
	// SenderID and SenderQualifier are who sends the acknowledgement
	// (ISA06 and GS02, ISA05): the receiver's own configured X12 id. Empty
	// SenderID answers as whoever in addressed (its ISA08 and GS03); an
	// empty qualifier with a SenderID is "ZZ" (mutually defined).
	SenderID, SenderQualifier string
}

// maxAckCodes is the number of syntax error codes AK5 and AK9 can carry.
const maxAckCodes = 5

// Ack997 builds a 997 functional acknowledgement interchange for in, written
// with the delimiters of in. Sender and receiver are swapped; ISA11, ISA12,
// ISA15 and the GS08 version are copied from in.
//
// It holds one 997 transaction set per functional group of in: an AK1, then
// an AK2 and AK5 for every transaction set, then an AK9. A transaction set
// is rejected ("R") with the codes of the errs that fall inside it; a group
// is rejected when it has a group-level error or all of its sets were
// rejected, and partially accepted ("P") when only some were. errs are
// usually the [Errors] of the error returned by [Parse]. Interchange-level
// errors (TA1 codes) are not reported in a 997. Ack997 returns nil when in
// is nil.
func Ack997(in *Interchange, errs []*Error, ctl AckControl) []byte {
	if in == nil {
		return nil
	}
	type groupErrs struct {
		codes []string
		tx    [][]string
	}
	ge := make([]groupErrs, len(in.Groups))
	for i, g := range in.Groups {
		ge[i].tx = make([][]string, len(g.Transactions))
	}
	for _, e := range errs {
		gi, ti := in.locate(e)
		switch {
		case gi < 0:
		case ti < 0:
			ge[gi].codes = appendCode(ge[gi].codes, e.Code)
		default:
			ge[gi].tx[ti] = appendCode(ge[gi].tx[ti], e.Code)
		}
	}

	d := in.Delimiters
	w := ackWriter{d: d}
	gsSender, gsReceiver, version := in.ReceiverID, in.SenderID, "004010"
	if len(in.Groups) > 0 {
		g := in.Groups[0]
		gsSender, gsReceiver = g.ReceiverID, g.SenderID
		if g.Version != "" {
			version = g.Version
		}
	}
	isaSenderQual, isaSender := in.ISA.Element(7), in.ISA.Element(8)
	if ctl.SenderID != "" {
		gsSender, isaSender, isaSenderQual = ctl.SenderID, fmt.Sprintf("%-15s", ctl.SenderID), cmp.Or(ctl.SenderQualifier, "ZZ")
	}
	isaCtl := fmt.Sprintf("%09d", ctl.InterchangeControl%1_000_000_000)
	w.seg("ISA", "00", strings.Repeat(" ", 10), "00", strings.Repeat(" ", 10),
		isaSenderQual, isaSender, in.ISA.Element(5), in.ISA.Element(6),
		ctl.Time.Format("060102"), ctl.Time.Format("1504"), in.ISA.Element(11), in.ISA.Element(12),
		isaCtl, "0", in.ISA.Element(15), string(d.Component))
	gsCtl := strconv.Itoa(ctl.GroupControl % 1_000_000_000)
	w.seg("GS", "FA", gsSender, gsReceiver, ctl.Time.Format("20060102"), ctl.Time.Format("1504"),
		gsCtl, "X", version)
	for i, g := range in.Groups {
		stCtl := fmt.Sprintf("%04d", i+1)
		start := w.count
		w.seg("ST", "997", stCtl)
		w.seg("AK1", g.FunctionalID, g.ControlNumber)
		accepted := 0
		for j, t := range g.Transactions {
			w.seg("AK2", t.Code, t.ControlNumber)
			if codes := ge[i].tx[j]; len(codes) > 0 {
				w.seg("AK5", append([]string{"R"}, codes...)...)
			} else {
				w.seg("AK5", "A")
				accepted++
			}
		}
		received := len(g.Transactions)
		included := strconv.Itoa(received)
		if g.GE != nil {
			if n := g.GE.Element(1); n != "" && countMatches(n, atoiOrNeg(n)) {
				included = n
			}
		}
		code := "A"
		switch {
		case len(ge[i].codes) > 0 || (received > 0 && accepted == 0):
			code = "R"
		case accepted < received:
			code = "P"
		}
		w.seg("AK9", append([]string{code, included, strconv.Itoa(received), strconv.Itoa(accepted)}, ge[i].codes...)...)
		w.seg("SE", strconv.Itoa(w.count-start+1), stCtl)
	}
	w.seg("GE", strconv.Itoa(len(in.Groups)), gsCtl)
	w.seg("IEA", "1", isaCtl)
	return w.buf
}

// locate returns the indexes of the group and transaction set an error
// belongs to: (-1, -1) for interchange-level errors, (gi, -1) for group-level
// errors.
func (ic *Interchange) locate(e *Error) (gi, ti int) {
	if e.interchangeLevel() {
		return -1, -1
	}
	for gi, g := range ic.Groups {
		if e.Pos < g.GS.Pos || e.Pos > g.End {
			continue
		}
		if e.Segment == "GS" || e.Segment == "GE" {
			return gi, -1
		}
		for ti, t := range g.Transactions {
			if e.Pos >= t.Segments[0].Pos && e.Pos <= t.End {
				return gi, ti
			}
		}
		return gi, -1
	}
	return -1, -1
}

// appendCode adds an acknowledgement code once, up to maxAckCodes codes.
func appendCode(codes []string, code string) []string {
	if len(codes) >= maxAckCodes {
		return codes
	}
	for _, c := range codes {
		if c == code {
			return codes
		}
	}
	return append(codes, code)
}

func atoiOrNeg(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return v
}

// ackWriter writes segments with fixed delimiters.
type ackWriter struct {
	d     Delimiters
	buf   []byte
	count int
}

func (w *ackWriter) seg(id string, elems ...string) {
	w.buf = append(w.buf, id...)
	for _, e := range elems {
		w.buf = append(w.buf, w.d.Element)
		w.buf = append(w.buf, e...)
	}
	w.buf = append(w.buf, w.d.Segment)
	w.count++
}
