package hub_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestReconcileAfterOdooOutage takes Odoo down while a shipment is
// delivered: its invoice job fails until it is a dead letter. Once Odoo
// answers again, the days the outage touched are reconciled by
// themselves: the missing invoice is found and healed through the outbox,
// the run is remembered with its cause, and the audit trail says what was
// healed. The shipment ends with exactly one invoice.
func TestReconcileAfterOdooOutage(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, func(c *config.Config) {
			c.Jobs.MaxAttempts = 2
			c.Connectors.Odoo.BreakerFailures = 1
			c.Reconcile.RecoverAfter = time.Millisecond
		})
		ctx := t.Context()
		faults := w.srv.Sim().Faults()
		subject := "tms:OUTAGE-1"
		w.shipWith(t, subject, func() {
			// The validation job done, its note on the picking included.
			sid := w.shipmentID(t, subject)
			poll.Until(t, "the picking validated in Odoo", func() bool {
				jobs, err := w.hub.Queue.ShipmentJobs(ctx, sid, 20)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range jobs {
					if j.Kind == "picking.validate" && j.State == "completed" {
						return true
					}
				}
				return false
			})
			faults.Inject("", "", 1_000_000, odoosim.FaultHTTP503)
		})
		id := w.shipmentID(t, subject)
		poll.Until(t, "the invoice job to become a dead letter", func() bool {
			for _, dl := range deadLetters(t, w.bundle) {
				if dl["kind"] == "invoice.prepare" && dl["shipment_id"] == id {
					return true
				}
			}
			return false
		})
		faults.Clear()
		// Any call that finds Odoo back ends the outage: in production a
		// job's retry or the poller's; here a run of an unrelated day.
		poll.Until(t, "a call to find Odoo back", func() bool {
			_, err := w.hub.Reconciler.Run(ctx, reconcile.RunParams{Date: "2020-01-01"})
			return err == nil
		})
		var entry *audit.Entry
		poll.Until(t, "the reconciliation after the outage", func() bool {
			var err error
			entry, err = w.hub.Audit.Last(ctx, audit.ActionReconciliationRecovered)
			return err == nil && entry != nil
		})
		var rec reconcile.Recovery
		if err := json.Unmarshal(entry.Details, &rec); err != nil {
			t.Fatal(err)
		}
		if entry.Actor != "system" || rec.Healed < 1 || len(rec.Days) == 0 || rec.Cause == "" {
			t.Fatalf("recovery audit entry: actor %s, %+v; want the system healing at least the missing invoice", entry.Actor, rec)
		}
		day, err := w.hub.Reconciler.Get(ctx, rec.Days[len(rec.Days)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		var healed bool
		for _, d := range day.Differences {
			if d.Type == reconcile.MissingInvoice && d.ShipmentID == id && d.Safe && d.Healed != "" {
				healed = true
			}
		}
		if !healed {
			t.Errorf("day %s: no healed missing invoice for %s in %+v", day.Date, id, day.Differences)
		}
		if last := day.Runs[len(day.Runs)-1]; last.Trigger != reconcile.TriggerRecovery || last.Cause != rec.Cause || last.Healed < 1 {
			t.Errorf("day %s: last run %+v, want the recovery with its cause %q", day.Date, last, rec.Cause)
		}
		w.invoiced(t, id)
		invs, err := w.client.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: []string{"WB-" + id}})
		if err != nil || len(invs) != 1 {
			t.Errorf("invoices of %s in Odoo: got %d (%v), want exactly one", id, len(invs), err)
		}
	})
}

// TestReconcileSchedule checks that serve runs the scheduled end-of-day
// run and the inventory check as River periodic tasks, then runs the schedule as it would two
// days later: today and tomorrow are reconciled, once, with every day
// since the first shipment (its events say 26 November 2026) that no run
// covered, and none before it; a day decided meanwhile is left alone.
func TestReconcileSchedule(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, func(c *config.Config) {
			c.Reconcile.Schedule = true
			c.Reconcile.InventoryInterval = time.Hour
		})
		ctx := t.Context()
		subject := "tms:SCHEDULE-1"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		w.invoiced(t, id)

		poll.Until(t, "the scheduled tasks to run once at start", func() bool {
			done := map[string]bool{}
			for _, m := range scrape(t, w.url)["waybill_task_runs_total"].GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["outcome"] == "ok" && m.GetCounter().GetValue() >= 1 {
					done[labels["task"]] = true
				}
			}
			return done["reconcile.schedule"] && done["reconcile.inventory"]
		})
		if checks, _, err := w.hub.Reconciler.InventoryChecks(ctx, reconcile.ListParams{Limit: 10}); err != nil || len(checks) == 0 {
			t.Errorf("inventory checks after the start-up run: %d (%v), want the scheduled one", len(checks), err)
		}

		now := time.Now().UTC()
		later := now.Add(48 * time.Hour)
		rc, err := reconcile.New(reconcile.Options{DB: w.hub.DB, Shipments: w.hub.Shipments, System: "odoo", Jobs: w.hub.Queue,
			Odoo:  func(context.Context) (*odoo.Client, error) { return w.client, nil },
			Grace: time.Hour, CatchUp: 31, Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		today, tomorrow := now.Format("2006-01-02"), now.AddDate(0, 0, 1).Format("2006-01-02")
		ran, err := rc.RunDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var dates []string
		for _, rec := range ran {
			dates = append(dates, rec.Date)
			if rec.Runs[len(rec.Runs)-1].Trigger != reconcile.TriggerSchedule {
				t.Errorf("%s: runs %+v, want the schedule's", rec.Date, rec.Runs)
			}
		}
		if len(dates) < 2 || !slices.Contains(dates, today) || !slices.Contains(dates, tomorrow) || dates[0] < "2026-11-26" {
			t.Fatalf("scheduled run two days later reconciled %v, want %s and %s and nothing before 2026-11-26", dates, today, tomorrow)
		}
		i := slices.Index(dates, today)
		if ran[i].Shipments != 1 || len(ran[i].Differences) != 0 {
			t.Errorf("%s: %d shipments, differences %+v; want the shipment, none", today, ran[i].Shipments, ran[i].Differences)
		}
		again, err := rc.RunDue(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("running the schedule again: ran %d days (%v), want none", len(again), err)
		}
		if _, _, err := rc.Decide(ctx, reconcile.DecideParams{ID: ran[i+1].ID, Decision: reconcile.Approve, Actor: "key:finance"}); err != nil {
			t.Fatal(err)
		}
		later = later.Add(time.Hour)
		if again, err := rc.RunDue(ctx); err != nil || len(again) != 0 {
			t.Errorf("running the schedule after a decision: ran %d days (%v), want none", len(again), err)
		}
	})
}
