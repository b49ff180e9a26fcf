package jobqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job is one outbound job as River holds it, for the people who run the
// flow: what it does, how far it got and why it failed last.
type Job struct {
	ID int64
	// Kind is the action kind (dispatch.release, …).
	Kind string
	// State is River's job state: available, scheduled, running,
	// retryable, completed, discarded or cancelled.
	State       string
	Attempt     int
	MaxAttempts int
	CreatedAt   time.Time
	// AttemptedAt is when the last attempt started; zero before any.
	AttemptedAt time.Time
	// ScheduledAt is when it runs (again), for a job waiting.
	ScheduledAt time.Time
	// FinalizedAt is when it completed or was given up; zero until then.
	FinalizedAt time.Time
	// LastError is the error of the last failed attempt; empty if none
	// failed.
	LastError string
}

// ShipmentJobs returns up to limit outbound jobs of a shipment, the
// newest first. River keeps finished jobs for its retention period only
// (a day for completed ones); dead letters stay in DeadLetters. It reads
// River's job table without an index on the shipment, whose size the
// retention bounds.
func (q *Queue) ShipmentJobs(ctx context.Context, shipmentID string, limit int) ([]Job, error) {
	params := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc).
		Where("args ->> 'shipment_id' = @shipment_id", river.NamedArgs{"shipment_id": shipmentID})
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("listing the jobs of shipment %s: %w", shipmentID, err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, row := range res.Jobs {
		out = append(out, jobOf(row))
	}
	return out, nil
}

// actionKinds maps River job kinds back to action kinds.
var actionKinds = func() map[string]string {
	m := make(map[string]string, len(riverKinds))
	for action, job := range riverKinds {
		m[job] = action
	}
	return m
}()

func jobOf(row *rivertype.JobRow) Job {
	j := Job{ID: row.ID, Kind: actionKinds[row.Kind], State: string(row.State), Attempt: row.Attempt, MaxAttempts: row.MaxAttempts,
		CreatedAt: row.CreatedAt.UTC(), ScheduledAt: row.ScheduledAt.UTC()}
	if j.Kind == "" {
		j.Kind = row.Kind
	}
	if row.AttemptedAt != nil {
		j.AttemptedAt = row.AttemptedAt.UTC()
	}
	if row.FinalizedAt != nil {
		j.FinalizedAt = row.FinalizedAt.UTC()
	}
	if n := len(row.Errors); n > 0 {
		j.LastError = row.Errors[n-1].Error
	}
	return j
}

// RecentJobs returns up to limit of the newest outbound jobs of the given
// action kinds, the newest first: how a connector has been doing lately.
func (q *Queue) RecentJobs(ctx context.Context, kinds []string, limit int) ([]Job, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	jobKinds := make([]string, 0, len(kinds))
	for _, k := range kinds {
		if jk, ok := riverKinds[k]; ok {
			jobKinds = append(jobKinds, jk)
		}
	}
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(jobKinds...).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, fmt.Errorf("listing recent jobs: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, row := range res.Jobs {
		out = append(out, jobOf(row))
	}
	return out, nil
}
