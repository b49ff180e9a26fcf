// Package odoo is Waybill's client for Odoo 16 to 19: the external API
// transports, Odoo's errors sorted into the connector error classes, the
// field and method names that change between versions, and the logistics
// operations the hub performs (reading changed deliveries, reserving and
// validating pickings, returns, scrap, freight charges and invoices).
//
// # Types
//
//   - [Client] talks to one Odoo database. [New] builds it from a
//     [Config].
//   - [Profile] holds the version-dependent names (for example the shipped
//     quantity is stock.move.line qty_done on 16 and quantity+picked from
//     17; the return wizard method is create_returns up to 17 and
//     action_create_returns from 18; sale order lines use product_uom_id
//     and tax_ids on 19). Operations take every raw field name from it, so
//     callers only see domain types: [Picking], [Move], [MoveLine],
//     [Reservation], [ValidateResult], [Return], [Scrap], [SaleOrder],
//     [Invoice].
//   - [Error] is a failed call: Odoo's error object (error.data.name on
//     JSON-RPC, the body of a JSON-2 error) or an HTTP or transport
//     failure, sorted into an [ErrorKind]. Every error the client returns
//     is wrapped in connector.Permanent or connector.Retryable by its kind,
//     so connector.Classify decides from the type alone; errors.Is matches
//     the ErrXxx sentinels, and a request that was sent but got no usable
//     reply also matches connector.ErrOutcomeUnknown.
//   - [Metrics] holds the Prometheus metrics; one per process.
//   - [Connector] carries out the workflow's actions in Odoo. A milestone
//     sync waits ConnectorOptions.MilestoneSyncWindow after it is first
//     tried (in memory, with connector.Waiting, no call), then notes every
//     milestone of the shipment as ConnectorOptions.Shipment returns it
//     that the picking does not show yet, in one message_post, so the syncs
//     of the milestones reported with it find theirs noted and call nothing.
//
// # Operations
//
// Domain operations (calls each, measured against the simulator):
// [Client.ChangedPickings] (one search_read per page of pickings, then one
// read each for moves, move lines and sale orders: 4 for 100 pickings),
// [Client.Picking], [Client.PickingReservation] (3), [Client.AssignPicking]
// (1), [Client.PickingToShip] (1 without lots), [Client.ValidatePicking]
// (4 for 3 lines without lots, 7 with lots),
// [Client.ReturnPicking], [Client.Scrap], [Client.SetTrackingRef] (1),
// [Client.PostMessage], [Client.PostMessages] (one call for the notes a
// record does not show yet), [Client.PrefetchNotes] (1 for many records),
// [Client.EnsureSaleOrder], [Client.SaleOrder],
// [Client.AddChargeLines] (at most 3), [Client.InvoiceDelivered] (6 with
// posting, one more when the order has invoices),
// [Client.InvoiceDeliveredFirst] (5), [Client.FindInvoice] (1); for the
// inventory reconciliation, [Client.ReconcilePickings] with Open (3),
// [Client.Returns] (2) and [Client.Scraps] (1), reads chunked by 1000 ids. They are built on batching primitives
// that callers may use too: [Client.SearchRead] and [Client.Search] with a
// [Domain], [Client.Read], [Client.Write] on a list of ids,
// [Client.Create] with a list of values, [Client.Unlink] and
// [Client.Execute] for public business methods.
//
// # Transports
//
// Odoo 16 to 18 are driven over JSON-RPC (POST /jsonrpc, service object,
// execute_kw with the uid from common.authenticate and the API key or
// password). Odoo 19 is driven over JSON-2 (POST /json/2/<model>/<method>,
// bearer API key, X-Odoo-Database, named arguments). The version is
// detected with GET /web/version (19+) and then common.version; it never
// probes /json/2, which 18 answers with a 200 HTML page. Config.Version and
// Config.Protocol override detection (JSON-RPC still works on 19).
//
// # Lifecycle
//
// cmd/waybill builds one Client per Odoo database at start-up with [New],
// which validates the config, detects the version and, on JSON-RPC, logs
// in; it fails when Odoo cannot be reached or refuses the credentials.
// The client is then used for the life of the process and closed with
// [Client.Close] at shutdown, after the job runner has stopped. Close only
// drops idle connections and is idempotent.
//
// # Concurrency
//
// A Client is safe for concurrent use. All calls share one token-bucket
// rate limiter (Config.RateLimit, Config.Burst) and one circuit breaker:
// after Config.BreakerFailures consecutive failures that say the server is
// unreachable or failing (connection errors, timeouts, 5xx, 429,
// unparsable replies; application errors and serialization failures do
// not count, the server answered) the breaker opens and calls fail at once
// with a retryable error whose hint is the remaining cooldown; after
// Config.BreakerCooldown one probe call goes through and closes it again on
// success. Every call has the deadline Config.Timeout on top of its ctx.
//
// The operations read, decide and write over several calls, which Odoo does
// not make atomic: callers serialize work per picking and per sale order
// (the job runner does, per business key).
//
// # Idempotency
//
// The client never retries by itself; the job runner does. Every operation
// that creates something first looks for what a previous attempt may have
// created, by an idempotency reference: sale orders by client_order_ref,
// charge lines by the "[ref]" marker in their description, invoices by ref
// (adopting the draft invoice a lost create_invoices reply leaves behind),
// scraps by origin, product and lot (reusing the draft a refused attempt
// leaves, never confirming Odoo's insufficient-stock wizard), returns by
// their quantities, messages by their text or marker key;
// [Client.ValidatePicking] accepts a picking already done with the same
// quantities. So every operation may be called again after any error,
// including one wrapping connector.ErrOutcomeUnknown.
package odoo
