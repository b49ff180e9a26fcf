package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
)

// deliverWorld is a simulator with one confirmed sale order of 4 × E-COM07
// and 2 × LOT-RESIN, and a Connector pointed at it.
type deliverWorld struct {
	srv   *odoosim.Server
	cl    *Client // the test's own client
	so    SaleOrder
	pick  Picking
	lot   string
	xrefs map[string][]shipment.Xref
	conn  *Connector
}

func newDeliverWorld(t *testing.T, version int, tune func(*ConnectorOptions)) *deliverWorld {
	t.Helper()
	srv, err := odoosim.Start(odoosim.Options{Version: version, Logger: testLogger(t, slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sim := srv.Sim()
	cfg := Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), Timeout: 5 * time.Second, RateLimit: 10000}
	cl, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	demo := sim.Demo()
	so, err := cl.EnsureSaleOrder(t.Context(), &SaleOrderParams{PartnerID: demo.Customers[0], ClientRef: "DELIVER-TEST", Confirm: true,
		Lines: []SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 4}, {ProductID: demo.Products["LOT-RESIN"], Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	pick, err := cl.Picking(t.Context(), so.PickingIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	w := &deliverWorld{srv: srv, cl: cl, so: so, pick: pick, xrefs: map[string][]shipment.Xref{}}
	for _, m := range pick.Moves {
		for _, l := range m.Lines {
			if l.Lot.Name != "" {
				w.lot = l.Lot.Name
			}
		}
	}
	opts := ConnectorOptions{
		System:          "odoo",
		Backorder:       BackorderCreate,
		ServiceProducts: map[string]string{"detention": "DETENTION"},
		Xrefs: func(_ context.Context, id string) ([]shipment.Xref, error) {
			return w.xrefs[id], nil
		},
	}
	if tune != nil {
		tune(&opts)
	}
	w.conn, err = NewConnector(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.conn.Close() })
	return w
}

func qty(t *testing.T, v string) *quantity.Quantity {
	t.Helper()
	q, err := quantity.Parse(v, "C62")
	if err != nil {
		t.Fatal(err)
	}
	return &q
}

// loaded is a shipment of the world's order with e-com07 of E-COM07 and
// resin of LOT-RESIN (from the reserved lot) loaded.
func (w *deliverWorld) loaded(t *testing.T, id, ecom07, resin string) *shipment.Shipment {
	sh := &shipment.Shipment{ID: id, State: shipment.Loaded, Order: "odoo:" + w.so.Name, Lines: []shipment.Line{
		{LineID: "1", SKU: "E-COM07", Quantity: *qty(t, "4"), Loaded: qty(t, ecom07)},
		{LineID: "2", SKU: "LOT-RESIN", Quantity: *qty(t, "2"), Loaded: qty(t, resin),
			LoadedLots: []shipment.Lot{{Lot: w.lot, Quantity: *qty(t, resin)}}},
	}}
	return sh
}

func action(t *testing.T, kind string, sh *shipment.Shipment) *connector.Action {
	t.Helper()
	payload, err := json.Marshal(sh)
	if err != nil {
		t.Fatal(err)
	}
	return &connector.Action{Kind: kind, ShipmentID: sh.ID, EventID: "ev-" + sh.ID, CorrelationID: "corr-" + sh.ID,
		IdempotencyKey: "ev-" + sh.ID + "/" + kind, Attempt: 1, Payload: payload}
}

func TestDeliverValidateAndInvoice(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 17, 18, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, v, nil)
			sh := w.loaded(t, "sh-1", "4", "2")
			sh.TrackingRef = "1Z999"
			sh.Charges = []shipment.Charge{{Code: "DET", Type: "detention", EventID: "ev-charge"}}
			sh.Charges[0].Amount.Minor, sh.Charges[0].Amount.Currency = 7500, "USD"

			// Invoicing before the picking is validated waits.
			err := w.conn.Deliver(t.Context(), action(t, shipment.ActionInvoicePrepare, sh))
			if permanent, _ := connector.Classify(err); err == nil || permanent {
				t.Fatalf("invoice before validation: got %v, want a retryable error", err)
			}
			w.srv.Sim().ResetCalls()
			w.conn.client.ResetCalls()
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatalf("validate: %v", err)
			}
			validateCalls := total(w.conn.client.Calls())
			w.conn.client.ResetCalls()
			// Again, as after a lost reply: nothing changes.
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatalf("validate again: %v", err)
			}
			w.conn.client.ResetCalls()
			p, err := w.cl.Picking(t.Context(), w.pick.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.State != PickingDone || len(p.Backorders) != 0 || p.CarrierTrackingRef != "1Z999" {
				t.Errorf("picking: state %s backorders %v tracking %q", p.State, p.Backorders, p.CarrierTrackingRef)
			}
			if n := w.srv.Sim().Calls()["stock.picking.button_validate"]; n != 1 {
				t.Errorf("button_validate called %d times, want 1", n)
			}

			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionInvoicePrepare, sh)); err != nil {
				t.Fatalf("invoice: %v", err)
			}
			invoiceCalls := total(w.conn.client.Calls())
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionInvoicePrepare, sh)); err != nil {
				t.Fatalf("invoice again: %v", err)
			}
			inv, err := w.cl.FindInvoice(t.Context(), "WB-sh-1")
			if err != nil {
				t.Fatal(err)
			}
			if inv.State != "draft" || inv.AmountTotal <= 75 {
				t.Errorf("invoice %+v: want a draft with the goods and the detention", inv)
			}
			if n := w.srv.Sim().Calls()["sale.advance.payment.inv.create_invoices"]; n != 1 {
				t.Errorf("create_invoices called %d times, want 1", n)
			}
			t.Logf("odoo %d: connector RPC calls: validate %d, invoice %d", v, validateCalls, invoiceCalls)
			if validateCalls > 17 || invoiceCalls > 16 {
				t.Errorf("actions took %d and %d calls, want at most 17 and 16 (docs/odoo.md)", validateCalls, invoiceCalls)
			}
		})
	}
}

func TestDeliverPartialLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		policy        BackorderPolicy
		wantBackorder bool
	}{
		{"backorder", BackorderCreate, true},
		{"cancel remainder", BackorderCancel, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, 18, func(o *ConnectorOptions) { o.Backorder = tc.policy })
			sh := w.loaded(t, "sh-partial", "3", "2")
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatal(err)
			}
			p, err := w.cl.Picking(t.Context(), w.pick.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.State != PickingDone || (len(p.Backorders) == 1) != tc.wantBackorder {
				t.Errorf("picking state %s backorders %v, want backorder %v", p.State, p.Backorders, tc.wantBackorder)
			}
		})
	}
}

func TestDeliverRefusesWhatItCannotPlace(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	byPicking := w.loaded(t, "sh-xref", "4", "2")
	byPicking.Order = ""
	w.xrefs["sh-xref"] = []shipment.Xref{{System: "tms", Kind: shipment.KindShipment, ExternalID: "L-1"}, {System: "odoo", Kind: shipment.KindShipment, ExternalID: w.pick.Name}}

	orphan := w.loaded(t, "sh-orphan", "4", "2")
	orphan.Order = "tms:PO-7"
	unknownSKU := w.loaded(t, "sh-sku", "4", "2")
	unknownSKU.Lines[0].SKU = "NOPE-1"
	notOnPicking := w.loaded(t, "sh-other", "4", "2")
	notOnPicking.Lines[0].SKU = "DESK0005"
	noOrder := w.loaded(t, "sh-noorder", "4", "2")
	noOrder.Order = "odoo:S99999"

	for _, tc := range []struct {
		name string
		sh   *shipment.Shipment
		want string
	}{
		{"no odoo reference", orphan, "names no Odoo picking or sale order"},
		{"unknown sku", unknownSKU, `no Odoo product has the internal reference "NOPE-1"`},
		{"sku not on picking", notOnPicking, `product "DESK0005" is not on picking`},
		{"unknown order", noOrder, `finding sale.order "S99999": 0 records`},
	} {
		err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, tc.sh))
		if permanent, _ := connector.Classify(err); !permanent || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: got %v, want a permanent error containing %q", tc.name, err, tc.want)
		}
	}
	if n := w.srv.Sim().Calls()["stock.picking.button_validate"]; n != 0 {
		t.Errorf("button_validate called %d times for shipments it could not place", n)
	}
	// The cross-reference names the picking even without an order.
	if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, byPicking)); err != nil {
		t.Fatalf("validate by picking name: %v", err)
	}
	bad := &connector.Action{Kind: shipment.ActionPickingValidate, IdempotencyKey: "k", Attempt: 1, Payload: json.RawMessage(`{"lines":[]}`)}
	if permanent, _ := connector.Classify(w.conn.Deliver(t.Context(), bad)); !permanent {
		t.Error("a payload that is not a shipment must fail permanently")
	}
}

func TestDeliverConnectsLazily(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	if err := w.srv.Down(); err != nil {
		t.Fatal(err)
	}
	sh := w.loaded(t, "sh-lazy", "4", "2")
	err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh))
	if permanent, _ := connector.Classify(err); err == nil || permanent {
		t.Fatalf("Odoo down: got %v, want a retryable error", err)
	}
	if err := w.srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh)); err != nil {
		t.Fatalf("after Odoo came back: %v", err)
	}
	if err := w.conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.conn.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("second close: %v", err)
	}
}

