package jobqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/webhook"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestEveryKindHasALane checks that every action kind runs in the critical
// or the low lane, and that releases, validations and invoices are
// critical.
func TestEveryKindHasALane(t *testing.T) {
	t.Parallel()
	for _, k := range shipment.ActionTable() {
		if k.Lane != shipment.LaneCritical && k.Lane != shipment.LaneLow {
			t.Errorf("%s: lane %q, want critical or low", k.Kind, k.Lane)
		}
		if got := q0.insertOpts(k.Kind).Queue; got != k.Lane {
			t.Errorf("%s: enqueued in %q, want its lane %q", k.Kind, got, k.Lane)
		}
	}
	for _, kind := range []string{shipment.ActionDispatchRelease, shipment.ActionPickingValidate, shipment.ActionInvoicePrepare} {
		if got := laneOf(kind); got != shipment.LaneCritical {
			t.Errorf("%s: lane %q, want critical", kind, got)
		}
	}
	if got := laneOf(shipment.ActionMilestoneSync); got != shipment.LaneLow {
		t.Errorf("milestone.sync: lane %q, want low", got)
	}
}

// q0 is a Queue with no options, for what insertOpts makes of them.
var q0 = &Queue{}

// TestLaneWorkersRefusesUnknownLanes: the critical lane's workers are
// Options.Workers, and a lane New does not know is an error.
func TestLaneWorkersRefusesUnknownLanes(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	for _, lane := range []string{shipment.LaneCritical, "bulk", river.QueueDefault} {
		if _, err := New(db, connector.NewRegistry(), Options{LaneWorkers: map[string]int{lane: 2}}); err == nil {
			t.Errorf("New with LaneWorkers[%q]: got no error", lane)
		}
	}
}

// TestLegacyJobsRun: jobs an older version left in River's default queue
// (an invoice, a milestone and a task) run once the queue starts: the
// waiting ones are moved to their lanes, and the legacy queue still has a
// worker for the others.
func TestLegacyJobsRun(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rcv := webhooktest.New(t)
		wh, err := webhook.New(webhook.Config{URL: rcv.URL(), Timeout: 10 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = wh.Close() })
		reg := connector.NewRegistry()
		for _, kind := range []string{shipment.ActionInvoicePrepare, shipment.ActionMilestoneSync} {
			if err := reg.Register(kind, wh); err != nil {
				t.Fatal(err)
			}
		}
		metrics := prometheus.NewRegistry()
		q, err := New(db, reg, Options{Workers: 2, PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registerer: metrics})
		if err != nil {
			t.Fatal(err)
		}
		ran := make(chan struct{}, 1)
		if err := q.AddTask(Task{Name: "legacy.report", Run: func(context.Context, json.RawMessage) error { ran <- struct{}{}; return nil }}); err != nil {
			t.Fatal(err)
		}
		// Rows as a version before lanes wrote them: River's default
		// queue. The last is scheduled far ahead, so it stays waiting and
		// shows where it was moved.
		now := time.Now().UTC()
		var jobs []*riverdriver.JobInsertFastParams
		for i, kind := range []string{shipment.ActionInvoicePrepare, shipment.ActionMilestoneSync, shipment.ActionMilestoneSync} {
			a := connector.Action{Kind: kind, ShipmentID: fmt.Sprintf("shp_%d", i), EventID: fmt.Sprintf("evt_%d", i),
				IdempotencyKey: fmt.Sprintf("legacy-%d", i), Payload: json.RawMessage(`{}`)}
			ja, err := newArgs(nil, a)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(ja)
			if err != nil {
				t.Fatal(err)
			}
			at := now
			if i == 2 {
				at = now.Add(time.Hour)
			}
			jobs = append(jobs, legacyJob(ja.Kind(), raw, at))
		}
		jobs = append(jobs, legacyJob(TaskJobKind, []byte(`{"task":"legacy.report"}`), now))
		if _, err := db.RiverDriver().GetExecutor().JobInsertFastMany(t.Context(), &riverdriver.JobInsertFastManyParams{Jobs: jobs}); err != nil {
			t.Fatalf("inserting legacy jobs: %v", err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- q.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("running queue: %v", err)
			}
		})
		poll.Until(t, "the legacy invoice and milestone to be delivered", func() bool { return len(rcv.Received()) == 2 })
		select {
		case <-ran:
		case <-time.After(poll.Deadline):
			t.Fatal("the legacy task did not run")
		}
		// Every job ran, or waits, in its lane.
		var lanes map[string]string
		poll.Until(t, "the legacy jobs to complete", func() bool {
			res, err := q.client.JobList(t.Context(), river.NewJobListParams().First(10))
			if err != nil {
				t.Fatal(err)
			}
			lanes = map[string]string{}
			for _, j := range res.Jobs {
				lanes[actionKind(j.Kind)+" "+string(j.State)] = j.Queue
			}
			// River records completions in batches, after the work is done:
			// a delivered milestone's job may still show as running.
			return len(res.Jobs) == 4 && lanes["invoice.prepare completed"] != "" && lanes["milestone.sync completed"] != "" && lanes["task completed"] != ""
		})
		want := map[string]string{
			"invoice.prepare completed": shipment.LaneCritical,
			"milestone.sync completed":  shipment.LaneLow,
			"milestone.sync scheduled":  shipment.LaneLow,
			"task completed":            shipment.LaneBackground,
		}
		if diff := cmp.Diff(want, lanes); diff != "" {
			t.Errorf("lanes of the legacy jobs by kind and state (-want +got):\n%s", diff)
		}
		// Their waits are counted by lane.
		families, err := metrics.Gather()
		if err != nil {
			t.Fatal(err)
		}
		waits := map[string]uint64{}
		for _, f := range families {
			if f.GetName() == "waybill_job_wait_seconds" {
				for _, m := range f.GetMetric() {
					waits[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
				}
			}
		}
		if diff := cmp.Diff(map[string]uint64{shipment.LaneCritical: 1, shipment.LaneLow: 1, shipment.LaneBackground: 1}, waits); diff != "" {
			t.Errorf("waybill_job_wait_seconds samples by lane (-want +got):\n%s", diff)
		}
	})
}

