// Package hub assembles Waybill from its parts — database, intake,
// processor, job queue, connectors and HTTP API — and runs it. The
// waybill serve command is a thin wrapper around it, and end-to-end tests
// run the same assembly on a loopback port.
//
// Shutdown runs in order: the HTTP server stops taking requests (and
// /readyz turns 503), the committer writes what is queued, the processor
// finishes its batch, in-flight jobs get the soft-stop timeout (River UI's
// background counts stop with them), and the database is closed last.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/archive"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/connector/tender"
	"github.com/waybill/waybill/internal/connector/tms"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/console"
	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/feeds"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/kpi"
	"github.com/waybill/waybill/internal/odoosync"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/server"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/subscription"
	"github.com/waybill/waybill/internal/tracing"
	"github.com/waybill/waybill/internal/tracking"
	"github.com/waybill/waybill/internal/workflow"
)

// The sources of the events the hub emits from its connectors' reports.
const (
	tmsAssignedSource = "waybill/tms"
	odooSource        = "waybill/odoo"
)

// Hub is an assembled Waybill.
type Hub struct {
	cfg       config.Config
	logger    *slog.Logger
	DB        *sqldb.DB
	Keys      *apikey.Store
	Shipments *workflow.Store
	Events    *intake.Store
	Queue     *jobqueue.Queue
	Registry  *connector.Registry
	// Audit is the audit trail: decisions, replays, keys and the
	// configuration of each start-up.
	Audit *audit.Store
	// Changes keeps the versions of the rules, source profiles and
	// mappings; the hub runs with the approved ones.
	Changes *changes.Store
	// KPIs computes the business metrics from the database; its gauges
	// are registered on the hub's registry (GET /metrics), and the
	// console renders its snapshots.
	KPIs *kpi.KPIs
	// Reconciler reconciles business days with Odoo; its runs fail with
	// reconcile.ErrNoOdoo when no Odoo connector is configured.
	Reconciler *reconcile.Reconciler
	// Subscriptions delivers applied events to subscribed endpoints.
	Subscriptions *subscription.Service
	// Freight audits carriers' freight invoices; nil unless
	// freight_audit.cost_rules_file is set.
	Freight *freight.Auditor

	reg       *registry
	processor *workflow.Processor
	poller    *odoosync.Poller // nil without Odoo polling
	feeds     *feeds.Monitor   // nil without a silence watch
	outages   chan outage      // outages over, to reconcile
	replica   string           // this process's replica and River client id
	member    *sqldb.Replica   // its registration on PostgreSQL; nil on SQLite
	lease     *sqldb.Lease     // held by the replica that routes events and does the work done once per database
	// parts are the processing partitions this replica owns, and router
	// sends events to them; both nil on SQLite, where one process
	// applies every event.
	parts  *sqldb.Partitions
	router *workflow.Router
	// stored is signalled after intake stores events, for announce to
	// tell the other replicas; nil on SQLite.
	stored    chan struct{}
	backlog   *intake.Backlog
	sources   *source.Receiver // nil without source profiles
	watcher   *source.Watcher  // nil without EDI folders
	emitter   *intake.Emitter
	committer *intake.Committer
	server    *server.Server
	httpSrv   *http.Server
	ln        net.Listener
	release   func() error // gives up the claim on the database
	// reencrypt keeps the data keys current and re-seals older rows;
	// nil with encryption off.
	reencrypt *datakey.Reencryptor
	// jobsUI is River UI over the job queue, served in the console at
	// /console/jobs/; nil when River UI does not support the engine.
	jobsUI *jobqueue.UI
	// archiver moves old history to the archive directory every
	// archive.interval; nil unless archive.enabled.
	archiver *archive.Archiver
	// tracing exports the spans of event flows; a no-op provider with
	// tracing off. Run shuts it down, flushing its spans, last before the
	// database closes.
	tracing *tracing.Provider
}

// Options are what the command line adds to the configuration.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Claimed, when set, releases a claim on the SQLite data directory
	// the caller took before the database was opened (sqldb.ClaimDir):
	// New takes it over instead of claiming, and gives it up when the hub
	// closes or New fails.
	Claimed func() error
	// WebhookRetries, when set, replaces the waits between attempts of a
	// webhook delivery (subscription.RetrySchedule), for tests that
	// cannot wait minutes.
	WebhookRetries []time.Duration
}

