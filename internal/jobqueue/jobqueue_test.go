package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// fixedNow is the clock of tests that need a deterministic time.
var fixedNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	const (
		base    = time.Second
		max     = 10 * time.Second
		hintMax = time.Minute
	)
	tests := []struct {
		name    string
		attempt int
		hint    time.Duration
		// wantMin and wantMax are the delays with the least and the most
		// jitter.
		wantMin, wantMax time.Duration
	}{
		{name: "first_attempt", attempt: 1, wantMin: 750 * time.Millisecond, wantMax: 1250 * time.Millisecond},
		{name: "third_attempt", attempt: 3, wantMin: 3 * time.Second, wantMax: 5 * time.Second},
		{name: "capped_by_retry_max", attempt: 30, wantMin: 7500 * time.Millisecond, wantMax: 12500 * time.Millisecond},
		{name: "hint_shorter_than_backoff", attempt: 3, hint: time.Second, wantMin: 3 * time.Second, wantMax: 5 * time.Second},
		{name: "hint_longer_than_backoff", attempt: 1, hint: 7 * time.Second, wantMin: 7 * time.Second, wantMax: 8750 * time.Millisecond},
		{name: "hint_beyond_retry_max", attempt: 1, hint: 40 * time.Second, wantMin: 40 * time.Second, wantMax: 50 * time.Second},
		{name: "hint_capped", attempt: 1, hint: 24 * time.Hour, wantMin: time.Minute, wantMax: 75 * time.Second},
		{name: "negative_hint_is_none", attempt: 1, hint: -time.Hour, wantMin: 750 * time.Millisecond, wantMax: 1250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, jitter := range []struct {
				name string
				f    func(n int64) int64
				want time.Duration
			}{
				{name: "least", f: func(int64) int64 { return 0 }, want: tt.wantMin},
				{name: "most", f: func(n int64) int64 { return n - 1 }, want: tt.wantMax},
			} {
				b := newBackoff(base, max, hintMax)
				b.int64NFunc = jitter.f
				// Integer division rounds the jitter range down by at most
				// a nanosecond per term.
				if got := b.delay(tt.attempt, tt.hint); got < jitter.want-2 || got > jitter.want {
					t.Errorf("delay(%d, %v) with the %s jitter: got %v, want %v", tt.attempt, tt.hint, jitter.name, got, jitter.want)
				}
			}
		})
	}
}

func TestBackoffHintIsTakenOnce(t *testing.T) {
	t.Parallel()
	b := newBackoff(time.Second, time.Second, time.Hour)
	b.nowFunc = func() time.Time { return fixedNow }
	b.int64NFunc = func(int64) int64 { return 0 }
	job := &rivertype.JobRow{ID: 42, Attempt: 1}
	other := &rivertype.JobRow{ID: 43, Attempt: 1}

	b.hint(job.ID, 30*time.Second)
	if got, want := b.NextRetry(other), fixedNow.Add(750*time.Millisecond); !got.Equal(want) {
		t.Errorf("NextRetry of another job: got %v, want %v (its own backoff)", got, want)
	}
	if got, want := b.NextRetry(job), fixedNow.Add(30*time.Second); !got.Equal(want) {
		t.Errorf("NextRetry after a 30s hint: got %v, want %v", got, want)
	}
	if got, want := b.NextRetry(job), fixedNow.Add(750*time.Millisecond); !got.Equal(want) {
		t.Errorf("NextRetry again: got %v, want %v (the hint is used once)", got, want)
	}
	b.hint(job.ID, 30*time.Second)
	b.forget(job.ID)
	if got, want := b.NextRetry(job), fixedNow.Add(750*time.Millisecond); !got.Equal(want) {
		t.Errorf("NextRetry after forget: got %v, want %v", got, want)
	}
	if n := len(b.hints); n != 0 {
		t.Errorf("hints left behind: got %d, want 0", n)
	}
}

// TestRetryAfterIsHonoured runs a real queue against a loopback receiver
// that answers 429 with Retry-After: 7: the failed job must be scheduled no
// sooner than 7s after its attempt, although the configured backoff is at
// most 50ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rcv := webhooktest.New(t)
		rcv.SetAnswer(connectortest.AnswerThrottle)
		q := startQueue(t, db, rcv.URL())

		a := connector.Action{
			Kind: shipment.ActionDispatchRelease, ShipmentID: "shp_1", EventID: "evt_1",
			CorrelationID: "corr-1", IdempotencyKey: "idem-1", Payload: json.RawMessage(`{}`),
		}
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return q.InsertTx(t.Context(), tx, []connector.Action{a}) }); err != nil {
			t.Fatalf("inserting job: %v", err)
		}

		var job *rivertype.JobRow
		poll.Until(t, "the first attempt to fail", func() bool {
			res, err := q.client.JobList(t.Context(), river.NewJobListParams().Kinds(riverKind[dispatchRelease]()))
			if err != nil {
				t.Fatalf("listing jobs: %v", err)
			}
			if len(res.Jobs) != 1 {
				t.Fatalf("listing jobs: got %d, want 1", len(res.Jobs))
			}
			job = res.Jobs[0]
			return job.State != rivertype.JobStateRunning && len(job.Errors) > 0
		})
		observed := time.Now()

		if job.State != rivertype.JobStateRetryable || len(job.Errors) != 1 {
			t.Fatalf("job after a throttled attempt: got state %s with %d errors, want retryable with 1", job.State, len(job.Errors))
		}
		if job.AttemptedAt == nil {
			t.Fatal("job after a throttled attempt: got no attempted_at")
		}
		hint := connectortest.ThrottleRetryAfter
		if wait := job.ScheduledAt.Sub(*job.AttemptedAt); wait < hint {
			t.Errorf("scheduled_at %v is %v after attempted_at %v, want at least the Retry-After of %v", job.ScheduledAt, wait, *job.AttemptedAt, hint)
		}
		// The retry was scheduled before it was observed, with at most a
		// quarter of jitter on top of the hint.
		if latest := observed.Add(hint + hint/4); job.ScheduledAt.After(latest) {
			t.Errorf("scheduled_at %v: want no later than %v (the hint plus 25%%)", job.ScheduledAt, latest)
		}
	})
}

