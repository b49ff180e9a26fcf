package hub_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
)

// TestOdooTakeBackThatCannotBeDoneOpensAReview: a damaged lot-tracked unit
// whose lot is no longer in stock where it came back to cannot be
// scrapped. Odoo refuses the scrap; Waybill does not force the stock
// negative, leaves at most one draft scrap, and puts the reason in front
// of the warehouse as a review item, and the job completes.
func TestOdooTakeBackThatCannotBeDoneOpensAReview(t *testing.T) {
	t.Parallel()
	w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, nil)
	ctx := t.Context()
	demo := w.srv.Sim().Demo()
	resin, stock := demo.Products["LOT-RESIN"], demo.StockLocationID
	two, three, one := `{"value":"2","unit":"C62"}`, `{"value":"3","unit":"C62"}`, `{"value":"1","unit":"C62"}`
	lines := `[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]`
	w.sendAll(t, "tms:TB-1", [][3]string{
		{"plan", "shipment.planned", `{"order":"odoo:` + w.order.Name + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC"},` +
			`"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `},{"line_id":"2","sku":"LOT-RESIN","quantity":` + three + `}]}`},
		{"reserve", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
		{"load", "shipment.loaded", `{"lines":` + lines + `}`},
		{"depart", "shipment.departed", `{}`},
		{"damage", "shipment.exception", `{"category":"damaged","exception_id":"EXC-LOT","description":"torn sack","lines":[{"line_id":"2","quantity":` + one + `}]}`},
		{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + two + `}]}}`},
	})
	id := w.shipmentID(t, "tms:TB-1")
	pick := w.order.PickingIDs[0]
	poll.Until(t, "the picking validated", func() bool {
		p, err := w.client.Picking(ctx, pick)
		return err == nil && p.State == odoo.PickingDone
	})

	// The warehouse took the torn sack back by hand, and the lot's stock
	// has gone since (counted to zero).
	ret, err := w.client.ReturnPicking(ctx, pick, []odoo.ReturnLine{{ProductID: resin, Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.ValidatePicking(ctx, ret.PickingID, []odoo.ShipLine{{ProductID: resin, Quantity: 1, Lot: w.lot}}, odoo.BackorderCancel); err != nil {
		t.Fatal(err)
	}
	lots, err := w.client.Search(ctx, "stock.lot", odoo.Domain{odoo.Leaf("name", "=", w.lot), odoo.Leaf("product_id", "=", resin)}, nil)
	if err != nil || len(lots) != 1 {
		t.Fatalf("lot %s: %v %v", w.lot, lots, err)
	}
	imode := &odoo.CallOptions{Context: map[string]any{"inventory_mode": true}}
	quants, err := w.client.Create(ctx, "stock.quant", []map[string]any{{"product_id": resin, "location_id": stock, "lot_id": lots[0], "inventory_quantity": 0.0}}, imode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.Execute(ctx, "stock.quant", "action_apply_inventory", quants, imode); err != nil {
		t.Fatal(err)
	}
	lotAtStock := func() float64 {
		recs, err := w.client.SearchRead(ctx, "stock.quant", odoo.Domain{odoo.Leaf("product_id", "=", resin), odoo.Leaf("location_id", "=", stock),
			odoo.Leaf("lot_id", "=", lots[0])}, &odoo.SearchOptions{Fields: []string{"quantity"}})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, r := range recs {
			sum += r.Float("quantity")
		}
		return sum
	}
	if q := lotAtStock(); q != 0 {
		t.Fatalf("lot %s at WH/Stock after the count: got %v, want 0", w.lot, q)
	}

	w.decide(t, id, "exception", "approve")

	var review map[string]any
	poll.Until(t, "the review of the failed take-back", func() bool {
		_, raw, _ := w.do(t, http.MethodGet, "/v1/review?state=open&owner_role=warehouse", "", nil)
		var list struct {
			Reviews []map[string]any `json:"reviews"`
		}
		_ = json.Unmarshal(raw, &list)
		for _, r := range list.Reviews {
			if b, _ := json.Marshal(r); r["shipment_id"] == id && strings.Contains(string(b), "takeback-EXC-LOT") {
				review = r
				return true
			}
		}
		return false
	})
	raw, _ := json.Marshal(review)
	for _, want := range []string{"not enough stock", w.lot, "EXC-LOT"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("review %s: want the reason, naming %q", raw, want)
		}
	}
	// The invoice goes ahead without the damaged unit; the scrap waits
	// for the warehouse.
	inv := w.invoiced(t, id)
	if got := w.invoicedQuantities(t, inv); got["LOT-RESIN"] != 2 {
		t.Errorf("invoiced %v, want 2 LOT-RESIN (one damaged)", got)
	}
	scraps, err := w.client.SearchRead(ctx, "stock.scrap", odoo.Domain{odoo.Leaf("origin", "=", "WB-"+id+"/EXC-LOT")},
		&odoo.SearchOptions{Fields: []string{"state"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(scraps) != 1 || scraps[0].String("state") != "draft" {
		t.Errorf("scraps for the damage: got %v, want one draft", scraps)
	}
	if q := lotAtStock(); q != 0 {
		t.Errorf("lot %s at WH/Stock: got %v, want 0 (never forced negative)", w.lot, q)
	}
	_, all, _ := w.do(t, http.MethodGet, "/v1/review?owner_role=warehouse", "", nil)
	if n := strings.Count(string(all), `"exception_id":"takeback-EXC-LOT"`); n != 1 {
		t.Errorf("got %d reviews of the failed take-back, want 1: %s", n, all)
	}
	if dl := deadLetters(t, w.bundle); len(dl) != 0 {
		t.Errorf("dead letters: %v, want none", dl)
	}
}
