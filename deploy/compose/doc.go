// Package compose holds no code: it is the home of Waybill's local,
// production-like stack (compose.yaml): one hub on PostgreSQL, Prometheus
// with the alert rules and Grafana with the dashboard of
// deploy/observability (see docs/deploy.md). The test checks the file's
// wiring: the mounted files exist, Prometheus scrapes the hub and loads
// the rules, Grafana finds the dashboard, the hub runs read-only as its
// unprivileged user, and its environment loads as the hub loads it, with
// the secrets init-secrets.sh writes.
package compose
