package podapp_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
	"github.com/waybill/waybill/internal/tracking/podapp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mapFixture(t *testing.T, name string) tracking.Mapped {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := podapp.Map(body, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"pod-01-full-delivery.json", "pod-02-partial-damaged.json"} {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(mapFixture(t, name), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".json")+".json")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFixtureFigures pins what the fixtures README states, so a wrong
// golden file cannot pass.
func TestFixtureFigures(t *testing.T) {
	full := mapFixture(t, "pod-01-full-delivery.json").Deliveries[0]
	if full.SourceEventID != "pod_01JC8ZK4V7T6" || full.Keys.OdooPicking != "WH/OUT/00431" || full.Keys.SaleOrder != "SO-10491" ||
		full.CompletedAt.UTC().Format("2006-01-02T15:04:05Z") != "2025-11-14T19:32:18Z" ||
		full.SignedAt.UTC().Format("15:04:05") != "19:31:55" || full.Signer != "Dana Whitfield" ||
		len(full.Photos) != 1 || len(full.Exceptions) != 0 || len(full.Flags) != 0 {
		t.Errorf("pod-01: %+v", full)
	}
	if diff := cmp.Diff([]tracking.DeliveryLine{
		{SKU: "CAB-OUT-48", Unit: "C62", Expected: "6", Delivered: "6", Damaged: "0", Short: "0"},
		{SKU: "SHELF-KIT-4", Unit: "C62", Expected: "12", Delivered: "12", Damaged: "0", Short: "0"},
	}, full.Lines); diff != "" {
		t.Errorf("pod-01 lines (-want +got):\n%s", diff)
	}

	part := mapFixture(t, "pod-02-partial-damaged.json").Deliveries[0]
	if part.CompletedAt.UTC().Format("2006-01-02T15:04:05Z") != "2025-11-14T23:05:44Z" || part.Signer != "L. Marchetti" ||
		!strings.Contains(part.Remarks, "RECEIVED SUBJECT TO INSPECTION - 1 CTN CRUSHED") || part.Position == nil || part.Stop == nil {
		t.Errorf("pod-02: %+v", part)
	}
	var exc []string
	for _, e := range part.Exceptions {
		exc = append(exc, e.Type+" "+e.Quantity+" "+e.SKU+" photos:"+string(rune('0'+len(e.Photos))))
	}
	if diff := cmp.Diff([]string{"damaged 1 LAMP-FLR-02 photos:2", "short 1 LAMP-FLR-02 photos:0"}, exc); diff != "" {
		t.Errorf("pod-02 exceptions (-want +got):\n%s", diff)
	}
	delivered := 0
	for _, l := range part.Lines {
		if l.Delivered == "8" || l.Delivered == "24" {
			delivered++
		}
	}
	if delivered != 2 {
		t.Errorf("pod-02 lines %+v", part.Lines)
	}
}

// TestCloudEvents checks that the events pass intake's validation, and
// that the exceptions come before the delivery they must hold.
func TestCloudEvents(t *testing.T) {
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	d := mapFixture(t, "pod-02-partial-damaged.json").Deliveries[0]
	raws, err := d.CloudEvents("driver-app", "")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, raw := range raws {
		ev, err := intake.Parse(raw, v, intake.Hints{})
		if err != nil {
			t.Fatalf("%v\n%s", err, raw)
		}
		types = append(types, string(ev.Type)+" "+ev.SourceID)
	}
	want := []string{"shipment.exception pod_01JC90QH2M4X:exception:1", "shipment.exception pod_01JC90QH2M4X:exception:2", "shipment.delivered pod_01JC90QH2M4X"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInvalid(t *testing.T) {
	if _, err := podapp.Map([]byte(`{"pod_id": "x",`), nil); !errors.Is(err, jsonmap.ErrInvalidJSON) {
		t.Errorf("truncated: %v", err)
	}
	_, err := podapp.Map([]byte(`{"outcome":"failed","items":[{"sku":"A","uom":"bushels","qty_delivered":-1}],"exceptions":[{"code":"DAMAGED","sku":"B","qty":1}]}`), nil)
	if !errors.Is(err, podapp.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"/pod_id: missing", "/references/odoo_picking: missing", `/outcome: "failed"`, "/completed_at: missing",
		"/signature/signer_name: missing", `/items/0/uom: unknown unit "bushels"`, "/items/0/qty_delivered: -1 is not a quantity", "/exceptions/0/sku: B is not one of the items"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	// A number big.Rat would take forever to expand is refused at once.
	_, err = podapp.Map([]byte(`{"pod_id":"p","references":{"odoo_picking":"WH/OUT/1"},"outcome":"delivered","completed_at":"2025-11-14T11:32:18-08:00",
		"signature":{"signer_name":"A","captured_at":"2025-11-14T11:32:18-08:00"},"items":[{"sku":"A","qty_delivered":1e999999999}]}`), nil)
	if err == nil || !strings.Contains(err.Error(), "/items/0/qty_delivered: 1e999999999 is not a quantity") {
		t.Errorf("huge exponent: %v", err)
	}
	// Quantities that do not add up are flagged, not refused.
	body, _ := os.ReadFile(filepath.Join("testdata", "pod-01-full-delivery.json"))
	body = []byte(strings.Replace(string(body), `"qty_delivered": 6,`, `"qty_delivered": 5,`, 1))
	m, err := podapp.Map(body, nil)
	if err != nil || len(m.Deliveries[0].Flags) != 1 || !strings.Contains(m.Deliveries[0].Flags[0], "CAB-OUT-48: expected 6") {
		t.Errorf("flags: %v %v", m, err)
	}
}

func FuzzMap(f *testing.F) {
	for _, name := range []string{"pod-01-full-delivery.json", "pod-02-partial-damaged.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := podapp.Map(body, nil)
		if err != nil {
			return
		}
		for i := range m.Deliveries {
			m.Deliveries[i].CloudEvents("fuzz", "")
		}
	})
}
