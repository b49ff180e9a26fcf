package odoo

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/odoosim"
)

// The contract suite runs the client's operations against a target: the
// simulator for every version, always, and a real Odoo when the
// WAYBILL_TEST_ODOO_* variables are set. It creates the records it needs
// under unique references and finishes what it starts (deliveries
// validated, backorders cancelled, returns received), so it can run again
// and again on the same database.

// Environment variables that point the suite at a real Odoo.
const (
	envOdooURL  = "WAYBILL_TEST_ODOO_URL"
	envOdooDB   = "WAYBILL_TEST_ODOO_DB"
	envOdooUser = "WAYBILL_TEST_ODOO_USER"
	envOdooKey  = "WAYBILL_TEST_ODOO_KEY"
)

// target is one Odoo the suite runs against.
type target struct {
	name string
	// start returns a fresh client, and the simulator server behind it
	// (nil for a real Odoo).
	start func(t *testing.T, tune func(*Config)) (*Client, *odoosim.Server)
}

func simTarget(version int) target { return simTargetWith(version, "") }

// simTargetWith is a simulator target with a forced protocol.
func simTargetWith(version int, protocol string) target {
	name := fmt.Sprintf("sim%d", version)
	if protocol != "" {
		name += "-" + protocol
	}
	return target{
		name: name,
		start: func(t *testing.T, tune func(*Config)) (*Client, *odoosim.Server) {
			t.Helper()
			srv, err := odoosim.Start(odoosim.Options{Version: version, Logger: testLogger(t, slog.LevelWarn)})
			if err != nil {
				t.Fatalf("starting simulator %d: %v", version, err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			sim := srv.Sim()
			cfg := Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(),
				Protocol: protocol, Timeout: 10 * time.Second, RateLimit: 10000}
			if tune != nil {
				tune(&cfg)
			}
			return newTestClient(t, cfg), srv
		},
	}
}

// usedSimTarget is a simulator whose database has been used: every unit
// of the demo products is reserved by an open order, as on a live database
// where other pickings took the stock. The suite must not depend on it.
func usedSimTarget(version int) target {
	sim := simTarget(version)
	return target{
		name: sim.name + "-used",
		start: func(t *testing.T, tune func(*Config)) (*Client, *odoosim.Server) {
			t.Helper()
			c, srv := sim.start(t, tune)
			d := srv.Sim().Demo()
			ids := make([]int, 0, len(d.Products))
			for _, id := range d.Products {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			recs, err := c.Read(t.Context(), "product.product", ids, []string{"qty_available"})
			if err != nil {
				t.Fatal(err)
			}
			var lines []SaleLine
			for _, r := range recs {
				if q := r.Float("qty_available"); q > 0 {
					lines = append(lines, SaleLine{ProductID: r.ID(), Quantity: q})
				}
			}
			so, err := c.EnsureSaleOrder(t.Context(), &SaleOrderParams{PartnerID: d.Customers[0], ClientRef: "USED-DB", Lines: lines, Confirm: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range so.PickingIDs {
				if err := c.AssignPicking(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			return c, srv
		},
	}
}

func realTarget() (target, bool) {
	url, db, user, key := os.Getenv(envOdooURL), os.Getenv(envOdooDB), os.Getenv(envOdooUser), os.Getenv(envOdooKey)
	if url == "" || db == "" || user == "" || key == "" {
		return target{}, false
	}
	return target{
		name: "real",
		start: func(t *testing.T, tune func(*Config)) (*Client, *odoosim.Server) {
			t.Helper()
			cfg := Config{URL: url, Database: db, Login: user, APIKey: key}
			if tune != nil {
				tune(&cfg)
			}
			return newTestClient(t, cfg), nil
		},
	}, true
}

func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

func allTargets(t *testing.T) []target {
	out := []target{simTarget(16), simTarget(17), simTarget(18), simTarget(19),
		// 19 still answers the deprecated JSON-RPC; the client can be told
		// to use it.
		simTargetWith(19, ProtocolJSONRPC),
		// a database whose stock other orders have reserved
		usedSimTarget(18)}
	if rt, ok := realTarget(); ok {
		out = append(out, rt)
	}
	return out
}

func TestContract(t *testing.T) {
	t.Parallel()
	for _, tg := range allTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			runContract(t, tg)
		})
	}
	if _, ok := realTarget(); !ok {
		t.Run("real", func(t *testing.T) {
			t.Skipf("no real Odoo: set %s, %s, %s and %s to run the contract suite against one", envOdooURL, envOdooDB, envOdooUser, envOdooKey)
		})
	}
}

// fixture is the world a contract case works in: a customer, a service
// product, and products and lots of its own, with names no other run
// uses, stocked by an inventory adjustment. Nothing depends on what else
// the database holds, so the suite passes on any database, any number of
// times.
type fixture struct {
	c        *Client
	srv      *odoosim.Server
	customer int
	stock    int   // the warehouse's stock location
	plain    []int // storable, untracked products, 50 on hand each
	lotProd  int   // a lot-tracked product
	lots     []string
	service  int // a service product
	svcCode  string
}

var refSeq atomic.Int64

// uniqueRef returns a reference no other run of the suite uses.
func uniqueRef(prefix string) string {
	return fmt.Sprintf("WB-%s-%d-%d", prefix, time.Now().UnixNano(), refSeq.Add(1))
}

// stockEach is what the suite puts on hand of each of its products and lots.
const stockEach = 50

func setup(t *testing.T, tg target, tune func(*Config)) *fixture {
	t.Helper()
	c, srv := tg.start(t, tune)
	f := &fixture{c: c, srv: srv}
	ctx := t.Context()
	if srv != nil {
		d := srv.Sim().Demo()
		f.customer = d.Customers[0]
		f.service = d.Services["FREIGHT"]
		f.svcCode = "FREIGHT"
	} else {
		partners, err := c.Search(ctx, "res.partner", Domain{Leaf("customer_rank", ">", 0), Leaf("is_company", "=", true)}, &SearchOptions{Limit: 1})
		if err != nil || len(partners) == 0 {
			t.Fatalf("finding a customer: %v %v", partners, err)
		}
		f.customer = partners[0]
		svc, err := c.SearchRead(ctx, "product.product", Domain{Leaf("type", "=", "service"), Leaf("default_code", "!=", false)},
			&SearchOptions{Fields: []string{"default_code"}, Limit: 1})
		if err != nil || len(svc) == 0 {
			t.Fatalf("finding a service product: %v %v", svc, err)
		}
		f.service, f.svcCode = svc[0].ID(), svc[0].String("default_code")
	}
	wh, err := c.SearchRead(ctx, "stock.warehouse", nil, &SearchOptions{Fields: []string{"lot_stock_id"}, Limit: 1, Order: "id"})
	if err != nil || len(wh) == 0 {
		t.Fatalf("finding the warehouse: %v %v", wh, err)
	}
	f.stock = wh[0].M2O("lot_stock_id").ID
	for range 3 {
		pid := f.newProduct(t, "none")
		adjustStock(t, c, pid, f.stock, "", stockEach)
		f.plain = append(f.plain, pid)
	}
	f.lotProd = f.newProduct(t, "lot")
	for range 2 {
		lot := f.newLot(t, f.lotProd)
		adjustStock(t, c, f.lotProd, f.stock, lot, stockEach)
		f.lots = append(f.lots, lot)
	}
	c.ResetCalls()
	return f
}

// newProduct creates a storable product of the suite's own, invoiced on
// delivered quantities, with tracking none or lot.
func (f *fixture) newProduct(t *testing.T, tracking string) int {
	t.Helper()
	code := uniqueRef("P")
	p := f.c.Profile()
	vals := map[string]any{"name": "Waybill contract " + code, "default_code": code, "tracking": tracking,
		"invoice_policy": "delivery", "list_price": 10.0, "sale_ok": true, p.StorableField: p.StorableValue}
	if p.StorableField != "type" {
		vals["type"] = "consu"
		if p.StorableField == "detailed_type" {
			vals["type"] = "product"
		}
	}
	ids, err := f.c.Create(t.Context(), "product.product", []map[string]any{vals}, nil)
	if err != nil {
		t.Fatalf("creating product %s: %v", code, err)
	}
	return ids[0]
}

// newLot creates a lot of product with a name no other run uses.
func (f *fixture) newLot(t *testing.T, product int) string {
	t.Helper()
	name := uniqueRef("LOT")
	if _, err := f.c.Create(t.Context(), "stock.lot", []map[string]any{{"name": name, "product_id": product}}, nil); err != nil {
		t.Fatalf("creating lot %s: %v", name, err)
	}
	return name
}

// adjustStock sets the on-hand quantity of product (and lot) at exactly loc
// with an inventory adjustment.
func adjustStock(t *testing.T, c *Client, product, loc int, lot string, qty float64) {
	t.Helper()
	ctx := t.Context()
	vals := map[string]any{"product_id": product, "location_id": loc, "inventory_quantity": qty}
	if lot != "" {
		ids, err := c.Search(ctx, "stock.lot", Domain{Leaf("name", "=", lot), Leaf("product_id", "=", product)}, &SearchOptions{Limit: 1})
		if err != nil || len(ids) != 1 {
			t.Fatalf("finding lot %s: %v %v", lot, ids, err)
		}
		vals["lot_id"] = ids[0]
	}
	imode := &CallOptions{Context: map[string]any{"inventory_mode": true}}
	ids, err := c.Create(ctx, "stock.quant", []map[string]any{vals}, imode)
	if err != nil {
		t.Fatalf("counting product %d: %v", product, err)
	}
	if res, err := c.Execute(ctx, "stock.quant", "action_apply_inventory", ids, imode); err != nil {
		t.Fatalf("applying the count of product %d: %v", product, err)
	} else if act, ok := decodeAction(res); ok {
		t.Fatalf("applying the count of product %d: Odoo asks for %s", product, act.ResModel)
	}
}

// onHand is the quantity of product (and lot) at exactly loc.
func onHand(t *testing.T, c *Client, product, loc int, lot string) float64 {
	t.Helper()
	d := Domain{Leaf("product_id", "=", product), Leaf("location_id", "=", loc)}
	if lot != "" {
		d = append(d, Leaf("lot_id.name", "=", lot))
	}
	recs, err := c.SearchRead(t.Context(), "stock.quant", d, &SearchOptions{Fields: []string{"quantity"}})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, r := range recs {
		sum += r.Float("quantity")
	}
	return sum
}

// order creates and confirms a sale order for lines and returns it with its
// first outgoing picking.
func (f *fixture) order(t *testing.T, ref string, lines ...SaleLine) (SaleOrder, Picking) {
	t.Helper()
	so, err := f.c.EnsureSaleOrder(t.Context(), &SaleOrderParams{PartnerID: f.customer, ClientRef: ref, Lines: lines, Confirm: true})
	if err != nil {
		t.Fatalf("creating sale order %s: %v", ref, err)
	}
	if so.State != "sale" || len(so.PickingIDs) == 0 {
		t.Fatalf("sale order %s: got state %q pickings %v, want sale with a picking", ref, so.State, so.PickingIDs)
	}
	p, err := f.c.Picking(t.Context(), slices.Min(so.PickingIDs))
	if err != nil {
		t.Fatalf("reading picking of %s: %v", ref, err)
	}
	return so, p
}

// cancelPicking cancels a leftover picking so the database stays tidy.
func (f *fixture) cancelPicking(t *testing.T, id int) {
	t.Helper()
	if id == 0 {
		return
	}
	if _, err := f.c.Execute(t.Context(), "stock.picking", "action_cancel", []int{id}, nil); err != nil {
		t.Errorf("cancelling picking %d: %v", id, err)
	}
}

func runContract(t *testing.T, tg target) {
	t.Run("deliver in full", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		ref := uniqueRef("FULL")
		so, p := f.order(t, ref, SaleLine{ProductID: f.plain[0], Quantity: 3}, SaleLine{ProductID: f.plain[1], Quantity: 2, PriceUnit: 45.5})
		again, err := f.c.EnsureSaleOrder(ctx, &SaleOrderParams{PartnerID: f.customer, ClientRef: ref,
			Lines: []SaleLine{{ProductID: f.plain[0], Quantity: 3}}, Confirm: true})
		if err != nil || again.ID != so.ID {
			t.Fatalf("EnsureSaleOrder again: got %d, %v; want %d", again.ID, err, so.ID)
		}
		if p.TypeCode != "outgoing" || p.Sale == nil || p.Sale.ID != so.ID || len(p.Moves) != 2 {
			t.Fatalf("got picking %+v", p)
		}
		if err := f.c.AssignPicking(ctx, p.ID); err != nil {
			t.Fatalf("AssignPicking: %v", err)
		}
		res, err := f.c.PickingReservation(ctx, p.ID)
		if err != nil {
			t.Fatalf("PickingReservation: %v", err)
		}
		if res.State != PickingAssigned {
			t.Errorf("got state %s, want assigned", res.State)
		}
		for _, m := range res.Moves {
			if !qtyEqual(m.Reserved, m.Demand) {
				t.Errorf("move %d: got reserved %g, want demand %g", m.MoveID, m.Reserved, m.Demand)
			}
		}
		lines := []ShipLine{{ProductID: f.plain[0], Quantity: 3}, {ProductID: f.plain[1], Quantity: 2}}
		vr, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		if vr.State != PickingDone || vr.BackorderID != 0 || vr.AlreadyDone {
			t.Errorf("got %+v, want done without backorder", vr)
		}
		vr2, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if err != nil || !vr2.AlreadyDone {
			t.Errorf("ValidatePicking again: got %+v, %v; want AlreadyDone", vr2, err)
		}
		_, err = f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 1}}, BackorderCreate)
		checkClassAndIs(t, err, true, ErrConflict)
		so2, err := f.c.SaleOrder(ctx, so.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f.c.Profile().HasDeliveryStatus && so2.DeliveryStatus != "full" {
			t.Errorf("got delivery_status %q, want full", so2.DeliveryStatus)
		}
		if err := f.c.SetTrackingRef(ctx, p.ID, "TRACK-"+ref); err != nil {
			t.Fatalf("SetTrackingRef: %v", err)
		}
		got, err := f.c.Picking(ctx, p.ID)
		if err != nil || got.CarrierTrackingRef != "TRACK-"+ref || got.State != PickingDone || len(got.Backorders) != 0 {
			t.Errorf("got %+v, %v; want done, without backorder, with the tracking ref", got, err)
		}
	})

	t.Run("partial with backorder or cancel", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, p := f.order(t, uniqueRef("BO"), SaleLine{ProductID: f.plain[2], Quantity: 5})
		vr, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[2], Quantity: 2}}, BackorderCreate)
		if err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		if vr.State != PickingDone || vr.BackorderID == 0 {
			t.Fatalf("got %+v, want done with a backorder", vr)
		}
		bo, err := f.c.Picking(ctx, vr.BackorderID)
		if err != nil {
			t.Fatal(err)
		}
		if bo.BackorderOf != p.ID || len(bo.Moves) != 1 || !qtyEqual(bo.Moves[0].Demand, 3) || bo.State == PickingDone {
			t.Errorf("got backorder %+v, want 3 open units of picking %d", bo, p.ID)
		}
		f.cancelPicking(t, bo.ID)
		// Without lots the picking is read from its moves, whose states
		// give the picking's: a cancelled one is refused, a missing one
		// is missing.
		_, err = f.c.ValidatePicking(ctx, bo.ID, []ShipLine{{ProductID: f.plain[2], Quantity: 3}}, BackorderCreate)
		checkClassAndIs(t, err, true, ErrConflict)
		_, err = f.c.ValidatePicking(ctx, bo.ID+100000, []ShipLine{{ProductID: f.plain[2], Quantity: 3}}, BackorderCreate)
		checkClassAndIs(t, err, true, ErrMissing)

		_, p2 := f.order(t, uniqueRef("CX"), SaleLine{ProductID: f.plain[2], Quantity: 5})
		vr, err = f.c.ValidatePicking(ctx, p2.ID, []ShipLine{{ProductID: f.plain[2], Quantity: 2}}, BackorderCancel)
		if err != nil {
			t.Fatalf("ValidatePicking (cancel remainder): %v", err)
		}
		if vr.State != PickingDone || vr.BackorderID != 0 {
			t.Errorf("got %+v, want done without backorder", vr)
		}
	})

	t.Run("lots", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, p := f.order(t, uniqueRef("LOT"), SaleLine{ProductID: f.lotProd, Quantity: 3}, SaleLine{ProductID: f.plain[0], Quantity: 1})
		lines := []ShipLine{{ProductID: f.lotProd, Quantity: 2, Lot: f.lots[0]}, {ProductID: f.lotProd, Quantity: 1, Lot: f.lots[1]},
			{ProductID: f.plain[0], Quantity: 1}}
		vr, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		if vr.State != PickingDone || vr.BackorderID != 0 {
			t.Errorf("got %+v, want done without backorder", vr)
		}
		got, err := f.c.Picking(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		perLot := map[string]float64{}
		for _, m := range got.Moves {
			for _, l := range m.Lines {
				if l.Lot.ID > 0 {
					perLot[l.Lot.Name] += l.Done
				}
			}
		}
		if !qtyEqual(perLot[f.lots[0]], 2) || !qtyEqual(perLot[f.lots[1]], 1) {
			t.Errorf("got done per lot %v, want %s:2 %s:1", perLot, f.lots[0], f.lots[1])
		}
		vr2, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if err != nil || !vr2.AlreadyDone {
			t.Errorf("ValidatePicking again: got %+v, %v; want AlreadyDone", vr2, err)
		}
		swapped := []ShipLine{{ProductID: f.lotProd, Quantity: 1, Lot: f.lots[0]}, {ProductID: f.lotProd, Quantity: 2, Lot: f.lots[1]},
			{ProductID: f.plain[0], Quantity: 1}}
		_, err = f.c.ValidatePicking(ctx, p.ID, swapped, BackorderCreate)
		checkClassAndIs(t, err, true, ErrConflict)
		_, err = f.c.ValidatePicking(ctx, p.ID+100000, lines, BackorderCreate)
		checkClassAndIs(t, err, true, ErrMissing)

		_, p2 := f.order(t, uniqueRef("NOLOT"), SaleLine{ProductID: f.lotProd, Quantity: 1})
		_, err = f.c.ValidatePicking(ctx, p2.ID, []ShipLine{{ProductID: f.lotProd, Quantity: 1, Lot: uniqueRef("NO-SUCH-LOT")}}, BackorderCreate)
		checkClassAndIs(t, err, true, ErrMissing)
		_, err = f.c.ValidatePicking(ctx, p2.ID, []ShipLine{{ProductID: f.plain[2], Quantity: 1}}, BackorderCreate)
		checkClassAndIs(t, err, true, ErrConflict)
		f.cancelPicking(t, p2.ID)
	})

	t.Run("return and scrap", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, p := f.order(t, uniqueRef("RET"), SaleLine{ProductID: f.plain[0], Quantity: 3}, SaleLine{ProductID: f.plain[1], Quantity: 2})
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 3}, {ProductID: f.plain[1], Quantity: 2}}, BackorderCreate); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		rl := []ReturnLine{{ProductID: f.plain[0], Quantity: 1}}
		ret, err := f.c.ReturnPicking(ctx, p.ID, rl)
		if err != nil {
			t.Fatalf("ReturnPicking: %v", err)
		}
		if ret.PickingID == 0 || ret.Existing || ret.State == PickingDone || ret.State == PickingCancel || ret.LocationID == 0 {
			t.Fatalf("got %+v, want a new open return", ret)
		}
		rp, err := f.c.Picking(ctx, ret.PickingID)
		if err != nil {
			t.Fatal(err)
		}
		if rp.TypeCode != "incoming" || len(rp.Moves) != 1 || rp.Moves[0].Product.ID != f.plain[0] || !qtyEqual(rp.Moves[0].Demand, 1) {
			t.Errorf("got return picking %+v, want 1 incoming unit of product %d", rp, f.plain[0])
		}
		again, err := f.c.ReturnPicking(ctx, p.ID, rl)
		if err != nil || again.PickingID != ret.PickingID || !again.Existing {
			t.Errorf("ReturnPicking again: got %+v, %v; want the existing return %d", again, err, ret.PickingID)
		}
		if vr, err := f.c.ValidatePicking(ctx, ret.PickingID, []ShipLine{{ProductID: f.plain[0], Quantity: 1}}, BackorderCancel); err != nil || vr.State != PickingDone {
			t.Errorf("receiving the return: got %+v, %v", vr, err)
		}

		origin := uniqueRef("SCRAP")
		sc, err := f.c.Scrap(ctx, &ScrapParams{ProductID: f.plain[1], Quantity: 1, Origin: origin})
		if err != nil {
			t.Fatalf("Scrap: %v", err)
		}
		if sc.State != "done" || sc.Existing {
			t.Errorf("got %+v, want a new done scrap", sc)
		}
		sc2, err := f.c.Scrap(ctx, &ScrapParams{ProductID: f.plain[1], Quantity: 1, Origin: origin})
		if err != nil || sc2.ID != sc.ID || !sc2.Existing {
			t.Errorf("Scrap again: got %+v, %v; want scrap %d", sc2, err, sc.ID)
		}
		sl, err := f.c.Scrap(ctx, &ScrapParams{ProductID: f.lotProd, Quantity: 1, Lot: f.lots[0], Origin: uniqueRef("SCRAPLOT")})
		if err != nil || sl.State != "done" {
			t.Errorf("Scrap of a lot: got %+v, %v", sl, err)
		}
		if got := onHand(t, f.c, f.lotProd, f.stock, f.lots[0]); got != stockEach-1 {
			t.Errorf("lot %s after scrapping one: got %v, want %v", f.lots[0], got, stockEach-1)
		}
	})

	// A lot-tracked unit whose lot has nothing at the location: Odoo
	// answers action_validate with the stock.warn.insufficient.qty.scrap
	// wizard and keeps the scrap in draft. The client never confirms it,
	// and repeating the scrap reuses that draft until the stock is there.
	t.Run("scrap of a lot without stock", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		empty := f.newLot(t, f.lotProd) // plenty of the product, none of this lot
		origin := uniqueRef("SCRAPSHORT")
		p := &ScrapParams{ProductID: f.lotProd, Quantity: 2, Lot: empty, LocationID: f.stock, Origin: origin}
		for i := range 3 {
			_, err := f.c.Scrap(ctx, p)
			var ise *InsufficientStockError
			if !errors.As(err, &ise) || ise.Available != 0 || ise.Lot != empty {
				t.Fatalf("attempt %d: got %v, want an InsufficientStockError with nothing of lot %s on hand", i, err, empty)
			}
			checkClassAndIs(t, err, true, ErrConflict)
		}
		recs, err := f.c.SearchRead(ctx, "stock.scrap", Domain{Leaf("origin", "=", origin)}, &SearchOptions{Fields: []string{"state"}})
		if err != nil || len(recs) != 1 || recs[0].String("state") != "draft" {
			t.Fatalf("scraps of %s: got %v, %v; want one draft", origin, recs, err)
		}
		if got := onHand(t, f.c, f.lotProd, f.stock, empty); got != 0 {
			t.Errorf("lot %s on hand: got %v, want 0 (never forced negative)", empty, got)
		}
		adjustStock(t, f.c, f.lotProd, f.stock, empty, 2)
		sc, err := f.c.Scrap(ctx, p)
		if err != nil || sc.State != "done" || sc.ID != recs[0].ID() {
			t.Errorf("once the lot is there: got %+v, %v; want the draft %d done", sc, err, recs[0].ID())
		}
		if got := onHand(t, f.c, f.lotProd, f.stock, empty); got != 0 {
			t.Errorf("lot %s after the scrap: got %v, want 0", empty, got)
		}
	})

	t.Run("charges and invoice", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		ref := uniqueRef("INV")
		so, p := f.order(t, ref, SaleLine{ProductID: f.plain[0], Quantity: 2, PriceUnit: 10})
		charges := []ChargeLine{
			{ServiceCode: f.svcCode, Quantity: 1, PriceUnit: 120, Description: "Freight", Ref: ref + "-FRT"},
			{ProductID: f.service, Quantity: 2, PriceUnit: 35, Description: "Detention", Ref: ref + "-DET"},
		}
		ids, err := f.c.AddChargeLines(ctx, so.ID, charges)
		if err != nil || len(ids) != 2 || ids[0] == 0 || ids[1] == 0 {
			t.Fatalf("AddChargeLines: got %v, %v", ids, err)
		}
		ids2, err := f.c.AddChargeLines(ctx, so.ID, charges)
		if err != nil || !slices.Equal(ids, ids2) {
			t.Errorf("AddChargeLines again: got %v, %v; want %v", ids2, err, ids)
		}
		n, err := f.c.Search(ctx, "sale.order.line", Domain{Leaf("order_id", "=", so.ID)}, nil)
		if err != nil || len(n) != 3 {
			t.Errorf("got order lines %v, %v; want 3", n, err)
		}
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 2}}, BackorderCreate); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		invRef := ref + "-INV"
		inv, err := f.c.InvoiceDelivered(ctx, so.ID, invRef, true)
		if err != nil {
			t.Fatalf("InvoiceDelivered: %v", err)
		}
		if !inv.Created || inv.State != "posted" || inv.Ref != invRef || inv.Name == "" || inv.Origin != so.Name || !(inv.AmountTotal > 0) {
			t.Errorf("got %+v, want a new posted invoice with ref %s", inv, invRef)
		}
		inv2, err := f.c.InvoiceDelivered(ctx, so.ID, invRef, true)
		if err != nil || inv2.ID != inv.ID || inv2.Created {
			t.Errorf("InvoiceDelivered again: got %+v, %v; want invoice %d", inv2, err, inv.ID)
		}
		found, err := f.c.FindInvoice(ctx, invRef)
		if err != nil || found.ID != inv.ID {
			t.Errorf("FindInvoice: got %+v, %v", found, err)
		}
		if _, err := f.c.FindInvoice(ctx, uniqueRef("NONE")); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindInvoice of nothing: got %v, want ErrNotFound", err)
		}
		countInvoices(t, f, so, 1)

		_, err = f.c.InvoiceDelivered(ctx, so.ID, ref+"-INV2", true)
		checkClassAndIs(t, err, true, ErrUser)

		msg := "Waybill: delivered, invoice " + invRef
		mid, err := f.c.PostMessage(ctx, "sale.order", so.ID, msg)
		if err != nil || mid == 0 {
			t.Fatalf("PostMessage: %d, %v", mid, err)
		}
		mid2, err := f.c.PostMessage(ctx, "sale.order", so.ID, msg)
		if err != nil || mid2 != mid {
			t.Errorf("PostMessage again: got %d, %v; want %d", mid2, err, mid)
		}
	})

	t.Run("first invoice", func(t *testing.T) {
		// A ref never tried before is invoiced without reading the order
		// first; a repeat (no longer the first) finds that invoice.
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		ref := uniqueRef("FIRST")
		so, p := f.order(t, ref, SaleLine{ProductID: f.plain[1], Quantity: 3, PriceUnit: 10})
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[1], Quantity: 3}}, BackorderCreate); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		f.c.ResetCalls()
		invRef := ref + "-INV"
		inv, err := f.c.InvoiceDeliveredFirst(ctx, so.ID, invRef, true)
		if err != nil {
			t.Fatalf("InvoiceDeliveredFirst: %v", err)
		}
		if !inv.Created || inv.State != "posted" || inv.Ref != invRef || inv.Name == "" || inv.Origin != so.Name || !(inv.AmountTotal > 0) {
			t.Errorf("got %+v, want a new posted invoice with ref %s", inv, invRef)
		}
		calls := f.c.Calls()
		if n := calls["sale.order.read"] + calls["sale.order.search_read"]; n != 0 {
			t.Errorf("read the sale order %d times, want none: %v", n, calls)
		}
		if n := total(calls); n != 5 {
			t.Errorf("made %d calls, want 5 (wizard, create_invoices, ref, post, read): %v", n, calls)
		}
		again, err := f.c.InvoiceDelivered(ctx, so.ID, invRef, true)
		if err != nil || again.ID != inv.ID || again.Created {
			t.Errorf("InvoiceDelivered after the first: got %+v, %v; want invoice %d", again, err, inv.ID)
		}
		countInvoices(t, f, so, 1)
	})

	t.Run("changed pickings", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, wm0, err := f.c.ChangedPickings(ctx, time.Time{}, 0, 1000)
		if err != nil {
			t.Fatalf("ChangedPickings: %v", err)
		}
		so, p := f.order(t, uniqueRef("CHG"), SaleLine{ProductID: f.plain[1], Quantity: 1})
		ps, wm, err := f.c.ChangedPickings(ctx, wm0, 10*time.Minute, 50)
		if err != nil {
			t.Fatalf("ChangedPickings: %v", err)
		}
		idx := slices.IndexFunc(ps, func(x Picking) bool { return x.ID == p.ID })
		if idx < 0 {
			t.Fatalf("picking %d not among %d changed pickings", p.ID, len(ps))
		}
		got := ps[idx]
		if got.Sale == nil || got.Sale.Name != so.Name || got.Sale.Partner.ID != f.customer || len(got.Moves) != 1 || len(got.Moves[0].Lines) == 0 {
			t.Errorf("got %+v (sale %+v), want moves, lines and sale order %s", got, got.Sale, so.Name)
		}
		if wm.Before(wm0) || wm.Before(got.WriteDate) {
			t.Errorf("got watermark %s, want at least %s and %s", wm, wm0, got.WriteDate)
		}
		for _, x := range ps {
			if x.TypeCode != "outgoing" {
				t.Errorf("picking %d is %s, want only outgoing", x.ID, x.TypeCode)
			}
		}
		// Paging with a small limit reaches the new picking and stops
		// once a poll brings nothing unseen.
		type seenKey struct {
			id int
			wd time.Time
		}
		seen := map[seenKey]bool{}
		found := false
		since := wm0
		for i := 0; ; i++ {
			if i == 50 {
				t.Fatalf("polling with limit 3 did not settle after %d polls", i)
			}
			page, next, err := f.c.ChangedPickings(ctx, since, time.Minute, 3)
			if err != nil {
				t.Fatalf("ChangedPickings: %v", err)
			}
			fresh := 0
			for _, x := range page {
				if !seen[seenKey{x.ID, x.WriteDate}] {
					seen[seenKey{x.ID, x.WriteDate}] = true
					fresh++
				}
				found = found || x.ID == p.ID
			}
			if next.Before(since) {
				t.Fatalf("watermark went back from %s to %s", since, next)
			}
			since = next
			if fresh == 0 {
				break
			}
		}
		if !found {
			t.Errorf("polling with limit 3 never returned picking %d", p.ID)
		}
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[1], Quantity: 1}}, BackorderCreate); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
	})

	// The reads of a day's reconciliation: invoices by reference (and the
	// day's WB- invoices) with their lines, the day's done pickings with
	// their move lines, product codes, and posting the drafts once.
	t.Run("reconciliation reads", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		from := time.Now().UTC().Add(-time.Hour)
		ref := uniqueRef("RECON")
		so, p := f.order(t, ref, SaleLine{ProductID: f.plain[0], Quantity: 4, PriceUnit: 10})
		if _, err := f.c.AddChargeLines(ctx, so.ID, []ChargeLine{{ServiceCode: f.svcCode, Quantity: 1, PriceUnit: 99.5, Description: "Freight", Ref: ref + "/0"}}); err != nil {
			t.Fatalf("AddChargeLines: %v", err)
		}
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 3}}, BackorderCancel); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		inv, err := f.c.InvoiceDelivered(ctx, so.ID, ref, false)
		if err != nil || inv.State != "draft" {
			t.Fatalf("InvoiceDelivered: got %+v, %v; want a draft", inv, err)
		}
		to := time.Now().UTC().Add(time.Hour)

		f.c.ResetCalls()
		invs, err := f.c.InvoicesWithLines(ctx, &InvoiceQuery{Refs: []string{ref, uniqueRef("NONE")}})
		if err != nil || len(invs) != 1 || invs[0].ID != inv.ID {
			t.Fatalf("InvoicesWithLines: got %+v, %v; want invoice %d", invs, err, inv.ID)
		}
		if n := total(f.c.Calls()); n != 2 {
			t.Errorf("InvoicesWithLines made %d calls, want 2: %v", n, f.c.Calls())
		}
		var goods, svc *InvoiceLine
		for i, l := range invs[0].Lines {
			switch l.Product.ID {
			case f.plain[0]:
				goods = &invs[0].Lines[i]
			default:
				svc = &invs[0].Lines[i]
			}
		}
		if goods == nil || !qtyEqual(goods.Quantity, 3) || !qtyEqual(goods.Subtotal, 30) {
			t.Errorf("goods line: got %+v, want 3 units for 30", goods)
		}
		if svc == nil || !qtyEqual(svc.Subtotal, 99.5) || !strings.Contains(svc.Name, "["+ref+"/0]") {
			t.Errorf("service line: got %+v, want 99.5 with the charge marker", svc)
		}
		byPrefix, err := f.c.InvoicesWithLines(ctx, &InvoiceQuery{RefPrefix: "WB-RECON-", CreatedFrom: from, CreatedTo: to})
		if err != nil || !slices.ContainsFunc(byPrefix, func(x InvoiceWithLines) bool { return x.ID == inv.ID }) {
			t.Errorf("InvoicesWithLines by prefix: got %d invoices, %v; want invoice %d among them", len(byPrefix), err, inv.ID)
		}
		if _, err := f.c.InvoicesWithLines(ctx, &InvoiceQuery{RefPrefix: "WB-"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("InvoicesWithLines by prefix without a window: got %v, want ErrInvalid", err)
		}

		f.c.ResetCalls()
		ps, err := f.c.ReconcilePickings(ctx, &PickingQuery{DoneFrom: from, DoneTo: to})
		if err != nil {
			t.Fatalf("ReconcilePickings: %v", err)
		}
		if n := total(f.c.Calls()); n != 3 {
			t.Errorf("ReconcilePickings made %d calls, want 3: %v", n, f.c.Calls())
		}
		idx := slices.IndexFunc(ps, func(x Picking) bool { return x.ID == p.ID })
		if idx < 0 {
			t.Fatalf("picking %d not among the %d done today", p.ID, len(ps))
		}
		done := 0.0
		for _, m := range ps[idx].Moves {
			for _, l := range m.Lines {
				done += l.Done
			}
		}
		if ps[idx].State != PickingDone || !qtyEqual(done, 3) {
			t.Errorf("got picking %s state %s with %v done on its lines, want done with 3", ps[idx].Name, ps[idx].State, done)
		}
		other, _ := f.order(t, uniqueRef("RECON-OPEN"), SaleLine{ProductID: f.plain[1], Quantity: 1})
		named, err := f.c.ReconcilePickings(ctx, &PickingQuery{IDs: []int{other.PickingIDs[0]}, Names: []string{p.Name}})
		if err != nil || len(named) != 2 {
			t.Errorf("ReconcilePickings by id and name: got %d pickings, %v; want 2", len(named), err)
		}
		// By sale order: the order has a customer reference, which 17
		// and 18 put in the picking's origin.
		byOrder, err := f.c.ReconcilePickings(ctx, &PickingQuery{Orders: []string{so.Name}})
		if err != nil || len(byOrder) != 1 || byOrder[0].ID != p.ID || byOrder[0].Sale == nil || byOrder[0].Sale.Name != so.Name {
			t.Errorf("ReconcilePickings by order %s: got %+v, %v; want picking %d", so.Name, byOrder, err, p.ID)
		}
		f.cancelPicking(t, other.PickingIDs[0])

		codes, err := f.c.ProductCodes(ctx, []int{f.service, f.service})
		if err != nil || codes[f.service] != f.svcCode {
			t.Errorf("ProductCodes: got %v, %v; want %d: %s", codes, err, f.service, f.svcCode)
		}

		f.c.ResetCalls()
		drafts, posted, err := f.c.InvoicesToPost(ctx, []string{ref}, nil)
		if err != nil || !slices.Equal(drafts, []int{inv.ID}) || len(posted) != 0 {
			t.Fatalf("InvoicesToPost: got drafts %v, posted %v, %v; want the draft %d", drafts, posted, err, inv.ID)
		}
		if err := f.c.PostInvoices(ctx, drafts); err != nil {
			t.Fatalf("PostInvoices: %v", err)
		}
		if n := total(f.c.Calls()); n != 2 {
			t.Errorf("finding and posting made %d calls, want 2: %v", n, f.c.Calls())
		}
		// Posting again is refused as a user error; looking again finds
		// the invoice posted and no draft.
		if err := f.c.PostInvoices(ctx, drafts); !errors.Is(err, ErrUser) {
			t.Errorf("PostInvoices of a posted invoice: got %v, want ErrUser", err)
		}
		drafts, posted, err = f.c.InvoicesToPost(ctx, []string{ref}, []int{inv.ID})
		if err != nil || len(drafts) != 0 || !slices.Equal(posted, []int{inv.ID}) {
			t.Errorf("InvoicesToPost after posting: got drafts %v, posted %v, %v; want %d posted", drafts, posted, err, inv.ID)
		}
		if _, posted, err = f.c.InvoicesToPost(ctx, nil, []int{inv.ID}); err != nil || !slices.Equal(posted, []int{inv.ID}) {
			t.Errorf("InvoicesToPost of known ids only: got posted %v, %v; want %d", posted, err, inv.ID)
		}
		if got, err := f.c.FindInvoice(ctx, ref); err != nil || got.State != "posted" {
			t.Errorf("invoice after posting: got %+v, %v; want posted", got, err)
		}
	})

	t.Run("vendor bill", func(t *testing.T) {
		// A carrier's freight invoice becomes one vendor bill of its
		// partner, found by its ref before it is created, then posted.
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		scac := uniqueRef("SCAC")
		vendors, err := f.c.Create(ctx, "res.partner", []map[string]any{{"name": "Waybill carrier " + scac, "ref": scac, "is_company": true, "supplier_rank": 1}}, nil)
		if err != nil {
			t.Fatalf("creating the carrier's partner: %v", err)
		}
		vendor := vendors[0]
		ref := uniqueRef("PRO")
		if _, err := f.c.FindVendorBill(ctx, vendor, ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("FindVendorBill before: got %v, want ErrNotFound", err)
		}
		p := &VendorBillParams{PartnerID: vendor, Ref: ref, Date: "2026-12-03", Lines: []VendorBillLine{
			{ServiceCode: f.svcCode, Description: "Linehaul " + ref, Quantity: 1, PriceUnit: 1120},
			{ProductID: f.service, Description: "Fuel " + ref, Quantity: 1, PriceUnit: 134.4},
		}}
		f.c.ResetCalls()
		bill, err := f.c.EnsureVendorBill(ctx, p)
		if err != nil {
			t.Fatalf("EnsureVendorBill: %v", err)
		}
		if n := total(f.c.Calls()); n != 5 {
			t.Errorf("made %d calls, want 5 (search, products, create, read, lines): %v", n, f.c.Calls())
		}
		if !bill.Created || bill.State != "draft" || bill.Ref != ref || bill.Partner.ID != vendor || bill.InvoiceDate != "2026-12-03" ||
			len(bill.Lines) != 2 || bill.Lines[0].PriceUnit != 1120 || bill.Lines[1].PriceUnit != 134.4 || bill.AmountTotal < 1254.39 {
			t.Errorf("got %+v, want a new draft bill of 1254.40 with two lines and ref %s", bill, ref)
		}
		p.Post = true
		posted, err := f.c.EnsureVendorBill(ctx, p)
		if err != nil || posted.ID != bill.ID || posted.Created || posted.State != "posted" || posted.Name == "" || posted.Name == "/" {
			t.Errorf("EnsureVendorBill again, posting: got %+v, %v; want bill %d posted", posted, err, bill.ID)
		}
		again, err := f.c.EnsureVendorBill(ctx, p)
		if err != nil || again.ID != bill.ID || again.Created || again.State != "posted" {
			t.Errorf("EnsureVendorBill a third time: got %+v, %v; want bill %d as it is", again, err, bill.ID)
		}
		found, err := f.c.FindVendorBill(ctx, vendor, ref)
		if err != nil || found.ID != bill.ID || found.Name != posted.Name {
			t.Errorf("FindVendorBill: got %+v, %v; want bill %d", found, err, bill.ID)
		}
		ids, err := f.c.Search(ctx, "account.move", Domain{Leaf("move_type", "=", "in_invoice"), Leaf("ref", "=", ref)}, nil)
		if err != nil || len(ids) != 1 {
			t.Errorf("vendor bills with ref %s: got %v, %v; want one", ref, ids, err)
		}
		// A bill of a currency Odoo does not have, a product code it does
		// not know, a draft bill without a date: refused for good.
		_, err = f.c.CreateVendorBill(ctx, &VendorBillParams{PartnerID: vendor, Ref: uniqueRef("PRO"), Currency: "XTS",
			Lines: []VendorBillLine{{ProductID: f.service, Quantity: 1, PriceUnit: 1}}})
		checkClassAndIs(t, err, true, ErrMissing)
		_, err = f.c.CreateVendorBill(ctx, &VendorBillParams{PartnerID: vendor, Ref: uniqueRef("PRO"),
			Lines: []VendorBillLine{{ServiceCode: uniqueRef("NOCODE"), Quantity: 1, PriceUnit: 1}}})
		checkClassAndIs(t, err, true, ErrMissing)
		undated, err := f.c.Create(ctx, "account.move", []map[string]any{{"move_type": "in_invoice", "partner_id": vendor, "ref": uniqueRef("PRO"),
			"invoice_line_ids": []any{[]any{0, 0, map[string]any{"product_id": f.service, "quantity": 1.0, "price_unit": 1.0}}}}}, nil)
		if err != nil {
			t.Fatalf("creating an undated bill: %v", err)
		}
		_, err = f.c.Execute(ctx, "account.move", "action_post", undated, nil)
		checkClassAndIs(t, err, true, ErrUser)
		if _, err := f.c.VendorBill(ctx, 99999999); !errors.Is(err, ErrMissing) {
			t.Errorf("VendorBill of nothing: got %v, want ErrMissing", err)
		}
	})

	t.Run("inventory reads", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		from := time.Now().UTC().Add(-time.Hour)
		_, done := f.order(t, uniqueRef("INV-DONE"), SaleLine{ProductID: f.plain[0], Quantity: 3}, SaleLine{ProductID: f.plain[1], Quantity: 2})
		if _, err := f.c.ValidatePicking(ctx, done.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 3}, {ProductID: f.plain[1], Quantity: 2}}, BackorderCancel); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		openSO, open := f.order(t, uniqueRef("INV-OPEN"), SaleLine{ProductID: f.plain[2], Quantity: 4})
		defer f.cancelPicking(t, open.ID)
		// By order: on 18+ the picking's origin is the order's name and
		// its customer reference, so the order is matched by sale_id.
		byOrder, err := f.c.ReconcilePickings(ctx, &PickingQuery{Orders: []string{openSO.Name}})
		if err != nil || len(byOrder) != 1 || byOrder[0].ID != open.ID || byOrder[0].Sale == nil || byOrder[0].Sale.Name != openSO.Name {
			t.Errorf("ReconcilePickings by order %s: got %+v, %v; want picking %d", openSO.Name, byOrder, err, open.ID)
		}

		f.c.ResetCalls()
		ps, err := f.c.ReconcilePickings(ctx, &PickingQuery{Open: true})
		if err != nil {
			t.Fatalf("ReconcilePickings open: %v", err)
		}
		if n := total(f.c.Calls()); n != 3 {
			t.Errorf("ReconcilePickings open made %d calls, want 3: %v", n, f.c.Calls())
		}
		i := slices.IndexFunc(ps, func(p Picking) bool { return p.ID == open.ID })
		if i < 0 || slices.ContainsFunc(ps, func(p Picking) bool { return p.ID == done.ID || p.State == PickingDone || p.State == PickingCancel }) {
			t.Fatalf("open pickings: got %d, want %d among them and none done or cancelled", len(ps), open.ID)
		}
		if m := ps[i].Moves; len(m) != 1 || !qtyEqual(m[0].Demand, 4) || !qtyEqual(m[0].Reserved, 4) {
			t.Errorf("open picking %s moves: got %+v, want 4 demanded and reserved", ps[i].Name, m)
		}

		ret, err := f.c.ReturnPicking(ctx, done.ID, []ReturnLine{{ProductID: f.plain[0], Quantity: 1}})
		if err != nil {
			t.Fatalf("ReturnPicking: %v", err)
		}
		defer func() {
			if _, err := f.c.ValidatePicking(ctx, ret.PickingID, []ShipLine{{ProductID: f.plain[0], Quantity: 1}}, BackorderCancel); err != nil {
				t.Errorf("receiving the return: %v", err)
			}
		}()
		for _, q := range []*ReturnQuery{{Of: []int{done.ID}}, {CreatedFrom: from}, {Of: []int{open.ID}, CreatedFrom: from}} {
			f.c.ResetCalls()
			rs, err := f.c.Returns(ctx, q)
			if err != nil {
				t.Fatalf("Returns %+v: %v", q, err)
			}
			if n := total(f.c.Calls()); n != 2 {
				t.Errorf("Returns %+v made %d calls, want 2: %v", q, n, f.c.Calls())
			}
			j := slices.IndexFunc(rs, func(r ReturnMove) bool { return r.Picking.ID == ret.PickingID })
			if j < 0 {
				t.Fatalf("Returns %+v: got %+v, want a move of return %d", q, rs, ret.PickingID)
			}
			if r := rs[j]; r.Returned.ID != done.ID || r.Product.ID != f.plain[0] || !qtyEqual(r.Quantity, 1) || r.CreatedAt.Before(from) {
				t.Errorf("Returns %+v: got %+v, want 1 of product %d back from picking %d", q, r, f.plain[0], done.ID)
			}
		}
		if rs, err := f.c.Returns(ctx, &ReturnQuery{Of: []int{open.ID}}); err != nil || len(rs) != 0 {
			t.Errorf("Returns of an open picking: got %+v, %v; want none", rs, err)
		}

		origin := uniqueRef("INV-SCRAP")
		sc, err := f.c.Scrap(ctx, &ScrapParams{ProductID: f.plain[1], Quantity: 2, Origin: origin})
		if err != nil {
			t.Fatalf("Scrap: %v", err)
		}
		for _, q := range []*ScrapQuery{{Origins: []string{origin}}, {CreatedFrom: from}, {Origins: []string{uniqueRef("NONE")}, CreatedFrom: from}} {
			f.c.ResetCalls()
			scs, err := f.c.Scraps(ctx, q)
			if err != nil {
				t.Fatalf("Scraps %+v: %v", q, err)
			}
			if n := total(f.c.Calls()); n != 1 {
				t.Errorf("Scraps %+v made %d calls, want 1: %v", q, n, f.c.Calls())
			}
			j := slices.IndexFunc(scs, func(s Scrap) bool { return s.ID == sc.ID })
			if j < 0 {
				t.Fatalf("Scraps %+v: got %+v, want scrap %d", q, scs, sc.ID)
			}
			if s := scs[j]; s.State != "done" || s.Origin != origin || s.Product.ID != f.plain[1] || !qtyEqual(s.Quantity, 2) || s.Name != sc.Name {
				t.Errorf("Scraps %+v: got %+v, want 2 of product %d done with origin %s", q, s, f.plain[1], origin)
			}
		}
		if scs, err := f.c.Scraps(ctx, &ScrapQuery{Origins: []string{uniqueRef("NONE")}}); err != nil || len(scs) != 0 {
			t.Errorf("Scraps of an unknown origin: got %+v, %v; want none", scs, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, err := f.c.SearchRead(ctx, "sale.order", Domain{Leaf("no_such_field", "=", 1)}, nil)
		checkClassAndIs(t, err, true, ErrInvalid)
		_, err = f.c.Read(ctx, "sale.order", []int{1}, []string{"no_such_field"})
		checkClassAndIs(t, err, true, ErrInvalid)
		err = f.c.Write(ctx, "sale.order", []int{99999999}, map[string]any{"client_order_ref": "x"})
		checkClassAndIs(t, err, true, ErrMissing)
		_, err = f.c.Execute(ctx, "sale.order", "no_such_method", []int{1}, nil)
		checkClassAndIs(t, err, true, ErrInvalid)
		_, err = f.c.SaleOrder(ctx, 99999999)
		checkClassAndIs(t, err, true, ErrMissing)
		_, err = f.c.Create(ctx, "sale.order", []map[string]any{{"client_order_ref": "no partner"}}, nil)
		checkClassAndIs(t, err, true, ErrValidation)
	})
}

func countInvoices(t *testing.T, f *fixture, so SaleOrder, want int) {
	t.Helper()
	ids, err := f.c.Search(t.Context(), "account.move", Domain{Leaf("invoice_origin", "=", so.Name), Leaf("move_type", "=", "out_invoice")}, nil)
	if err != nil {
		t.Fatalf("counting invoices of %s: %v", so.Name, err)
	}
	if len(ids) != want {
		t.Errorf("got %d invoices for %s (%v), want %d", len(ids), so.Name, ids, want)
	}
}

func checkClassAndIs(t *testing.T, err error, permanent bool, target error) {
	t.Helper()
	if err == nil {
		t.Errorf("got nil error, want %v", target)
		return
	}
	if p, _ := connector.Classify(err); p != permanent {
		t.Errorf("got permanent %t, want %t: %v", p, permanent, err)
	}
	if !errors.Is(err, target) {
		t.Errorf("got %v, want it to match %v", err, target)
	}
}
