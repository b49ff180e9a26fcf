// Package sqldb opens Waybill's database and owns its schema.
//
// Waybill runs on one of two engines: an embedded SQLite file in WAL mode
// (the default, no services needed) or PostgreSQL. [Open] returns a [DB]: a
// *sql.DB plus the [Dialect] that holds every difference between the engines
// (placeholders, capability flags). Queries are written once with "?"
// placeholders and passed through [Dialect.Rebind] when a Store is built, so
// no other package branches on the engine.
//
// The schema is one numbered migration sequence kept in lockstep for both
// engines (migrations/sqlite and migrations/postgres share every version
// number and name; a test checks it). [DB.Migrate] applies it together with
// River's own migrations, at `serve` start-up and by `waybill migrate`.
//
// SQLite is opened with a single connection: River's SQLite driver needs it,
// and one writer with group commit is faster than several writers contending
// for SQLite's lock. Keep transactions short.
package sqldb
