// Package freight audits carriers' freight invoices: each invoice a
// carrier reports for a shipment (a charges.reported event with an
// invoice number, from an X12 210 or a JSON source) is compared with the
// shipment's expected cost, rated by a second rules file, the cost rules,
// in the rating package's language. The comparison is per charge type,
// with tolerances per type (an amount, a percentage of the expected
// amount, whichever allows more; see [Tolerances]).
//
// Within tolerance the invoice is approved by itself; outside, or when
// no cost rule rates the carrier or rating fails, it waits in review for
// the finance role with both calculations side by side ([Audit.Lines],
// [Audit.Charges], [Audit.ExpectedCharges]), who approve or dispute it
// with a reason ([Auditor.Decide]). An approved invoice becomes one
// vendor bill in the ERP: a vendor_bill.create action, enqueued in the
// transaction that records the approval, carries a [BillRequest] to the
// Odoo connector, which finds the bill by partner and reference before it
// creates it, so a retried or replayed job never bills twice. A disputed
// invoice is not billed.
//
// # Lifecycle
//
// The workflow calls for a freight.audit action when a carrier invoice is
// recorded on a shipment (shipment.Policy.FreightAudit). The [Auditor] is
// that action's connector: it runs in the job queue like any other, so an
// audit survives crashes and is retried. Audits live in the
// freight_audits table, one per carrier (its SCAC, else its ref) and
// invoice number: a retry finds its audit done, and a later report of the
// same invoice is kept as a repeat ([Audit.Repeats]), never audited or
// billed again.
//
// [MarginOf] works out a shipment's margin: the charges billed to its
// customer less the approved freight cost.
//
// An Auditor is safe for concurrent use; [Compare] and [MarginOf] are
// pure.
package freight
