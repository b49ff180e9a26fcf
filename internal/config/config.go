package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/shipment"
)

// Defaults of the server section.
const (
	// ServerAddrDefault is the default of server.addr.
	ServerAddrDefault = "127.0.0.1:8080"
	// ServerReadTimeoutDefault is the default of server.read_timeout.
	ServerReadTimeoutDefault = 15 * time.Second
	// ServerWriteTimeoutDefault is the default of server.write_timeout.
	ServerWriteTimeoutDefault = 30 * time.Second
	// ServerIdleTimeoutDefault is the default of server.idle_timeout.
	ServerIdleTimeoutDefault = 120 * time.Second
	// ServerShutdownTimeoutDefault is the default of server.shutdown_timeout.
	ServerShutdownTimeoutDefault = 30 * time.Second
	// ServerKeyRateDefault is the default of server.key_rate.
	ServerKeyRateDefault = 0
	// ServerKeyBurstDefault is the default of server.key_burst.
	ServerKeyBurstDefault = 2000
)

// Defaults of the storage section. storage.database_url is empty by default.
const (
	// StorageDataDirDefault is the default of storage.data_dir.
	StorageDataDirDefault = "./waybill-data"
	// StorageSQLiteSynchronousDefault is the default of storage.sqlite_synchronous.
	StorageSQLiteSynchronousDefault = "full"
	// StoragePostgresMaxConnsDefault is the default of storage.postgres_max_conns.
	StoragePostgresMaxConnsDefault = 16
)

// Defaults of the intake section.
const (
	// IntakeMaxBacklogDefault is the default of intake.max_backlog.
	IntakeMaxBacklogDefault = 100000
	// IntakeMaxBatchEventsDefault is the default of intake.max_batch_events.
	IntakeMaxBatchEventsDefault = 1000
	// IntakeMaxBodyBytesDefault is the default of intake.max_body_bytes: 8 MiB.
	IntakeMaxBodyBytesDefault = 8 << 20
	// IntakeGroupCommitMaxDefault is the default of intake.group_commit_max.
	IntakeGroupCommitMaxDefault = 1000
	// IntakeEDIPollIntervalDefault is the default of intake.edi_poll_interval.
	IntakeEDIPollIntervalDefault = 5 * time.Second
	// IntakeMaxEventAgeDefault is the default of intake.max_event_age: a
	// year.
	IntakeMaxEventAgeDefault = 365 * 24 * time.Hour
	// IntakeMaxEventLeadDefault is the default of intake.max_event_lead: a
	// day.
	IntakeMaxEventLeadDefault = 24 * time.Hour
)

// Defaults of the processor section.
const (
	// ProcessorBatchSizeDefault is the default of processor.batch_size.
	ProcessorBatchSizeDefault = 500
	// ProcessorPollIntervalDefault is the default of processor.poll_interval.
	ProcessorPollIntervalDefault = 250 * time.Millisecond
	// ProcessorMaxAttemptsDefault is the default of processor.max_attempts.
	ProcessorMaxAttemptsDefault = 10
)

// Defaults of the jobs section.
const (
	// JobsWorkersDefault is the default of jobs.workers.
	JobsWorkersDefault = 16
	// JobsMaxAttemptsDefault is the default of jobs.max_attempts.
	JobsMaxAttemptsDefault = 12
	// JobsTimeoutDefault is the default of jobs.timeout.
	JobsTimeoutDefault = 2 * time.Minute
	// JobsSoftStopTimeoutDefault is the default of jobs.soft_stop_timeout.
	JobsSoftStopTimeoutDefault = 20 * time.Second
	// JobsRetryBaseDefault is the default of jobs.retry_base.
	JobsRetryBaseDefault = time.Second
	// JobsRetryMaxDefault is the default of jobs.retry_max.
	JobsRetryMaxDefault = time.Hour
)

// JobsLanesDefault returns the default of jobs.lanes: low=4 and
// background=2.
func JobsLanesDefault() []JobLane {
	return []JobLane{{shipment.LaneLow, 4}, {shipment.LaneBackground, 2}}
}

// Defaults of the workflow section.
const (
	// WorkflowAutoReleaseDefault is the default of workflow.auto_release.
	WorkflowAutoReleaseDefault = true
	// WorkflowPartialReleaseDefault is the default of workflow.partial_release.
	WorkflowPartialReleaseDefault = false
	// WorkflowPODRadiusMetersDefault is the default of workflow.pod_radius_m.
	WorkflowPODRadiusMetersDefault = 500
)

// Defaults of the kpi section.
const (
	// KPIReleaseDelayDefault is the default of kpi.release_delay.
	KPIReleaseDelayDefault = 30 * time.Minute
	// KPIShortageAgeDefault is the default of kpi.shortage_age.
	KPIShortageAgeDefault = 30 * time.Minute
	// KPIUnbilledAfterDefault is the default of kpi.unbilled_after.
	KPIUnbilledAfterDefault = 4 * time.Hour
	// KPICacheForDefault is the default of kpi.cache_for.
	KPICacheForDefault = 15 * time.Second
)

// Defaults of the archive section.
const (
	// ArchiveRetentionDefault is the default of archive.retention: 90 days.
	ArchiveRetentionDefault = 90 * 24 * time.Hour
	// ArchiveIntervalDefault is the default of archive.interval.
	ArchiveIntervalDefault = time.Hour
)

// Defaults of the reconcile section.
const (
	// ReconcileScheduleDefault is the default of reconcile.schedule.
	ReconcileScheduleDefault = true
	// ReconcileGraceDefault is the default of reconcile.grace.
	ReconcileGraceDefault = time.Hour
	// ReconcileCatchUpDefault is the default of reconcile.catch_up.
	ReconcileCatchUpDefault = 3
	// ReconcileRecoverAfterDefault is the default of reconcile.recover_after.
	ReconcileRecoverAfterDefault = 10 * time.Minute
	// ReconcileInventoryIntervalDefault is the default of
	// reconcile.inventory_interval.
	ReconcileInventoryIntervalDefault = time.Hour
)

// ReconcileCutoffDefault is the default of reconcile.cutoff: 24:00, the
// calendar day.
func ReconcileCutoffDefault() TimeOfDay { return TimeOfDay{Minutes: minutesPerDay} }

// ReconcileTimezoneDefault is the default of reconcile.timezone: UTC.
func ReconcileTimezoneDefault() Zone { return Zone{loc: time.UTC} }

// Defaults of the connectors.webhook section. connectors.webhook.url and
// connectors.webhook.secret are empty by default; see also WebhookActionsDefault.
const (
	// WebhookTimeoutDefault is the default of connectors.webhook.timeout.
	WebhookTimeoutDefault = 30 * time.Second
)

// WebhookActionsDefault returns the default of connectors.webhook.actions:
// none listed, which posts every action no other connector handles. Each call
// returns a new slice.
func WebhookActionsDefault() []string { return []string{} }

// Defaults of the billing section. billing.rules_file is empty,
// billing.pod_sources empty and billing.pod_max_silence 0 by default.
const (
	// BillingPODRecoveryEventsDefault is the default of billing.pod_recovery_events.
	BillingPODRecoveryEventsDefault = 2
)

// BillingOperatingHoursDefault returns the default of
// billing.operating_hours: 06:00-20:00.
func BillingOperatingHoursDefault() OperatingHours {
	return OperatingHours{From: 6 * 60, To: 20 * 60}
}

// BillingTimezoneDefault returns the default of billing.timezone: UTC.
func BillingTimezoneDefault() Zone { return Zone{loc: time.UTC} }

