package x12

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testAckControl = AckControl{
	InterchangeControl: 101,
	GroupControl:       101,
	Time:               time.Date(2026, 11, 27, 5, 30, 0, 0, time.UTC),
}

// ackLines parses a 997 interchange with Parse and returns, per 997
// transaction set, its AK segments written with '*' between elements.
func ackLines(t *testing.T, ack []byte) [][]string {
	t.Helper()
	ic, err := Parse(ack)
	if err != nil {
		t.Fatalf("parsing the 997: %v\n%s", err, ack)
	}
	if len(ic.Groups) != 1 || ic.Groups[0].FunctionalID != "FA" {
		t.Fatalf("997 groups: got %+v, want one FA group", ic.Groups)
	}
	var out [][]string
	for _, tx := range ic.Groups[0].Transactions {
		if tx.Code != "997" {
			t.Errorf("ST01: got %q, want 997", tx.Code)
		}
		var lines []string
		for _, s := range tx.Segments {
			if !strings.HasPrefix(s.ID, "AK") {
				continue
			}
			elems := []string{s.ID}
			for i := range s.Elements {
				elems = append(elems, s.Element(i+1))
			}
			lines = append(lines, strings.Join(elems, "*"))
		}
		out = append(out, lines)
	}
	return out
}

// TestAck997WrongSECount proves the 997 for a wrong SE01 is byte-exact: the
// sender and receiver are swapped, the received delimiters are used, and the
// set is rejected with AK5 code 4 and the group with AK9 R.
func TestAck997WrongSECount(t *testing.T) {
	t.Parallel()
	in, err := Parse(readFixture(t, "neg-x12-wrong-se-count.edi"))
	ack := Ack997(in, Errors(err), testAckControl)
	want := "ISA*00*          *00*          *ZZ*LARKSPURSUP    *02*XKTL           *261127*0530*U*00401*000000101*0*P*>~" +
		"GS*FA*LARKSPURSUP*XKTL*20261127*0530*101*X*004010~" +
		"ST*997*0001~" +
		"AK1*QM*4825~" +
		"AK2*214*0001~" +
		"AK5*R*4~" +
		"AK9*R*1*1*0~" +
		"SE*6*0001~" +
		"GE*1*101~" +
		"IEA*1*000000101~"
	if diff := cmp.Diff(want, string(ack)); diff != "" {
		t.Errorf("997 mismatch (-want +got):\n%s", diff)
	}
	ackLines(t, ack) // parses back without envelope errors
}

// TestAck997 proves, by parsing each 997 back with Parse, that accepted,
// rejected and partially accepted groups get the right AK5 and AK9 codes.
func TestAck997(t *testing.T) {
	t.Parallel()
	isa := "ISA*00*          *00*          *02*XKTL           *ZZ*LARKSPURSUP    *251112*0630*U*00401*000000007*0*P*>~\n"
	mixed := isa +
		"GS*QM*XKTL*LARKSPURSUP*20251112*0630*1*X*004010~\n" +
		"ST*214*0001~\nB10*A*B*XKTL~\nSE*3*0009~\n" +
		"ST*214*0002~\nB10*A*B*XKTL~\nSE*3*0002~\n" +
		"GE*2*1~\n" +
		"GS*QM*XKTL*LARKSPURSUP*20251112*0630*3*X*004010~\n" +
		"ST*214*0003~\nB10*A*B*XKTL~\nSE*3*0003~\n" +
		"ST*214*0004~\nB10*A*B*XKTL~\nSE*3*0004~\n" +
		"GE*1*3~\n" +
		"IEA*2*000000007~\n"
	tests := []struct {
		name string
		data []byte
		want [][]string
	}{
		{
			name: "accepted multi-group newline terminator",
			data: readFixture(t, "x12-214-03-multi-shipment.edi"),
			want: [][]string{
				{"AK1*QM*4702", "AK2*214*0001", "AK5*A", "AK2*214*0002", "AK5*A", "AK9*A*2*2*2"},
				{"AK1*QM*4703", "AK2*214*0003", "AK5*A", "AK9*A*1*1*1"},
			},
		},
		{
			name: "accepted 210",
			data: readFixture(t, "x12-210-01-ltl-accessorials.edi"),
			want: [][]string{{"AK1*IM*90017", "AK2*210*0001", "AK5*A", "AK9*A*1*1*1"}},
		},
		{
			name: "wrong SE count",
			data: readFixture(t, "neg-x12-wrong-se-count.edi"),
			want: [][]string{{"AK1*QM*4825", "AK2*214*0001", "AK5*R*4", "AK9*R*1*1*0"}},
		},
		{
			name: "truncated",
			data: readFixture(t, "neg-x12-truncated-segment.edi"),
			want: [][]string{{"AK1*QM*4812", "AK2*214*0001", "AK5*R*2", "AK9*R*1*1*0*3"}},
		},
		{
			name: "partial and group errors",
			data: []byte(mixed),
			want: [][]string{
				{"AK1*QM*1", "AK2*214*0001", "AK5*R*3", "AK2*214*0002", "AK5*A", "AK9*P*2*2*1"},
				{"AK1*QM*3", "AK2*214*0003", "AK5*A", "AK2*214*0004", "AK5*A", "AK9*R*1*2*2*5"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := Parse(tt.data)
			if in == nil {
				t.Fatalf("Parse: got nil interchange (%v), want one", err)
			}
			ack := Ack997(in, Errors(err), testAckControl)
			if diff := cmp.Diff(tt.want, ackLines(t, ack)); diff != "" {
				t.Errorf("997 mismatch (-want +got):\n%s\n%s", diff, ack)
			}
			if !strings.HasSuffix(string(ack), string(in.Delimiters.Segment)) {
				t.Errorf("997 does not end with the received terminator %q", in.Delimiters.Segment)
			}
		})
	}
}

// TestAck997Nil proves Ack997 has nothing to say without an interchange.
func TestAck997Nil(t *testing.T) {
	t.Parallel()
	if got := Ack997(nil, nil, testAckControl); got != nil {
		t.Errorf("Ack997(nil): got %q, want nil", got)
	}
}
