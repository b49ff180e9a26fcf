package x12

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// isaLen is the length of the ISA segment including its terminator.
const isaLen = 106

// isaWidths are the fixed widths of ISA01 to ISA16.
var isaWidths = [16]int{2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1}

// isaCodes are the TA1 note codes (I18) reported for a bad ISA01 to ISA16.
var isaCodes = [16]string{"010", "011", "012", "013", "005", "006", "007", "008",
	"014", "015", "016", "017", "018", "019", "020", "027"}

// Parse reads one X12 interchange.
//
// The delimiters come from the ISA segment: the element separator is the byte
// after "ISA", the component separator is ISA16 and the segment terminator is
// the byte after ISA16. CR and LF after a terminator are skipped, so the
// input may use CRLF, LF, no line breaks, or a newline as the terminator.
// A UTF-8 byte order mark and white space before the ISA are ignored; any
// segment after the IEA trailer is an error. Repeated elements (ISA11 from
// version 00402 on) are not split.
//
// When the ISA segment itself is invalid, Parse returns a nil Interchange and
// an *Error. Otherwise it returns the Interchange and, if the envelope has
// problems, an error holding one *Error per problem (use [Errors] to list
// them, or errors.As for the first). A non-nil error means the input must be
// rejected; the Interchange is returned so that it can be acknowledged.
func Parse(data []byte) (*Interchange, error) {
	src := string(trimLeading(data))
	d, isa, err := readISA(src)
	if err != nil {
		return nil, err
	}
	b := builder{ic: &Interchange{
		Delimiters:        d,
		ISA:               isa,
		SenderQualifier:   isa.Element(5),
		SenderID:          strings.TrimRight(isa.Element(6), " "),
		ReceiverQualifier: isa.Element(7),
		ReceiverID:        strings.TrimRight(isa.Element(8), " "),
		Version:           isa.Element(12),
		ControlNumber:     isa.Element(13),
		Usage:             isa.Element(15),
	}}

	pos := 1
	off := isaLen
	for {
		off = skipNewlines(src, off)
		if off >= len(src) {
			break
		}
		pos++
		n := strings.IndexByte(src[off:], d.Segment)
		if n < 0 {
			b.errorf(pos, fragmentID(src[off:], d.Element), 0, "023",
				"unexpected end of input: segment is not terminated")
			pos--
			break
		}
		text := src[off : off+n]
		off += n + 1
		if d.Segment == '\n' {
			text = strings.TrimSuffix(text, "\r")
		}
		if text == "" {
			b.errorf(pos, "", 0, "024", "empty segment")
			continue
		}
		b.add(split(text, pos, d))
	}
	b.finish(pos + 1)

	switch len(b.errs) {
	case 0:
		return b.ic, nil
	case 1:
		return b.ic, b.errs[0]
	}
	errs := make([]error, len(b.errs))
	for i, e := range b.errs {
		errs[i] = e
	}
	return b.ic, errors.Join(errs...)
}

// trimLeading drops a UTF-8 byte order mark and white space.
func trimLeading(data []byte) []byte {
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		data = data[3:]
	}
	for len(data) > 0 && (data[0] == ' ' || data[0] == '\t' || data[0] == '\r' || data[0] == '\n') {
		data = data[1:]
	}
	return data
}

func skipNewlines(src string, off int) int {
	for off < len(src) && (src[off] == '\r' || src[off] == '\n') {
		off++
	}
	return off
}

// readISA reads the delimiters and the ISA segment, checking every ISA
// element width instead of trusting fixed offsets.
func readISA(src string) (Delimiters, Segment, error) {
	fail := func(elem int, code, format string, args ...any) (Delimiters, Segment, error) {
		return Delimiters{}, Segment{}, &Error{Pos: 1, Segment: "ISA", Element: elem, Code: code, Msg: fmt.Sprintf(format, args...)}
	}
	if !strings.HasPrefix(src, "ISA") {
		return fail(0, "022", "input does not start with an ISA segment")
	}
	if len(src) < 4 {
		return fail(0, "023", "unexpected end of input in the ISA segment")
	}
	var d Delimiters
	d.Element = src[3]
	if !isDelimiter(d.Element) {
		return fail(0, "026", "invalid element separator %q", d.Element)
	}
	isa := Segment{ID: "ISA", Pos: 1, Elements: make([][]string, 16)}
	p := 4
	for i, w := range isaWidths {
		if i == 15 {
			// ISA16 is followed by the segment terminator, not a separator.
			if p+1 >= len(src) {
				return fail(16, "023", "unexpected end of input in the ISA segment")
			}
			isa.Elements[i] = []string{src[p : p+1]}
			break
		}
		n := strings.IndexByte(src[p:], d.Element)
		if n < 0 {
			return fail(i+1, "023", "unexpected end of input in ISA%02d", i+1)
		}
		if n != w {
			return fail(i+1, isaCodes[i], "ISA%02d is %d characters, want %d", i+1, n, w)
		}
		isa.Elements[i] = []string{src[p : p+n]}
		p += n + 1
	}
	d.Component = src[104]
	d.Segment = src[105]
	if !isDelimiter(d.Component) || d.Component == d.Element {
		return fail(16, "027", "invalid component separator %q", d.Component)
	}
	if !isDelimiter(d.Segment) || d.Segment == d.Element || d.Segment == d.Component {
		return fail(16, "004", "invalid segment terminator %q after ISA16", d.Segment)
	}
	if r := src[82]; isa.Element(12) >= "00402" && isDelimiter(r) && r != d.Element && r != d.Component && r != d.Segment {
		d.Repetition = r
	}
	return d, isa, nil
}

