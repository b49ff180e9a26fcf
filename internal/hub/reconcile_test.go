package hub_test

import (
	"errors"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestReconcileDay ships and invoices a shipment through the simulated
// Odoo, reconciles the day (nothing differs), then seeds differences in
// Odoo and reconciles again: each is reported with its evidence and a
// finance review; approving posts the day's draft invoice once.
func TestReconcileDay(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		ctx := t.Context()
		subject := "tms:RECON-1"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		inv := w.invoiced(t, id)
		today := time.Now().UTC().Format("2006-01-02")
		rc := w.hub.Reconciler

		rec, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if len(rec.Differences) != 0 || rec.Shipments != 1 || rec.State != reconcile.StateOpen {
			t.Fatalf("clean day: got %d shipments, state %s, differences %+v; want 1, open, none", rec.Shipments, rec.State, rec.Differences)
		}
		if rec.OdooCalls > 8 {
			t.Errorf("clean day: %d Odoo calls, want a handful", rec.OdooCalls)
		}
		if len(rec.Totals) != 1 || rec.Totals[0].Rated != "75.00" || rec.Totals[0].InvoicedServices != "75.00" {
			t.Errorf("totals: got %+v, want 75.00 rated and invoiced", rec.Totals)
		}

		// An invoice line edited in Odoo, a second invoice with the same
		// reference, an invoice naming no shipment, a picking validated by
		// hand.
		full, err := w.client.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: []string{"WB-" + id}})
		if err != nil || len(full) != 1 {
			t.Fatalf("reading the invoice: %v %v", full, err)
		}
		demo := w.srv.Sim().Demo()
		for _, l := range full[0].Lines {
			if l.Product.ID == demo.Products["E-COM07"] {
				if err := w.client.Write(ctx, "account.move.line", []int{l.ID}, map[string]any{"quantity": 1.0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		newInvoice := func(ref string) int {
			t.Helper()
			ids, err := w.client.Create(ctx, "account.move", []map[string]any{{"move_type": "out_invoice", "partner_id": demo.Customers[0], "ref": ref,
				"invoice_line_ids": []any{[]any{0, 0, map[string]any{"product_id": demo.Products["E-COM07"], "quantity": 1.0, "price_unit": 5.0}}}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ids[0]
		}
		dup := newInvoice("WB-" + id)
		orphan := newInvoice("WB-NO-SUCH-SHIPMENT")
		so, err := w.client.EnsureSaleOrder(ctx, &odoo.SaleOrderParams{PartnerID: demo.Customers[0], ClientRef: "BY-HAND", Confirm: true,
			Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		byHand, err := w.client.ValidatePicking(ctx, so.PickingIDs[0], []odoo.ShipLine{{ProductID: demo.Products["E-COM07"], Quantity: 1}}, odoo.BackorderCancel)
		if err != nil || byHand.State != odoo.PickingDone {
			t.Fatalf("validating by hand: %+v %v", byHand, err)
		}

		rec2, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run again: %v", err)
		}
		if rec2.ID != rec.ID {
			t.Errorf("second run: got record %s, want the day's record %s", rec2.ID, rec.ID)
		}
		want := map[reconcile.Type]int{reconcile.QuantityMismatch: 1, reconcile.DuplicateInvoice: 1, reconcile.OrphanInvoice: 1, reconcile.UnexpectedValidation: 1}
		for _, typ := range reconcile.Types() {
			if rec2.Counts[typ] != want[typ] {
				t.Errorf("%s: got %d, want %d (differences %+v)", typ, rec2.Counts[typ], want[typ], rec2.Differences)
			}
		}
		for _, d := range rec2.Differences {
			if d.Safe || d.Review == nil || d.Review.OwnerRole != reconcile.FinanceRole || d.Review.Status != reconcile.ReviewOpen {
				t.Errorf("%s: got safe %t, review %+v; want an open finance review", d.Type, d.Safe, d.Review)
			}
			switch d.Type {
			case reconcile.QuantityMismatch:
				if d.ShipmentID != id || d.Subject != "E-COM07" || d.Evidence.Waybill != "delivered 2 C62" || d.Evidence.OdooIDs[0] != inv.ID {
					t.Errorf("quantity mismatch: got %+v", d)
				}
			case reconcile.DuplicateInvoice:
				if d.ShipmentID != id || len(d.Evidence.OdooIDs) != 2 || d.Evidence.OdooIDs[1] != dup {
					t.Errorf("duplicate invoice: got %+v, want invoices %d and %d", d, inv.ID, dup)
				}
			case reconcile.OrphanInvoice:
				if d.Subject != "WB-NO-SUCH-SHIPMENT" || d.Evidence.OdooIDs[0] != orphan {
					t.Errorf("orphan invoice: got %+v, want invoice %d", d, orphan)
				}
			case reconcile.UnexpectedValidation:
				if d.Evidence.OdooIDs[0] != so.PickingIDs[0] || d.ShipmentID != "" {
					t.Errorf("unexpected validation: got %+v, want picking %d", d, so.PickingIDs[0])
				}
			}
		}
		list, next, err := rc.List(ctx, reconcile.ListParams{Limit: 10})
		if err != nil || len(list) != 1 || next != "" {
			t.Errorf("List: got %d records, next %q, %v; want one", len(list), next, err)
		}

		// Approving posts the day's drafts (the shipment's and its
		// duplicate), once.
		got, repeat, err := rc.Decide(ctx, reconcile.DecideParams{ID: rec.ID, Decision: reconcile.Approve, Actor: "key:finance", Reason: "checked"})
		if err != nil || repeat || got.State != reconcile.StateApproved || len(got.Posted) != 2 {
			t.Fatalf("Decide: got %+v, repeat %t, %v; want approved with 2 invoices posted", got, repeat, err)
		}
		for _, d := range got.Differences {
			if d.Review.Status != reconcile.ReviewApproved {
				t.Errorf("%s review: got %s, want approved", d.Type, d.Review.Status)
			}
		}
		again, repeat, err := rc.Decide(ctx, reconcile.DecideParams{ID: rec.ID, Decision: reconcile.Approve, Actor: "key:finance"})
		if err != nil || !repeat || len(again.Posted) != 2 {
			t.Errorf("approving again: got %+v, repeat %t, %v; want the record as it was", again, repeat, err)
		}
		if _, _, err := rc.Decide(ctx, reconcile.DecideParams{ID: rec.ID, Decision: reconcile.Reject}); !errors.Is(err, reconcile.ErrDecided) {
			t.Errorf("rejecting an approved day: got %v, want ErrDecided", err)
		}
		if n := w.srv.Sim().Calls()["account.move.action_post"]; n != 1 {
			t.Errorf("action_post called %d times, want 1", n)
		}
		if posted, err := w.client.FindInvoice(ctx, "WB-"+id); err != nil || posted.State != "posted" {
			t.Errorf("invoice after approval: got %+v, %v; want posted", posted, err)
		}
		after, err := rc.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil || after.State != reconcile.StateApproved || after.ID != rec.ID {
			t.Errorf("running an approved day: got %+v, %v; want the approved record", after, err)
		}
	})
}
