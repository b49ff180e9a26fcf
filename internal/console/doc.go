// Package console is Waybill's web console, served by the same binary at
// /console: server-rendered html/template pages for the people who run the
// flow (dispatchers, finance, the engineer on call), readable without
// JavaScript and enhanced with a vendored htmx for live refresh.
//
// A person signs in with an API key. The key's secret is checked once and
// exchanged for a session: a random token in an HttpOnly, SameSite=Strict
// cookie (Secure over TLS), of which only a hash is stored
// (console_sessions). Every request then acts as that key as it stands
// now, so revoking or expiring the key ends its sessions at once, and the
// key's scopes decide what each page shows. Actions (review decisions,
// dead-letter replays) are not carried out here: they are sent through the
// HTTP API's own handler in process, with the session's key
// (server.WithSessionKey), so the console can never do what the key could
// not do over the API, and every action is validated and audited once.
// Every form carries the session's CSRF token, and cross-origin unsafe
// requests are refused (net/http's CrossOriginProtection).
//
// Pages: the flow overview (filtered by customer, carrier, warehouse and
// created dates), a shipment (its next gate, outbound jobs and the stored
// payloads its events came in), the review queue, open exceptions by age
// bucket, the proof-of-delivery feeds with the stored payloads per source
// and the outbound connectors (the Odoo breaker and call counts from the
// hub's Prometheus registry, each connector's recent jobs), the KPIs, and,
// for the admin scope, dead letters and source payloads with their replay.
// Reads go to the stores; error texts of jobs are shown to admin keys only.
//
// Jobs, under JobsPrefix, is River's own job UI (riverqueue.com/riverui,
// built by jobqueue.Queue.UI and handed in as Options.JobsUI), for admin
// keys only. Its changes (retry, cancel, delete; pause, resume) come from
// River UI's own script and carry no CSRF token: they must say they come
// from this origin (Sec-Fetch-Site or Origin), are limited to those River
// UI is known to make, and are recorded in the audit trail. Its pages get
// the console's Content-Security-Policy with inline styles allowed.
//
// A Console is built once with New and is safe for concurrent use.
package console