// New opens and migrates the database, builds every component and listens
// on cfg.Server.Addr. Call Run to serve, or Close to give up.
func New(ctx context.Context, cfg config.Config, opts Options) (*Hub, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, logger: logger}
	db, err := sqldb.Open(ctx, sqldb.Options{
		DataDir:     cfg.Storage.DataDir,
		DatabaseURL: cfg.Storage.DatabaseURL.Reveal(),
		Synchronous: cfg.Storage.SQLiteSynchronous,
		MaxConns:    cfg.Storage.PostgresMaxConns,
	})
	if err != nil {
		if opts.Claimed != nil {
			_ = opts.Claimed()
		}
		return nil, err
	}
	h.DB = db
	h.replica = newReplicaID()
	release := opts.Claimed
	switch {
	case release != nil:
	case db.Dialect.Engine == sqldb.Postgres:
		// Several serve processes share a PostgreSQL database: each
		// registers as a live replica, and the lease decides which one
		// applies events and runs the work done once per database.
		if h.member, err = db.JoinReplica(ctx, h.replica); err != nil {
			db.Close()
			return nil, err
		}
		release = h.member.Release
	default:
		if release, err = db.Claim(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	h.release = release
	if err := h.build(ctx, opts); err != nil {
		_ = h.shutdownTracing()
		h.closeDB()
		return nil, err
	}
	return h, nil
}

func (h *Hub) build(ctx context.Context, opts Options) error {
	cfg, logger, db := h.cfg, h.logger, h.DB
	if _, err := db.Migrate(ctx, logger); err != nil {
		return err
	}
	if err := db.CheckEnvironment(ctx, cfg.Server.Environment); err != nil {
		return err
	}
	logger.InfoContext(ctx, "database ready", slog.String("location", db.Location))

	h.reg = newRegistry()
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if h.tracing, err = NewTracing(ctx, cfg.Tracing, opts.Version); err != nil {
		return err
	}
	tp := h.tracerProvider()
	if h.tracing.Enabled() {
		logger.InfoContext(ctx, "tracing on", slog.String("endpoint", cfg.Tracing.Endpoint), slog.String("protocol", cfg.Tracing.Protocol),
			slog.Float64("sample_ratio", cfg.Tracing.SampleRatio))
	}
	if h.reencrypt, err = SetupEncryption(ctx, db, cfg, datakey.ReencryptorOptions{Logger: logger, Registerer: h.reg}); err != nil {
		return err
	}

	h.Shipments = workflow.NewStore(db)
	if h.Audit, err = OpenAudit(ctx, cfg, db, logger); err != nil {
		return err
	}
	approved, err := h.loadApproved(ctx)
	if err != nil {
		return err
	}
	profiles := approved.Profiles
	sourceStore := source.NewStore(db)
	h.outages = make(chan outage, 16)
	var onOdooRecover func(from, to time.Time)
	if recovers(cfg) {
		onOdooRecover = h.odooRecovered
	}
	conns, err := BuildConnectors(cfg, ConnectorDeps{OnOdooRecover: onOdooRecover, Shipments: h.Shipments, Registerer: h.reg, Version: opts.Version, Logger: logger, TracerProvider: tp,
		OnAssigned: h.assigned, OnInvoiced: h.invoiced, OnValidated: h.validated, OnTakeBackFailed: h.takeBackFailed, OnBilled: h.billed,
		Tenders: tenders(profiles), TenderStore: sourceStore,
		StartInvoice: func(ctx context.Context, ref string) (bool, error) { return db.Start(ctx, "odoo.invoice", ref) }})
	if err != nil {
		return err
	}
	registry := conns.Registry
	h.Registry = registry
	if kinds := registry.Kinds(); len(kinds) == 0 {
		logger.InfoContext(ctx, "no outbound connectors configured: state changes are recorded, outbound actions are not sent")
	} else {
		logger.InfoContext(ctx, "outbound connectors configured", slog.String("kinds", strings.Join(kinds, ",")))
	}

	if b := cfg.Billing; b.PODMaxSilence > 0 {
		var onRecover func(context.Context, string, time.Time, time.Time)
		if recovers(cfg) {
			onRecover = h.feedRecovered
		}
		h.feeds, err = feeds.New(feeds.Options{DB: db, Sources: b.PODSources, MaxSilence: b.PODMaxSilence, OnRecover: onRecover,
			From: b.OperatingHours.From, To: b.OperatingHours.To, Location: b.Timezone.Location(),
			RecoveryEvents: b.PODRecoveryEvents, Logger: logger, Registerer: h.reg})
		if err != nil {
			return err
		}
	}
	h.KPIs = kpi.New(db, kpi.Options{ReleaseDelay: cfg.KPI.ReleaseDelay, ShortageAge: cfg.KPI.ShortageAge,
		UnbilledAfter: cfg.KPI.UnbilledAfter, CacheFor: cfg.KPI.CacheFor, InventoryCountsFunc: h.inventoryCounts}, h.heldFeeds())
	if err := h.reg.Register(h.KPIs); err != nil {
		return fmt.Errorf("registering the business metrics: %w", err)
	}
	h.lease = db.NewLease(serveLease, h.replica, sqldb.LeaseOptions{TTL: leaseTTL, Logger: logger})
	sc := cfg.Subscriptions
	h.Subscriptions = subscription.New(db, subscription.Options{
		Targets:      subscription.Targets{AllowPrivate: sc.AllowPrivateTargets, AllowHTTP: sc.AllowHTTP},
		DisableAfter: sc.DisableAfter, RateLimit: sc.RateLimit, Timeout: sc.Timeout, Workers: sc.Workers,
		PerEndpoint: sc.PerEndpoint, SecretOverlap: sc.SecretOverlap, Retention: sc.Retention, Schedule: opts.WebhookRetries,
		Logger: logger, Registerer: h.reg,
	})
	h.Queue, err = jobqueue.New(db, registry, jobqueue.Options{
		Extra:           []jobqueue.Extra{{Queue: subscription.Queue, Workers: h.Subscriptions.Workers(), Register: h.Subscriptions.Register}},
		ClientID:        h.replica,
		Hold:            h.hold,
		Workers:         cfg.Jobs.Workers,
		LaneWorkers:     cfg.Jobs.LaneWorkers(),
		MaxAttempts:     cfg.Jobs.MaxAttempts,
		Timeout:         cfg.Jobs.Timeout,
		SoftStopTimeout: cfg.Jobs.SoftStopTimeout,
		RetryBase:       cfg.Jobs.RetryBase,
		RetryMax:        cfg.Jobs.RetryMax,
		Logger:          logger,
		Registerer:      h.reg,
		TracerProvider:  tp,
	})
	if err != nil {
		return err
	}
	h.Subscriptions.SetQueue(h.Queue)
	// This server owns the database (the claim): a job still running was
	// left by a server that ended, and runs again now.
	if _, err := h.Queue.Rescue(ctx, h.deadReplicas(ctx)); err != nil {
		return err
	}
	if h.Freight, err = NewFreightAuditor(cfg, &FreightDeps{DB: db, Jobs: h.Queue, Logger: logger, Registerer: h.reg}); err != nil {
		return err
	}
	if h.Freight != nil {
		if err := registry.Register(shipment.ActionFreightAudit, h.Freight); err != nil {
			return err
		}
		logger.InfoContext(ctx, "freight audit on", slog.String("cost_rules_file", cfg.FreightAudit.CostRulesFile))
	}
	h.Reconciler, err = NewReconciler(cfg, &ReconcilerDeps{DB: db, Shipments: h.Shipments, Odoo: conns.Odoo, Jobs: h.Queue, Logger: logger, Registerer: h.reg})
	if err != nil {
		return err
	}
	if err := h.addReconcileTasks(); err != nil {
		return err
	}
	validator, err := event.NewValidator()
	if err != nil {
		return fmt.Errorf("loading event schemas: %w", err)
	}
	backlog := &intake.Backlog{}
	h.backlog = backlog
	h.Events = intake.NewStore(db, backlog)
	n, err := h.Events.CountPending(ctx)
	if err != nil {
		return err
	}
	backlog.Set(n)
	var rate func(*shipment.Shipment) ([]shipment.Charge, error)
	if rules := approved.Rules; rules != nil {
		rate = rateWith(rules)
		logger.InfoContext(ctx, "rating rules loaded", slog.String("file", cfg.Billing.RulesFile), slog.String("version", rules.Version()), slog.Int("rules", rules.Len()))
	}
	popts := &workflow.Options{
		Policy: shipment.Policy{AutoRelease: cfg.Workflow.AutoRelease, PartialRelease: cfg.Workflow.PartialRelease,
			PODRadiusMeters: float64(cfg.Workflow.PODRadiusMeters), Rate: rate,
			AwaitPickingValidation: validatesPickings(conns), FreightAudit: h.Freight != nil},
		BatchSize:          cfg.Processor.BatchSize,
		MilestoneIntervals: milestoneIntervals(cfg.Workflow),
		PollInterval:       cfg.Processor.PollInterval,
		Backlog:            backlog,
		Logger:             logger,
		Registerer:         h.reg,
		TracerProvider:     tp,
		Publisher:          h.Subscriptions,
	}
	notify := func() {}
	if h.lease.Shared() {
		// Several replicas: the lease holder routes events to partitions,
		// and each replica applies those it owns.
		h.parts = db.NewPartitions(h.replica, sqldb.PartitionOptions{
			Count: workflow.Partitions, TTL: leaseTTL, Logger: logger, Registerer: h.reg,
			OnChange: func() { h.processor.Wake() },
		})
		popts.Partitions = h.parts
		h.router = workflow.NewRouter(db, h.Events, h.Shipments, workflow.RouterOptions{
			Count: workflow.Partitions, BatchSize: cfg.Processor.BatchSize, PollInterval: cfg.Processor.PollInterval,
			Fence: h.lease.Fence, Routed: func() { h.processor.Wake() }, Channel: routedChannel,
			Logger: logger, Registerer: h.reg,
		})
		h.stored = make(chan struct{}, 1)
		notify = func() {
			h.router.Wake()
			select {
			case h.stored <- struct{}{}:
			default:
			}
		}
	}
	h.processor = workflow.NewProcessor(db, h.Events, h.Shipments, h.Queue, popts)
	if h.router == nil {
		notify = h.processor.Wake
	}
	// On SQLite, events are applied in the transaction that stores them
	// whenever the processor is idle; what it cannot take there, it
	// applies later.
	h.committer = intake.NewCommitter(h.Events, &intake.CommitterOptions{
		MaxGroup: cfg.Intake.GroupCommitMax, NotifyFunc: notify, Apply: h.processor.ApplyInTx,
		Logger: logger, Registerer: h.reg,
	})
	window := intake.TimeWindow{Past: cfg.Intake.MaxEventAge, Future: cfg.Intake.MaxEventLead}
	emitter := intake.NewEmitter(h.committer, &intake.EmitterOptions{
		Validator: validator, Backlog: backlog, MaxBacklog: int64(cfg.Intake.MaxBacklog), Window: window,
	})
	h.emitter = emitter
	if oc := cfg.Connectors.Odoo; conns.Odoo != nil && oc.PollInterval > 0 {
		h.poller, err = odoosync.New(odoosync.Options{
			Client:       conns.Odoo.Connect,
			Emitter:      emitter,
			Cursors:      sqldb.NewCursors(db),
			System:       oc.System,
			Database:     oc.Database,
			Interval:     oc.PollInterval,
			Overlap:      oc.PollOverlap,
			ReserveRetry: oc.ReserveRetry,
			Logger:       logger,
			Registerer:   h.reg,
		})
		if err != nil {
			return err
		}
	}
	events := intake.NewHandler(validator, h.committer, backlog, &intake.HandlerOptions{
		MaxBacklog: int64(cfg.Intake.MaxBacklog), MaxBatch: cfg.Intake.MaxBatchEvents,
		MaxBody: int64(cfg.Intake.MaxBodyBytes), Window: window, Logger: logger, Registerer: h.reg,
		SourceLabelFunc: sourceLabels(cfg, profiles), TracerProvider: tp,
	})
	if profiles != nil {
		if err := h.buildSources(ctx, profiles, sourceStore, emitter); err != nil {
			return err
		}
	}
	if a := cfg.Archive; a.Enabled {
		h.archiver, err = archive.New(archive.Options{DB: db, Dir: a.Path(cfg.Storage.DataDir), Retention: a.Retention,
			Interval: a.Interval, Logger: logger.With(slog.String("component", "archive")), Registerer: h.reg})
		if err != nil {
			return err
		}
	}
	if err := h.recordStartup(ctx, profiles); err != nil {
		return err
	}
	h.Keys = apikey.NewStore(db)
	h.Keys.DefaultLimit = apikey.Limit{Rate: float64(cfg.Server.KeyRate), Burst: cfg.Server.KeyBurst}
	h.Keys.DefaultLabel, h.Keys.Logger = KeyLabel(cfg.Server), logger
	h.Keys.RequireLabel = cfg.Server.Environment
	h.jobsUI, err = h.Queue.UI(jobqueue.UIOptions{Prefix: console.JobsPrefix, Logger: logger.With(slog.String("component", "river_ui"))})
	switch {
	case errors.Is(err, jobqueue.ErrUIUnsupported):
		logger.InfoContext(ctx, "river ui is not served: it does not support this database", slog.Any("err", err))
	case err != nil:
		return err
	}
	var jobs http.Handler
	if h.jobsUI != nil {
		jobs = h.jobsUI
	}
	cons, err := console.New(console.Options{DB: db, Keys: h.Keys, Shipments: h.Shipments, Events: h.Events, KPIs: h.KPIs,
		DeadLetters: h.Queue.DeadLetters(), OdooURL: cfg.Connectors.Odoo.URL, OdooSystem: cfg.Connectors.Odoo.System,
		Jobs: h.Queue, Payloads: sourceStore, Feeds: h.consoleFeeds(), FeedObjective: cfg.Billing.PODMaxSilence,
		Metrics: h.reg, Connectors: connectorKinds(registry),
		JobsUI: jobs, Audit: h.Audit, Margins: h.consoleMargins(),
		// The console's actions go through the API, built next.
		API:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.server.Handler().ServeHTTP(w, r) }),
		Logger: logger.With(slog.String("component", "console")),
	})
	if err != nil {
		return err
	}
	tracking, err := NewTrackingService(cfg, db, h.Shipments, logger)
	if err != nil {
		return err
	}
	h.server = server.New(server.Deps{
		DB: db, Keys: h.Keys, Intake: events, Events: h.Events, Shipments: h.Shipments,
		Jobs: h.Queue, DeadLetters: h.Queue.DeadLetters(), Gatherer: h.reg, Logger: logger, Version: opts.Version,
		OdooHook: h.odooHook(), Emitter: emitter, Feeds: h.feedStatus(),
		Sources: h.sources, MaxBodyBytes: cfg.Intake.MaxBodyBytes, Audit: h.Audit, Changes: h.Changes, Reconciler: h.Reconciler,
		Freight: h.freightService(), Subscriptions: h.Subscriptions, Tracking: tracking,
		Console: cons.Handler(),
	})
	h.httpSrv = &http.Server{
		Handler:           h.server.Handler(),
		ReadTimeout:       cfg.Server.ReadTimeout,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	h.ln, err = net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Server.Addr, err)
	}
	return nil
}

