package jobqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/tracing"
)

// kind is one action kind as a type: River tells job kinds apart by their
// arguments' type, so each action kind has one. Its River job kind comes
// from shipment.ActionTable.
type kind interface {
	actionKind() string
}

type dispatchRelease struct{}

func (dispatchRelease) actionKind() string { return shipment.ActionDispatchRelease }

type pickingValidate struct{}

func (pickingValidate) actionKind() string { return shipment.ActionPickingValidate }

type invoicePrepare struct{}

func (invoicePrepare) actionKind() string { return shipment.ActionInvoicePrepare }

type pickingReturn struct{}

func (pickingReturn) actionKind() string { return shipment.ActionPickingReturn }

type stockScrap struct{}

func (stockScrap) actionKind() string { return shipment.ActionStockScrap }

type dispatchUpdate struct{}

func (dispatchUpdate) actionKind() string { return shipment.ActionDispatchUpdate }

type milestoneSync struct{}

func (milestoneSync) actionKind() string { return shipment.ActionMilestoneSync }

type freightAudit struct{}

func (freightAudit) actionKind() string { return shipment.ActionFreightAudit }

type vendorBillCreate struct{}

func (vendorBillCreate) actionKind() string { return shipment.ActionVendorBillCreate }

// riverKinds maps action kinds to River job kinds (shipment.ActionTable).
var riverKinds = func() map[string]string {
	m := make(map[string]string)
	for _, k := range shipment.ActionTable() {
		m[k.Kind] = k.Job
	}
	return m
}()

// riverKind is the River job kind of K.
func riverKind[K kind]() string {
	var k K
	return riverKinds[k.actionKind()]
}

// args are the arguments of every outbound job: the action. With a
// keyring its payload is sealed at rest: KeyID names the data key, Sealed
// holds the payload and Payload is empty; the action's kind, ids and time
// stay in plaintext (the stored form is storedArgs).
type args[K kind] struct {
	connector.Action
	KeyID  string `json:"kid,omitempty"`
	Sealed string `json:"sealed,omitempty"`
}

func (args[K]) Kind() string { return riverKind[K]() }

// newArgs returns the job arguments of a, its payload sealed under kr
// (nil for none).
func newArgs(kr *seal.Keyring, a connector.Action) (river.JobArgs, error) {
	a, kid, sealed := sealAction(kr, a)
	switch a.Kind {
	case shipment.ActionDispatchRelease:
		return args[dispatchRelease]{a, kid, sealed}, nil
	case shipment.ActionPickingValidate:
		return args[pickingValidate]{a, kid, sealed}, nil
	case shipment.ActionInvoicePrepare:
		return args[invoicePrepare]{a, kid, sealed}, nil
	case shipment.ActionPickingReturn:
		return args[pickingReturn]{a, kid, sealed}, nil
	case shipment.ActionStockScrap:
		return args[stockScrap]{a, kid, sealed}, nil
	case shipment.ActionMilestoneSync:
		return args[milestoneSync]{a, kid, sealed}, nil
	case shipment.ActionDispatchUpdate:
		return args[dispatchUpdate]{a, kid, sealed}, nil
	case shipment.ActionFreightAudit:
		return args[freightAudit]{a, kid, sealed}, nil
	case shipment.ActionVendorBillCreate:
		return args[vendorBillCreate]{a, kid, sealed}, nil
	}
	return nil, fmt.Errorf("unknown action kind %q", a.Kind)
}

