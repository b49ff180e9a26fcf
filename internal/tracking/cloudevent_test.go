package tracking_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/tracking"
)

// TestEventDataKeepsEveryField checks that the shipment.tracked data of an
// event with every field set is the event itself, member for member: a
// field added to Event and not to its data fails here.
func TestEventDataKeepsEveryField(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	at := time.Date(2025, 11, 12, 20, 15, 0, 0, time.UTC)
	ev := tracking.Event{
		SourceEventID: "x12-214-abc", Format: "x12_214",
		Keys: tracking.Keys{SCAC: "XKTL", PRO: "KT1", BOL: "BOL-1", PO: []string{"PO-1"}, TrackingNumber: "T1", Carrier: "xktl",
			ConsignmentID: "C1", OdooPicking: "WH/OUT/1", SaleOrder: "S1", CustomerRef: "R1", ProviderID: "P1"},
		Kind: tracking.KindMilestone, Status: tracking.Delivered, Substatus: "left_at_dock", RawCode: "D1", RawReason: "NS",
		Reason: "delivered", Exception: &tracking.Exception{Type: "damaged", Reason: "crushed", ReasonCode: "AJ"},
		OccurredAt: at, Local: "2025-11-12T14:15:00", TZ: "America/Chicago", TZSource: tracking.TZX12Code,
		ETA:         &tracking.Window{Start: at, End: at.Add(time.Hour)},
		Appointment: &tracking.Window{Date: "2025-11-13"},
		Location:    &tracking.Location{Name: "DC", City: "JOPLIN", Region: "MO", PostalCode: "64801", Country: "US", UNLOCODE: "USJLN", Lat: f(37.08), Lon: f(-94.51), Role: "destination"},
		Position:    &tracking.Position{Lat: 37.08, Lon: -94.51, SpeedKmh: f(0), AccuracyM: f(5)},
		Weights:     []tracking.Weight{{KG: "1868.794", RawValue: "4120", RawUnit: "L", Kind: tracking.WeightActual}},
		Pieces:      120, HandlingUnits: &tracking.Count{Count: 6, Packaging: "PLT"}, Equipment: "TRL-9",
		POD:     &tracking.POD{Signer: "R OKAFOR", Remarks: "ok"},
		Lading:  []tracking.Lading{{Condition: "damaged", Count: 2, Packaging: "CTN"}},
		Remarks: []string{"dock 4"},
	}
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(ev.Data())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("json of Data() =\n%s\nwant the event's own json\n%s", got, want)
	}
}

// TestCloudEventTimeToTheSecond checks that an event's time is the
// partner's reading in its zone, without fractions of a second.
func TestCloudEventTimeToTheSecond(t *testing.T) {
	t.Parallel()
	ev := tracking.Event{SourceEventID: "p44-1", Format: "project44", Keys: tracking.Keys{TrackingNumber: "T1"},
		Kind: tracking.KindMilestone, Status: tracking.InTransit, TZ: "Europe/Amsterdam",
		OccurredAt: time.Date(2025, 11, 12, 13, 5, 7, 250_000_000, time.UTC)}
	raw, err := ev.CloudEvent("p44", "corr-1")
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Time          string `json:"time"`
		CorrelationID string `json:"correlationid"`
		Type          string `json:"type"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	if env.Time != "2025-11-12T14:05:07+01:00" || env.CorrelationID != "corr-1" || env.Type != "shipment.tracked" {
		t.Errorf("time, correlationid, type = %s, %s, %s; want 2025-11-12T14:05:07+01:00, corr-1, shipment.tracked", env.Time, env.CorrelationID, env.Type)
	}
}