// buildSources loads the source profiles and, when folders are listed,
// the EDI folder watch.
func (h *Hub) buildSources(ctx context.Context, profiles *source.Profiles, store *source.Store, emitter *intake.Emitter) error {
	var err error
	h.sources, err = source.NewReceiver(profiles, store, emitter,
		&source.ReceiverOptions{Registerer: h.reg, Logger: h.logger})
	if err != nil {
		return fmt.Errorf("intake.sources_file: %w", err)
	}
	ids := make([]string, 0, len(profiles.All()))
	for _, p := range profiles.All() {
		ids = append(ids, p.ID+" ("+p.Format+")")
	}
	h.logger.InfoContext(ctx, "source profiles loaded", slog.String("file", h.cfg.Intake.SourcesFile), slog.String("sources", strings.Join(ids, ", ")))
	if len(h.cfg.Intake.EDIDirs) == 0 {
		return nil
	}
	folders, err := source.ParseFolders(h.cfg.Intake.EDIDirs, profiles)
	if err != nil {
		return err
	}
	h.watcher = &source.Watcher{Receiver: h.sources, Folders: folders, Interval: h.cfg.Intake.EDIPollInterval,
		Settle: time.Second, MaxBytes: int64(h.cfg.Intake.MaxBodyBytes), Logger: h.logger}
	return nil
}

