// Package subscription delivers accepted events to the endpoints of
// customers' portals and partners' systems, signed as Standard Webhooks
// (https://www.standardwebhooks.com), with the CloudEvents JSON of the
// event as body.
//
// A subscription names an endpoint URL, the event types it wants
// (shipment.*), a filter (customer, warehouse, carrier, or a CEL
// expression over the shipment), the fields to leave out of what it is
// sent, and its owner: a customer's subscriptions only ever receive that
// customer's shipments. The processor writes one message per subscriber
// in the transaction that applies an event (the outbox), so nothing is
// delivered for an event that did not happen. A River job per
// subscription and shipment delivers its messages in order, retrying with
// backoff for about three days, without holding up other shipments or
// endpoints.
package subscription
