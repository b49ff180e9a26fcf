// Package source receives the payloads of configured sources: carriers,
// visibility platforms and EDI partners that do not speak Waybill's
// CloudEvents.
//
// A [Profile] describes one source: its id, how it authenticates (a
// vendor's HMAC signature, with two secrets valid during a rotation, or a
// Waybill API key), its format (easypost, aftership, project44, json with
// a declarative mapping, x12, edifact), its default time zone, currency
// and weight unit, and its overrides of the code tables. Profiles come from
// the sources file ([LoadFile]), validated when loaded.
//
// [Receiver] is the path every payload takes, whether it came by webhook,
// by POST of an EDI file or from a watched folder: verify, map with
// [Profile.Map], submit the resulting events through the same
// intake.Emitter as every other event, so they get the same idempotency,
// correlation and per-shipment ordering, then store the raw bytes with
// what became of them, linked to the events ([Store]). The sender hears
// success only when both are durable. [Watcher] polls folders of EDI files
// and moves each one to done/ or failed/.
//
// [Profile.Map] is pure: `waybill intake map` uses it to show what a file
// becomes, touching nothing.
package source
