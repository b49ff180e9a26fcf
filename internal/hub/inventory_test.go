package hub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// inventoryOdooCalls is the most an inventory check costs in Odoo, whatever
// the number of shipments: three calls for the pickings (with moves and
// move lines), two for the returns (one when there are none), one for the
// scraps, one for the product codes.
const inventoryOdooCalls = 7

// checkInventory runs an inventory check of every warehouse.
func (w *odooWorld) checkInventory(t *testing.T) *reconcile.InventoryCheck {
	t.Helper()
	chk, err := w.hub.Reconciler.RunInventory(t.Context(), reconcile.InventoryParams{})
	if err != nil {
		t.Fatalf("RunInventory: %v", err)
	}
	if chk.OdooCalls < 1 || chk.OdooCalls > inventoryOdooCalls {
		t.Errorf("inventory check made %d Odoo calls (%v), want at most %d", chk.OdooCalls, chk.OdooCallsByRead, inventoryOdooCalls)
	}
	return chk
}

// added returns the differences of chk that base does not have, and
// checks that the counts grew by exactly want (every other type unchanged).
func added(t *testing.T, base, chk *reconcile.InventoryCheck, want map[reconcile.Type]int) []reconcile.Difference {
	t.Helper()
	for _, typ := range reconcile.InventoryTypes() {
		if got := chk.Counts[typ] - base.Counts[typ]; got != want[typ] {
			t.Errorf("%s: got %d more, want %d more (before %+v, now %+v)", typ, got, want[typ], base.Differences, chk.Differences)
		}
	}
	key := func(d reconcile.Difference) string { return string(d.Type) + "|" + d.ShipmentID + "|" + d.Subject }
	var out []reconcile.Difference
	for _, d := range chk.Differences {
		if !slices.ContainsFunc(base.Differences, func(b reconcile.Difference) bool { return key(b) == key(d) }) {
			out = append(out, d)
		}
	}
	return out
}

// wantReview checks that d waits for an operations review.
func wantReview(t *testing.T, d reconcile.Difference) {
	t.Helper()
	if d.Safe || d.Healed != "" || d.Review == nil || d.Review.OwnerRole != reconcile.OperationsRole || d.Review.Status != reconcile.ReviewOpen {
		t.Errorf("%s: got safe %t, healed %q, review %+v; want an open operations review", d.Type, d.Safe, d.Healed, d.Review)
	}
}

