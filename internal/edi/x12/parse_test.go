package x12

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// shape is the envelope structure of an interchange, for comparisons.
type shape struct {
	Delims  string
	Control string
	Sender  string
	Groups  []groupShape
}

type groupShape struct {
	FunctionalID, Control, Version string
	Transactions                   []string // "code/control/segments"
}

func shapeOf(ic *Interchange) shape {
	d := ic.Delimiters
	s := shape{
		Delims:  string([]byte{d.Element, d.Component, d.Segment}),
		Control: ic.ControlNumber,
		Sender:  ic.SenderQualifier + "/" + ic.SenderID,
	}
	for _, g := range ic.Groups {
		gs := groupShape{FunctionalID: g.FunctionalID, Control: g.ControlNumber, Version: g.Version}
		for _, tx := range g.Transactions {
			gs.Transactions = append(gs.Transactions,
				tx.Code+"/"+tx.ControlNumber+"/"+strconv.Itoa(len(tx.Segments)))
		}
		s.Groups = append(s.Groups, gs)
	}
	return s
}

// TestParseFixtures proves that every valid fixture parses without error into
// the envelope structure given in the fixtures README.
func TestParseFixtures(t *testing.T) {
	t.Parallel()
	oneGroup := func(fid, ctl string, txs ...string) []groupShape {
		return []groupShape{{FunctionalID: fid, Control: ctl, Version: "004010", Transactions: txs}}
	}
	tests := []struct {
		file string
		want shape
	}{
		{"x12-214-01-in-transit.edi", shape{"*>~", "000004711", "02/XKTL", oneGroup("QM", "4711", "214/0001/20")}},
		{"x12-214-02-delivered-pod.edi", shape{"*>~", "000004730", "02/XKTL", oneGroup("QM", "4730", "214/0001/19")}},
		{"x12-214-03-multi-shipment.edi", shape{"|^\n", "000004702", "02/XKTL", []groupShape{
			{FunctionalID: "QM", Control: "4702", Version: "004010", Transactions: []string{"214/0001/11", "214/0002/13"}},
			{FunctionalID: "QM", Control: "4703", Version: "004010", Transactions: []string{"214/0003/11"}},
		}}},
		{"x12-214-04-exception-delay.edi", shape{"*>~", "000004725", "02/XKTL", oneGroup("QM", "4725", "214/0001/16")}},
		{"x12-214-05-attempt-refused.edi", shape{"*>~", "000004740", "02/XKTL", oneGroup("QM", "4740", "214/0001/18")}},
		{"x12-210-01-ltl-accessorials.edi", shape{"*>~", "000090017", "02/XMRF", oneGroup("IM", "90017", "210/0001/30")}},
		{"x12-210-02-tl-detention-lumper.edi", shape{"*>~", "000090023", "02/XKTL", oneGroup("IM", "90023", "210/0001/22")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ic, err := Parse(readFixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, shapeOf(ic)); diff != "" {
				t.Errorf("structure mismatch (-want +got):\n%s", diff)
			}
			if ic.IEA == nil {
				t.Error("IEA: got nil, want the trailer")
			}
			// Positions are consecutive from ISA = 1 to IEA.
			want := 2
			for _, g := range ic.Groups {
				if g.GS.Pos != want {
					t.Errorf("GS %s position: got %d, want %d", g.ControlNumber, g.GS.Pos, want)
				}
				want++
				for _, tx := range g.Transactions {
					for _, s := range tx.Segments {
						if s.Pos != want {
							t.Errorf("%s position: got %d, want %d", s.ID, s.Pos, want)
						}
						want++
					}
				}
				if g.End != want {
					t.Errorf("GE %s position: got %d, want %d", g.ControlNumber, g.End, want)
				}
				want++
			}
			if ic.IEA.Pos != want {
				t.Errorf("IEA position: got %d, want %d", ic.IEA.Pos, want)
			}
		})
	}
}

// TestParseLineEndings proves that the same interchange gives the same
// segments whether it uses CRLF or LF after the terminator, no line breaks
// at all, or a newline as the terminator.
func TestParseLineEndings(t *testing.T) {
	t.Parallel()
	crlf := readFixture(t, "x12-214-01-in-transit.edi")
	base, err := Parse(crlf)
	if err != nil {
		t.Fatal(err)
	}
	lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
	oneLine := bytes.ReplaceAll(crlf, []byte("\r\n"), nil)
	newlineTerm := bytes.ReplaceAll(crlf, []byte("~\r\n"), []byte("\n"))
	bom := append([]byte("\xEF\xBB\xBF\r\n  "), crlf...)
	for name, data := range map[string][]byte{"lf": lf, "one-line": oneLine, "newline-terminator": newlineTerm, "bom-and-blank": bom} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ic, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			opt := cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Delimiters.Segment" }, cmp.Ignore())
			if diff := cmp.Diff(base, ic, opt); diff != "" {
				t.Errorf("interchange differs from the CRLF one (-crlf +got):\n%s", diff)
			}
		})
	}
}