// Defaults of the connectors.odoo section. connectors.odoo.url, database,
// login, api_key and api_key_file are empty by default.
const (
	// OdooTimeoutDefault is the default of connectors.odoo.timeout. Odoo
	// retries serialization failures itself before it answers, so a call
	// can legitimately take a long time.
	OdooTimeoutDefault = 120 * time.Second
	// OdooRateLimitDefault is the default of connectors.odoo.rate_limit.
	OdooRateLimitDefault = 20
	// OdooBreakerFailuresDefault is the default of connectors.odoo.breaker_failures.
	OdooBreakerFailuresDefault = 5
	// OdooBreakerCooldownDefault is the default of connectors.odoo.breaker_cooldown.
	OdooBreakerCooldownDefault = 30 * time.Second
	// OdooBackorderDefault is the default of connectors.odoo.backorder.
	OdooBackorderDefault = OdooBackorderCreate
	// OdooInvoiceStateDefault is the default of connectors.odoo.invoice_state.
	OdooInvoiceStateDefault = OdooInvoiceDraft
	// OdooPollIntervalDefault is the default of connectors.odoo.poll_interval.
	OdooPollIntervalDefault = 30 * time.Second
	// OdooPollOverlapDefault is the default of connectors.odoo.poll_overlap.
	OdooPollOverlapDefault = 2 * time.Minute
	// OdooReserveRetryDefault is the default of connectors.odoo.reserve_retry.
	OdooReserveRetryDefault = 5 * time.Minute
	// OdooMilestoneSyncWindowDefault is the default of
	// connectors.odoo.milestone_sync_window: the default poll interval, so
	// Odoo hears of a milestone about as soon as Waybill hears of a change
	// in Odoo.
	OdooMilestoneSyncWindowDefault = 30 * time.Second
	// OdooSystemDefault is the default of connectors.odoo.system.
	OdooSystemDefault = "odoo"
)

// Values of connectors.odoo.protocol, backorder and invoice_state.
const (
	OdooProtocolJSONRPC = "jsonrpc"
	OdooProtocolJSON2   = "json2"

	OdooBackorderCreate = "create"
	OdooBackorderCancel = "cancel"

	OdooInvoiceDraft  = "draft"
	OdooInvoicePosted = "posted"
)

// OdooServiceProductsDefault returns the default of
// connectors.odoo.service_products. Each call returns a new slice.
func OdooServiceProductsDefault() []ServiceProduct {
	return []ServiceProduct{{"linehaul", "FREIGHT"}, {"fuel", "FREIGHT"}, {"detention", "DETENTION"}, {"liftgate", "LIFTGATE"},
		{"residential", "RESIDENTIAL"}, {"lumper", "LUMPER"}}
}

// ChargeTypes are the charge types of the canonical model, the keys allowed in
// connectors.odoo.service_products.
var ChargeTypes = []string{"linehaul", "fuel", "detention", "liftgate", "residential", "inside_delivery", "redelivery",
	"layover", "lumper", "accessorial", "tax", "discount", "other"}

// ServiceProductMap returns connectors.odoo.service_products as a map from
// charge type to product code; a type listed twice, which Validate refuses,
// maps to its last code.
func (o Odoo) ServiceProductMap() map[string]string {
	m := make(map[string]string, len(o.ServiceProducts))
	for _, p := range o.ServiceProducts {
		m[p.ChargeType] = p.Code
	}
	return m
}

// OdooActionsDefault returns the default of connectors.odoo.actions: the
// picking validation and the invoice. Each call returns a new slice.
func OdooActionsDefault() []string { return erpActions() }

// webhookActions lists the action kinds a webhook may take: every kind
// Waybill does not carry out itself, in the order the workflow issues them
// (shipment.ActionTable).
func webhookActions() []string {
	var out []string
	for _, k := range shipment.ActionTable() {
		if !k.Local {
			out = append(out, k.Kind)
		}
	}
	return out
}

// erpActions lists the action kinds the ERP connector can take.
func erpActions() []string {
	var out []string
	for _, k := range shipment.ActionTable() {
		if k.ERP {
			out = append(out, k.Kind)
		}
	}
	return out
}

// Defaults of the log section.
const (
	// LogLevelDefault is the default of log.level.
	LogLevelDefault = "info"
	// LogFormatDefault is the default of log.format.
	LogFormatDefault = "json"
)

// Config is the whole Waybill configuration. Build it with Load, or start from
// Default in code and tests; check it with Validate.
//
// Field doc comments are the source of the generated reference docs/config.md:
// each states the key's meaning, unit, allowed values and default.
type Config struct {
	// Server is the server section.
	Server Server `koanf:"server" json:"server"`
	// Storage is the storage section.
	Storage Storage `koanf:"storage" json:"storage"`
	// Intake is the intake section.
	Intake Intake `koanf:"intake" json:"intake"`
	// Processor is the processor section.
	Processor Processor `koanf:"processor" json:"processor"`
	// Jobs is the jobs section.
	Jobs Jobs `koanf:"jobs" json:"jobs"`
	// Workflow is the workflow section.
	Workflow Workflow `koanf:"workflow" json:"workflow"`
	// Connectors is the connectors section.
	Billing Billing `koanf:"billing" json:"billing"`
	// Connectors is the connectors section.
	Connectors Connectors `koanf:"connectors" json:"connectors"`
	// Log is the log section.
	Log Log `koanf:"log" json:"log"`
	// Audit is the audit section.
	Audit Audit `koanf:"audit" json:"audit"`
	// Changes is the changes section.
	Changes Changes `koanf:"changes" json:"changes"`
	// Encryption is the encryption section.
	Encryption Encryption `koanf:"encryption" json:"encryption"`
	// Tracing is the tracing section.
	Tracing Tracing `koanf:"tracing" json:"tracing"`
	// KPI is the kpi section.
	KPI KPI `koanf:"kpi" json:"kpi"`
	// Archive is the archive section.
	Archive Archive `koanf:"archive" json:"archive"`
	// Reconcile is the reconcile section.
	Reconcile Reconcile `koanf:"reconcile" json:"reconcile"`
	// FreightAudit is the freight_audit section.
	FreightAudit FreightAudit `koanf:"freight_audit" json:"freight_audit"`
	// Subscriptions is the subscriptions section.
	Subscriptions Subscriptions `koanf:"subscriptions" json:"subscriptions"`
	// TrackingPage is the tracking_page section.
	TrackingPage TrackingPage `koanf:"tracking_page" json:"tracking_page"`
}

// Server configures the HTTP server that receives events and serves the console.
type Server struct {
	// Addr is the TCP address the HTTP server listens on, as host:port. An empty
	// host listens on every interface; port 0 picks a free port. Defaults to
	// "127.0.0.1:8080".
	Addr string `koanf:"addr" json:"addr"`

	// ReadTimeout is the longest time the server spends reading one request,
	// body included. Must be positive. Defaults to 15s.
	ReadTimeout time.Duration `koanf:"read_timeout" json:"read_timeout"`

	// WriteTimeout is the longest time from the end of reading a request's
	// headers to the end of writing its response. Must be positive. Defaults to
	// 30s.
	WriteTimeout time.Duration `koanf:"write_timeout" json:"write_timeout"`

	// IdleTimeout is how long an idle keep-alive connection stays open waiting
	// for its next request. Must be positive. Defaults to 2m.
	IdleTimeout time.Duration `koanf:"idle_timeout" json:"idle_timeout"`

	// ShutdownTimeout is how long graceful shutdown may take in all: stopping
	// intake, letting jobs finish and closing connectors and the database. Must
	// be positive. Defaults to 30s.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout" json:"shutdown_timeout"`

	// KeyRate is the rate limit, in requests a second, of every API key
	// created without one of its own (keys create --rate): a token bucket
	// per key, refilled at this rate and holding key_burst. A key over its
	// limit gets 429 rate-limited with Retry-After; other keys are not
	// affected. Unlimited by default, so that neither an upgrade nor a load
	// test is throttled by surprise: give each partner's key its own limit
	// (keys create --rate), or set one here for every key without one. A
	// whole number; 0 means unlimited. At most 1000000. Defaults to 0.
	KeyRate int `koanf:"key_rate" json:"key_rate"`

	// KeyBurst is how many requests a key without a limit of its own may
	// send at once before key_rate paces it. At least 1 when key_rate is
	// positive. Defaults to 2000.
	KeyBurst int `koanf:"key_burst" json:"key_burst"`

	// Environment names the environment this configuration is for, such as
	// prod or test: 1 to 16 characters of a-z and 0-9. The first start-up
	// records it in the database, and from then on a configuration of
	// another environment (or of none) refuses to use that database. Keys
	// are created with it as their label unless key_label_default says
	// otherwise, and only keys labelled with it are accepted. Empty, no
	// check, is for a single environment. Empty by default.
	Environment string `koanf:"environment" json:"environment"`

	// KeyLabelDefault is the label keys get when created without --label
	// (or the API's label): the environment they belong to, such as prod or
	// test, 1 to 16 characters of a-z and 0-9. It is shown wherever the key
	// is and starts the key itself (wb_prod_…). Empty means no label. Empty by
	// default.
	KeyLabelDefault string `koanf:"key_label_default" json:"key_label_default"`
}

