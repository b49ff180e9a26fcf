// Package relay runs Waybill's intake on a site, beside the warehouse
// devices, scanners and dispatch tools, and forwards what it accepts to
// the hub, so that they keep working while the site's link to the hub is
// down.
//
// A [Relay] owns its own database (the embedded SQLite store of the site)
// with the hub's schema: local clients post to POST /v1/events exactly as
// to the hub, with the relay's own API keys (package apikey on the relay's
// database, scope events:write), and intake parses, validates, dedupes by
// (source, id) and stores each event durably before it answers, as the
// hub does (package intake). The events table is the relay's queue: an
// event waits as pending, and the [Forwarder] marks it accepted once the
// hub has it, or rejected, with the hub's reason, when the hub refuses it
// (a dead letter).
//
// The Forwarder sends pending events in acceptance order, in batches, to
// the hub's batch endpoint with the upstream key. It sends one batch at a
// time and marks an event only after the hub's answer, so that a crash or
// a lost answer sends the batch again: the hub's (source, id) idempotency
// answers the repeat as a duplicate, and every event is in the hub
// exactly once in effect, in order per subject. Transport errors, 429 and
// 5xx answers are retried with exponential back-off and jitter, never
// sooner than the hub's Retry-After; a 4xx refusal of one event is
// recorded as a dead letter and the queue moves on; 401 and 403 on the
// request stop forwarding (state unauthorized) until the key works again,
// checked at the longest back-off.
//
// # Lifecycle
//
// [New] opens and migrates the database, claims it (one relay per data
// directory), builds intake and the forwarder and listens. [Relay.Run]
// serves until its context ends, then stops the HTTP server, lets the
// committer write what is queued, stops the forwarder and closes the
// database. [Relay.Close] releases what New acquired for a relay that
// never ran. [ReadStatus] reads the status of a relay's database, running
// or not.
//
// # Concurrency
//
// A Relay and its Forwarder are safe for concurrent use; the Forwarder's
// status is guarded by one mutex, taken for short reads and writes only.
package relay