// TestSegmentAccessors proves Element and Component use X12's 1-based
// numbering, split composites and return "" out of range.
func TestSegmentAccessors(t *testing.T) {
	t.Parallel()
	data := bytes.Replace(readFixture(t, "x12-214-04-exception-delay.edi"),
		[]byte("MS1*AMARILLO*TX*US~"), []byte("MS1*AMARILLO>POTTER*TX*US~"), 1)
	ic, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var ms1 Segment
	for _, s := range ic.Groups[0].Transactions[0].Segments {
		if s.ID == "MS1" {
			ms1 = s
			break
		}
	}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Element(1) of composite", ms1.Element(1), "AMARILLO"},
		{"Component(1,2)", ms1.Component(1, 2), "POTTER"},
		{"Element(3)", ms1.Element(3), "US"},
		{"Element(0)", ms1.Element(0), ""},
		{"Element(4)", ms1.Element(4), ""},
		{"Component(1,3)", ms1.Component(1, 3), ""},
		{"ISA16 not split", ic.ISA.Element(16), ">"},
		{"ISA06 keeps padding", ic.ISA.Element(6), "XKTL           "},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	at7 := ic.Groups[0].Transactions[0].Segments[8]
	if diff := cmp.Diff(Segment{ID: "AT7", Pos: 11, Elements: [][]string{{"SD"}, {"AO"}, {""}, {""}, {"20251112"}, {"0620"}, {"CT"}}}, at7); diff != "" {
		t.Errorf("AT7 mismatch (-want +got):\n%s", diff)
	}
}

// TestParseNegativeFixtures proves the broken fixtures fail with precise,
// typed errors: position, segment, element, code and text.
func TestParseNegativeFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		wantIC      bool
		want        []*Error
		wantMessage string
	}{
		{
			file:        "neg-x12-bad-isa-width.edi",
			want:        []*Error{{Pos: 1, Segment: "ISA", Element: 6, Code: "006", Msg: "ISA06 is 14 characters, want 15"}},
			wantMessage: "segment 1 (ISA), element 6: ISA06 is 14 characters, want 15",
		},
		{
			file:   "neg-x12-truncated-segment.edi",
			wantIC: true,
			want: []*Error{
				{Pos: 14, Segment: "AT7", Code: "023", Msg: "unexpected end of input: segment is not terminated"},
				{Pos: 14, Segment: "SE", Code: "2", Msg: "transaction 0001 has no SE trailer (found end of input)"},
				{Pos: 14, Segment: "GE", Code: "3", Msg: "group 4812 has no GE trailer (found end of input)"},
				{Pos: 14, Segment: "IEA", Code: "023", Msg: "interchange 000004812 has no IEA trailer (found end of input)"},
			},
			wantMessage: "segment 14 (AT7): unexpected end of input: segment is not terminated\n" +
				"segment 14 (SE): transaction 0001 has no SE trailer (found end of input)\n" +
				"segment 14 (GE): group 4812 has no GE trailer (found end of input)\n" +
				"segment 14 (IEA): interchange 000004812 has no IEA trailer (found end of input)",
		},
		{
			file:        "neg-x12-wrong-se-count.edi",
			wantIC:      true,
			want:        []*Error{{Pos: 18, Segment: "SE", Element: 1, Code: "4", Msg: "count 14 does not match the 16 segments of transaction 0001"}},
			wantMessage: "segment 18 (SE), element 1: count 14 does not match the 16 segments of transaction 0001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ic, err := Parse(readFixture(t, tt.file))
			if err == nil {
				t.Fatal("Parse: got nil error, want one")
			}
			if (ic != nil) != tt.wantIC {
				t.Errorf("Parse: got interchange %v, want one: %v", ic != nil, tt.wantIC)
			}
			var first *Error
			if !errors.As(err, &first) {
				t.Fatalf("errors.As(%T, *Error): got false, want true", err)
			}
			if diff := cmp.Diff(tt.want, Errors(err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if got := err.Error(); got != tt.wantMessage {
				t.Errorf("message:\ngot  %q\nwant %q", got, tt.wantMessage)
			}
		})
	}
}

// TestParseTruncatedKeepsNoPartialSegment proves the unterminated fragment
// of a truncated file is not part of the transaction set.
func TestParseTruncatedKeepsNoPartialSegment(t *testing.T) {
	t.Parallel()
	ic, _ := Parse(readFixture(t, "neg-x12-truncated-segment.edi"))
	segs := ic.Groups[0].Transactions[0].Segments
	if got := segs[len(segs)-1].ID; got != "LX" {
		t.Errorf("last segment: got %s, want LX", got)
	}
	if ic.IEA != nil || ic.Groups[0].GE != nil {
		t.Errorf("trailers: got IEA %v, GE %v, want both nil", ic.IEA, ic.Groups[0].GE)
	}
}

