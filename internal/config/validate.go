package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/shipment"
)

// keyLabelPattern is what an API key label may be (apikey.CheckLabel; a
// test there checks that the two agree).
var keyLabelPattern = regexp.MustCompile(`^[a-z0-9]{0,16}$`)

// KeyError is one problem with the configuration. Load and Validate return
// them joined with errors.Join; get them back with errors.As, or with the
// joined error's Unwrap() []error.
//
// Error formats it as "waybill.yaml:12: intake.max_backlog: must be at least 1"
// when the value came from a file, "intake.max_backlog
// (WAYBILL_INTAKE_MAX_BACKLOG): must be at least 1" when it came from the
// environment, and "intake.max_backlog: must be at least 1" otherwise.
type KeyError struct {
	// Key is the key path, such as "intake.max_backlog". It is empty for a
	// problem that belongs to no key: an unknown environment variable, or a
	// file that is not a mapping.
	Key string
	// File is the config file the value came from, as passed to Load; empty
	// when it did not come from a file.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Env is the environment variable the value came from; empty when it did
	// not come from the environment.
	Env string
	// Msg says what is wrong, such as "must be at least 1". It never contains
	// the value of a Secret.
	Msg string
}

// Error returns the problem prefixed by where it is; see KeyError.
func (e *KeyError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Key != "" && e.Env != "":
		fmt.Fprintf(&b, "%s (%s): ", e.Key, e.Env)
	case e.Key != "":
		b.WriteString(e.Key + ": ")
	case e.Env != "":
		b.WriteString(e.Env + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var (
	sqliteSynchronousValues = []string{"off", "normal", "full", "extra"}
	logLevelValues          = []string{"debug", "info", "warn", "error"}
	logFormatValues         = []string{"json", "text"}
	webhookActionValues     = webhookActions()
	odooActionValues        = erpActions()
	odooProtocolValues      = []string{"", OdooProtocolJSONRPC, OdooProtocolJSON2}
	odooBackorderValues     = []string{OdooBackorderCreate, OdooBackorderCancel}
	odooInvoiceStateValues  = []string{OdooInvoiceDraft, OdooInvoicePosted}
	tracingProtocolValues   = []string{TracingProtocolHTTP, TracingProtocolGRPC}
)

// Validate checks every key of c and reports every problem at once: nil, or an
// errors.Join of *KeyError values (without File, Line or Env, which only Load
// knows), in key order. It does not apply defaults; see WithDefaults.
func (c Config) Validate() error {
	return joinFieldErrors(c.validate())
}

// Validate checks the connectors.webhook section the way Config.Validate does,
// with full key paths such as "connectors.webhook.url".
func (w Webhook) Validate() error {
	var v validator
	w.validate(&v, "connectors.webhook")
	return joinFieldErrors(v.errs)
}

func (c Config) validate() []*KeyError {
	var v validator

	s := c.Server
	v.hostPort("server.addr", s.Addr)
	v.positive("server.read_timeout", s.ReadTimeout)
	v.positive("server.write_timeout", s.WriteTimeout)
	v.positive("server.idle_timeout", s.IdleTimeout)
	v.positive("server.shutdown_timeout", s.ShutdownTimeout)
	if s.KeyRate < 0 || s.KeyRate > 1e6 {
		v.add("server.key_rate", fmt.Sprintf("must be 0 (unlimited) to 1000000 requests a second, got %d", s.KeyRate))
	}
	if s.KeyRate > 0 && (s.KeyBurst < 1 || s.KeyBurst > 1e6) {
		v.add("server.key_burst", fmt.Sprintf("must be 1 to 1000000 when server.key_rate is set, got %d", s.KeyBurst))
	}
	if !keyLabelPattern.MatchString(s.Environment) {
		v.add("server.environment", fmt.Sprintf("must be empty or 1 to 16 characters of a-z and 0-9, such as prod or test, got %q", s.Environment))
	}
	if !keyLabelPattern.MatchString(s.KeyLabelDefault) {
		v.add("server.key_label_default", fmt.Sprintf("must be empty or 1 to 16 characters of a-z and 0-9, such as prod or test, got %q", s.KeyLabelDefault))
	}

	st := c.Storage
	if st.DataDir == "" && st.DatabaseURL == "" {
		v.add("storage.data_dir", "must not be empty when storage.database_url is not set")
	}
	if u := st.DatabaseURL.Reveal(); u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		v.add("storage.database_url", "must start with postgres:// or postgresql://")
	}
	v.oneOf("storage.sqlite_synchronous", st.SQLiteSynchronous, sqliteSynchronousValues)
	v.between("storage.postgres_max_conns", st.PostgresMaxConns, 1, 1000)

	in := c.Intake
	v.atLeast("intake.max_backlog", in.MaxBacklog, 1)
	v.between("intake.max_batch_events", in.MaxBatchEvents, 1, 1000)
	v.atLeast("intake.max_body_bytes", in.MaxBodyBytes, 1)
	v.between("intake.group_commit_max", in.GroupCommitMax, 1, 10000)
	v.positive("intake.edi_poll_interval", in.EDIPollInterval)
	v.positive("intake.max_event_age", in.MaxEventAge)
	v.positive("intake.max_event_lead", in.MaxEventLead)
	if len(in.EDIDirs) > 0 && in.SourcesFile == "" {
		v.add("intake.edi_dirs", "needs intake.sources_file: each entry names a source profile")
	}
	for _, e := range in.EDIDirs {
		if id, dir, ok := strings.Cut(e, "="); !ok || strings.TrimSpace(id) == "" || strings.TrimSpace(dir) == "" {
			v.add("intake.edi_dirs", fmt.Sprintf("%q must be source=directory", e))
		}
	}

	p := c.Processor
	v.between("processor.batch_size", p.BatchSize, 1, 10000)
	v.positive("processor.poll_interval", p.PollInterval)
	v.atLeast("processor.max_attempts", p.MaxAttempts, 1)

	j := c.Jobs
	v.atLeast("jobs.workers", j.Workers, 1)
	seenLanes := map[string]bool{}
	for _, e := range j.Lanes {
		switch err := e.check(e.String()); {
		case err != nil:
			v.add("jobs.lanes", err.Error())
		case seenLanes[e.Lane]:
			v.add("jobs.lanes", fmt.Sprintf("sets %q more than once", e.Lane))
		}
		seenLanes[e.Lane] = true
	}
	v.atLeast("jobs.max_attempts", j.MaxAttempts, 1)
	v.positive("jobs.timeout", j.Timeout)
	v.positive("jobs.soft_stop_timeout", j.SoftStopTimeout)
	v.positive("jobs.retry_base", j.RetryBase)
	if j.RetryMax < j.RetryBase {
		v.add("jobs.retry_max", "must be at least jobs.retry_base")
	}

	v.atLeast("workflow.pod_radius_m", c.Workflow.PODRadiusMeters, 0)
	seenTypes := map[string]bool{}
	for _, e := range c.Workflow.MilestoneIntervals {
		switch err := e.check(e.String()); {
		case err != nil:
			v.add("workflow.milestone_intervals", err.Error())
		case seenTypes[e.Type]:
			v.add("workflow.milestone_intervals", fmt.Sprintf("sets %q more than once", e.Type))
		}
		seenTypes[e.Type] = true
	}
	b := c.Billing
	if b.PODMaxSilence < 0 {
		v.add("billing.pod_max_silence", "must not be negative (0 turns the watch off)")
	}
	if b.PODMaxSilence > 0 && len(b.PODSources) == 0 {
		v.add("billing.pod_sources", "must list the sources to watch when pod_max_silence is set")
	}
	if err := b.OperatingHours.check(); err != nil {
		v.add("billing.operating_hours", err.Error())
	}
	if err := b.Timezone.check(); err != nil {
		v.add("billing.timezone", err.Error())
	}
	v.atLeast("billing.pod_recovery_events", b.PODRecoveryEvents, 1)
	v.positive("kpi.release_delay", c.KPI.ReleaseDelay)
	v.positive("kpi.shortage_age", c.KPI.ShortageAge)
	v.positive("kpi.unbilled_after", c.KPI.UnbilledAfter)
	v.positive("kpi.cache_for", c.KPI.CacheFor)
	v.positive("archive.retention", c.Archive.Retention)
	v.positive("archive.interval", c.Archive.Interval)
	c.Reconcile.validate(&v)
	c.Subscriptions.validate(&v)
	c.FreightAudit.validate(&v)
	c.TrackingPage.validate(&v, c.Storage.DatabaseURL != "")
	c.Connectors.Odoo.validate(&v, "connectors.odoo")
	c.Connectors.Webhook.validate(&v, "connectors.webhook")
	if t := c.Connectors.TMS; t.URL != "" {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("connectors.tms.url", "must be an absolute http or https URL, such as https://tms.example.com/dispatches")
		}
		for _, a := range []string{shipment.ActionDispatchRelease, shipment.ActionDispatchUpdate} {
			if c.Connectors.Webhook.URL != "" && slices.Contains(c.Connectors.Webhook.Actions, a) {
				v.add("connectors.webhook.actions", fmt.Sprintf("lists %q, which connectors.tms sends to the TMS; an action goes to one connector", a))
			}
		}
	}
	v.positive("connectors.tms.timeout", c.Connectors.TMS.Timeout)
	if c.Connectors.Odoo.URL != "" && c.Connectors.Webhook.URL != "" {
		for _, a := range c.Connectors.Webhook.Actions {
			if slices.Contains(c.Connectors.Odoo.Actions, a) {
				v.add("connectors.webhook.actions", fmt.Sprintf("lists %q, which connectors.odoo.actions sends to Odoo; an action goes to one connector", a))
			}
		}
	}

	v.oneOf("log.level", c.Log.Level, logLevelValues)
	v.oneOf("log.format", c.Log.Format, logFormatValues)
	v.between("changes.what_if_shipments", c.Changes.WhatIfShipments, 1, 10000)
	c.Encryption.validate(&v)
	c.Tracing.validate(&v)
	return v.errs
}