// tenders are the carriers of profiles that take 204 load tenders.
func tenders(profiles *source.Profiles) []tender.Carrier {
	var out []tender.Carrier
	for _, p := range profiles.All() {
		if p.TenderDir == "" {
			continue
		}
		out = append(out, tender.Carrier{Source: p.ID, SCAC: p.SCAC, Dir: p.TenderDir,
			SenderID: p.InterchangeID, SenderQualifier: p.Qualifier, ReceiverID: p.PartnerID, ReceiverQualifier: p.PartnerQualifier})
	}
	return out
}

// assigned records the assignment a TMS replied with as a dispatch.assigned
// event, through intake like any other. Its id is the dispatch's, so the
// reply to a repeated release is a duplicate.
func (h *Hub) assigned(ctx context.Context, a *connector.Action, as tms.Assignment) error {
	return h.report(ctx, a, tmsAssignedSource, event.DispatchAssigned, ":assigned", as.EventData())
}

// invoiced records the invoice Odoo made as a shipment.invoiced event,
// through intake like any other; it moves the shipment to invoiced.
func (h *Hub) invoiced(ctx context.Context, a *connector.Action, inv odoo.Invoice) error {
	d := event.ShipmentInvoicedData{System: h.cfg.Connectors.Odoo.System, InvoiceID: strconv.Itoa(inv.ID), Reference: inv.Ref}
	if inv.Name != "" && inv.Name != "/" {
		d.Number = inv.Name
	}
	if inv.State == "draft" || inv.State == "posted" {
		d.State = inv.State
	}
	return h.report(ctx, a, odooSource, event.ShipmentInvoiced, ":invoiced", d)
}

// validatesPickings reports whether the Odoo connector takes the picking
// validations, and so reports each with picking.validated for the invoice
// to wait on.
func validatesPickings(conns *Connectors) bool {
	if conns.Odoo == nil {
		return false
	}
	c, ok := conns.Registry.Lookup(shipment.ActionPickingValidate)
	return ok && c == connector.Connector(conns.Odoo)
}

// validated records the picking Odoo validated as a picking.validated
// event, through intake like any other; the shipment's invoice waits for
// it. Its id is the validation action's, so a retried validation reports
// the same event.
func (h *Hub) validated(ctx context.Context, a *connector.Action, p odoo.Picking, res odoo.ValidateResult) error {
	d := event.PickingValidatedData{System: h.cfg.Connectors.Odoo.System, PickingID: strconv.Itoa(p.ID), Name: p.Name}
	if res.BackorderID != 0 {
		d.BackorderID = strconv.Itoa(res.BackorderID)
	}
	return h.report(ctx, a, odooSource, event.PickingValidated, ":validated", d)
}