// startQueue runs a queue on db whose one connector posts dispatch releases
// to url, with a backoff far shorter than any Retry-After, until the test
// ends.
func startQueue(t *testing.T, db *sqldb.DB, url string) *Queue {
	t.Helper()
	wh, err := webhook.New(webhook.Config{URL: url, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatalf("building webhook connector: %v", err)
	}
	reg := connector.NewRegistry()
	if err := reg.Register(shipment.ActionDispatchRelease, wh); err != nil {
		t.Fatal(err)
	}
	q, err := New(db, reg, Options{
		Workers:      2,
		MaxAttempts:  5,
		RetryBase:    10 * time.Millisecond,
		RetryMax:     50 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatalf("building queue: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("running queue: %v", err)
		}
		_ = wh.Close()
	})
	return q
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dependent is a connector whose action waits for another one: it says so
// until ready is closed.
type dependent struct {
	ready chan struct{}
	calls atomic.Int32
}

func (d *dependent) Name() string { return "dependent" }

func (d *dependent) Deliver(context.Context, *connector.Action) error {
	d.calls.Add(1)
	select {
	case <-d.ready:
		return nil
	default:
		return connector.Waiting(errors.New("waits for its picking to be validated"), 20*time.Millisecond)
	}
}

// TestWaitingSpendsNoAttempts: a job waiting for another action is put
// off many more times than it has attempts, and still completes; past
// MaxWait, waiting counts as failing.
func TestWaitingSpendsNoAttempts(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		testWaiting(t, db, time.Hour)
	})
	t.Run("past max wait", func(t *testing.T) {
		t.Parallel()
		testWaiting(t, sqldbtest.SQLite(t), time.Millisecond)
	})
}

func testWaiting(t *testing.T, db *sqldb.DB, maxWait time.Duration) {
	{
		run := func(maxWait time.Duration) (*Queue, *dependent) {
			d := &dependent{ready: make(chan struct{})}
			reg := connector.NewRegistry()
			if err := reg.Register(shipment.ActionInvoicePrepare, d); err != nil {
				t.Fatal(err)
			}
			q, err := New(db, reg, Options{Workers: 1, MaxAttempts: 2, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
				PollInterval: 10 * time.Millisecond, MaxWait: maxWait, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- q.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			return q, d
		}
		insert := func(q *Queue, key string) {
			a := connector.Action{Kind: shipment.ActionInvoicePrepare, ShipmentID: "shp_" + key, EventID: "evt_" + key,
				IdempotencyKey: key, Payload: json.RawMessage(`{}`)}
			if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return q.InsertTx(t.Context(), tx, []connector.Action{a}) }); err != nil {
				t.Fatal(err)
			}
		}
		q, d := run(maxWait)
		insert(q, "wait-1")
		if maxWait < time.Second {
			// Waiting is failing now: two attempts, then a dead letter.
			poll.Until(t, "a dead letter", func() bool {
				dl, _, err := q.DeadLetters().List(t.Context(), 10, "")
				return err == nil && len(dl) == 1
			})
			if n := d.calls.Load(); n != 2 {
				t.Errorf("%d attempts, want 2", n)
			}
			return
		}
		poll.Until(t, "five waits", func() bool { return d.calls.Load() >= 5 })
		close(d.ready)
		poll.Until(t, "the job to complete", func() bool {
			res, err := q.client.JobList(t.Context(), river.NewJobListParams().Kinds(riverKind[invoicePrepare]()).States(rivertype.JobStateCompleted))
			return err == nil && len(res.Jobs) == 1
		})
		if dl, _, _ := q.DeadLetters().List(t.Context(), 10, ""); len(dl) != 0 {
			t.Errorf("%d dead letters, want none", len(dl))
		}
	}
}

// TestEveryKindHasAJob checks that the job queue runs every action kind of
// shipment.ActionTable, each as its own River job kind.
func TestEveryKindHasAJob(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range shipment.ActionTable() {
		ja, err := newArgs(nil, connector.Action{Kind: k.Kind, ShipmentID: "s", IdempotencyKey: "i"})
		if err != nil {
			t.Errorf("%s: %v", k.Kind, err)
			continue
		}
		if ja.Kind() != k.Job || k.Job == "" || seen[k.Job] {
			t.Errorf("%s: River kind %q, want %q, once", k.Kind, ja.Kind(), k.Job)
		}
		seen[k.Job] = true
	}
}
