package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// recorder is a connector that counts deliveries by idempotency key.
type recorder struct {
	mu   sync.Mutex
	keys map[string]int
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Deliver(_ context.Context, a *connector.Action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[a.IdempotencyKey]++
	return nil
}

func (r *recorder) delivered() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.keys))
	for k, n := range r.keys {
		out[k] = n
	}
	return out
}

// TestRescue leaves jobs as a killed server does, running under clients
// that are gone, and checks that Rescue makes them runnable at once, the
// way River's rescuer would but without waiting for the job timeout, and
// that the queue then works each once.
func TestRescue(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		const maxAttempts = 5
		rec := &recorder{keys: map[string]int{}}
		reg := connector.NewRegistry()
		if err := reg.Register(shipment.ActionPickingValidate, rec); err != nil {
			t.Fatal(err)
		}
		metrics := prometheus.NewRegistry()
		q, err := New(db, reg, Options{Workers: 4, MaxAttempts: maxAttempts, PollInterval: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registerer: metrics})
		if err != nil {
			t.Fatal(err)
		}
		exec := db.RiverDriver().GetExecutor()
		ctx := t.Context()
		attemptedAt := time.Now().Add(-time.Second).UTC()

		// Each row is one job as a killed server left it (set by
		// River's driver, as River's test factory does), and what Rescue
		// and then the queue must make of it.
		rows := []struct {
			key string
			// running says the job is left running by client by, at
			// attempt, with metadata.
			running  bool
			by       string
			attempt  int
			metadata string
			// wantState is the job's state after Rescue, and
			// wantDelivered whether the queue then delivers it.
			wantState     rivertype.JobState
			wantDelivered bool
		}{
			{key: "first-attempt", running: true, by: "dead-a", attempt: 1, wantState: rivertype.JobStateAvailable, wantDelivered: true},
			{key: "third-attempt", running: true, by: "dead-b", attempt: 3, wantState: rivertype.JobStateAvailable, wantDelivered: true},
			{key: "last-attempt", running: true, by: "dead-a", attempt: maxAttempts, wantState: rivertype.JobStateAvailable, wantDelivered: true},
			{key: "cancel-asked", running: true, by: "dead-a", attempt: 1, metadata: `{"cancel_attempted_at":"2026-03-14T09:26:53Z"}`,
				wantState: rivertype.JobStateCancelled},
			{key: "alive-client", running: true, by: "alive", attempt: 1, wantState: rivertype.JobStateRunning},
			{key: "waiting", wantState: rivertype.JobStateAvailable, wantDelivered: true},
		}
		ids := map[string]int64{}
		for _, r := range rows {
			a := connector.Action{Kind: shipment.ActionPickingValidate, ShipmentID: "shp_" + r.key, EventID: "evt_" + r.key,
				IdempotencyKey: r.key, Payload: json.RawMessage(`{}`)}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.InsertTx(ctx, tx, []connector.Action{a}) }); err != nil {
				t.Fatal(err)
			}
			res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(riverKind[pickingValidate]()).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(1))
			if err != nil || len(res.Jobs) != 1 {
				t.Fatalf("listing the job of %s: %v", r.key, err)
			}
			id := res.Jobs[0].ID
			ids[r.key] = id
			if !r.running {
				continue
			}
			p := &riverdriver.JobUpdateFullParams{ID: id, StateDoUpdate: true, State: rivertype.JobStateRunning,
				AttemptDoUpdate: true, Attempt: r.attempt, AttemptedAtDoUpdate: true, AttemptedAt: &attemptedAt,
				AttemptedByDoUpdate: true, AttemptedBy: []string{"earlier", r.by}}
			if r.metadata != "" {
				p.MetadataDoUpdate, p.Metadata = true, []byte(r.metadata)
			}
			if _, err := exec.JobUpdateFull(ctx, p); err != nil {
				t.Fatalf("leaving %s running: %v", r.key, err)
			}
		}
		if _, err := exec.LeaderInsert(ctx, &riverdriver.LeaderInsertParams{LeaderID: "dead-a", TTL: time.Hour}); err != nil {
			t.Fatalf("inserting the leader a killed server left: %v", err)
		}

		dead := func(id string) bool { return id != "alive" }
		before := time.Now()
		n, err := q.Rescue(ctx, dead)
		if err != nil {
			t.Fatalf("Rescue: %v", err)
		}
		if want := 4; n != want {
			t.Errorf("Rescue: got %d jobs, want %d", n, want)
		}
		if got := counterValue(t, metrics, "waybill_jobs_rescued_total", shipment.ActionPickingValidate); got != 4 {
			t.Errorf("waybill_jobs_rescued_total{kind=%q}: got %v, want 4", shipment.ActionPickingValidate, got)
		}
		gotStates, wantStates := map[string]rivertype.JobState{}, map[string]rivertype.JobState{}
		for _, r := range rows {
			job, err := q.client.JobGet(ctx, ids[r.key])
			if err != nil {
				t.Fatal(err)
			}
			gotStates[r.key], wantStates[r.key] = job.State, r.wantState
			rescued := r.running && r.by != "alive"
			if !rescued {
				if len(job.Errors) != 0 {
					t.Errorf("%s: got errors %v, want none", r.key, job.Errors)
				}
				continue
			}
			if job.Attempt != r.attempt {
				t.Errorf("%s: attempt %d after Rescue, want %d kept", r.key, job.Attempt, r.attempt)
			}
			if len(job.Errors) != 1 || job.Errors[0].Error != RescueError || job.Errors[0].Attempt != r.attempt {
				t.Errorf("%s: errors %+v, want one %q of attempt %d", r.key, job.Errors, RescueError, r.attempt)
			}
			var meta struct {
				RescueCount int `json:"river:rescue_count"`
			}
			if err := json.Unmarshal(job.Metadata, &meta); err != nil || meta.RescueCount != 1 {
				t.Errorf("%s: metadata %s (%v), want river:rescue_count 1", r.key, job.Metadata, err)
			}
			if job.State == rivertype.JobStateAvailable && job.ScheduledAt.After(time.Now()) {
				t.Errorf("%s: scheduled at %v, want no later than now (rescued at %v)", r.key, job.ScheduledAt, before)
			}
		}
		if diff := cmp.Diff(wantStates, gotStates); diff != "" {
			t.Errorf("states after Rescue (-want +got):\n%s", diff)
		}
		if _, err := exec.LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{}); !errors.Is(err, rivertype.ErrNotFound) {
			t.Errorf("leader after Rescue: got %v, want the dead leader's row gone", err)
		}

		// Rescuing again finds nothing: the alive client's job is still
		// its own.
		if n, err := q.Rescue(ctx, dead); err != nil || n != 0 {
			t.Errorf("second Rescue: got %d, %v; want 0, nil", n, err)
		}

		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- q.Run(runCtx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("running queue: %v", err)
			}
		})
		wantDelivered := map[string]int{}
		for _, r := range rows {
			if r.wantDelivered {
				wantDelivered[r.key] = 1
			}
		}
		poll.Until(t, "the rescued jobs to be worked", func() bool {
			res, err := q.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateCompleted).First(100))
			return err == nil && len(res.Jobs) == len(wantDelivered)
		})
		if diff := cmp.Diff(wantDelivered, rec.delivered()); diff != "" {
			t.Errorf("deliveries by idempotency key (-want +got):\n%s", diff)
		}
		job, err := q.client.JobGet(ctx, ids["last-attempt"])
		if err != nil {
			t.Fatal(err)
		}
		if job.Attempt != maxAttempts+1 {
			t.Errorf("last-attempt: attempt %d after its rescue ran, want %d", job.Attempt, maxAttempts+1)
		}
	})
}

// counterValue is the value of the counter name with label kind in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
