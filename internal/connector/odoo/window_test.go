package odoo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/shipment"
)

// windowWorld is a deliverWorld whose connector notes milestones a window
// after their sync is first tried, on a clock the test moves, and reads
// the shipment as stored from stored.
type windowWorld struct {
	*deliverWorld
	mu     sync.Mutex
	stored *shipment.Shipment
	clock  time.Time
}

func newWindowWorld(t *testing.T, version int, window time.Duration) *windowWorld {
	t.Helper()
	ww := &windowWorld{clock: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	ww.deliverWorld = newDeliverWorld(t, version, func(o *ConnectorOptions) {
		o.MilestoneSyncWindow = window
		o.Shipment = ww.lookup
	})
	ww.conn.windows.now = ww.now
	return ww
}

func (ww *windowWorld) lookup(_ context.Context, id string) (*shipment.Shipment, error) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	if ww.stored == nil || ww.stored.ID != id {
		return nil, errors.New("no such shipment")
	}
	cp := *ww.stored
	return &cp, nil
}

func (ww *windowWorld) now() time.Time {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	return ww.clock
}

func (ww *windowWorld) advance(d time.Duration) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	ww.clock = ww.clock.Add(d)
}

// store records sh as the shipment's latest state.
func (ww *windowWorld) store(sh *shipment.Shipment) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	ww.stored = sh
}

// milestone returns a copy of sh with milestone typ of event id added, one
// version later, and the sync action that event causes.
func (ww *windowWorld) milestone(t *testing.T, sh *shipment.Shipment, typ, id string) (*shipment.Shipment, *connector.Action) {
	t.Helper()
	next := *sh
	next.Version++
	next.Milestones = append(slices.Clone(sh.Milestones), shipment.Milestone{Type: typ, At: ww.clock.Add(-time.Hour), EventID: id})
	a := action(t, shipment.ActionMilestoneSync, &next)
	a.EventID, a.IdempotencyKey = id, id+"/"+shipment.ActionMilestoneSync
	return &next, a
}

