// Package trackpage serves the public tracking page of a shipment: a
// read-only HTML page, and the same as JSON for portals, behind an
// unguessable signed link that expires and can be revoked.
//
// A link is a row of tracking_links (its random id, the shipment, its
// expiry and revocation) and a token that names it:
//
//	<link id>.<expiry, Unix seconds>.<HMAC-SHA256 of both, base64url>
//
// The token itself is never stored. [Signer] makes and checks tokens with
// a constant-time comparison; [Store] keeps the links; [Service] creates,
// lists and revokes links for the API and serves GET /track/{token}. The
// page is built from a [View], which holds only what the public may see:
// a customer-facing reference, the status, milestones in local time, the
// ETA, origin and destination city and country, and the signer and time of
// the proof of delivery (its photos only when configured). It never holds
// prices, charges, invoices, internal ids, addresses or phone numbers.
//
// Every token that does not lead to a page (malformed, tampered, signed
// with another key, expired, revoked, unknown, or of a shipment that is
// gone) gets the same 404, so that nothing can be learnt by trying. Each
// client IP address has a token bucket; over it, the page answers 429 with
// Retry-After. Answers carry an ETag and Cache-Control: private with a
// short max-age, and a matching If-None-Match gets 304.
//
// A Service is safe for concurrent use; it lives as long as the server.
package trackpage
