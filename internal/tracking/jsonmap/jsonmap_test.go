package jsonmap_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtureCase is one webhook fixture with the mapping and partner
// settings its expected results assume (fixtures README, partner table).
type fixtureCase struct {
	name    string // fixture file without .json
	mapping string // built-in name, or a file in testdata
	partner *tracking.Partner
}

var fixtureCases = []fixtureCase{
	{"webhook-01-easypost-tracker-updated", "easypost", nil},
	{"webhook-02-aftership-tracking-update", "aftership", nil},
	{"webhook-03-project44-ftl-tracking", "project44", nil},
	{"webhook-04-quirky-local-time-no-zone", "ternvalley.yaml", &tracking.Partner{ID: "tern-valley", Zone: "America/Denver"}},
	{"webhook-05-quirky-weights-as-strings", "ridgeback.yaml", &tracking.Partner{ID: "ridgeback", WeightUnit: "lb"}},
	{"webhook-06-quirky-duplicates-out-of-order", "batch.yaml", &tracking.Partner{ID: "batch"}},
}

// mapping loads a built-in mapping or a mapping file from testdata.
func mapping(t testing.TB, name string) *jsonmap.Mapping {
	t.Helper()
	var (
		m   *jsonmap.Mapping
		err error
	)
	if strings.HasSuffix(name, ".yaml") {
		m, err = jsonmap.Load(readFile(t, name))
	} else {
		m, err = jsonmap.Builtin(name)
	}
	if err != nil {
		t.Fatalf("loading mapping %s: %v", name, err)
	}
	return m
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

// apply maps a fixture and fails the test on error.
func apply(t testing.TB, c fixtureCase) tracking.Mapped {
	t.Helper()
	got, err := mapping(t, c.mapping).Apply(readFile(t, c.name+".json"), c.partner)
	if err != nil {
		t.Fatalf("Apply(%s): %v", c.name, err)
	}
	return got
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshalling: %v", err)
	}
	return append(b, '\n')
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, c := range fixtureCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := marshal(t, apply(t, c))
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatalf("writing golden file: %v", err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Apply(%s) differs from %s (-want +got):\n%s", c.name, path, diff)
			}
		})
	}
}

