// Package intake accepts events: it parses and validates CloudEvents,
// resolves their correlation id, and stores them durably, at most once per
// (source, id), through a group committer.
//
// The pieces, in the order a request meets them:
//
//   - [Parse] turns one CloudEvent (structured JSON mode) into an [Event],
//     checking the envelope in code and the data against its type's JSON
//     Schema (package event), decodes the data into its type's struct, and
//     reports every problem with its JSON pointer as a [*InvalidError].
//   - [Committer] collects the events of concurrent requests and writes them
//     in one transaction (group commit), so durable throughput does not
//     fall to one fsync per request. With an [ApplyFunc] (the workflow's)
//     the new events are applied in that transaction and stored with their
//     outcomes, so an event and its effects are one write.
//     [Committer.Submit] returns only once the transaction is committed.
//   - [Store] owns the events table: the durable intake log, the dedupe key
//     and, once events are processed, each shipment's timeline.
//   - [Handler] serves POST /v1/events (single events and batches) and
//     applies back-pressure: when more than the configured number of
//     accepted events wait to be processed it answers 429 with
//     Retry-After, before storing anything.
//
// [Backlog] counts accepted-but-unprocessed events; intake adds to it and
// the shipment processor takes from it.
//
// On a site relay (package relay) the events table is the queue of events
// to forward to the hub: [Store.PendingStored] reads the waiting events as
// received, [Store.MarkTx] records the hub's answers and
// [Store.Summarize] counts them by state.
package intake
