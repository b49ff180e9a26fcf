package edifact

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by an [*Error] when the bytes cannot be split into
// segments: a bad UNA, a malformed tag, a release character at the end of
// the input or a segment that is not terminated.
var ErrSyntax = errors.New("edifact syntax error")

// ErrEnvelope is wrapped by an [*Error] when the segments are well formed but
// the interchange or message envelope is not: missing or misplaced UNB, UNH,
// UNT or UNZ, a missing mandatory header field, or a count or control
// reference that does not match.
var ErrEnvelope = errors.New("edifact envelope error")

// Error describes a problem at one place in an interchange. Use errors.As to
// read its fields and errors.Is with [ErrSyntax], [ErrEnvelope] or
// [ErrContent] to classify it.
type Error struct {
	// Pos is the 1-based position of the segment in the interchange, UNA not
	// counted. It is 0 when the problem is not tied to one segment, such as a
	// missing trailer at the end of the input.
	Pos int
	// Tag is the segment tag, such as "UNT", when known.
	Tag string
	// Element is the 1-based data element position (the tag not counted), or
	// 0 when the problem concerns the whole segment.
	Element int
	// Msg says what is wrong, in lower case.
	Msg string
	// Err is the class of the problem: ErrSyntax or ErrEnvelope from Parse
	// and Statuses; ErrContent from MapIFTSTA, possibly joined with the
	// cause from the tracking package (such as tracking.ErrNoZone).
	Err error
}