// Storage configures where Waybill keeps its data: an embedded SQLite database
// by default, or PostgreSQL when database_url is set.
type Storage struct {
	// DataDir is the directory of the embedded SQLite database, the file
	// waybill.db inside it. A relative path is taken from the working directory.
	// Must not be empty unless database_url is set, in which case it is unused.
	// Defaults to "./waybill-data".
	DataDir string `koanf:"data_dir" json:"data_dir"`

	// DatabaseURL is the PostgreSQL connection URL, such as
	// postgres://user:password@host:5432/waybill. When set, PostgreSQL is used
	// instead of SQLite, and it must start with postgres:// or postgresql://.
	// It is a secret: logs and output show it as REDACTED. Empty by default,
	// which selects SQLite.
	DatabaseURL Secret `koanf:"database_url" json:"database_url"`

	// SQLiteSynchronous is SQLite's synchronous setting: off, normal, full or
	// extra. full makes every committed transaction durable across a power loss;
	// normal may lose the latest transactions then. Unused with PostgreSQL.
	// Defaults to "full".
	SQLiteSynchronous string `koanf:"sqlite_synchronous" json:"sqlite_synchronous"`

	// PostgresMaxConns is the most connections the PostgreSQL pool opens, from
	// 1 to 1000. Unused with SQLite. Defaults to 16.
	PostgresMaxConns int `koanf:"postgres_max_conns" json:"postgres_max_conns"`
}

// Intake limits how events are accepted over HTTP.
type Intake struct {
	// MaxBacklog is the number of accepted but not yet processed events above
	// which intake refuses new events with HTTP 429 Too Many Requests. At least
	// 1. Defaults to 100000.
	MaxBacklog int `koanf:"max_backlog" json:"max_backlog"`

	// MaxBatchEvents is the most events one batch request may carry, from 1 to
	// 1000; larger batches are rejected. Defaults to 1000.
	MaxBatchEvents int `koanf:"max_batch_events" json:"max_batch_events"`

	// MaxBodyBytes is the largest request body intake reads, in bytes; larger
	// requests are rejected. At least 1. Defaults to 8388608 (8 MiB).
	MaxBodyBytes int `koanf:"max_body_bytes" json:"max_body_bytes"`

	// GroupCommitMax is the most events written in one group-commit
	// transaction, from 1 to 10000. Defaults to 1000.
	GroupCommitMax int `koanf:"group_commit_max" json:"group_commit_max"`

	// SourcesFile is the source profiles file (YAML; see docs/sources.md):
	// the carriers, visibility platforms and EDI partners that send their
	// own formats to /v1/sources/{source}/webhooks and
	// /v1/sources/{source}/edi. Without it there are no source profiles.
	// Empty by default.
	SourcesFile string `koanf:"sources_file" json:"sources_file"`

	// EDIDirs lists watched folders of EDI files, as source=directory
	// entries, such as xktl=/var/spool/waybill/xktl. Each file is received
	// like a POST to the source's EDI endpoint, then moved to done/ or
	// failed/ (with an .error.txt beside it) under the directory. Defaults
	// to [].
	EDIDirs []string `koanf:"edi_dirs" json:"edi_dirs"`

	// EDIPollInterval is how often the EDI folders are read. Positive.
	// Defaults to 5s.
	EDIPollInterval time.Duration `koanf:"edi_poll_interval" json:"edi_poll_interval"`

	// MaxEventAge is how long before its receipt an event may have happened.
	// An older event is refused with its reason on every intake path (the
	// API, source profiles, EDI folders, the Odoo poller), so that a clock or
	// parsing fault (year 0001) never becomes a shipment's timestamps.
	// Positive. Defaults to 8760h (a year).
	MaxEventAge time.Duration `koanf:"max_event_age" json:"max_event_age"`

	// MaxEventLead is how far after its receipt an event may be dated; a
	// later one is refused like a too old one. Positive. Defaults to 24h.
	MaxEventLead time.Duration `koanf:"max_event_lead" json:"max_event_lead"`
	// MetricSources lists event sources (the CloudEvents source attribute,
	// such as a TMS's) that get their own value of the source label of the
	// intake metrics. Every other source a client sends is counted as
	// "other", so that clients cannot grow the number of time series;
	// source profiles (/sources/<id>) and Waybill's own sources are always
	// labelled. Defaults to [].
	MetricSources []string `koanf:"metric_sources" json:"metric_sources"`
}

// Processor configures how accepted events are applied to shipments and orders.
type Processor struct {
	// BatchSize is the most events applied in one transaction, from 1 to 10000.
	// Defaults to 500.
	BatchSize int `koanf:"batch_size" json:"batch_size"`

	// PollInterval is how often the processor looks for new events when nothing
	// wakes it. Must be positive. Defaults to 250ms.
	PollInterval time.Duration `koanf:"poll_interval" json:"poll_interval"`

	// MaxAttempts is how many times the processor tries to apply an event that
	// fails unexpectedly before it marks the event failed. At least 1. Defaults
	// to 10.
	MaxAttempts int `koanf:"max_attempts" json:"max_attempts"`
}

// Jobs configures the queue of outbound jobs that connectors run.
type Jobs struct {
	// Workers is the number of jobs of the critical lane (releases,
	// validations, invoices, returns, scraps, vendor bills) that run at the
	// same time; the other lanes have theirs in jobs.lanes. At least 1.
	// Defaults to 16.
	Workers int `koanf:"workers" json:"workers"`

	// Lanes sets the workers of the lanes below the critical one, as
	// lane=workers entries: low runs milestones, dispatch updates and the
	// freight audit; background runs reconciliation and recovery. Each
	// lane fetches and runs its own jobs, so a flood of milestones does
	// not delay invoices. A lane not listed keeps its default; workers
	// are at least 1. Defaults to ["low=4", "background=2"].
	Lanes []JobLane `koanf:"lanes" json:"lanes"`

	// MaxAttempts is how many times a job is attempted before it becomes a dead
	// letter. At least 1. Defaults to 12.
	MaxAttempts int `koanf:"max_attempts" json:"max_attempts"`

	// Timeout is the longest one attempt of a job may run before it is
	// cancelled. Must be positive. Defaults to 2m.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`

	// SoftStopTimeout is how long jobs still running at shutdown may take to
	// finish before they are cancelled. Must be positive. Defaults to 20s.
	SoftStopTimeout time.Duration `koanf:"soft_stop_timeout" json:"soft_stop_timeout"`

	// RetryBase is the wait before the second attempt of a failed job; each
	// further attempt waits twice as long, with ±25% jitter. Must be
	// positive. Defaults to 1s.
	RetryBase time.Duration `koanf:"retry_base" json:"retry_base"`

	// RetryMax caps the wait between two attempts of a job. Must be at least
	// jobs.retry_base. Defaults to 1h.
	RetryMax time.Duration `koanf:"retry_max" json:"retry_max"`
}

// LaneWorkers returns jobs.lanes as a map from lane to workers; a lane
// listed twice, which Validate refuses, maps to its last count.
func (j Jobs) LaneWorkers() map[string]int {
	m := make(map[string]int, len(j.Lanes))
	for _, e := range j.Lanes {
		m[e.Lane] = e.Workers
	}
	return m
}