// report records what a connector reports back about action a as an event
// of type typ from source, through intake like any other. Its id is the
// action's idempotency key and suffix, so a retried action reports the
// same event, which intake takes as a duplicate.
func (h *Hub) report(ctx context.Context, a *connector.Action, source string, typ event.Type, suffix string, data any) error {
	raw, err := json.Marshal(event.CloudEvent{ID: a.IdempotencyKey + suffix, Source: source, Type: typ, Subject: a.ShipmentID,
		Time: time.Now().UTC(), CorrelationID: a.CorrelationID, Data: data})
	if err != nil {
		return err
	}
	_, err = h.emitter.Emit(ctx, [][]byte{raw})
	return err
}

// hold puts off invoicing a shipment whose proof of delivery came from a
// feed that is silent now.
func (h *Hub) hold(_ context.Context, a *connector.Action) (time.Duration, string) {
	if h.feeds == nil || a.Kind != shipment.ActionInvoicePrepare {
		return 0, ""
	}
	var sh struct {
		POD *struct {
			Source string `json:"source"`
		} `json:"pod"`
	}
	if json.Unmarshal(a.Payload, &sh) != nil || sh.POD == nil {
		return 0, ""
	}
	if held, why := h.feeds.Held(sh.POD.Source); held {
		return min(h.cfg.Billing.PODMaxSilence/4, time.Minute) + time.Second, why
	}
	return 0, ""
}

// feedStatus is the feed watch for the API, nil when there is none (an
// untyped nil, so the server sees no watch).
func (h *Hub) feedStatus() server.Feeds {
	if h.feeds == nil {
		return nil
	}
	return h.feeds
}

// consoleFeeds is the feed watch for the console, nil when there is none.
func (h *Hub) consoleFeeds() console.FeedStatuses {
	if h.feeds == nil {
		return nil
	}
	return h.feeds
}

// connectorKinds maps each outbound connector's name to the action kinds
// it serves, for the console.
func connectorKinds(r *connector.Registry) map[string][]string {
	out := map[string][]string{}
	for _, kind := range r.Kinds() {
		if c, ok := r.Lookup(kind); ok {
			out[c.Name()] = append(out[c.Name()], kind)
		}
	}
	return out
}

// heldFeeds is the feed watch for the KPIs, nil when there is none (an
// untyped nil, so the KPIs see no watch).
func (h *Hub) heldFeeds() kpi.Feeds {
	if h.feeds == nil {
		return nil
	}
	return h.feeds
}

// odooHook is the Odoo webhook doorbell, when Odoo is polled and a token is
// configured.
func (h *Hub) odooHook() *server.OdooHook {
	token := h.cfg.Connectors.Odoo.WebhookToken.Reveal()
	if h.poller == nil || token == "" {
		return nil
	}
	return &server.OdooHook{Token: token, Wake: h.poller.Wake}
}

// Addr is the address the hub listens on.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// URL is the hub's base URL.
func (h *Hub) URL() string { return "http://" + h.Addr() }

// Close releases what New acquired, for a hub that never ran.
func (h *Hub) Close() error {
	h.ln.Close()
	return errors.Join(h.shutdownTracing(), h.closeDB())
}

// NewTracing returns the tracing provider cfg asks for: a no-op one when
// tracing.endpoint is empty, which creates no exporter.
func NewTracing(ctx context.Context, cfg config.Tracing, version string) (*tracing.Provider, error) {
	headers, err := cfg.HeaderMap()
	if err != nil {
		return nil, fmt.Errorf("tracing.headers: %w", err)
	}
	return tracing.New(ctx, tracing.Options{
		Endpoint: cfg.Endpoint, Protocol: cfg.Protocol, Insecure: cfg.Insecure, Headers: headers,
		SampleRatio: cfg.SampleRatio, ServiceName: cfg.ServiceName, ServiceVersion: version,
		BatchTimeout: tracingBatchTimeout,
	})
}

// tracingBatchTimeout is the longest a finished span waits to be
// exported.
const tracingBatchTimeout = 2 * time.Second

// tracerProvider is the provider components start spans with: nil with
// tracing off, so that they skip tracing altogether.
func (h *Hub) tracerProvider() trace.TracerProvider {
	if h.tracing == nil || !h.tracing.Enabled() {
		return nil
	}
	return h.tracing.TracerProvider()
}

// tracingShutdownTimeout bounds the flush of queued spans at shutdown.
const tracingShutdownTimeout = 5 * time.Second

// shutdownTracing flushes and stops the tracing provider.
func (h *Hub) shutdownTracing() error {
	ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
	defer cancel()
	return h.tracing.Shutdown(ctx)
}

// closeDB gives up the claim on the database, then closes it.
func (h *Hub) closeDB() error {
	return errors.Join(h.release(), h.DB.Close())
}