func legacyJob(kind string, args []byte, at time.Time) *riverdriver.JobInsertFastParams {
	state := rivertype.JobStateAvailable
	if at.After(time.Now()) {
		state = rivertype.JobStateScheduled
	}
	return &riverdriver.JobInsertFastParams{EncodedArgs: args, Kind: kind, MaxAttempts: 3, Priority: 1, Metadata: []byte(`{}`),
		Queue: river.QueueDefault, State: state, ScheduledAt: &at, CreatedAt: ptr(time.Now().UTC()), Tags: []string{}}
}

// Figures of TestLanesKeepInvoicesFast.
const (
	// floodSize is how many milestone syncs flood the low lane.
	floodSize = 50_000
	// shortFloodSize replaces floodSize with -short. It still outlasts
	// the measurement many times over.
	shortFloodSize = 5_000
	// floodBatch is how many of them one transaction enqueues.
	floodBatch = 5_000
	// probes is how many invoices each window measures.
	probes = 100
	// latencyFloor is the slack on top of twice the idle p99: on two
	// shared cores the scheduler alone moves a few milliseconds around.
	latencyFloor = 50 * time.Millisecond
)

// TestLanesKeepInvoicesFast is the proof of priority lanes: with 50,000
// milestone syncs piled up in the low lane against a slow target, invoices
// in the critical lane are done about as fast as on an idle queue (p99
// enqueue to done within twice the idle p99, plus a small floor). Without
// lanes the invoices would wait behind the flood for minutes.
//
// It does not run in parallel with the package's other tests, and the
// engines run one after the other: it measures latency, and other work on
// the same cores would be what it measured. With -short the flood is
// shortFloodSize. The race detector slows enqueueing 50,000 jobs from
// seconds to minutes and makes latency a measure of itself, so the test
// skips under it; .ci/run runs it once more without.
func TestLanesKeepInvoicesFast(t *testing.T) {
	if raceDetector {
		t.Skip("a latency measurement: run without -race (.ci/run does)")
	}
	size := floodSize
	if testing.Short() {
		size = shortFloodSize
	}
	t.Run("sqlite", func(t *testing.T) { testLanesUnderFlood(t, sqldbtest.SQLite(t), size) })
	t.Run("postgres", func(t *testing.T) { testLanesUnderFlood(t, sqldbtest.Postgres(t), size) })
}

