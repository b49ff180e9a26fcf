// Package tracking is the canonical model of what carriers, visibility
// platforms and EDI partners report about a shipment, and the rules that
// normalise their values into it.
//
// An [Event] is one tracking event: a milestone with a status from the
// canonical vocabulary ([Status]), an ETA or appointment update, a position
// or a note, with an optional exception overlay. An [Invoice] is a
// carrier's freight invoice (X12 210), kept for freight audit against
// Waybill's own rating. The mappers of each format (internal/edi/x12,
// internal/edi/edifact, internal/tracking/jsonmap) produce these values;
// [Event.CloudEvent] and [Invoice.CloudEvent] turn them into the CloudEvents
// that enter the intake path, so a carrier's status goes through the same
// idempotency, ordering and state machine as every other event.
//
// The normalisation rules are written once here: times to UTC with the
// local reading and where its zone came from ([Resolve], [X12Zone],
// [ZoneOf]), weights to kilograms keeping the raw value and unit
// ([ParseWeight]), countries to ISO 3166-1 alpha-2 ([Country]).
//
// Everything in this package is pure: no I/O, safe for concurrent use.
package tracking