// Run serves until ctx is done, then shuts down in order and closes the
// database.
func (h *Hub) Run(ctx context.Context) error {
	defer h.closeDB()
	logger, cfg := h.logger, h.cfg
	logger.InfoContext(ctx, "listening", slog.String("addr", h.Addr()))

	// Stages run in phases so that shutdown drains in order: intake
	// stops first (the committer writes what is queued), then the
	// processor finishes its batch, then outbound jobs get their soft-stop
	// timeout, and only then are connectors closed. A stage that fails
	// while the server runs stops the server: an intake that accepts
	// events nobody processes is worse than none.
	g := newStages(ctx)
	accepting, processing, sending := g.phase("intake"), g.phase("processing"), g.phase("outbound jobs")
	accepting.run("committer", h.committer.Run)
	accepting.run("key last-use recorder", h.Keys.Run)
	// Work done once per database runs on the replica that holds the
	// lease (on SQLite, the only one): applying events, polling Odoo and
	// sources, watching folders and feeds, and the archive.
	leased := func(fn func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error { return h.lease.While(ctx, fn) }
	}
	if h.lease.Shared() {
		accepting.run("replica backlog", h.refreshBacklog)
		sending.run("replica registration", h.keepRegistration)
	}
	if h.poller != nil {
		accepting.run("odoo poller", leased(h.poller.Run))
	}
	if h.sources != nil {
		accepting.run("source intake", leased(h.sources.Run))
	}
	if h.watcher != nil {
		accepting.run("EDI folder watcher", leased(h.watcher.Run))
	}
	if h.parts != nil {
		// The lease holder routes; every replica applies the partitions
		// it owns. Partitions are given up only after the processor has
		// finished its last batch (outbound jobs stop later).
		processing.run("router", func(ctx context.Context) error { return h.lease.Run(ctx, h.router.Run) })
		processing.run("processor", h.processor.Run)
		sending.run("processing partitions", h.parts.Run)
		sending.run("notifications", h.listen)
		sending.run("announcements", h.announce)
	} else {
		processing.run("processor", func(ctx context.Context) error { return h.lease.Run(ctx, h.processor.Run) })
	}
	if h.feeds != nil {
		sending.run("feed watch", leased(h.feeds.Run))
	}
	if h.lease.Shared() {
		sending.run("rescue of dead replicas' jobs", leased(h.rescueDead))
	}
	sending.run("job queue", h.Queue.Run)
	sending.run("subscriptions", h.Subscriptions.Run)
	sending.run("outage recovery", h.enqueueRecoveries)
	sending.run("KPI snapshots", func(ctx context.Context) error {
		return h.KPIs.Run(ctx, func(err error) {
			h.logger.WarnContext(ctx, "computing the KPIs failed; the last snapshot stays", slog.Any("err", err))
		})
	})
	if h.jobsUI != nil {
		sending.run("river ui", h.jobsUI.Run)
	}
	if h.reencrypt != nil {
		// Every replica loads a rotated data key, so it runs on each.
		sending.run("re-encryption", h.reencrypt.Run)
	}
	if h.archiver != nil {
		sending.run("archive", leased(h.archiver.Run))
	}
	serveErr := make(chan error, 1)
	go func() {
		err := h.httpSrv.Serve(h.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		serveErr <- err
	}()

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case runErr = <-serveErr:
		logger.Error("http server stopped", slog.Any("err", runErr))
	case runErr = <-g.failed():
		logger.Error("a stage failed: shutting down", slog.Any("err", runErr))
	}

	h.server.Drain()
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := h.httpSrv.Shutdown(shutCtx); err != nil {
		logger.Warn("http shutdown incomplete", slog.Any("err", err))
		h.httpSrv.Close()
	}
	if err := g.stop(); err != nil && runErr == nil {
		runErr = err
	}
	if err := h.Registry.Close(); err != nil {
		logger.Warn("closing connectors", slog.Any("err", err))
	}
	if err := h.shutdownTracing(); err != nil {
		logger.Warn("flushing traces", slog.Any("err", err))
	}
	logger.Info("stopped")
	return runErr
}

// stages runs the hub's long-lived components in phases, and reports the
// first that fails while its phase is live.
type stages struct {
	parent context.Context
	phases []*phase
	fail   chan error
}

// phase is a group of stages stopped together.
type phase struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	g      errgroup.Group
	fail   chan error
}

func newStages(ctx context.Context) *stages {
	return &stages{parent: context.WithoutCancel(ctx), fail: make(chan error, 1)}
}

// phase adds a phase; stop stops phases in the order they were added.
func (s *stages) phase(name string) *phase {
	ctx, cancel := context.WithCancel(s.parent)
	p := &phase{name: name, ctx: ctx, cancel: cancel, fail: s.fail}
	s.phases = append(s.phases, p)
	return p
}

// run starts fn as the stage called name.
func (p *phase) run(name string, fn func(context.Context) error) {
	p.g.Go(func() error {
		err := fn(p.ctx)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			if p.ctx.Err() == nil {
				select {
				case p.fail <- err:
				default:
				}
			}
		}
		return err
	})
}

// failed delivers the error of the first stage that failed while running.
func (s *stages) failed() <-chan error { return s.fail }

