// Package server is Waybill's HTTP API: routing, API-key authentication
// with scopes, the read API (shipments, schemas), administration (dead
// letters, keys), health, readiness, metrics and the OpenAPI 3.1 document.
//
// Routes are declared with huma, which validates parameters and renders
// errors as RFC 9457 problem details (package problem). A handler maps the
// domain errors callers can act on to problems with a 4xx status; any other
// error is logged once, with the request's correlation id, and answered
// 500 internal without its text.
//
// The event intake, POST /v1/events, is package intake's handler mounted on
// the same mux behind the same authentication; its operation is added to
// the OpenAPI document by hand because its body is one of three media
// types.
//
// Every /v1 route needs "Authorization: Bearer <key>" with the route's
// scope; /healthz, /readyz and /metrics need none.
package server