// chatterKeys counts the notes of the world's picking that carry each key.
func (ww *windowWorld) chatterKeys(t *testing.T, keys ...string) map[string]int {
	t.Helper()
	notes, err := ww.cl.SearchRead(t.Context(), "mail.message", Domain{Leaf("model", "=", "stock.picking"), Leaf("res_id", "=", ww.pick.ID),
		Leaf("body", "ilike", NoteMarker)}, &SearchOptions{Fields: []string{"body"}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range notes {
		for _, k := range keys {
			count[k] += strings.Count(n.String("body"), NoteMarker+k+"]")
		}
	}
	return count
}

// TestMilestoneSyncWindow checks that milestone syncs wait for their
// window without calling Odoo, that the first one due notes every
// milestone of the shipment as stored in one message_post, that the others
// then make no call, and that neither a lost reply nor a restart between
// makes a note twice.
func TestMilestoneSyncWindow(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 17, 18, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			ww := newWindowWorld(t, v, time.Minute)
			ctx := t.Context()
			sim := ww.srv.Sim()
			base := &shipment.Shipment{ID: "sh-win", State: shipment.InTransit, Order: "odoo:" + ww.so.Name, Version: 5}
			ww.xrefs[base.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: ww.pick.Name}}
			deliver := func(a *connector.Action) (error, map[string]int) {
				t.Helper()
				sim.ResetCalls()
				err := ww.conn.Deliver(ctx, a)
				return err, sim.Calls()
			}

			// A carrier reports departure, a delay and arrival together:
			// each sync waits its window and calls nothing.
			departed, aDep := ww.milestone(t, base, "shipment.departed", "ev-dep")
			delayed, aDel := ww.milestone(t, departed, "shipment.delayed", "ev-delay")
			arrived, aArr := ww.milestone(t, delayed, "shipment.arrived", "ev-arr")
			for _, step := range []struct {
				sh *shipment.Shipment
				a  *connector.Action
			}{{departed, aDep}, {delayed, aDel}, {arrived, aArr}} {
				ww.store(step.sh)
				err, calls := deliver(step.a)
				if waiting, after := connector.IsWaiting(err); !waiting || after != time.Minute || len(calls) != 0 {
					t.Fatalf("%s inside its window: got %v (waiting %v, after %s), calls %v; want a wait of 1m and no call",
						step.a.EventID, err, waiting, after, calls)
				}
			}
			ww.advance(30 * time.Second)
			if waiting, after := connector.IsWaiting(ww.conn.Deliver(ctx, aDep)); !waiting || after != 30*time.Second {
				t.Errorf("departure tried again half-way: waiting %v, after %s; want the 30s left", waiting, after)
			}

			// The first due notes all three, from the stored shipment,
			// though its own snapshot holds only the departure.
			ww.advance(30 * time.Second)
			if err, calls := deliver(aDep); err != nil || calls["stock.picking.message_post"] != 1 {
				t.Fatalf("departure at the window's end: %v, calls %v; want one message_post", err, calls)
			}
			for _, a := range []*connector.Action{aDel, aArr} {
				if err, calls := deliver(a); err != nil || len(calls) != 0 {
					t.Errorf("%s after the departure's note: %v, calls %v; want no call", a.EventID, err, calls)
				}
			}
			if got := ww.chatterKeys(t, "ev-dep", "ev-delay", "ev-arr"); got["ev-dep"] != 1 || got["ev-delay"] != 1 || got["ev-arr"] != 1 {
				t.Errorf("notes %v, want each milestone once", got)
			}

			// Delivery: the note's reply is lost, the retry finds it.
			delivered, aDlv := ww.milestone(t, arrived, "shipment.delivered", "ev-dlv")
			ww.store(delivered)
			if waiting, _ := connector.IsWaiting(ww.conn.Deliver(ctx, aDlv)); !waiting {
				t.Fatal("delivery inside its window: not waiting")
			}
			ww.advance(time.Minute)
			sim.Faults().Inject("stock.picking", "message_post", 1, odoosim.FaultDropAfterCommit)
			if err := ww.conn.Deliver(ctx, aDlv); err == nil {
				t.Fatal("a note whose reply is lost: got no error")
			}
			if err, calls := deliver(aDlv); err != nil || calls["stock.picking.message_post"] != 0 {
				t.Errorf("delivery after the lost reply: %v, calls %v; want no message_post", err, calls)
			}

			// A restart forgets every window and every note: the syncs run
			// again wait once more, then find their notes and post none.
			restarted, err := NewConnector(ww.conn.cfg, ww.conn.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = restarted.Close() })
			restarted.windows.now = ww.now
			for _, a := range []*connector.Action{aArr, aDlv} {
				if waiting, _ := connector.IsWaiting(restarted.Deliver(ctx, a)); !waiting {
					t.Errorf("%s after a restart: not waiting", a.EventID)
				}
			}
			ww.advance(time.Minute)
			for _, a := range []*connector.Action{aArr, aDlv} {
				sim.ResetCalls()
				if err := restarted.Deliver(ctx, a); err != nil || sim.Calls()["stock.picking.message_post"] != 0 {
					t.Errorf("%s after a restart: %v, calls %v; want no message_post", a.EventID, err, sim.Calls())
				}
			}
			if got := ww.chatterKeys(t, "ev-dep", "ev-delay", "ev-arr", "ev-dlv"); got["ev-dep"] != 1 || got["ev-delay"] != 1 || got["ev-arr"] != 1 || got["ev-dlv"] != 1 {
				t.Errorf("notes %v, want each milestone once", got)
			}
		})
	}
}

