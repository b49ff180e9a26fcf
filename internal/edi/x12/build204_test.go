package x12

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking"
)

func testTender(t testing.TB) Tender {
	t.Helper()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return Tender{
		SenderID:   "LARKSPURSUP",
		ReceiverID: "XKTL",
		SCAC:       "XKTL",
		ShipmentID: "BOL-550193",
		BOL:        "BOL-550193",
		PO:         []string{"PO-88412", "PO-88413"},
		Shipper: Party{Name: "LARKSPUR SUPPLY CO", ID: "LSC-RNO", Address: "1200 EXAMPLE COMMERCE WAY",
			City: "RENO", State: "NV", PostalCode: "89502", Country: "USA"},
		Consignee: Party{Name: "PINECREST HARDWARE DC 12", ID: "PHD-012", Address: "4100 SAMPLE INDUSTRIAL PKWY",
			City: "COLUMBUS", State: "OH", PostalCode: "43228", Country: "US"},
		Pickup: Window{Start: time.Date(2025, 11, 10, 7, 0, 0, 0, la), End: time.Date(2025, 11, 10, 9, 0, 0, 0, la)},
		// UTC instants: written in the consignee's zone (ET).
		Delivery:      Window{Start: time.Date(2025, 11, 14, 14, 0, 0, 0, time.UTC), End: time.Date(2025, 11, 14, 18, 0, 0, 0, time.UTC)},
		WeightKG:      "1868.801",
		HandlingUnits: 6,
		Packaging:     "PLT",
	}
}

var testControl = Control{InterchangeControl: 812, GroupControl: 812, Time: time.Date(2025, 11, 7, 15, 30, 0, 0, time.UTC)}

// TestBuild204RoundTrip proves Build204 writes an interchange Parse reads
// without errors, and that the key fields come back: identifiers, purpose,
// references, parties, window instants, weight and counts.
func TestBuild204RoundTrip(t *testing.T) {
	t.Parallel()
	tender := testTender(t)
	data, err := Build204(tender, testControl)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	if ic.SenderID != "LARKSPURSUP" || ic.ReceiverID != "XKTL" || ic.ReceiverQualifier != "02" || ic.ControlNumber != "000000812" || ic.Usage != "P" {
		t.Errorf("ISA: got %s → %s/%s control %s usage %s", ic.SenderID, ic.ReceiverQualifier, ic.ReceiverID, ic.ControlNumber, ic.Usage)
	}
	if len(ic.Groups) != 1 || ic.Groups[0].FunctionalID != "SM" || len(ic.Groups[0].Transactions) != 1 {
		t.Fatalf("groups: got %+v, want one SM group with one set", ic.Groups)
	}
	tx := ic.Groups[0].Transactions[0]
	if tx.Code != "204" {
		t.Errorf("ST01: got %s, want 204", tx.Code)
	}
	var got []string
	var instants []string
	for _, s := range tx.Segments {
		switch s.ID {
		case "B2":
			got = append(got, "B2 "+s.Element(2)+" "+s.Element(4)+" "+s.Element(6))
		case "B2A", "S5", "N1", "N3", "N4", "L3", "L11":
			elems := []string{s.ID}
			for i := range s.Elements {
				elems = append(elems, s.Element(i+1))
			}
			got = append(got, strings.Join(elems, " "))
		case "G62":
			y, mo, d, _ := parseDate(s.Element(2))
			h, mi, _, _, _ := parseClock(s.Element(4))
			zone, ok := tracking.X12Zone(s.Element(5))
			if !ok {
				t.Errorf("G62 time code %q unknown", s.Element(5))
				continue
			}
			instants = append(instants, s.Element(1)+" "+time.Date(y, mo, d, h, mi, 0, 0, zone).UTC().Format(time.RFC3339))
		}
	}
	want := []string{
		"B2 XKTL BOL-550193 PP",
		"B2A 00",
		"L11 BOL-550193 BM",
		"L11 PO-88412 PO",
		"L11 PO-88413 PO",
		"S5 1 LD 1868.801 K 6 PL",
		"N1 SH LARKSPUR SUPPLY CO 93 LSC-RNO",
		"N3 1200 EXAMPLE COMMERCE WAY",
		"N4 RENO NV 89502 US",
		"S5 2 UL 1868.801 K 6 PL",
		"N1 CN PINECREST HARDWARE DC 12 93 PHD-012",
		"N3 4100 SAMPLE INDUSTRIAL PKWY",
		"N4 COLUMBUS OH 43228 US",
		"L3 1868.801 G         6 K",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments mismatch (-want +got):\n%s", diff)
	}
	wantInstants := []string{
		"37 2025-11-10T15:00:00Z", "38 2025-11-10T17:00:00Z",
		"53 2025-11-14T14:00:00Z", "54 2025-11-14T18:00:00Z",
	}
	if diff := cmp.Diff(wantInstants, instants); diff != "" {
		t.Errorf("window instants mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(data), "G62*53*20251114*G*0900*ET~") {
		t.Errorf("delivery window not written in the consignee's zone:\n%s", data)
	}

	// A 204 is outbound only: Map reports it as not supported.
	_, errs := Map(ic, nil)
	if len(errs) != 1 || errs[0].Code != "1" {
		t.Errorf("Map: got %v, want one code 1 error", errs)
	}
}

// TestBuild204Variants proves purpose, test usage, zones without an X12
// time code and minimal tenders all give valid interchanges.
func TestBuild204Variants(t *testing.T) {
	t.Parallel()
	cancel := testTender(t)
	cancel.Purpose = PurposeCancel
	cancel.Test = true
	cancel.Delivery.Zone = "Europe/Berlin"
	data, err := Build204(cancel, testControl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	for _, want := range []string{"B2A*01~", "*T*>~", "G62*53*20251114*G*1400*UT~"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("output lacks %q:\n%s", want, data)
		}
	}

	minimal := Tender{SenderID: "WAYBILL", ReceiverID: "XKTL", SCAC: "XKTL", ShipmentID: "S1",
		Shipper: Party{Name: "A"}, Consignee: Party{Name: "B"},
		Pickup: Window{Start: testControl.Time}, Delivery: Window{Start: testControl.Time.Add(48 * time.Hour)}}
	data, err = Build204(minimal, testControl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	if strings.Contains(string(data), "L3") {
		t.Errorf("minimal tender has an L3:\n%s", data)
	}
}

// TestBuild204Invalid proves a tender that cannot be written gives an error
// wrapping ErrInvalidTender that names every problem.
func TestBuild204Invalid(t *testing.T) {
	t.Parallel()
	bad := testTender(t)
	bad.SenderID = "A SENDER ID LONGER THAN 15"
	bad.SCAC = "X*TL"
	bad.Shipper.Name = "ACME~CO"
	bad.Purpose = "02"
	bad.WeightKG = "-3"
	bad.Pickup = Window{}
	bad.Consignee.City = "MÜNCHEN"
	_, err := Build204(bad, Control{})
	if !errors.Is(err, ErrInvalidTender) {
		t.Fatalf("Build204: got %v, want ErrInvalidTender", err)
	}
	for _, want := range []string{"sender ID", "SCAC", "shipper name", "purpose", "weight", "pickup window",
		"consignee city", "interchange control number", "group control number", "control time"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
