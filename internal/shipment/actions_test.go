package shipment_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/shipment"
)

func TestActionKinds(t *testing.T) {
	t.Parallel()
	want := []string{"dispatch.release", "dispatch.update", "freight.audit", "invoice.prepare", "milestone.sync", "picking.return", "picking.validate", "stock.scrap", "vendor_bill.create"}
	got := shipment.ActionKinds()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ActionKinds() mismatch (-want +got):\n%s", diff)
	}
	got[0] = "changed"
	if again := shipment.ActionKinds(); again[0] != want[0] {
		t.Errorf("ActionKinds()[0] after modifying an earlier result: got %q, want %q", again[0], want[0])
	}
	for _, k := range want {
		if !shipment.KnownAction(k) {
			t.Errorf("KnownAction(%q): got false, want true", k)
		}
	}
	if shipment.KnownAction("shipment.teleport") {
		t.Errorf("KnownAction(%q): got true, want false", "shipment.teleport")
	}
}
