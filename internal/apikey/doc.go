// Package apikey issues, lists, revokes and verifies Waybill's API keys.
//
// # Keys
//
// A key as handed to a client is "wb_<id>_<secret>", or
// "wb_<label>_<id>_<secret>" when it has a label: the label (such as prod or
// test) says which environment the key belongs to, so that a key pasted in
// the wrong place is recognised; the id (12 lowercase hex characters,
// random) names the key and is not secret; it appears in listings and logs. The secret (32 random bytes, base64url without padding)
// proves possession. Only the SHA-256 of the secret is stored, so the
// plaintext is shown once, by [Store.Create], and never again. A [Key]
// carries its id, name, [Scope]s and times, never secret material, so it is
// safe to log and to return from the API. [Admin] implies every other scope.
//
// Besides its name and scopes a key may carry a label, an expiry
// ([Key.ExpiresAt]) and its own rate [Limit]. Names are unique among active
// keys (neither revoked nor expired); a revoked or expired key's name may be
// used again.
//
// # Store
//
// [NewStore] returns a [Store] on the api_keys table. [Store.Create],
// [Store.List] and [Store.Revoke] read and write the database directly.
// [Store.Verify] is on the path of every request and answers from an
// in-memory copy of the whole table (ids, secret hashes, scopes, revocation):
//
//   - the copy is reloaded when it is older than [Store.CacheTTL] (5 s by
//     default), so a key revoked by another process (the CLI) stops working
//     within that time;
//   - a presented id missing from the copy triggers one immediate reload, at
//     most once a second, so a key created by another process works at once
//     while a flood of random ids costs one query a second;
//   - Create and Revoke on the same Store invalidate the copy, so their
//     effect on that Store's Verify is immediate.
//
// Verify distinguishes malformed keys ([ErrMalformed]), keys that do not
// exist or whose secret is wrong ([ErrUnknown], the same error for both),
// revoked keys ([ErrRevoked]) and expired ones ([ErrExpired]), the last two
// reported only to a caller who knows the secret. Expiry is checked against
// the clock at every call, so an expired key is refused at once. Any other
// error means the key table could not be read.
//
// [Store.Allow] applies a key's rate limit after Verify: one token bucket
// (golang.org/x/time/rate) per key id, made on first use and dropped when a
// reload finds the key inactive. A successful Verify notes the key's last
// use in memory; [Store.Run] writes it, at most once a minute per key
// ([LastUseInterval]), so the request path never waits for a write.
// [NewContext] puts the authenticated key in a request's context and
// [LogHandler] adds it to the request's log lines (key_id, key_name,
// key_label).
//
// # Concurrency
//
// A Store is safe for concurrent use. Set CacheTTL before first use. The
// cached copy is an immutable snapshot behind an atomic pointer, so Verify on
// a fresh cache takes no lock; neither does Allow beyond its sync.Map, nor
// Verify's note of a use except once a minute per key. Reloads are serialized by a one-slot
// semaphore; a caller waiting on it gives up when its context ends, and
// callers that queued behind a reload use its result instead of reloading
// again. The semaphore is the only lock in the package.
package apikey