func (t Tracing) validate(v *validator) {
	if t.Endpoint != "" {
		if strings.Contains(t.Endpoint, "://") {
			v.add("tracing.endpoint", "must be host:port without a scheme, such as localhost:4318 (tracing.insecure chooses plain HTTP)")
		} else if host, port, err := net.SplitHostPort(t.Endpoint); err != nil || host == "" || !validPort(port) {
			v.add("tracing.endpoint", "must be host:port, such as localhost:4318")
		}
	}
	v.oneOf("tracing.protocol", t.Protocol, tracingProtocolValues)
	if t.SampleRatio <= 0 || t.SampleRatio > 1 || math.IsNaN(t.SampleRatio) {
		v.add("tracing.sample_ratio", fmt.Sprintf("must be above 0 and at most 1, got %g (an empty tracing.endpoint turns tracing off)", t.SampleRatio))
	}
	if strings.TrimSpace(t.ServiceName) == "" {
		v.add("tracing.service_name", "must not be empty")
	}
	if _, err := t.HeaderMap(); err != nil {
		v.add("tracing.headers", err.Error())
	}
}

// validPort reports whether s is a TCP port number from 1 to 65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func (w Webhook) validate(v *validator, prefix string) {
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(prefix+".url", "must be an absolute http or https URL, such as https://example.com/hook")
		}
	}
	v.actions(prefix+".actions", w.Actions, webhookActionValues)
	v.positive(prefix+".timeout", w.Timeout)
}

