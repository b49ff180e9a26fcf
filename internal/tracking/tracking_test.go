package tracking_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/tracking"
)

func TestParseWeight(t *testing.T) {
	tests := []struct {
		value, unit, want string
	}{
		{"4120", "L", "1868.801"},
		{"36.8", "oz", "1.043"},
		{"1,250.5", "LBS", "567.217"},
		{"1180 lbs", "", "535.239"},
		{"1180 lbs", "KG", "535.239"}, // the unit in the value wins
		{"2.4", "kg", "2.400"},
		{"18250", "L", "8278.061"},
		{"0.0005", "kg", "0.000"}, // half to even
		{"0.0015", "kg", "0.002"},
	}
	for _, tt := range tests {
		w, err := tracking.ParseWeight(tt.value, tt.unit, tracking.WeightActual)
		if err != nil {
			t.Errorf("ParseWeight(%q, %q): %v", tt.value, tt.unit, err)
			continue
		}
		if w.KG != tt.want || w.RawValue != tt.value {
			t.Errorf("ParseWeight(%q, %q) = %+v, want kg %s", tt.value, tt.unit, w, tt.want)
		}
	}
	for _, bad := range [][2]string{{"1.250,5", "kg"}, {"12,50", "kg"}, {"", "kg"}, {"abc", "kg"}, {"5", "stone"}, {"-3", "kg"}} {
		if _, err := tracking.ParseWeight(bad[0], bad[1], ""); err == nil {
			t.Errorf("ParseWeight(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if _, err := tracking.ParseWeight("5", "stone", ""); !errors.Is(err, tracking.ErrBadUnit) {
		t.Errorf("unknown unit: %v, want ErrBadUnit", err)
	}
}

func TestResolve(t *testing.T) {
	local := time.Date(2025, 11, 10, 16, 5, 0, 0, time.UTC)
	reno := &tracking.Location{City: "RENO", Region: "NV", Country: "US"}
	tests := []struct {
		name       string
		code       string
		at         *tracking.Location
		def        string
		want, tz   string
		wantSource string
	}{
		{"LT in Reno crosses midnight", "LT", reno, "", "2025-11-11T00:05:00Z", "America/Los_Angeles", tracking.TZLocation},
		{"CT", "CT", nil, "", "2025-11-10T22:05:00Z", "America/Chicago", tracking.TZX12Code},
		{"UT", "UT", reno, "", "2025-11-10T16:05:00Z", "UTC", tracking.TZX12Code},
		{"fixed 13 is UTC-12", "13", nil, "", "2025-11-11T04:05:00Z", "UTC-12", tracking.TZX12Code},
		{"fixed 01 is UTC+1", "01", nil, "", "2025-11-10T15:05:00Z", "UTC+1", tracking.TZX12Code},
		{"PD daylight fixed", "PD", nil, "", "2025-11-10T23:05:00Z", "PD", tracking.TZX12Code},
		{"no zone: partner default", "", nil, "America/Denver", "2025-11-10T23:05:00Z", "America/Denver", tracking.TZPartnerDefault},
		{"locode", "", &tracking.Location{UNLOCODE: "DEDUI"}, "", "2025-11-10T15:05:00Z", "Europe/Berlin", tracking.TZLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			zone, ok := tracking.X12Zone(tt.code)
			src := ""
			if ok {
				src = tracking.TZX12Code
			}
			got, tz, source, err := tracking.Resolve(local, zone, src, tt.at, tt.def)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format(time.RFC3339) != tt.want || tz != tt.tz || source != tt.wantSource {
				t.Errorf("got %s %s %s, want %s %s %s", got.Format(time.RFC3339), tz, source, tt.want, tt.tz, tt.wantSource)
			}
		})
	}
	if _, _, _, err := tracking.Resolve(local, nil, "", nil, ""); !errors.Is(err, tracking.ErrNoZone) {
		t.Errorf("no zone at all: %v, want ErrNoZone", err)
	}
	// Summer: ET is daylight time.
	summer := time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
	zone, _ := tracking.X12Zone("ET")
	got, _, _, _ := tracking.Resolve(summer, zone, tracking.TZX12Code, nil, "")
	if got.Format(time.RFC3339) != "2025-07-01T14:00:00Z" {
		t.Errorf("ET in July = %s, want 14:00Z", got.Format(time.RFC3339))
	}
}

func TestCountry(t *testing.T) {
	for in, want := range map[string]string{"DEU": "DE", "nld": "NL", "US": "US", "XX": "", "ZZZ": ""} {
		if got := tracking.Country(in); got != want {
			t.Errorf("Country(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCloudEventsAreValid checks that what the mappers' values become
// passes intake's own validation.
func TestCloudEventsAreValid(t *testing.T) {
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tracking.ParseWeight("4120", "L", tracking.WeightActual)
	ev := tracking.Event{
		SourceEventID: "x12-214-abc", Format: "x12_214",
		Keys: tracking.Keys{SCAC: "XKTL", PRO: "KT4471902", BOL: "BOL-550193", PO: []string{"PO-88412"}},
		Kind: tracking.KindMilestone, Status: tracking.InTransit, RawCode: "X6",
		OccurredAt: time.Date(2025, 11, 12, 20, 15, 0, 0, time.UTC), Local: "2025-11-12T14:15:00",
		TZ: "America/Chicago", TZSource: tracking.TZX12Code,
		ETA:      &tracking.Window{Date: "2025-11-13"},
		Location: &tracking.Location{City: "JOPLIN", Region: "MO", Country: "US"},
		Weights:  []tracking.Weight{w}, HandlingUnits: &tracking.Count{Count: 6, Packaging: "PLT"},
		Exception: &tracking.Exception{Type: "delay", Reason: "weather", ReasonCode: "AO"},
	}
	raw, err := ev.CloudEvent("xktl", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := intake.Parse(raw, v, intake.Hints{})
	if err != nil {
		t.Fatalf("shipment.tracked does not validate: %v\n%s", err, raw)
	}
	if got.Subject != "pro:XKTL/KT4471902" || got.Source != "/sources/xktl" || !got.Time.Equal(ev.OccurredAt) {
		t.Errorf("envelope: subject %s source %s time %s", got.Subject, got.Source, got.Time)
	}
	var env struct{ Time string }
	_ = json.Unmarshal(raw, &env)
	if env.Time != "2025-11-12T14:15:00-06:00" {
		t.Errorf("time = %s, want the local reading with its offset", env.Time)
	}

	inv := tracking.Invoice{SourceEventID: "x12-210-abc", Keys: tracking.Keys{SCAC: "XKTL", PRO: "KT4471902"},
		InvoiceNumber: "INV-1", InvoiceDate: "2025-11-15", Currency: "USD",
		Total: money.Money{Minor: 332340, Currency: "USD"},
		Lines: []tracking.InvoiceLine{
			{Type: tracking.ChargeLinehaul, RawCode: "400", Amount: money.Money{Minor: 245000, Currency: "USD"}},
			{Type: tracking.ChargeDetention, RawCode: "DET", Quantity: "2.5", Unit: "HUR", Amount: money.Money{Minor: 87340, Currency: "USD"}},
		},
		Weights: []tracking.Weight{w},
		POD:     &tracking.InvoicePOD{Signer: "R OKAFOR", At: "2025-11-14T15:27:00Z"},
	}
	raw, err = inv.CloudEvent("xktl", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := intake.Parse(raw, v, intake.Hints{}); err != nil {
		t.Fatalf("charges.reported does not validate: %v\n%s", err, raw)
	}
	for _, r := range []tracking.TenderResponse{
		{SourceEventID: "x12-990-a", Keys: tracking.Keys{SCAC: "XKTL", BOL: "BOL-1"}, Accepted: true},
		{SourceEventID: "x12-990-d", Keys: tracking.Keys{SCAC: "XKTL", BOL: "BOL-1"}, Reason: "no equipment"},
	} {
		raw, err := r.CloudEvent("xktl", "", time.Date(2025, 11, 9, 10, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := intake.Parse(raw, v, intake.Hints{}); err != nil {
			t.Fatalf("tender response does not validate: %v\n%s", err, raw)
		}
	}
	bad := ev
	bad.Keys = tracking.Keys{PO: []string{"PO-1"}}
	if _, err := bad.CloudEvent("xktl", ""); err == nil {
		t.Error("an event with only a PO (not unique to a shipment) was accepted")
	}
}
