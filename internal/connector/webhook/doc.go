// Package webhook is the connector that POSTs actions, as JSON, to one HTTP
// endpoint of the operator's choice.
//
// Build a [Connector] once at start-up with [New], register it for the
// action kinds it should carry (connector.Registry.Register), and close it
// at shutdown after the job runner has stopped. A Connector is safe for
// concurrent use; Deliver makes exactly one request per call, and the job
// runner owns retries.
//
// # Request
//
// Each Deliver sends one request:
//
//	POST <Config.URL>
//	Content-Type: application/json
//	Idempotency-Key: <action.IdempotencyKey>
//	X-Correlation-ID: <action.CorrelationID>
//	traceparent: 00-<correlation id>-<random span id>-01   (only when the correlation id is a trace id)
//	Waybill-Action: <action.Kind>
//	Waybill-Attempt: <action.Attempt>
//	User-Agent: <Config.UserAgent>
//	Waybill-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>   (only when Config.Secret is set)
//
//	{"kind":"dispatch.release","shipment_id":"…","event_id":"…",
//	 "correlation_id":"…","idempotency_key":"…","payload":{…}}
//
// The body is the same on every attempt of a job; only Waybill-Attempt,
// the signature's timestamp and the traceparent's span id change.
// X-Correlation-ID falls back to the correlation id in the context when the
// action carries none, and is left out when both are empty. The payload is
// the action's payload, compacted (null when the action has none).
//
// When the correlation id is a W3C trace id (32 lowercase hex digits, not
// all zeros, as intake takes from an event's traceparent), the request also
// carries a W3C Trace Context traceparent with that trace id, a new random
// 16-hex-digit span id on every request, and the sampled flag, so the
// receiver's traces join the one the event started. Other correlation ids
// send no traceparent. With tracing on (Options.TracerProvider), each
// request is a client span instead, and its own traceparent replaces that
// one: the trace is the event flow's (whose id is the correlation id when
// that is a trace id), and the parent id is the request's span.
//
// Receivers must treat Idempotency-Key as the identity of the action: a
// request whose key they have already applied is answered with success and
// not applied again. A job is attempted again whenever its outcome is
// unknown, so duplicates are expected.
//
// # Signature
//
// When Config.Secret is set, Waybill-Signature carries a timestamp t, the
// Unix time in seconds at which the request was signed, and v1, the
// lowercase hex HMAC-SHA256, keyed with the secret, of the bytes
//
//	<t> "." <raw request body>
//
// (the decimal timestamp, a full stop, then the body exactly as received).
// To verify a request, a receiver:
//
//  1. splits the header on "," into key=value pairs, taking t and every v1
//     (unknown keys are ignored, so new schemes can be added alongside);
//  2. computes the HMAC of t + "." + body with its copy of the secret;
//  3. compares it with each v1 in constant time, and accepts if one matches;
//  4. rejects the request if t is further than a few minutes (say 5) from
//     its own clock, which bounds replays of captured requests.
//
// [Verify] does all of this; [Sign] builds a header, for receivers' tests.
//
// # Results
//
// Deliver returns nil for any 2xx response; the body is drained (at most
// 1 MiB) and discarded. Otherwise it returns an error that
// connector.Classify reads:
//
//   - 408, 425, 429, 500, 502, 503 and 504 are retryable, with the
//     response's Retry-After (delay in seconds or HTTP date, capped at
//     [RetryAfterMax]) as the hint;
//   - every other status, redirects included (they are not followed), is
//     permanent;
//   - a failure to connect or to send the request is retryable;
//   - a request that was fully sent but got no response, because the
//     connection broke or a deadline passed, is retryable and wraps
//     connector.ErrOutcomeUnknown.
//
// Status errors wrap a [*StatusError] with the status code and at most 512
// bytes of the response body. Error messages name the endpoint by host only,
// never by path or query, which may hold access tokens.
//
// # Deadlines
//
// Every request is bounded by Config.Timeout, applied to the caller's
// context, by an http.Client with the same timeout, and by transport
// timeouts on dialling, the TLS handshake and the response headers. The
// connector has its own transport, never http.DefaultClient; it honours the
// HTTP_PROXY, HTTPS_PROXY and NO_PROXY environment variables.
//
// # Metrics
//
// A Connector reports each request to the connector.Metrics in
// [Options].Metrics, labelled with Config.Name: one Metrics value is built per
// process and shared by every connector, so that several webhook connectors
// (and the other connectors) can exist side by side without registering a
// metric twice.
package webhook
