package odoo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/shipment"
)

func scrapsOf(t *testing.T, c *Client, origin string) []Record {
	t.Helper()
	recs, err := c.SearchRead(t.Context(), "stock.scrap", Domain{Leaf("origin", "=", origin)},
		&SearchOptions{Fields: []string{"state", "lot_id", "location_id", "scrap_qty"}, Order: "id"})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestScrapIsPerLotAndLeavesOneDraft(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 17, 18, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, v, nil)
			ctx := t.Context()
			demo := w.srv.Sim().Demo()
			resin, paint, stock := demo.Products["LOT-RESIN"], demo.Products["LOT-PAINT"], demo.StockLocationID

			// one origin, one product, two lots: two scraps
			for _, lot := range []string{"RESIN-0001", "RESIN-0002"} {
				sc, err := w.cl.Scrap(ctx, &ScrapParams{ProductID: resin, Quantity: 1, Lot: lot, Origin: "WB-LOTS"})
				if err != nil || sc.State != "done" || sc.Existing {
					t.Errorf("scrap of lot %s: got %+v, %v; want a new done scrap", lot, sc, err)
				}
			}
			if got := scrapsOf(t, w.cl, "WB-LOTS"); len(got) != 2 || got[0].M2O("lot_id").Name == got[1].M2O("lot_id").Name {
				t.Errorf("scraps of two lots: got %v, want one per lot", got)
			}

			// not enough of the lot: refused, never forced, one draft however often
			before := onHand(t, w.cl, paint, stock, "PAINT-0001") // 10
			for i := range 3 {
				_, err := w.cl.Scrap(ctx, &ScrapParams{ProductID: paint, Quantity: before + 1, Lot: "PAINT-0001", Origin: "WB-SHORT"})
				var ise *InsufficientStockError
				if !errors.As(err, &ise) || !errors.Is(err, ErrConflict) {
					t.Fatalf("attempt %d: got %v, want an InsufficientStockError", i, err)
				}
				if perm, _ := connector.Classify(err); !perm {
					t.Errorf("attempt %d: got a retryable error, want permanent: %v", i, err)
				}
				if ise.Available != before || ise.Lot != "PAINT-0001" || !strings.Contains(ise.Location, "Stock") {
					t.Errorf("attempt %d: got %+v, want %v of PAINT-0001 on hand at WH/Stock", i, ise, before)
				}
			}
			if got := scrapsOf(t, w.cl, "WB-SHORT"); len(got) != 1 || got[0].String("state") != "draft" {
				t.Errorf("after three refused attempts: got scraps %v, want one draft", got)
			}
			if got := onHand(t, w.cl, paint, stock, "PAINT-0001"); got != before {
				t.Errorf("lot on hand after refused scraps: got %v, want %v", got, before)
			}

			// drafts piled up by earlier attempts: one is used, the others go
			for range 2 {
				if _, err := w.cl.Create(ctx, "stock.scrap", []map[string]any{{"product_id": paint, "scrap_qty": 3, "origin": "WB-SHORT",
					"lot_id": lotID(t, w.cl, paint, "PAINT-0001")}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			adjustStock(t, w.cl, paint, stock, "PAINT-0001", before+1)
			sc, err := w.cl.Scrap(ctx, &ScrapParams{ProductID: paint, Quantity: before + 1, Lot: "PAINT-0001", Origin: "WB-SHORT"})
			if err != nil || sc.State != "done" || !sc.Existing {
				t.Fatalf("scrap once the stock is there: got %+v, %v; want the draft, done", sc, err)
			}
			if got := scrapsOf(t, w.cl, "WB-SHORT"); len(got) != 1 || got[0].ID() != sc.ID {
				t.Errorf("scraps after the stock came: got %v, want only scrap %d", got, sc.ID)
			}
			if got := onHand(t, w.cl, paint, stock, "PAINT-0001"); got != 0 {
				t.Errorf("lot on hand after the scrap: got %v, want 0", got)
			}
		})
	}
}