// TestMilestoneSyncWindowExceptions checks what does not wait: a shipment
// with an open exception, whose note goes at once with the milestones
// waiting in their window; a sync the workflow scheduled at an interval;
// and every sync when the window is 0, as before there was one.
func TestMilestoneSyncWindowExceptions(t *testing.T) {
	t.Parallel()
	t.Run("open exception", func(t *testing.T) {
		t.Parallel()
		ww := newWindowWorld(t, 18, time.Hour)
		ctx := t.Context()
		base := &shipment.Shipment{ID: "sh-exc", State: shipment.InTransit, Order: "odoo:" + ww.so.Name, Version: 2}
		ww.xrefs[base.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: ww.pick.Name}}
		departed, aDep := ww.milestone(t, base, "shipment.departed", "ev-dep")
		ww.store(departed)
		if waiting, _ := connector.IsWaiting(ww.conn.Deliver(ctx, aDep)); !waiting {
			t.Fatal("departure inside its window: not waiting")
		}
		damaged := *departed
		damaged.Version++
		damaged.State = shipment.Exception
		damaged.Exceptions = []shipment.ExceptionRecord{{ID: "EXC-1", Category: "damaged", Status: shipment.ExceptionOpen, OwnerRole: "claims", EventID: "ev-exc"}}
		ww.store(&damaged)
		aExc := action(t, shipment.ActionMilestoneSync, &damaged)
		aExc.EventID, aExc.IdempotencyKey = "ev-exc", "ev-exc/"+shipment.ActionMilestoneSync
		ww.srv.Sim().ResetCalls()
		if err := ww.conn.Deliver(ctx, aExc); err != nil || ww.srv.Sim().Calls()["stock.picking.message_post"] != 1 {
			t.Fatalf("exception: %v, calls %v; want one message_post at once", err, ww.srv.Sim().Calls())
		}
		if got := ww.chatterKeys(t, "ev-dep", "ev-exc"); got["ev-dep"] != 1 || got["ev-exc"] != 1 {
			t.Errorf("notes %v, want the exception and the departure waiting, once each", got)
		}
	})
	t.Run("interval", func(t *testing.T) {
		t.Parallel()
		ww := newWindowWorld(t, 18, time.Hour)
		base := &shipment.Shipment{ID: "sh-int", State: shipment.InTransit, Order: "odoo:" + ww.so.Name}
		ww.xrefs[base.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: ww.pick.Name}}
		departed, a := ww.milestone(t, base, "shipment.departed", "ev-dep")
		ww.store(departed)
		a.NotBefore = ww.now()
		if err := ww.conn.Deliver(t.Context(), a); err != nil {
			t.Fatalf("a sync scheduled at its interval: %v, want it noted at once", err)
		}
		if got := ww.chatterKeys(t, "ev-dep"); got["ev-dep"] != 1 {
			t.Errorf("notes %v, want the departure", got)
		}
	})
	t.Run("no window", func(t *testing.T) {
		t.Parallel()
		ww := newWindowWorld(t, 18, 0)
		base := &shipment.Shipment{ID: "sh-now", State: shipment.InTransit, Order: "odoo:" + ww.so.Name}
		ww.xrefs[base.ID] = []shipment.Xref{{System: "odoo", Kind: shipment.KindShipment, ExternalID: ww.pick.Name}}
		departed, aDep := ww.milestone(t, base, "shipment.departed", "ev-dep")
		arrived, aArr := ww.milestone(t, departed, "shipment.arrived", "ev-arr")
		for _, step := range []struct {
			sh *shipment.Shipment
			a  *connector.Action
		}{{departed, aDep}, {arrived, aArr}} {
			ww.store(step.sh)
			ww.srv.Sim().ResetCalls()
			if err := ww.conn.Deliver(t.Context(), step.a); err != nil || ww.srv.Sim().Calls()["stock.picking.message_post"] != 1 {
				t.Errorf("%s: %v, calls %v; want one message_post at once", step.a.EventID, err, ww.srv.Sim().Calls())
			}
		}
		if got := ww.chatterKeys(t, "ev-dep", "ev-arr"); got["ev-dep"] != 1 || got["ev-arr"] != 1 {
			t.Errorf("notes %v, want each milestone once", got)
		}
	})
}
