package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/tmssim"
)

// Sandbox pacing: orders seeded at start-up reach their invoices within a
// minute or so.
const (
	sandboxPoll = 5 * time.Second
	sandboxStep = 3 * time.Second
)

// sandbox is what serve --sandbox runs beside the hub: a simulated Odoo
// with confirmed orders, and a simulated TMS that drives released
// shipments through loading and delivery, both on loopback.
type sandbox struct {
	odoo  *odoosim.Server
	tms   *tmssim.Sim
	front *http.Server // serves the TMS simulator once the hub exists
	late  atomic.Pointer[http.Handler]
	// release gives up the claim on the data directory, until the hub
	// takes it over (claim).
	release func() error
}

// startSandbox claims the data directory, resets it, starts the
// simulators and points cfg's Odoo and TMS connectors at them. The TMS
// simulator itself starts in attach, once the hub's URL and key exist. The
// hub takes over the claim (claim); Close gives it up if it did not.
func startSandbox(ctx context.Context, cfg *config.Config, odooVersion int, logger *slog.Logger) (*sandbox, error) {
	if cfg.Storage.DatabaseURL != "" {
		return nil, errors.New("--sandbox runs on the embedded SQLite database: drop --database")
	}
	// The claim comes first: the reset must never delete the database of
	// a sandbox that is running on this directory.
	release, err := sqldb.ClaimDir(cfg.Storage.DataDir)
	if errors.Is(err, sqldb.ErrInUse) {
		return nil, fmt.Errorf("%w: %s is in use; stop that serve, or give this sandbox another --data directory", sqldb.ErrInUse, cfg.Storage.DataDir)
	}
	if err != nil {
		return nil, err
	}
	sb := &sandbox{release: release}
	if err := resetSandboxData(ctx, cfg.Storage.DataDir, logger); err != nil {
		sb.Close()
		return nil, err
	}
	srv, err := odoosim.Start(odoosim.Options{Version: odooVersion, Logger: logger.With(slog.String("component", "odoosim"))})
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("starting the sandbox Odoo: %w", err)
	}
	sb.odoo = srv
	// A sandbox delivers to receivers on this machine, over http.
	cfg.Subscriptions.AllowPrivateTargets, cfg.Subscriptions.AllowHTTP = true, true
	sim := srv.Sim()
	oc := &cfg.Connectors.Odoo
	if oc.URL != "" {
		logger.WarnContext(ctx, "sandbox mode: connectors.odoo is replaced by the built-in simulator", slog.String("configured_url", oc.URL))
	}
	oc.URL, oc.Database, oc.Login, oc.APIKey, oc.APIKeyFile = srv.URL(), sim.Database(), sim.Login(), config.Secret(sim.APIKey()), ""
	oc.Version, oc.Protocol, oc.PollInterval = 0, "", sandboxPoll
	if oc.WebhookToken == "" {
		oc.WebhookToken = sandboxDoorbellToken
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("starting the sandbox TMS: %w", err)
	}
	sb.front = &http.Server{Handler: http.HandlerFunc(sb.serveTMS), ReadHeaderTimeout: 10 * time.Second}
	go sb.front.Serve(ln)
	if cfg.Connectors.TMS.URL != "" {
		logger.WarnContext(ctx, "sandbox mode: connectors.tms is replaced by the built-in simulator", slog.String("configured_url", cfg.Connectors.TMS.URL))
	}
	cfg.Connectors.TMS.URL, cfg.Connectors.TMS.Secret = "http://"+ln.Addr().String()+tmssim.PathDispatches, ""
	// The simulators take the Odoo and TMS actions; a webhook keeps the rest.
	if cfg.Connectors.Webhook.URL != "" {
		cfg.Connectors.Webhook.Actions = slices.DeleteFunc(slices.Clone(cfg.Connectors.Webhook.Actions), func(a string) bool {
			return a == shipment.ActionDispatchRelease || slices.Contains(oc.Actions, a)
		})
	}
	// The sample partner files to try (README) are dated November 2025:
	// unless the configuration says otherwise, take events up to that far
	// back. The simulated TMS is the sandbox's client: its events keep a
	// source label of their own in the metrics.
	if cfg.Intake.MaxEventAge == config.IntakeMaxEventAgeDefault {
		cfg.Intake.MaxEventAge = max(cfg.Intake.MaxEventAge, time.Since(sandboxSamplesFrom)+config.IntakeMaxEventAgeDefault)
	}
	cfg.Intake.MetricSources = append(cfg.Intake.MetricSources, tmssim.Source)
	// The sandbox shows the public tracking pages, signed with a key of
	// its data directory (tracking.key) unless one is configured.
	cfg.TrackingPage.Enabled = true
	if err := sandboxSources(cfg); err != nil {
		sb.Close()
		return nil, err
	}
	return sb, nil
}