// Options configures a Queue.
type Options struct {
	// Workers is the number of jobs of the critical lane
	// (shipment.LaneCritical) run at once. Defaults to 16.
	Workers int
	// LaneWorkers is the number of jobs of each other lane
	// (shipment.LaneLow, shipment.LaneBackground) run at once; a lane it
	// does not set gets its LaneWorkersDefault.
	LaneWorkers map[string]int
	// MaxAttempts is the attempts a job gets before it becomes a dead
	// letter; MaxAttemptsByKind overrides it per action kind.
	MaxAttempts       int
	MaxAttemptsByKind map[string]int
	// Timeout bounds one attempt.
	Timeout time.Duration
	// SoftStopTimeout is how long in-flight jobs get at shutdown before
	// they are cancelled.
	SoftStopTimeout time.Duration
	// RetryBase and RetryMax shape the backoff: attempt n waits
	// RetryBase·2^(n-1), at most RetryMax, with ±25 % jitter.
	RetryBase, RetryMax time.Duration
	// RetryAfterMax caps the retry hint of a connector.Retryable error (for
	// HTTP, the target's Retry-After). The attempt after one that failed
	// with a hint waits at least min(hint, RetryAfterMax), even when that is
	// longer than RetryMax: the target has said when it will take the
	// request again, and asking sooner only spends an attempt. The cap keeps
	// a target asking for days from parking a job that long. Defaults to
	// RetryAfterMaxDefault.
	RetryAfterMax time.Duration
	// Hold, when set, is asked before each attempt whether the action must
	// wait, and why: a held job is snoozed for wait without spending an
	// attempt, and tries again by itself. Billing uses it to hold invoices
	// while a proof-of-delivery feed is silent.
	Hold func(ctx context.Context, a *connector.Action) (wait time.Duration, reason string)
	// MaxWait bounds how long a job whose connector says it is waiting for
	// another action (connector.Waiting) is put off without spending
	// attempts, counted from the job's creation; past it the wait counts
	// as a failed attempt. Defaults to MaxWaitDefault.
	MaxWait time.Duration
	// ClientID names this process's River client: River records it on the
	// jobs it attempts (attempted_by), which Rescue's DeadFunc is asked
	// about. Empty lets River pick one.
	ClientID string
	// PollInterval is how often idle workers look for jobs (SQLite has no
	// LISTEN/NOTIFY).
	PollInterval time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	// TracerProvider, when set, traces each attempt of a job as a span
	// ("job <kind>") that continues the trace of the event that caused it
	// (the action's Traceparent, else its correlation id). Nil traces
	// nothing.
	TracerProvider trace.TracerProvider
	// Extra are other packages' job kinds, each run on a queue of its own
	// (such as webhook deliveries).
	Extra []Extra
}

// Extra is a package's River workers and the queue their jobs run in.
type Extra struct {
	// Queue names the River queue; Workers is how many of its jobs run
	// at once.
	Queue   string
	Workers int
	// Register adds the workers.
	Register func(*river.Workers)
}

// LaneWorkersDefault returns the default workers of the lanes that
// Options.LaneWorkers sets: 4 for shipment.LaneLow and 2 for
// shipment.LaneBackground.
func LaneWorkersDefault() map[string]int {
	return map[string]int{shipment.LaneLow: 4, shipment.LaneBackground: 2}
}

// legacyQueue is the River queue every job ran in before lanes: River's
// default. Jobs an older version enqueued there are moved to their lanes
// when the queue starts (adoptLegacy), and a worker still fetches from it
// for the ones an older replica enqueues during a rolling upgrade.
const legacyQueue = river.QueueDefault

// legacyWorkers is the number of workers of legacyQueue.
const legacyWorkers = 1

// RetryAfterMaxDefault is the default of Options.RetryAfterMax.
const RetryAfterMaxDefault = time.Hour

// MaxWaitDefault is the default of Options.MaxWait.
const MaxWaitDefault = 24 * time.Hour

// waitingSnooze is how long a waiting job is put off when its connector
// gives no time.
const waitingSnooze = 5 * time.Second

// Queue is the outbound job queue.
type Queue struct {
	client   *river.Client[*sql.Tx]
	db       *sqldb.DB
	registry *connector.Registry
	dead     *DeadLetters
	tasks    *tasks
	backoff  *backoff
	opts     Options
	logger   *slog.Logger
	tracer   trace.Tracer // nil with tracing off

	retries *prometheus.CounterVec
	held    *prometheus.CounterVec
	deaths  *prometheus.CounterVec
	skipped *prometheus.CounterVec
	rescued *prometheus.CounterVec
	wait    *prometheus.HistogramVec
}

