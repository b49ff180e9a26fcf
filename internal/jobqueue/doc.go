// Package jobqueue runs Waybill's outbound work on River: the
// transactional outbox, retries with exponential backoff and jitter, and
// dead letters.
//
// Each outbound action kind (dispatch.release, picking.validate,
// invoice.prepare) is a River job kind with its own maximum attempts. A
// state change enqueues its jobs with [Queue.InsertTx] inside the
// transaction that records the change, so the change and its outbound work
// commit or vanish together. A job carries the action's idempotency key,
// fixed when it is enqueued, so every attempt of it — including one after a
// crash — reaches the connector with the same key.
//
// The worker asks the [connector.Registry] for the connector of the job's
// kind and calls it. Its error is classified by type
// ([connector.Classify]): a retryable error is retried with backoff, and
// when it carries a retry-after hint the next attempt waits at least the
// hint, up to [Options].RetryAfterMax (1 h by default), even beyond RetryMax;
// a permanent one, or the last allowed attempt, turns the job into a dead
// letter in Waybill's own table ([DeadLetters]), which outlives River's job
// retention. A dead letter is replayed as a new job with the same action
// and idempotency key, run with the code and configuration of the moment,
// and the replay is recorded.
//
// Jobs run in priority lanes, one River queue each with its own workers:
// the lane of an action kind is its column of shipment.ActionTable
// (critical for releases, validations and invoices; low for milestones
// and notifications), and tasks run in the background lane. A flood in
// one lane does not delay the others. [Options].Workers sets the
// critical lane's workers and [Options].LaneWorkers the others'. Jobs an
// older version enqueued in River's default queue move to their lanes when
// the queue starts, and the default queue keeps one worker for those an
// older replica still enqueues.
//
// [Queue.UI] builds River's own web UI (riverqueue.com/riverui) over the
// queue's River client, for the console to mount; it runs on PostgreSQL
// and SQLite and has no access control of its own.
//
// Tasks ([Task], [Queue.AddTask]) are Waybill's own work on the same River
// client: the end-of-day reconciliation on a period (River's leader
// enqueues periodic jobs, so several replicas run it once a period) and
// the recovery after an outage, enqueued with its parameters
// ([Queue.EnqueueTask]). They retry a few times and are counted in
// waybill_task_runs_total; they have no dead letters.
//
// Lifecycle: [New], then [Queue.Rescue] once the server owns the database,
// then [Queue.Run] until its context ends; Run stops fetching, gives
// in-flight jobs the soft-stop timeout, then cancels them and waits for
// them. Rescue makes the jobs a killed server left running runnable at
// once, instead of after River's stuck-job timeout.
package jobqueue
