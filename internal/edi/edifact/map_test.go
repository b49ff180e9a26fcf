package edifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/waybill/waybill/internal/tracking"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// vennhoff is the partner the fixtures README assumes for the IFTSTA
// fixture. Its default zone is set so the tests show that the LOC+175
// location wins over it.
func vennhoff() *tracking.Partner {
	return &tracking.Partner{ID: "vennhoff", Zone: "Europe/Amsterdam"}
}

// mapData parses data and maps it, the way a caller would.
func mapData(data []byte, p *tracking.Partner) (tracking.Mapped, error) {
	ic, err := Parse(data)
	if err != nil {
		return tracking.Mapped{}, err
	}
	return MapIFTSTA(ic, p)
}

// mustMap maps data and fails the test on error.
func mustMap(t *testing.T, data []byte, p *tracking.Partner) tracking.Mapped {
	t.Helper()
	got, err := mapData(data, p)
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	return got
}

// TestMapGolden compares the JSON of the mapped fixtures with the golden
// files in testdata/golden. Run with -update to rewrite them, then check
// the diff by hand against the fixtures README, §4.
func TestMapGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{iftstaFile} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := json.MarshalIndent(mustMap(t, readFixture(t, name), vennhoff()), "", "  ")
			if err != nil {
				t.Fatalf("encoding JSON: %v", err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".edi")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestMapFixtureFigures checks the figures of the fixtures README, §4, one
// by one, so that a wrong golden file cannot pass.
func TestMapFixtureFigures(t *testing.T) {
	t.Parallel()
	got := mustMap(t, readFixture(t, iftstaFile), vennhoff())
	type want struct {
		consignment, customerRef string
		kind                     tracking.Kind
		status                   tracking.Status
		rawCode                  string
		reason, rawReason        string
		occurredAt               string
		local, tz                string
		unlocode, country        string
		signer                   string
		remarks                  []string
	}
	tests := []want{
		{
			consignment: "VH25110387", customerRef: "LSC-EU-44017",
			kind: tracking.KindMilestone, status: tracking.InTransit, rawCode: "24",
			occurredAt: "2025-11-12T05:40:00Z", local: "2025-11-12T06:40:00", tz: "Europe/Berlin",
			unlocode: "DEDUI", country: "DE",
		},
		{
			consignment: "VH25110387", customerRef: "LSC-EU-44017",
			kind: tracking.KindMilestone, status: tracking.Delivered, rawCode: "21",
			occurredAt: "2025-11-12T14:10:00Z", local: "2025-11-12T15:10:00", tz: "Europe/Amsterdam",
			unlocode: "NLRTM", country: "NL",
			signer: "J VAN DAM",
		},
		{
			consignment: "VH25110412", customerRef: "LSC-EU-44029",
			kind: tracking.KindMilestone, status: tracking.DeliveryAttempted, rawCode: "23",
			reason: "consignee_closed", rawReason: "7",
			occurredAt: "2025-11-12T16:45:00Z", local: "2025-11-12T17:45:00", tz: "Europe/Brussels",
			unlocode: "BEANR", country: "BE",
			remarks: []string{"RECEIVING CLOSED 17:30 REATTEMPT 13 NOV"},
		},
	}
	if len(got.Events) != len(tests) {
		t.Fatalf("got %d events, want %d", len(got.Events), len(tests))
	}
	if got.Dropped != 0 || got.Invoices != nil || got.Responses != nil {
		t.Errorf("got Dropped %d, %d invoices, %d responses; want only events", got.Dropped, len(got.Invoices), len(got.Responses))
	}
	ids := make(map[string]bool)
	for i, w := range tests {
		t.Run(strconv.Itoa(i)+"_STS_"+w.rawCode, func(t *testing.T) {
			e := got.Events[i]
			if e.Format != "edifact_iftsta" {
				t.Errorf("Format = %q, want edifact_iftsta", e.Format)
			}
			if !strings.HasPrefix(e.SourceEventID, "iftsta-") || ids[e.SourceEventID] {
				t.Errorf("SourceEventID = %q, want a unique iftsta-… id", e.SourceEventID)
			}
			ids[e.SourceEventID] = true
			if e.Keys.ConsignmentID != w.consignment || e.Keys.CustomerRef != w.customerRef || e.Keys.Carrier != "VENNHOFF" {
				t.Errorf("Keys = %+v, want consignment %s, customer ref %s, carrier VENNHOFF", e.Keys, w.consignment, w.customerRef)
			}
			if e.Kind != w.kind || e.Status != w.status || e.RawCode != w.rawCode {
				t.Errorf("got %s %s (raw %s), want %s %s (raw %s)", e.Kind, e.Status, e.RawCode, w.kind, w.status, w.rawCode)
			}
			if e.Reason != w.reason || e.RawReason != w.rawReason {
				t.Errorf("Reason = %q (raw %q), want %q (raw %q)", e.Reason, e.RawReason, w.reason, w.rawReason)
			}
			if e.Exception != nil {
				t.Errorf("Exception = %+v, want none", e.Exception)
			}
			wantAt, err := time.Parse(time.RFC3339, w.occurredAt)
			if err != nil {
				t.Fatal(err)
			}
			if !e.OccurredAt.Equal(wantAt) || e.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v in UTC", e.OccurredAt, wantAt)
			}
			if e.Local != w.local || e.TZ != w.tz || e.TZSource != "location" {
				t.Errorf("local %q in %q (%s), want %q in %q (location)", e.Local, e.TZ, e.TZSource, w.local, w.tz)
			}
			if e.Location == nil || e.Location.UNLOCODE != w.unlocode || e.Location.Country != w.country {
				t.Errorf("Location = %+v, want UN/LOCODE %s in %s", e.Location, w.unlocode, w.country)
			}
			var signer string
			if e.POD != nil {
				signer = e.POD.Signer
			}
			if signer != w.signer {
				t.Errorf("POD signer = %q, want %q", signer, w.signer)
			}
			if diff := cmp.Diff(w.remarks, e.Remarks); diff != "" {
				t.Errorf("Remarks mismatch (-want +got):\n%s", diff)
			}
			if err := e.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestMapNegativeUNTCount checks that the shared negative fixture is
// rejected with a typed segment-count error and gives no events.
func TestMapNegativeUNTCount(t *testing.T) {
	t.Parallel()
	got, err := mapData(readFixture(t, untNegFile), vennhoff())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	if !errors.Is(err, ErrEnvelope) || e.Tag != "UNT" || e.Element != 1 || e.Pos != 21 {
		t.Errorf("error at segment %d (%s) element %d, envelope %v; want the UNT segment count (segment 21, element 1) as ErrEnvelope",
			e.Pos, e.Tag, e.Element, errors.Is(err, ErrEnvelope))
	}
	if diff := cmp.Diff(tracking.Mapped{}, got); diff != "" {
		t.Errorf("got events with the error (-want +got):\n%s", diff)
	}
}

// interchange wraps message bodies (segments between UNH and UNT, each
// ending with ') in a valid envelope with correct counts. una, when not
// empty, is the service string advice.
func interchange(una string, bodies ...string) []byte {
	var b bytes.Buffer
	b.WriteString(una)
	b.WriteString("UNB+UNOC:3+SENDER:ZZZ+RECIPIENT:ZZZ+251112:1800+R1'")
	for i, body := range bodies {
		ref := strconv.Itoa(i + 1)
		n := strings.Count(body, "'") - strings.Count(body, "?'") + 2
		b.WriteString("UNH+" + ref + "+IFTSTA:D:01B:UN'" + body + "UNT+" + strconv.Itoa(n) + "+" + ref + "'")
	}
	b.WriteString("UNZ+" + strconv.Itoa(len(bodies)) + "+R1'")
	return b.Bytes()
}

// TestMapStatusCodes checks the Rec 24 table, the place-dependent codes 1
// and 24, reasons and exception overlays.
func TestMapStatusCodes(t *testing.T) {
	t.Parallel()
	const (
		time334 = "DTM+334:202511121000:203'"
		rdm     = "LOC+175+NLRDM::6'" // Roermond, neither origin nor destination
	)
	tests := []struct {
		name      string
		body      string
		kind      tracking.Kind
		status    tracking.Status
		substatus string
		reason    string
		exception *tracking.Exception
	}{
		{"6 booking completed", "CNI+1+C1'STS+1+6'" + time334 + rdm, tracking.KindMilestone, tracking.InfoReceived, "", "", nil},
		{"7 booking cancelled", "CNI+1+C1'STS+1+7'" + time334 + rdm, tracking.KindMilestone, tracking.Cancelled, "", "", nil},
		{"12 customs cleared", "CNI+1+C1'STS+1+12'" + time334 + rdm, tracking.KindMilestone, tracking.InTransit, "customs_cleared", "", nil},
		{"13 collected", "CNI+1+C1'STS+1+13'" + time334 + rdm, tracking.KindMilestone, tracking.PickedUp, "", "", nil},
		{"22 delivered as instructed", "CNI+1+C1'STS+1+22'" + time334 + rdm, tracking.KindMilestone, tracking.Delivered, "", "", nil},
		{"31 en route", "CNI+1+C1'STS+1+31'" + time334 + rdm, tracking.KindMilestone, tracking.InTransit, "", "", nil},
		{"5 process begun is a note", "CNI+1+C1'STS+1+5'" + time334 + rdm, tracking.KindNote, "", "", "", nil},
		{"unknown code", "CNI+1+C1'STS+1+99'" + time334 + rdm, tracking.KindMilestone, tracking.Unknown, "", "", nil},
		{
			"20 delayed with reason", "CNI+1+C1'STS+1+20+14'" + time334 + rdm,
			tracking.KindMilestone, tracking.StatusException, "", "damaged",
			&tracking.Exception{Type: "delay", Reason: "damaged", ReasonCode: "14"},
		},
		{
			"36 lost", "CNI+1+C1'STS+1+36'" + time334 + rdm,
			tracking.KindMilestone, tracking.StatusException, "", "",
			&tracking.Exception{Type: "lost"},
		},
		{"23 first mapped reason", "CNI+1+C1'STS+1+23+6+7'" + time334 + rdm, tracking.KindMilestone, tracking.DeliveryAttempted, "", "consignee_closed", nil},
		{"24 away from origin", "CNI+1+C1'LOC+5+NLRTM::6'STS+1+24'" + time334 + rdm, tracking.KindMilestone, tracking.InTransit, "", "", nil},
		{"24 at CNI origin", "CNI+1+C1'LOC+5+NLRDM::6'STS+1+24'" + time334 + rdm, tracking.KindMilestone, tracking.PickedUp, "departed_pickup", "", nil},
		{"24 at message origin", "LOC+9+NLRDM::6'CNI+1+C1'STS+1+24'" + time334 + rdm, tracking.KindMilestone, tracking.PickedUp, "departed_pickup", "", nil},
		{"1 at origin", "CNI+1+C1'LOC+5+NLRDM::6'STS+1+1'" + time334 + rdm, tracking.KindMilestone, tracking.ArrivedAtPickup, "", "", nil},
		{"1 at destination", "CNI+1+C1'LOC+8+NLRDM::6'STS+1+1'" + time334 + rdm, tracking.KindMilestone, tracking.ArrivedAtDelivery, "", "", nil},
		{"1 elsewhere", "CNI+1+C1'LOC+8+NLRTM::6'STS+1+1'" + time334 + rdm, tracking.KindMilestone, tracking.InTransit, "arrived", "", nil},
		{"status-level LOC is not the origin", "CNI+1+C1'STS+1+24'" + time334 + rdm + "LOC+5+NLRDM::6'", tracking.KindMilestone, tracking.InTransit, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustMap(t, interchange("", tt.body), nil)
			if len(got.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(got.Events))
			}
			e := got.Events[0]
			if e.Kind != tt.kind || e.Status != tt.status || e.Substatus != tt.substatus || e.Reason != tt.reason {
				t.Errorf("got %s %q/%q reason %q, want %s %q/%q reason %q", e.Kind, e.Status, e.Substatus, e.Reason, tt.kind, tt.status, tt.substatus, tt.reason)
			}
			if diff := cmp.Diff(tt.exception, e.Exception); diff != "" {
				t.Errorf("Exception mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMapPartnerOverrides checks that the partner's status and reason
// tables win over the standard ones, and its signer prefix.
func TestMapPartnerOverrides(t *testing.T) {
	t.Parallel()
	p := &tracking.Partner{
		Zone:         "Europe/Paris",
		StatusCodes:  map[string]tracking.Status{"24": tracking.PickedUp, "21": tracking.StatusException},
		ReasonCodes:  map[string]string{"7": "hold", "14": "damaged"},
		SignerRemark: "POD:",
	}
	body := "CNI+1+C1'STS+1+24+7'DTM+334:202511121000:203'" +
		"STS+1+21+14'DTM+334:202511121100:203'FTX+DEL+++POD?: A SMIT'FTX+DEL+++SIGNED BY B'"
	got := mustMap(t, interchange("", body), p)
	if len(got.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(got.Events))
	}
	first, second := got.Events[0], got.Events[1]
	if first.Status != tracking.PickedUp || first.Reason != "hold" || first.Exception != nil {
		t.Errorf("STS 24+7: got %s reason %q exception %v, want picked_up reason hold", first.Status, first.Reason, first.Exception)
	}
	if first.TZ != "Europe/Paris" || first.TZSource != tracking.TZPartnerDefault || first.Location != nil {
		t.Errorf("STS 24 without LOC: zone %q (%s), location %v; want Europe/Paris (partner_default)", first.TZ, first.TZSource, first.Location)
	}
	if want := (&tracking.Exception{Type: "damaged", Reason: "damaged", ReasonCode: "14"}); !cmp.Equal(want, second.Exception) {
		t.Errorf("STS 21+14: Exception = %+v, want %+v", second.Exception, want)
	}
	if second.POD == nil || second.POD.Signer != "A SMIT" {
		t.Errorf("POD = %+v, want signer A SMIT", second.POD)
	}
	if diff := cmp.Diff([]string{"SIGNED BY B"}, second.Remarks); diff != "" {
		t.Errorf("Remarks mismatch (-want +got):\n%s", diff)
	}
}

// TestMapTimes checks the DTM formats and zone sources.
func TestMapTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		dtm, loc string
		p        *tracking.Partner
		utc      string
		local    string
		tz, src  string
	}{
		{"203 at location", "202511121510:203", "LOC+175+NLRTM::6'", nil, "2025-11-12T14:10:00Z", "2025-11-12T15:10:00", "Europe/Amsterdam", "location"},
		{"204 with seconds", "20251112151030:204", "LOC+175+DEHAM::6'", nil, "2025-11-12T14:10:30Z", "2025-11-12T15:10:30", "Europe/Berlin", "location"},
		{"203 summer time", "202507011510:203", "LOC+175+NLRTM::6'", nil, "2025-07-01T13:10:00Z", "2025-07-01T15:10:00", "Europe/Amsterdam", "location"},
		{"LOCODE zone table", "202511121510:203", "LOC+175+ESLPA::6'", nil, "2025-11-12T15:10:00Z", "2025-11-12T15:10:00", "Atlantic/Canary", "location"},
		{"location wins over partner", "202511121510:203", "LOC+175+BEANR::6'", &tracking.Partner{Zone: "America/Denver"}, "2025-11-12T14:10:00Z", "2025-11-12T15:10:00", "Europe/Brussels", "location"},
		{"unknown zone of location", "202511121510:203", "LOC+175+USXYZ::6'", &tracking.Partner{Zone: "America/Denver"}, "2025-11-12T22:10:00Z", "2025-11-12T15:10:00", "America/Denver", "partner_default"},
		{"partner code is not a LOCODE", "202511121510:203", "LOC+175+NLRTM::ZZZ:Depot'", &tracking.Partner{Zone: "Europe/London"}, "2025-11-12T15:10:00Z", "2025-11-12T15:10:00", "Europe/London", "partner_default"},
		{"303 offset", "202511121510?+01:303", "LOC+175+USNYC::6'", nil, "2025-11-12T14:10:00Z", "2025-11-12T15:10:00", "+01:00", "explicit_offset"},
		{"303 offset with minutes", "202511121510-0330:303", "", nil, "2025-11-12T18:40:00Z", "2025-11-12T15:10:00", "-03:30", "explicit_offset"},
		{"303 offset with colon", "202511121510?+05?:30:303", "", nil, "2025-11-12T09:40:00Z", "2025-11-12T15:10:00", "+05:30", "explicit_offset"},
		{"304 UTC", "20251112151005UTC:304", "", nil, "2025-11-12T15:10:05Z", "2025-11-12T15:10:05", "UTC", "explicit_offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustMap(t, interchange("", "CNI+1+C1'STS+1+31'DTM+334:"+tt.dtm+"'"+tt.loc), tt.p)
			e := got.Events[0]
			if got := e.OccurredAt.Format(time.RFC3339); got != tt.utc || e.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %s (%v), want %s in UTC", got, e.OccurredAt.Location(), tt.utc)
			}
			if e.Local != tt.local || e.TZ != tt.tz || e.TZSource != tt.src {
				t.Errorf("got %q in %q (%s), want %q in %q (%s)", e.Local, e.TZ, e.TZSource, tt.local, tt.tz, tt.src)
			}
		})
	}
}

// TestMapKeysAndDetails checks references, carriers, weights, location
// names, multi-line text and duplicates.
func TestMapKeysAndDetails(t *testing.T) {
	t.Parallel()
	body := "NAD+CZ+SHIPPER'NAD+CA+++CARRIER NAME'CNI+1+C1'" +
		"STS+1+31'RFF+ON:PO-1'DTM+334:202511121000:203'LOC+175+NLRTM:139:6:Rotterdam'FTX+AAI+++LINE 1:LINE 2'" +
		"MEA+AAE+G+KGM:1250.5'MEA+AAE+AAW+MTQ:12'GID+1+2:PX'MEA+WT+AAB+LBR:100'EQD+CN+ABCU1234567'MEA+AAE+T+KGM:2200'" +
		"STS+1+21'RFF+CU:REF-A'RFF+BM:BOL-1'RFF+ON:PO-2'NAD+CA+OTHER'DTM+334:202511121100:203'" +
		"STS+1+21'DTM+334:202511121100:203'" // a repeat of the one before
	got := mustMap(t, interchange("", body), &tracking.Partner{Zone: "Europe/Amsterdam"})
	if got.Dropped != 1 || len(got.Events) != 2 {
		t.Fatalf("got %d events and %d dropped, want 2 and 1", len(got.Events), got.Dropped)
	}
	first, second := got.Events[0], got.Events[1]
	wantKeys := tracking.Keys{ConsignmentID: "C1", Carrier: "CARRIER NAME", CustomerRef: "REF-A", BOL: "BOL-1", PO: []string{"PO-1", "PO-2"}}
	if diff := cmp.Diff(wantKeys, first.Keys); diff != "" {
		t.Errorf("first keys mismatch (-want +got):\n%s", diff)
	}
	wantKeys.Carrier, wantKeys.PO = "OTHER", []string{"PO-2", "PO-1"}
	if diff := cmp.Diff(wantKeys, second.Keys); diff != "" {
		t.Errorf("second keys mismatch (-want +got):\n%s", diff)
	}
	wantLoc := &tracking.Location{Name: "Rotterdam", Country: "NL", UNLOCODE: "NLRTM"}
	if diff := cmp.Diff(wantLoc, first.Location); diff != "" {
		t.Errorf("Location mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"LINE 1 LINE 2"}, first.Remarks); diff != "" {
		t.Errorf("Remarks mismatch (-want +got):\n%s", diff)
	}
	wantWeights := []tracking.Weight{
		{KG: "1250.500", RawValue: "1250.5", RawUnit: "KGM", Kind: "actual"},
		{KG: "45.359", RawValue: "100", RawUnit: "LBR", Kind: "actual"},
	}
	if diff := cmp.Diff(wantWeights, first.Weights); diff != "" {
		t.Errorf("Weights mismatch (-want +got):\n%s", diff)
	}
	if first.SourceEventID == second.SourceEventID {
		t.Errorf("two statuses share id %s", first.SourceEventID)
	}
}

// TestMapDecimalComma checks that a weight is read with the decimal mark of
// the UNA.
func TestMapDecimalComma(t *testing.T) {
	t.Parallel()
	got := mustMap(t, interchange("UNA:+,? '", "CNI+1+C1'STS+1+31'DTM+334:202511121000:203'LOC+175+NLRTM::6'MEA+AAE+G+KGM:12,5'"), nil)
	want := []tracking.Weight{{KG: "12.500", RawValue: "12,5", RawUnit: "KGM", Kind: "actual"}}
	if diff := cmp.Diff(want, got.Events[0].Weights); diff != "" {
		t.Errorf("Weights mismatch (-want +got):\n%s", diff)
	}
}

// TestMapSourceEventIDStable checks that the id does not depend on what is
// not part of it: the partner's zone, the UNB control reference or the
// message reference.
func TestMapSourceEventIDStable(t *testing.T) {
	t.Parallel()
	a := mustMap(t, interchange("", "CNI+1+C1'STS+1+31'DTM+334:202511121000:203'"), &tracking.Partner{Zone: "Europe/Berlin"})
	b := mustMap(t, []byte(strings.NewReplacer("R1", "R9", "UNH+1", "UNH+7", "UNT+5+1", "UNT+5+7").Replace(
		string(interchange("", "CNI+1+C1'STS+1+31'DTM+334:202511121000:203'")))), &tracking.Partner{Zone: "Asia/Tokyo"})
	if a.Events[0].SourceEventID != b.Events[0].SourceEventID {
		t.Errorf("ids differ: %s and %s", a.Events[0].SourceEventID, b.Events[0].SourceEventID)
	}
	c := mustMap(t, interchange("", "CNI+1+C2'STS+1+31'DTM+334:202511121000:203'"), &tracking.Partner{Zone: "Europe/Berlin"})
	if a.Events[0].SourceEventID == c.Events[0].SourceEventID {
		t.Errorf("two consignments share id %s", a.Events[0].SourceEventID)
	}
}

// TestMapErrors checks that what cannot be mapped gives a typed error and
// no events.
func TestMapErrors(t *testing.T) {
	t.Parallel()
	const loc = "LOC+175+NLRTM::6'"
	tests := []struct {
		name  string
		data  []byte
		p     *tracking.Partner
		class error
		pos   int
		tag   string
	}{
		{"not IFTSTA", []byte("UNB+UNOC:3+A+B+251112:1800+R1'UNH+1+IFTSTA:D:01B:UN'CNI+1+C1'STS+1+21'DTM+334:202511121000:203'" + loc + "UNT+6+1'UNH+2+IFTMIN:D:01B:UN'UNT+2+2'UNZ+2+R1'"), nil, ErrEnvelope, 8, "UNH"},
		{"STS outside CNI", interchange("", "STS+1+21'DTM+334:202511121000:203'"), nil, ErrEnvelope, 3, "STS"},
		{"no status code", interchange("", "CNI+1+C1'STS+1'DTM+334:202511121000:203'"+loc), nil, ErrContent, 4, "STS"},
		{"no DTM+334", interchange("", "CNI+1+C1'STS+1+21'DTM+137:202511121000:203'"+loc), nil, ErrContent, 4, "STS"},
		{"date only", interchange("", "CNI+1+C1'STS+1+21'DTM+334:20251112:102'"+loc), nil, ErrContent, 4, "STS"},
		{"no format", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000'"+loc), nil, ErrContent, 4, "STS"},
		{"short value", interchange("", "CNI+1+C1'STS+1+21'DTM+334:2025111210:203'"+loc), nil, ErrContent, 4, "STS"},
		{"long value", interchange("", "CNI+1+C1'STS+1+21'DTM+334:20251112100000:203'"+loc), nil, ErrContent, 4, "STS"},
		{"bad month", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202513121000:203'"+loc), nil, ErrContent, 4, "STS"},
		{"303 named zone", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000CET:303'"), nil, ErrContent, 4, "STS"},
		{"303 no zone", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000:303'"), nil, ErrContent, 4, "STS"},
		{"303 offset too big", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000?+15:303'"), nil, ErrContent, 4, "STS"},
		{"no zone", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000:203'"), nil, tracking.ErrNoZone, 4, "STS"},
		{"bad partner zone", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000:203'"), &tracking.Partner{Zone: "Mars/Olympus"}, ErrContent, 4, "STS"},
		{"no shipment key", interchange("", "CNI+1'STS+1+21'DTM+334:202511121000:203'"+loc), nil, ErrContent, 4, "STS"},
		{"weight unit unknown", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000:203'"+loc+"MEA+WT+G+XXX:12'"), nil, tracking.ErrBadUnit, 7, "MEA"},
		{"weight not a number", interchange("", "CNI+1+C1'STS+1+21'DTM+334:202511121000:203'"+loc+"MEA+AAE+G+KGM:1,2'"), nil, tracking.ErrBadNumber, 7, "MEA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mapData(tt.data, tt.p)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v (%T), want *Error", err, err)
			}
			if !errors.Is(err, tt.class) {
				t.Errorf("error %q is not %v", err, tt.class)
			}
			if e.Pos != tt.pos || e.Tag != tt.tag {
				t.Errorf("error at segment %d (%s), want %d (%s): %v", e.Pos, e.Tag, tt.pos, tt.tag, err)
			}
			if diff := cmp.Diff(tracking.Mapped{}, got); diff != "" {
				t.Errorf("got output with the error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMapNilInterchange checks that a nil interchange is an error, not a
// panic.
func TestMapNilInterchange(t *testing.T) {
	t.Parallel()
	if _, err := MapIFTSTA(nil, nil); err == nil {
		t.Errorf("MapIFTSTA(nil) succeeded, want an error")
	}
}
