// Package shipment is Waybill's canonical shipment: its model, its state
// machine with gates, its Store, and the Processor that applies accepted
// events to it.
//
// A Shipment is an aggregate kept as one document: lines with ordered,
// reserved, loaded and delivered quantities, parties and locations, the
// vehicle, milestones, proof of delivery, exceptions and charges. Every
// change comes from an event; [Shipment.Apply] is pure: given an event it
// returns the outcome (applied, late, or rejected with a reason) and the
// outbound actions the change calls for, and mutates the shipment only when
// it applies.
//
// The [Processor] reads accepted events in acceptance order, applies them
// in memory a batch at a time, and writes in one transaction the changed
// shipments, the events' outcomes and the outbound jobs the changes call
// for (the transactional outbox). Events of one shipment are therefore
// applied one at a time in acceptance order; many shipments are handled in
// each batch. An event that cannot be decoded or that trips a defect is
// marked failed with its reason and the batch goes on, so one broken
// shipment never holds up the others.
//
// The state vocabulary, the transition table and the exception categories
// are written once, in state.go, and documented in docs/states.md.
package shipment