// Workflow configures when shipments are released for dispatch.
type Workflow struct {
	// AutoRelease releases a shipment for dispatch as soon as all its lines are
	// reserved; when false, shipments wait for an explicit release. Defaults to
	// true.
	AutoRelease bool `koanf:"auto_release" json:"auto_release"`

	// PartialRelease allows a shipment to be released when only some of its
	// lines are reserved. Defaults to false.
	PartialRelease bool `koanf:"partial_release" json:"partial_release"`

	// PODRadiusMeters is how far from the delivery stop, in meters, a proof
	// of delivery may be captured when both have coordinates; farther, it
	// waits in review instead of going to billing. 0 turns the check off.
	// Defaults to 500.
	PODRadiusMeters int `koanf:"pod_radius_m" json:"pod_radius_m"`

	// MilestoneIntervals batches the sync of milestones back to Odoo's
	// chatter per event type, as type=duration entries such as
	// shipment.arrived=15m: milestones of that type wait for the end of the
	// interval and go out together. Types not listed (of
	// shipment.departed, shipment.delayed, shipment.arrived,
	// shipment.delivered, shipment.exception, shipment.returned) are synced
	// at once. Defaults to [].
	MilestoneIntervals []MilestoneInterval `koanf:"milestone_intervals" json:"milestone_intervals"`
}

// MilestoneIntervalMap returns workflow.milestone_intervals as a map from
// event type to interval; a type listed twice, which Validate refuses, maps
// to its last interval.
func (w Workflow) MilestoneIntervalMap() map[string]time.Duration {
	m := make(map[string]time.Duration, len(w.MilestoneIntervals))
	for _, e := range w.MilestoneIntervals {
		m[e.Type] = e.Interval
	}
	return m
}

// Billing configures how delivered shipments are rated and when invoicing
// holds.
type Billing struct {
	// RulesFile is the rating rules file (YAML with CEL expressions; see
	// docs/billing.md). Empty by default, which bills only the charges
	// partners report.
	RulesFile string `koanf:"rules_file" json:"rules_file"`

	// PODSources lists the event sources whose proofs of delivery are
	// watched for silence, such as /carriers/vdbt. Defaults to [].
	PODSources []string `koanf:"pod_sources" json:"pod_sources"`

	// PODMaxSilence is the longest a watched source may go without sending
	// a proof of delivery while shipments are out for delivery during
	// operating hours. Beyond it, invoicing of the shipments that source
	// delivered holds until the feed recovers. 0 turns the watch off.
	// Defaults to 0s.
	PODMaxSilence time.Duration `koanf:"pod_max_silence" json:"pod_max_silence"`

	// OperatingHours is when deliveries happen, as HH:MM-HH:MM in
	// timezone (00:00-24:00 for always; an end before the start spans
	// midnight); silence outside them does not count. Defaults to
	// "06:00-20:00".
	OperatingHours OperatingHours `koanf:"operating_hours" json:"operating_hours"`

	// Timezone is the IANA time zone of operating_hours. Defaults to "UTC".
	Timezone Zone `koanf:"timezone" json:"timezone"`

	// PODRecoveryEvents is how many proofs of delivery a silent source must
	// send, the last within half of pod_max_silence, before its shipments
	// are invoiced again: one stray message does not end an outage. At
	// least 1. Defaults to 2.
	PODRecoveryEvents int `koanf:"pod_recovery_events" json:"pod_recovery_events"`
}

// Connectors holds the configuration of each outbound connector.
type Connectors struct {
	// Odoo is the connectors.odoo section.
	Odoo Odoo `koanf:"odoo" json:"odoo"`
	// TMS is the connectors.tms section.
	TMS TMS `koanf:"tms" json:"tms"`
	// Webhook is the connectors.webhook section.
	Webhook Webhook `koanf:"webhook" json:"webhook"`
}

// Odoo configures the Odoo connector, which validates pickings and invoices
// delivered orders in one Odoo database (versions 16 to 19). It is off until
// url is set; serve --sandbox sets it to the built-in simulator.
type Odoo struct {
	// URL is the Odoo base URL, such as https://erp.example.com. Empty by
	// default, which turns the Odoo connector off.
	URL string `koanf:"url" json:"url"`

	// Database is the Odoo database name. Required when url is set. Empty by
	// default.
	Database string `koanf:"database" json:"database"`

	// Login is the integration user's login. Required when url is set and
	// the protocol is jsonrpc (Odoo 16 to 18); JSON-2 (Odoo 19) identifies
	// the user by the API key alone. Empty by default.
	Login string `koanf:"login" json:"login"`

	// APIKey is the integration user's API key. Set it through the
	// environment (WAYBILL_CONNECTORS_ODOO_API_KEY) or name a file with
	// api_key_file; there is no command-line flag for it. It is a secret:
	// logs and output show it as REDACTED. Exactly one of api_key and
	// api_key_file is required when url is set. Empty by default.
	APIKey Secret `koanf:"api_key" json:"api_key"`

	// APIKeyFile is a file holding the API key (surrounding white space is
	// ignored), such as a mounted container secret. The file is read at
	// start-up. Empty by default.
	APIKeyFile string `koanf:"api_key_file" json:"api_key_file"`

	// Version forces the Odoo major version, 16 to 19; 0 detects it from the
	// server at start-up. Defaults to 0.
	Version int `koanf:"version" json:"version"`

	// Protocol forces the transport: jsonrpc (/jsonrpc with execute_kw) or
	// json2 (/json/2, Odoo 19 and later). Empty uses json2 on 19 and later
	// and jsonrpc before. Empty by default.
	Protocol string `koanf:"protocol" json:"protocol"`

	// Timeout is the deadline of each Odoo call. Must be positive. Odoo
	// retries serialization failures itself before it answers, so calls can
	// be slow. Defaults to 2m.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`

	// RateLimit is the most calls per second sent to this Odoo, at least 1.
	// Defaults to 20.
	RateLimit int `koanf:"rate_limit" json:"rate_limit"`

	// BreakerFailures is how many consecutive failures (unreachable server,
	// timeouts, 5xx) open the circuit breaker, after which calls fail fast
	// and jobs are retried later. At least 1. Defaults to 5.
	BreakerFailures int `koanf:"breaker_failures" json:"breaker_failures"`

	// BreakerCooldown is how long the open breaker waits before it lets one
	// probe call through. Must be positive. Defaults to 30s.
	BreakerCooldown time.Duration `koanf:"breaker_cooldown" json:"breaker_cooldown"`

	// Actions lists the actions sent to Odoo, each one of picking.validate,
	// invoice.prepare, picking.return, stock.scrap, milestone.sync and
	// vendor_bill.create, at most once. Defaults to [picking.validate,
	// invoice.prepare, picking.return, stock.scrap, milestone.sync,
	// vendor_bill.create].
	Actions []string `koanf:"actions" json:"actions"`

	// Backorder is what validating a partly loaded picking does with the
	// remainder: create (a backorder for it) or cancel (the remainder is not
	// delivered). Defaults to "create".
	Backorder string `koanf:"backorder" json:"backorder"`

	// InvoiceState is the state an invoice is left in: draft (for review in
	// Odoo) or posted. Defaults to "draft".
	InvoiceState string `koanf:"invoice_state" json:"invoice_state"`

	// Policies override backorder and invoice_state per customer and
	// warehouse, as entries of space-separated key=value pairs: matchers
	// customer (the shipment's customer ref, such as odoo:res.partner/42)
	// and warehouse (the warehouse code its origin location starts with,
	// such as WH), and settings backorder and invoice_state. The first
	// entry whose matchers all match applies. Example:
	// "customer=odoo:res.partner/42 backorder=cancel invoice_state=posted".
	// Defaults to [].
	Policies []OdooPolicy `koanf:"policies" json:"policies"`

	// ServiceProducts maps charge types to the Odoo service products that
	// bill them, as type=CODE entries where CODE is the product's internal
	// reference (default_code). A charge whose type is not listed is billed
	// with the product whose internal reference is the charge's code.
	// Defaults to ["linehaul=FREIGHT", "fuel=FREIGHT", "detention=DETENTION",
	// "liftgate=LIFTGATE", "residential=RESIDENTIAL", "lumper=LUMPER"].
	ServiceProducts []ServiceProduct `koanf:"service_products" json:"service_products"`

	// PollInterval is the time between two reads of the outgoing pickings
	// changed in Odoo, which become shipments and reservations. 0 turns
	// polling off. Defaults to 30s.
	PollInterval time.Duration `koanf:"poll_interval" json:"poll_interval"`

	// PollOverlap is how far before its watermark each poll reads again:
	// Odoo stamps write_date when a transaction starts, so a long one can
	// commit behind the watermark. Defaults to 2m.
	PollOverlap time.Duration `koanf:"poll_overlap" json:"poll_overlap"`

	// ReserveRetry is how often the pickings Odoo could not fully reserve
	// are asked to reserve again (action_assign, one call for all). 0 asks
	// at every poll. Defaults to 5m.
	ReserveRetry time.Duration `koanf:"reserve_retry" json:"reserve_retry"`

	// MilestoneSyncWindow is how long after a milestone (departed, delayed,
	// arrived, delivered, returned) its note waits before it goes to the
	// picking's chatter, so that the milestones a carrier reports together
	// (an EDI 214 file, a feed catching up) go out as one note: the sync
	// that runs first posts every milestone of the shipment not noted yet,
	// and the others find theirs posted. Exceptions are noted at once, with
	// the milestones waiting, and the types that workflow.milestone_intervals
	// names wait for their interval instead. 0 notes each milestone at once.
	// Defaults to 30s.
	MilestoneSyncWindow time.Duration `koanf:"milestone_sync_window" json:"milestone_sync_window"`

	// WebhookToken is the shared secret of POST /v1/sources/odoo/webhook,
	// which Odoo's "Send Webhook Notification" automation calls to make
	// Waybill poll at once (Odoo cannot send a bearer key, so the token
	// goes in the URL: ?token=...). It is a secret: logs and output show it
	// as REDACTED. Empty by default, which turns the route off.
	WebhookToken Secret `koanf:"webhook_token" json:"webhook_token"`

	// System is the cross-reference system that names Odoo records: a
	// shipment whose id is system:WH/OUT/00012 is delivered by that picking,
	// and an order system:S00042 is that sale order. Defaults to "odoo".
	System string `koanf:"system" json:"system"`
}

