package jsonmap_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// TestLanguage exercises what the built-in and testdata mappings do not:
// from_expr, when, index, epoch times, a named zone, exceptions from the
// partner's reason codes, computed kinds and windows given as dates.
func TestLanguage(t *testing.T) {
	t.Parallel()
	m, err := jsonmap.Load([]byte(`
format: json
vars:
  ship: payload.shipment
keys:
  consignment_id: $ship/id
events:
  - from_expr: 'payload.rows.filter(r, r.?kind.orValue("") != "skip")'
    when: index < 3
    id: 'hash([ship.id, string(index)])'
    kind: 'event.?kind.orValue("") == "gps" ? "position" : "milestone"'
    status:
      code: /code
      table: {X1: arrived_at_delivery, SD: {status: exception, exception: delay}}
    exception:
      reason_code: /reason
    time:
      value: /at
      epoch: s
      zone: /zone
    position: {lat: /lat, lon: /lon}
    eta: {date: /eta}
    remarks: ['event.?notes.orValue([])', /note]
`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	payload := []byte(`{"shipment": {"id": "C-1"}, "rows": [
		{"code": "X1", "at": "2025-11-14 09:42:00", "zone": "America/New_York", "eta": "2025-11-14", "notes": ["dock 14", ""], "note": "on time"},
		{"kind": "skip", "code": "??"},
		{"code": "SD", "reason": "AO", "at": "1763040340"},
		{"kind": "gps", "at": 1763040400, "lat": 40.5, "lon": "-111.25"},
		{"code": "never mapped: index 3"}
	]}`)
	got, err := m.Apply(payload, &tracking.Partner{ReasonCodes: map[string]string{"AO": "weather"}})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var summaries []string
	for _, ev := range got.Events {
		summaries = append(summaries, summary(ev)+" "+ev.TZSource)
		if ev.Keys.ConsignmentID != "C-1" {
			t.Errorf("event %s keys = %+v, want consignment C-1", ev.SourceEventID, ev.Keys)
		}
	}
	want := []string{
		"milestone exception 2025-11-13T13:25:40Z utc",
		"position 2025-11-13T13:26:40Z utc",
		"milestone arrived_at_delivery 2025-11-14T14:42:00Z location",
	}
	if diff := cmp.Diff(want, summaries); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	// The exception keeps the table's type: the partner's reason codes
	// only fill a type nobody gave.
	if diff := cmp.Diff(&tracking.Exception{Type: "delay", ReasonCode: "AO"}, got.Events[0].Exception); diff != "" {
		t.Errorf("exception (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&tracking.Position{Lat: 40.5, Lon: -111.25}, got.Events[1].Position); diff != "" {
		t.Errorf("position (-want +got):\n%s", diff)
	}
	x1 := got.Events[2]
	if x1.TZ != "America/New_York" || x1.ETA == nil || x1.ETA.Date != "2025-11-14" {
		t.Errorf("X1 tz %s, eta %+v, want America/New_York and the date 2025-11-14", x1.TZ, x1.ETA)
	}
	if diff := cmp.Diff([]string{"dock 14", "on time"}, x1.Remarks); diff != "" {
		t.Errorf("remarks (-want +got):\n%s", diff)
	}

	// Without a table type, the partner's reason code gives it.
	m2, err := jsonmap.Load([]byte(`
format: json
events:
  - keys: {bol: /bol}
    status: /status
    exception: {reason_code: /reason}
    time: /at
`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got2, err := m2.Apply([]byte(`{"bol": "B1", "status": "exception", "reason": "AO", "at": "2025-11-12T06:20:00-06:00"}`), &tracking.Partner{ReasonCodes: map[string]string{"AO": "weather"}})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if diff := cmp.Diff(&tracking.Exception{Type: "weather", ReasonCode: "AO"}, got2.Events[0].Exception); diff != "" {
		t.Errorf("exception from the partner's reason code (-want +got):\n%s", diff)
	}
}

// TestHugeEpochIsRefused: an epoch time with an exponent, which big.Rat
// would expand for ever, is refused as not a plain number.
func TestHugeEpochIsRefused(t *testing.T) {
	m, err := jsonmap.Load([]byte("format: json\nevents:\n  - id: '\"x\"'\n    keys: {tracking_number: $/t}\n    status: {code: '\"a\"', table: {a: delivered}}\n    time: /at\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply([]byte(`{"t":"T1","at":1e999999999}`), nil)
	if err == nil || !strings.Contains(err.Error(), "not a plain number") {
		t.Errorf("got %v", err)
	}
}
