// Package problem is Waybill's API error: RFC 9457 problem details with a
// stable code from one catalogue ([Codes]), written as
// application/problem+json. docs/errors.md is generated from the catalogue.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase prefixes each code to make the problem's type URI.
const TypeBase = "https://waybill.dev/problems/"

// Code is a stable, documented error code.
type Code string

// The catalogue of codes.
const (
	CodeBadRequest           Code = "bad-request"
	CodeInvalidEvent         Code = "invalid-event"
	CodeUnsupportedMediaType Code = "unsupported-media-type"
	CodeTooLarge             Code = "too-large"
	CodeIdempotencyConflict  Code = "idempotency-conflict"
	CodeBacklogFull          Code = "backlog-full"
	CodeShuttingDown         Code = "shutting-down"
	CodeStorageUnavailable   Code = "storage-unavailable"
	CodeUpstreamUnavailable  Code = "upstream-unavailable"
	CodeUnauthorized         Code = "unauthorized"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not-found"
	CodeConflict             Code = "conflict"
	CodeInternal             Code = "internal"
	CodeRejectedPayload      Code = "rejected-payload"
	CodeUnknownSource        Code = "unknown-source"
	CodeRateLimited          Code = "rate-limited"
	CodeMethodNotAllowed     Code = "method-not-allowed"
)

// Entry documents one code.
type Entry struct {
	Code   Code
	Status int
	Title  string
	When   string
}

// Codes is the catalogue, in documentation order.
var Codes = []Entry{
	{CodeBadRequest, 400, "Bad request", "The request is malformed: not JSON, a batch that is not an array, a bad query parameter or cursor."},
	{CodeUnauthorized, 401, "Unauthorized", "No API key, a malformed, unknown, revoked or expired key (the detail says which of the last two). The response carries WWW-Authenticate: Bearer."},
	{CodeForbidden, 403, "Forbidden", "The key is valid but lacks the scope the route needs, or an event is of a type only Waybill emits (picking.validated, shipment.invoiced, review.decided)."},
	{CodeNotFound, 404, "Not found", "The shipment, schema, dead letter or key does not exist."},
	{CodeMethodNotAllowed, 405, "Method not allowed", "The route exists but not with this method (OPTIONS included: the API serves no cross-origin requests). The Allow header lists the methods it has."},
	{CodeIdempotencyConflict, 409, "Idempotency conflict", "An event's (source, id) was already accepted with a different payload."},
	{CodeConflict, 409, "Conflict", "The request collides with the current state (e.g. replaying a dead letter whose connector is no longer configured)."},
	{CodeTooLarge, 413, "Payload too large", "The body exceeds intake.max_body_bytes."},
	{CodeUnsupportedMediaType, 415, "Unsupported media type", "POST /v1/events takes application/cloudevents+json, application/json or application/cloudevents-batch+json. Other routes with a body take JSON, sent as application/json or with no Content-Type (curl -d alone sends application/x-www-form-urlencoded)."},
	{CodeUnknownSource, 404, "Unknown source", "No source profile in intake.sources_file has the id in /v1/sources/{source}/…."},
	{CodeRejectedPayload, 422, "Rejected payload", "Nothing could be taken from a source's payload: an EDI envelope or segment error, a mapping error, no key to deduplicate or correlate it. The payload is stored (payload_id) for inspection and replay; errors locate the problem; an X12 payload's 997 rejecting it is in ack."},
	{CodeInvalidEvent, 422, "Invalid event", "The event breaks the CloudEvents envelope rules or its type's JSON Schema; errors lists every problem with its JSON pointer."},
	{CodeBacklogFull, 429, "Backlog full", "More than intake.max_backlog accepted events wait to be processed. Nothing was stored; retry after Retry-After seconds."},
	{CodeRateLimited, 429, "Rate limited", "The API key sent more requests than its rate limit allows (its own, or server.key_rate and server.key_burst). Nothing was done; retry after Retry-After seconds. Other keys are not affected."},
	{CodeInternal, 500, "Internal error", "A defect; the log has the details under the request's correlation id."},
	{CodeShuttingDown, 503, "Shutting down", "The server is stopping; nothing was stored. Retry after Retry-After seconds (another instance or after restart)."},
	{CodeStorageUnavailable, 503, "Storage unavailable", "The database could not store the event; nothing was acknowledged. Retry."},
	{CodeUpstreamUnavailable, 502, "Upstream unavailable", "A system Waybill had to read for the request (Odoo, for a reconciliation) was unreachable or failing; nothing was recorded. Retry once it answers."},
}

// FieldError locates one problem in the request.
type FieldError struct {
	// Location is a JSON pointer into the request body (for events:
	// "/data/lines/0/quantity/unit"), or "query.limit", "path.id".
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Details is an RFC 9457 problem document.
type Details struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     Code         `json:"code"`
	Errors   []FieldError `json:"errors,omitempty"`
	// PayloadID names the stored payload of a source request.
	PayloadID string `json:"payload_id,omitempty"`
	// Ack is the X12 997 of a rejected X12 payload.
	Ack string `json:"ack,omitempty"`
}

func (d *Details) Error() string { return string(d.Code) + ": " + d.Detail }

// GetStatus lets the HTTP framework use the status.
func (d *Details) GetStatus() int { return d.Status }

// ContentType lets the HTTP framework pick the media type.
func (d *Details) ContentType(string) string { return ContentType }

// Fill sets Type and Title from the catalogue when empty.
func (d *Details) Fill() *Details {
	for _, e := range Codes {
		if e.Code == d.Code {
			if d.Title == "" {
				d.Title = e.Title
			}
			break
		}
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.Type == "" {
		d.Type = TypeBase + string(d.Code)
	}
	return d
}

// Write writes d as application/problem+json.
func Write(w http.ResponseWriter, r *http.Request, d *Details) {
	d.Fill()
	if d.Instance == "" && r != nil {
		d.Instance = r.URL.Path
	}
	b, _ := json.Marshal(d)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(d.Status)
	w.Write(append(b, '\n'))
}
