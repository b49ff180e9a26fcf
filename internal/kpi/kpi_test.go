package kpi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/feeds"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/kpi"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var validator = sync.OnceValues(event.NewValidator)

// rated is the charge the test's rating rules give every billable
// shipment.
var rated = money.Money{Minor: 12550, Currency: "EUR"}

// world drives real events through intake and the workflow into db: one
// processor releases reserved shipments for dispatch, the other (hold)
// does not, so that a reserved shipment can wait.
type world struct {
	db     *sqldb.DB
	events *intake.Store
	parser *intake.Parser
	auto   *workflow.Processor
	hold   *workflow.Processor
	now    time.Time
	n      int
}

func newWorld(t *testing.T, db *sqldb.DB, now time.Time) *world {
	t.Helper()
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, events: intake.NewStore(db, nil), parser: &intake.Parser{Validator: v, Internal: true}, now: now}
	store := workflow.NewStore(db)
	rate := func(*shipment.Shipment) ([]shipment.Charge, error) {
		return []shipment.Charge{{Code: "FRT", Type: "linehaul", Amount: rated}}, nil
	}
	logger := slog.New(slog.DiscardHandler)
	w.auto = workflow.NewProcessor(db, w.events, store, nil, &workflow.Options{Logger: logger,
		Policy: shipment.Policy{AutoRelease: true, Rate: rate}})
	w.hold = workflow.NewProcessor(db, w.events, store, nil, &workflow.Options{Logger: logger,
		Policy: shipment.Policy{AutoRelease: false, Rate: rate}})
	return w
}

// send appends one event of typ about shipment ref (test:<ref>) that
// happened ago before now, from source.
func (w *world) send(t *testing.T, source, ref string, typ event.Type, ago time.Duration, data string) {
	t.Helper()
	w.n++
	raw, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": fmt.Sprintf("e%d", w.n), "source": source, "type": typ, "subject": "test:" + ref,
		"time": w.now.Add(-ago).Format(time.RFC3339), "data": json.RawMessage(data),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.parser.Parse(raw, intake.Hints{})
	if err != nil {
		t.Fatalf("parsing %s: %v", raw, err)
	}
	res, err := w.events.Append(t.Context(), []*intake.Event{p})
	if err != nil || res[0].Err != nil {
		t.Fatalf("appending %s: %v %v", raw, err, res[0].Err)
	}
}

