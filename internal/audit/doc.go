// Package audit keeps Waybill's audit trail: an append-only log of
// business-critical decisions and changes (review decisions, replays, API
// keys, configuration at start-up) that can be verified.
//
// Each entry holds the hash of the entry before it, so the entries form a
// chain, and its own hash is signed with the server's Ed25519 key
// (Signer), whose id the entry keeps. Store.Verify walks the chain and
// names the first entry that was changed or removed; entries removed from
// the end are caught against the head row, and against an Anchor (a seq and
// hash recorded outside the database) when the head was rewritten too.
//
// Appends are serialised: AppendTx first updates the single head row, which
// PostgreSQL locks until the transaction ends, and SQLite has one writer.
// Call AppendTx inside the transaction of the change it records, so that
// both commit or neither does.
package audit
