package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/shipment"
)

// Action is one unit of outbound work: what to tell which target about which
// shipment. Its JSON form is the outbound job's arguments.
//
// Every field but Attempt is fixed when the job is inserted and stays the
// same on every attempt of that job, which is what lets a connector and its
// target recognise a repeat.
type Action struct {
	// Kind is what to do, one of shipment.ActionKinds.
	Kind string `json:"kind"`
	// ShipmentID is the shipment the action is about.
	ShipmentID string `json:"shipment_id"`
	// EventID is the id of the event whose processing produced the action.
	EventID string `json:"event_id"`
	// CorrelationID is the correlation id of that event; connectors send it
	// to the target (for HTTP, in the X-Correlation-ID header).
	CorrelationID string `json:"correlation_id"`
	// IdempotencyKey identifies the action across attempts: the target must
	// apply an action with a key it has already applied at most once.
	IdempotencyKey string `json:"idempotency_key"`
	// Attempt is the 1-based number of the current attempt of the job. The
	// runner sets it before each Deliver; it is not stored with the job.
	Attempt int `json:"attempt,omitempty"`
	// Payload is the action's data in canonical JSON; its shape depends on
	// Kind.
	Payload json.RawMessage `json:"payload,omitempty"`
	// NotBefore, when set, is the earliest time the action is carried out:
	// actions synced in batches wait for the end of their interval.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Traceparent is the W3C traceparent of the span that applied the
	// event, when tracing was on: the job's span continues the event's
	// trace from it, after a restart too. Empty otherwise.
	Traceparent string `json:"traceparent,omitempty"`
}

// Validate reports every problem that makes a unusable by any connector: an
// unknown kind, an empty idempotency key, an attempt below 1 or a payload
// that is not valid JSON. A connector given an invalid action returns a
// permanent error.
func (a *Action) Validate() error {
	if a == nil {
		return errors.New("nil action")
	}
	var errs []error
	if !shipment.KnownAction(a.Kind) {
		errs = append(errs, fmt.Errorf("unknown action kind %q", a.Kind))
	}
	if a.IdempotencyKey == "" {
		errs = append(errs, errors.New("empty idempotency key"))
	}
	if a.Attempt < 1 {
		errs = append(errs, fmt.Errorf("attempt %d is below 1", a.Attempt))
	}
	if len(a.Payload) > 0 && !json.Valid(a.Payload) {
		errs = append(errs, errors.New("payload is not valid JSON"))
	}
	return errors.Join(errs...)
}