// TMS configures the TMS connector, which releases reserved shipments for
// dispatch: it POSTs a dispatch (shipment, lines with reserved quantities
// and lots, pickup and delivery addresses and windows, weights, handling
// units, customer, references) with a stable Idempotency-Key, and takes the
// assignment in the reply (vehicle, driver, route, planned times) as a
// dispatch.assigned event.
type TMS struct {
	// URL is the absolute http or https URL dispatches are POSTed to, such
	// as https://tms.example.com/dispatches. Empty by default, which turns
	// the TMS connector off (dispatch.release then goes to the webhook, if
	// any).
	URL string `koanf:"url" json:"url"`

	// Timeout is the longest one request may take. Must be positive.
	// Defaults to 30s.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`

	// Secret is the key that signs dispatches as the webhook connector signs
	// its requests (Waybill-Signature). It is a secret: logs and output
	// show it as REDACTED. Empty by default, which sends them unsigned.
	Secret Secret `koanf:"secret" json:"secret"`
}

// Webhook configures the webhook connector, which POSTs selected workflow
// actions to an HTTP endpoint.
type Webhook struct {
	// URL is the absolute http or https URL the webhook connector POSTs to.
	// Empty by default, which turns the webhook connector off.
	URL string `koanf:"url" json:"url"`

	// Actions lists the actions posted to the webhook, each one of
	// dispatch.release, dispatch.update, picking.validate, invoice.prepare,
	// picking.return, stock.scrap and milestone.sync, at most once,
	// and none that connectors.odoo.actions lists while Odoo is on. Empty
	// posts every action no other connector handles. Defaults to [].
	Actions []string `koanf:"actions" json:"actions"`

	// Timeout is the longest one webhook request may take, connecting and
	// reading the response included. Must be positive. Defaults to 30s.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`

	// Secret is the key that signs webhook requests: when set, every POST
	// carries the header "Waybill-Signature: t=<unix seconds>,v1=<hex
	// HMAC-SHA256 of "<t>.<body>">". It is a secret: logs and output show it as REDACTED. Empty by
	// default, which sends requests unsigned.
	Secret Secret `koanf:"secret" json:"secret"`
}

// Defaults of the changes section. audit.signing_key_file is empty and
// changes.allow_self_approval false by default.
const (
	// ChangesWhatIfShipmentsDefault is the default of
	// changes.what_if_shipments.
	ChangesWhatIfShipmentsDefault = 50
)

// Audit configures the audit trail (docs/audit.md).
type Audit struct {
	// SigningKeyFile is the PEM file of the Ed25519 key that signs the audit
	// trail: one PRIVATE KEY block (PKCS #8, as `openssl genpkey -algorithm
	// ed25519` writes it), then any PUBLIC KEY blocks of retired keys, so that
	// the entries they signed still verify. When set, the file must exist;
	// when empty, the key is audit-signing.key in storage.data_dir, created
	// (mode 0600) on first start. PostgreSQL deployments should mount a key
	// file here, the same on every host. Empty by default.
	SigningKeyFile string `koanf:"signing_key_file" json:"signing_key_file"`
}

// Changes configures the approval of changed rating rules, JSON mappings and
// source profiles (docs/changes.md).
type Changes struct {
	// AllowSelfApproval lets the proposer of a change approve it. By default
	// an approval by the proposer is refused, so that two people see every
	// change before it moves money (the two-person rule); set it only where
	// one person runs everything. Defaults to false.
	AllowSelfApproval bool `koanf:"allow_self_approval" json:"allow_self_approval"`

	// WhatIfShipments is how many of the most recently billed shipments a
	// changed rules file is tried on, old rules against new, in the change's
	// what-if report. From 1 to 10000. Defaults to 50.
	WhatIfShipments int `koanf:"what_if_shipments" json:"what_if_shipments"`
}

// Log configures Waybill's log output.
type Log struct {
	// Level is the lowest level that is logged: debug, info, warn or error.
	// Defaults to "info".
	Level string `koanf:"level" json:"level"`

	// Format is the log format: json (one JSON object per line) or text
	// (key=value pairs). Defaults to "json".
	Format string `koanf:"format" json:"format"`
}

// Encryption configures encryption at rest (docs/encryption.md): source
// payloads, event bodies, outbound job payloads and dead letters are sealed
// with AES-256-GCM under data keys kept in the database, each wrapped by a
// key-encryption key (KEK) from key_file or WAYBILL_ENCRYPTION_KEY.
type Encryption struct {
	// Enabled seals values at rest. Turning it off is for benchmarks and
	// tests, not for production: new values are then stored in plaintext
	// (values sealed before stay sealed and unreadable until it is turned
	// on again). Defaults to true.
	Enabled bool `koanf:"enabled" json:"enabled"`

	// KeyFile is a file holding the key-encryption key: 32 random bytes in
	// standard base64 on one line (waybill keys new-kek writes one). When
	// neither it nor key is set, an SQLite data directory gets its own
	// encryption.key (mode 0600) on first start, and PostgreSQL refuses to
	// start. Empty by default.
	KeyFile string `koanf:"key_file" json:"key_file"`

	// Key is the key-encryption key itself, in standard base64 (32 bytes),
	// usually from WAYBILL_ENCRYPTION_KEY. It is a secret: logs and output
	// show it as REDACTED. Set key_file or key, not both. Empty by default.
	Key Secret `koanf:"key" json:"key"`
}

// Defaults of the tracing section. tracing.endpoint and tracing.headers are
// empty and tracing.insecure false by default.
const (
	// TracingProtocolDefault is the default of tracing.protocol.
	TracingProtocolDefault = TracingProtocolHTTP
	// TracingSampleRatioDefault is the default of tracing.sample_ratio.
	TracingSampleRatioDefault = 1.0
	// TracingServiceNameDefault is the default of tracing.service_name.
	TracingServiceNameDefault = "waybill"
)

