// Package shipment is Waybill's canonical shipment: the pure aggregate. It
// holds the model, the state machine with its gates, the action kinds a
// change calls for, and the business questions connectors ask of a
// shipment (what to take back, what to credit, whether anything is left to
// bill). It has no database, metrics or connector code: the workflow
// package stores shipments and carries out what Apply decides.
//
// A Shipment is an aggregate kept as one document: lines with ordered,
// reserved, loaded and delivered quantities, parties and locations, the
// vehicle, milestones, proof of delivery, exceptions and charges. Every
// change comes from an event; [Shipment.Apply] is pure: given an event it
// returns the outcome (applied, late, or rejected with a reason) and the
// outbound actions the change calls for, and mutates the shipment only when
// it applies.
//
// The state vocabulary, the transition table and the exception categories
// are written once, in state.go, and documented in docs/states.md.
package shipment
