package odoosync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/odoosync"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// world is a simulated Odoo and a real intake on SQLite: what the poller
// emits is validated, deduplicated and stored as HTTP events are.
type world struct {
	sim    *odoosim.Server
	cl     *odoo.Client
	events *intake.Store
	poller *odoosync.Poller
}

func newWorld(t *testing.T, version int) *world {
	t.Helper()
	srv, err := odoosim.Start(odoosim.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sim := srv.Sim()
	cl, err := odoo.New(t.Context(), odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), RateLimit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })

	db := sqldbtest.SQLite(t)
	backlog := &intake.Backlog{}
	store := intake.NewStore(db, backlog)
	committer := intake.NewCommitter(store, &intake.CommitterOptions{MaxGroup: 1000})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- committer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	v, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	p, err := odoosync.New(odoosync.Options{
		Client:   func(context.Context) (*odoo.Client, error) { return cl, nil },
		Emitter:  intake.NewEmitter(committer, &intake.EmitterOptions{Validator: v, Backlog: backlog, MaxBacklog: 100000}),
		Cursors:  sqldb.NewCursors(db),
		System:   "odoo",
		Database: sim.Database(),
		Overlap:  time.Minute, // ReserveRetry 0: ask at every poll
		PageSize: 2,           // several pages with a handful of pickings
	})
	if err != nil {
		t.Fatal(err)
	}
	return &world{sim: srv, cl: cl, events: store, poller: p}
}

func (w *world) order(t *testing.T, ref string, lines map[string]float64) odoo.SaleOrder {
	t.Helper()
	demo := w.sim.Sim().Demo()
	p := &odoo.SaleOrderParams{PartnerID: demo.Customers[1], ClientRef: ref, Confirm: true}
	codes := make([]string, 0, len(lines))
	for code := range lines {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		p.Lines = append(p.Lines, odoo.SaleLine{ProductID: demo.Products[code], Quantity: lines[code]})
	}
	so, err := w.cl.EnsureSaleOrder(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return so
}

// stored returns the stored events by subject, each as "type".
func (w *world) stored(t *testing.T) map[string][]intake.Pending {
	t.Helper()
	pending, err := w.events.Pending(t.Context(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]intake.Pending{}
	for _, p := range pending {
		out[p.Subject] = append(out[p.Subject], p)
	}
	return out
}

func types(ps []intake.Pending) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.Type))
	}
	return out
}

func pickingName(t *testing.T, w *world, so odoo.SaleOrder) string {
	t.Helper()
	p, err := w.cl.Picking(t.Context(), so.PickingIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	return p.Name
}

func TestPollerTurnsPickingsIntoEvents(t *testing.T) {
	t.Parallel()
	for _, v := range []int{16, 18, 19} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, v)
			full := w.order(t, "POLL-FULL", map[string]float64{"E-COM07": 3, "LOT-RESIN": 2})
			short := w.order(t, "POLL-SHORT", map[string]float64{"E-COM11": 5}) // 2 in stock
			n, err := w.poller.Poll(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("first poll emitted nothing")
			}
			got := w.stored(t)
			fullSubject, shortSubject := "odoo:"+pickingName(t, w, full), "odoo:"+pickingName(t, w, short)
			if want := []string{"shipment.planned", "inventory.reserved"}; !slices.Equal(types(got[fullSubject]), want) {
				t.Errorf("%s: events %v, want %v", fullSubject, types(got[fullSubject]), want)
			}
			if want := []string{"shipment.planned", "inventory.reserved", "inventory.shortage"}; !slices.Equal(types(got[shortSubject]), want) {
				t.Errorf("%s: events %v, want %v", shortSubject, types(got[shortSubject]), want)
			}

			var planned struct {
				Order    string `json:"order"`
				Customer struct {
					Ref, Name string
				} `json:"customer"`
				Destination struct {
					City    string `json:"city"`
					Country string `json:"country"`
				} `json:"destination"`
				Lines []struct {
					SKU      string `json:"sku"`
					Quantity struct{ Value, Unit string }
				} `json:"lines"`
			}
			if err := json.Unmarshal(got[fullSubject][0].Data, &planned); err != nil {
				t.Fatal(err)
			}
			if planned.Order != "odoo:"+full.Name || planned.Customer.Name == "" || planned.Destination.City == "" || len(planned.Destination.Country) != 2 {
				t.Errorf("planned data %+v: want the order, a named customer and a delivery address", planned)
			}
			skus := map[string]string{}
			for _, l := range planned.Lines {
				skus[l.SKU] = l.Quantity.Value + " " + l.Quantity.Unit
			}
			if skus["E-COM07"] != "3 C62" || skus["LOT-RESIN"] != "2 C62" {
				t.Errorf("planned lines %v", skus)
			}
			var reserved struct {
				Lines []struct {
					Quantity struct{ Value string }
					Lots     []struct{ Lot string }
				}
			}
			if err := json.Unmarshal(got[fullSubject][1].Data, &reserved); err != nil {
				t.Fatal(err)
			}
			lots := 0
			for _, l := range reserved.Lines {
				lots += len(l.Lots)
			}
			if lots == 0 {
				t.Errorf("reservation of the lot-tracked line carries no lot: %s", got[fullSubject][1].Data)
			}

			// Polling again reads the overlap window: nothing new.
			calls := w.sim.Sim().Calls()["stock.picking.action_assign"]
			if n, err := w.poller.Poll(t.Context()); err != nil || n != 0 {
				t.Errorf("second poll: %d new events, %v; want none", n, err)
			}
			// The short picking is asked to reserve again at every poll.
			if w.sim.Sim().Calls()["stock.picking.action_assign"] <= calls {
				t.Error("short picking not asked to reserve again")
			}

			// A cancelled picking cancels its shipment.
			if _, err := w.cl.Execute(t.Context(), "stock.picking", "action_cancel", short.PickingIDs, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.poller.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
			got = w.stored(t)
			if ty := types(got[shortSubject]); ty[len(ty)-1] != "shipment.cancelled" {
				t.Errorf("%s after cancelling in Odoo: %v", shortSubject, ty)
			}
		})
	}
}

func TestPollerSurvivesOdooOutage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 18)
	w.order(t, "POLL-OUTAGE", map[string]float64{"E-COM07": 1})
	if err := w.sim.Down(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.poller.Poll(t.Context()); err == nil {
		t.Fatal("poll with Odoo down: no error")
	}
	if got := w.stored(t); len(got) != 0 {
		t.Fatalf("events stored while Odoo was down: %v", got)
	}
	if err := w.sim.Up(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.poller.Poll(t.Context()); err != nil || n == 0 {
		t.Fatalf("poll after Odoo came back: %d, %v", n, err)
	}
}