// Values of tracing.protocol.
const (
	TracingProtocolHTTP = "http/protobuf"
	TracingProtocolGRPC = "grpc"
)

// Tracing configures OpenTelemetry tracing: one trace per event flow, from
// the intake request to each call to Odoo or the TMS, exported over OTLP.
// Tracing is off unless endpoint is set.
type Tracing struct {
	// Endpoint is the OTLP receiver spans are exported to, as host:port
	// without a scheme: an OpenTelemetry collector or Jaeger, such as
	// localhost:4318 for http/protobuf or localhost:4317 for grpc. Empty by
	// default, which turns tracing off: no exporter is made and spans cost
	// nothing.
	Endpoint string `koanf:"endpoint" json:"endpoint"`

	// Protocol is the OTLP transport: http/protobuf (POST /v1/traces) or
	// grpc. Defaults to "http/protobuf".
	Protocol string `koanf:"protocol" json:"protocol"`

	// Insecure exports over plain HTTP or a plaintext gRPC connection
	// instead of TLS, as a collector on the same host or network usually
	// wants. Defaults to false.
	Insecure bool `koanf:"insecure" json:"insecure"`

	// Headers lists the headers sent with every export request, written as
	// OTEL_EXPORTER_OTLP_HEADERS is: name=value pairs separated by commas,
	// such as "api-key=abc,x-tenant=ops"; values may be percent-encoded. It
	// is a secret, since it usually holds a key: logs and output show it as
	// REDACTED. Empty by default.
	Headers Secret `koanf:"headers" json:"headers"`

	// SampleRatio is the share of new traces that are recorded, above 0
	// and at most 1; a trace continued from a caller's traceparent follows
	// the caller's decision. Defaults to 1.0.
	SampleRatio float64 `koanf:"sample_ratio" json:"sample_ratio"`

	// ServiceName is the service.name of every span's resource. Defaults to
	// "waybill".
	ServiceName string `koanf:"service_name" json:"service_name"`
}

// HeaderMap returns tracing.headers as a map, or the reason it cannot be
// read (which never holds a header's value).
func (t Tracing) HeaderMap() (map[string]string, error) {
	raw := t.Headers.Reveal()
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for i, pair := range strings.Split(raw, ",") {
		name, value, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || !httpToken(name) {
			return nil, fmt.Errorf("pair %d must be name=value with a header name of letters, digits and -", i+1)
		}
		v, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("pair %d (%s) has a value that is not valid percent-encoding or holds a line break", i+1, name)
		}
		out[name] = v
	}
	return out, nil
}

// httpToken reports whether s is a valid HTTP header name (RFC 9110 token).
func httpToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}

// KPI sets the thresholds of the business metrics (the waybill_kpi_*
// gauges on /metrics, docs/runbooks.md): when a shipment starts to count as
// late.
type KPI struct {
	// ReleaseDelay is how long a fully reserved shipment may wait for its
	// dispatch release before it counts in
	// waybill_kpi_delayed_releases{kind="reserved_not_released"}. Must be
	// positive. Defaults to 30m.
	ReleaseDelay time.Duration `koanf:"release_delay" json:"release_delay"`

	// ShortageAge is how long a shipment may stay short (not fully
	// reserved) before it counts in
	// waybill_kpi_delayed_releases{kind="shortage"}. Must be positive.
	// Defaults to 30m.
	ShortageAge time.Duration `koanf:"shortage_age" json:"shortage_age"`

	// UnbilledAfter is how long after its proof of delivery a delivered
	// shipment may go without an invoice before it counts in
	// waybill_kpi_unbilled_deliveries. Must be positive. Defaults to 4h.
	UnbilledAfter time.Duration `koanf:"unbilled_after" json:"unbilled_after"`

	// CacheFor is how long the KPIs computed for one scrape are reused, so
	// that frequent scrapes and console views read the database at most
	// this often. Must be positive. Defaults to 15s.
	CacheFor time.Duration `koanf:"cache_for" json:"cache_for"`
}

// Archive moves history out of the hot database into compressed,
// checksummed daily files (see docs/archive.md): events in a final state,
// stored source payloads none of whose events is pending, and audit
// entries, once older than the retention. It is off unless enabled.
type Archive struct {
	// Enabled turns the archive on: serve moves old history every interval.
	// waybill archive list, search, restore and verify work either way.
	// Defaults to false.
	Enabled bool `koanf:"enabled" json:"enabled"`

	// Retention is how long rows stay in the database: a row moves once the
	// UTC day it belongs to ended at least this long ago. Must be positive.
	// Defaults to 2160h (90 days).
	Retention time.Duration `koanf:"retention" json:"retention"`

	// Dir is the archive directory: one subdirectory per kind and a
	// manifest.json. Empty by default, which is archive in
	// storage.data_dir.
	Dir string `koanf:"dir" json:"dir"`

	// Interval is how often serve archives when enabled. Must be positive.
	// Defaults to 1h.
	Interval time.Duration `koanf:"interval" json:"interval"`
}

// Reconcile configures the end-of-day reconciliation with Odoo (see
// docs/reconciliation.md): when each warehouse's business day ends, when
// serve reconciles it by itself, and the reconciliation after an outage.
// Runs need the Odoo connector; without it the schedule does nothing.
type Reconcile struct {
	// Schedule makes serve reconcile every business day by itself once its
	// cut-off and the grace have passed, catching up days missed while it
	// was down. Defaults to true.
	Schedule bool `koanf:"schedule" json:"schedule"`

	// Cutoff is when the business day ends, HH:MM in timezone, from 00:01
	// to 24:00: day D runs from the cut-off on D−1 to the cut-off on D.
	// Defaults to "24:00", the calendar day.
	Cutoff TimeOfDay `koanf:"cutoff" json:"cutoff"`

	// Timezone is the IANA time zone of cutoff. Defaults to "UTC".
	Timezone Zone `koanf:"timezone" json:"timezone"`

	// Warehouses gives warehouses a business day of their own, each entry
	// written NAME=HH:MM or NAME=HH:MM@Zone (such as
	// CHI=20:00@America/Chicago; the zone defaults to timezone). When set,
	// the schedule reconciles each listed warehouse on its own (a
	// shipment's warehouse is its origin's name up to the first slash) and
	// no longer the day of every warehouse together. Defaults to [].
	Warehouses []ReconcileWarehouse `koanf:"warehouses" json:"warehouses"`

	// Grace is how long after a day's cut-off the scheduled run waits, for
	// late proofs of delivery and invoices. Defaults to 1h.
	Grace time.Duration `koanf:"grace" json:"grace"`

	// CatchUp is how many days before the latest ended one the schedule
	// looks back for days no run covered since they ended, such as while
	// serve was down. Defaults to 3.
	CatchUp int `koanf:"catch_up" json:"catch_up"`

	// RecoverAfter is the shortest Odoo outage (its circuit breaker open)
	// after which serve reconciles the days the outage touched once Odoo
	// answers again; a proof-of-delivery feed that went silent
	// (billing.pod_max_silence) does the same when it recovers. 0 turns
	// both off. Defaults to 10m.
	RecoverAfter time.Duration `koanf:"recover_after" json:"recover_after"`

	// InventoryInterval is how often serve runs an inventory check (Odoo's
	// open pickings, reservations, done moves, returns and scraps against
	// the shipments), one per warehouse of warehouses, or one for every
	// warehouse when none is listed. 0 turns the scheduled check off.
	// Defaults to 1h.
	InventoryInterval time.Duration `koanf:"inventory_interval" json:"inventory_interval"`
}

