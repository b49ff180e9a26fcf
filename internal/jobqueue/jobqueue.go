package jobqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/sqldb"
)

// kind ties a River job kind to an action kind.
type kind interface {
	riverKind() string
	actionKind() string
}

type dispatchRelease struct{}

func (dispatchRelease) riverKind() string  { return "dispatch_release" }
func (dispatchRelease) actionKind() string { return connector.KindDispatchRelease }

type pickingValidate struct{}

func (pickingValidate) riverKind() string  { return "picking_validate" }
func (pickingValidate) actionKind() string { return connector.KindPickingValidate }

type invoicePrepare struct{}

func (invoicePrepare) riverKind() string  { return "invoice_prepare" }
func (invoicePrepare) actionKind() string { return connector.KindInvoicePrepare }

// riverKinds maps action kinds to River job kinds.
var riverKinds = map[string]string{
	connector.KindDispatchRelease: dispatchRelease{}.riverKind(),
	connector.KindPickingValidate: pickingValidate{}.riverKind(),
	connector.KindInvoicePrepare:  invoicePrepare{}.riverKind(),
}

// args are the arguments of every outbound job: the action.
type args[K kind] struct {
	connector.Action
}

func (args[K]) Kind() string { var k K; return k.riverKind() }

func newArgs(a connector.Action) (river.JobArgs, error) {
	switch a.Kind {
	case connector.KindDispatchRelease:
		return args[dispatchRelease]{a}, nil
	case connector.KindPickingValidate:
		return args[pickingValidate]{a}, nil
	case connector.KindInvoicePrepare:
		return args[invoicePrepare]{a}, nil
	}
	return nil, fmt.Errorf("unknown action kind %q", a.Kind)
}

// Opts configures a Queue.
type Opts struct {
	// Workers is the number of jobs run at once.
	Workers int
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
	// PollInterval is how often idle workers look for jobs (SQLite has no
	// LISTEN/NOTIFY).
	PollInterval time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Queue is the outbound job queue.
type Queue struct {
	client   *river.Client[*sql.Tx]
	registry *connector.Registry
	dead     *DeadLetters
	opts     Opts
	logger   *slog.Logger

	retries *prometheus.CounterVec
	deaths  *prometheus.CounterVec
	skipped *prometheus.CounterVec
}

// New builds a Queue on db. Jobs of kinds with no connector in registry
// are not enqueued (InsertTx skips them and counts them).
func New(db *sqldb.DB, registry *connector.Registry, opts Opts) (*Queue, error) {
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
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	q := &Queue{
		registry: registry,
		dead:     NewDeadLetters(db),
		opts:     opts,
		logger:   opts.Logger,
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_job_retries_total",
			Help: "Outbound job attempts that failed and will be retried, by action kind.",
		}, []string{"kind"}),
		deaths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_dead_letters_total",
			Help: "Outbound jobs that became dead letters, by action kind and reason (permanent, exhausted).",
		}, []string{"kind", "reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_jobs_unrouted_total",
			Help: "Outbound actions not enqueued because no connector serves their kind.",
		}, []string{"kind"}),
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[dispatchRelease]{q: q})
	river.AddWorker(workers, &worker[pickingValidate]{q: q})
	river.AddWorker(workers, &worker[invoicePrepare]{q: q})

	client, err := river.NewClient(db.RiverDriver(), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:              workers,
		Logger:               opts.Logger.With(slog.String("component", "river")),
		JobTimeout:           opts.Timeout,
		RescueStuckJobsAfter: opts.Timeout + min(opts.Timeout, time.Minute),
		RetryPolicy:          &backoff{base: opts.RetryBase, max: opts.RetryMax},
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
		opts.Registerer.MustRegister(q.retries, q.deaths, q.skipped, &stateCollector{db: db})
	}
	return q, nil
}

// DeadLetters returns the dead-letter store.
func (q *Queue) DeadLetters() *DeadLetters { return q.dead }

// InsertTx enqueues actions in tx. Actions whose kind has no connector are
// skipped (and counted): there is nothing to deliver them to.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, actions []connector.Action) error {
	params := make([]river.InsertManyParams, 0, len(actions))
	for _, a := range actions {
		if _, ok := q.registry.Lookup(a.Kind); !ok {
			q.skipped.WithLabelValues(a.Kind).Inc()
			continue
		}
		ja, err := newArgs(a)
		if err != nil {
			return err
		}
		params = append(params, river.InsertManyParams{Args: ja, InsertOpts: q.insertOpts(a.Kind)})
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
	return &river.InsertOpts{MaxAttempts: max}
}

// Run works jobs until ctx is done, then stops: no new jobs are fetched,
// in-flight jobs get SoftStopTimeout to finish, then are cancelled and
// waited for.
func (q *Queue) Run(ctx context.Context) error {
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

func (w *worker[K]) Work(ctx context.Context, job *river.Job[args[K]]) error {
	a := job.Args.Action
	a.Attempt = job.Attempt
	ctx = correlation.With(ctx, a.CorrelationID)
	log := w.q.logger.With(slog.Int64("job_id", job.ID), slog.String("job_kind", a.Kind),
		slog.String("shipment_id", a.ShipmentID), slog.Int("attempt", job.Attempt))

	conn, ok := w.q.registry.Lookup(a.Kind)
	var err error
	if !ok {
		err = connector.Permanent(fmt.Errorf("no connector serves %s", a.Kind))
	} else {
		err = conn.Deliver(ctx, &a)
	}
	if err == nil {
		log.InfoContext(ctx, "outbound job done", slog.String("connector", conn.Name()))
		return nil
	}
	permanent, _ := connector.Classify(err)
	if !permanent && job.Attempt < job.MaxAttempts {
		w.q.retries.WithLabelValues(a.Kind).Inc()
		log.WarnContext(ctx, "outbound job failed: will retry", slog.Any("err", err))
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
	w.q.deaths.WithLabelValues(a.Kind, reason).Inc()
	log.ErrorContext(ctx, "outbound job is a dead letter", slog.String("reason", reason), slog.Any("err", err))
	return river.JobCancel(err)
}

// Timeout lets a job's deadline follow the queue's option.
func (w *worker[K]) Timeout(*river.Job[args[K]]) time.Duration { return w.q.opts.Timeout }

// backoff is exponential backoff with ±25 % jitter.
type backoff struct{ base, max time.Duration }

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < job.Attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return time.Now().Add(d + jitter)
}
