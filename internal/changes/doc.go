// Package changes puts the files that move money and intake — the rating
// rules (billing.rules_file), the source profiles (intake.sources_file)
// and the JSON mappings they name — under change control.
//
// Waybill reads the files as before, at start-up and on `waybill changes`
// commands, and keeps every version it sees in the database. The hub runs
// with the newest approved version of each. A file whose content differs
// from it becomes a pending change; a second person approves or rejects it
// (the proposer cannot approve their own change unless
// changes.allow_self_approval is set), and an approved change takes
// effect at the hub's next start. The first version of each file is
// approved implicitly. A rules change carries a what-if report: the most
// recently billed shipments rated with the approved rules and with the
// proposed ones. Every step is recorded in the audit trail.
package changes