// TestParseCollectsEnvelopeErrors proves that Parse reports every envelope
// problem of an interchange rather than stopping at the first.
func TestParseCollectsEnvelopeErrors(t *testing.T) {
	t.Parallel()
	isa := "ISA*00*          *00*          *02*XKTL           *ZZ*LARKSPURSUP    *251112*0630*U*00401*000000007*0*P*>~\n"
	data := isa +
		"GS*QM*XKTL*LARKSPURSUP*20251112*0630*1*X*004010~\n" + // 2
		"ST*214*0001~\n" + // 3
		"B10*A*B*XKTL~\n" + // 4
		"SE*3*0009~\n" + // 5: control number wrong
		"ST*214*0002~\n" + // 6
		"B10*A*B*XKTL~\n" + // 7
		"SE*3*0002~\n" + // 8: fine
		"GE*3*2~\n" + // 9: count and control wrong
		"GS*QM*XKTL*LARKSPURSUP*20251112*0630*3*X*004010~\n" + // 10
		"ST*214*0003~\n" + // 11
		"B10*A*B*XKTL~\n" + // 12
		"GE*1*3~\n" + // 13: SE missing
		"IEA*3*000000008~\n" // 14: count and control wrong
	ic, err := Parse([]byte(data))
	if ic == nil {
		t.Fatal("Parse: got nil interchange, want one")
	}
	want := []*Error{
		{Pos: 5, Segment: "SE", Element: 2, Code: "3", Msg: `control number "0009" does not match ST02 "0001"`},
		{Pos: 9, Segment: "GE", Element: 1, Code: "5", Msg: "count 3 does not match the 2 transaction sets of group 1"},
		{Pos: 9, Segment: "GE", Element: 2, Code: "4", Msg: `control number "2" does not match GS06 "1"`},
		{Pos: 13, Segment: "SE", Code: "2", Msg: "transaction 0003 has no SE trailer (found GE)"},
		{Pos: 14, Segment: "IEA", Element: 1, Code: "021", Msg: "count 3 does not match the 2 groups of interchange 000000007"},
		{Pos: 14, Segment: "IEA", Element: 2, Code: "001", Msg: `control number "000000008" does not match ISA13 "000000007"`},
	}
	if diff := cmp.Diff(want, Errors(err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

// TestParseMalformed proves that malformed input yields a typed error, never
// a panic.
func TestParseMalformed(t *testing.T) {
	t.Parallel()
	isa := "ISA*00*          *00*          *02*XKTL           *ZZ*LARKSPURSUP    *251112*0630*U*00401*000000007*0*P*>~"
	tests := []struct {
		name string
		data string
		want Error
	}{
		{"empty", "", Error{Pos: 1, Segment: "ISA", Code: "022", Msg: "input does not start with an ISA segment"}},
		{"not x12", "UNA:+.? 'UNB+UNOC:3", Error{Pos: 1, Segment: "ISA", Code: "022", Msg: "input does not start with an ISA segment"}},
		{"short isa", isa[:50], Error{Pos: 1, Segment: "ISA", Element: 6, Code: "023", Msg: "unexpected end of input in ISA06"}},
		{"alphanumeric separator", "ISAX00", Error{Pos: 1, Segment: "ISA", Code: "026", Msg: `invalid element separator 'X'`}},
		{"terminator equals separator", isa[:105] + "*", Error{Pos: 1, Segment: "ISA", Element: 16, Code: "004", Msg: `invalid segment terminator '*' after ISA16`}},
		{"component alphanumeric", isa[:104] + "A~", Error{Pos: 1, Segment: "ISA", Element: 16, Code: "027", Msg: `invalid component separator 'A'`}},
		{"isa only", isa, Error{Pos: 2, Segment: "IEA", Code: "023", Msg: "interchange 000000007 has no IEA trailer (found end of input)"}},
		{"segment after IEA", isa + "IEA*0*000000007~B10*X~", Error{Pos: 3, Segment: "B10", Code: "024", Msg: "segment after the IEA trailer"}},
		{"ST outside group", isa + "ST*214*0001~IEA*0*000000007~", Error{Pos: 2, Segment: "ST", Code: "024", Msg: "ST segment outside a functional group"}},
		{"set in wrong group", isa + "GS*QM*A*B*20251112*0630*1*X*004010~ST*210*0001~SE*2*0001~GE*1*1~IEA*1*000000007~",
			Error{Pos: 3, Segment: "ST", Element: 1, Code: "6", Msg: `transaction set 210 does not belong in a "QM" functional group, want IM`}},
		{"missing ST02", isa + "GS*QM*A*B*20251112*0630*1*X*004010~ST*214~SE*2~GE*1*1~IEA*1*000000007~",
			Error{Pos: 3, Segment: "ST", Element: 2, Code: "7", Msg: "missing transaction set control number"}},
		{"empty segment", isa + "~IEA*0*000000007~", Error{Pos: 2, Code: "024", Msg: "empty segment"}},
		{"non-numeric count", isa + "IEA*x*000000007~", Error{Pos: 2, Segment: "IEA", Element: 1, Code: "021", Msg: `count "x" does not match the 0 groups of interchange 000000007`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.data))
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatalf("Parse: got error %v, want %v", err, &tt.want)
			}
			if diff := cmp.Diff(&tt.want, errs[0]); diff != "" {
				t.Errorf("first error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
