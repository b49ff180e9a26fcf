package shipment

import "slices"

// Action kinds: what a change asks of the systems around the shipment. The
// workflow turns each into one outbound job, and a connector carries it
// out in its system.
const (
	// ActionDispatchRelease tells the target that a shipment is released
	// for dispatch.
	ActionDispatchRelease = "dispatch.release"
	// ActionPickingValidate asks the target to validate the picking of a
	// loaded shipment.
	ActionPickingValidate = "picking.validate"
	// ActionInvoicePrepare asks the target to prepare the invoice of a
	// delivered shipment.
	ActionInvoicePrepare = "invoice.prepare"
	// ActionPickingReturn asks the target to take back goods the consignee
	// refused or returned, so they are not invoiced.
	ActionPickingReturn = "picking.return"
	// ActionStockScrap asks the target to take back damaged goods and
	// scrap them, so they are neither in stock nor invoiced.
	ActionStockScrap = "stock.scrap"
	// ActionMilestoneSync tells the target about a shipment's milestones
	// (departed, delayed, arrived, delivered, exceptions) it has not heard
	// of yet.
	ActionMilestoneSync = "milestone.sync"
	// ActionDispatchUpdate sends the target an updated dispatch of a
	// shipment already released, after its route changed.
	ActionDispatchUpdate = "dispatch.update"
	// ActionFreightAudit audits a carrier's freight invoice reported for
	// the shipment against the expected cost. Waybill carries it out
	// itself (package freight).
	ActionFreightAudit = "freight.audit"
	// ActionVendorBillCreate asks the ERP to bill an approved carrier
	// invoice as one vendor bill. Its payload is the bill, not the
	// shipment.
	ActionVendorBillCreate = "vendor_bill.create"
)

// ActionInfo describes one action kind: the one table from which the
// connector registry, the configuration's action lists and the job queue
// take theirs.
type ActionInfo struct {
	Kind string
	// Job is the River job kind of its outbound jobs.
	Job string
	// ERP reports whether the ERP connector (Odoo) can take it; the others
	// go to the TMS or the webhook.
	ERP bool
	// Local reports that Waybill carries it out itself: no outside
	// system, the webhook included, may take it.
	Local bool
	// Lane is the priority lane its outbound jobs run in: LaneCritical or
	// LaneLow.
	Lane string
}

// Priority lanes of outbound work, the most urgent first. Each lane is a
// River queue with workers of its own, so a flood in one lane does not
// delay the others.
const (
	// LaneCritical runs the work core transactions wait on: releases,
	// validations, invoices, returns, scraps and vendor bills.
	LaneCritical = "critical"
	// LaneLow runs chatter and notifications: milestones, dispatch
	// updates and the freight audit.
	LaneLow = "low"
	// LaneBackground runs Waybill's own tasks: reconciliation and
	// recovery. No action kind runs in it.
	LaneBackground = "background"
)

// Lanes returns every lane, the most urgent first. Each call returns a new
// slice.
func Lanes() []string { return []string{LaneCritical, LaneLow, LaneBackground} }

// actionTable lists every action kind once, in the order the workflow
// issues them.
var actionTable = []ActionInfo{
	{Kind: ActionDispatchRelease, Job: "dispatch_release", Lane: LaneCritical},
	{Kind: ActionDispatchUpdate, Job: "dispatch_update", Lane: LaneLow},
	{Kind: ActionPickingValidate, Job: "picking_validate", ERP: true, Lane: LaneCritical},
	{Kind: ActionInvoicePrepare, Job: "invoice_prepare", ERP: true, Lane: LaneCritical},
	{Kind: ActionPickingReturn, Job: "picking_return", ERP: true, Lane: LaneCritical},
	{Kind: ActionStockScrap, Job: "stock_scrap", ERP: true, Lane: LaneCritical},
	{Kind: ActionMilestoneSync, Job: "milestone_sync", ERP: true, Lane: LaneLow},
	{Kind: ActionFreightAudit, Job: "freight_audit", Local: true, Lane: LaneLow},
	{Kind: ActionVendorBillCreate, Job: "vendor_bill_create", ERP: true, Lane: LaneCritical},
}

// ActionTable returns every action kind with what goes with it, in the
// order the workflow issues them. The caller owns the returned slice.
func ActionTable() []ActionInfo { return slices.Clone(actionTable) }

// ActionKinds returns every action kind, sorted. Each call returns a new
// slice.
func ActionKinds() []string {
	out := make([]string, len(actionTable))
	for i, k := range actionTable {
		out[i] = k.Kind
	}
	slices.Sort(out)
	return out
}

// KnownAction reports whether kind is one of [ActionKinds].
func KnownAction(kind string) bool {
	return slices.ContainsFunc(actionTable, func(k ActionInfo) bool { return k.Kind == kind })
}
