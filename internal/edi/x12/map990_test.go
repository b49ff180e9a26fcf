package x12

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking"
)

// TestMap990Fixture proves the hand-written 990 fixture (one acceptance,
// one decline with K1 remarks) maps to two tender responses.
func TestMap990Fixture(t *testing.T) {
	t.Parallel()
	m := mapFixture(t, "x12-990-01-tender-responses.edi")
	opt := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".SourceEventID" }, cmp.Ignore())
	want := []tracking.TenderResponse{
		{Keys: tracking.Keys{SCAC: "XKTL", PRO: "KT4471902", BOL: "BOL-550193", PO: []string{"PO-88412"}},
			Accepted: true, Action: "A", Date: "2025-11-07"},
		{Keys: tracking.Keys{SCAC: "XKTL", BOL: "BOL-550207", PO: []string{"PO-88431"}},
			Accepted: false, Action: "D", Reason: "NO POWER AVAILABLE RENO; REQUESTED PICKUP 20251111", Date: "2025-11-07"},
	}
	if diff := cmp.Diff(want, m.Responses, opt); diff != "" {
		t.Errorf("responses mismatch (-want +got):\n%s", diff)
	}
	for _, r := range m.Responses {
		if !strings.HasPrefix(r.SourceEventID, "x12-990-") || len(r.SourceEventID) != len("x12-990-")+32 {
			t.Errorf("SourceEventID: got %q, want x12-990- and 32 hex digits", r.SourceEventID)
		}
	}
}

// TestMap990 covers B1 variants: the decline reason code, conditional
// acceptance, the SCAC from the envelope, and errors.
func TestMap990(t *testing.T) {
	t.Parallel()
	tx := func(segs ...string) *Transaction {
		out := &Transaction{Code: "990", ControlNumber: "0001"}
		all := append(append([]string{"ST*990*0001"}, segs...), "SE*0*0001")
		for i, s := range all {
			out.Segments = append(out.Segments, split(s, i+3, Delimiters{Element: '*', Component: '>', Segment: '~'}))
		}
		out.End = len(all) + 2
		return out
	}
	tests := []struct {
		name    string
		tx      *Transaction
		want    tracking.TenderResponse
		wantErr *Error // Msg not compared
	}{
		{"decline reason code", tx("B1*XKTL*SH-1*20251107*D*N*A03", "K1*NO TRUCK"),
			tracking.TenderResponse{Keys: tracking.Keys{SCAC: "XKTL", BOL: "SH-1"}, Action: "D", Reason: "A03", Date: "2025-11-07"}, nil},
		{"conditional acceptance is not accepted", tx("B1*XKTL*SH-1*20251107*B", "K1*IF PICKUP MOVES TO 1400"),
			tracking.TenderResponse{Keys: tracking.Keys{SCAC: "XKTL", BOL: "SH-1"}, Action: "B", Reason: "IF PICKUP MOVES TO 1400", Date: "2025-11-07"}, nil},
		{"BOL from N9 when B1-02 is empty", tx("B1*XKTL**20251107*A", "N9*BM*BOL-9"),
			tracking.TenderResponse{Keys: tracking.Keys{SCAC: "XKTL", BOL: "BOL-9"}, Accepted: true, Action: "A", Date: "2025-11-07"}, nil},
		{"missing B1", tx("N9*BM*BOL-9"), tracking.TenderResponse{}, &Error{Pos: 4, Segment: "B1", Code: "5"}},
		{"unknown action", tx("B1*XKTL*SH-1*20251107*N"), tracking.TenderResponse{}, &Error{Pos: 4, Segment: "B1", Element: 4, Code: "5"}},
		{"no action", tx("B1*XKTL*SH-1*20251107"), tracking.TenderResponse{}, &Error{Pos: 4, Segment: "B1", Element: 4, Code: "5"}},
		{"bad date", tx("B1*XKTL*SH-1*20251307*A"), tracking.TenderResponse{}, &Error{Pos: 4, Segment: "B1", Element: 3, Code: "5"}},
		{"no shipment", tx("B1***20251107*A"), tracking.TenderResponse{}, &Error{Pos: 4, Segment: "B1", Element: 2, Code: "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Map990(tt.tx, nil)
			if tt.wantErr != nil {
				var xe *Error
				if !errors.As(err, &xe) {
					t.Fatalf("Map990: got error %v, want an *Error", err)
				}
				gotErr := *xe
				gotErr.Msg = ""
				if diff := cmp.Diff(*tt.wantErr, gotErr); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.SourceEventID = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
