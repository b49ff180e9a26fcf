package jobqueue

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/sqldb"
)

// DeadLetter is an outbound job that failed permanently or ran out of
// attempts.
type DeadLetter struct {
	ID             string           `json:"id"`
	JobID          int64            `json:"job_id"`
	Kind           string           `json:"kind"`
	ShipmentID     string           `json:"shipment_id"`
	CorrelationID  string           `json:"correlation_id"`
	IdempotencyKey string           `json:"idempotency_key"`
	Error          string           `json:"error"`
	Attempts       int              `json:"attempts"`
	CreatedAt      time.Time        `json:"created_at"`
	Action         connector.Action `json:"action"`
	Replays        []Replay         `json:"replays"`
}

// Replay records one replay of a dead letter.
type Replay struct {
	ID         string    `json:"id"`
	JobID      int64     `json:"job_id"`
	Actor      string    `json:"actor"`
	ReplayedAt time.Time `json:"replayed_at"`
}

// DeadLetters owns the dead_letters and dead_letter_replays tables.
type DeadLetters struct {
	db *sqldb.DB
	q  struct{ record, list, get, replays, addReplay string }
}

// NewDeadLetters returns the store on db.
func NewDeadLetters(db *sqldb.DB) *DeadLetters {
	d := &DeadLetters{db: db}
	r := db.Dialect.Rebind
	d.q.record = r(`INSERT INTO dead_letters (id, job_id, kind, shipment_id, correlation_id, idempotency_key, args, error, key_id, attempts, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET args = excluded.args, error = excluded.error, key_id = excluded.key_id, attempts = excluded.attempts`)
	const cols = `id, job_id, kind, shipment_id, correlation_id, idempotency_key, args, error, key_id, attempts, created_at`
	d.q.list = r(`SELECT ` + cols + ` FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?`)
	d.q.get = r(`SELECT ` + cols + ` FROM dead_letters WHERE id = ?`)
	d.q.replays = r(`SELECT id, job_id, actor, replayed_at FROM dead_letter_replays WHERE dead_letter_id = ? ORDER BY replayed_at, id`)
	d.q.addReplay = r(`INSERT INTO dead_letter_replays (id, dead_letter_id, job_id, actor, replayed_at) VALUES (?, ?, ?, ?, ?)`)
	return d
}