// inventoryEvents are the events that take a shipment of the world's
// order up to step: reserve, load or deliver (with the exception before
// delivery, when not empty).
func inventoryEvents(w *odooWorld, step, exception string) [][3]string {
	two, three := `{"value":"2","unit":"C62"}`, `{"value":"3","unit":"C62"}`
	evs := [][3]string{
		{"plan", "shipment.planned", `{"order":"odoo:` + w.order.Name + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH/Stock"},"destination":{"name":"Deco Addict DC"},` +
			`"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `},{"line_id":"2","sku":"LOT-RESIN","quantity":` + three + `}]}`},
		{"reserve", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
	}
	if step == "reserve" {
		return evs
	}
	evs = append(evs, [3]string{"load", "shipment.loaded", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three +
		`,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]}`})
	if step == "load" {
		return evs
	}
	evs = append(evs, [3]string{"depart", "shipment.departed", `{}`})
	if exception != "" {
		evs = append(evs, [3]string{"exception", "shipment.exception", exception})
	}
	return append(evs, [3]string{"deliver", "shipment.delivered",
		`{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}}`})
}

// waitState waits until the shipment of subject is in one of states.
func (w *odooWorld) waitState(t *testing.T, subject string, states ...string) string {
	t.Helper()
	var id string
	poll.Until(t, subject+" "+strings.Join(states, " or "), func() bool {
		sh := getShipment(t, w.bundle, subject)
		id, _ = sh["id"].(string)
		st, _ := sh["state"].(string)
		return slices.Contains(states, st)
	})
	return id
}

// waitDone waits until the world's picking is done in Odoo.
func (w *odooWorld) waitDone(t *testing.T) odoo.Picking {
	t.Helper()
	var p odoo.Picking
	poll.Until(t, "the picking done", func() bool {
		var err error
		p, err = w.client.Picking(t.Context(), w.order.PickingIDs[0])
		return err == nil && p.State == odoo.PickingDone
	})
	return p
}

// waitDeadLetters waits until jobs of every kind are dead letters.
func (w *odooWorld) waitDeadLetters(t *testing.T, kinds ...string) {
	t.Helper()
	poll.Until(t, strings.Join(kinds, " and ")+" in the dead letters", func() bool {
		dl := deadLetters(t, w.bundle)
		for _, k := range kinds {
			if !slices.ContainsFunc(dl, func(d map[string]any) bool { return d["kind"] == k }) {
				return false
			}
		}
		return true
	})
}

// TestInventoryCheck seeds each kind of inventory difference, in Odoo or
// in Waybill, on a clean world and checks what a check finds, its
// evidence, and what heals.
func TestInventoryCheck(t *testing.T) {
	t.Parallel()
	one := `{"value":"1","unit":"C62"}`
	// scenario runs a case on a world of Odoo version on each engine.
	scenario := func(name string, version int, run func(t *testing.T, w *odooWorld)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) { run(t, setupOdoo(t, opts, version, nil)) })
		})
	}
	{
		scenario("an outgoing picking made by hand in Odoo", 18, func(t *testing.T, w *odooWorld) {
			base := w.checkInventory(t)
			demo := w.srv.Sim().Demo()
			so, err := w.client.EnsureSaleOrder(t.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[0], ClientRef: "BY-HAND-1", Confirm: true,
				Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 4}}})
			if err != nil {
				t.Fatal(err)
			}
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.UntrackedPicking: 1})
			if len(got) != 1 {
				t.Fatalf("got new differences %+v, want one", got)
			}
			d := got[0]
			if d.ShipmentID != "" || d.Evidence.Waybill != "no shipment ships it" || !slices.Equal(d.Evidence.OdooIDs, so.PickingIDs) ||
				!strings.Contains(d.Evidence.Odoo, "E-COM07 4") || !strings.Contains(d.Evidence.Odoo, so.Name) {
				t.Errorf("got %+v, want picking %v of %s with 4 E-COM07 and no shipment", d, so.PickingIDs, so.Name)
			}
			wantReview(t, d)
		})

		scenario("a reservation undone in Odoo", 17, func(t *testing.T, w *odooWorld) {
			w.sendAll(t, "tms:INV-RES", inventoryEvents(w, "reserve", ""))
			id := w.waitState(t, "tms:INV-RES", "reserved", "released")
			base := w.checkInventory(t)
			if slices.ContainsFunc(base.Differences, func(d reconcile.Difference) bool { return d.ShipmentID == id }) {
				t.Fatalf("reserved in both: got differences %+v, want none for %s", base.Differences, id)
			}
			if _, err := w.client.Execute(t.Context(), "stock.picking", "do_unreserve", w.order.PickingIDs, nil); err != nil {
				t.Fatal(err)
			}
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.ReservationMismatch: 2})
			wantWB := map[string]string{"E-COM07": "reserved 2 C62", "LOT-RESIN": "reserved 3 C62"}
			for _, d := range got {
				if d.ShipmentID != id || d.Evidence.Waybill != wantWB[d.Subject] || !strings.HasPrefix(d.Evidence.Odoo, "0 reserved on picking") ||
					!slices.Equal(d.Evidence.OdooIDs, w.order.PickingIDs) {
					t.Errorf("got %+v, want %s's %s %q against nothing reserved on picking %v", d, id, d.Subject, wantWB[d.Subject], w.order.PickingIDs)
				}
				wantReview(t, d)
			}
		})

		scenario("a picking cancelled in Odoo before loading", 16, func(t *testing.T, w *odooWorld) {
			w.sendAll(t, "tms:INV-CANCEL", inventoryEvents(w, "reserve", ""))
			id := w.waitState(t, "tms:INV-CANCEL", "reserved", "released")
			base := w.checkInventory(t)
			if _, err := w.client.Execute(t.Context(), "stock.picking", "action_cancel", w.order.PickingIDs, nil); err != nil {
				t.Fatal(err)
			}
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.PickingNotOpen: 1})
			if len(got) != 1 || got[0].ShipmentID != id || !strings.HasSuffix(got[0].Evidence.Odoo, " is cancelled") ||
				!slices.Equal(got[0].Evidence.OdooIDs, w.order.PickingIDs) || !strings.HasSuffix(got[0].Evidence.Waybill, "not loaded") {
				t.Fatalf("got %+v, want shipment %s's picking %v cancelled", got, id, w.order.PickingIDs)
			}
			wantReview(t, got[0])
		})

		scenario("a picking done in Odoo with other quantities than loaded", 19, func(t *testing.T, w *odooWorld) {
			w.sendAll(t, "tms:INV-DONE", inventoryEvents(w, "reserve", ""))
			w.waitState(t, "tms:INV-DONE", "reserved", "released")
			base := w.checkInventory(t)
			demo := w.srv.Sim().Demo()
			// The warehouse validated the picking by hand with one
			// cabinet less than the driver loaded.
			if _, err := w.client.ValidatePicking(t.Context(), w.order.PickingIDs[0], []odoo.ShipLine{{ProductID: demo.Products["E-COM07"], Quantity: 1},
				{ProductID: demo.Products["LOT-RESIN"], Quantity: 3, Lot: w.lot}}, odoo.BackorderCancel); err != nil {
				t.Fatal(err)
			}
			rest := inventoryEvents(w, "load", "")
			w.sendAll(t, "tms:INV-DONE", rest[len(rest)-1:])
			id := w.waitState(t, "tms:INV-DONE", "loaded")
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.DoneVsLoaded: 1})
			if len(got) != 1 || got[0].ShipmentID != id || got[0].Subject != "E-COM07" || got[0].Evidence.Waybill != "loaded 2 C62" ||
				!strings.HasPrefix(got[0].Evidence.Odoo, "1 done on picking") || !slices.Equal(got[0].Evidence.OdooIDs, w.order.PickingIDs) {
				t.Fatalf("got %+v, want E-COM07 loaded 2 and done 1", got)
			}
			wantReview(t, got[0])
			w.hub.KPIs.Forget() // computed before the check
			snap, err := w.hub.KPIs.Snapshot(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if snap.Mismatches.OdooDoneVsLoaded != 1 || snap.Inventory[string(reconcile.DoneVsLoaded)] != 1 {
				t.Errorf("KPI: got odoo_done_vs_loaded %d, inventory %v; want 1 from the latest check", snap.Mismatches.OdooDoneVsLoaded, snap.Inventory)
			}
		})

		scenario("a return made by hand in Odoo", 18, func(t *testing.T, w *odooWorld) {
			w.ship(t, "tms:INV-RET")
			id := w.shipmentID(t, "tms:INV-RET")
			w.invoiced(t, id)
			p := w.waitDone(t)
			base := w.checkInventory(t)
			ret, err := w.client.ReturnPicking(t.Context(), p.ID, []odoo.ReturnLine{{ProductID: w.srv.Sim().Demo().Products["E-COM07"], Quantity: 1}})
			if err != nil {
				t.Fatal(err)
			}
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.UnexpectedReturn: 1})
			if len(got) != 1 || got[0].ShipmentID != id || got[0].Subject != ret.Name || !slices.Equal(got[0].Evidence.OdooIDs, []int{ret.PickingID, p.ID}) ||
				!strings.HasSuffix(got[0].Evidence.Odoo, ": E-COM07 1") {
				t.Fatalf("got %+v, want return %s (%d) of 1 E-COM07 from %s", got, ret.Name, ret.PickingID, p.Name)
			}
			wantReview(t, got[0])
		})

		scenario("a scrap made by hand in Odoo from a shipment's picking", 17, func(t *testing.T, w *odooWorld) {
			w.ship(t, "tms:INV-SCRAP")
			id := w.shipmentID(t, "tms:INV-SCRAP")
			w.invoiced(t, id)
			p := w.waitDone(t)
			base := w.checkInventory(t)
			demo := w.srv.Sim().Demo()
			ids, err := w.client.Create(t.Context(), "stock.scrap", []map[string]any{{"product_id": demo.Products["E-COM07"], "scrap_qty": 1.0,
				"picking_id": p.ID, "location_id": demo.StockLocationID}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.client.Execute(t.Context(), "stock.scrap", "action_validate", ids, nil); err != nil {
				t.Fatal(err)
			}
			chk := w.checkInventory(t)
			got := added(t, base, chk, map[reconcile.Type]int{reconcile.UnexpectedScrap: 1})
			if len(got) != 1 || got[0].ShipmentID != id || !slices.Equal(got[0].Evidence.OdooIDs, ids) || !strings.Contains(got[0].Evidence.Odoo, "of 1 E-COM07") ||
				got[0].Evidence.Waybill != "no approved write-off on shipment "+id {
				t.Fatalf("got %+v, want scrap %v of 1 E-COM07 from %s", got, ids, p.Name)
			}
			wantReview(t, got[0])
		})

		// Odoo fails every return while the refusal is approved: the
		// take-back ends in the dead letters and the return never reaches
		// Odoo. The check heals it through the outbox, twice even, and
		// one return is made.
		scenario("an approved refusal whose return never reached Odoo", 18, func(t *testing.T, w *odooWorld) {
			three := `{"value":"3","unit":"C62"}`
			w.sendAll(t, "tms:INV-REF", inventoryEvents(w, "deliver", `{"category":"refused","exception_id":"REF-9","lines":[{"line_id":"2","quantity":`+three+`}]}`))
			id := w.shipmentID(t, "tms:INV-REF")
			p := w.waitDone(t)
			w.srv.Sim().Faults().Inject("stock.return.picking", "create", 1000, odoosim.FaultHTTP500)
			w.decide(t, id, "exception", "approve")
			// The invoice takes the goods back first: it fails too.
			w.waitDeadLetters(t, shipment.ActionPickingReturn, shipment.ActionInvoicePrepare)
			w.srv.Sim().Faults().Clear()
			chk := w.checkInventory(t)
			i := slices.IndexFunc(chk.Differences, func(d reconcile.Difference) bool { return d.Type == reconcile.MissingReturn })
			if chk.Counts[reconcile.MissingReturn] != 1 || i < 0 {
				t.Fatalf("got %+v, want one missing return", chk.Differences)
			}
			d := chk.Differences[i]
			if d.ShipmentID != id || d.Subject != "REF-9" || !d.Safe || d.Healed != shipment.ActionPickingReturn || d.Review != nil ||
				d.Evidence.Waybill != "exception REF-9 (refused) approved: take back LOT-RESIN 3" || !slices.Equal(d.Evidence.OdooIDs, []int{p.ID}) {
				t.Errorf("got %+v, want REF-9's 3 LOT-RESIN healed with %s", d, shipment.ActionPickingReturn)
			}
			w.checkInventory(t) // a second check heals again: harmless
			var rs []odoo.ReturnMove
			poll.Until(t, "the return in Odoo", func() bool {
				var err error
				rs, err = w.client.Returns(t.Context(), &odoo.ReturnQuery{Of: []int{p.ID}})
				return err == nil && len(rs) > 0 && rs[0].State == odoo.PickingDone
			})
			after := w.checkInventory(t)
			if after.Counts[reconcile.MissingReturn] != 0 || after.Counts[reconcile.UnexpectedReturn] != 0 {
				t.Errorf("after healing: got %+v, want no missing or unexpected return", after.Differences)
			}
			if len(rs) != 1 || !qtyIs(rs[0].Quantity, 3) {
				t.Errorf("returns of %s: got %+v, want one of 3", p.Name, rs)
			}
		})

		scenario("an approved damage whose scrap never reached Odoo", 19, func(t *testing.T, w *odooWorld) {
			w.sendAll(t, "tms:INV-DMG", inventoryEvents(w, "deliver", `{"category":"damaged","exception_id":"DMG-9","lines":[{"line_id":"1","quantity":`+one+`}]}`))
			id := w.shipmentID(t, "tms:INV-DMG")
			w.waitDone(t)
			w.srv.Sim().Faults().Inject("stock.scrap", "create", 1000, odoosim.FaultHTTP500)
			w.decide(t, id, "exception", "approve")
			w.waitDeadLetters(t, shipment.ActionStockScrap, shipment.ActionInvoicePrepare)
			w.srv.Sim().Faults().Clear()
			chk := w.checkInventory(t)
			i := slices.IndexFunc(chk.Differences, func(d reconcile.Difference) bool { return d.Type == reconcile.MissingScrap })
			if chk.Counts[reconcile.MissingScrap] != 1 || chk.Counts[reconcile.MissingReturn] != 0 || i < 0 {
				t.Fatalf("got %+v, want one missing scrap (the return was made)", chk.Differences)
			}
			d := chk.Differences[i]
			origin := "WB-" + id + "/DMG-9"
			if d.ShipmentID != id || d.Subject != "DMG-9" || !d.Safe || d.Healed != shipment.ActionStockScrap ||
				d.Evidence.Waybill != "exception DMG-9 (damaged) approved: write off E-COM07 1" || d.Evidence.Odoo != `no scrap with origin "`+origin+`"` {
				t.Errorf("got %+v, want DMG-9's 1 E-COM07 healed with %s", d, shipment.ActionStockScrap)
			}
			var scraps []odoo.Scrap
			poll.Until(t, "the scrap in Odoo", func() bool {
				var err error
				scraps, err = w.client.Scraps(t.Context(), &odoo.ScrapQuery{Origins: []string{origin}})
				return err == nil && len(scraps) > 0 && scraps[0].State == "done"
			})
			after := w.checkInventory(t)
			if n := after.Counts[reconcile.MissingScrap] + after.Counts[reconcile.UnexpectedScrap] + after.Counts[reconcile.MissingReturn]; n != 0 {
				t.Errorf("after healing: got %+v, want nothing missing or unexpected", after.Differences)
			}
			if len(scraps) != 1 || !qtyIs(scraps[0].Quantity, 1) {
				t.Errorf("scraps of %s: got %+v, want one of 1", origin, scraps)
			}
		})
	}
}

func qtyIs(got, want float64) bool { return got-want < 1e-9 && want-got < 1e-9 }
