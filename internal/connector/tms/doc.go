// Package tms is the connector that releases shipments for dispatch to a
// transport management system (TMS): for each dispatch.release action it
// POSTs one canonical dispatch payload, built from the shipment the action
// carries, to one HTTP endpoint.
//
// Build a [Connector] once at start-up with [New], register it for
// shipment.ActionDispatchRelease (it refuses every other kind with a
// permanent error wrapping [ErrUnsupportedKind]), and close it at shutdown
// after the job runner has stopped. A Connector is safe for concurrent use;
// Deliver makes exactly one request per call, and the job runner owns
// retries.
//
// # Request
//
// Each Deliver sends one request, with the webhook connector's conventions:
//
//	POST <Config.URL>
//	Content-Type: application/json
//	Idempotency-Key: <action.IdempotencyKey>        (= dispatch_id)
//	X-Correlation-ID: <action.CorrelationID>
//	Waybill-Action: dispatch.release
//	Waybill-Attempt: <action.Attempt>
//	User-Agent: <Config.UserAgent>
//	Waybill-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">   (only when Config.Secret is set)
//
// The signature is the webhook connector's: receivers verify it with
// webhook.Verify. X-Correlation-ID falls back to the correlation id in the
// context when the action carries none, and is left out when both are empty.
// The body is the same on every attempt of a job (the action's payload is
// fixed when the job is inserted); only Waybill-Attempt and the signature's
// timestamp change. A TMS must treat Idempotency-Key as the identity of the
// dispatch: a repeat is answered as the first request was and not applied
// again. Repeats are expected whenever an outcome is unknown.
//
// # Dispatch payload
//
// The body is a [Dispatch] in JSON. It is built from the action's payload, a
// shipment.Shipment, but is its own format: fields are only added to it,
// never renamed. Quantities are {"value": "<decimal string>", "unit":
// "<UN/ECE Rec 20 code>"}; times are RFC 3339 with an offset; optional
// members are left out when empty.
//
//	dispatch_id       string    the action's idempotency key; the same on every attempt. Required.
//	shipment_id       string    Waybill's shipment id (canonical UUID or system:external-id): the
//	                            subject of every event the TMS sends back about it. Required.
//	correlation_id    string    the correlation id of the flow; send it back as the events'
//	                            correlationid.
//	order             string    the customer order the shipment fulfils, such as odoo:S00042.
//	customer          party     {ref, name, email, phone, vat}: who receives the goods.
//	pickup            stop      {location, window}: where and when the goods are collected (the
//	                            shipment's origin and pickup window).
//	delivery          stop      {location, window}: where and when they are delivered (the
//	                            destination and delivery window).
//	  location        location  {ref, name, address_lines[], city, postal_code, region, country
//	                            (ISO 3166-1 alpha-2), unlocode, lat, lon, timezone (IANA)}.
//	  window          window    {start, end}.
//	lines[]           line      what to carry, one per shipment line. At least one.
//	  line_id         string    stable line id; events sent back name lines by it. Required.
//	  sku             string    product code.
//	  description     string    product description.
//	  quantity        quantity  planned quantity. Required.
//	  reserved        quantity  quantity reserved for the shipment: what can be loaded. Absent
//	                            when nothing is reserved on the line (partial release).
//	  lots[]          lot       {lot, quantity}: the reserved lots the reservation comes from.
//	  weight          quantity  line weight.
//	weight            quantity  declared gross weight.
//	handling_units    quantity  handling units, for example pallets (XPX).
//	references        object    other identifiers by kind, such as {"bol": "…", "po": "…"}.
//	carrier           carrier   {ref, scac, name}: the carrier, when already chosen.
//	vehicle           vehicle   {ref, plate, type}: the vehicle, when already chosen.
//
// For example:
//
//	{"dispatch_id":"job-81:dispatch.release","shipment_id":"odoo:WH/OUT/00012",
//	 "correlation_id":"8f14e45f-ceea-467f-a0e6-a1c2b9d3e7f0","order":"odoo:S00042",
//	 "customer":{"ref":"odoo:res.partner/3141","name":"Brouwer Horeca B.V."},
//	 "pickup":{"location":{"name":"Acme DC Rotterdam","city":"Rotterdam","country":"NL"},
//	           "window":{"start":"2025-11-12T08:00:00+01:00","end":"2025-11-12T12:00:00+01:00"}},
//	 "delivery":{"location":{"name":"Brouwer Horeca B.V., Utrecht","country":"NL","lat":52.1027,"lon":5.0724}},
//	 "lines":[{"line_id":"5571","sku":"CHR-ALU-STACK-BLK","quantity":{"value":"120","unit":"C62"},
//	           "reserved":{"value":"120","unit":"C62"},
//	           "lots":[{"lot":"LOT-2025-0917","quantity":{"value":"120","unit":"C62"}}]}],
//	 "weight":{"value":"1180","unit":"KGM"},"references":{"po":"PO-88213"}}
//
// # Reply and assignment
//
// Any 2xx reply is success. Its body may carry the transport the TMS
// assigned, an [Assignment], in the form of the data of a dispatch.assigned
// event:
//
//	{"vehicle":{"plate":"BX-472-K","type":"box_truck"},
//	 "driver":{"name":"Sanne de Vries","phone":"+31 6 1234 5678"},
//	 "route_id":"RTM-UTR-20251112-A",
//	 "planned_pickup":"2025-11-12T09:30:00+01:00","planned_delivery":"2025-11-12T14:00:00+01:00"}
//
// carrier and tracking_ref are accepted too; other members are ignored. A
// reply that is not a JSON object, or has none of those members, carries no
// assignment. When [Options].OnAssigned is set and the assignment is valid (it
// decodes and passes the dispatch.assigned schema: at least one of vehicle,
// carrier and route_id), Deliver calls it; if the callback fails, Deliver
// returns a retryable error and the TMS sees the same dispatch again. An
// invalid assignment is logged as a warning and otherwise ignored: the
// dispatch itself was accepted.
//
// # Errors
//
// Deliver classifies failures for connector.Classify:
//
//   - 408, 425, 429, 500, 502, 503 and 504 are retryable, with the reply's
//     Retry-After (seconds or HTTP date, capped at [RetryAfterMax]) as the
//     hint;
//   - every other status, redirects included (they are not followed), is
//     permanent;
//   - a failure to connect or to send the request is retryable;
//   - a request that was fully sent but got no complete reply, because the
//     connection broke or a deadline passed, is retryable and wraps
//     connector.ErrOutcomeUnknown;
//   - an invalid action, another kind than dispatch.release, and a payload
//     that is not a shipment with an id and lines (wrapping
//     [ErrInvalidShipment]) are permanent and send nothing.
//
// Status errors wrap a [*StatusError]. Error messages name the endpoint by
// host only, never by path or query, which may hold access tokens.
//
// # Deadlines
//
// Every request is bounded by Config.Timeout, applied to the caller's
// context, by an http.Client with the same timeout, and by transport
// timeouts on dialling, the TLS handshake and the response headers. The
// OnAssigned callback runs with the caller's context, outside the request
// timeout. The connector has its own transport, never http.DefaultClient.
package tms