// Subscriptions configures the delivery of events to subscribed endpoints
// (see docs/subscriptions.md), signed as Standard Webhooks.
type Subscriptions struct {
	// AllowPrivateTargets allows endpoints on loopback, private and
	// link-local addresses, which are refused otherwise so that a
	// subscription cannot reach into the hub's own network; serve
	// --sandbox sets it. Defaults to false.
	AllowPrivateTargets bool `koanf:"allow_private_targets" json:"allow_private_targets"`

	// AllowHTTP allows http endpoints, not only https; serve --sandbox
	// sets it. Defaults to false.
	AllowHTTP bool `koanf:"allow_http" json:"allow_http"`

	// DisableAfter disables an endpoint whose deliveries have failed for
	// that long; its owner can enable it again and replay what it missed.
	// Defaults to 24h.
	DisableAfter time.Duration `koanf:"disable_after" json:"disable_after"`

	// RateLimit is the default most deliveries a second to one endpoint,
	// per replica; a subscription may set its own. Defaults to 10.0.
	RateLimit float64 `koanf:"rate_limit" json:"rate_limit"`

	// Timeout bounds one delivery. Defaults to 10s.
	Timeout time.Duration `koanf:"timeout" json:"timeout"`

	// Workers is how many deliveries run at once, per replica. Defaults to
	// 32.
	Workers int `koanf:"workers" json:"workers"`

	// PerEndpoint is how many of those one endpoint may take, so a slow
	// endpoint does not hold up the others. Defaults to 4.
	PerEndpoint int `koanf:"per_endpoint" json:"per_endpoint"`

	// SecretOverlap is how long a rotated signing secret keeps signing
	// beside the new one. Defaults to 24h.
	SecretOverlap time.Duration `koanf:"secret_overlap" json:"secret_overlap"`

	// Retention is how long delivered and given-up messages are kept: a
	// replay reaches back this far. Defaults to 720h.
	Retention time.Duration `koanf:"retention" json:"retention"`
}

// Defaults of the subscriptions section.
const (
	// SubscriptionsDisableAfterDefault is the default of subscriptions.disable_after.
	SubscriptionsDisableAfterDefault = 24 * time.Hour
	// SubscriptionsRateLimitDefault is the default of subscriptions.rate_limit.
	SubscriptionsRateLimitDefault = 10.0
	// SubscriptionsTimeoutDefault is the default of subscriptions.timeout.
	SubscriptionsTimeoutDefault = 10 * time.Second
	// SubscriptionsWorkersDefault is the default of subscriptions.workers.
	SubscriptionsWorkersDefault = 32
	// SubscriptionsPerEndpointDefault is the default of subscriptions.per_endpoint.
	SubscriptionsPerEndpointDefault = 4
	// SubscriptionsSecretOverlapDefault is the default of subscriptions.secret_overlap.
	SubscriptionsSecretOverlapDefault = 24 * time.Hour
	// SubscriptionsRetentionDefault is the default of subscriptions.retention.
	SubscriptionsRetentionDefault = 30 * 24 * time.Hour
)

// FreightAudit configures the audit of carriers' freight invoices (see
// docs/freight-audit.md): each invoice a carrier reports for a shipment is
// compared per charge type with the expected cost the cost rules rate,
// approved by itself within tolerance, else reviewed by finance; approved
// invoices become vendor bills in Odoo. It is off until cost_rules_file is
// set.
type FreightAudit struct {
	// CostRulesFile is the cost rules file: a rating rules file (YAML with
	// CEL expressions, as billing.rules_file) whose rules rate what a
	// shipment should cost, selecting carriers with when conditions on
	// facts.carrier_scac or facts.carrier_ref. Empty by default, which
	// turns the freight audit off.
	CostRulesFile string `koanf:"cost_rules_file" json:"cost_rules_file"`

	// Tolerances set how far a carrier may bill above the expected cost
	// of a charge type and still be approved by itself, as entries of
	// space-separated key=value pairs: type (a charge type, or default
	// for every type without an entry), abs (an amount in major units of
	// the charge's currency) and percent (of the expected amount); the
	// larger allowance applies. A type with no entry and no default entry
	// must match exactly. Billing less than expected is always within.
	// Defaults to ["type=default abs=1.00 percent=2"].
	Tolerances []FreightTolerance `koanf:"tolerances" json:"tolerances"`

	// BillState is the state a vendor bill is left in: draft (for review
	// in Odoo) or posted. Defaults to "draft".
	BillState string `koanf:"bill_state" json:"bill_state"`
}

// FreightToleranceDefaults returns the default of
// freight_audit.tolerances. Each call returns a new slice.
func FreightToleranceDefaults() []FreightTolerance {
	return []FreightTolerance{{Type: "default", Abs: "1.00", Percent: "2"}}
}

// FreightBillStateDefault is the default of freight_audit.bill_state.
const FreightBillStateDefault = OdooInvoiceDraft

// TrackingPage configures the public tracking page of each shipment (see
// docs/tracking-page.md): a read-only page, and the same as JSON, behind an
// unguessable signed link that expires and can be revoked. It shows the
// status, milestones, ETA and proof of delivery; never prices, charges,
// invoices or internal ids. It is off by default; serve --sandbox turns it
// on.
type TrackingPage struct {
	// Enabled serves GET /track/{token} and the tracking-links API.
	// Defaults to false.
	Enabled bool `koanf:"enabled" json:"enabled"`

	// BaseURL is the public origin the links' url starts with, such as
	// https://track.example.com (a path prefix is kept). When empty, the
	// url is the path /track/{token} alone. Empty by default.
	BaseURL string `koanf:"base_url" json:"base_url"`

	// LinkLifetime is how long a link lives when its creator does not say.
	// Must be positive and at most max_link_lifetime. Defaults to 720h (30
	// days).
	LinkLifetime time.Duration `koanf:"link_lifetime" json:"link_lifetime"`

	// MaxLinkLifetime is the longest life a link may be given. Must be
	// positive. Defaults to 2160h (90 days).
	MaxLinkLifetime time.Duration `koanf:"max_link_lifetime" json:"max_link_lifetime"`

	// SigningKey is the HMAC-SHA256 key that signs the links, at least 32
	// characters, usually from WAYBILL_TRACKING_PAGE_SIGNING_KEY. It is a
	// secret: logs and output show it as REDACTED. Changing it invalidates
	// every link. When empty, an SQLite data directory gets its own
	// tracking.key (32 random bytes, mode 0600) on first start; PostgreSQL
	// needs it set, so that every replica signs alike. Empty by default.
	SigningKey Secret `koanf:"signing_key" json:"signing_key"`

	// Rate is how many requests a second one client IP address may make to
	// the tracking pages: a token bucket per address holding burst.
	// Over it, the page answers 429 with Retry-After. At least 1. Defaults
	// to 5.
	Rate int `koanf:"rate" json:"rate"`

	// Burst is how many requests one client IP address may make at once
	// before rate paces it. At least 1. Defaults to 20.
	Burst int `koanf:"burst" json:"burst"`

	// CacheMaxAge is the max-age of the pages' Cache-Control: private
	// header; each answer carries an ETag, and a matching If-None-Match
	// gets 304. Must be positive, at most 1h. Defaults to 1m.
	CacheMaxAge time.Duration `koanf:"cache_max_age" json:"cache_max_age"`

	// ShowPODPhotos links the photos of the proof of delivery on the page.
	// Defaults to false.
	ShowPODPhotos bool `koanf:"show_pod_photos" json:"show_pod_photos"`

	// Timezone is the IANA time zone of the times whose location has no
	// zone of its own. Defaults to "UTC".
	Timezone Zone `koanf:"timezone" json:"timezone"`

	// Branding gives the page of a customer's shipments that customer's
	// look, as entries of space-separated key=value pairs: customer (the
	// customer ref, such as odoo:res.partner/7), name (the display name,
	// in double quotes when it holds spaces), logo_url (https), and
	// primary_color and accent_color (#rgb or #rrggbb), all but customer
	// optional. Shipments of other customers get a plain page. Defaults to
	// [].
	Branding []TrackingBranding `koanf:"branding" json:"branding"`
}

