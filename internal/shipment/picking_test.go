package shipment_test

import (
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/shipment"
)

const validated = `{"system":"odoo","picking_id":"812","name":"WH/OUT/00012","backorder_id":"813"}`

// TestPickingValidated checks that, when the ERP reports its picking
// validations, the invoice is issued only once both the delivery and the
// validation are in, whichever comes first, and exactly once.
func TestPickingValidated(t *testing.T) {
	t.Parallel()
	await := shipment.Policy{AutoRelease: true, AwaitPickingValidation: true}
	reserved := step{in: in(event.InventoryReserved, 1, reserveFull), outcome: "applied", state: shipment.Released, actions: []string{shipment.ActionDispatchRelease}}
	loaded := step{in: in(event.ShipmentLoaded, 2, loadFull), outcome: "applied", state: shipment.Loaded, actions: []string{shipment.ActionPickingValidate}}

	t.Run("delivered first, then validated", func(t *testing.T) {
		t.Parallel()
		sh := run(t, await, []step{reserved, loaded,
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered},
		})
		if sh.Billable || !strings.Contains(sh.BlockedReason, "has not validated the picking") {
			t.Fatalf("billable %v, blocked %q: want held for the validation", sh.Billable, sh.BlockedReason)
		}
		res := sh.Apply(in(event.PickingValidated, 301, validated), await)
		if res.Outcome != shipment.OutcomeApplied || len(res.Actions) != 1 || res.Actions[0] != shipment.ActionInvoicePrepare {
			t.Fatalf("validated: %+v", res)
		}
		if !sh.Billable || sh.BlockedReason != "" {
			t.Errorf("after the validation: billable %v, blocked %q", sh.Billable, sh.BlockedReason)
		}
		if p := sh.Picking; p == nil || p.ValidatedAt == nil || p.ExternalID != "812" || p.Name != "WH/OUT/00012" || p.BackorderID != "813" || p.System != "odoo" {
			t.Errorf("picking record %+v", sh.Picking)
		}
		// The same validation reported again issues nothing.
		if res := sh.Apply(in(event.PickingValidated, 302, validated), await); res.Outcome != shipment.OutcomeLate || len(res.Actions) != 0 {
			t.Errorf("repeat: %+v", res)
		}
		// Another picking for the same shipment is refused.
		if res := sh.Apply(in(event.PickingValidated, 303, `{"system":"odoo","picking_id":"999"}`), await); res.Outcome != shipment.OutcomeRejected {
			t.Errorf("other picking: %+v", res)
		}
	})
	t.Run("validated first, then delivered", func(t *testing.T) {
		t.Parallel()
		run(t, await, []step{reserved, loaded,
			{in: in(event.PickingValidated, 3, validated), outcome: "applied", state: shipment.Loaded},
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
		})
	})
	t.Run("validated under an open exception waits for it", func(t *testing.T) {
		t.Parallel()
		sh := run(t, await, []step{reserved, loaded,
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered},
			{in: inID("exc", event.ShipmentException, 301, `{"category":"damaged","exception_id":"EXC-1"}`), outcome: "applied", state: shipment.Exception},
			{in: in(event.PickingValidated, 302, validated), outcome: "applied", state: shipment.Exception},
			{in: inID("res", event.ShipmentException, 303, `{"category":"damaged","exception_id":"EXC-1","status":"resolved"}`), outcome: "applied", state: shipment.Delivered,
				actions: []string{shipment.ActionInvoicePrepare}},
		})
		if !sh.Billable {
			t.Errorf("not billable: %s", sh.BlockedReason)
		}
	})
	t.Run("not awaited: billable at delivery, and a report is recorded", func(t *testing.T) {
		t.Parallel()
		p := shipment.Policy{AutoRelease: true}
		sh := run(t, p, []step{reserved, loaded,
			{in: in(event.ShipmentDelivered, 300, delivered), outcome: "applied", state: shipment.Delivered, actions: []string{shipment.ActionInvoicePrepare}},
			{in: in(event.PickingValidated, 301, validated), outcome: "applied", state: shipment.Delivered},
		})
		if sh.Picking == nil || sh.Picking.ValidatedAt == nil {
			t.Errorf("picking record %+v", sh.Picking)
		}
	})
	t.Run("a failed proof keeps its reason when the validation comes", func(t *testing.T) {
		t.Parallel()
		early := strings.Replace(delivered, "2026-11-26T14:00:00Z", "2026-11-26T08:10:00Z", 1)
		sh := run(t, await, []step{reserved, loaded,
			{in: in(event.ShipmentDeparted, 30, `{}`), outcome: "applied", state: shipment.InTransit},
			{in: in(event.ShipmentDelivered, 300, early), outcome: "applied", state: shipment.Delivered},
			{in: in(event.PickingValidated, 301, validated), outcome: "applied", state: shipment.Delivered},
		})
		if sh.Billable || !strings.Contains(sh.BlockedReason, "before departure") {
			t.Errorf("billable %v, blocked %q: want the failed check named", sh.Billable, sh.BlockedReason)
		}
	})
	t.Run("before loading it is refused", func(t *testing.T) {
		t.Parallel()
		run(t, await, []step{reserved,
			{in: in(event.PickingValidated, 2, validated), outcome: "rejected", state: shipment.Released, reason: "released"},
		})
	})
}