// Validate checks the connectors.odoo section the way Config.Validate does,
// with full key paths such as "connectors.odoo.url".
func (o Odoo) Validate() error {
	var v validator
	o.validate(&v, "connectors.odoo")
	return joinFieldErrors(v.errs)
}

func (o Odoo) validate(v *validator, prefix string) {
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(prefix+".url", "must be an absolute http or https URL, such as https://erp.example.com")
		}
		if o.Database == "" {
			v.add(prefix+".database", "must be set when url is set")
		}
		if o.Login == "" && o.Protocol != OdooProtocolJSON2 && (o.Version == 0 || o.Version < 19) {
			v.add(prefix+".login", "must be set when url is set (JSON-RPC logs in; only json2 on Odoo 19 does without)")
		}
		switch {
		case o.APIKey == "" && o.APIKeyFile == "":
			v.add(prefix+".api_key", "must be set (through WAYBILL_CONNECTORS_ODOO_API_KEY) or named by api_key_file when url is set")
		case o.APIKey != "" && o.APIKeyFile != "":
			v.add(prefix+".api_key_file", "must not be set together with api_key; keep one source of the key")
		}
	}
	if o.Version != 0 && (o.Version < 16 || o.Version > 19) {
		v.add(prefix+".version", "must be 0 (detect) or an Odoo major version from 16 to 19")
	}
	if !slices.Contains(odooProtocolValues, o.Protocol) {
		v.add(prefix+".protocol", fmt.Sprintf("must be jsonrpc, json2 or empty (chosen by version), got %q", o.Protocol))
	}
	if o.Protocol == OdooProtocolJSON2 && o.Version != 0 && o.Version < 19 {
		v.add(prefix+".protocol", "json2 needs Odoo 19 or later")
	}
	v.positive(prefix+".timeout", o.Timeout)
	v.atLeast(prefix+".rate_limit", o.RateLimit, 1)
	v.atLeast(prefix+".breaker_failures", o.BreakerFailures, 1)
	v.positive(prefix+".breaker_cooldown", o.BreakerCooldown)
	v.actions(prefix+".actions", o.Actions, odooActionValues)
	v.oneOf(prefix+".backorder", o.Backorder, odooBackorderValues)
	v.oneOf(prefix+".invoice_state", o.InvoiceState, odooInvoiceStateValues)
	if o.PollInterval < 0 {
		v.add(prefix+".poll_interval", "must not be negative (0 turns polling off)")
	}
	if o.ReserveRetry < 0 {
		v.add(prefix+".reserve_retry", "must not be negative (0 asks at every poll)")
	}
	if o.PollOverlap < 0 {
		v.add(prefix+".poll_overlap", "must not be negative")
	}
	if o.MilestoneSyncWindow < 0 {
		v.add(prefix+".milestone_sync_window", "must not be negative")
	}
	if t := o.WebhookToken.Reveal(); t != "" && len(t) < 16 {
		v.add(prefix+".webhook_token", "must be at least 16 characters: it is the only thing that guards the route")
	}
	for _, p := range o.Policies {
		if err := p.check(); err != nil {
			v.add(prefix+".policies", fmt.Sprintf("entry %q: %v", p.String(), err))
		}
	}
	seen := make(map[string]bool)
	for _, p := range o.ServiceProducts {
		switch err := p.check(p.String()); {
		case err != nil:
			v.add(prefix+".service_products", err.Error())
		case seen[p.ChargeType]:
			v.add(prefix+".service_products", fmt.Sprintf("maps %q more than once", p.ChargeType))
		}
		seen[p.ChargeType] = true
	}
	if o.System == "" || strings.ContainsAny(o.System, ": \t") {
		v.add(prefix+".system", "must be a non-empty name without colons or spaces, such as odoo")
	}
}

