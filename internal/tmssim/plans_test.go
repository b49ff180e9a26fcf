package tmssim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/tmssim"
)

// planCase is one scenario and what it must produce.
type planCase struct {
	name     string
	scenario func(tmssim.Release) tmssim.Plan
	opts     tmssim.Options
	want     []event.Type
	// check inspects the events' data.
	check func(t *testing.T, data map[event.Type]json.RawMessage)
	// wantState and wantResume are where Waybill's state machine leaves
	// the shipment after applying every event.
	wantState, wantResume shipment.State
	wantBillable          bool
}

func planCases() []planCase {
	return []planCase{
		{
			name:      "full_delivery",
			scenario:  tmssim.FullDelivery(),
			want:      fullLifecycle,
			wantState: shipment.Delivered, wantBillable: true,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentLoaded], "lines", `[
					{"line_id":"5571","quantity":{"value":"120","unit":"C62"},"lots":[
						{"lot":"LOT-2025-0917","quantity":{"value":"96","unit":"C62"}},
						{"lot":"LOT-2025-1004","quantity":{"value":"24","unit":"C62"}}]},
					{"line_id":"5572","quantity":{"value":"30","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"12.5","unit":"LTR"}}]`)
				wantJSON(t, data[event.ShipmentDelivered], "pod.lines", `[
					{"line_id":"5571","quantity":{"value":"120","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"30","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"12.5","unit":"LTR"}}]`)
				var d struct {
					POD struct {
						Signer          string `json:"signer"`
						SignedAt        string `json:"signed_at"`
						SignatureSHA256 string `json:"signature_sha256"`
						Position        *struct{ Lat, Lon float64 }
					} `json:"pod"`
				}
				mustDecode(t, data[event.ShipmentDelivered], &d)
				if d.POD.Signer == "" || d.POD.SignedAt == "" || len(d.POD.SignatureSHA256) != 64 {
					t.Errorf("pod: got %+v, want signer, signed_at and a signature hash", d.POD)
				}
				if p := d.POD.Position; p == nil || abs(p.Lat-52.1027) > 0.0003 || abs(p.Lon-5.0724) > 0.0003 {
					t.Errorf("pod position: got %+v, want within ~25 m of the delivery stop 52.1027,5.0724", p)
				}
				wantJSON(t, data[event.ShipmentArrived], "location.name", `"Brouwer Horeca B.V., Utrecht"`)
				wantJSON(t, data[event.ShipmentDeparted], "location.name", `"Acme DC Rotterdam"`)
			},
		},
		{
			name:     "partial_delivery",
			scenario: tmssim.PartialDelivery(0.5),
			want: []event.Type{event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived,
				event.ShipmentException, event.ShipmentDelivered},
			wantState: shipment.Exception, wantResume: shipment.Delivered,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentDelivered], "pod.lines", `[
					{"line_id":"5571","quantity":{"value":"60","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"15","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"6.25","unit":"LTR"}}]`)
				wantJSON(t, data[event.ShipmentException], "category", `"short"`)
				wantJSON(t, data[event.ShipmentException], "lines", `[
					{"line_id":"5571","quantity":{"value":"60","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"15","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"6.25","unit":"LTR"}}]`)
			},
		},
		{
			name:     "damaged",
			scenario: tmssim.Damaged("CHR-ALU-STACK-BLK", "2"),
			want: []event.Type{event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived,
				event.ShipmentException, event.ShipmentDelivered},
			wantState: shipment.Exception, wantResume: shipment.Delivered,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentException], "category", `"damaged"`)
				wantJSON(t, data[event.ShipmentException], "lines", `[{"line_id":"5571","quantity":{"value":"2","unit":"C62"}}]`)
				wantJSON(t, data[event.ShipmentDelivered], "pod.lines", `[
					{"line_id":"5571","quantity":{"value":"118","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"30","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"12.5","unit":"LTR"}}]`)
			},
		},
		{
			name:     "damaged_unknown_sku",
			scenario: tmssim.Damaged("NO-SUCH-SKU", "1"),
			want: []event.Type{event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived,
				event.ShipmentException, event.ShipmentDelivered},
			wantState: shipment.Exception, wantResume: shipment.Delivered,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentException], "lines", `null`)
			},
		},
		{
			name:     "refused",
			scenario: tmssim.Refused(),
			want: []event.Type{event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived,
				event.ShipmentException, event.ShipmentReturned},
			wantState: shipment.Returned,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentException], "category", `"refused"`)
				wantJSON(t, data[event.ShipmentReturned], "lines", `[
					{"line_id":"5571","quantity":{"value":"120","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"30","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"12.5","unit":"LTR"}}]`)
			},
		},
		{
			name: "delayed_custom",
			scenario: func(r tmssim.Release) tmssim.Plan {
				load := tmssim.DefaultLoad(r)
				load[0].Quantity = mustQty("100", "C62")
				load[0].Lots = []tms.Lot{{Lot: "LOT-2025-0917", Quantity: mustQty("96", "C62")}, {Lot: "LOT-2025-1004", Quantity: mustQty("4", "C62")}}
				return tmssim.Plan{
					Assignment: &tms.Assignment{Carrier: &tms.Carrier{SCAC: "VDBT", Name: "Van den Berg Transport"}, TrackingRef: "VDBT4471120"},
					Loaded:     load,
					Seal:       "NL-SEAL-0048812",
					Delay:      &tmssim.Delay{Reason: "Accident on the A12 near Gouda", ReasonCode: "AF", By: 45 * time.Minute},
					Signer:     "R. Okafor",
					Remarks:    "Delivered at dock 2",
				}
			},
			want: []event.Type{event.DispatchAssigned, event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentDelayed,
				event.ShipmentArrived, event.ShipmentDelivered},
			wantState: shipment.Delivered, wantBillable: true,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.DispatchAssigned], "", `{"carrier":{"scac":"VDBT","name":"Van den Berg Transport"},"tracking_ref":"VDBT4471120"}`)
				wantJSON(t, data[event.ShipmentLoaded], "seal", `"NL-SEAL-0048812"`)
				wantJSON(t, data[event.ShipmentDelayed], "reason_code", `"AF"`)
				wantJSON(t, data[event.ShipmentDelivered], "pod.signer", `"R. Okafor"`)
				wantJSON(t, data[event.ShipmentDelivered], "pod.lines", `[
					{"line_id":"5571","quantity":{"value":"100","unit":"C62"}},
					{"line_id":"5572","quantity":{"value":"30","unit":"C62"}},
					{"line_id":"5573","quantity":{"value":"12.5","unit":"LTR"}}]`)
				var dep, del struct {
					ETA string `json:"eta"`
				}
				mustDecode(t, data[event.ShipmentDeparted], &dep)
				mustDecode(t, data[event.ShipmentDelayed], &del)
				d1, _ := time.Parse(time.RFC3339, dep.ETA)
				d2, _ := time.Parse(time.RFC3339, del.ETA)
				if d2.Sub(d1) != 45*time.Minute {
					t.Errorf("delayed eta %s, departed eta %s: want 45m later", del.ETA, dep.ETA)
				}
			},
		},
		{
			name: "other_exception_without_assigned_event",
			opts: tmssim.Options{SkipAssignedEvent: true},
			scenario: func(tmssim.Release) tmssim.Plan {
				return tmssim.Plan{Exception: &tmssim.Exception{Category: "weather", OwnerRole: "dispatch"}}
			},
			want: []event.Type{event.ShipmentLoaded, event.ShipmentDeparted, event.ShipmentArrived,
				event.ShipmentException, event.ShipmentDelivered},
			wantState: shipment.Exception, wantResume: shipment.Delivered,
			check: func(t *testing.T, data map[event.Type]json.RawMessage) {
				wantJSON(t, data[event.ShipmentException], "exception_id", `"weather-job-plan"`)
			},
		},
	}
}

