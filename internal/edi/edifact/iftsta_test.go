package edifact

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStatusesFixture checks the IFTSTA view of the fixture against the
// expected results of the fixtures README, §4: three events in two
// consignments, raw 203 times, LOC+175 places, CU references and the DEL
// free text with the released colon decoded.
func TestStatusesFixture(t *testing.T) {
	t.Parallel()
	ic := mustParse(t, readFixture(t, iftstaFile))
	got, err := Statuses(&ic.Messages[0])
	if err != nil {
		t.Fatalf("Statuses: %v", err)
	}
	want := []Status{
		{
			Pos:            7,
			ConsignmentSeq: "1",
			ConsignmentRef: "VH25110387",
			Category:       "1",
			Code:           "24",
			Times:          []DateTime{{Qualifier: "334", Value: "202511120640", Format: "203"}},
			Place:          "DEDUI",
			Locations:      []Location{{Qualifier: "175", ID: "DEDUI", Agency: "6"}},
			References:     []Reference{{Qualifier: "CU", Value: "LSC-EU-44017"}},
		},
		{
			Pos:            11,
			ConsignmentSeq: "1",
			ConsignmentRef: "VH25110387",
			Category:       "1",
			Code:           "21",
			Times:          []DateTime{{Qualifier: "334", Value: "202511121510", Format: "203"}},
			Place:          "NLRTM",
			Locations:      []Location{{Qualifier: "175", ID: "NLRTM", Agency: "6"}},
			Texts:          []Text{{Subject: "DEL", Lines: []string{"SIGNED BY J VAN DAM"}}},
		},
		{
			Pos:            16,
			ConsignmentSeq: "2",
			ConsignmentRef: "VH25110412",
			Category:       "1",
			Code:           "23",
			Reasons:        []string{"7"},
			Times:          []DateTime{{Qualifier: "334", Value: "202511121745", Format: "203"}},
			Place:          "BEANR",
			Locations:      []Location{{Qualifier: "175", ID: "BEANR", Agency: "6"}},
			References:     []Reference{{Qualifier: "CU", Value: "LSC-EU-44029"}},
			Texts:          []Text{{Subject: "DEL", Lines: []string{"RECEIVING CLOSED 17:30 REATTEMPT 13 NOV"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Statuses mismatch (-want +got):\n%s", diff)
	}
}

// TestStatusesGrouping checks which segments belong to a status: the
// message-level DTM and LOC do not, several reasons are kept in order, the
// first LOC+175 is the place, and segments of a nested TDT group are skipped.
func TestStatusesGrouping(t *testing.T) {
	t.Parallel()
	data := "UNB+UNOC:3+A+B+251112:1800+R1'UNH+M1+IFTSTA:D:01B:UN'BGM+23+X+9'DTM+137:202511121800:203'LOC+5+XXAAA::6'" +
		"CNI+1+C1'LOC+9+YYBBB::6'STS+1+23+7+6:::ignored description'LOC+11+ZZCCC::6:Somewhere'LOC+175+NLRTM::6'LOC+175+DEHAM::6'" +
		"TDT+20+V1'DTM+133:202511130000:203'LOC+8+DEHAM::6'RFF+BM:NESTED'" +
		"STS+1+21'DTM+334:20251112151000:204'FTX+AAI+++LINE 1:LINE 2'UNT+18+M1'UNZ+1+R1'"
	ic := mustParse(t, []byte(data))
	got, err := Statuses(&ic.Messages[0])
	if err != nil {
		t.Fatalf("Statuses: %v", err)
	}
	want := []Status{
		{
			Pos:            8,
			ConsignmentSeq: "1",
			ConsignmentRef: "C1",
			Category:       "1",
			Code:           "23",
			Reasons:        []string{"7", "6"},
			Place:          "NLRTM",
			Locations: []Location{
				{Qualifier: "11", ID: "ZZCCC", Agency: "6", Name: "Somewhere"},
				{Qualifier: "175", ID: "NLRTM", Agency: "6"},
				{Qualifier: "175", ID: "DEHAM", Agency: "6"},
			},
		},
		{
			Pos:            16,
			ConsignmentSeq: "1",
			ConsignmentRef: "C1",
			Category:       "1",
			Code:           "21",
			Times:          []DateTime{{Qualifier: "334", Value: "20251112151000", Format: "204"}},
			Texts:          []Text{{Subject: "AAI", Lines: []string{"LINE 1", "LINE 2"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Statuses mismatch (-want +got):\n%s", diff)
	}
}

// TestStatusesErrors checks the typed errors of Statuses.
func TestStatusesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string
	}{
		{
			"not IFTSTA",
			"UNB+UNOC:3+A+B+251112:1800+R1'UNH+1+IFTMIN:D:01B:UN'UNT+2+1'UNZ+1+R1'",
			`segment 2 (UNH), element 2: message type "IFTMIN" is not IFTSTA`,
		},
		{
			"STS outside CNI",
			"UNB+UNOC:3+A+B+251112:1800+R1'UNH+1+IFTSTA:D:01B:UN'STS+1+21'UNT+3+1'UNZ+1+R1'",
			"segment 3 (STS): STS outside a CNI group",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ic := mustParse(t, []byte(tt.data))
			got, err := Statuses(&ic.Messages[0])
			if got != nil {
				t.Errorf("Statuses = %v, want nil", got)
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrEnvelope) {
				t.Fatalf("Statuses error = %v (%T), want *Error wrapping ErrEnvelope", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