// process applies every pending event with p and checks that none was
// rejected.
func (w *world) process(t *testing.T, p *workflow.Processor) {
	t.Helper()
	for {
		n, err := p.ProcessBatch(t.Context())
		if err != nil {
			t.Fatalf("processing: %v", err)
		}
		if n == 0 {
			break
		}
	}
	for _, state := range []string{intake.StateRejected, intake.StateFailed} {
		refused, _, err := w.events.List(t.Context(), intake.ListParams{State: state, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range refused {
			t.Errorf("event %s (%s of %s) %s: %s", st.SourceID, st.Type, st.Subject, st.State, st.Reason)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

const (
	planned  = `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"40","unit":"KGM"}}]}`
	reserve  = `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	loadFull = reserve
	loadTen  = `{"lines":[{"line_id":"1","quantity":{"value":"10","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`
	shortage = `{"lines":[{"line_id":"1","required":{"value":"12","unit":"C62"},"available":{"value":"5","unit":"C62"}}],"reason":"quarantined"}`
	noData   = `{}`
)

// pod is shipment.delivered data signed at; over delivers 12 of line 1
// (more than a shipment loaded with loadTen has).
func (w *world) pod(signed time.Duration, over bool) string {
	lines := `[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]`
	if over {
		lines = `[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]`
	}
	return `{"pod":{"signer":"J. Jansen","signed_at":"` + w.now.Add(-signed).Format(time.RFC3339) + `","lines":` + lines + `}}`
}

// deliver takes ref from planned to delivered: reserved 9h before its
// proof of delivery is signed at pod before now, loaded, delivered (from
// source).
func (w *world) deliver(t *testing.T, ref, source string, pod time.Duration, load string, over bool) {
	t.Helper()
	w.send(t, "/test", ref, event.ShipmentPlanned, pod+10*time.Hour, planned)
	w.send(t, "/test", ref, event.InventoryReserved, pod+9*time.Hour, reserve)
	w.send(t, "/test", ref, event.ShipmentLoaded, pod+8*time.Hour, load)
	w.send(t, source, ref, event.ShipmentDelivered, pod, w.pod(pod, over))
}

func (w *world) invoice(t *testing.T, ref string, ago time.Duration) {
	t.Helper()
	w.send(t, "/waybill/odoo", ref, event.ShipmentInvoiced, ago, `{"system":"odoo","invoice_id":"`+ref+`"}`)
}

// build makes the shipments of TestSnapshot; the comments say what each
// counts as.
func (w *world) build(t *testing.T) {
	h := time.Hour
	// Waiting for release (the processor that does not release them).
	w.send(t, "/test", "S1", event.ShipmentPlanned, 3*h, planned)
	w.send(t, "/test", "S1", event.InventoryReserved, 2*h, reserve) // reserved 2h: delayed
	w.send(t, "/test", "S2", event.ShipmentPlanned, 3*h, planned)
	w.send(t, "/test", "S2", event.InventoryReserved, 10*time.Minute, reserve) // reserved 10m: not yet
	w.process(t, w.hold)

	w.send(t, "/test", "S3", event.ShipmentPlanned, 5*h, planned)
	w.send(t, "/test", "S3", event.InventoryShortage, h, shortage) // short 1h: delayed
	// S4: loaded 10 of 12 reserved, in transit.
	w.send(t, "/test", "S4", event.ShipmentPlanned, 7*h, planned)
	w.send(t, "/test", "S4", event.InventoryReserved, 6*h, reserve)
	w.send(t, "/test", "S4", event.ShipmentLoaded, 5*h, loadTen)
	w.send(t, "/test", "S4", event.ShipmentDeparted, 4*h, noData)
	w.deliver(t, "S5", "/test", 6*h, loadFull, false)    // unbilled 6h
	w.deliver(t, "S6", "/pod-app", 5*h, loadFull, false) // unbilled 5h, its feed goes silent
	w.deliver(t, "S7", "/test", 2*h, loadFull, false)    // delivered 2h ago: not yet unbilled
	// S8: delivered 12 where 10 were loaded of 12 reserved: the proof of
	// delivery fails validation and waits in review, before rating.
	w.deliver(t, "S8", "/test", 7*h, loadTen, true)
	// S9: billable, then damaged: under an exception, its review holds
	// the invoice.
	w.deliver(t, "S9", "/test", 31*h, loadFull, false)
	w.send(t, "/test", "S9", event.ShipmentException, 30*h, `{"category":"damaged","description":"crushed pallet"}`)
	// Invoiced 2h and 15h after their proofs of delivery, and one two
	// days ago.
	w.deliver(t, "S10", "/test", 10*h, loadFull, false)
	w.invoice(t, "S10", 8*h)
	w.deliver(t, "S11", "/test", 20*h, loadFull, false)
	w.invoice(t, "S11", 5*h)
	w.deliver(t, "S12", "/test", 50*h, loadFull, false)
	w.invoice(t, "S12", 30*h)
	// S13: in transit with two open exceptions, one for a role the
	// workflow does not know.
	w.send(t, "/test", "S13", event.ShipmentPlanned, 8*h, planned)
	w.send(t, "/test", "S13", event.InventoryReserved, 7*h, reserve)
	w.send(t, "/test", "S13", event.ShipmentLoaded, 6*h, loadFull)
	w.send(t, "/test", "S13", event.ShipmentDeparted, 5*h+time.Minute, noData)
	w.send(t, "/test", "S13", event.ShipmentException, 5*h, `{"category":"address","owner_role":"night_desk"}`)
	w.send(t, "/test", "S13", event.ShipmentException, 2*h, `{"category":"delay"}`)
	w.process(t, w.auto)
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		// Shipment rows record when they were written by the wall
		// clock, so the test's now is the wall clock's, and every event
		// happened before it.
		now := time.Now().UTC().Truncate(time.Second)
		w := newWorld(t, db, now)
		w.build(t)

		watchClock := &clock{t: now}
		watch, err := feeds.New(feeds.Options{DB: db, Sources: []string{"/pod-app"}, MaxSilence: time.Hour,
			From: 0, To: 24 * 60, Now: watchClock.now})
		if err != nil {
			t.Fatal(err)
		}
		clk := &clock{t: now}
		k := kpi.New(db, kpi.Options{Now: clk.now}, watch)

		h := time.Hour
		want := &kpi.Snapshot{
			At:                  now,
			ReservedNotReleased: kpi.Aged{Count: 1, Oldest: 2 * h},
			Shortages:           kpi.Aged{Count: 1, Oldest: h},
			Unbilled:            kpi.Aged{Count: 4, Oldest: 31 * h}, // S5, S6, S8, S9
			UnbilledValue:       []money.Money{{Minor: 3 * rated.Minor, Currency: "EUR"}},
			Mismatches:          kpi.Mismatches{LoadedVsReserved: 2, DeliveredVsLoaded: 1}, // S4 and S8; S8
			OpenExceptions: []kpi.ExceptionGroup{
				{Category: "address", OwnerRole: kpi.Other, Age: kpi.Age4hTo24h, Count: 1},
				{Category: "damaged", OwnerRole: "claims", Age: kpi.AgeOver24h, Count: 1},
				{Category: "delay", OwnerRole: "dispatch", Age: kpi.AgeUnder4h, Count: 1},
			},
			Invoices24h:           2,
			PODToInvoiceP50:       2 * h,
			PODToInvoiceP95:       15 * h,
			HeldByReview:          []money.Money{rated}, // S9; S8 is not rated yet
			HeldByReviewShipments: 2,
			HeldByFeedSilence:     []money.Money{},
		}
		got, err := k.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("snapshot (-want +got):\n%s", diff)
		}

		// The feed goes silent: S6's invoice holds. The cached snapshot
		// does not see it until it is CacheFor old.
		watchClock.set(now.Add(2 * h))
		if err := watch.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if held, _ := watch.Held("/pod-app"); !held {
			t.Fatal("the feed watch did not find /pod-app silent")
		}
		clk.set(now.Add(kpi.CacheForDefault - time.Second))
		if again, err := k.Snapshot(t.Context()); err != nil || again != got {
			t.Errorf("within CacheFor: got a new snapshot (%v), want the cached one", err)
		}
		later := now.Add(kpi.CacheForDefault)
		clk.set(later)
		got, err = k.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		after := kpi.CacheForDefault
		want.At = later
		want.ReservedNotReleased.Oldest += after
		want.Shortages.Oldest += after
		want.Unbilled.Oldest += after
		want.HeldByFeedSilence, want.HeldByFeedSilenceShipments = []money.Money{rated}, 1
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("snapshot after the feed went silent (-want +got):\n%s", diff)
		}

		reg := prometheus.NewRegistry()
		reg.MustRegister(k)
		series := gather(t, reg)
		wantSeries := map[string]float64{
			`waybill_kpi_delayed_releases{kind="reserved_not_released"}`:                         1,
			`waybill_kpi_delayed_releases{kind="shortage"}`:                                      1,
			`waybill_kpi_delayed_release_oldest_seconds{kind="reserved_not_released"}`:           (2*h + after).Seconds(),
			`waybill_kpi_delayed_release_oldest_seconds{kind="shortage"}`:                        (h + after).Seconds(),
			`waybill_kpi_unbilled_deliveries`:                                                    4,
			`waybill_kpi_unbilled_oldest_seconds`:                                                (31*h + after).Seconds(),
			`waybill_kpi_unbilled_value{currency="EUR"}`:                                         376.5,
			`waybill_kpi_inventory_mismatches{kind="loaded_vs_reserved"}`:                        2,
			`waybill_kpi_inventory_mismatches{kind="delivered_vs_loaded"}`:                       1,
			`waybill_kpi_inventory_mismatches{kind="odoo_done_vs_loaded"}`:                       0,
			`waybill_kpi_open_exceptions{age="4-24h",category="address",owner_role="other"}`:     1,
			`waybill_kpi_open_exceptions{age="over-24h",category="damaged",owner_role="claims"}`: 1,
			`waybill_kpi_open_exceptions{age="0-4h",category="delay",owner_role="dispatch"}`:     1,
			`waybill_kpi_open_exceptions{age="0-4h",category="damaged",owner_role="claims"}`:     0,
			`waybill_kpi_pod_to_invoice_seconds{quantile="0.5"}`:                                 (2 * h).Seconds(),
			`waybill_kpi_pod_to_invoice_seconds{quantile="0.95"}`:                                (15 * h).Seconds(),
			`waybill_kpi_invoices_24h`:                                                           2,
			`waybill_kpi_revenue_held{currency="EUR",reason="review"}`:                           125.5,
			`waybill_kpi_revenue_held{currency="EUR",reason="feed_silence"}`:                     125.5,
		}
		for name, v := range wantSeries {
			if g, ok := series[name]; !ok || g != v {
				t.Errorf("%s: got %v (present %t), want %v", name, g, ok, v)
			}
		}
		// Every category with its default role, in every bucket, and
		// the one other role seen.
		var exceptionSeries int
		for name := range series {
			if strings.HasPrefix(name, "waybill_kpi_open_exceptions{") {
				exceptionSeries++
			}
		}
		if want := len(shipment.ExceptionCategories())*3 + 1; exceptionSeries != want {
			t.Errorf("waybill_kpi_open_exceptions: got %d series, want %d", exceptionSeries, want)
		}

		// Daily: the invoices of S10 and S11 (today or yesterday, as the
		// hours fall) and S12, 30 hours ago.
		days, err := k.Daily(t.Context(), 3)
		if err != nil {
			t.Fatal(err)
		}
		day := func(ago time.Duration) time.Time {
			at := later.Add(-ago)
			return time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		}
		perDay := map[time.Time][]time.Duration{}
		for _, inv := range []struct{ at, latency time.Duration }{{8 * h, 2 * h}, {5 * h, 15 * h}, {30 * h, 20 * h}} {
			perDay[day(inv.at)] = append(perDay[day(inv.at)], inv.latency)
		}
		var wantDays []kpi.Day
		for i := 2; i >= 0; i-- {
			d := day(0).AddDate(0, 0, -i)
			ls := perDay[d]
			sort.Slice(ls, func(a, b int) bool { return ls[a] < ls[b] })
			wd := kpi.Day{Date: d, Invoices: len(ls)}
			if len(ls) > 0 {
				// Nearest rank: of one or two, the median is the first,
				// the 95th percentile the last.
				wd.PODToInvoiceP50, wd.PODToInvoiceP95 = ls[0], ls[len(ls)-1]
			}
			wantDays = append(wantDays, wd)
		}
		if diff := cmp.Diff(wantDays, days); diff != "" {
			t.Errorf("Daily(3) (-want +got):\n%s", diff)
		}
		if _, err := k.Daily(t.Context(), 0); !errors.Is(err, kpi.ErrBadDays) {
			t.Errorf("Daily(0): got %v, want ErrBadDays", err)
		}
		if _, err := k.Daily(t.Context(), kpi.MaxDays+1); !errors.Is(err, kpi.ErrBadDays) {
			t.Errorf("Daily(%d): got %v, want ErrBadDays", kpi.MaxDays+1, err)
		}
	})
}

func TestEmptyDatabase(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		k := kpi.New(db, kpi.Options{Now: func() time.Time { return now }}, nil)
		got, err := k.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := &kpi.Snapshot{At: now, UnbilledValue: []money.Money{}, OpenExceptions: []kpi.ExceptionGroup{},
			HeldByReview: []money.Money{}, HeldByFeedSilence: []money.Money{}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("snapshot (-want +got):\n%s", diff)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(k)
		series := gather(t, reg)
		for name, v := range map[string]float64{
			`waybill_kpi_delayed_releases{kind="reserved_not_released"}`:  0,
			`waybill_kpi_unbilled_deliveries`:                             0,
			`waybill_kpi_invoices_24h`:                                    0,
			`waybill_kpi_inventory_mismatches{kind="loaded_vs_reserved"}`: 0,
		} {
			if g, ok := series[name]; !ok || g != v {
				t.Errorf("%s: got %v (present %t), want %v", name, g, ok, v)
			}
		}
		if v := series[`waybill_kpi_pod_to_invoice_seconds{quantile="0.5"}`]; !math.IsNaN(v) {
			t.Errorf("median with no invoices: got %v, want NaN", v)
		}
		for name := range series {
			if strings.HasPrefix(name, "waybill_kpi_unbilled_value") || strings.HasPrefix(name, "waybill_kpi_revenue_held") {
				t.Errorf("%s: present with nothing to value", name)
			}
		}
		days, err := k.Daily(t.Context(), 7)
		if err != nil || len(days) != 7 || days[6].Date != time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) || days[0].Invoices != 0 {
			t.Errorf("Daily(7) of an empty database: got %+v, %v", days, err)
		}
	})
}

// TestClosedDatabase checks that a snapshot that cannot be read is an
// error, and an invalid metric on the registry, not a panic.
func TestClosedDatabase(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		db, err := sqldb.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(t.Context(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		k := kpi.New(db, kpi.Options{}, nil)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Snapshot(t.Context()); err == nil {
			t.Error("Snapshot on a closed database: got nil error")
		}
		if _, err := k.Daily(t.Context(), 1); err == nil {
			t.Error("Daily on a closed database: got nil error")
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(k)
		if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "waybill_kpi_delayed_releases") {
			t.Errorf("Gather: got %v, want the snapshot's failure on waybill_kpi_delayed_releases", err)
		}
	})
}

// gather returns every sample of reg as name{labels} (labels sorted by
// name, as the registry gives them) to value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			out[name] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestRun checks that Run computes snapshots on its own: with nobody
// calling Snapshot, a database gone makes it report failures, tick after
// tick; and that it returns when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		db, err := sqldb.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(t.Context(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		k := kpi.New(db, kpi.Options{CacheFor: 20 * time.Millisecond}, nil)
		failed := make(chan error, 100)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx, func(err error) { failed <- err }) }()

		// A database gone: Run reports it and carries on.
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-failed:
			if err == nil {
				t.Error("Run reported a nil failure")
			}
		case <-time.After(5 * time.Second):
			t.Error("Run reported no failure with the database closed")
		}
		select {
		case <-failed: // the next tick tries again
		case <-time.After(5 * time.Second):
			t.Error("Run did not try again after a failure")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context ended", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}

// TestInventoryCounts: the newest inventory check's counts become
// waybill_kpi_inventory_mismatches series, done_vs_loaded as
// odoo_done_vs_loaded; a failing source fails the snapshot.
func TestInventoryCounts(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		counts := map[string]int{"done_vs_loaded": 2, "untracked_picking": 3, "missing_return": 0}
		k := kpi.New(db, kpi.Options{Now: func() time.Time { return now },
			InventoryCountsFunc: func(context.Context) (map[string]int, error) { return counts, nil }}, nil)
		s, err := k.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if s.Mismatches.OdooDoneVsLoaded != 2 || s.Inventory["untracked_picking"] != 3 {
			t.Errorf("snapshot: got %+v and %v, want odoo_done_vs_loaded 2 and the counts", s.Mismatches, s.Inventory)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(k)
		series := gather(t, reg)
		for name, v := range map[string]float64{
			`waybill_kpi_inventory_mismatches{kind="odoo_done_vs_loaded"}`: 2,
			`waybill_kpi_inventory_mismatches{kind="untracked_picking"}`:   3,
			`waybill_kpi_inventory_mismatches{kind="missing_return"}`:      0,
			`waybill_kpi_inventory_mismatches{kind="loaded_vs_reserved"}`:  0,
		} {
			if g, ok := series[name]; !ok || g != v {
				t.Errorf("%s: got %v (present %t), want %v", name, g, ok, v)
			}
		}
		if _, ok := series[`waybill_kpi_inventory_mismatches{kind="done_vs_loaded"}`]; ok {
			t.Error(`kind="done_vs_loaded" exported besides odoo_done_vs_loaded`)
		}
		failing := kpi.New(db, kpi.Options{InventoryCountsFunc: func(context.Context) (map[string]int, error) { return nil, errors.New("no table") }}, nil)
		if _, err := failing.Snapshot(t.Context()); err == nil {
			t.Error("a failing inventory source: got a snapshot, want an error")
		}
	})
}