// sandboxSourceProfiles are the source profiles of a sandbox: a carrier
// that sends X12 (by POST or into a watched folder), an EDIFACT partner, an
// EasyPost account and a driver app, to try carrier intake with the
// fixtures of docs/sources.md.
const sandboxSourceProfiles = `# Written by waybill serve --sandbox; see docs/sources.md.
sources:
  - id: sandbox-x12
    name: Sandbox X12 carrier
    format: x12
    auth: {scheme: api_key}
    timezone: America/Chicago
    x12: {interchange_id: WAYBILLSBX, qualifier: ZZ}
  - id: sandbox-edifact
    name: Sandbox EDIFACT partner
    format: edifact
    auth: {scheme: api_key}
    timezone: Europe/Amsterdam
  - id: sandbox-easypost
    name: Sandbox EasyPost account
    format: easypost
    auth: {scheme: easypost, secrets: [` + sandboxEasyPostSecret + `]}
  - id: sandbox-pod
    name: Sandbox driver app
    format: pod_app
    auth: {scheme: api_key}
`

// sandboxEasyPostSecret signs the sandbox's EasyPost webhooks.
const sandboxEasyPostSecret = "sandbox-easypost-secret"

// sandboxDoorbellToken is the sandbox's connectors.odoo.webhook_token, for
// trying the Odoo webhook doorbell.
const sandboxDoorbellToken = "sandbox-doorbell-token"

// sandboxSamplesFrom is the date of the oldest sample partner file.
var sandboxSamplesFrom = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// sandboxSources gives a sandbox its source profiles and an EDI folder,
// unless the configuration names its own.
func sandboxSources(cfg *config.Config) error {
	if cfg.Intake.SourcesFile != "" {
		return nil
	}
	dir := cfg.Storage.DataDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("preparing the sandbox: %w", err)
	}
	path := filepath.Join(dir, "sandbox-sources.yaml")
	if err := os.WriteFile(path, []byte(sandboxSourceProfiles), 0o600); err != nil {
		return fmt.Errorf("preparing the sandbox: %w", err)
	}
	cfg.Intake.SourcesFile = path
	if len(cfg.Intake.EDIDirs) == 0 {
		cfg.Intake.EDIDirs = []string{"sandbox-x12=" + filepath.Join(dir, "edi", "sandbox-x12")}
	}
	return nil
}

// resetSandboxData deletes the database of an earlier sandbox run: the
// simulators keep nothing between runs, and shipments of the last run
// would collide with the new run's records of the same names. A data
// directory a sandbox did not create is never touched.
func resetSandboxData(ctx context.Context, dir string, logger *slog.Logger) error {
	db := filepath.Join(dir, sqldb.SQLiteFile)
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "sandbox.key")); err != nil {
		return fmt.Errorf("--sandbox starts afresh, but %s holds a database no sandbox made: use another --data directory", dir)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("resetting the sandbox: %w", err)
		}
	}
	logger.InfoContext(ctx, "sandbox mode: the last run's database was reset, as the simulators start afresh", slog.String("data_dir", dir))
	return nil
}

// serveTMS answers 503 until the TMS simulator runs; the connector retries.
func (sb *sandbox) serveTMS(w http.ResponseWriter, r *http.Request) {
	if h := sb.late.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "the sandbox TMS is starting", http.StatusServiceUnavailable)
}

// attach makes the sandbox admin key, starts the TMS simulator reporting to
// the hub with it, seeds orders in the simulated Odoo and says what runs.
func (sb *sandbox) attach(ctx context.Context, h *hub.Hub, cfg config.Config, logger *slog.Logger) error {
	key, err := sandboxKey(ctx, h.Keys, cfg, logger)
	if err != nil {
		return err
	}
	sb.tms, err = tmssim.New(tmssim.Options{Waybill: h.URL(), Key: key, Step: sandboxStep, SkipAssignedEvent: true,
		Scenario: sandboxScenario, Logger: logger.With(slog.String("component", "tmssim"))})
	if err != nil {
		return fmt.Errorf("starting the sandbox TMS: %w", err)
	}
	var handler http.Handler = sb.tms
	sb.late.Store(&handler)
	orders, err := seedSandboxOrders(ctx, sb.odoo)
	if err != nil {
		return fmt.Errorf("seeding the sandbox Odoo: %w", err)
	}
	sim := sb.odoo.Sim()
	logger.WarnContext(ctx, "sandbox mode: local SQLite, a ready-made admin key, a simulated Odoo and a simulated TMS (in memory, reset at every start); not for production",
		slog.String("odoo_url", sb.odoo.URL()), slog.Int("odoo_version", sim.Version()), slog.String("odoo_database", sim.Database()),
		slog.String("odoo_login", sim.Login()), slog.String("odoo_api_key", sim.APIKey()), slog.String("tms_url", cfg.Connectors.TMS.URL),
		slog.String("sale_orders", strings.Join(orders, ", ")),
		slog.String("odoo_doorbell", "POST /v1/sources/odoo/webhook?token="+cfg.Connectors.Odoo.WebhookToken.Reveal()),
		slog.String("sources", "sandbox-x12 (X12: POST /v1/sources/sandbox-x12/edi, or files into "+sandboxFolder(cfg)+"), "+
			"sandbox-edifact (EDIFACT: POST /v1/sources/sandbox-edifact/edi), sandbox-easypost (POST /v1/sources/sandbox-easypost/webhooks signed with "+
			sandboxEasyPostSecret+"), sandbox-pod (driver app: POST /v1/sources/sandbox-pod/webhooks); profiles in "+cfg.Intake.SourcesFile))
	return nil
}

