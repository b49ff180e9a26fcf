package intake

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Stored is an accepted event as it was received: what a relay forwards
// to the hub.
type Stored struct {
	Seq           int64
	ID            string
	Source        string
	SourceID      string
	Subject       string
	CorrelationID string
	// Body is the CloudEvent as received, without insignificant white
	// space (see Event.Body), opened when it is sealed.
	Body []byte
}

// PendingStored returns up to limit pending events with their bodies, in
// acceptance order. A body that cannot be opened is an error: forwarding
// waits rather than skip an event.
func (s *Store) PendingStored(ctx context.Context, limit int) ([]Stored, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.q.pendingStored, limit)
	if err != nil {
		return nil, fmt.Errorf("reading pending events: %w", err)
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		var st Stored
		var body string
		if err := rows.Scan(&st.Seq, &st.ID, &st.Source, &st.SourceID, &st.Subject, &st.CorrelationID, &body); err != nil {
			return nil, fmt.Errorf("reading pending events: %w", err)
		}
		if st.Body, err = s.openBody(st.ID, body); err != nil {
			return nil, fmt.Errorf("reading pending event %s: %w", st.ID, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading pending events: %w", err)
	}
	return out, nil
}

// Summary counts the events of each state, with the oldest pending
// acceptance and the latest processing.
type Summary struct {
	// Counts has one entry per state that has events.
	Counts map[string]int64
	// OldestPending is when the oldest pending event was accepted; nil
	// when none is pending.
	OldestPending *time.Time
	// LastProcessed is the latest processing time of an event in the
	// state given to Summarize; nil when there is none.
	LastProcessed *time.Time
}

// Summarize counts the events of each state. Its LastProcessed is that of
// the events in state state. It reads the whole events table: for status
// pages and commands, not for a request path.
func (s *Store) Summarize(ctx context.Context, state string) (Summary, error) {
	sum := Summary{Counts: map[string]int64{}}
	rows, err := s.db.Reader.QueryContext(ctx, s.q.summary)
	if err != nil {
		return sum, fmt.Errorf("summarizing events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		var oldest, last sql.NullInt64
		if err := rows.Scan(&st, &n, &oldest, &last); err != nil {
			return sum, fmt.Errorf("summarizing events: %w", err)
		}
		sum.Counts[st] = n
		if st == StatePending && oldest.Valid {
			t := time.UnixMicro(oldest.Int64).UTC()
			sum.OldestPending = &t
		}
		if st == state && last.Valid {
			t := time.UnixMicro(last.Int64).UTC()
			sum.LastProcessed = &t
		}
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("summarizing events: %w", err)
	}
	return sum, nil
}
