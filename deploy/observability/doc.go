// Package observability holds no code: it is the home of Waybill's
// monitoring files and of the test that keeps them true to the code.
//
//   - prometheus/alerts.yml: the alert rules, each with a severity and a
//     runbook_url into docs/runbooks.md;
//   - grafana/waybill.json: the dashboard, a technical row and a business
//     row (the waybill_kpi_* gauges of internal/kpi).
//
// The test parses both, checks their structure, and checks that every
// waybill_* metric they name is one a hub registers, so that a renamed
// metric or a typo fails the build rather than an alert that never fires.
package observability
