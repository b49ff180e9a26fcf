package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// GenesisHash is the prev_hash of the first entry: 64 zeros.
var GenesisHash = strings.Repeat("0", 64)

// Actions Waybill records. Names are stable: tools filter on them.
const (
	// ActionReviewDecided is a review item decided (approve, reject,
	// resolve); the subject is the review id.
	ActionReviewDecided = "review.decided"
	// ActionDeadLetterReplayed is a dead letter replayed as a new job; the
	// subject is the dead letter's id.
	ActionDeadLetterReplayed = "dead_letter.replayed"
	// ActionPayloadReplayed is a stored source payload received again; the
	// subject is the original payload's id.
	ActionPayloadReplayed = "payload.replayed"
	// ActionKeyCreated is an API key created; the subject is its id.
	ActionKeyCreated = "key.created"
	// ActionKeyRevoked is an API key revoked; the subject is its id.
	ActionKeyRevoked = "key.revoked"
	// ActionJobsRetried, ActionJobsCancelled and ActionJobsDeleted are
	// outbound jobs retried, cancelled or deleted in River UI (the
	// console's Jobs); the subject is the job ids, comma-separated.
	ActionJobsRetried   = "jobs.retried"
	ActionJobsCancelled = "jobs.cancelled"
	ActionJobsDeleted   = "jobs.deleted"
	// ActionQueuePaused, ActionQueueResumed and ActionQueueUpdated are a
	// River queue paused, resumed or changed in River UI; the subject is
	// the queue's name.
	ActionQueuePaused  = "queue.paused"
	ActionQueueResumed = "queue.resumed"
	ActionQueueUpdated = "queue.updated"
	// ActionConfigLoaded is a start-up's configuration: hashes of the
	// effective configuration (secrets redacted) and of the files it names.
	ActionConfigLoaded = "config.loaded"
	// ActionConfigChanged names what changed since the previous start-up's
	// config.loaded.
	ActionConfigChanged = "config.changed"
	// ActionReconciliationApproved and ActionReconciliationRejected are a
	// day's reconciliation with Odoo decided by finance; the subject is
	// the reconciliation's id.
	ActionReconciliationApproved = "reconciliation.approved"
	ActionReconciliationRejected = "reconciliation.rejected"
	// ActionReconciliationRecovered is the days an outage (of Odoo or of a
	// proof-of-delivery feed) touched reconciled once it was over; the
	// subject is the cause, the details what was healed and what waits for
	// a person, per day.
	ActionReconciliationRecovered = "reconciliation.recovered"
	// ActionFreightAuditApproved and ActionFreightAuditDisputed are a
	// carrier's freight invoice in review approved (and so billed) or
	// disputed by finance; the subject is the freight audit's id.
	ActionFreightAuditApproved = "freight_audit.approved"
	ActionFreightAuditDisputed = "freight_audit.disputed"
	// ActionInventoryCheckApproved and ActionInventoryCheckRejected are an
	// inventory check with Odoo decided by operations; the subject is the
	// check's id.
	ActionInventoryCheckApproved = "inventory_check.approved"
	ActionInventoryCheckRejected = "inventory_check.rejected"
	// ActionArchiveRestored is a day of archived rows put back into the
	// database; the subject is kind/day, such as events/2026-09-01.
	ActionArchiveRestored = "archive.restored"
	// ActionTrackingLinkCreated and ActionTrackingLinkRevoked are a link
	// to a shipment's public tracking page made or revoked; the subject is
	// the link's id.
	ActionTrackingLinkCreated = "tracking_link.created"
	ActionTrackingLinkRevoked = "tracking_link.revoked"
	// ActionSubscriptionCreated, …Updated, …Deleted, …SecretRotated and
	// …Replayed are changes to an event subscription over the API; the
	// subject is the subscription's id.
	ActionSubscriptionCreated       = "subscription.created"
	ActionSubscriptionUpdated       = "subscription.updated"
	ActionSubscriptionDeleted       = "subscription.deleted"
	ActionSubscriptionSecretRotated = "subscription.secret_rotated"
	ActionSubscriptionReplayed      = "subscription.replayed"
)

// Entry is one record of the audit trail.
type Entry struct {
	// Seq numbers the entries from 1, without gaps.
	Seq int64 `json:"seq"`
	// Time is when it was recorded, UTC, to the microsecond.
	Time time.Time `json:"time"`
	// Actor is who did it: key:<name> for an API key, cli:<os user> for a
	// command, system for Waybill itself.
	Actor string `json:"actor"`
	// Action is what was done, such as key.created.
	Action string `json:"action"`
	// Subject is what it was done to, such as a key id; may be empty.
	Subject string `json:"subject"`
	// Details is a JSON object with the action's particulars.
	Details json.RawMessage `json:"details"`
	// PrevHash is the hash of the entry before (GenesisHash for the
	// first).
	PrevHash string `json:"prev_hash"`
	// Hash is the SHA-256, hex, of the entry's canonical encoding
	// (CanonicalHash).
	Hash string `json:"hash"`
	// KeyID names the Ed25519 key that signed Hash.
	KeyID string `json:"key_id"`
	// Signature is the Ed25519 signature of Hash's 32 bytes, hex.
	Signature string `json:"signature"`
}

// CanonicalHash computes the entry's hash from its fields: SHA-256 over
// the line "waybill.audit.v1", then for each of seq, time (Unix
// microseconds), actor, action, subject, details and prev_hash its length in
// bytes, a colon, its bytes and a newline. Numbers are decimal. KeyID and
// Signature are not hashed: the signature is over the hash.
func (e *Entry) CanonicalHash() string {
	h := sha256.New()
	h.Write([]byte("waybill.audit.v1\n"))
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10),
		strconv.FormatInt(e.Time.UnixMicro(), 10),
		e.Actor, e.Action, e.Subject, string(e.Details), e.PrevHash,
	} {
		h.Write([]byte(strconv.Itoa(len(f))))
		h.Write([]byte{':'})
		h.Write([]byte(f))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