// summary is what the fixtures README states of each event.
func summary(ev tracking.Event) string {
	s := string(ev.Kind)
	if ev.Status != "" {
		s += " " + string(ev.Status)
	}
	if ev.Substatus != "" {
		s += "/" + ev.Substatus
	}
	return s + " " + ev.OccurredAt.Format(time.RFC3339)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestFixtureFigures checks the figures of README §5 one by one, so that a
// wrong golden file cannot pass unnoticed.
func TestFixtureFigures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c       fixtureCase
		want    []string // summaries, in order
		dropped int
		check   func(t *testing.T, m tracking.Mapped)
	}{
		{
			c: fixtureCases[0],
			want: []string{
				"milestone info_received 2025-11-11T20:14:00Z",
				"milestone picked_up 2025-11-11T23:41:00Z",
				"milestone in_transit 2025-11-12T09:20:00Z",
				"milestone out_for_delivery 2025-11-13T13:05:00Z",
				"eta_update 2025-11-13T13:06:10Z",
			},
			check: func(t *testing.T, m tracking.Mapped) {
				wantKeys := tracking.Keys{TrackingNumber: "9261290100830112345678", Carrier: "USPS", ProviderID: "shp_7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"}
				for _, ev := range m.Events {
					if diff := cmp.Diff(wantKeys, ev.Keys); diff != "" {
						t.Errorf("event %s keys (-want +got):\n%s", ev.SourceEventID, diff)
					}
				}
				for _, ev := range m.Events[:4] {
					if len(ev.Weights) != 1 || ev.Weights[0].KG != "1.043" || ev.Weights[0].RawUnit != "oz" || ev.Weights[0].Kind != tracking.WeightActual {
						t.Errorf("event %s weights = %+v, want 1.043 kg actual from oz", ev.SourceEventID, ev.Weights)
					}
				}
				if got := m.Events[0].Location; got == nil || got.City != "RENO" || got.PostalCode != "89502" {
					t.Errorf("first event location = %+v, want Reno 89502", got)
				}
				if got := m.Events[3].Location; got == nil || got.City != "BOISE" || got.PostalCode != "83702" {
					t.Errorf("last detail location = %+v, want Boise 83702", got)
				}
				eta := m.Events[4].ETA
				if eta == nil || eta.Date != "2025-11-13" || !eta.Start.IsZero() || !eta.End.IsZero() {
					t.Errorf("estimated delivery = %+v, want the civil date 2025-11-13 and no instant", eta)
				}
			},
		},
		{
			c: fixtureCases[1],
			want: []string{
				"milestone picked_up 2025-11-11T16:02:00Z",
				"milestone in_transit 2025-11-12T08:14:00Z",
				"milestone out_for_delivery 2025-11-13T07:31:00Z",
				"milestone delivered 2025-11-13T13:22:00Z",
			},
			check: func(t *testing.T, m tracking.Mapped) {
				var countries []string
				for _, ev := range m.Events {
					countries = append(countries, ev.Location.Country)
					if ev.Keys.TrackingNumber != "JVGL0712345678901234" || ev.Keys.Carrier != "dhl" || ev.Keys.SaleOrder != "SO-10470" {
						t.Errorf("event %s keys = %+v", ev.SourceEventID, ev.Keys)
					}
					if ev.TZSource != tracking.TZOffset || ev.TZ != "+01:00" {
						t.Errorf("event %s tz = %s (%s), want +01:00 (explicit_offset)", ev.SourceEventID, ev.TZ, ev.TZSource)
					}
				}
				if diff := cmp.Diff([]string{"DE", "NL", "NL", "NL"}, countries); diff != "" {
					t.Errorf("countries from alpha-3 (-want +got):\n%s", diff)
				}
				if pod := m.Events[3].POD; pod == nil || pod.Signer != "T. BERGSTROM" {
					t.Errorf("delivered POD = %+v, want signer T. BERGSTROM", pod)
				}
				if m.Events[0].POD != nil {
					t.Errorf("acceptance scan has POD %+v, want none", m.Events[0].POD)
				}
				if w := m.Events[0].Weights; len(w) != 1 || w[0].KG != "2.400" {
					t.Errorf("weights = %+v, want 2.400 kg", w)
				}
			},
		},
		{
			c: fixtureCases[2],
			want: []string{
				"note 2025-11-11T14:00:05Z",
				"milestone arrived_at_pickup 2025-11-11T23:02:00Z",
				"milestone picked_up/loaded 2025-11-12T00:20:00Z",
				"milestone picked_up/departed_pickup 2025-11-12T00:45:00Z",
				"note 2025-11-12T03:10:00Z",
				"position 2025-11-12T06:30:00Z",
				"eta_update 2025-11-12T06:30:40Z",
			},
			check: func(t *testing.T, m tracking.Mapped) {
				wantKeys := tracking.Keys{SCAC: "XKTL", BOL: "BOL-550310", SaleOrder: "SO-10455", OdooPicking: "WH/OUT/00412", ProviderID: "9c1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"}
				if diff := cmp.Diff(wantKeys, m.Events[0].Keys); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
				origin := &tracking.Window{Start: utc("2025-11-11T23:00:00Z"), End: utc("2025-11-12T01:00:00Z")}
				for _, ev := range m.Events[1:4] {
					if diff := cmp.Diff(origin, ev.Appointment); diff != "" {
						t.Errorf("%s origin appointment (-want +got):\n%s", ev.RawCode, diff)
					}
					if ev.Location == nil || ev.Location.Role != "origin" || ev.Location.City != "Reno" {
						t.Errorf("%s location = %+v, want the origin in Reno", ev.RawCode, ev.Location)
					}
				}
				if got := m.Events[1].Local; got != "2025-11-11T15:02:00" {
					t.Errorf("arrival local = %s, want 2025-11-11T15:02:00 (-0800 kept as the reading)", got)
				}
				if got := m.Events[4].Remarks; !slices.Equal(got, []string{"Driver app reconnected"}) {
					t.Errorf("INFO remarks = %q", got)
				}
				pos := m.Events[5].Position
				if pos == nil || pos.Lat != 40.8324 || pos.Lon != -115.7631 || pos.SpeedKmh == nil || *pos.SpeedKmh != 98.17 {
					t.Errorf("position = %+v, want 40.8324, -115.7631 at 98.17 km/h (61 MPH)", pos)
				}
				eta := m.Events[6]
				if diff := cmp.Diff(&tracking.Window{Start: utc("2025-11-12T16:10:00Z"), End: utc("2025-11-12T16:40:00Z")}, eta.ETA); diff != "" {
					t.Errorf("ETA window (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(&tracking.Window{Start: utc("2025-11-12T15:00:00Z"), End: utc("2025-11-12T19:00:00Z")}, eta.Appointment); diff != "" {
					t.Errorf("destination appointment (-want +got):\n%s", diff)
				}
				if eta.Location == nil || eta.Location.Role != "destination" || eta.Location.City != "Salt Lake City" {
					t.Errorf("ETA location = %+v, want the destination in Salt Lake City", eta.Location)
				}
			},
		},
		{
			c: fixtureCases[3],
			want: []string{
				"milestone out_for_delivery 2025-11-12T23:40:00Z",
				"milestone delivered 2025-11-13T01:05:00Z",
			},
			check: func(t *testing.T, m tracking.Mapped) {
				for _, ev := range m.Events {
					if ev.TZSource != tracking.TZPartnerDefault || ev.TZ != "America/Denver" {
						t.Errorf("%s tz = %s (%s), want America/Denver (partner_default)", ev.RawCode, ev.TZ, ev.TZSource)
					}
					if ev.Keys.TrackingNumber != "TVC-00918273" || ev.Keys.CustomerRef != "SO-10488" {
						t.Errorf("%s keys = %+v", ev.RawCode, ev.Keys)
					}
				}
				if got := m.Events[1].Local; got != "2025-11-12T18:05:00" {
					t.Errorf("DLV local = %s, want 2025-11-12T18:05:00", got)
				}
				if pod := m.Events[1].POD; pod == nil || pod.Signer != "FRONT DESK" {
					t.Errorf("DLV POD = %+v, want signer FRONT DESK", pod)
				}
			},
		},
		{
			c:    fixtureCases[4],
			want: []string{"milestone in_transit/departed_terminal 2025-11-13T11:12:00Z"},
			check: func(t *testing.T, m tracking.Mapped) {
				ev := m.Events[0]
				wantKeys := tracking.Keys{SCAC: "XRDG", PRO: "0048812290", BOL: "BOL-550333", PO: []string{"PO-88720", "PO-88721"}}
				if diff := cmp.Diff(wantKeys, ev.Keys); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
				if ev.SourceEventID != "ridge-7731-000452" {
					t.Errorf("id = %s, want ridge-7731-000452", ev.SourceEventID)
				}
				wantWeights := []tracking.Weight{
					{KG: "567.217", RawValue: "1,250.5", RawUnit: "LBS", Kind: tracking.WeightActual},
					{KG: "535.239", RawValue: "1180 lbs", RawUnit: "LBS", Kind: tracking.WeightDeclared},
				}
				if diff := cmp.Diff(wantWeights, ev.Weights); diff != "" {
					t.Errorf("weights (-want +got):\n%s", diff)
				}
				if ev.Pieces != 3 {
					t.Errorf("pieces = %d, want 3", ev.Pieces)
				}
				if diff := cmp.Diff(&tracking.Count{Count: 3, Packaging: "PLT"}, ev.HandlingUnits); diff != "" {
					t.Errorf("handling units (-want +got):\n%s", diff)
				}
				if ev.Location == nil || ev.Location.City != "Oklahoma City" || ev.Location.Region != "OK" {
					t.Errorf("location = %+v, want Oklahoma City OK", ev.Location)
				}
			},
		},
		{
			c: fixtureCases[5],
			want: []string{
				"milestone in_transit 2025-11-13T08:15:00Z",
				"milestone out_for_delivery 2025-11-13T15:02:00Z",
				"milestone delivered 2025-11-13T19:48:00Z",
			},
			dropped: 2,
			check: func(t *testing.T, m tracking.Mapped) {
				var ids []string
				for _, ev := range m.Events {
					ids = append(ids, ev.SourceEventID)
				}
				if diff := cmp.Diff([]string{"ppe-90008", "ppe-90011", "ppe-90017"}, ids); diff != "" {
					t.Errorf("kept ids (-want +got):\n%s", diff)
				}
				if pod := m.Events[2].POD; pod == nil || pod.Signer != "A. LINDQVIST" {
					t.Errorf("delivered POD = %+v, want signer A. LINDQVIST", pod)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.c.name, func(t *testing.T) {
			t.Parallel()
			m := apply(t, tt.c)
			var got []string
			for _, ev := range m.Events {
				got = append(got, summary(ev))
				if err := ev.Validate(); err != nil {
					t.Errorf("event %s: %v", ev.SourceEventID, err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("events (-want +got):\n%s", diff)
			}
			if m.Dropped != tt.dropped {
				t.Errorf("dropped = %d, want %d", m.Dropped, tt.dropped)
			}
			tt.check(t, m)
		})
	}
}

// reorder decodes a payload, lets f rearrange it and encodes it again.
func reorder(t *testing.T, data []byte, f func(doc map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	f(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return out
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	t.Run("webhook-06 every order", func(t *testing.T) {
		t.Parallel()
		c := fixtureCases[5]
		m := mapping(t, c.mapping)
		data := readFile(t, c.name+".json")
		want, err := m.Apply(data, c.partner)
		if err != nil {
			t.Fatal(err)
		}
		for _, perm := range permutations(5) {
			shuffled := reorder(t, data, func(doc map[string]any) {
				events := doc["events"].([]any)
				out := make([]any, len(events))
				for i, j := range perm {
					out[i] = events[j]
				}
				doc["events"] = out
			})
			got, err := m.Apply(shuffled, c.partner)
			if err != nil {
				t.Fatalf("order %v: %v", perm, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("order %v differs (-want +got):\n%s", perm, diff)
			}
		}
	})
	t.Run("project44 shuffled", func(t *testing.T) {
		t.Parallel()
		c := fixtureCases[2]
		m := mapping(t, c.mapping)
		data := readFile(t, c.name+".json")
		want, err := m.Apply(data, c.partner)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 50 {
			shuffled := reorder(t, data, func(doc map[string]any) {
				for _, k := range []string{"events", "stops"} {
					list := doc[k].([]any)
					rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
				}
			})
			got, err := m.Apply(shuffled, c.partner)
			if err != nil {
				t.Fatalf("shuffle %d: %v", i, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("shuffle %d differs (-want +got):\n%s", i, diff)
			}
		}
	})
}

// TestProject44LaterPush checks that a later push, which repeats the
// history and adds to it, gives identical ids and events for what it
// repeats.
func TestProject44LaterPush(t *testing.T) {
	t.Parallel()
	c := fixtureCases[2]
	m := mapping(t, c.mapping)
	data := readFile(t, c.name+".json")
	first, err := m.Apply(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	later := reorder(t, data, func(doc map[string]any) {
		doc["events"] = append(doc["events"].([]any), map[string]any{
			"type": "ARRIVAL_AT_STOP", "stopId": "stop-2",
			"dateTime": "2025-11-12T09:31:00-0700", "receivedDateTime": "2025-11-12T16:31:40+0000",
		})
		doc["positions"] = []any{map[string]any{"dateTime": "2025-11-12T16:20:00+0000", "latitude": json.Number("40.77"), "longitude": json.Number("-111.89")}}
	})
	second, err := m.Apply(later, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]tracking.Event{}
	for _, ev := range second.Events {
		byID[ev.SourceEventID] = ev
	}
	for _, ev := range first.Events {
		if ev.Kind == tracking.KindPosition {
			continue // a push carries only the latest position
		}
		got, ok := byID[ev.SourceEventID]
		if !ok {
			t.Errorf("event %s (%s) missing from the later push", ev.SourceEventID, summary(ev))
			continue
		}
		if diff := cmp.Diff(ev, got); diff != "" {
			t.Errorf("event %s differs in the later push (-first +later):\n%s", ev.SourceEventID, diff)
		}
	}
	if got, want := len(second.Events), len(first.Events)+1; got != want {
		t.Errorf("later push gives %d events, want %d", got, want)
	}
	var arrival *tracking.Event
	for i, ev := range second.Events {
		if ev.Status == tracking.ArrivedAtDelivery {
			arrival = &second.Events[i]
		}
	}
	if arrival == nil || !arrival.OccurredAt.Equal(utc("2025-11-12T16:31:00Z")) || arrival.Location.Role != "destination" {
		t.Errorf("new arrival = %+v, want arrived_at_delivery at the destination at 16:31Z", arrival)
	}
}

func TestInvalidJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		payload    []byte
		line, col  int
		unexpected bool // ends early
	}{
		{"neg-json-invalid", readFile(t, "neg-json-invalid.json"), 10, 66, false},
		{"empty", nil, 1, 1, true},
		{"truncated", []byte("{\n  \"id\": \"x\""), 2, 12, true},
		{"trailing data", []byte("{}\n{}"), 2, 1, false},
		{"bare word", []byte("\n\n  nope"), 3, 4, false}, // "no" reads as the start of null
	}
	for _, name := range jsonmap.Builtins() {
		m := mapping(t, name)
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := m.Apply(tt.payload, nil)
				if !errors.Is(err, jsonmap.ErrInvalidJSON) {
					t.Fatalf("Apply error = %v, want ErrInvalidJSON", err)
				}
				var je *jsonmap.JSONError
				if !errors.As(err, &je) {
					t.Fatalf("Apply error %T, want *JSONError", err)
				}
				if je.Line != tt.line || je.Column != tt.col {
					t.Errorf("error at line %d column %d, want line %d column %d", je.Line, je.Column, tt.line, tt.col)
				}
				if got := errors.Is(err, io.ErrUnexpectedEOF); got != tt.unexpected {
					t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v, want %v", got, tt.unexpected)
				}
				if len(got.Events) != 0 {
					t.Errorf("Apply returned %d events with an error", len(got.Events))
				}
			})
		}
	}
}

func TestMissingID(t *testing.T) {
	t.Parallel()
	got, err := mapping(t, "aftership").Apply(readFile(t, "neg-json-missing-id.json"), nil)
	var ve *jsonmap.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Apply error = %v (%T), want *ValidationError", err, err)
	}
	if diff := cmp.Diff([]string{"/event_id", "/msg/id", "/msg/tracking_number"}, ve.Missing()); diff != "" {
		t.Errorf("missing fields (-want +got):\n%s", diff)
	}
	if ve.Format != "aftership" {
		t.Errorf("format = %s, want aftership", ve.Format)
	}
	if len(got.Events) != 0 {
		t.Errorf("Apply returned %d events with an error", len(got.Events))
	}
}

// TestPayloadProblems checks that payloads the mappings cannot map are
// rejected with every problem, each at its pointer.
func TestPayloadProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mapping string
		partner *tracking.Partner
		payload string
		want    []jsonmap.Problem // Pointer, Missing and Field only
	}{
		{
			name:    "local time without any zone",
			mapping: "ternvalley.yaml",
			payload: `{"tracking": "T1", "updates": [{"code": "OFD", "event_time": "2025-11-12 16:40:00", "city": "Denver", "state": "CO"}]}`,
			want:    []jsonmap.Problem{{Pointer: "/updates/0/event_time", Field: "events[0].time.value"}},
		},
		{
			name:    "unknown code and missing time",
			mapping: "ternvalley.yaml",
			partner: &tracking.Partner{Zone: "America/Denver"},
			payload: `{"tracking": "T1", "updates": [{"code": "OFD", "event_time": "2025-11-12 16:40:00"}, {"code": "XYZ", "event_time": "2025-11-12 16:41:00"}, {"code": "DLV"}]}`,
			want: []jsonmap.Problem{
				{Pointer: "/updates/1/code", Field: "events[0].status.code"},
				{Pointer: "/updates/2/event_time", Field: "events[0].time.value", Missing: true},
			},
		},
		{
			name:    "no shipment keys",
			mapping: "batch.yaml",
			payload: `{"events": [{"id": "e1", "status": "delivered", "occurred_at": "2025-11-13T19:48:00Z"}]}`,
			want:    []jsonmap.Problem{{Pointer: "/events/0/tracking_number", Field: "events[0].keys.tracking_number", Missing: true}},
		},
		{
			name:    "status not canonical without a table",
			mapping: "batch.yaml",
			payload: `{"events": [{"id": "e1", "tracking_number": "P1", "status": "DLV", "occurred_at": "2025-11-13T19:48:00Z"}]}`,
			want:    []jsonmap.Problem{{Pointer: "/events/0/status", Field: "events[0].status"}},
		},
		{
			name:    "weight without a unit",
			mapping: "ridgeback.yaml",
			payload: `{"eventId": "r1", "shipment": {"bol": "B1"}, "status": {"code": "IN_TRANSIT", "timestamp": "2025-11-13T05:12:00-06:00"}, "freight": {"actualWeight": "12"}}`,
			want:    []jsonmap.Problem{{Pointer: "/freight/actualWeight", Field: "events[0].weights[0].value"}},
		},
		{
			name:    "object where text is wanted and an unreadable time",
			mapping: "batch.yaml",
			payload: `{"events": [{"id": {"a": 1}, "tracking_number": "P1", "status": "delivered", "occurred_at": "13/11/2025 19:48"}]}`,
			want: []jsonmap.Problem{
				{Pointer: "/events/0/occurred_at", Field: "events[0].time"},
				{Pointer: "/events/0/id", Field: "events[0].id"},
				{Pointer: "/events/0/id", Field: "events[0].id", Missing: true},
			},
		},
		{
			name:    "expression fails on the element",
			mapping: "easypost",
			payload: `{"id": "evt_1", "result": {"tracking_code": "C1", "carrier": "USPS", "tracking_details": [{"datetime": "2025-11-11T20:14:00Z"}]}}`,
			want: []jsonmap.Problem{
				{Pointer: "/result/tracking_details/0", Field: "events[0].status.code[0]"},
				{Pointer: "/result/tracking_details/0", Field: "events[0].signer"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := mapping(t, tt.mapping).Apply([]byte(tt.payload), tt.partner)
			var ve *jsonmap.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Apply error = %v, want *ValidationError", err)
			}
			var got []jsonmap.Problem
			for _, p := range ve.Problems {
				if p.Line == 0 || p.Msg == "" {
					t.Errorf("problem %+v has no line or message", p)
				}
				got = append(got, jsonmap.Problem{Pointer: p.Pointer, Field: p.Field, Missing: p.Missing})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n(error: %v)", diff, err)
			}
		})
	}
}

func TestPartnerSettings(t *testing.T) {
	t.Parallel()
	c := fixtureCases[3]
	m := mapping(t, c.mapping)
	data := readFile(t, c.name+".json")

	t.Run("status override", func(t *testing.T) {
		t.Parallel()
		p := &tracking.Partner{Zone: "America/Denver", StatusCodes: map[string]tracking.Status{"OFD": tracking.InTransit}}
		got, err := m.Apply(data, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Events[0].Status != tracking.InTransit {
			t.Errorf("OFD with the partner's override = %s, want in_transit", got.Events[0].Status)
		}
	})
	t.Run("bad zone", func(t *testing.T) {
		t.Parallel()
		_, err := m.Apply(data, &tracking.Partner{Zone: "Mars/Olympus_Mons"})
		var ve *jsonmap.ValidationError
		if err == nil || errors.As(err, &ve) {
			t.Fatalf("Apply error = %v, want a configuration error, not a payload one", err)
		}
	})
	t.Run("another zone", func(t *testing.T) {
		t.Parallel()
		got, err := m.Apply(data, &tracking.Partner{Zone: "America/Chicago"})
		if err != nil {
			t.Fatal(err)
		}
		if want := utc("2025-11-13T00:05:00Z"); !got.Events[1].OccurredAt.Equal(want) {
			t.Errorf("DLV in Chicago time = %s, want %s", got.Events[1].OccurredAt.Format(time.RFC3339), want.Format(time.RFC3339))
		}
	})
}

func TestBuiltins(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]string{"aftership", "easypost", "project44"}, jsonmap.Builtins()); diff != "" {
		t.Errorf("Builtins (-want +got):\n%s", diff)
	}
	for _, name := range jsonmap.Builtins() {
		m := mapping(t, name)
		if m.Format() != name {
			t.Errorf("Builtin(%s).Format() = %s", name, m.Format())
		}
	}
	if _, err := jsonmap.Builtin("fourkites"); !errors.Is(err, jsonmap.ErrUnknownMapping) {
		t.Errorf("Builtin(fourkites) error = %v, want ErrUnknownMapping", err)
	}
}