// New builds a Queue on db. Jobs of kinds with no connector in registry
// are not enqueued (InsertTx skips them and counts them). A nil registry
// makes a queue that only replays dead letters for the server that runs
// the jobs, whose connectors then decide; it must not Run or InsertTx.
func New(db *sqldb.DB, registry *connector.Registry, opts Options) (*Queue, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 12
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.SoftStopTimeout <= 0 {
		opts.SoftStopTimeout = 20 * time.Second
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Hour
	}
	if opts.RetryAfterMax <= 0 {
		opts.RetryAfterMax = RetryAfterMaxDefault
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	lanes := LaneWorkersDefault()
	for lane, n := range opts.LaneWorkers {
		if _, ok := lanes[lane]; !ok {
			return nil, fmt.Errorf("lane %q: want %s or %s (the critical lane's workers are Workers)", lane, shipment.LaneLow, shipment.LaneBackground)
		}
		if n > 0 {
			lanes[lane] = n
		}
	}
	opts.LaneWorkers = lanes
	q := &Queue{
		db:       db,
		registry: registry,
		dead:     NewDeadLetters(db),
		tasks:    newTasks(),
		backoff:  newBackoff(opts.RetryBase, opts.RetryMax, opts.RetryAfterMax),
		opts:     opts,
		logger:   opts.Logger,
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_jobs_held_total",
			Help: "Attempts of outbound jobs put off by a hold (such as a silent proof-of-delivery feed) or while waiting for another action, by action kind (dispatch.release, …).",
		}, []string{"kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_job_retries_total",
			Help: "Outbound job attempts that failed and will be retried, by action kind (dispatch.release, …).",
		}, []string{"kind"}),
		deaths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_dead_letters_total",
			Help: "Outbound jobs that became dead letters, by action kind (dispatch.release, …) and reason (permanent, exhausted).",
		}, []string{"kind", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_jobs_unrouted_total",
			Help: "Outbound actions not enqueued because no connector serves their kind, by action kind (dispatch.release, …).",
		}, []string{"kind"}),
		rescued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_jobs_rescued_total",
			Help: "Outbound jobs left running by a server that ended (such as one killed) and made runnable again at start-up, by action kind (dispatch.release, …; other for a River kind this version does not know).",
		}, []string{"kind"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waybill_job_wait_seconds",
			Help:    "Time outbound jobs and tasks waited from when they were due (enqueued, or scheduled for a retry) to the start of an attempt, by lane (critical, low, background; default for jobs an older version enqueued).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"lane"}),
	}
	if opts.TracerProvider != nil {
		q.tracer = tracing.Tracer(opts.TracerProvider)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[dispatchRelease]{q: q})
	river.AddWorker(workers, &worker[pickingValidate]{q: q})
	river.AddWorker(workers, &worker[invoicePrepare]{q: q})
	river.AddWorker(workers, &worker[pickingReturn]{q: q})
	river.AddWorker(workers, &worker[stockScrap]{q: q})
	river.AddWorker(workers, &worker[milestoneSync]{q: q})
	river.AddWorker(workers, &worker[freightAudit]{q: q})
	river.AddWorker(workers, &worker[vendorBillCreate]{q: q})
	river.AddWorker(workers, &worker[dispatchUpdate]{q: q})
	river.AddWorker(workers, &taskWorker{q: q})
	queues := map[string]river.QueueConfig{
		shipment.LaneCritical:   {MaxWorkers: opts.Workers},
		shipment.LaneLow:        {MaxWorkers: lanes[shipment.LaneLow]},
		shipment.LaneBackground: {MaxWorkers: lanes[shipment.LaneBackground]},
		legacyQueue:             {MaxWorkers: legacyWorkers},
	}
	for _, x := range opts.Extra {
		if _, taken := queues[x.Queue]; taken || x.Workers <= 0 {
			return nil, fmt.Errorf("job queue %q: taken, or no workers", x.Queue)
		}
		queues[x.Queue] = river.QueueConfig{MaxWorkers: x.Workers}
		x.Register(workers)
	}

	client, err := river.NewClient(db.RiverDriver(), &river.Config{
		ID:                   opts.ClientID,
		Queues:               queues,
		Workers:              workers,
		Logger:               opts.Logger.With(slog.String("component", "river")),
		JobTimeout:           opts.Timeout,
		RescueStuckJobsAfter: opts.Timeout + min(opts.Timeout, time.Minute),
		RetryPolicy:          q.backoff,
		MaxAttempts:          opts.MaxAttempts,
		FetchPollInterval:    opts.PollInterval,
		FetchCooldown:        min(opts.PollInterval, 50*time.Millisecond),
		// Dead letters live in our own table; River may drop its rows.
		DiscardedJobRetentionPeriod: 7 * 24 * time.Hour,
		CancelledJobRetentionPeriod: 7 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("creating job client: %w", err)
	}
	q.client = client
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(q.retries, q.held, q.deaths, q.skipped, q.rescued, q.wait, q.tasks.runs, &stateCollector{db: db})
	}
	return q, nil
}