func TestDeliverPolicyPerCustomer(t *testing.T) {
	t.Parallel()
	cancel := BackorderCancel
	post := true
	for _, tc := range []struct {
		customer      string
		wantBackorder bool
	}{
		{"odoo:res.partner/42", false}, // the policy cancels the remainder
		{"odoo:res.partner/7", true},   // the connector's default creates a backorder
	} {
		t.Run(tc.customer, func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, 17, func(o *ConnectorOptions) {
				o.Policies = []Policy{{Customer: "odoo:res.partner/42", Warehouse: "WH", Backorder: &cancel, Post: &post}}
			})
			sh := w.loaded(t, "sh-policy", "3", "2")
			sh.Customer = &shipment.Party{Ref: tc.customer}
			sh.Origin = &shipment.Location{Name: "WH/Stock"}
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatal(err)
			}
			p, err := w.cl.Picking(t.Context(), w.pick.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (len(p.Backorders) == 1) != tc.wantBackorder {
				t.Errorf("backorders %v, want a backorder: %v", p.Backorders, tc.wantBackorder)
			}
			if err := w.conn.Deliver(t.Context(), action(t, shipment.ActionInvoicePrepare, sh)); err != nil {
				t.Fatal(err)
			}
			inv, err := w.cl.FindInvoice(t.Context(), "WB-sh-policy")
			if err != nil {
				t.Fatal(err)
			}
			wantState := "draft"
			if !tc.wantBackorder {
				wantState = "posted"
			}
			if inv.State != wantState {
				t.Errorf("invoice %s, want %s", inv.State, wantState)
			}
		})
	}
}

// TestDeliverReusesWhatTheClientRead checks that actions reuse what the
// client read before (the poller reads every outgoing picking) only where
// it cannot have changed in Odoo: a milestone sync finds the picking the
// shipment names without a call; a validation without lots reads the
// picking's moves, fresh, in one call, so a picking changed since the poll
// is shipped as it is now; the invoice reads no picking it knows is done.
func TestDeliverReusesWhatTheClientRead(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 17, 18, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, v, nil)
			ctx := t.Context()
			sh := &shipment.Shipment{ID: "sh-r", State: shipment.Loaded, Order: "odoo:" + w.so.Name, Lines: []shipment.Line{
				{LineID: "1", SKU: "E-COM07", Quantity: *qty(t, "4"), Loaded: qty(t, "4")}}}
			w.xrefs[sh.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: w.pick.Name}}
			cl, err := w.conn.Connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := cl.ChangedPickings(ctx, time.Time{}, 0, 0); err != nil {
				t.Fatal(err)
			}
			// Odoo changes the picking after the poll: its reservation is
			// dropped, so the move lines the poll saw are gone.
			if _, err := w.cl.Execute(ctx, "stock.picking", "do_unreserve", []int{w.pick.ID}, nil); err != nil {
				t.Fatal(err)
			}
			deliver := func(kind string) map[string]int {
				t.Helper()
				cl.ResetCalls()
				if err := w.conn.Deliver(ctx, action(t, kind, sh)); err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				return cl.Calls()
			}
			sh.Milestones = []shipment.Milestone{{Type: "shipment.departed", At: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), EventID: "ev-dep"}}
			if calls := deliver(shipment.ActionMilestoneSync); calls["stock.picking.search_read"]+calls["stock.picking.read"] != 0 || calls["stock.picking.message_post"] != 1 {
				t.Errorf("milestone sync: calls %v, want a note and no picking read", calls)
			}
			calls := deliver(shipment.ActionPickingValidate)
			if calls["stock.move.search_read"] != 1 || calls["stock.move.read"]+calls["stock.move.line.read"]+calls["stock.picking.search_read"] != 0 {
				t.Errorf("validation: calls %v, want the moves read in one search_read", calls)
			}
			p, err := w.cl.Picking(ctx, w.pick.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.State != PickingDone || len(p.Backorders) != 1 || len(p.Moves) != 1 || !qtyEqual(p.Moves[0].Done, 4) {
				t.Errorf("picking: state %s, backorders %v, moves %+v; want 4 shipped and the resin on a backorder", p.State, p.Backorders, p.Moves)
			}
			sh.Picking = &shipment.PickingRecord{System: "odoo", ExternalID: fmt.Sprint(w.pick.ID), Name: w.pick.Name, ValidatedAt: &p.DateDone}
			if calls := deliver(shipment.ActionInvoicePrepare); calls["stock.picking.read"]+calls["stock.picking.search_read"] != 0 || calls["sale.advance.payment.inv.create_invoices"] != 1 {
				t.Errorf("invoice: calls %v, want an invoice and no picking read", calls)
			}
			if inv, err := w.cl.FindInvoice(ctx, "WB-sh-r"); err != nil || inv.State != "draft" {
				t.Errorf("invoice: got %+v, %v; want a draft", inv, err)
			}
		})
	}
}

