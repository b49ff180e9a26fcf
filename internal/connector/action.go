package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Action kinds: what a connector is asked to do. An outbound job carries one
// of them.
const (
	// KindDispatchRelease tells the target that a shipment is released for
	// dispatch.
	KindDispatchRelease = "dispatch.release"
	// KindPickingValidate asks the target to validate the picking of a loaded
	// shipment.
	KindPickingValidate = "picking.validate"
	// KindInvoicePrepare asks the target to prepare the invoice of a
	// delivered shipment.
	KindInvoicePrepare = "invoice.prepare"
	// KindPickingReturn asks the target to take back goods the consignee
	// refused or returned, so they are not invoiced.
	KindPickingReturn = "picking.return"
	// KindStockScrap asks the target to take back damaged goods and scrap
	// them, so they are neither in stock nor invoiced.
	KindStockScrap = "stock.scrap"
	// KindMilestoneSync tells the target about a shipment's milestones
	// (departed, delayed, arrived, delivered, exceptions) it has not heard
	// of yet.
	KindMilestoneSync = "milestone.sync"
	// KindDispatchUpdate sends the target an updated dispatch of a
	// shipment already released, after its route changed.
	KindDispatchUpdate = "dispatch.update"
)

// KindInfo describes one action kind: the one table from which the
// connector registry, the configuration's action lists and the job queue
// take theirs.
type KindInfo struct {
	Kind string
	// Job is the River job kind of its outbound jobs.
	Job string
	// ERP reports whether the ERP connector (Odoo) can take it; the others
	// go to the TMS or the webhook.
	ERP bool
}

// kindTable lists every action kind once, in the order the workflow issues
// them.
var kindTable = []KindInfo{
	{Kind: KindDispatchRelease, Job: "dispatch_release"},
	{Kind: KindDispatchUpdate, Job: "dispatch_update"},
	{Kind: KindPickingValidate, Job: "picking_validate", ERP: true},
	{Kind: KindInvoicePrepare, Job: "invoice_prepare", ERP: true},
	{Kind: KindPickingReturn, Job: "picking_return", ERP: true},
	{Kind: KindStockScrap, Job: "stock_scrap", ERP: true},
	{Kind: KindMilestoneSync, Job: "milestone_sync", ERP: true},
}

// KindTable returns every action kind with what goes with it, in the order
// the workflow issues them. The caller owns the returned slice.
func KindTable() []KindInfo { return slices.Clone(kindTable) }

// Kinds returns every known action kind, sorted. Each call returns a new
// slice.
func Kinds() []string {
	out := make([]string, len(kindTable))
	for i, k := range kindTable {
		out[i] = k.Kind
	}
	slices.Sort(out)
	return out
}

// KnownKind reports whether kind is one of [Kinds].
func KnownKind(kind string) bool {
	return slices.ContainsFunc(kindTable, func(k KindInfo) bool { return k.Kind == kind })
}

// Action is one unit of outbound work: what to tell which target about which
// shipment. Its JSON form is the outbound job's arguments.
//
// Every field but Attempt is fixed when the job is inserted and stays the
// same on every attempt of that job, which is what lets a connector and its
// target recognise a repeat.
type Action struct {
	// Kind is what to do, one of the Kind constants.
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
	if !KnownKind(a.Kind) {
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