// ReadAPIKey returns the API key: api_key, or the contents of api_key_file
// (ReadSecretFile) without surrounding white space, which an Odoo key never
// has. Errors name the file, never its contents.
func (o Odoo) ReadAPIKey() (string, error) {
	if o.APIKeyFile == "" {
		return o.APIKey.Reveal(), nil
	}
	s, err := ReadSecretFile(o.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("connectors.odoo.api_key_file: %w", err)
	}
	key := strings.TrimSpace(s.Reveal())
	if key == "" {
		return "", fmt.Errorf("connectors.odoo.api_key_file: secret file %s is empty", o.APIKeyFile)
	}
	return key, nil
}

// validator collects FieldErrors.
type validator struct {
	errs []*KeyError
}

func (v *validator) add(key, msg string) {
	v.errs = append(v.errs, &KeyError{Key: key, Msg: msg})
}

func (v *validator) atLeast(key string, got, lo int) {
	if got < lo {
		v.add(key, fmt.Sprintf("must be at least %d", lo))
	}
}

func (v *validator) between(key string, got, lo, hi int) {
	if got < lo || got > hi {
		v.add(key, fmt.Sprintf("must be between %d and %d", lo, hi))
	}
}

func (v *validator) positive(key string, got time.Duration) {
	if got <= 0 {
		v.add(key, `must be positive, such as "30s"`)
	}
}