// Defaults of the tracking_page section. tracking_page.base_url and
// tracking_page.signing_key are empty, tracking_page.enabled and
// tracking_page.show_pod_photos false by default.
const (
	// TrackingLinkLifetimeDefault is the default of tracking_page.link_lifetime.
	TrackingLinkLifetimeDefault = 30 * 24 * time.Hour
	// TrackingMaxLinkLifetimeDefault is the default of tracking_page.max_link_lifetime.
	TrackingMaxLinkLifetimeDefault = 90 * 24 * time.Hour
	// TrackingRateDefault is the default of tracking_page.rate.
	TrackingRateDefault = 5
	// TrackingBurstDefault is the default of tracking_page.burst.
	TrackingBurstDefault = 20
	// TrackingCacheMaxAgeDefault is the default of tracking_page.cache_max_age.
	TrackingCacheMaxAgeDefault = time.Minute
)

// TrackingTimezoneDefault returns the default of tracking_page.timezone: UTC.
func TrackingTimezoneDefault() Zone { return Zone{loc: time.UTC} }

// Path is the archive directory: Dir, or archive in dataDir.
func (a Archive) Path(dataDir string) string {
	if a.Dir != "" {
		return a.Dir
	}
	if dataDir == "" {
		dataDir = StorageDataDirDefault
	}
	return filepath.Join(dataDir, "archive")
}

// Default returns the configuration with every key at its default, as Load
// returns it when no file and no environment variables are given.
func Default() Config {
	return Config{
		Server: Server{
			Addr:            ServerAddrDefault,
			ReadTimeout:     ServerReadTimeoutDefault,
			WriteTimeout:    ServerWriteTimeoutDefault,
			IdleTimeout:     ServerIdleTimeoutDefault,
			ShutdownTimeout: ServerShutdownTimeoutDefault,
			KeyRate:         ServerKeyRateDefault,
			KeyBurst:        ServerKeyBurstDefault,
		},
		Storage: Storage{
			DataDir:           StorageDataDirDefault,
			SQLiteSynchronous: StorageSQLiteSynchronousDefault,
			PostgresMaxConns:  StoragePostgresMaxConnsDefault,
		},
		Intake: Intake{
			MaxBacklog:      IntakeMaxBacklogDefault,
			MaxBatchEvents:  IntakeMaxBatchEventsDefault,
			MaxBodyBytes:    IntakeMaxBodyBytesDefault,
			GroupCommitMax:  IntakeGroupCommitMaxDefault,
			EDIDirs:         []string{},
			EDIPollInterval: IntakeEDIPollIntervalDefault,
			MaxEventAge:     IntakeMaxEventAgeDefault,
			MaxEventLead:    IntakeMaxEventLeadDefault,
			MetricSources:   []string{},
		},
		Processor: Processor{
			BatchSize:    ProcessorBatchSizeDefault,
			PollInterval: ProcessorPollIntervalDefault,
			MaxAttempts:  ProcessorMaxAttemptsDefault,
		},
		Jobs: Jobs{
			Workers:         JobsWorkersDefault,
			Lanes:           JobsLanesDefault(),
			MaxAttempts:     JobsMaxAttemptsDefault,
			Timeout:         JobsTimeoutDefault,
			SoftStopTimeout: JobsSoftStopTimeoutDefault,
			RetryBase:       JobsRetryBaseDefault,
			RetryMax:        JobsRetryMaxDefault,
		},
		Workflow: Workflow{
			AutoRelease:        WorkflowAutoReleaseDefault,
			PartialRelease:     WorkflowPartialReleaseDefault,
			PODRadiusMeters:    WorkflowPODRadiusMetersDefault,
			MilestoneIntervals: []MilestoneInterval{},
		},
		Billing: Billing{
			PODSources:        []string{},
			OperatingHours:    BillingOperatingHoursDefault(),
			Timezone:          BillingTimezoneDefault(),
			PODRecoveryEvents: BillingPODRecoveryEventsDefault,
		},
		Connectors: Connectors{
			Odoo: Odoo{
				Timeout:             OdooTimeoutDefault,
				RateLimit:           OdooRateLimitDefault,
				BreakerFailures:     OdooBreakerFailuresDefault,
				BreakerCooldown:     OdooBreakerCooldownDefault,
				Actions:             OdooActionsDefault(),
				Backorder:           OdooBackorderDefault,
				InvoiceState:        OdooInvoiceStateDefault,
				ServiceProducts:     OdooServiceProductsDefault(),
				Policies:            []OdooPolicy{},
				PollInterval:        OdooPollIntervalDefault,
				PollOverlap:         OdooPollOverlapDefault,
				ReserveRetry:        OdooReserveRetryDefault,
				System:              OdooSystemDefault,
				MilestoneSyncWindow: OdooMilestoneSyncWindowDefault,
			},
			TMS: TMS{Timeout: WebhookTimeoutDefault},
			Webhook: Webhook{
				Actions: WebhookActionsDefault(),
				Timeout: WebhookTimeoutDefault,
			},
		},
		Log: Log{
			Level:  LogLevelDefault,
			Format: LogFormatDefault,
		},
		Changes: Changes{
			WhatIfShipments: ChangesWhatIfShipmentsDefault,
		},
		Encryption: Encryption{Enabled: true},
		Tracing: Tracing{
			Protocol:    TracingProtocolDefault,
			SampleRatio: TracingSampleRatioDefault,
			ServiceName: TracingServiceNameDefault,
		},
		KPI: KPI{
			ReleaseDelay:  KPIReleaseDelayDefault,
			ShortageAge:   KPIShortageAgeDefault,
			UnbilledAfter: KPIUnbilledAfterDefault,
			CacheFor:      KPICacheForDefault,
		},
		Archive: Archive{
			Retention: ArchiveRetentionDefault,
			Interval:  ArchiveIntervalDefault,
		},
		Reconcile: Reconcile{
			Schedule:     ReconcileScheduleDefault,
			Cutoff:       ReconcileCutoffDefault(),
			Timezone:     ReconcileTimezoneDefault(),
			Warehouses:   []ReconcileWarehouse{},
			Grace:        ReconcileGraceDefault,
			CatchUp:      ReconcileCatchUpDefault,
			RecoverAfter: ReconcileRecoverAfterDefault,

			InventoryInterval: ReconcileInventoryIntervalDefault,
		},
		FreightAudit: FreightAudit{
			Tolerances: FreightToleranceDefaults(),
			BillState:  FreightBillStateDefault,
		},
		Subscriptions: Subscriptions{
			DisableAfter:  SubscriptionsDisableAfterDefault,
			RateLimit:     SubscriptionsRateLimitDefault,
			Timeout:       SubscriptionsTimeoutDefault,
			Workers:       SubscriptionsWorkersDefault,
			PerEndpoint:   SubscriptionsPerEndpointDefault,
			SecretOverlap: SubscriptionsSecretOverlapDefault,
			Retention:     SubscriptionsRetentionDefault,
		},
		TrackingPage: TrackingPage{
			LinkLifetime:    TrackingLinkLifetimeDefault,
			MaxLinkLifetime: TrackingMaxLinkLifetimeDefault,
			Rate:            TrackingRateDefault,
			Burst:           TrackingBurstDefault,
			CacheMaxAge:     TrackingCacheMaxAgeDefault,
			Timezone:        TrackingTimezoneDefault(),
			Branding:        []TrackingBranding{},
		},
	}
}

// WithDefaults returns a copy of c in which every key left at its zero value
// (empty string, 0, empty list) holds its default instead. Keys whose default is
// itself the zero value, such as storage.database_url, stay as they are.
//
// Booleans are never changed: false cannot be told apart from unset, so a Config
// built in code from scratch gets workflow.auto_release false. Start from Default
// instead when the boolean defaults matter.
func (c Config) WithDefaults() Config {
	d := reflect.ValueOf(Default())
	v := reflect.ValueOf(&c).Elem()
	for _, l := range leaves() {
		f := v.FieldByIndex(l.index)
		unset := f.IsZero() || (l.kind == kindStrings || l.kind == kindTexts) && f.Len() == 0
		if !unset || l.kind == kindBool {
			continue
		}
		f.Set(d.FieldByIndex(l.index))
	}
	return c
}