// TestDeliverNotesWaitingSyncsTogether checks that milestone syncs of a
// shipment that wait while another action of it runs have their notes
// posted with that action's: a validation and two syncs behind it cost one
// message_post, which carries every key, and the syncs then post nothing.
func TestDeliverNotesWaitingSyncsTogether(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	ctx := t.Context()
	sh := &shipment.Shipment{ID: "sh-w", State: shipment.Loaded, Order: "odoo:" + w.so.Name, Lines: []shipment.Line{
		{LineID: "1", SKU: "E-COM07", Quantity: *qty(t, "4"), Loaded: qty(t, "4")}}}
	w.xrefs[sh.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: w.pick.Name}}
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	departed := *sh
	departed.Milestones = []shipment.Milestone{{Type: "shipment.departed", At: at, EventID: "ev-dep"}}
	arrived := departed
	arrived.Milestones = append(slices.Clone(departed.Milestones), shipment.Milestone{Type: "shipment.arrived", At: at.Add(time.Hour), EventID: "ev-arr"})

	// The validation holds the shipment while both syncs come in.
	unlock := w.conn.shipments.lock(sh.ID)
	errs := make(chan error, 2)
	for _, s := range []*shipment.Shipment{&departed, &arrived} {
		a := action(t, shipment.ActionMilestoneSync, s)
		a.IdempotencyKey = s.Milestones[len(s.Milestones)-1].EventID + "/milestone.sync"
		go func() { errs <- w.conn.Deliver(ctx, a) }()
	}
	poll.Until(t, "both syncs waiting", func() bool { return len(w.conn.waiting.with(sh.ID, nil)) == 2 })
	cl, err := w.conn.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.srv.Sim().ResetCalls()
	if err := w.conn.validate(ctx, cl, action(t, shipment.ActionPickingValidate, sh), sh); err != nil {
		t.Fatalf("validate: %v", err)
	}
	unlock()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	notes, err := w.cl.SearchRead(ctx, "mail.message", Domain{Leaf("model", "=", "stock.picking"), Leaf("res_id", "=", w.pick.ID),
		Leaf("body", "ilike", "[wb:")}, &SearchOptions{Fields: []string{"body"}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range notes {
		for _, k := range []string{"[wb:ev-dep]", "[wb:ev-arr]", "[wb:ev-sh-w/picking.validate]"} {
			count[k] += strings.Count(n.String("body"), k)
		}
	}
	if n := w.srv.Sim().Calls()["stock.picking.message_post"]; n != 1 || count["[wb:ev-dep]"] != 1 || count["[wb:ev-arr]"] != 1 || count["[wb:ev-sh-w/picking.validate]"] != 1 {
		t.Errorf("got %d message_post, notes %v; want one, with each key once", n, count)
	}
	if len(w.conn.waiting.with(sh.ID, nil)) != 0 {
		t.Errorf("notes still waiting after the syncs: %v", w.conn.waiting.with(sh.ID, nil))
	}
}

// TestDeliverSharesProductLookups checks that validations needing the same
// SKUs at the same time, as in a dispatch wave, look them up once.
func TestDeliverSharesProductLookups(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	sim := w.srv.Sim()
	const n = 8
	ships := make([]*shipment.Shipment, n)
	for i := range ships {
		ships[i] = w.loaded(t, fmt.Sprintf("wave-%d", i), "4", "2")
	}
	// Each call takes long enough for the others to start meanwhile.
	sim.Faults().SetLatency(200 * time.Millisecond)
	sim.ResetCalls()
	start := make(chan struct{})
	got := make([]map[string]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ships {
		wg.Go(func() {
			<-start
			got[i], errs[i] = w.conn.productIDs(t.Context(), w.cl, ships[i], false)
		})
	}
	close(start)
	wg.Wait()
	sim.Faults().SetLatency(0)
	for i := range ships {
		if errs[i] != nil || got[i]["E-COM07"] == 0 || got[i]["LOT-RESIN"] == 0 {
			t.Fatalf("shipment %d: %v, %v", i, got[i], errs[i])
		}
	}
	if calls := sim.Calls()["product.product.search_read"]; calls != 1 {
		t.Errorf("%d validations at once looked their products up %d times, want once", n, calls)
	}
}
