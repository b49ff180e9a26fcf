package connector_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
)

func TestActionJSON(t *testing.T) {
	t.Parallel()
	a := connector.Action{
		Kind:           shipment.ActionPickingValidate,
		ShipmentID:     "shp_1",
		EventID:        "evt_1",
		CorrelationID:  "corr_1",
		IdempotencyKey: "idem_1",
		Attempt:        3,
		Payload:        json.RawMessage(`{"picking":"WH/OUT/0001"}`),
	}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatalf("Unmarshal into map: %v", err)
	}
	wantFields := map[string]any{
		"kind":            "picking.validate",
		"shipment_id":     "shp_1",
		"event_id":        "evt_1",
		"correlation_id":  "corr_1",
		"idempotency_key": "idem_1",
		"attempt":         float64(3),
		"payload":         map[string]any{"picking": "WH/OUT/0001"},
	}
	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("JSON fields mismatch (-want +got):\n%s", diff)
	}
	var back connector.Action
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if diff := cmp.Diff(a, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestActionValidate(t *testing.T) {
	t.Parallel()
	valid := func() *connector.Action {
		return &connector.Action{Kind: shipment.ActionDispatchRelease, IdempotencyKey: "k", Attempt: 1, Payload: json.RawMessage(`{}`)}
	}
	tests := []struct {
		name    string
		action  *connector.Action
		wantErr bool
	}{
		{name: "valid", action: valid()},
		{name: "no_payload", action: func() *connector.Action { a := valid(); a.Payload = nil; return a }()},
		{name: "nil", action: nil, wantErr: true},
		{name: "unknown_kind", action: func() *connector.Action { a := valid(); a.Kind = "nope"; return a }(), wantErr: true},
		{name: "empty_key", action: func() *connector.Action { a := valid(); a.IdempotencyKey = ""; return a }(), wantErr: true},
		{name: "attempt_zero", action: func() *connector.Action { a := valid(); a.Attempt = 0; return a }(), wantErr: true},
		{name: "bad_payload", action: func() *connector.Action { a := valid(); a.Payload = json.RawMessage(`{`); return a }(), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.action.Validate()
			if got := err != nil; got != tt.wantErr {
				t.Errorf("Validate(): got error %v, want error %t", err, tt.wantErr)
			}
		})
	}
}

func TestActionValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := (&connector.Action{Kind: "nope"}).Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate(): got %v, want a joined error", err)
	}
	if got, want := len(joined.Unwrap()), 3; got != want {
		t.Errorf("Validate(): got %d problems (%v), want %d", got, err, want)
	}
}