// sandboxFolder is the first watched EDI folder, or "" without one.
func sandboxFolder(cfg config.Config) string {
	if len(cfg.Intake.EDIDirs) == 0 {
		return ""
	}
	_, dir, _ := strings.Cut(cfg.Intake.EDIDirs[0], "=")
	return dir
}

// sandboxDamaged is the customer reference of the seeded order whose
// delivery arrives with a damaged unit, so the review queue has something
// to show.
const sandboxDamaged = "SANDBOX-3"

// sandboxScenario delivers everything in full, but for one seeded order.
func sandboxScenario(r tmssim.Release) tmssim.Plan {
	if r.Dispatch.References["po"] == sandboxDamaged && len(r.Dispatch.Lines) > 0 {
		return tmssim.Damaged(r.Dispatch.Lines[0].SKU, "1")(r)
	}
	return tmssim.FullDelivery()(r)
}

// claim hands the claim on the data directory to the hub
// (hub.Options.Claimed), which gives it up when it closes.
func (sb *sandbox) claim() func() error {
	release := sb.release
	sb.release = nil
	return release
}

// Close stops the simulators and gives up the claim on the data directory
// unless the hub took it.
func (sb *sandbox) Close() error {
	var errs []error
	if sb.front != nil {
		errs = append(errs, sb.front.Close())
	}
	if sb.tms != nil {
		errs = append(errs, sb.tms.Close())
	}
	if sb.odoo != nil {
		errs = append(errs, sb.odoo.Close())
	}
	if sb.release != nil {
		errs = append(errs, sb.release())
		sb.release = nil
	}
	return errors.Join(errs...)
}

// sandboxKey makes sure a sandbox has an admin key a newcomer can use: it is
// kept in the data directory and printed at start-up.
func sandboxKey(ctx context.Context, keys *apikey.Store, cfg config.Config, logger *slog.Logger) (string, error) {
	path := filepath.Join(cfg.Storage.DataDir, "sandbox.key")
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := keys.Verify(ctx, key); err == nil {
			logger.InfoContext(ctx, "sandbox API key (all scopes) read from "+path, slog.String("key", key))
			return key, nil
		}
	}
	secret, _, err := keys.Create(ctx, "sandbox", []apikey.Scope{apikey.Admin})
	if err != nil {
		return "", fmt.Errorf("creating the sandbox key: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("saving the sandbox key: %w", err)
	}
	logger.InfoContext(ctx, "sandbox API key (all scopes) created and saved to "+path, slog.String("key", secret))
	return secret, nil
}

// seedSandboxOrders confirms sale orders in the simulator, so a newcomer
// sees them flow to invoices. It returns them as
// "S00025 (WH/OUT/00015: 5 E-COM07, 2 FURN_7800)".
func seedSandboxOrders(ctx context.Context, srv *odoosim.Server) ([]string, error) {
	sim := srv.Sim()
	cl, err := odoo.New(ctx, odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey()})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	demo := sim.Demo()
	type line struct {
		sku string
		qty float64
	}
	plans := [][]line{
		{{"E-COM07", 5}, {"FURN_7800", 2}},
		{{"DESK0005", 3}},
		{{"FURN_0096", 4}, {"E-COM10", 6}},
	}
	var out []string
	for i, plan := range plans {
		p := &odoo.SaleOrderParams{PartnerID: demo.Customers[i%len(demo.Customers)], ClientRef: fmt.Sprintf("SANDBOX-%d", i+1), Confirm: true}
		var desc []string
		for _, l := range plan {
			p.Lines = append(p.Lines, odoo.SaleLine{ProductID: demo.Products[l.sku], Quantity: l.qty})
			desc = append(desc, fmt.Sprintf("%g %s", l.qty, l.sku))
		}
		so, err := cl.EnsureSaleOrder(ctx, p)
		if err != nil {
			return nil, err
		}
		var pickings []string
		for _, id := range so.PickingIDs {
			pk, err := cl.Picking(ctx, id)
			if err != nil {
				return nil, err
			}
			pickings = append(pickings, pk.Name)
		}
		out = append(out, fmt.Sprintf("%s (%s: %s)", so.Name, strings.Join(pickings, ", "), strings.Join(desc, ", ")))
	}
	return out, nil
}