// InsertManyTx enqueues jobs of Extra kinds in tx.
func (q *Queue) InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := q.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueueing jobs: %w", err)
	}
	return nil
}

// InsertMany enqueues jobs of Extra kinds.
func (q *Queue) InsertMany(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := q.client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("enqueueing jobs: %w", err)
	}
	return nil
}

// DeadLetters returns the dead-letter store.
func (q *Queue) DeadLetters() *DeadLetters { return q.dead }

// InsertTx enqueues actions in tx. Actions whose kind has no connector are
// skipped (and counted): there is nothing to deliver them to.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, actions []connector.Action) error {
	params := make([]river.InsertManyParams, 0, len(actions))
	for _, a := range actions {
		if _, ok := q.registry.Lookup(a.Kind); !ok {
			q.skipped.WithLabelValues(connector.KindLabel(a.Kind)).Inc()
			continue
		}
		ja, err := newArgs(q.dead.db.Keyring, a)
		if err != nil {
			return err
		}
		opts := q.insertOpts(a.Kind)
		if !a.NotBefore.IsZero() {
			opts.ScheduledAt = a.NotBefore
		}
		params = append(params, river.InsertManyParams{Args: ja, InsertOpts: opts})
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := q.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("inserting jobs: %w", err)
	}
	return nil
}

func (q *Queue) insertOpts(actionKind string) *river.InsertOpts {
	max := q.opts.MaxAttempts
	if n, ok := q.opts.MaxAttemptsByKind[actionKind]; ok && n > 0 {
		max = n
	}
	return &river.InsertOpts{MaxAttempts: max, Queue: laneOf(actionKind)}
}

// lanes maps action kinds to their lanes (shipment.ActionTable).
var lanes = func() map[string]string {
	m := make(map[string]string)
	for _, k := range shipment.ActionTable() {
		m[k.Kind] = k.Lane
	}
	return m
}()

// laneOf is the lane, and River queue, of actionKind's jobs; the critical
// lane for a kind the table gives none.
func laneOf(actionKind string) string {
	if lane := lanes[actionKind]; lane != "" {
		return lane
	}
	return shipment.LaneCritical
}

// adoptLegacy moves the jobs waiting in legacyQueue, enqueued there by a
// version before lanes, to the lanes of their kinds, so that an upgrade
// does not leave a backlog to the legacy queue's one worker. Running jobs
// stay and finish there; jobs of kinds this version does not know stay
// too. It is safe with other clients working the queue: a job one of them
// has just fetched is running and no longer matches.
func (q *Queue) adoptLegacy(ctx context.Context) (int64, error) {
	byLane := map[string][]any{shipment.LaneBackground: {TaskJobKind}}
	for action, job := range riverKinds {
		lane := laneOf(action)
		byLane[lane] = append(byLane[lane], job)
	}
	var moved int64
	for _, lane := range shipment.Lanes() {
		kinds := byLane[lane]
		if len(kinds) == 0 {
			continue
		}
		args := append([]any{lane, legacyQueue}, kinds...)
		res, err := q.db.ExecContext(ctx, q.db.Dialect.Rebind(`UPDATE river_job SET queue = ? WHERE queue = ?
AND state IN ('available', 'scheduled', 'retryable', 'pending') AND kind IN (?`+strings.Repeat(", ?", len(kinds)-1)+`)`), args...)
		if err != nil {
			return moved, fmt.Errorf("moving jobs of the %s queue to the %s lane: %w", legacyQueue, lane, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return moved, fmt.Errorf("moving jobs of the %s queue to the %s lane: %w", legacyQueue, lane, err)
		}
		moved += n
	}
	return moved, nil
}

// Run works jobs until ctx is done, then stops: no new jobs are fetched,
// in-flight jobs get SoftStopTimeout to finish, then are cancelled and
// waited for.
func (q *Queue) Run(ctx context.Context) error {
	// Jobs left in the legacy queue still run there when they cannot be
	// moved, only more slowly: not a reason to run none.
	adopt, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.opts.Timeout)
	moved, err := q.adoptLegacy(adopt)
	cancel()
	switch {
	case err != nil:
		q.logger.WarnContext(ctx, "jobs enqueued before priority lanes not moved to their lanes: they run in the legacy queue", slog.String("queue", legacyQueue), slog.Any("err", err))
	case moved > 0:
		q.logger.InfoContext(ctx, "jobs enqueued before priority lanes moved to their lanes", slog.Int64("jobs", moved))
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("starting job client: %w", err)
	}
	<-ctx.Done()
	soft, cancel := context.WithTimeout(context.Background(), q.opts.SoftStopTimeout)
	defer cancel()
	if err := q.client.Stop(soft); err != nil {
		q.logger.Warn("jobs still running after the soft-stop timeout: cancelling them", slog.Any("err", err))
		hard, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := q.client.StopAndCancel(hard); err != nil {
			return fmt.Errorf("stopping job client: %w", err)
		}
	}
	return nil
}

