// Package apikey issues, lists, revokes and verifies Waybill's API keys.
//
// # Keys
//
// A key as handed to a client is "wb_<id>_<secret>": the id (12 lowercase
// hex characters, random) names the key and is not secret; it appears in
// listings and logs. The secret (32 random bytes, base64url without padding)
// proves possession. Only the SHA-256 of the secret is stored, so the
// plaintext is shown once, by [Store.Create], and never again. A [Key]
// carries its id, name, [Scope]s and times, never secret material, so it is
// safe to log and to return from the API. [Admin] implies every other scope.
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
// exist or whose secret is wrong ([ErrUnknown], the same error for both) and
// revoked keys ([ErrRevoked], reported only to a caller who knows the
// secret). Any other error means the key table could not be read.
//
// # Concurrency
//
// A Store is safe for concurrent use. Set CacheTTL before first use. The
// cached copy is an immutable snapshot behind an atomic pointer, so Verify on
// a fresh cache takes no lock. Reloads are serialized by a one-slot
// semaphore; a caller waiting on it gives up when its context ends, and
// callers that queued behind a reload use its result instead of reloading
// again. The semaphore is the only lock in the package.
package apikey
