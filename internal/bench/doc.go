// Package bench is the durable ceiling that Waybill's intake is measured
// against: a bare HTTP server that takes POST /v1/events bodies as Waybill
// does (a single CloudEvent, or a JSON array of them as a batch), stores
// every event durably and answers in Waybill's shape, with nothing else in
// between — no validation beyond reading the event's id, no dedupe, no
// processing. Whatever Waybill does per event costs what its throughput
// falls short of this server's on the same machine.
//
// # Storage
//
// With Options.DataDir the events go to SQLite (modernc.org/sqlite, journal
// WAL, synchronous FULL, as Waybill ships); with Options.DatabaseURL to
// PostgreSQL through pgx, with a multi-row INSERT per commit. Either way,
// one writer goroutine commits: requests that arrive while a transaction
// commits queue up and go into the next one together (group commit), and
// each request is answered only after the transaction that holds its events
// has committed. An answered event is on disk.
//
// # Lifecycle
//
// [New] opens the store (creating its table) and listens; [Server.Run]
// serves until its context is done, then stops taking requests, lets those
// in flight finish, commits what is queued and closes the store. [Server.Close]
// releases what New acquired for a server that never ran. [Records] reads
// back what a store holds, after the server has stopped.
//
// # Concurrency
//
// The handler is safe for concurrent use: requests meet only in the
// writer's queue.
package bench
