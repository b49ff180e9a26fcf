package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
)

// DeadFunc reports whether the River client with the given ID (one serve
// process) has ended, so that the jobs it left running run no more. The ID
// is the last of a job's attempted_by, or a leader's leader_id; it may be
// empty for a row that names none.
type DeadFunc func(clientID string) bool

// AllDead is the DeadFunc of a server that owns its database alone
// (sqldb.DB.Claim): when it starts, no other client lives, so every job
// marked running belongs to a process that ended, however it ended.
func AllDead(string) bool { return true }

// RescueError is the error recorded on a job rescued at start-up.
const RescueError = "running when its server ended: rescued at start-up"

// rescueBatch is how many running jobs one rescue round reads.
const rescueBatch = 1000

// leadershipTopic is River's notification topic for leadership changes
// (river/internal/notifier.NotificationTopicLeadership).
const leadershipTopic = "river_leadership"

// Rescue makes the jobs that dead clients left running runnable at once,
// and gives up a leadership a dead client held. Call it before Run, once
// the server holds the database (sqldb.DB.Claim).
//
// River rescues a running job only when it has run past the job timeout
// plus a margin (3 minutes by default), as it cannot tell a dead client
// from a slow one. A server that owns its database can: a job still
// running when it starts was running in a process that ended, such as one
// killed with SIGKILL, and its outcome is unknown. Rescue updates it the
// way River's rescuer does, through River's own driver, so the row is what
// River expects: an entry in its errors (RescueError) and in its
// river:rescue_count metadata, its attempt count kept. It differs in two
// ways, both because a crash is not a failure of the target: the job is
// made available now rather than after a backoff, and a job that was on
// its last attempt is retried rather than discarded, so its outcome is
// known and, if it fails again, recorded as a dead letter. Running it
// again is safe: every attempt carries the action's idempotency key, and
// connectors find what an earlier attempt made before they make it. A job
// whose cancellation was asked is cancelled, as River's rescuer does.
//
// River elects a leader to schedule retries; a leader that died keeps its
// row for the leader TTL (15 s), and retries due meanwhile wait. Rescue
// removes the row of a leader that dead says is dead, so this server's
// client is elected when it starts.
//
// Rescue returns how many jobs it made runnable or cancelled.
func (q *Queue) Rescue(ctx context.Context, dead DeadFunc) (int, error) {
	exec := q.client.Driver().GetExecutor()
	now := time.Now().UTC()
	// Every running job was attempted before this, even on a clock that
	// went back a little.
	horizon := now.AddDate(1, 0, 0)
	rescued := 0
	for afterID := int64(0); ; {
		jobs, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: afterID, Max: rescueBatch, StuckHorizon: horizon})
		if err != nil {
			return rescued, fmt.Errorf("listing running jobs: %w", err)
		}
		params := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		var kinds []string
		for _, job := range jobs {
			if !dead(lastClient(job)) {
				continue
			}
			p, err := rescueOf(job, now)
			if err != nil {
				return rescued, err
			}
			params.ID = append(params.ID, job.ID)
			params.Error = append(params.Error, p.errData)
			params.FinalizedAt = append(params.FinalizedAt, p.finalizedAt)
			params.ScheduledAt = append(params.ScheduledAt, p.scheduledAt)
			params.State = append(params.State, string(p.state))
			kinds = append(kinds, job.Kind)
		}
		if len(params.ID) > 0 {
			if _, err := exec.JobRescueMany(ctx, params); err != nil {
				return rescued, fmt.Errorf("rescuing running jobs: %w", err)
			}
			for _, k := range kinds {
				q.rescued.WithLabelValues(actionKind(k)).Inc()
			}
			rescued += len(params.ID)
		}
		if len(jobs) < rescueBatch {
			break
		}
		afterID = jobs[len(jobs)-1].ID
	}
	if rescued > 0 {
		q.logger.InfoContext(ctx, "jobs left running by an ended server rescued: they run again now", slog.Int("jobs", rescued))
	}
	if err := q.resignDeadLeader(ctx, exec, dead); err != nil {
		return rescued, err
	}
	return rescued, nil
}

// rescue is how one job is rescued.
type rescue struct {
	errData     []byte
	state       rivertype.JobState
	scheduledAt time.Time
	finalizedAt *time.Time
}

func rescueOf(job *rivertype.JobRow, now time.Time) (rescue, error) {
	errData, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 0), Error: RescueError})
	if err != nil {
		return rescue{}, fmt.Errorf("encoding the rescue of job %d: %w", job.ID, err)
	}
	var meta struct {
		CancelAttemptedAt time.Time `json:"cancel_attempted_at"`
	}
	if len(job.Metadata) > 0 {
		if err := json.Unmarshal(job.Metadata, &meta); err != nil {
			return rescue{}, fmt.Errorf("decoding the metadata of job %d: %w", job.ID, err)
		}
	}
	if !meta.CancelAttemptedAt.IsZero() {
		return rescue{errData: errData, state: rivertype.JobStateCancelled, scheduledAt: job.ScheduledAt, finalizedAt: &now}, nil
	}
	return rescue{errData: errData, state: rivertype.JobStateAvailable, scheduledAt: now}, nil
}

// lastClient is the ID of the client that made job's latest attempt.
func lastClient(job *rivertype.JobRow) string {
	if len(job.AttemptedBy) == 0 {
		return ""
	}
	return job.AttemptedBy[len(job.AttemptedBy)-1]
}

// actionKind is the action kind of a River job kind, the form every
// metric label takes (dispatch.release, never dispatch_release), or
// connector.OtherKind for a kind this queue does not know: one left by
// another version, or by another program sharing River's tables.
func actionKind(riverKind string) string {
	if riverKind == TaskJobKind {
		return "task"
	}
	for action, rk := range riverKinds {
		if rk == riverKind {
			return action
		}
	}
	return connector.OtherKind
}

// resignDeadLeader removes the leader row of a dead client.
func (q *Queue) resignDeadLeader(ctx context.Context, exec riverdriver.Executor, dead DeadFunc) error {
	leader, err := exec.LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the job leader: %w", err)
	}
	if !dead(leader.LeaderID) {
		return nil
	}
	if _, err := exec.LeaderResign(ctx, &riverdriver.LeaderResignParams{
		ElectedAt: leader.ElectedAt, LeaderID: leader.LeaderID, LeadershipTopic: leadershipTopic,
	}); err != nil {
		return fmt.Errorf("resigning the ended job leader: %w", err)
	}
	q.logger.InfoContext(ctx, "job leadership of an ended server given up", slog.String("leader_id", leader.LeaderID))
	return nil
}
