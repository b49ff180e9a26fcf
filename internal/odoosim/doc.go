// Package odoosim is a faithful in-memory simulator of the Odoo external API (versions 16, 17, 18
// and 19), served over real HTTP on loopback for tests and for "serve --sandbox".
//
// It answers the same requests as a real Odoo with the same envelopes, HTTP statuses, error objects,
// wizard actions and return values, as recorded in the fixtures under shared/fixtures/odoo18 and
// odoo19 and described in reference/odoo-api.md:
//
//   - POST /jsonrpc: services common (version, login, authenticate), object (execute_kw, execute)
//     and db (list), with Odoo's transport errors (400/415 HTML) and error envelopes (code 200 up to
//     18, 0 on 19).
//   - POST /web/webclient/version_info (JSON-RPC route) and GET /web/version, /json/version (19 only).
//   - POST /xmlrpc/2/{common,object,db}: the same services over XML-RPC, with Odoo's fault codes 1–4
//     and the "cannot marshal None" fault for methods returning None.
//   - POST /json/2/<model>/<method> with a bearer API key (19 only; 18 answers 200 HTML as the
//     recorded 18.0 server does, 16 and 17 404 HTML).
//
// # Types
//
// Sim is the simulator and an http.Handler. New builds one from Options; the version profile decides
// field names (the 18 and 19 field catalogues come from the recorded fields_get dumps, 16 and 17 are
// derived from 18 by the documented differences), method names and wizard flows. Demo reports the ids
// of the demo records. Faults injects transport and database failures. Server serves a Sim on a
// fresh 127.0.0.1 port (Start) and can go Down and come back Up on the same port.
//
// The simulated ORM keeps records in memory: generic methods (search, search_read, search_count,
// read, create, write, unlink, fields_get, name_search, default_get, message_post) with Odoo domains
// and value encoding, and the logistics models: partners, products, warehouses, locations, quants,
// lots, carriers, sale orders, pickings, moves and move lines, returns, scrap, customer invoices and
// the wizards in between (SMS, backorder, immediate transfer on 16, invoicing, order cancel).
// Inventory adjustments work as over RPC on 16–19: stock.quant create with inventory_quantity under
// the context inventory_mode, then action_apply_inventory. A scrap checks the quantity of its
// product and lot at exactly its source location, as Odoo's strict check does, and answers with
// the stock.warn.insufficient.qty.scrap wizard when it lacks.
//
// Additions to the contract: Demo.InPickingTypeID and Demo.ScrapLocationID,
// Sim.SetPaymentState (test hook standing in for payments), OdooError, ErrUnsupportedVersion,
// ErrInvalidPaymentState, ErrNotPosted and ErrServerClosed.
//
// Calls counts every RPC that reached dispatch, faulted or not, keyed "model.method"; service calls
// are keyed "common.login", "db.list" and so on. Fault injections match the same model and method
// names (the service name stands in for the model of service calls).
//
// # Lifecycle
//
// New returns a ready simulator; there is nothing to close. Start returns a running Server; call
// Close (idempotent) when done. Down closes the listener and open connections but keeps the data;
// Up listens again on the same port.
//
// # Concurrency
//
// Sim is safe for concurrent use. One mutex guards the in-memory database; every RPC is a
// transaction that runs on a copy of the database and replaces it only when the call succeeds, so a
// failing call leaves nothing behind. Read-only methods run on the live data under the same mutex.
// Faults has its own mutex; Server has one for its listener state. No lock is held while waiting for
// the injected latency, and the Sim mutex is never taken while holding the Server's.
package odoosim