// isDelimiter reports whether c may be used as a delimiter.
func isDelimiter(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == ' ':
		return false
	}
	return true
}

// split splits the text of one segment, without its terminator.
func split(text string, pos int, d Delimiters) Segment {
	n := strings.Count(text, string(d.Element))
	seg := Segment{Pos: pos, Elements: make([][]string, n)}
	// One backing array for the simple elements keeps allocations low.
	simple := make([]string, n)
	i := strings.IndexByte(text, d.Element)
	if i < 0 {
		seg.ID = text
		return seg
	}
	seg.ID = text[:i]
	rest := text[i+1:]
	for k := range n {
		e := rest
		if j := strings.IndexByte(rest, d.Element); j >= 0 {
			e, rest = rest[:j], rest[j+1:]
		}
		if strings.IndexByte(e, d.Component) < 0 {
			simple[k] = e
			seg.Elements[k] = simple[k : k+1 : k+1]
		} else {
			seg.Elements[k] = strings.Split(e, string(d.Component))
		}
	}
	return seg
}

// fragmentID returns the segment ID of an unterminated fragment.
func fragmentID(frag string, sep byte) string {
	if i := strings.IndexByte(frag, sep); i >= 0 {
		frag = frag[:i]
	}
	if len(frag) > 3 {
		frag = frag[:3]
	}
	return frag
}

// builder assembles the envelope structure from a stream of segments and
// collects envelope errors.
type builder struct {
	ic   *Interchange
	g    *Group       // open group, or nil
	t    *Transaction // open transaction, or nil
	done bool         // IEA seen
	errs []*Error
}

