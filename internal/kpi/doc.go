// Package kpi computes Waybill's business metrics from the database: the
// dispatch releases that wait too long, the deliveries not billed, the
// quantities that do not match along the way, the open exceptions by age,
// how long an invoice takes after its proof of delivery, and the revenue a
// review or a silent proof-of-delivery feed holds.
//
// Nothing is counted in memory since start: every figure is read from the
// shipments table when asked, so it is right after a restart and on any
// replica that reads the database. [KPIs.Snapshot] computes them all at
// once and reuses the result for [Options.CacheFor], so that frequent
// scrapes stay cheap; it reads only the documents of shipments in the
// states that matter (through the state index) and, for invoices, only the
// invoiced shipments that changed in the window asked about (the partial
// index shipments_invoiced).
//
// A [KPIs] is a prometheus.Collector: registered on a registry, it exports
// the snapshot as the waybill_kpi_* gauges (a snapshot that fails is
// reported as an invalid metric, and the other collectors are served). The
// web console renders the same [Snapshot], and [KPIs.Daily] gives its
// charts a series per day.
//
// # Definitions
//
// Ages are measured on [Options.Now] against the times the events carried
// (when the shipment was reserved, when the proof of delivery was signed,
// when the invoice was made). A shipment under an open exception counts in
// the state the exception interrupted, as the workflow does.
//
//   - Delayed release, reserved_not_released: fully reserved and not
//     released for dispatch, for longer than ReleaseDelay since its last
//     reservation. shortage: short (not fully reserved) for longer than
//     ShortageAge since its open shortage review was opened (or, without
//     one, since its last reservation).
//   - Unbilled delivery: delivered and not invoiced longer than
//     UnbilledAfter after the proof of delivery was signed, whether it
//     waits for a review, a hold or the invoice job.
//   - Inventory mismatch, counted per shipment not yet invoiced (loaded
//     up to delivered): loaded_vs_reserved, some line loaded other than
//     reserved; delivered_vs_loaded, some line delivered other than loaded.
//     The newest inventory check with Odoo ([Options.InventoryCountsFunc],
//     reconcile.Reconciler.RunInventory) gives the other kinds, one per
//     difference type: odoo_done_vs_loaded counts its done_vs_loaded
//     differences (a SKU of a picking done in Odoo with another quantity
//     than loaded), and untracked_picking, picking_not_open,
//     reservation_mismatch, missing_return, missing_scrap,
//     unexpected_return and unexpected_scrap its others. Without a check
//     they are 0.
//   - Open exception: by category, owner role and age since it was opened,
//     in the buckets 0-4h, 4-24h and over-24h.
//   - POD-to-invoice latency: invoice time minus the proof of delivery's
//     signing time, over the invoices made in the last 24 hours, as the
//     nearest-rank 50th and 95th percentiles.
//   - Revenue held: the rated value of delivered shipments not invoiced
//     whose invoice waits for an open review (a failed proof of delivery,
//     an exception, a failed rating), and of billable ones whose proof of
//     delivery came from a feed that is silent now.
//
// Values are the sum of a shipment's rated charges (the charges Waybill's
// rating rules added), per currency, in exact minor units; charges partners
// reported and the goods themselves are not included. A shipment held
// before the rating gate (its proof of delivery failed validation) has no
// rated charges yet, and so no value.
//
// Labels are bounded: categories outside the known set, owner roles other
// than the workflow's defaults and currencies that are not three upper-case
// letters are labelled other.
//
// KPIs is safe for concurrent use.
package kpi