// Record stores a dead letter for a job (again, idempotently, if the job
// was already recorded). Its arguments and error are sealed at rest when
// the database has a keyring.
func (d *DeadLetters) Record(ctx context.Context, job *rivertype.JobRow, a connector.Action, cause error) error {
	id, _ := uuid.NewV7()
	a.Attempt = 0
	raw, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding dead letter: %w", err)
	}
	args, errText, keyID := d.seal(job.ID, raw, []byte(truncate(cause.Error(), 4000)))
	_, err = d.db.ExecContext(ctx, d.q.record, id.String(), job.ID, a.Kind, a.ShipmentID, a.CorrelationID,
		a.IdempotencyKey, args, errText, keyID, job.Attempt, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("recording dead letter for job %d: %w", job.ID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

type scanner interface{ Scan(dest ...any) error }

func (d *DeadLetters) scan(row scanner) (*DeadLetter, error) {
	var dl DeadLetter
	var rawArgs, rawErr, keyID string
	var at int64
	if err := row.Scan(&dl.ID, &dl.JobID, &dl.Kind, &dl.ShipmentID, &dl.CorrelationID, &dl.IdempotencyKey, &rawArgs, &rawErr, &keyID, &dl.Attempts, &at); err != nil {
		return nil, err
	}
	dl.CreatedAt = time.UnixMicro(at).UTC()
	raw, errText, err := d.open(dl.JobID, keyID, rawArgs, rawErr)
	if err != nil {
		return nil, fmt.Errorf("opening dead letter %s: %w", dl.ID, err)
	}
	dl.Error = string(errText)
	if err := json.Unmarshal(raw, &dl.Action); err != nil {
		return nil, fmt.Errorf("decoding dead letter %s: %w", dl.ID, err)
	}
	dl.Replays = []Replay{}
	return &dl, nil
}

// List returns a page of dead letters, oldest first, and the cursor of the
// next page ("" at the end).
func (d *DeadLetters) List(ctx context.Context, limit int, cursor string) ([]*DeadLetter, string, error) {
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		after = string(b)
	}
	rows, err := d.db.Reader.QueryContext(ctx, d.q.list, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing dead letters: %w", err)
	}
	var out []*DeadLetter
	for rows.Next() {
		dl, err := d.scan(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("listing dead letters: %w", err)
		}
		out = append(out, dl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing dead letters: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].ID))
	}
	for _, dl := range out {
		if dl.Replays, err = d.replays(ctx, dl.ID); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// ErrBadCursor is returned for a cursor List did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// ErrNotFound is returned for an unknown dead letter.
var ErrNotFound = sqldb.ErrNotFound

// Get returns one dead letter with its replays.
func (d *DeadLetters) Get(ctx context.Context, id string) (*DeadLetter, error) {
	dl, err := d.scan(d.db.Reader.QueryRowContext(ctx, d.q.get, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("loading dead letter %s: %w", id, err)
	}
	if dl.Replays, err = d.replays(ctx, id); err != nil {
		return nil, err
	}
	return dl, nil
}

func (d *DeadLetters) replays(ctx context.Context, id string) ([]Replay, error) {
	rows, err := d.db.Reader.QueryContext(ctx, d.q.replays, id)
	if err != nil {
		return nil, fmt.Errorf("listing replays: %w", err)
	}
	defer rows.Close()
	out := []Replay{}
	for rows.Next() {
		var r Replay
		var at int64
		if err := rows.Scan(&r.ID, &r.JobID, &r.Actor, &at); err != nil {
			return nil, fmt.Errorf("listing replays: %w", err)
		}
		r.ReplayedAt = time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNoConnector is returned when a dead letter's kind has no connector any
// more, so a replay would fail at once.
var ErrNoConnector = errors.New("no connector is configured for this kind")

// Replay enqueues a dead letter again as a new job with the same action and
// idempotency key, and records the replay, in one transaction. It runs with
// the connectors configured now.
func (q *Queue) Replay(ctx context.Context, id, actor string) (*DeadLetter, *Replay, error) {
	dl, err := q.dead.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	// A queue without a registry only enqueues for the server that runs
	// the jobs (the CLI): that server's connectors decide.
	if _, ok := q.registry.Lookup(dl.Kind); q.registry != nil && !ok {
		return nil, nil, fmt.Errorf("replaying %s (%s): %w", id, dl.Kind, ErrNoConnector)
	}
	ja, err := newArgs(q.dead.db.Keyring, dl.Action)
	if err != nil {
		return nil, nil, err
	}
	rid, _ := uuid.NewV7()
	rep := &Replay{ID: rid.String(), Actor: actor, ReplayedAt: time.Now().UTC()}
	err = q.dead.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := q.client.InsertTx(ctx, tx, ja, q.insertOpts(dl.Kind))
		if err != nil {
			return fmt.Errorf("enqueuing replay: %w", err)
		}
		rep.JobID = res.Job.ID
		_, err = tx.ExecContext(ctx, q.dead.q.addReplay, rep.ID, id, rep.JobID, actor, rep.ReplayedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("recording replay: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	dl.Replays = append(dl.Replays, *rep)
	return dl, rep, nil
}

// stateCollector reports River's jobs by action kind and state at scrape
// time: the depth of the queue is the jobs available, scheduled or
// retryable.
type stateCollector struct{ db *sqldb.DB }

var jobsDesc = prometheus.NewDesc("waybill_jobs",
	"Outbound jobs by action kind (dispatch.release, …; task for Waybill's own tasks; other for a River kind this version does not know), River state (available, scheduled, retryable, running, completed, cancelled, discarded) and lane (critical, low, background; default for jobs an older version enqueued).",
	[]string{"kind", "state", "lane"}, nil)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	// A collector is given no context: the scrape's own timeout is not
	// known here, so the query gets a short one of its own.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.db.Reader.QueryContext(ctx, `SELECT queue, kind, state, COUNT(*) FROM river_job GROUP BY queue, kind, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	defer rows.Close()
	// Two River kinds may map to one label (other): sum them.
	type key struct{ kind, state, lane string }
	counts := map[key]float64{}
	var order []key
	for rows.Next() {
		var queue, kind, state string
		var n float64
		if err := rows.Scan(&queue, &kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(jobsDesc, err)
			return
		}
		k := key{actionKind(kind), state, queue}
		if _, seen := counts[k]; !seen {
			order = append(order, k)
		}
		counts[k] += n
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, counts[k], k.kind, k.state, k.lane)
	}
}
