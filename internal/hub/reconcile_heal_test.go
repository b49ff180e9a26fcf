package hub_test

import (
	"slices"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// giveUp makes the next jobs.max_attempts calls of model.method fail with
// a server error, ships subject, and waits until the job of kind is given
// up (a dead letter); the faults left over are cleared and the
// simulator's call counts zeroed. It returns the shipment's id.
func (w *odooWorld) giveUp(t *testing.T, subject, model, method, kind string) string {
	t.Helper()
	faults := w.srv.Sim().Faults()
	faults.Inject(model, method, 6, odoosim.FaultHTTP500) // setupOdoo's jobs.max_attempts
	w.ship(t, subject)
	id := w.shipmentID(t, subject)
	poll.Until(t, "the "+kind+" job given up", func() bool {
		return slices.ContainsFunc(deadLetters(t, w.bundle), func(d map[string]any) bool {
			return d["kind"] == kind && d["shipment_id"] == id
		})
	})
	faults.Clear()
	w.settled(t, id)
	w.srv.Sim().ResetCalls()
	return id
}

// settled waits until no outbound job of the shipment is left to run.
func (w *odooWorld) settled(t *testing.T, shipmentID string) {
	t.Helper()
	poll.Until(t, "the jobs of shipment "+shipmentID+" finished", func() bool {
		jobs, err := w.hub.Queue.ShipmentJobs(t.Context(), shipmentID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return !slices.ContainsFunc(jobs, func(j jobqueue.Job) bool {
			return j.State != "completed" && j.State != "discarded" && j.State != "cancelled"
		})
	})
}

// invoicesWithRef returns the ids of the customer invoices with ref in
// Odoo, in any state.
func (w *odooWorld) invoicesWithRef(t *testing.T, ref string) []int {
	t.Helper()
	ids, err := w.client.Search(t.Context(), "account.move", odoo.Domain{odoo.Leaf("move_type", "=", "out_invoice"), odoo.Leaf("ref", "=", ref)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// wantOnly checks that rec's counts are want (and 0 for the other types).
func wantOnly(t *testing.T, what string, rec *reconcile.Record, want map[reconcile.Type]int) {
	t.Helper()
	for _, typ := range reconcile.Types() {
		if rec.Counts[typ] != want[typ] {
			t.Errorf("%s: %s: got %d, want %d (differences %+v)", what, typ, rec.Counts[typ], want[typ], rec.Differences)
		}
	}
}

// TestReconcileHealsMissingInvoice: a delivered, billable shipment whose
// invoice job was given up has no invoice in Odoo. The day reports it as
// safe and enqueues invoice.prepare; running the day twice and letting
// the queue work makes exactly one invoice, and the day is then clean.
func TestReconcileHealsMissingInvoice(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		ctx := t.Context()
		subject := "tms:RECON-HEAL-INV"
		id := w.giveUp(t, subject, "sale.advance.payment.inv", "create_invoices", shipment.ActionInvoicePrepare)
		ref := reconcile.InvoiceRef(id)
		if sh := getShipment(t, w.bundle, subject); sh["billable"] != true || sh["invoice"] != nil {
			t.Fatalf("shipment before the run: billable %v, invoice %v; want billable without invoice", sh["billable"], sh["invoice"])
		}
		if got := w.invoicesWithRef(t, ref); len(got) != 0 {
			t.Fatalf("invoices %v with ref %s before the run, want none", got, ref)
		}
		today := time.Now().UTC().Format("2006-01-02")
		rc := w.hub.Reconciler

		first, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		wantOnly(t, "first run", first, map[reconcile.Type]int{reconcile.MissingInvoice: 1})
		for _, d := range first.Differences {
			if !d.Safe || d.Healed != shipment.ActionInvoicePrepare || d.Review != nil || d.ShipmentID != id || d.Subject != ref ||
				d.Evidence.OdooModel != "account.move" {
				t.Errorf("missing invoice: got %+v, want safe, healed by %s, no review", d, shipment.ActionInvoicePrepare)
			}
		}
		// The day again, whether the first healing ran yet or not: it may
		// enqueue the invoice a second time, which finds the first.
		second, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run again: %v", err)
		}
		if second.ID != first.ID {
			t.Errorf("second run: got record %s, want %s", second.ID, first.ID)
		}
		t.Logf("second run found %d differences", len(second.Differences))
		poll.Until(t, "the healed shipment invoiced", func() bool { return getShipment(t, w.bundle, subject)["state"] == "invoiced" })
		w.settled(t, id)

		if got := w.invoicesWithRef(t, ref); len(got) != 1 {
			t.Errorf("invoices with ref %s after healing: got %v, want one", ref, got)
		}
		if n := w.srv.Sim().Calls()["sale.advance.payment.inv.create_invoices"]; n != 1 {
			t.Errorf("create_invoices called %d times while healing, want 1", n)
		}
		third, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run after healing: %v", err)
		}
		wantOnly(t, "run after healing", third, nil)
		if third.ID != first.ID || third.State != reconcile.StateOpen {
			t.Errorf("run after healing: got record %s %s, want %s open", third.ID, third.State, first.ID)
		}
	})
}

// TestReconcileHealsMissingValidation: a loading whose picking.validate
// job was given up leaves the picking open in Odoo. The day reports it as
// safe and enqueues picking.validate; running the day twice validates the
// picking once, the invoice follows, and the day is then clean.
func TestReconcileHealsMissingValidation(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		ctx := t.Context()
		subject := "tms:RECON-HEAL-VAL"
		id := w.giveUp(t, subject, "stock.picking", "button_validate", shipment.ActionPickingValidate)
		pickingID := w.order.PickingIDs[0]
		p, err := w.client.Picking(ctx, pickingID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == odoo.PickingDone {
			t.Fatalf("picking %s is done before the run", p.Name)
		}
		today := time.Now().UTC().Format("2006-01-02")
		rc := w.hub.Reconciler

		first, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		// Not billable before the validation: no invoice is missing yet.
		wantOnly(t, "first run", first, map[reconcile.Type]int{reconcile.MissingValidation: 1})
		for _, d := range first.Differences {
			if !d.Safe || d.Healed != shipment.ActionPickingValidate || d.Review != nil || d.ShipmentID != id || d.Subject != p.Name ||
				d.Evidence.OdooModel != "stock.picking" || !slices.Equal(d.Evidence.OdooIDs, []int{pickingID}) ||
				d.Evidence.Waybill != "loaded: E-COM07 2, LOT-RESIN 3" {
				t.Errorf("missing validation: got %+v, want safe, healed by %s, picking %d", d, shipment.ActionPickingValidate, pickingID)
			}
		}
		second, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run again: %v", err)
		}
		t.Logf("second run found %d differences", len(second.Differences))
		poll.Until(t, "the healed shipment invoiced", func() bool { return getShipment(t, w.bundle, subject)["state"] == "invoiced" })
		w.settled(t, id)

		calls := w.srv.Sim().Calls()
		if n := calls["stock.picking.button_validate"]; n != 1 {
			t.Errorf("button_validate called %d times while healing, want 1", n)
		}
		if p, err := w.client.Picking(ctx, pickingID); err != nil || p.State != odoo.PickingDone || len(p.Backorders) != 0 {
			t.Errorf("picking after healing: got %+v, %v; want done without backorder", p, err)
		}
		if got := w.invoicesWithRef(t, reconcile.InvoiceRef(id)); len(got) != 1 {
			t.Errorf("invoices after healing: got %v, want one", got)
		}
		third, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run after healing: %v", err)
		}
		wantOnly(t, "run after healing", third, nil)
	})
}
