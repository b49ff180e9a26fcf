// Package archive moves history out of the hot database into compressed,
// checksummed files, and reads it back.
//
// An [Archiver] moves, for each kind — "events" (the intake log), "payloads"
// (stored source payloads with their event links) and "audit" (the audit
// trail) — the rows older than a retention period, one UTC day at a time,
// into gzip'd JSON-lines files under its directory, one file per kind and
// day (events/2026-09-01.jsonl.gz; a day archived again later, because
// more of its rows became final, gets a further part, 2026-09-01.2.jsonl.gz).
// Each file is recorded in manifest.json with its row count, first and last
// keys and SHA-256.
//
// Nothing is lost on a crash: a day's file is written and synced first,
// then recorded in the manifest (synced), and only then are the rows it
// holds deleted, in short transactions. A manifest entry stays marked
// unpurged until its rows are gone; the next run verifies the file's
// checksum and deletes exactly the rows the file holds, and never more. A
// file written but not yet in the manifest is written again.
//
// Only finished work moves: events in a final state (never pending),
// payloads none of whose events is pending, and audit entries as a prefix
// of the chain. Sealed (encrypted) values move sealed. An archived event's
// dedupe key stays in the database (archived_events), so that an event
// sent again is still a repeat. The audit trail's last archived entry is
// its anchor (audit_anchor, and the manifest): the hot chain is verified
// from it, and the archived files' chain up to it (see [Verify]).
//
// [List], [Search] and [Restore] read the archive; Restore puts a day's
// rows back, and the next run archives them again.
//
// An Archiver, and the reading functions, lock the directory (a file lock
// on .lock) while they run, so a server's periodic run and a command never
// write the manifest at once. An Archiver is safe for concurrent use.
package archive