func lotID(t *testing.T, c *Client, product int, name string) int {
	t.Helper()
	ids, err := c.Search(t.Context(), "stock.lot", Domain{Leaf("name", "=", name), Leaf("product_id", "=", product)}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("lot %s: %v %v", name, ids, err)
	}
	return ids[0]
}

// damaged is sh with an approved damage of one LOT-RESIN unit.
func damaged(t *testing.T, sh *shipment.Shipment) *shipment.Shipment {
	sh.Exceptions = append(sh.Exceptions, shipment.ExceptionRecord{ID: "EXC-1", Category: shipment.Damaged, Status: shipment.ExceptionResolved,
		OwnerRole: "warehouse", Resolution: shipment.ResolutionApproved, EventID: "ev-exc-1",
		Lines: []shipment.LineQty{{LineID: "2", Quantity: *qty(t, "1")}}})
	return sh
}

// receiveReturnAt has the warehouse take back one LOT-RESIN unit of the
// world's validated picking by hand, into loc.
func (w *deliverWorld) receiveReturnAt(t *testing.T, loc int) {
	t.Helper()
	ctx := t.Context()
	resin := w.srv.Sim().Demo().Products["LOT-RESIN"]
	ret, err := w.cl.ReturnPicking(ctx, w.pick.ID, []ReturnLine{{ProductID: resin, Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cl.Write(ctx, "stock.picking", []int{ret.PickingID}, map[string]any{"location_dest_id": loc}); err != nil {
		t.Fatal(err)
	}
	moves, err := w.cl.Search(ctx, "stock.move", Domain{Leaf("picking_id", "=", ret.PickingID)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cl.Write(ctx, "stock.move", moves, map[string]any{"location_dest_id": loc}); err != nil {
		t.Fatal(err)
	}
	mls, err := w.cl.Search(ctx, "stock.move.line", Domain{Leaf("picking_id", "=", ret.PickingID)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cl.Write(ctx, "stock.move.line", mls, map[string]any{"location_dest_id": loc}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cl.ValidatePicking(ctx, ret.PickingID, []ShipLine{{ProductID: resin, Quantity: 1, Lot: w.lot}}, BackorderCancel); err != nil {
		t.Fatal(err)
	}
}

func TestTakeBackScrapsWhereTheReturnPutTheGoods(t *testing.T) {
	t.Parallel()
	for _, v := range []int{17, 18} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			w := newDeliverWorld(t, v, nil)
			ctx := t.Context()
			demo := w.srv.Sim().Demo()
			resin, stock := demo.Products["LOT-RESIN"], demo.StockLocationID
			sh := w.loaded(t, "sh-ret", "4", "2")
			if err := w.conn.Deliver(ctx, action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatal(err)
			}
			ids, err := w.cl.Create(ctx, "stock.location", []map[string]any{{"name": "Returns", "usage": "internal", "location_id": stock}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			returns := ids[0]
			w.receiveReturnAt(t, returns)
			adjustStock(t, w.cl, resin, stock, w.lot, 0) // none of the lot left on the shelves
			if err := w.conn.Deliver(ctx, action(t, shipment.ActionStockScrap, damaged(t, sh))); err != nil {
				t.Fatalf("scrapping the damaged unit: %v", err)
			}
			got := scrapsOf(t, w.cl, "WB-sh-ret/EXC-1")
			if len(got) != 1 || got[0].String("state") != "done" || got[0].M2O("location_id").ID != returns {
				t.Errorf("got scraps %v, want one done from the returns location %d", got, returns)
			}
			if q := onHand(t, w.cl, resin, returns, w.lot); q != 0 {
				t.Errorf("lot at the returns location: got %v, want 0", q)
			}
		})
	}
}

func TestTakeBackReportsWhatItCannotScrap(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var reports []string
			w := newDeliverWorld(t, v, func(o *ConnectorOptions) {
				o.OnTakeBackFailed = func(_ context.Context, a *connector.Action, exc, reason string) error {
					mu.Lock()
					defer mu.Unlock()
					reports = append(reports, a.ShipmentID+"|"+exc+"|"+reason)
					return nil
				}
			})
			ctx := t.Context()
			demo := w.srv.Sim().Demo()
			resin, stock := demo.Products["LOT-RESIN"], demo.StockLocationID
			sh := w.loaded(t, "sh-gone", "4", "2")
			if err := w.conn.Deliver(ctx, action(t, shipment.ActionPickingValidate, sh)); err != nil {
				t.Fatal(err)
			}
			w.receiveReturnAt(t, stock)
			adjustStock(t, w.cl, resin, stock, w.lot, 0) // the returned unit went elsewhere
			a := action(t, shipment.ActionStockScrap, damaged(t, sh))
			for i := range 3 {
				if err := w.conn.Deliver(ctx, a); err != nil {
					t.Fatalf("attempt %d: got %v, want the failure reported and the job done", i, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reports) != 3 || !strings.HasPrefix(reports[0], "sh-gone|EXC-1|") || !strings.Contains(reports[0], "not enough stock") ||
				!strings.Contains(reports[0], w.lot) {
				t.Errorf("got reports %q, want one per attempt naming the exception, the lot and the missing stock", reports)
			}
			if got := scrapsOf(t, w.cl, "WB-sh-gone/EXC-1"); len(got) != 1 || got[0].String("state") != "draft" {
				t.Errorf("got scraps %v, want one draft", got)
			}
			if q := onHand(t, w.cl, resin, stock, w.lot); q != 0 {
				t.Errorf("lot on hand: got %v, want 0 (never forced negative)", q)
			}

			// without someone to tell, the job fails for good
			w2 := newDeliverWorld(t, v, nil)
			sh2 := w2.loaded(t, "sh-gone2", "4", "2")
			if err := w2.conn.Deliver(ctx, action(t, shipment.ActionPickingValidate, sh2)); err != nil {
				t.Fatal(err)
			}
			w2.receiveReturnAt(t, stock)
			adjustStock(t, w2.cl, resin, stock, w2.lot, 0)
			err := w2.conn.Deliver(ctx, action(t, shipment.ActionStockScrap, damaged(t, sh2)))
			var ise *InsufficientStockError
			if perm, _ := connector.Classify(err); !perm || !errors.As(err, &ise) {
				t.Errorf("got %v, want a permanent InsufficientStockError", err)
			}
		})
	}
}

// PostMessages remembers what it found and posted on a record, so later
// notes there cost one call, posts the new ones together as one note that
// keeps every key, and searches again after any failure, so a note whose
// reply was lost is not posted twice, not even a part of it.
func TestPostMessagesRemembersAndRechecks(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	ctx := t.Context()
	id := w.pick.ID
	post := func(bodies ...string) (int, map[string]int, error) {
		t.Helper()
		w.cl.ResetCalls()
		n, err := w.cl.PostMessages(ctx, "stock.picking", id, bodies, "[wb:")
		return n, w.cl.Calls(), err
	}
	a, b, c, d := "Waybill: departed [wb:ev-a]", "Waybill: arrived [wb:ev-b]", "Waybill: delivered [wb:ev-c]",
		"Waybill: exception x (damaged), owner warehouse: pallet [2] torn [wb:ev-d]"
	if n, calls, err := post(a); err != nil || n != 1 || calls["mail.message.search_read"] != 1 {
		t.Fatalf("first note: got %d posted, calls %v, %v; want 1 after one search", n, calls, err)
	}
	if n, calls, err := post(a, b); err != nil || n != 1 || calls["mail.message.search_read"] != 0 || calls["stock.picking.message_post"] != 1 {
		t.Errorf("second note: got %d posted, calls %v, %v; want 1 post and no search", n, calls, err)
	}
	w.srv.Sim().Faults().Inject("stock.picking", "message_post", 1, odoosim.FaultDropAfterCommit)
	if _, _, err := post(a, b, c, d); err == nil {
		t.Fatalf("a note whose reply is lost: got no error")
	}
	if n, calls, err := post(a, b, c, d); err != nil || n != 0 || calls["mail.message.search_read"] != 1 || calls["stock.picking.message_post"] != 0 {
		t.Errorf("after the lost reply: got %d posted, calls %v, %v; want none posted after a search", n, calls, err)
	}
	for _, key := range []string{"[wb:ev-a]", "[wb:ev-b]", "[wb:ev-c]", "[wb:ev-d]"} {
		ids, err := w.cl.Search(ctx, "mail.message", Domain{Leaf("model", "=", "stock.picking"), Leaf("res_id", "=", id), Leaf("body", "ilike", key)}, nil)
		if err != nil || len(ids) != 1 {
			t.Errorf("notes with %s: got %v, %v; want one", key, ids, err)
		}
	}
	// c and d went out as one note, found whole by either key.
	recs, err := w.cl.SearchRead(ctx, "mail.message", Domain{Leaf("model", "=", "stock.picking"), Leaf("res_id", "=", id), Leaf("body", "ilike", "[wb:ev-c]")},
		&SearchOptions{Fields: []string{"body"}})
	if err != nil || len(recs) != 1 || !strings.Contains(recs[0].String("body"), "[wb:ev-d]") {
		t.Errorf("the note of c: got %v, %v; want one that carries d too", recs, err)
	}
	// A bracket in a note's text is not its key: the marker's is.
	if n, _, err := post("Waybill: exception y (damaged), owner warehouse: pallet [2] torn [wb:ev-e]"); err != nil || n != 1 {
		t.Errorf("a note whose text repeats another's brackets: got %d posted, %v; want 1", n, err)
	}
}

// PrefetchNotes reads the notes of many records in one search, so
// PostMessages on them needs none and still finds what is there; records
// whose notes are known already are not searched again, and a prefetch
// that raced with a post keeps nothing.
func TestPrefetchNotes(t *testing.T) {
	t.Parallel()
	w := newDeliverWorld(t, 18, nil)
	ctx := t.Context()
	id := w.pick.ID
	// Another process noted this picking before.
	other, err := New(ctx, w.conn.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	if _, err := other.PostMessages(ctx, "stock.picking", id, []string{"Waybill: departed [wb:ev-a]"}, NoteMarker); err != nil {
		t.Fatal(err)
	}
	w.cl.ResetCalls()
	if err := w.cl.PrefetchNotes(ctx, "stock.picking", []int{id, id + 1000}, NoteMarker); err != nil {
		t.Fatal(err)
	}
	if err := w.cl.PrefetchNotes(ctx, "stock.picking", []int{id}, NoteMarker); err != nil {
		t.Fatal(err)
	}
	if calls := w.cl.Calls(); calls["mail.message.search_read"] != 1 {
		t.Errorf("two prefetches: calls %v, want one search", calls)
	}
	w.cl.ResetCalls()
	n, err := w.cl.PostMessages(ctx, "stock.picking", id, []string{"Waybill: departed [wb:ev-a]", "Waybill: arrived [wb:ev-b]"}, NoteMarker)
	if calls := w.cl.Calls(); err != nil || n != 1 || calls["mail.message.search_read"] != 0 || calls["stock.picking.message_post"] != 1 {
		t.Errorf("after the prefetch: got %d posted, calls %v, %v; want the new note alone and no search", n, calls, err)
	}

	// A prefetch whose search a post overtook keeps nothing.
	fresh, err := New(ctx, w.conn.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Close() })
	gen := fresh.notes.generation()
	if _, err := fresh.PostMessages(ctx, "stock.picking", id+100000, []string{"x [wb:ev-c]"}, NoteMarker); err == nil {
		t.Fatal("posting on a picking that does not exist: got no error")
	}
	fresh.notes.fill(gen, "stock.picking", NoteMarker, map[int][]string{id: nil})
	if _, ok := fresh.notes.get(noteKey{model: "stock.picking", id: id, marker: NoteMarker}); ok {
		t.Errorf("a prefetch that a post overtook was kept")
	}
}