// TestPlans runs each plan end to end: a released shipment goes through the
// tms connector to the simulator, whose events reach a recording intake.
// Every event must pass the event schemas (event.Validator) and intake's
// envelope checks (intake.Parse), carry the expected data, and be applied
// by Waybill's state machine in order without a rejection.
func TestPlans(t *testing.T) {
	t.Parallel()
	v, err := event.NewValidator()
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	for _, tc := range planCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := newReceiver(t)
			opts := tc.opts
			opts.Scenario = tc.scenario
			srv := startSim(t, in, opts)
			c := newConnector(t, srv, 5*time.Second, nil)
			s := released(t, "odoo:WH/OUT/00100")
			if err := c.Deliver(t.Context(), releaseAction(t, s, "job-plan")); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			sent := waitSent(t, srv, len(tc.want))
			if diff := cmp.Diff(tc.want, types(sent)); diff != "" {
				t.Fatalf("lifecycle mismatch (-want +got):\n%s", diff)
			}

			data := map[event.Type]json.RawMessage{}
			for _, se := range sent {
				data[se.Type] = se.Data
				if se.Failed || se.Status != http.StatusAccepted {
					t.Errorf("%s: got status %d failed %t (%s), want accepted by intake", se.Type, se.Status, se.Failed, se.Err)
				}
				// The same checks Waybill's intake makes, made here
				// explicitly so that a schema change fails this test.
				if err := v.Validate(se.Type, se.Data); err != nil {
					var verr *event.ValidationError
					if errors.As(err, &verr) {
						t.Errorf("%s data %s: %+v", se.Type, se.Data, verr.Errors)
					} else {
						t.Errorf("%s data: %v", se.Type, err)
					}
				}
				if _, err := intake.Parse(se.Body, v, intake.Hints{}); err != nil {
					t.Errorf("%s envelope %s: %v", se.Type, se.Body, err)
				}
			}
			if tc.check != nil {
				tc.check(t, data)
			}

			// Waybill's state machine accepts the lifecycle in order.
			policy := shipment.Policy{AutoRelease: true}
			for _, se := range sent {
				res := s.Apply(shipment.Input{EventID: se.ID, Type: se.Type, Time: se.Time.UTC(), Data: se.Data}, policy)
				if res.Outcome != shipment.OutcomeApplied {
					t.Errorf("applying %s: got %s (%s), want applied", se.Type, res.Outcome, res.Reason)
				}
			}
			if s.State != tc.wantState || s.ResumeState != tc.wantResume || s.Billable != tc.wantBillable {
				t.Errorf("shipment after the lifecycle: got state %s resume %q billable %t (%s), want %s %q %t",
					s.State, s.ResumeState, s.Billable, s.BlockedReason, tc.wantState, tc.wantResume, tc.wantBillable)
			}
		})
	}
}

func TestIntakeAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answers []intakeAnswer
		// want is how the first event (dispatch.assigned) ends.
		wantAttempts  int
		wantStatus    int
		wantFailed    bool
		wantDuplicate bool
		minElapsed    time.Duration
	}{
		{name: "5xx_then_accepted", answers: []intakeAnswer{{status: 500}, {status: 502}, {status: 503}},
			wantAttempts: 4, wantStatus: http.StatusAccepted},
		{name: "429_honours_retry_after", answers: []intakeAnswer{{status: 429, retryAfter: "1"}},
			wantAttempts: 2, wantStatus: http.StatusAccepted, minElapsed: time.Second},
		{name: "lost_reply_resend_is_duplicate", answers: []intakeAnswer{{acceptThenDrop: true}},
			wantAttempts: 2, wantStatus: http.StatusOK, wantDuplicate: true},
		{name: "conflict_moves_on", answers: []intakeAnswer{{status: 409}},
			wantAttempts: 1, wantStatus: http.StatusConflict, wantDuplicate: true},
		{name: "422_fails", answers: []intakeAnswer{{status: 422}},
			wantAttempts: 1, wantStatus: http.StatusUnprocessableEntity, wantFailed: true},
		{name: "401_fails", answers: []intakeAnswer{{status: 401}},
			wantAttempts: 1, wantStatus: http.StatusUnauthorized, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newReceiver(t)
			in.program(tt.answers...)
			srv := startSim(t, in, tmssim.Options{})
			c := newConnector(t, srv, 5*time.Second, nil)
			start := time.Now()
			if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/00200"), "job-200")); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			sent := waitSent(t, srv, len(fullLifecycle))
			if diff := cmp.Diff(fullLifecycle, types(sent)); diff != "" {
				t.Errorf("lifecycle mismatch (-want +got): the lifecycle goes on after the first event\n%s", diff)
			}
			first := sent[0]
			if first.Attempts != tt.wantAttempts || first.Status != tt.wantStatus || first.Failed != tt.wantFailed || first.Duplicate != tt.wantDuplicate {
				t.Errorf("first event: got attempts %d status %d failed %t duplicate %t, want %d %d %t %t",
					first.Attempts, first.Status, first.Failed, first.Duplicate, tt.wantAttempts, tt.wantStatus, tt.wantFailed, tt.wantDuplicate)
			}
			if tt.wantFailed && first.Err == "" {
				t.Error("failed event: got no Err, want the reason")
			}
			if elapsed := time.Since(start); elapsed < tt.minElapsed {
				t.Errorf("lifecycle took %v, want at least the %v Retry-After", elapsed, tt.minElapsed)
			}
			wantStored := len(fullLifecycle)
			if tt.wantFailed || tt.wantStatus == http.StatusConflict {
				wantStored--
			}
			if got := len(in.events()); got != wantStored {
				t.Errorf("intake stored %d events, want %d", got, wantStored)
			}
		})
	}
}

func TestEventIDsForLongDispatchIDs(t *testing.T) {
	t.Parallel()
	in := newReceiver(t)
	srv := startSim(t, in, tmssim.Options{})
	c := newConnector(t, srv, 5*time.Second, nil)
	long := fmt.Sprintf("job-%0300d", 1)
	if err := c.Deliver(t.Context(), releaseAction(t, released(t, "odoo:WH/OUT/00300"), long)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	sent := waitSent(t, srv, len(fullLifecycle))
	seen := map[string]bool{}
	for _, se := range sent {
		if len(se.ID) > 256 || seen[se.ID] || se.Status != http.StatusAccepted {
			t.Errorf("event %s (%d characters, status %d): want a unique id of at most 256 characters, accepted", se.ID, len(se.ID), se.Status)
		}
		seen[se.ID] = true
	}
}

// wantJSON checks the member at a dotted path of raw ("" for raw itself)
// against want, as JSON values.
func wantJSON(t *testing.T, raw json.RawMessage, path, want string) {
	t.Helper()
	var got any
	mustDecode(t, raw, &got)
	for _, k := range splitPath(path) {
		m, _ := got.(map[string]any)
		got = m[k]
	}
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("%s of %s mismatch (-want +got):\n%s", path, raw, diff)
	}
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	var out []string
	start := 0
	for i := range len(p) {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

func mustDecode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}

func mustQty(v, unit string) quantity.Quantity {
	q, err := quantity.Parse(v, unit)
	if err != nil {
		panic(err)
	}
	return q
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
