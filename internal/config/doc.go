// Package config defines Waybill's configuration: the Config tree, its
// defaults, how it is loaded and how it is validated.
//
// # Loading
//
// Load builds a Config in layers, each overriding the one before:
//
//  1. the defaults (Default, built from the exported XxxDefault constants);
//  2. a YAML file, when a path is given;
//  3. environment variables WAYBILL_<KEY>, where KEY is the key path upper-cased
//     with "." replaced by "_" (WAYBILL_INTAKE_MAX_BACKLOG sets
//     intake.max_backlog); list values are comma-separated.
//
// Command-line flags, applied by cmd/waybill after Load, override all three;
// call Validate again after applying them.
//
// Unknown keys in the file and unknown WAYBILL_ variables are errors, except
// variables starting with WAYBILL_TEST_ (test settings) and WAYBILL_CONFIG
// (the config file path, read by cmd/waybill). Load and Validate report every
// problem at once: the returned error is an errors.Join of *KeyError values,
// each naming its key path and, when known, the file line or the environment
// variable it came from.
//
// # Parsed values
//
// Keys with a syntax of their own are held parsed: billing.operating_hours is
// an OperatingHours (minutes after midnight), billing.timezone a Zone (a
// *time.Location), and jobs.lanes, workflow.milestone_intervals,
// connectors.odoo.service_products and connectors.odoo.policies are lists of
// JobLane, MilestoneInterval, ServiceProduct and OdooPolicy. Load parses them (their
// UnmarshalText) and refuses each bad value or list entry with its key, so
// code that uses a loaded Config never parses them again; Validate checks
// values built in code. Each writes itself back in the syntax it is read in
// (String, MarshalText), so a Config marshalled to JSON or YAML, and
// Example, hold values that load again.
//
// # Secrets
//
// Values of type Secret (storage.database_url, connectors.webhook.secret) print,
// log and marshal as "REDACTED"; call Secret.Reveal where the real value is
// needed, and nowhere else.
//
// # Documentation
//
// Keys describes every key, with the doc text taken from the field doc comments
// in config.go; Example renders a commented YAML file with the defaults. Both
// feed the generated reference docs/config.md. The doc text reaches the binary
// through keydoc_generated.go; after changing a doc comment or a default, run
//
//	go test ./internal/config -run TestConfigDocsCurrent -update
//
// # Concurrency
//
// A Config is a plain value with no internal state: copy it freely and read it
// from any number of goroutines. Nothing in this package keeps global state.
package config
