// Package workflow runs the dispatch-to-invoice workflow: it applies
// accepted events to shipments and orders, stores them, and writes the
// outbound actions their changes call for in the same transaction (the
// transactional outbox).
//
// The flow is intake → workflow → shipment → outbox → connectors. Intake
// (package intake) accepts events durably, and has the [Processor] apply
// each group it stores in the transaction that stores it
// ([Processor.ApplyInTx]): the events are then written once, with their
// outcomes. What is left pending (after a restart or a failure, or while
// an older event waits) the processor reads in acceptance order. Either
// way it applies events in memory a batch at a time through the pure
// aggregate (package shipment), and commits in one transaction the
// changed shipments and orders, their review items, new cross-references,
// the events' outcomes and the outbound jobs. Events of one shipment are
// therefore applied one at a time in acceptance order; many shipments are
// handled in each batch. An event that cannot be decoded or that trips a
// defect is marked failed with its reason and the batch goes on, so one
// broken shipment never holds up the others.
//
// Which actions a change causes is decided here: the kinds Apply returns,
// plus a milestone sync for the milestones that systems tracking the
// shipment want to hear of (outbox.go). Connectors only decide how to carry
// an action out in their system, and report back with events.
//
// The [Store] reads what the processor wrote: shipments, orders,
// cross-references and the review queue.
package workflow