func testLanesUnderFlood(t *testing.T, db *sqldb.DB, size int) {
	invoices, milestones := webhooktest.New(t), webhooktest.New(t)
	// A slow target: each milestone takes 50 ms, so the low lane's four
	// workers get through 80 a second and the flood stays.
	milestones.SetDelay(50 * time.Millisecond)
	reg := connector.NewRegistry()
	for kind, url := range map[string]string{shipment.ActionInvoicePrepare: invoices.URL(), shipment.ActionMilestoneSync: milestones.URL()} {
		wh, err := webhook.New(webhook.Config{Name: kind, URL: url, Timeout: 10 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = wh.Close() })
		if err := reg.Register(kind, wh); err != nil {
			t.Fatal(err)
		}
	}
	q, err := New(db, reg, Options{
		Workers:      4,
		LaneWorkers:  map[string]int{shipment.LaneLow: 4},
		PollInterval: 50 * time.Millisecond,
		// Warnings only: a line for each of thousands of jobs done
		// would be noise.
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("running queue: %v", err)
		}
	})

	idle := invoiceLatencies(t, q, db, invoices, "idle")

	start := time.Now()
	for i := 0; i < size; i += floodBatch {
		actions := make([]connector.Action, 0, floodBatch)
		for j := i; j < i+floodBatch; j++ {
			actions = append(actions, connector.Action{Kind: shipment.ActionMilestoneSync, ShipmentID: fmt.Sprintf("shp_m%d", j),
				EventID: fmt.Sprintf("evt_m%d", j), IdempotencyKey: fmt.Sprintf("milestone-%d", j), Payload: json.RawMessage(`{"type":"shipment.arrived"}`)})
		}
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return q.InsertTx(t.Context(), tx, actions) }); err != nil {
			t.Fatalf("enqueueing milestones: %v", err)
		}
	}
	t.Logf("%d milestone syncs enqueued in %v", size, time.Since(start).Round(time.Millisecond))
	// The low lane is at work on the flood before invoices are measured.
	poll.Until(t, "the low lane to work the flood", func() bool { return len(milestones.Received()) >= 8 })

	// The limit is on the lane, not on the machine: a window of invoices
	// that a stall of the whole machine (another process, a checkpoint)
	// slowed down is measured again, up to three times. Without lanes
	// every window would wait behind the flood, for minutes.
	idleP99 := percentile(idle, 99)
	limit := 2*idleP99 + latencyFloor
	t.Logf("invoice enqueue→done over %d invoices, idle: p50 %v, p99 %v, max %v", probes, percentile(idle, 50), idleP99, percentile(idle, 100))
	var loadedP99 time.Duration
	for window := 1; window <= 3; window++ {
		loaded := invoiceLatencies(t, q, db, invoices, fmt.Sprintf("flood%d", window))
		loadedP99 = percentile(loaded, 99)
		t.Logf("invoice enqueue→done over %d invoices, flood of %d milestones (%d delivered so far), window %d: p50 %v, p99 %v, max %v",
			probes, size, len(milestones.Received()), window, percentile(loaded, 50), loadedP99, percentile(loaded, 100))
		if loadedP99 <= limit {
			break
		}
	}

	// The flood was still there when the last invoice was done: most of
	// it waits its turn.
	waiting, err := q.client.JobList(t.Context(), river.NewJobListParams().Kinds(riverKind[milestoneSync]()).
		States(rivertype.JobStateAvailable).First(1))
	if err != nil {
		t.Fatal(err)
	}
	if delivered := len(milestones.Received()); len(waiting.Jobs) == 0 || delivered >= size {
		t.Fatalf("the flood drained during the measurement (%d of %d milestones delivered): it measured no load", delivered, size)
	}
	if loadedP99 > limit {
		t.Errorf("invoice p99 under the flood: got %v, want at most %v (twice the idle p99 of %v, plus %v)", loadedP99, limit, idleP99, latencyFloor)
	}
}

// invoiceLatencies enqueues probes invoices one after the other, each once
// the previous one reached rcv, and returns how long each took from its
// enqueueing to its completion, by River's own record of the job.
func invoiceLatencies(t *testing.T, q *Queue, db *sqldb.DB, rcv *webhooktest.Receiver, phase string) []time.Duration {
	t.Helper()
	before := len(rcv.Received())
	for i := range probes {
		a := connector.Action{Kind: shipment.ActionInvoicePrepare, ShipmentID: fmt.Sprintf("shp_%s_%d", phase, i),
			EventID: fmt.Sprintf("evt_%s_%d", phase, i), IdempotencyKey: fmt.Sprintf("invoice-%s-%d", phase, i), Payload: json.RawMessage(`{}`)}
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return q.InsertTx(t.Context(), tx, []connector.Action{a}) }); err != nil {
			t.Fatalf("enqueueing invoice: %v", err)
		}
		poll.Until(t, "invoice "+a.ShipmentID+" to be delivered", func() bool { return len(rcv.Received()) == before+i+1 })
	}
	var rows []*rivertype.JobRow
	poll.Until(t, "the "+phase+" invoices to complete", func() bool {
		res, err := q.client.JobList(t.Context(), river.NewJobListParams().Kinds(riverKind[invoicePrepare]()).
			States(rivertype.JobStateCompleted).Where("args ->> 'idempotency_key' LIKE @prefix", river.NamedArgs{"prefix": "invoice-" + phase + "-%"}).First(probes+1))
		if err != nil {
			t.Fatalf("listing invoices: %v", err)
		}
		rows = res.Jobs
		return len(rows) == probes
	})
	out := make([]time.Duration, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.FinalizedAt.Sub(r.CreatedAt))
	}
	return out
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}
