// Package reconcile reconciles a business day between Waybill and Odoo:
// for every shipment changed that day (delivered, invoiced, loaded…) it
// compares the delivered quantities with the customer invoice's lines, the
// loaded quantities with the picking's done move lines, and the rated
// charges with the invoice's service lines; over the day it finds invoices
// missing, duplicated or naming no delivered shipment, pickings done in
// Odoo without a loading and loadings whose picking is not done.
//
// Odoo is read in bulk, a handful of calls per 1,000 shipments: one
// search_read of the invoices by reference (plus the day's WB- invoices),
// a read of their lines, one search_read of the pickings (the day's
// shipments' and those done that day), a read each of their moves and
// move lines, and a read of the product codes; each read takes up to
// 1,000 ids (43 calls for a day of 10,000 shipments).
//
// A [Reconciler] runs a day ([Reconciler.Run]) and keeps one [Record] per
// day and warehouse in the reconciliations table. Running a day again
// while its record is open replaces the record's findings (its id stays);
// once approved or rejected, running it again returns the record as
// decided, unchanged. So the schedule, the API and the CLI may all run a
// day: there is one record.
//
// Healing: a difference is safe when repeating the normal outbound action
// cannot do harm. A billable shipment without invoice (missing_invoice,
// and no invoice recorded in Waybill) gets its invoice.prepare action
// enqueued again; a loading whose picking is open (missing_validation)
// gets its picking.validate action. Both are enqueued in the transaction
// that saves the record, and the Odoo connector finds before it creates
// (the invoice by its WB- reference, the picking's done state), so healing
// twice never bills or ships twice.
//
// Reviews: the differences that are not safe open a review for the
// finance role. They live in the reconciliation's record, not in the
// shipment review queue: several (orphan invoices, unexpected validations)
// have no shipment, and shipment reviews are decided by events that change
// the shipment, while these are decided for the day as a whole. Deciding
// the day ([Reconciler.Decide], scope finance:approve) closes them.
// Approving posts the day's draft invoices in Odoo when invoices are left
// in draft. The posting looks for drafts first, so it happens once even
// when the approval is retried after a crash; and the ids it is about to
// post are written to the open record first, so a retry after a crash
// between Odoo posting and the decision being recorded still lists them.
//
// Inventory: [Reconciler.RunInventory] compares Odoo's stock records
// with the shipments, whatever the day: open outgoing pickings against
// the shipments in progress, the reserved quantities against Odoo's
// reservation, done pickings against the loaded quantities, and returns
// and scraps against the approved exceptions that call for them
// ([InventoryTypes]). It reads Odoo in at most seven calls and keeps
// every run as an [InventoryCheck] in the inventory_checks table. A
// missing return or scrap of an approved exception is healed by enqueuing
// its take-back again (the connector finds before it creates); the other
// differences open a review for the operations role, closed by
// [Reconciler.DecideInventory]. [Reconciler.InventoryCounts] gives the
// newest check's counts to the KPIs.
//
// A Reconciler is safe for concurrent use.
package reconcile
