package edifact

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	iftstaFile = "edifact-iftsta-01-delivered-and-failed.edi"
	untNegFile = "neg-edifact-unt-count.edi"
)

// readFixture returns the bytes of testdata/name.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// mustParse parses data and fails the test on error.
func mustParse(t *testing.T, data []byte) *Interchange {
	t.Helper()
	ic, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return ic
}

// seg builds a segment for expected values.
func seg(pos int, tag string, elems ...[]string) Segment {
	return Segment{Tag: tag, Elements: elems, Pos: pos}
}

// el builds one data element from its components.
func el(comps ...string) []string { return comps }

// TestParseFixture checks the whole structure of the IFTSTA fixture against
// the expected results of the fixtures README, §4.
func TestParseFixture(t *testing.T) {
	t.Parallel()
	ic := mustParse(t, readFixture(t, iftstaFile))

	if got, want := ic.Delimiters, defaultDelimiters(); got != want {
		t.Errorf("Delimiters = %+v, want %+v", got, want)
	}
	if !ic.HasUNA {
		t.Errorf("HasUNA = false, want true")
	}
	gotHeader := *ic
	gotHeader.Messages = nil
	wantHeader := Interchange{
		Delimiters:         defaultDelimiters(),
		HasUNA:             true,
		SyntaxID:           "UNOC",
		SyntaxVersion:      "3",
		Sender:             "VENNHOFFTRANS",
		SenderQualifier:    "ZZZ",
		Recipient:          "LARKSPURSUP",
		RecipientQualifier: "ZZZ",
		Date:               "251112",
		Time:               "1800",
		ControlRef:         "VH000731",
	}
	if diff := cmp.Diff(wantHeader, gotHeader); diff != "" {
		t.Errorf("interchange header mismatch (-want +got):\n%s", diff)
	}
	if len(ic.Messages) != 1 {
		t.Fatalf("got %d messages, want 1", len(ic.Messages))
	}
	m := ic.Messages[0]
	if m.Ref != "1" || m.Type != "IFTSTA" || m.Version != "D" || m.Release != "01B" || m.Agency != "UN" {
		t.Errorf("message header = %s %s:%s:%s:%s, want 1 IFTSTA:D:01B:UN", m.Ref, m.Type, m.Version, m.Release, m.Agency)
	}
	if got, want := len(m.Segments), 20; got != want {
		t.Fatalf("got %d segments, want %d", got, want)
	}
	// Spot checks: first and last segments, a composite with empty
	// components, and the released component separator.
	wantSegs := map[int]Segment{
		0:  seg(2, "UNH", el("1"), el("IFTSTA", "D", "01B", "UN")),
		1:  seg(3, "BGM", el("23"), el("VHSTS20251112-31"), el("9")),
		2:  seg(4, "DTM", el("137", "202511121800", "203")),
		3:  seg(5, "NAD", el("CA"), el("VENNHOFF", "", "ZZZ"), el(""), el("VENNHOFF TRANSPORT BV")),
		17: seg(19, "FTX", el("DEL"), el(""), el(""), el("RECEIVING CLOSED 17:30 REATTEMPT 13 NOV")),
		19: seg(21, "UNT", el("20"), el("1")),
	}
	for i, want := range wantSegs {
		if diff := cmp.Diff(want, m.Segments[i]); diff != "" {
			t.Errorf("segment index %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	for i, s := range m.Segments {
		if s.Pos != i+2 {
			t.Errorf("segment index %d: Pos = %d, want %d", i, s.Pos, i+2)
		}
	}
}

// TestParseLayouts checks that the delimiters, line endings and UNA
// variations that must not change the meaning give the same structure.
func TestParseLayouts(t *testing.T) {
	t.Parallel()
	base := readFixture(t, iftstaFile)
	want := mustParse(t, base)
	want.HasUNA = true

	noUNA := bytes.TrimPrefix(base, []byte("UNA:+.? '\n"))
	// custom maps the default service characters to others, escaping the
	// data that now collides with a separator.
	custom := func(una string, repl ...string) []byte {
		r := strings.NewReplacer(repl...)
		return []byte(una + r.Replace(string(noUNA)))
	}

	tests := []struct {
		name string
		data []byte
	}{
		{"single line", bytes.ReplaceAll(base, []byte("\n"), nil)},
		{"CRLF", bytes.ReplaceAll(base, []byte("\n"), []byte("\r\n"))},
		{"blank lines and indentation", bytes.ReplaceAll(base, []byte("'\n"), []byte("'\r\n\n\t  "))},
		{"no UNA uses defaults", noUNA},
		{"leading whitespace", append([]byte("\n  "), base...)},
		{
			// Separators | ^ ~ and release !: the data characters stay.
			"custom UNA",
			custom("UNA^|.! ~", "?:", "!:", "'", "~", "+", "|", ":", "^"),
		},
		{
			"newline terminator",
			custom("UNA:+.? \n", "'\n", "\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustParse(t, tt.data)
			got.HasUNA = true
			got.Delimiters = want.Delimiters
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("structure differs from the fixture's (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseRelease checks that every released service character is data.
func TestParseRelease(t *testing.T) {
	t.Parallel()
	data := []byte("UNB+UNOC:3+A+B+251112:1800+R1'UNH+1+IFTSTA:D:01B:UN'FTX+AAI+++A?+B?:C?'D??E?.F'UNT+3+1'UNZ+1+R1'")
	ic := mustParse(t, data)
	s := ic.Messages[0].Segments[1]
	if got, want := s.Component(4, 1), "A+B:C'D?E.F"; got != want {
		t.Errorf("FTX text = %q, want %q", got, want)
	}
	if got := len(s.Element(4)); got != 1 {
		t.Errorf("FTX element 4 has %d components, want 1", got)
	}
}

// TestSegmentAccessors checks Element and Component, including positions
// out of range.
func TestSegmentAccessors(t *testing.T) {
	t.Parallel()
	s := seg(7, "STS", el("1"), el("23", "", "6"), el("7"))
	tests := []struct {
		name string
		i, j int
		want string
	}{
		{"simple element", 1, 1, "1"},
		{"first component", 2, 1, "23"},
		{"empty component", 2, 2, ""},
		{"third component", 2, 3, "6"},
		{"component past end", 2, 4, ""},
		{"element past end", 4, 1, ""},
		{"element zero", 0, 1, ""},
		{"component zero", 1, 0, ""},
		{"negative", -1, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.Component(tt.i, tt.j); got != tt.want {
				t.Errorf("Component(%d, %d) = %q, want %q", tt.i, tt.j, got, tt.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"23", "", "6"}, s.Element(2)); diff != "" {
		t.Errorf("Element(2) mismatch (-want +got):\n%s", diff)
	}
	if got := s.Element(5); got != nil {
		t.Errorf("Element(5) = %q, want nil", got)
	}
}

// TestParseNegativeUNTCount checks the exact error for the shared negative
// fixture: UNT says 18, UNH…UNT has 20 segments.
func TestParseNegativeUNTCount(t *testing.T) {
	t.Parallel()
	ic, err := Parse(readFixture(t, untNegFile))
	if ic != nil {
		t.Errorf("Parse returned an interchange with the error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error = %v (%T), want *Error", err, err)
	}
	want := &Error{Pos: 21, Tag: "UNT", Element: 1, Msg: "count 18 does not match the 20 segments of message 1", Err: ErrEnvelope}
	if diff := cmp.Diff(*want, *e, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrEnvelope) {
		t.Errorf("errors.Is(err, ErrEnvelope) = false, want true")
	}
	if got, want := err.Error(), "segment 21 (UNT), element 1: count 18 does not match the 20 segments of message 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestParseErrors checks that malformed input gives a typed error of the
// right class at the right place, and no interchange.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	const (
		unb = "UNB+UNOC:3+A:ZZZ+B:ZZZ+251112:1800+R1'"
		msg = "UNH+1+IFTSTA:D:01B:UN'BGM+23+X+9'UNT+3+1'"
	)
	tests := []struct {
		name  string
		data  string
		class error
		want  string // Error() text
	}{
		{"empty", "", ErrEnvelope, "no segments: missing UNB"},
		{"whitespace only", " \r\n", ErrEnvelope, "no segments: missing UNB"},
		{"short UNA", "UNA:+.", ErrSyntax, `UNA service string advice has 6 characters, want 9`},
		{"UNA duplicate separator", "UNA::.? '" + unb, ErrSyntax, `UNA service string advice "UNA::.? '" uses ':' for two separators`},
		{"release at end", unb + "UNH+1?", ErrSyntax, "segment 2: release character at end of input"},
		{"unterminated", unb + msg + "UNZ+1+R1", ErrSyntax, "segment 5: unexpected end of input: segment not terminated"},
		{"truncated mid-message", unb + "UNH+1+IFTSTA:D:01B:UN'BGM+23", ErrSyntax, "segment 3: unexpected end of input: segment not terminated"},
		{"lower-case tag", unb + "unh+1'", ErrSyntax, `segment 2: tag "unh" is not three upper-case letters or digits`},
		{"empty segment", unb + "''", ErrSyntax, `segment 2: tag "" is not three upper-case letters or digits`},
		{"tag with component", unb + "UNH:1+1'", ErrSyntax, `segment 2: tag "UNH:1" is not three upper-case letters or digits`},
		{"no UNB", msg, ErrEnvelope, "segment 1 (UNH): interchange starts with UNH, want UNB"},
		{"UNB missing control ref", "UNB+UNOC:3+A+B+251112:1800'", ErrEnvelope, "segment 1 (UNB), element 5: missing interchange control reference"},
		{"UNB missing syntax version", "UNB+UNOC+A+B+251112:1800+R1'", ErrEnvelope, "segment 1 (UNB), element 1: missing syntax version number"},
		{"UNH missing agency", unb + "UNH+1+IFTSTA:D:01B'", ErrEnvelope, "segment 2 (UNH), element 2: missing controlling agency"},
		{"UNH missing reference", unb + "UNH++IFTSTA:D:01B:UN'", ErrEnvelope, "segment 2 (UNH), element 1: missing message reference number"},
		{"UNT reference mismatch", unb + "UNH+1+IFTSTA:D:01B:UN'UNT+2+2'UNZ+1+R1'", ErrEnvelope, "segment 3 (UNT), element 2: reference 2 does not match UNH reference 1"},
		{"UNT count not a number", unb + "UNH+1+IFTSTA:D:01B:UN'UNT+-2+1'UNZ+1+R1'", ErrEnvelope, `segment 3 (UNT), element 1: count "-2" is not a number`},
		{"UNT count too long", unb + "UNH+1+IFTSTA:D:01B:UN'UNT+99999999999999999999+1'UNZ+1+R1'", ErrEnvelope, `segment 3 (UNT), element 1: count "99999999999999999999" has more than 9 digits`},
		{"UNT missing count", unb + "UNH+1+IFTSTA:D:01B:UN'UNT'UNZ+1+R1'", ErrEnvelope, "segment 3 (UNT), element 1: missing count"},
		{"UNT without UNH", unb + "UNT+2+1'UNZ+0+R1'", ErrEnvelope, "segment 2 (UNT): UNT without a UNH"},
		{"nested UNH", unb + "UNH+1+IFTSTA:D:01B:UN'UNH+2+IFTSTA:D:01B:UN'", ErrEnvelope, "segment 3 (UNH): UNH before the UNT of message 1"},
		{"UNZ inside message", unb + "UNH+1+IFTSTA:D:01B:UN'UNZ+1+R1'", ErrEnvelope, "segment 3 (UNZ): UNZ before the UNT of message 1"},
		{"UNZ count mismatch", unb + msg + "UNZ+2+R1'", ErrEnvelope, "segment 5 (UNZ), element 1: count 2 does not match the 1 messages of interchange R1"},
		{"UNZ reference mismatch", unb + msg + "UNZ+1+R2'", ErrEnvelope, "segment 5 (UNZ), element 2: control reference R2 does not match UNB control reference R1"},
		{"segment outside message", unb + "BGM+23'" + msg + "UNZ+1+R1'", ErrEnvelope, "segment 2 (BGM): segment outside a message"},
		{"segment after UNZ", unb + msg + "UNZ+1+R1'UNH+2+IFTSTA:D:01B:UN'", ErrEnvelope, "segment 6 (UNH): segment after UNZ"},
		{"second UNB", unb + unb, ErrEnvelope, "segment 2 (UNB): UNB inside an interchange"},
		{"functional group", unb + "UNG+IFTSTA+A+B+251112:1800+G1+UN+D:01B'", ErrEnvelope, "segment 2 (UNG): functional groups are not supported"},
		{"missing UNT", unb + "UNH+1+IFTSTA:D:01B:UN'BGM+23'", ErrEnvelope, "unexpected end of input: missing UNT of message 1"},
		{"missing UNZ", unb + msg, ErrEnvelope, "unexpected end of input: missing UNZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ic, err := Parse([]byte(tt.data))
			if ic != nil {
				t.Errorf("Parse returned an interchange with the error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error = %v (%T), want *Error", err, err)
			}
			if !errors.Is(err, tt.class) {
				t.Errorf("error %q is not %v", err, tt.class)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseEmptyMessages checks that an interchange with no messages is
// valid when UNZ counts 0.
func TestParseEmptyMessages(t *testing.T) {
	t.Parallel()
	ic := mustParse(t, []byte("UNB+UNOC:3+A+B+251112:1800+R1'UNZ+0+R1'"))
	if len(ic.Messages) != 0 {
		t.Errorf("got %d messages, want 0", len(ic.Messages))
	}
}