// stop stops each phase in turn, waiting for all its stages to return
// before stopping the next, and returns the first error.
func (s *stages) stop() error {
	var first error
	for _, p := range s.phases {
		p.cancel()
		if err := p.g.Wait(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ConnectorDeps are what BuildConnectors needs besides the configuration.
type ConnectorDeps struct {
	// Shipments resolves cross-references for connectors that name
	// records in the target system. Required when Odoo is configured.
	Shipments *workflow.Store
	// Registerer receives connector metrics; nil registers none.
	Registerer prometheus.Registerer
	// Version is Waybill's version, sent as the webhook User-Agent.
	Version string
	// Logger receives connector logs; nil discards them.
	Logger *slog.Logger
	// OnAssigned receives the assignment a TMS replies with; nil ignores
	// it.
	OnAssigned func(ctx context.Context, a *connector.Action, as tms.Assignment) error
	// OnInvoiced receives the invoice the Odoo connector made; nil ignores
	// it.
	OnInvoiced func(ctx context.Context, a *connector.Action, inv odoo.Invoice) error
	// OnValidated receives the picking the Odoo connector validated; nil
	// ignores it.
	OnValidated func(ctx context.Context, a *connector.Action, p odoo.Picking, res odoo.ValidateResult) error
	// OnTakeBackFailed receives the approved exceptions whose goods Odoo
	// could not take back, with the reason; nil fails those jobs instead.
	OnTakeBackFailed func(ctx context.Context, a *connector.Action, exceptionID, reason string) error
	// OnBilled receives the vendor bill the Odoo connector made of an
	// approved carrier invoice; nil ignores it.
	OnBilled func(ctx context.Context, a *connector.Action, req shipment.CarrierBill, bill odoo.VendorBill) error
	// StartInvoice durably records that invoicing an invoice reference
	// starts and reports whether it is the first start (see
	// odoo.ConnectorOptions); nil makes every start look for an earlier
	// invoice.
	StartInvoice func(ctx context.Context, ref string) (first bool, err error)
	// OnOdooRecover is called when Odoo answers again after its circuit
	// breaker opened (odoo.Config.OnRecover); nil ignores it.
	OnOdooRecover func(from, to time.Time)
	// Tenders are the carriers that take load tenders by EDI (X12 204),
	// and TenderStore keeps the tenders and their control numbers.
	Tenders     []tender.Carrier
	TenderStore tender.Store
	// TracerProvider, when set, traces the connectors' calls; nil traces
	// nothing.
	TracerProvider trace.TracerProvider
}

// Connectors are the outbound connectors built from the configuration.
type Connectors struct {
	// Registry maps each action kind to its connector.
	Registry *connector.Registry
	// Odoo is the Odoo connector, nil when connectors.odoo.url is empty.
	Odoo *odoo.Connector
}

// ReconcilerDeps are what [NewReconciler] builds on.
type ReconcilerDeps struct {
	DB        *sqldb.DB
	Shipments *workflow.Store
	// Odoo is the Odoo connector; nil refuses every run with
	// reconcile.ErrNoOdoo.
	Odoo *odoo.Connector
	// Jobs enqueues the healing actions (the job queue); nil heals nothing.
	Jobs   reconcile.JobInserter
	Logger *slog.Logger
	// Registerer receives the reconciliation metrics; nil registers none.
	Registerer prometheus.Registerer
}

// NewReconciler builds the end-of-day reconciler of cfg: the server's and
// the reconcile command's are the same.
func NewReconciler(cfg config.Config, deps *ReconcilerDeps) (*reconcile.Reconciler, error) {
	var odooClient func(context.Context) (*odoo.Client, error)
	if deps.Odoo != nil {
		odooClient = deps.Odoo.Connect
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := cfg.Reconcile
	var schedules []reconcile.Schedule
	if len(rc.Warehouses) == 0 {
		schedules = []reconcile.Schedule{{Cutoff: rc.Cutoff.Duration(), Location: rc.Timezone.Location()}}
	}
	for _, w := range rc.Warehouses {
		loc := rc.Timezone.Location()
		if w.Timezone.String() != "" {
			loc = w.Timezone.Location()
		}
		schedules = append(schedules, reconcile.Schedule{Warehouse: w.Name, Cutoff: w.Cutoff.Duration(), Location: loc})
	}
	return reconcile.New(reconcile.Options{DB: deps.DB, Shipments: deps.Shipments, Odoo: odooClient, System: cfg.Connectors.Odoo.System,
		Jobs: deps.Jobs, PostDrafts: cfg.Connectors.Odoo.InvoiceState == config.OdooInvoiceDraft,
		Location: rc.Timezone.Location(), Schedules: schedules, Grace: rc.Grace, CatchUp: rc.CatchUp, Registerer: deps.Registerer,
		Logger: logger.With(slog.String("component", "reconcile"))})
}

// BuildConnectors registers the configured outbound connectors: Odoo first,
// for connectors.odoo.actions, then the webhook for its actions or, when it
// lists none, for every kind Odoo does not take. It contacts no system.
func BuildConnectors(cfg config.Config, deps ConnectorDeps) (*Connectors, error) {
	registry := connector.NewRegistry()
	out := &Connectors{Registry: registry}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if oc := cfg.Connectors.Odoo; oc.URL != "" {
		c, err := buildOdoo(cfg, deps, logger)
		if err != nil {
			return nil, fmt.Errorf("configuring the odoo connector: %w", err)
		}
		out.Odoo = c
		for _, kind := range oc.Actions {
			if err := registry.Register(kind, c); err != nil {
				return nil, err
			}
		}
	}
	var metrics *connector.Metrics
	if cfg.Connectors.TMS.URL != "" || cfg.Connectors.Webhook.URL != "" {
		m, err := connector.NewMetrics(deps.Registerer)
		if err != nil {
			return nil, fmt.Errorf("registering connector metrics: %w", err)
		}
		metrics = m
	}
	if tc := cfg.Connectors.TMS; tc.URL != "" {
		c, err := tms.New(tms.Config{URL: tc.URL, Secret: tc.Secret.Reveal(), Timeout: tc.Timeout, UserAgent: "waybill/" + deps.Version},
			&tms.Options{OnAssigned: deps.OnAssigned, Metrics: metrics, Logger: logger, TracerProvider: deps.TracerProvider})
		if err != nil {
			return nil, fmt.Errorf("configuring the tms connector: %w", err)
		}
		for _, kind := range []string{shipment.ActionDispatchRelease, shipment.ActionDispatchUpdate} {
			if err := registry.Register(kind, c); err != nil {
				return nil, err
			}
		}
	}
	if err := registerWebhook(cfg, deps, registry, metrics); err != nil {
		return nil, err
	}
	if len(deps.Tenders) > 0 {
		// Shipments of EDI carriers are tendered by 204; the others go
		// where dispatch went before.
		for _, kind := range []string{shipment.ActionDispatchRelease, shipment.ActionDispatchUpdate} {
			next, _ := registry.Lookup(kind)
			t, err := tender.New(deps.Tenders, next, deps.TenderStore)
			if err != nil {
				return nil, err
			}
			registry.Replace(kind, t)
		}
	}
	return out, nil
}

// registerWebhook registers the webhook connector for its actions or, when
// it lists none, for every kind not yet taken.
func registerWebhook(cfg config.Config, deps ConnectorDeps, registry *connector.Registry, metrics *connector.Metrics) error {
	wc := cfg.Connectors.Webhook
	if wc.URL == "" {
		return nil
	}
	wh, err := webhook.New(webhook.Config{
		Name:      "webhook",
		URL:       wc.URL,
		Secret:    wc.Secret.Reveal(),
		Timeout:   wc.Timeout,
		UserAgent: "waybill/" + deps.Version,
	}, &webhook.Options{Metrics: metrics, TracerProvider: deps.TracerProvider})
	if err != nil {
		return fmt.Errorf("configuring the webhook connector: %w", err)
	}
	kinds := wc.Actions
	if len(kinds) == 0 {
		for _, k := range shipment.ActionTable() {
			if _, taken := registry.Lookup(k.Kind); !taken && !k.Local {
				kinds = append(kinds, k.Kind)
			}
		}
	}
	for _, kind := range kinds {
		if err := registry.Register(kind, wh); err != nil {
			return err
		}
	}
	return nil
}

func buildOdoo(cfg config.Config, deps ConnectorDeps, logger *slog.Logger) (*odoo.Connector, error) {
	oc := cfg.Connectors.Odoo
	if deps.Shipments == nil {
		return nil, errors.New("no shipment store to resolve cross-references")
	}
	key, err := oc.ReadAPIKey()
	if err != nil {
		return nil, err
	}
	metrics, err := odoo.NewMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering odoo metrics: %w", err)
	}
	backorder := odoo.BackorderCreate
	if oc.Backorder == config.OdooBackorderCancel {
		backorder = odoo.BackorderCancel
	}
	return odoo.NewConnector(odoo.Config{
		URL:             oc.URL,
		Database:        oc.Database,
		Login:           oc.Login,
		APIKey:          key,
		Version:         oc.Version,
		Protocol:        oc.Protocol,
		Timeout:         oc.Timeout,
		RateLimit:       float64(oc.RateLimit),
		BreakerFailures: oc.BreakerFailures,
		BreakerCooldown: oc.BreakerCooldown,
		Metrics:         metrics,
		Logger:          logger,
		TracerProvider:  deps.TracerProvider,
		OnRecover:       deps.OnOdooRecover,
	}, odoo.ConnectorOptions{
		System:           oc.System,
		Backorder:        backorder,
		PostInvoices:     oc.InvoiceState == config.OdooInvoicePosted,
		Policies:         odooPolicies(oc.Policies),
		ServiceProducts:  oc.ServiceProductMap(),
		Xrefs:            deps.Shipments.Xrefs,
		OnInvoiced:       deps.OnInvoiced,
		OnValidated:      deps.OnValidated,
		OnTakeBackFailed: deps.OnTakeBackFailed,
		OnBilled:         deps.OnBilled,
		PostBills:        cfg.FreightAudit.BillState == config.OdooInvoicePosted,

		Shipment:            deps.Shipments.Get,
		StartInvoice:        deps.StartInvoice,
		MilestoneSyncWindow: oc.MilestoneSyncWindow,
	})
}

// sourceLabels returns the source label function of the intake metrics:
// configured source profiles, Waybill's own sources and
// intake.metric_sources keep their name, every other source is "other".
func sourceLabels(cfg config.Config, profiles *source.Profiles) func(string) string {
	known := map[string]bool{workflow.DecisionSource: true, tmsAssignedSource: true, odooSource: true}
	if db := cfg.Connectors.Odoo.Database; db != "" {
		known[odoosync.Source(db)] = true
	}
	for _, s := range cfg.Intake.MetricSources {
		known[s] = true
	}
	if profiles != nil {
		for _, p := range profiles.All() {
			known[tracking.SourceURI(p.ID)] = true
		}
	}
	return func(s string) string {
		if known[s] {
			return s
		}
		return intake.OtherSource
	}
}

func milestoneIntervals(w config.Workflow) map[event.Type]time.Duration {
	out := map[event.Type]time.Duration{}
	for typ, d := range w.MilestoneIntervalMap() {
		out[event.Type(typ)] = d
	}
	return out
}

// rateWith rates shipments with rules. The shipment's own rated charges
// are left out of the facts: rules see what partners reported.
func rateWith(rules *rating.Rules) func(*shipment.Shipment) ([]shipment.Charge, error) {
	return func(sh *shipment.Shipment) ([]shipment.Charge, error) {
		reported := *sh
		reported.Charges = slices.DeleteFunc(slices.Clone(sh.Charges), func(c shipment.Charge) bool { return c.Source == shipment.ChargeRated })
		charges, err := rules.Rate(rating.FactsFrom(&reported))
		if err != nil {
			return nil, err
		}
		out := make([]shipment.Charge, 0, len(charges))
		for _, c := range charges {
			sc := shipment.Charge{Code: c.Code, Type: string(c.Type), Description: c.Description, Amount: c.Amount,
				RuleID: c.RuleID, RulesVersion: c.RulesVersion, Calculation: c.Calculation, Facts: c.Facts}
			if c.Quantity != nil {
				if q, err := quantity.Parse(c.Quantity.Value, c.Quantity.Unit); err == nil {
					sc.Quantity = &q
				}
			}
			out = append(out, sc)
		}
		return out, nil
	}
}

// odooPolicies turns connectors.odoo.policies into the Odoo connector's
// policies.
func odooPolicies(entries []config.OdooPolicy) []odoo.Policy {
	var out []odoo.Policy
	for _, cp := range entries {
		p := odoo.Policy{Customer: cp.Customer, Warehouse: cp.Warehouse}
		switch cp.Backorder {
		case config.OdooBackorderCreate:
			b := odoo.BackorderCreate
			p.Backorder = &b
		case config.OdooBackorderCancel:
			b := odoo.BackorderCancel
			p.Backorder = &b
		}
		if cp.InvoiceState != "" {
			post := cp.InvoiceState == config.OdooInvoicePosted
			p.Post = &post
		}
		out = append(out, p)
	}
	return out
}

// inventoryCounts are the differences of the newest inventory check by
// type, for the KPIs (none before the reconciler is built).
func (h *Hub) inventoryCounts(ctx context.Context) (map[string]int, error) {
	if h.Reconciler == nil {
		return nil, nil
	}
	counts, err := h.Reconciler.InventoryCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(counts))
	for t, n := range counts {
		out[string(t)] = n
	}
	return out, nil
}
