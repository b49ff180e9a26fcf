package shipment

import "testing"

func TestNextGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		s        Shipment
		want     string
		wantNone bool
	}{
		{name: "planned", s: Shipment{State: Planned}, want: "dispatch release"},
		{name: "short", s: Shipment{State: Short}, want: "dispatch release"},
		{name: "assigned", s: Shipment{State: Assigned}, want: "loading"},
		{name: "delayed", s: Shipment{State: Delayed}, want: "proof of delivery"},
		{name: "delivered_not_billable", s: Shipment{State: Delivered}, want: "billing"},
		{name: "delivered_billable", s: Shipment{State: Delivered, Billable: true}, want: "invoice"},
		{name: "under_exception", s: Shipment{State: Exception, ResumeState: InTransit}, want: "exception review"},
		{name: "invoiced", s: Shipment{State: Invoiced}, wantNone: true},
		{name: "cancelled", s: Shipment{State: Cancelled}, wantNone: true},
		{name: "returned", s: Shipment{State: Returned}, wantNone: true},
		{name: "closed", s: Shipment{State: Closed}, wantNone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, ok := tt.s.NextGate()
			if ok == tt.wantNone || g.Name != tt.want || (ok && g.WaitsFor == "") {
				t.Errorf("NextGate() = %+v, %v; want %q (none: %v)", g, ok, tt.want, tt.wantNone)
			}
		})
	}
	// Every state is covered: a state added later must say its gate.
	for _, st := range States() {
		s := Shipment{State: st}
		if _, ok := s.NextGate(); !ok && !st.Terminal() && st != Invoiced {
			t.Errorf("state %s has no next gate", st)
		}
	}
}
