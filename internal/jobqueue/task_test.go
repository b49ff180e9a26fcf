package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestTasks runs a periodic task (once at start), an enqueued one with
// its parameters (enqueued twice while waiting: run once), and one that
// fails before it succeeds, on a real queue of each engine.
func TestTasks(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		reg := prometheus.NewRegistry()
		q, err := New(db, connector.NewRegistry(), Options{Workers: 2, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
			PollInterval: 20 * time.Millisecond, Registerer: reg, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var periodic, flaky atomic.Int32
		var mu sync.Mutex
		var got []string
		add := func(task Task) {
			t.Helper()
			if err := q.AddTask(task); err != nil {
				t.Fatalf("AddTask(%s): %v", task.Name, err)
			}
		}
		add(Task{Name: "test.periodic", Every: time.Hour, Run: func(context.Context, json.RawMessage) error {
			periodic.Add(1)
			return nil
		}})
		add(Task{Name: "test.params", Run: func(_ context.Context, p json.RawMessage) error {
			var v struct{ Day string }
			if err := json.Unmarshal(p, &v); err != nil {
				return err
			}
			mu.Lock()
			got = append(got, v.Day)
			mu.Unlock()
			return nil
		}})
		add(Task{Name: "test.flaky", MaxAttempts: 3, Run: func(context.Context, json.RawMessage) error {
			if flaky.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		}})
		if err := q.AddTask(Task{Name: "test.periodic", Run: func(context.Context, json.RawMessage) error { return nil }}); err == nil {
			t.Error("adding a task twice: got no error")
		}
		if err := q.AddTask(Task{Name: "Bad Name", Run: func(context.Context, json.RawMessage) error { return nil }}); err == nil {
			t.Error("a task name with spaces: got no error")
		}
		if err := q.EnqueueTask(t.Context(), "test.nosuch", nil); err == nil {
			t.Error("enqueueing an unknown task: got no error")
		}

		ctx := t.Context()
		for _, day := range []string{"2026-12-03", "2026-12-03", "2026-12-04"} {
			if err := q.EnqueueTask(ctx, "test.params", map[string]string{"Day": day}); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.EnqueueTask(ctx, "test.flaky", nil); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- q.Run(runCtx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		poll.Until(t, "every task to run", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return periodic.Load() >= 1 && len(got) >= 2 && flaky.Load() >= 3 &&
				counter(t, q, "test.flaky", "ok") == 1
		})
		mu.Lock()
		if len(got) != 2 || got[0] == got[1] {
			t.Errorf("enqueued runs: got %v, want 2026-12-03 once and 2026-12-04 once", got)
		}
		mu.Unlock()
		if n := periodic.Load(); n != 1 {
			t.Errorf("periodic task: ran %d times, want once at start", n)
		}
		if n := counter(t, q, "test.flaky", "retry"); n != 2 {
			t.Errorf("waybill_task_runs_total{outcome=retry}: got %v, want 2", n)
		}
	})
}

// counter reads waybill_task_runs_total{task, outcome}.
func counter(t *testing.T, q *Queue, task, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := q.tasks.runs.WithLabelValues(task, outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
