package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/shipment"
)

// Task is work Waybill does by itself rather than for one shipment: a
// reconciliation of a business day, a recovery after an outage. It runs as
// a River job, so it survives a crash and, on PostgreSQL, runs on one
// replica at a time.
type Task struct {
	// Name identifies the task: lower-case letters, digits, dots and
	// dashes, such as reconcile.schedule.
	Name string
	// Every, when positive, enqueues the task on that period, and once
	// when the queue starts. River's leader enqueues periodic jobs, so
	// with several replicas it still runs once a period. Zero runs it
	// only when enqueued with [Queue.EnqueueTask].
	Every time.Duration
	// Timeout bounds one attempt. Defaults to the queue's Timeout.
	Timeout time.Duration
	// MaxAttempts is how many times a failing run is tried before it is
	// given up (logged and counted). Defaults to 3.
	MaxAttempts int
	// Run does the work; params are what EnqueueTask was given (null for
	// a periodic run). An error is retried with the queue's backoff.
	Run func(ctx context.Context, params json.RawMessage) error
}

// TaskJobKind is the River job kind of every task.
const TaskJobKind = "waybill.task"

var taskName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// taskArgs are the arguments of a task's job.
type taskArgs struct {
	Task   string          `json:"task"`
	Params json.RawMessage `json:"params,omitempty"`
}

func (taskArgs) Kind() string { return TaskJobKind }

// tasks holds the tasks a queue knows. It is filled before the queue runs
// and read by the worker.
type tasks struct {
	mu   sync.RWMutex
	byID map[string]Task
	runs *prometheus.CounterVec
}

func newTasks() *tasks {
	return &tasks{byID: map[string]Task{}, runs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "waybill_task_runs_total",
		Help: "Runs of Waybill's own tasks (reconcile.schedule, reconcile.recover, …), by task and outcome: ok, retry (failed, will be tried again) or failed (given up).",
	}, []string{"task", "outcome"})}
}

func (t *tasks) get(name string) (Task, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	task, ok := t.byID[name]
	return task, ok
}

// AddTask makes the queue run t. Add every task before [Queue.Run]: a
// task's jobs already in the queue (a recovery enqueued before a crash)
// need their task to run. Adding a name twice is an error.
func (q *Queue) AddTask(t Task) error {
	if !taskName.MatchString(t.Name) {
		return fmt.Errorf("task name %q: want lower-case letters, digits, dots and dashes", t.Name)
	}
	if t.Run == nil || t.Every < 0 || t.Timeout < 0 || t.MaxAttempts < 0 {
		return fmt.Errorf("task %s: a run function is required and durations and attempts cannot be negative", t.Name)
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = 3
	}
	q.tasks.mu.Lock()
	defer q.tasks.mu.Unlock()
	if _, dup := q.tasks.byID[t.Name]; dup {
		return fmt.Errorf("task %s added twice", t.Name)
	}
	q.tasks.byID[t.Name] = t
	if t.Every > 0 {
		// One job per period however many replicas or restarts enqueue
		// it: River's leader inserts periodic jobs, and the unique key
		// (task and period) drops a second insert.
		_, err := q.client.PeriodicJobs().AddSafely(river.NewPeriodicJob(river.PeriodicInterval(t.Every),
			func() (river.JobArgs, *river.InsertOpts) {
				return taskArgs{Task: t.Name}, q.taskOpts(t, true)
			}, &river.PeriodicJobOpts{ID: "task/" + t.Name, RunOnStart: true}))
		if err != nil {
			delete(q.tasks.byID, t.Name)
			return fmt.Errorf("scheduling task %s: %w", t.Name, err)
		}
	}
	return nil
}

func (q *Queue) taskOpts(t Task, periodic bool) *river.InsertOpts {
	opts := &river.InsertOpts{MaxAttempts: t.MaxAttempts, Queue: shipment.LaneBackground}
	if periodic {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: t.Every}
	}
	return opts
}

// EnqueueTask enqueues one run of the task name with params (encoded as
// JSON). A run with the same name and params still waiting or running is
// not enqueued twice.
func (q *Queue) EnqueueTask(ctx context.Context, name string, params any) error {
	t, ok := q.tasks.get(name)
	if !ok {
		return fmt.Errorf("enqueueing task %s: no such task", name)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("enqueueing task %s: encoding its parameters: %w", name, err)
	}
	opts := q.taskOpts(t, false)
	opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable,
	}}
	if _, err := q.client.Insert(ctx, taskArgs{Task: name, Params: raw}, opts); err != nil {
		return fmt.Errorf("enqueueing task %s: %w", name, err)
	}
	return nil
}

type taskWorker struct {
	river.WorkerDefaults[taskArgs]
	q *Queue
}

func (w *taskWorker) Timeout(job *river.Job[taskArgs]) time.Duration {
	if t, ok := w.q.tasks.get(job.Args.Task); ok && t.Timeout > 0 {
		return t.Timeout
	}
	return w.q.opts.Timeout
}

func (w *taskWorker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	w.q.observeWait(job.JobRow)
	log := w.q.logger.With(slog.Int64("job_id", job.ID), slog.String("task", job.Args.Task), slog.Int("attempt", job.Attempt))
	t, ok := w.q.tasks.get(job.Args.Task)
	if !ok {
		// A task of another version, or one this server does not run
		// (no Odoo connector, say): another replica may know it.
		log.WarnContext(ctx, "task unknown to this server: not run")
		return river.JobCancel(fmt.Errorf("task %s unknown to this server", job.Args.Task))
	}
	params := job.Args.Params
	if len(params) == 0 {
		params = json.RawMessage("null")
	}
	start := time.Now()
	err := t.Run(ctx, params)
	if err == nil {
		w.q.tasks.runs.WithLabelValues(t.Name, "ok").Inc()
		log.DebugContext(ctx, "task done", slog.Duration("took", time.Since(start)))
		return nil
	}
	if job.Attempt < job.MaxAttempts && !errors.Is(err, context.Canceled) {
		w.q.tasks.runs.WithLabelValues(t.Name, "retry").Inc()
		log.WarnContext(ctx, "task failed: will retry", slog.Any("err", err))
		return err
	}
	w.q.tasks.runs.WithLabelValues(t.Name, "failed").Inc()
	log.ErrorContext(ctx, "task failed: given up", slog.Any("err", err))
	return err
}