type worker[K kind] struct {
	river.WorkerDefaults[args[K]]
	q *Queue
}

func (w *worker[K]) Work(ctx context.Context, job *river.Job[args[K]]) (err error) {
	w.q.observeWait(job.JobRow)
	if w.q.tracer != nil {
		var span trace.Span
		ctx, span = w.q.startSpan(ctx, job.JobRow, &job.Args.Action)
		defer func() {
			var snooze *river.JobSnoozeError
			if errors.As(err, &snooze) {
				span.SetAttributes(attribute.Bool("waybill.job.snoozed", true))
			} else {
				tracing.Fail(span, err)
			}
			span.End()
		}()
	}
	return w.work(ctx, job)
}

// startSpan starts the span of one attempt of job, which carries a: the
// child of the span that applied the event, when a stored its
// traceparent, else a span of the trace of a's correlation id.
func (q *Queue) startSpan(ctx context.Context, job *rivertype.JobRow, a *connector.Action) (context.Context, trace.Span) {
	return tracing.Start(ctx, q.tracer, &tracing.SpanParams{
		Name: "job " + a.Kind, Kind: trace.SpanKindConsumer, CorrelationID: a.CorrelationID,
		Parent: tracing.SpanContext(a.Traceparent),
		Attributes: []attribute.KeyValue{
			attribute.String(tracing.AttrActionKind, a.Kind),
			attribute.Int64(tracing.AttrJobID, job.ID),
			attribute.Int(tracing.AttrJobAttempt, job.Attempt),
			attribute.String(tracing.AttrShipmentID, a.ShipmentID),
			attribute.String(tracing.AttrEventID, a.EventID),
		},
	})
}

func (w *worker[K]) work(ctx context.Context, job *river.Job[args[K]]) error {
	// A hint left by an earlier attempt that River never asked about must
	// not delay this one's retry.
	w.q.backoff.forget(job.ID)
	a, err := openAction(w.q.dead.db.Keyring, job.Args.Action, job.Args.KeyID, job.Args.Sealed)
	if err != nil {
		// A missing data key or a damaged value: retried (an operator can
		// restore the key), and a dead letter without its payload once
		// attempts run out.
		return w.q.fail(ctx, job.JobRow, job.Args.Action, err)
	}
	a.Attempt = job.Attempt
	ctx = correlation.With(ctx, a.CorrelationID)
	log := w.q.logger.With(slog.Int64("job_id", job.ID), slog.String("job_kind", a.Kind),
		slog.String("shipment_id", a.ShipmentID), slog.Int("attempt", job.Attempt))

	if hold := w.q.opts.Hold; hold != nil {
		if wait, why := hold(ctx, &a); wait > 0 {
			w.q.held.WithLabelValues(connector.KindLabel(a.Kind)).Inc()
			log.InfoContext(ctx, "outbound job held", slog.String("reason", why), slog.Duration("wait", wait))
			return river.JobSnooze(wait)
		}
	}
	conn, ok := w.q.registry.Lookup(a.Kind)
	if !ok {
		err = connector.Permanent(fmt.Errorf("no connector serves %s", a.Kind))
	} else {
		err = conn.Deliver(ctx, &a)
	}
	if err == nil {
		log.InfoContext(ctx, "outbound job done", slog.String("connector", conn.Name()))
		return nil
	}
	if waiting, after := connector.IsWaiting(err); waiting && time.Since(job.CreatedAt) < w.q.maxWait() {
		if after <= 0 {
			after = waitingSnooze
		}
		w.q.held.WithLabelValues(connector.KindLabel(a.Kind)).Inc()
		log.InfoContext(ctx, "outbound job waiting", slog.Duration("wait", after), slog.Any("reason", err))
		return river.JobSnooze(after)
	}
	permanent, retryAfter := connector.Classify(err)
	if !permanent && job.Attempt < job.MaxAttempts {
		// River asks the retry policy for the next attempt's time once Work
		// has returned; the policy takes the hint from there.
		w.q.backoff.hint(job.ID, retryAfter)
		w.q.retries.WithLabelValues(connector.KindLabel(a.Kind)).Inc()
		log.WarnContext(ctx, "outbound job failed: will retry", slog.Duration("retry_after", retryAfter), slog.Any("err", err))
		return err
	}
	reason := "exhausted"
	if permanent {
		reason = "permanent"
	}
	if derr := w.q.dead.Record(ctx, job.JobRow, a, err); derr != nil {
		// Not recorded: let River retry so the dead letter is not lost.
		log.ErrorContext(ctx, "recording dead letter failed", slog.Any("err", derr))
		return errors.Join(err, derr)
	}
	w.q.deaths.WithLabelValues(connector.KindLabel(a.Kind), reason).Inc()
	log.ErrorContext(ctx, "outbound job is a dead letter", slog.String("reason", reason), slog.Any("err", err))
	return river.JobCancel(err)
}

