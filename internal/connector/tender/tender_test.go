package tender_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/tender"
	"github.com/waybill/waybill/internal/edi/x12"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func snapshot(t *testing.T, scac string) []byte {
	t.Helper()
	w, _ := quantity.Parse("1868.801", "KGM")
	hu, _ := quantity.Parse("6", "XPX")
	start := time.Date(2025, 11, 10, 15, 0, 0, 0, time.UTC)
	sh := shipment.Shipment{ID: "0193f0d2-6c1e-7a4b-9f2d-8e5c3b1a7d60", State: shipment.Released,
		Carrier:        &shipment.Carrier{SCAC: scac},
		Origin:         &shipment.Location{Name: "Larkspur Supply Co", AddressLines: []string{"100 EXAMPLE WAY"}, City: "Reno", Region: "NV", PostalCode: "89502", Country: "US", Timezone: "America/Los_Angeles"},
		Destination:    &shipment.Location{Name: "Pinecrest Hardware", City: "Columbus", Region: "US-OH", PostalCode: "43215", Country: "US"},
		PickupWindow:   &shipment.Window{Start: start, End: start.Add(2 * time.Hour)},
		DeliveryWindow: &shipment.Window{Start: start.Add(72 * time.Hour), End: start.Add(76 * time.Hour)},
		Weight:         &w, HandlingUnits: &hu,
		References: map[string]string{"bol": "BOL-550193", "po": "PO-88412"},
	}
	b, err := json.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTender(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		store := source.NewStore(db)
		c, err := tender.New([]tender.Carrier{{Source: "xktl", SCAC: "XKTL", Dir: dir, SenderID: "LARKSPURSUP", SenderQualifier: "ZZ"}}, nil, store)
		if err != nil {
			t.Fatal(err)
		}
		a := &connector.Action{Kind: shipment.ActionDispatchRelease, ShipmentID: "s1", EventID: "e1", IdempotencyKey: "e1/dispatch.release", Payload: snapshot(t, "XKTL")}
		if err := c.Deliver(ctx, a); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "204-*.edi"))
		if len(files) != 1 {
			t.Fatalf("files %v", files)
		}
		first, _ := os.ReadFile(files[0])
		ic, err := x12.Parse(first)
		if err != nil {
			t.Fatalf("the 204 does not parse: %v\n%s", err, first)
		}
		tx := ic.Groups[0].Transactions[0]
		text := string(first)
		for _, want := range []string{"*02*XKTL", "B2**XKTL**BOL-550193**PP", "L11*BOL-550193*BM", "L11*PO-88412*PO", "N1*SH*Larkspur Supply Co", "N4*Columbus*OH*43215*US", "G62*37*20251110*I*0700*PT"} {
			if !strings.Contains(text, want) {
				t.Errorf("204 lacks %q:\n%s", want, text)
			}
		}
		if tx.Code != "204" {
			t.Errorf("set %s", tx.Code)
		}

		// A retry writes the same bytes: same control number, no new one.
		os.Remove(files[0])
		if err := c.Deliver(ctx, a); err != nil {
			t.Fatal(err)
		}
		again, _ := os.ReadFile(files[0])
		if string(again) != string(first) {
			t.Errorf("a retried tender differs:\n%s\n%s", first, again)
		}
		if n, _ := store.NextControl(ctx, "x12-out:xktl"); n != 2 {
			t.Errorf("next control number %d, want 2: the retry took one", n)
		}

		// Another carrier's shipment is not tendered (and there is no next).
		other := *a
		other.IdempotencyKey, other.Payload = "e2/dispatch.release", snapshot(t, "ABCD")
		if err := c.Deliver(ctx, &other); err != nil {
			t.Fatal(err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "204-*.edi")); len(files) != 1 {
			t.Errorf("files %v", files)
		}

		// A shipment a tender cannot be written for is a dead letter.
		var sh shipment.Shipment
		json.Unmarshal(snapshot(t, "XKTL"), &sh)
		sh.PickupWindow = nil
		bad := *a
		bad.IdempotencyKey = "e3/dispatch.release"
		bad.Payload, _ = json.Marshal(sh)
		if err := c.Deliver(ctx, &bad); err == nil {
			t.Error("a tender without a pickup window was written")
		} else if permanent, _ := connector.Classify(err); !permanent {
			t.Errorf("not permanent: %v", err)
		}
	})
}
