// Package tmssim is a simulated transport management system (TMS), served
// over real HTTP on loopback, for tests and for "serve --sandbox". It
// accepts the dispatch releases the tms connector sends, answers each with
// an assignment, and then drives the shipment through its life by POSTing
// CloudEvents back to Waybill's intake, as a real TMS with a driver app
// would.
//
// # Releases
//
//	POST /dispatches
//	Content-Type: application/json
//	Idempotency-Key: <dispatch id>
//
//	<the tms connector's dispatch payload, see package tms>
//
// The body is decoded strictly into tms.Dispatch and checked: a dispatch
// id, a shipment id fit to be a CloudEvents subject, at least one line,
// line ids present and unique, quantities with units, and at least one line
// with a reserved quantity. A bad body is answered 400 with
//
//	{"error":"invalid_dispatch","message":"…","problems":["lines[0].line_id: required", …]}
//
// With Options.Secret set, the Waybill-Signature header is verified
// (webhook.Verify) and a bad one is answered 401. The Idempotency-Key header
// (the dispatch id when it is missing; the two must agree when both are
// present) identifies the release: the first request is answered 201 with
//
//	{"dispatch_id":"…","status":"accepted",
//	 "vehicle":{"plate":"BX-472-K","type":"box_truck"},"driver":{"name":"…","phone":"…"},
//	 "route_id":"RT-20251112-KTV","planned_pickup":"…","planned_delivery":"…"}
//
// and starts the release's lifecycle. A repeat with the same key and body
// gets the same status and body (with Idempotent-Replayed: true) and starts
// nothing; the same key with another body is 409. Other paths are 404,
// other methods 405, both with a JSON error.
//
// # Lifecycle
//
// Options.Scenario turns each release into a [Plan] (default: a full
// delivery; see [FullDelivery], [PartialDelivery], [Damaged], [Refused]).
// The simulator resolves its defaults and builds every event up front, on a
// simulated timeline that starts when the release is accepted: loading 45
// minutes later (or at the start of the pickup window), departure 15
// minutes after, arrival 2 hours after that (or at the start of the
// delivery window), plus any delay; an exception 10 minutes after arrival,
// the proof of delivery 20 minutes after arrival, and a return 2 hours
// later. Times carry the offset of the location's time zone. The events are
// then POSTed, one per request, to {Options.Waybill}/v1/events as
// application/cloudevents+json with "Authorization: Bearer <Options.Key>",
// Options.Step apart in real time:
//
//   - source "tmssim"; subject the payload's shipment_id; correlationid the
//     payload's correlation_id when it is a valid one; time the simulated
//     time;
//   - id "<dispatch id>.<step>", step being assigned, loaded, departed,
//     delayed, arrived, exception, delivered or returned (a hash stands in
//     for a dispatch id too long for Waybill's 256 characters), so a resend
//     is a duplicate that Waybill recognises;
//   - data as docs/events.md describes for each type; a test validates every
//     event of every plan against internal/event's schemas and intake's
//     envelope checks.
//
// An event answered 5xx or 429, or not answered, is sent again after a
// back-off from 100ms doubling to 5s, or after the Retry-After Waybill asks
// for (at most 30s), until it is accepted or the simulator closes. 200 (a
// duplicate) and 409 (Waybill holds another event under the id, say from an
// earlier run) end it as a duplicate; any other 4xx ends it as failed, logged
// at Error, and the lifecycle goes on with the next event. [Sim.Sent]
// records how each event ended.
//
// # Faults
//
// [Faults] injects failures into the next n releases, repeats included:
// 500, 503 with Retry-After, a connection reset before the body is read, a
// dropped connection after the release was accepted, and latency.
//
// # Types and lifecycle
//
// [Sim] is the simulator and an http.Handler; [New] builds one from
// [Options] and Close stops its lifecycles. [Server] serves a Sim on a fresh
// 127.0.0.1 port ([Start]); Down closes the listener and open connections
// but keeps the releases and lets lifecycles go on, Up listens again on the
// same port, Close (idempotent) stops the server and then the Sim.
//
// # Concurrency
//
// Sim and Server are safe for concurrent use. Each accepted release runs
// one goroutine that sends its events in order; the Sim owns them, cancels
// them on Close (with cause [ErrClosed]) and waits for them. One mutex
// guards the Sim's releases and sent events and is never held while calling
// the Scenario or doing I/O; Faults has its own; Server's mutex guards its
// listener and is never held while taking the Sim's.
package tmssim