// observeWait records how long job waited in its lane for this attempt:
// from when it was due to when it was fetched, both by the database's
// clock.
func (q *Queue) observeWait(job *rivertype.JobRow) {
	if job.AttemptedAt == nil {
		return
	}
	q.wait.WithLabelValues(job.Queue).Observe(max(job.AttemptedAt.Sub(job.ScheduledAt), 0).Seconds())
}

func (q *Queue) maxWait() time.Duration {
	if q.opts.MaxWait > 0 {
		return q.opts.MaxWait
	}
	return MaxWaitDefault
}

// Timeout lets a job's deadline follow the queue's option.
func (w *worker[K]) Timeout(*river.Job[args[K]]) time.Duration { return w.q.opts.Timeout }

// backoff is River's retry policy: exponential backoff with ±25 % jitter,
// stretched to honour a connector's retry hint.
//
// River's policy sees only the job row, so the hint travels beside it: the
// worker records it under the job's id just before it returns the error,
// and NextRetry, which River calls for that job right after Work returns
// (and before any other attempt of the job can start), takes it out. A job
// runs one attempt at a time, so one entry per job id is enough. Hints live
// in memory only: a crash between the two calls loses one hint, and that
// retry falls back to the plain backoff. It is safe for concurrent use.
type backoff struct {
	base, max, hintMax time.Duration
	// nowFunc and int64NFunc are the clock and the jitter source; tests
	// replace them.
	nowFunc    func() time.Time
	int64NFunc func(n int64) int64

	mu    sync.Mutex
	hints map[int64]time.Duration // job id → hint of its failed attempt
}

func newBackoff(base, max, hintMax time.Duration) *backoff {
	return &backoff{
		base: base, max: max, hintMax: hintMax,
		nowFunc: time.Now, int64NFunc: rand.Int64N,
		hints: make(map[int64]time.Duration),
	}
}

// hint records the retry hint of job id's failed attempt; zero or less
// records none.
func (b *backoff) hint(id int64, after time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if after <= 0 {
		delete(b.hints, id)
		return
	}
	b.hints[id] = after
}

// forget drops any hint recorded for job id.
func (b *backoff) forget(id int64) { b.hint(id, 0) }

// take returns and removes the hint recorded for job id, or zero.
func (b *backoff) take(id int64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	after := b.hints[id]
	delete(b.hints, id)
	return after
}

// NextRetry implements river.ClientRetryPolicy.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return b.nowFunc().Add(b.delay(job.Attempt, b.take(job.ID)))
}

// delay is the wait after the given failed attempt (1-based). Without a
// hint it is RetryBase·2^(attempt-1), at most RetryMax, ±25 %. With one, it
// is the longer of that and the hint (capped at hintMax) plus up to a
// quarter more, so jobs throttled together do not all return at the same
// instant: never less than the capped hint, at most 1.25 times it.
func (b *backoff) delay(attempt int, hint time.Duration) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	d += time.Duration(b.int64NFunc(int64(d)/2+1)) - d/4
	if hint <= 0 {
		return d
	}
	hint = min(hint, b.hintMax)
	return max(d, hint+time.Duration(b.int64NFunc(int64(hint)/4+1)))
}