// actions checks a list of action kinds: each allowed, none twice.
func (v *validator) actions(key string, got, allowed []string) {
	for i, a := range got {
		switch {
		case !slices.Contains(allowed, a):
			v.add(key, fmt.Sprintf("unknown action %q; must be %s", a, orList(allowed)))
		case slices.Index(got, a) < i:
			v.add(key, fmt.Sprintf("lists %q more than once", a))
		}
	}
}

func (v *validator) oneOf(key, got string, allowed []string) {
	if !slices.Contains(allowed, got) {
		v.add(key, fmt.Sprintf("must be %s, got %q", orList(allowed), got))
	}
}

func (v *validator) hostPort(key, got string) {
	_, port, err := net.SplitHostPort(got)
	if err != nil {
		v.add(key, "must be host:port, such as 127.0.0.1:8080")
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		v.add(key, "must end in a port number from 0 to 65535")
	}
}

// orList renders ["a", "b", "c"] as "one of a, b or c".
func orList(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return "one of " + strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// joinFieldErrors joins errs with errors.Join; nil when errs is empty.
func joinFieldErrors(errs []*KeyError) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

func (s Subscriptions) validate(v *validator) {
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"subscriptions.disable_after", s.DisableAfter}, {"subscriptions.timeout", s.Timeout}, {"subscriptions.secret_overlap", s.SecretOverlap}, {"subscriptions.retention", s.Retention}} {
		if d.d <= 0 {
			v.add(d.key, "must be positive")
		}
	}
	if s.RateLimit <= 0 || s.RateLimit > 1000 {
		v.add("subscriptions.rate_limit", "must be above 0 and at most 1000 a second")
	}
	if s.Workers <= 0 || s.Workers > 1000 {
		v.add("subscriptions.workers", "must be 1 to 1000")
	}
	if s.PerEndpoint <= 0 || s.PerEndpoint > s.Workers {
		v.add("subscriptions.per_endpoint", "must be 1 to subscriptions.workers")
	}
}

func (r Reconcile) validate(v *validator) {
	if r.Cutoff.Minutes <= 0 || r.Cutoff.Minutes > minutesPerDay {
		v.add("reconcile.cutoff", "must be a time of day from 00:01 to 24:00")
	}
	if err := r.Timezone.check(); err != nil {
		v.add("reconcile.timezone", err.Error())
	}
	seen := map[string]bool{}
	for _, w := range r.Warehouses {
		if err := w.check(w.String()); err != nil {
			v.add("reconcile.warehouses", err.Error())
		} else if seen[w.Name] {
			v.add("reconcile.warehouses", fmt.Sprintf("names %q more than once", w.Name))
		}
		seen[w.Name] = true
	}
	if r.Grace < 0 {
		v.add("reconcile.grace", "must not be negative")
	}
	if r.CatchUp < 0 || r.CatchUp > 31 {
		v.add("reconcile.catch_up", "must be 0 to 31 days")
	}
	if r.RecoverAfter < 0 {
		v.add("reconcile.recover_after", "must not be negative (0 turns recovery off)")
	}
	if r.InventoryInterval < 0 {
		v.add("reconcile.inventory_interval", "must not be negative (0 turns the scheduled check off)")
	}
}

func (f FreightAudit) validate(v *validator) {
	seen := map[string]bool{}
	for _, t := range f.Tolerances {
		if err := t.check(); err != nil {
			v.add("freight_audit.tolerances", fmt.Sprintf("entry %q: %v", t.String(), err))
		} else if seen[t.Type] {
			v.add("freight_audit.tolerances", fmt.Sprintf("sets type %q more than once", t.Type))
		}
		seen[t.Type] = true
	}
	v.oneOf("freight_audit.bill_state", f.BillState, []string{OdooInvoiceDraft, OdooInvoicePosted})
}