func (b *builder) errorf(pos int, seg string, elem int, code, format string, args ...any) {
	b.errs = append(b.errs, &Error{Pos: pos, Segment: seg, Element: elem, Code: code, Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) add(s Segment) {
	if b.done {
		b.errorf(s.Pos, s.ID, 0, "024", "segment after the IEA trailer")
		return
	}
	switch s.ID {
	case "ISA":
		b.errorf(s.Pos, s.ID, 0, "022", "ISA segment inside an interchange")
	case "IEA":
		b.closeTx(s.Pos, s.ID)
		b.closeGroup(s.Pos, s.ID)
		b.closeInterchange(&s)
	case "GS":
		b.closeTx(s.Pos, s.ID)
		b.closeGroup(s.Pos, s.ID)
		b.g = &Group{
			GS:            s,
			FunctionalID:  s.Element(1),
			SenderID:      s.Element(2),
			ReceiverID:    s.Element(3),
			ControlNumber: s.Element(6),
			Version:       s.Element(8),
		}
	case "GE":
		if b.g == nil {
			b.errorf(s.Pos, s.ID, 0, "024", "GE segment outside a functional group")
			return
		}
		b.closeTx(s.Pos, s.ID)
		b.g.GE = &s
		b.g.End = s.Pos
		b.checkGroup()
	case "ST":
		if b.g == nil {
			b.errorf(s.Pos, s.ID, 0, "024", "ST segment outside a functional group")
			return
		}
		b.closeTx(s.Pos, s.ID)
		b.t = &Transaction{Code: s.Element(1), ControlNumber: s.Element(2), Segments: []Segment{s}}
		b.checkST(s)
	case "SE":
		if b.t == nil {
			b.errorf(s.Pos, s.ID, 0, "024", "SE segment outside a transaction set")
			return
		}
		b.t.Segments = append(b.t.Segments, s)
		b.t.End = s.Pos
		b.checkTx(s)
	default:
		if b.t == nil {
			b.errorf(s.Pos, s.ID, 0, "024", "%s segment outside a transaction set", s.ID)
			return
		}
		b.t.Segments = append(b.t.Segments, s)
	}
}

// functionalIDs maps transaction set identifiers to the GS01 functional
// identifier of the groups that may carry them.
var functionalIDs = map[string]string{
	"204": "SM", "210": "IM", "214": "QM", "856": "SH", "940": "OW", "945": "SW", "990": "GF", "997": "FA",
}

// checkST checks the ST header s of the open transaction.
func (b *builder) checkST(st Segment) {
	code := st.Element(1)
	switch want, known := functionalIDs[code]; {
	case code == "":
		b.errorf(st.Pos, "ST", 1, "6", "missing transaction set identifier")
	case known && want != b.g.FunctionalID:
		b.errorf(st.Pos, "ST", 1, "6", "transaction set %s does not belong in a %s functional group, want %s",
			code, strconv.Quote(b.g.FunctionalID), want)
	}
	if st.Element(2) == "" {
		b.errorf(st.Pos, "ST", 2, "7", "missing transaction set control number")
	}
}

// checkTx checks the SE trailer s and closes the open transaction.
func (b *builder) checkTx(se Segment) {
	t := b.t
	if got := se.Element(1); !countMatches(got, len(t.Segments)) {
		b.errorf(se.Pos, "SE", 1, "4", "count %s does not match the %d segments of transaction %s",
			quoteNonNumeric(got), len(t.Segments), t.ControlNumber)
	}
	if got := se.Element(2); got != t.ControlNumber {
		b.errorf(se.Pos, "SE", 2, "3", "control number %q does not match ST02 %q", got, t.ControlNumber)
	}
	b.g.Transactions = append(b.g.Transactions, *t)
	b.t = nil
}

// closeTx closes a transaction that has no SE trailer; found names what
// came instead.
func (b *builder) closeTx(pos int, found string) {
	if b.t == nil {
		return
	}
	b.errorf(pos, "SE", 0, "2", "transaction %s has no SE trailer (found %s)", b.t.ControlNumber, found)
	b.t.End = pos
	b.g.Transactions = append(b.g.Transactions, *b.t)
	b.t = nil
}

// checkGroup checks the GE trailer of the open group and closes it.
func (b *builder) checkGroup() {
	g := b.g
	ge := *g.GE
	if got := ge.Element(1); !countMatches(got, len(g.Transactions)) {
		b.errorf(ge.Pos, "GE", 1, "5", "count %s does not match the %d transaction sets of group %s",
			quoteNonNumeric(got), len(g.Transactions), g.ControlNumber)
	}
	if got := ge.Element(2); got != g.ControlNumber {
		b.errorf(ge.Pos, "GE", 2, "4", "control number %q does not match GS06 %q", got, g.ControlNumber)
	}
	b.ic.Groups = append(b.ic.Groups, *g)
	b.g = nil
}

// closeGroup closes a group that has no GE trailer.
func (b *builder) closeGroup(pos int, found string) {
	if b.g == nil {
		return
	}
	b.errorf(pos, "GE", 0, "3", "group %s has no GE trailer (found %s)", b.g.ControlNumber, found)
	b.g.End = pos
	b.ic.Groups = append(b.ic.Groups, *b.g)
	b.g = nil
}

func (b *builder) closeInterchange(iea *Segment) {
	ic := b.ic
	ic.IEA = iea
	b.done = true
	if got := iea.Element(1); !countMatches(got, len(ic.Groups)) {
		b.errorf(iea.Pos, "IEA", 1, "021", "count %s does not match the %d groups of interchange %s",
			quoteNonNumeric(got), len(ic.Groups), ic.ControlNumber)
	}
	if got := iea.Element(2); got != ic.ControlNumber {
		b.errorf(iea.Pos, "IEA", 2, "001", "control number %q does not match ISA13 %q", got, ic.ControlNumber)
	}
}

// finish closes whatever is still open at the end of the input; pos is the
// position where the next segment would have been.
func (b *builder) finish(pos int) {
	if b.done {
		return
	}
	const found = "end of input"
	b.closeTx(pos, found)
	b.closeGroup(pos, found)
	b.errorf(pos, "IEA", 0, "023", "interchange %s has no IEA trailer (found %s)", b.ic.ControlNumber, found)
}

// countMatches reports whether the count element s is a decimal number equal
// to n.
func countMatches(s string, n int) bool {
	v, err := strconv.Atoi(s)
	return err == nil && v == n && s != "" && s[0] != '+' && s[0] != '-'
}

// quoteNonNumeric returns s as is when it is a plain number, quoted otherwise.
func quoteNonNumeric(s string) string {
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return s
	}
	return strconv.Quote(s)
}
