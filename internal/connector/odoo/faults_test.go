package odoo

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/odoosim"
)

// The fault tests run against the simulator only: they inject failures at
// the server.

func simVersions() []int { return []int{16, 17, 18, 19} }

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, v := range simVersions() {
		tg := simTarget(v)
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			runFaults(t, tg)
		})
	}
}

func runFaults(t *testing.T, tg target) {
	t.Run("serialization failure is retryable", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		so, _ := f.order(t, uniqueRef("SER"), SaleLine{ProductID: f.plain[0], Quantity: 1})
		f.srv.Sim().Faults().Inject("sale.order", "read", 1, odoosim.FaultSerialization)
		_, err := f.c.SaleOrder(t.Context(), so.ID)
		checkClassAndIs(t, err, false, ErrConcurrency)
		if _, err := f.c.SaleOrder(t.Context(), so.ID); err != nil {
			t.Errorf("after the fault: %v", err)
		}
	})
	t.Run("http 503 is retryable with hint", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		f.srv.Sim().Faults().Inject("sale.order", "read", 1, odoosim.FaultHTTP503)
		_, err := f.c.SaleOrder(t.Context(), 1)
		checkClassAndIs(t, err, false, ErrServer)
		if _, after := connector.Classify(err); after != time.Second {
			t.Errorf("got retry-after %s, want 1s", after)
		}
	})
	t.Run("http 500 is retryable", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		f.srv.Sim().Faults().Inject("stock.picking", "search_read", 1, odoosim.FaultHTTP500)
		_, _, err := f.c.ChangedPickings(t.Context(), time.Time{}, 0, 10)
		checkClassAndIs(t, err, false, ErrServer)
	})
	t.Run("reset is retryable", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		f.srv.Sim().Faults().Inject("stock.picking", "read", 1, odoosim.FaultReset)
		_, err := f.c.PickingReservation(t.Context(), 1)
		if err == nil {
			t.Fatal("got nil error")
		}
		if p, _ := connector.Classify(err); p {
			t.Errorf("got permanent, want retryable: %v", err)
		}
		var oe *Error
		if !errors.As(err, &oe) || (oe.Kind != KindOutcomeUnknown && oe.Kind != KindUnavailable) {
			t.Errorf("got %v, want outcome unknown or unavailable", err)
		}
	})
	// The first try of a reference creates without looking; any try
	// after it looks, and adopts what the lost reply left.
	for _, tc := range []struct {
		name  string
		first bool
	}{{"invoice reply lost after commit", false}, {"first invoice reply lost after commit", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tg, nil)
			ctx := t.Context()
			ref := uniqueRef("DROP")
			so, p := f.order(t, ref, SaleLine{ProductID: f.plain[0], Quantity: 2})
			if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[0], Quantity: 2}}, BackorderCreate); err != nil {
				t.Fatalf("ValidatePicking: %v", err)
			}
			f.srv.Sim().Faults().Inject("sale.advance.payment.inv", "create_invoices", 1, odoosim.FaultDropAfterCommit)
			invoice := f.c.InvoiceDelivered
			if tc.first {
				invoice = f.c.InvoiceDeliveredFirst
			}
			_, err := invoice(ctx, so.ID, ref+"-INV", true)
			if !errors.Is(err, connector.ErrOutcomeUnknown) {
				t.Fatalf("got %v, want an error wrapping connector.ErrOutcomeUnknown", err)
			}
			if p, _ := connector.Classify(err); p {
				t.Errorf("got permanent, want retryable: %v", err)
			}
			inv, err := f.c.InvoiceDelivered(ctx, so.ID, ref+"-INV", true)
			if err != nil {
				t.Fatalf("InvoiceDelivered again: %v", err)
			}
			if inv.Created || inv.Ref != ref+"-INV" || inv.State != "posted" {
				t.Errorf("got %+v, want the adopted invoice, posted, with ref %s", inv, ref+"-INV")
			}
			countInvoices(t, f, so, 1)
		})
	}
	t.Run("post reply lost after commit", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		ref := uniqueRef("DROPPOST")
		so, p := f.order(t, ref, SaleLine{ProductID: f.plain[1], Quantity: 1})
		if _, err := f.c.ValidatePicking(ctx, p.ID, []ShipLine{{ProductID: f.plain[1], Quantity: 1}}, BackorderCreate); err != nil {
			t.Fatalf("ValidatePicking: %v", err)
		}
		f.srv.Sim().Faults().Inject("account.move", "action_post", 1, odoosim.FaultDropAfterCommit)
		_, err := f.c.InvoiceDelivered(ctx, so.ID, ref, true)
		if !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Fatalf("got %v, want outcome unknown", err)
		}
		inv, err := f.c.InvoiceDelivered(ctx, so.ID, ref, true)
		if err != nil || inv.State != "posted" {
			t.Fatalf("InvoiceDelivered again: got %+v, %v", inv, err)
		}
		countInvoices(t, f, so, 1)
	})
	t.Run("validation reply lost after commit", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		_, p := f.order(t, uniqueRef("DROPVAL"), SaleLine{ProductID: f.plain[2], Quantity: 4})
		lines := []ShipLine{{ProductID: f.plain[2], Quantity: 3}}
		f.srv.Sim().Faults().Inject("stock.picking", "button_validate", 1, odoosim.FaultDropAfterCommit)
		_, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Fatalf("got %v, want outcome unknown", err)
		}
		vr, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate)
		if err != nil || !vr.AlreadyDone || vr.BackorderID == 0 {
			t.Fatalf("ValidatePicking again: got %+v, %v; want already done with its backorder", vr, err)
		}
		bos, err := f.c.Search(ctx, "stock.picking", Domain{Leaf("backorder_id", "=", p.ID)}, nil)
		if err != nil || len(bos) != 1 {
			t.Errorf("got backorders %v, %v; want exactly one", bos, err)
		}
		f.cancelPicking(t, vr.BackorderID)
	})
	t.Run("charge lines reply lost after commit", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, nil)
		ctx := t.Context()
		ref := uniqueRef("DROPCHG")
		so, _ := f.order(t, ref, SaleLine{ProductID: f.plain[0], Quantity: 1})
		charges := []ChargeLine{{ProductID: f.service, Quantity: 1, PriceUnit: 50, Description: "Liftgate", Ref: ref}}
		f.srv.Sim().Faults().Inject("sale.order.line", "create", 1, odoosim.FaultDropAfterCommit)
		if _, err := f.c.AddChargeLines(ctx, so.ID, charges); !errors.Is(err, connector.ErrOutcomeUnknown) {
			t.Fatalf("got %v, want outcome unknown", err)
		}
		ids, err := f.c.AddChargeLines(ctx, so.ID, charges)
		if err != nil || len(ids) != 1 {
			t.Fatalf("AddChargeLines again: %v, %v", ids, err)
		}
		lines, err := f.c.Search(ctx, "sale.order.line", Domain{Leaf("order_id", "=", so.ID), Leaf("product_id", "=", f.service)}, nil)
		if err != nil || len(lines) != 1 {
			t.Errorf("got charge lines %v, %v; want exactly one", lines, err)
		}
	})
	t.Run("breaker opens when down and recovers when up", func(t *testing.T) {
		t.Parallel()
		f := setup(t, tg, func(c *Config) {
			c.BreakerFailures = 2
			c.BreakerCooldown = 200 * time.Millisecond
		})
		ctx := t.Context()
		if err := f.srv.Down(); err != nil {
			t.Fatalf("Down: %v", err)
		}
		for range 2 {
			// A pooled connection the server closed may already carry
			// the request: then the outcome is unknown, not unavailable.
			_, err := f.c.SaleOrder(ctx, 1)
			var oe *Error
			if !errors.As(err, &oe) || (oe.Kind != KindUnavailable && oe.Kind != KindOutcomeUnknown) {
				t.Fatalf("got %v, want unavailable or outcome unknown", err)
			}
			if p, _ := connector.Classify(err); p {
				t.Errorf("got permanent, want retryable: %v", err)
			}
		}
		sent := f.c.Calls()["sale.order.read"]
		_, err := f.c.SaleOrder(ctx, 1)
		var oe *Error
		if !errors.As(err, &oe) || oe.Kind != KindUnavailable || oe.RetryAfter <= 0 || oe.RetryAfter > 200*time.Millisecond {
			t.Fatalf("got %v, want the breaker's fast failure with the remaining cooldown as hint", err)
		}
		if _, after := connector.Classify(err); after != oe.RetryAfter {
			t.Errorf("got hint %s, want %s", after, oe.RetryAfter)
		}
		if got := f.c.Calls()["sale.order.read"]; got != sent {
			t.Errorf("breaker open, yet %d requests were sent", got-sent)
		}
		if err := f.srv.Up(); err != nil {
			t.Fatalf("Up: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := f.c.SaleOrder(ctx, 1)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("breaker did not recover: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if f.c.brk.isOpen() {
			t.Error("breaker open after recovery")
		}
	})
}

// TestRPCCounts measures the calls of the operations whose cost matters
// and asserts upper bounds on them.
func TestRPCCounts(t *testing.T) {
	t.Parallel()
	targets := []target{simTarget(16), simTarget(17), simTarget(18), simTarget(19)}
	if rt, ok := realTarget(); ok {
		targets = append(targets, rt)
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tg, nil)
			ctx := t.Context()

			// 1. Reading 100 changed pickings.
			if f.srv != nil {
				d := f.srv.Sim().Demo()
				vals := make([]map[string]any, 100)
				for i := range vals {
					vals[i] = map[string]any{
						"partner_id": f.customer, "picking_type_id": d.OutPickingTypeID, "origin": uniqueRef("CNT"),
						"location_id": d.StockLocationID, "location_dest_id": d.CustomerLocationID,
						"move_ids": []any{[]any{0, 0, moveVals(f.c.Profile(), f.plain[i%3], 1, d.StockLocationID, d.CustomerLocationID)}},
					}
				}
				ids, err := f.c.Create(ctx, "stock.picking", vals, nil)
				if err != nil || len(ids) != 100 {
					t.Fatalf("creating 100 pickings: %v %v", len(ids), err)
				}
				if _, err := f.c.Execute(ctx, "stock.picking", "action_confirm", ids, nil); err != nil {
					t.Fatalf("confirming 100 pickings: %v", err)
				}
			}
			f.c.ResetCalls()
			ps, _, err := f.c.ChangedPickings(ctx, time.Time{}, 10*time.Minute, 100)
			if err != nil {
				t.Fatalf("ChangedPickings: %v", err)
			}
			if f.srv != nil && len(ps) < 100 {
				t.Fatalf("got %d pickings, want at least 100", len(ps))
			}
			readCalls := total(f.c.Calls())
			t.Logf("%s: reading %d changed pickings (with moves, lines and sale orders): %d calls %v", tg.name, len(ps), readCalls, f.c.Calls())
			if readCalls > 4 {
				t.Errorf("reading changed pickings took %d calls, want at most 4", readCalls)
			}

			// 2. Validating one picking with 3 lines and lots.
			var lines []ShipLine
			var sale []SaleLine
			if f.lotProd != 0 {
				sale = []SaleLine{{ProductID: f.lotProd, Quantity: 2}, {ProductID: f.plain[0], Quantity: 1}}
				lines = []ShipLine{{ProductID: f.lotProd, Quantity: 1, Lot: f.lots[0]}, {ProductID: f.lotProd, Quantity: 1, Lot: f.lots[1]},
					{ProductID: f.plain[0], Quantity: 1}}
			} else {
				sale = []SaleLine{{ProductID: f.plain[0], Quantity: 1}, {ProductID: f.plain[1], Quantity: 1}, {ProductID: f.plain[2], Quantity: 1}}
				lines = []ShipLine{{ProductID: f.plain[0], Quantity: 1}, {ProductID: f.plain[1], Quantity: 1}, {ProductID: f.plain[2], Quantity: 1}}
			}
			ref := uniqueRef("CNTV")
			so, p := f.order(t, ref, sale...)
			f.c.ResetCalls()
			if _, err := f.c.ValidatePicking(ctx, p.ID, lines, BackorderCreate); err != nil {
				t.Fatalf("ValidatePicking: %v", err)
			}
			valCalls := total(f.c.Calls())
			t.Logf("%s: validating one picking with 3 lines (lots: %t): %d calls %v", tg.name, f.lotProd != 0, valCalls, f.c.Calls())
			if valCalls > 8 {
				t.Errorf("validating took %d calls, want at most 8", valCalls)
			}

			// 3. Invoicing one delivered order (and posting the invoice).
			f.c.ResetCalls()
			if _, err := f.c.InvoiceDelivered(ctx, so.ID, ref, true); err != nil {
				t.Fatalf("InvoiceDelivered: %v", err)
			}
			invCalls := total(f.c.Calls())
			t.Logf("%s: invoicing one delivered order and posting: %d calls %v", tg.name, invCalls, f.c.Calls())
			if invCalls > 6 {
				t.Errorf("invoicing took %d calls, want at most 6", invCalls)
			}
		})
	}
}

// moveVals are the values of a new stock.move.
func moveVals(p Profile, product int, qty float64, from, to int) map[string]any {
	v := map[string]any{"product_id": product, "product_uom_qty": qty, "location_id": from, "location_dest_id": to}
	if p.MoveHasName {
		v["name"] = fmt.Sprintf("waybill contract %d", product)
	}
	return v
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
