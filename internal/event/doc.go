// Package event defines the event types Waybill accepts on POST /v1/events
// and the JSON Schemas (draft 2020-12) for the data member of each one.
//
// Events arrive as CloudEvents 1.0 in structured JSON. The intake package
// checks the envelope (specversion, id, source, type, subject, time, …); this
// package checks only data, against the schema of the event's [Type].
//
// The schemas live in schemas/<type>.json and are embedded in the binary.
// Each is a self-contained document: shared shapes (quantity, money, party,
// location, …) are repeated in every schema's $defs so that the document
// served at GET /v1/schemas/{type} needs nothing else to be used. A test
// keeps the copies identical. [Schema] returns the raw document.
//
// Main types:
//
//   - [Type] names an event type; [Types] lists them all.
//   - [Validator] holds the compiled schemas. Create one with [NewValidator]
//     at start-up and share it: it is immutable after construction and safe
//     for concurrent use by any number of goroutines.
//   - One data struct per type, named after it with a Data suffix
//     ([ShipmentPlannedData], [ShipmentTrackedData], …): the Go form of the
//     type's schema, shared shapes ([Party], [Location], [Carrier], …)
//     included. Producers fill them in and consumers decode into them;
//     [NewData] returns a new one for a type. A test checks each against
//     its schema, both ways.
//   - [CloudEvent] is how Waybill's own producers make an event: fill it
//     in and marshal it to get the structured-mode JSON intake takes.
//   - [ValidationError] is returned by [Validator.Validate] when data does not
//     match. It lists every problem as a [FieldError]: a JSON pointer relative
//     to the event envelope (so it starts with "/data") and a short message.
//     A missing required field and an unknown field are reported at the
//     pointer of the field itself, for example "/data/customer".
//
// Schemas are compiled with format assertions on, so date-time values must
// be RFC 3339 date-times with an offset; email and uri formats are checked
// too. Compilation never touches the network or the file system: every
// schema comes from the embedded files.
package event