// Error returns, for example, "segment 14 (UNT), element 1: count 12 does
// not match the 13 segments of message MSG0001".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos > 0 {
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(e.Pos))
		if e.Tag != "" {
			b.WriteString(" (")
			b.WriteString(e.Tag)
			b.WriteString(")")
		}
		if e.Element > 0 {
			b.WriteString(", element ")
			b.WriteString(strconv.Itoa(e.Element))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the class of the error: ErrSyntax, ErrEnvelope or
// ErrContent (with its cause, if any).
func (e *Error) Unwrap() error { return e.Err }

// Delimiters are the service characters of an interchange, as given by UNA.
type Delimiters struct {
	Component  byte // component data element separator, default ':'
	Element    byte // data element separator, default '+'
	Decimal    byte // decimal mark, default '.'; recorded, not interpreted
	Release    byte // release character, default '?'; ' ' means none
	Repetition byte // repetition separator (syntax 4), default ' ' (none); kept as data
	Terminator byte // segment terminator, default '\''
}

// defaultDelimiters returns the delimiters that apply when UNA is absent.
func defaultDelimiters() Delimiters {
	return Delimiters{Component: ':', Element: '+', Decimal: '.', Release: '?', Repetition: ' ', Terminator: '\''}
}

// Interchange is one parsed UNB…UNZ interchange.
type Interchange struct {
	// Delimiters are the service characters used to parse the interchange.
	Delimiters Delimiters
	// HasUNA reports whether the interchange began with a UNA segment.
	HasUNA bool

	SyntaxID           string // UNB S001 syntax identifier, such as "UNOC"
	SyntaxVersion      string // UNB S001 syntax version number, such as "3"
	Sender             string // UNB S002 interchange sender identification
	SenderQualifier    string // UNB S002 partner identification code qualifier, may be empty
	Recipient          string // UNB S003 interchange recipient identification
	RecipientQualifier string // UNB S003 partner identification code qualifier, may be empty
	Date               string // UNB S004 date as sent: YYMMDD (syntax 3) or CCYYMMDD (syntax 4)
	Time               string // UNB S004 time as sent: HHMM
	ControlRef         string // UNB 0020 interchange control reference, repeated in UNZ

	// Messages are the UNH…UNT messages in the order they were sent.
	Messages []Message
}

// Message is one UNH…UNT message.
type Message struct {
	Ref     string // UNH 0062 message reference number, repeated in UNT
	Type    string // UNH S009 message type, such as "IFTSTA"
	Version string // UNH S009 message version number, such as "D"
	Release string // UNH S009 message release number, such as "01B"
	Agency  string // UNH S009 controlling agency, such as "UN"

	// Segments are all the segments of the message, UNH first and UNT last.
	Segments []Segment
}

// Segment is one segment split into data elements and components, with
// release characters removed.
type Segment struct {
	// Tag is the segment tag, such as "STS".
	Tag string
	// Elements are the data elements after the tag; each holds its
	// components. Elements[0] is data element 1.
	Elements [][]string
	// Pos is the 1-based position of the segment in the interchange, UNA not
	// counted.
	Pos int
}

// Element returns the components of data element i, counted from 1 after the
// tag as in the EDIFACT directories (UNT element 1 is the segment count). It
// returns nil when the segment has no such element.
func (s *Segment) Element(i int) []string {
	if i < 1 || i > len(s.Elements) {
		return nil
	}
	return s.Elements[i-1]
}

// Component returns component j of data element i, both counted from 1. It
// returns "" when the element or component is absent. A simple data element
// is its own component 1.
func (s *Segment) Component(i, j int) string {
	e := s.Element(i)
	if j < 1 || j > len(e) {
		return ""
	}
	return e[j-1]
}

// Parse reads one interchange: an optional UNA, then UNB, messages and UNZ.
// It checks the envelope counts and control references and returns an
// [*Error] on the first problem.
func Parse(data []byte) (*Interchange, error) {
	ic := &Interchange{Delimiters: defaultDelimiters()}
	data = data[skipSpace(data, 0):]
	if len(data) >= 3 && string(data[:3]) == "UNA" {
		d, err := readUNA(data)
		if err != nil {
			return nil, err
		}
		ic.Delimiters = d
		ic.HasUNA = true
		data = data[9:]
	}
	segs, err := split(data, ic.Delimiters)
	if err != nil {
		return nil, err
	}
	if err := ic.build(segs); err != nil {
		return nil, err
	}
	return ic, nil
}

// readUNA reads the six service characters after "UNA".
func readUNA(data []byte) (Delimiters, error) {
	if len(data) < 9 {
		return Delimiters{}, &Error{Tag: "UNA", Msg: fmt.Sprintf("UNA service string advice has %d characters, want 9", len(data)), Err: ErrSyntax}
	}
	d := Delimiters{
		Component:  data[3],
		Element:    data[4],
		Decimal:    data[5],
		Release:    data[6],
		Repetition: data[7],
		Terminator: data[8],
	}
	seps := []byte{d.Component, d.Element, d.Terminator}
	if d.Release != ' ' {
		seps = append(seps, d.Release)
	}
	if d.Repetition != ' ' {
		seps = append(seps, d.Repetition)
	}
	for i := range seps {
		for j := i + 1; j < len(seps); j++ {
			if seps[i] == seps[j] {
				return Delimiters{}, &Error{Tag: "UNA", Msg: fmt.Sprintf("UNA service string advice %q uses %q for two separators", data[:9], seps[i]), Err: ErrSyntax}
			}
		}
	}
	return d, nil
}

// isSpace reports whether c is ignored between segments.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace returns the index of the first byte at or after i that is not
// whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// split cuts data into segments, removing release characters. Components
// without a release character are substrings of one copy of data, so the
// segments share a single allocation for their text.
func split(data []byte, d Delimiters) ([]Segment, error) {
	src := string(data)
	segs := make([]Segment, 0, countByte(data, d.Terminator)+1)
	var (
		elems    [][]string
		comps    []string
		buf      []byte // the current component, once it holds a released character
		released bool   // buf holds the current component
		open     bool   // some byte of the current segment has been read
	)
	hasRelease := d.Release != ' '
	i := skipSpace(data, 0)
	start := i // start of the current component in data
	component := func() string {
		if released {
			released = false
			return string(buf)
		}
		return src[start:i]
	}
	for i < len(data) {
		c := data[i]
		open = true
		switch {
		case hasRelease && c == d.Release:
			if i+1 >= len(data) {
				return nil, &Error{Pos: len(segs) + 1, Msg: "release character at end of input", Err: ErrSyntax}
			}
			if !released {
				buf = append(buf[:0], data[start:i]...)
				released = true
			}
			buf = append(buf, data[i+1])
			i += 2
			continue
		case c == d.Component:
			comps = append(comps, component())
			start = i + 1
		case c == d.Element:
			elems = append(elems, append(comps, component()))
			comps = nil
			start = i + 1
		case c == d.Terminator:
			elems = append(elems, append(comps, component()))
			seg, err := newSegment(elems, len(segs)+1)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			elems, comps, open = nil, nil, false
			i = skipSpace(data, i+1)
			start = i
			continue
		default:
			if released {
				buf = append(buf, c)
			}
		}
		i++
	}
	if open {
		return nil, &Error{Pos: len(segs) + 1, Msg: "unexpected end of input: segment not terminated", Err: ErrSyntax}
	}
	return segs, nil
}

// countByte counts the occurrences of c in data.
func countByte(data []byte, c byte) int {
	n := 0
	for _, b := range data {
		if b == c {
			n++
		}
	}
	return n
}

// newSegment checks the tag in elems[0] and builds the segment.
func newSegment(elems [][]string, pos int) (Segment, error) {
	tag := elems[0]
	if len(tag) != 1 || !validTag(tag[0]) {
		return Segment{}, &Error{Pos: pos, Msg: fmt.Sprintf("tag %q is not three upper-case letters or digits", strings.Join(tag, ":")), Err: ErrSyntax}
	}
	return Segment{Tag: tag[0], Elements: elems[1:], Pos: pos}, nil
}

// validTag reports whether t is three upper-case letters or digits.
func validTag(t string) bool {
	if len(t) != 3 {
		return false
	}
	for i := range len(t) {
		c := t[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// envelopeError returns an ErrEnvelope *Error about element el of s.
func envelopeError(s *Segment, el int, format string, args ...any) *Error {
	return &Error{Pos: s.Pos, Tag: s.Tag, Element: el, Msg: fmt.Sprintf(format, args...), Err: ErrEnvelope}
}

// required returns component j of element i of s, or an error naming what
// is missing.
func required(s *Segment, i, j int, what string) (string, error) {
	v := s.Component(i, j)
	if v == "" {
		return "", envelopeError(s, i, "missing %s", what)
	}
	return v, nil
}

// count parses a UNT or UNZ count element.
func count(s *Segment) (int, error) {
	v, err := required(s, 1, 1, "count")
	if err != nil {
		return 0, err
	}
	if len(v) > 9 {
		return 0, envelopeError(s, 1, "count %q has more than 9 digits", v)
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return 0, envelopeError(s, 1, "count %q is not a number", v)
		}
	}
	return strconv.Atoi(v)
}

// build fills ic from the segments and checks the envelope.
func (ic *Interchange) build(segs []Segment) error {
	if len(segs) == 0 {
		return &Error{Msg: "no segments: missing UNB", Err: ErrEnvelope}
	}
	if err := ic.readUNB(&segs[0]); err != nil {
		return err
	}
	start := -1 // index of the open message's UNH, or -1
	for i := 1; i < len(segs); i++ {
		s := &segs[i]
		switch s.Tag {
		case "UNB":
			return envelopeError(s, 0, "UNB inside an interchange")
		case "UNG", "UNE":
			return envelopeError(s, 0, "functional groups are not supported")
		case "UNH":
			if start >= 0 {
				return envelopeError(s, 0, "UNH before the UNT of message %s", segs[start].Component(1, 1))
			}
			m, err := readUNH(s)
			if err != nil {
				return err
			}
			ic.Messages = append(ic.Messages, m)
			start = i
		case "UNT":
			if start < 0 {
				return envelopeError(s, 0, "UNT without a UNH")
			}
			m := &ic.Messages[len(ic.Messages)-1]
			m.Segments = segs[start : i+1 : i+1]
			if err := checkUNT(s, m); err != nil {
				return err
			}
			start = -1
		case "UNZ":
			if start >= 0 {
				return envelopeError(s, 0, "UNZ before the UNT of message %s", segs[start].Component(1, 1))
			}
			if err := ic.checkUNZ(s); err != nil {
				return err
			}
			if i+1 < len(segs) {
				return envelopeError(&segs[i+1], 0, "segment after UNZ")
			}
			return nil
		default:
			if start < 0 {
				return envelopeError(s, 0, "segment outside a message")
			}
		}
	}
	if start >= 0 {
		return &Error{Msg: fmt.Sprintf("unexpected end of input: missing UNT of message %s", segs[start].Component(1, 1)), Err: ErrEnvelope}
	}
	return &Error{Msg: "unexpected end of input: missing UNZ", Err: ErrEnvelope}
}

// readUNB reads the interchange header.
func (ic *Interchange) readUNB(s *Segment) error {
	if s.Tag != "UNB" {
		return envelopeError(s, 0, "interchange starts with %s, want UNB", s.Tag)
	}
	var err error
	if ic.SyntaxID, err = required(s, 1, 1, "syntax identifier"); err != nil {
		return err
	}
	if ic.SyntaxVersion, err = required(s, 1, 2, "syntax version number"); err != nil {
		return err
	}
	if ic.Sender, err = required(s, 2, 1, "sender identification"); err != nil {
		return err
	}
	ic.SenderQualifier = s.Component(2, 2)
	if ic.Recipient, err = required(s, 3, 1, "recipient identification"); err != nil {
		return err
	}
	ic.RecipientQualifier = s.Component(3, 2)
	if ic.Date, err = required(s, 4, 1, "date of preparation"); err != nil {
		return err
	}
	if ic.Time, err = required(s, 4, 2, "time of preparation"); err != nil {
		return err
	}
	if ic.ControlRef, err = required(s, 5, 1, "interchange control reference"); err != nil {
		return err
	}
	return nil
}

// readUNH reads a message header.
func readUNH(s *Segment) (Message, error) {
	var (
		m   Message
		err error
	)
	if m.Ref, err = required(s, 1, 1, "message reference number"); err != nil {
		return Message{}, err
	}
	if m.Type, err = required(s, 2, 1, "message type"); err != nil {
		return Message{}, err
	}
	if m.Version, err = required(s, 2, 2, "message version number"); err != nil {
		return Message{}, err
	}
	if m.Release, err = required(s, 2, 3, "message release number"); err != nil {
		return Message{}, err
	}
	if m.Agency, err = required(s, 2, 4, "controlling agency"); err != nil {
		return Message{}, err
	}
	return m, nil
}

// checkUNT checks the segment count and reference of the trailer of m.
func checkUNT(s *Segment, m *Message) error {
	n, err := count(s)
	if err != nil {
		return err
	}
	if n != len(m.Segments) {
		return envelopeError(s, 1, "count %d does not match the %d segments of message %s", n, len(m.Segments), m.Ref)
	}
	ref, err := required(s, 2, 1, "message reference number")
	if err != nil {
		return err
	}
	if ref != m.Ref {
		return envelopeError(s, 2, "reference %s does not match UNH reference %s", ref, m.Ref)
	}
	return nil
}

// checkUNZ checks the message count and control reference of the trailer.
func (ic *Interchange) checkUNZ(s *Segment) error {
	n, err := count(s)
	if err != nil {
		return err
	}
	if n != len(ic.Messages) {
		return envelopeError(s, 1, "count %d does not match the %d messages of interchange %s", n, len(ic.Messages), ic.ControlRef)
	}
	ref, err := required(s, 2, 1, "interchange control reference")
	if err != nil {
		return err
	}
	if ref != ic.ControlRef {
		return envelopeError(s, 2, "control reference %s does not match UNB control reference %s", ref, ic.ControlRef)
	}
	return nil
}
