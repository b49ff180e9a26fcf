// Package verify verifies the signatures that logistics providers put on
// the webhooks they send to Waybill.
//
// # Verifiers
//
// [New] builds a [Verifier] for one provider scheme ("kind") and one or more
// secrets:
//
//   - "easypost": header X-Hmac-Signature, value "hmac-sha256-hex=<hex>",
//     the HMAC-SHA256 of the raw body keyed with the secret's UTF-8 bytes.
//     EasyPost NFKD-normalises the secret; this package does not implement
//     NFKD, so it accepts only ASCII secrets (which NFKD leaves unchanged).
//   - "aftership": header aftership-hmac-sha256, the base64 HMAC-SHA256 of the
//     raw body keyed with the secret's bytes.
//   - "standard": Standard Webhooks. Headers webhook-id, webhook-timestamp
//     (Unix seconds) and webhook-signature, which holds one or more
//     space-separated "v1,<base64>" signatures of "{id}.{timestamp}.{body}".
//     The secret is "whsec_<base64>" and the HMAC key is the decoded part.
//     A timestamp more than [Options.Tolerance] away from now is rejected,
//     and a webhook-id already accepted within its window is rejected as a
//     replay through a [Seen].
//
// Every verifier accepts a signature made with any of its secrets, so two
// secrets can be valid at once while one is rotated. Signatures are compared
// in constant time with [hmac.Equal]. Verify must get the raw request bytes,
// before any JSON decoding: re-encoded JSON never matches.
//
// # Errors
//
// Verification failures wrap one of [ErrMissingSignature], [ErrBadSignature],
// [ErrTimestampOutOfTolerance], [ErrReplayed] or [ErrMalformed]; test them
// with [errors.Is]. Any other error (from a [Seen]) means verification could
// not be completed. Error messages never contain secrets or signatures.
//
// # Concurrency
//
// Verifiers are immutable after [New] and safe for concurrent use. A
// [MemorySeen] is safe for concurrent use; other [Seen] implementations must
// be too.
package verify
