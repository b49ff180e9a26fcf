package intake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is what became of one accepted event: whether it was applied to
// its shipment, and why not.
type Status struct {
	EventID       string     `json:"event_id"`
	Source        string     `json:"source"`
	SourceID      string     `json:"source_event_id"`
	Type          string     `json:"type"`
	Subject       string     `json:"subject"`
	Time          time.Time  `json:"time"`
	AcceptedAt    time.Time  `json:"accepted_at"`
	ProcessedAt   *time.Time `json:"processed_at,omitempty" doc:"When it was applied or refused; absent while pending"`
	CorrelationID string     `json:"correlation_id"`
	State         string     `json:"state" enum:"pending,accepted,rejected,failed" doc:"pending: accepted, not yet applied; accepted: applied to its shipment; rejected: refused by the workflow (reason says why); failed: could not be applied"`
	Reason        string     `json:"reason,omitempty"`
	ShipmentID    string     `json:"shipment_id,omitempty"`
}

// ErrNotFound is returned by Store.Get for an unknown event id.
var ErrNotFound = errors.New("no such event")

// ErrBadCursor is returned by Store.List for a cursor it did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// ListParams selects events for Store.List.
type ListParams struct {
	// Source and State, when set, keep only events of that source and in
	// that state.
	Source string
	State  string
	// Limit is the page size; Cursor the NextCursor of the previous page.
	Limit  int
	Cursor string
}

// States lists the states of an event.
func States() []string { return []string{StatePending, StateApplied, StateRejected, StateFailed} }

const statusColumns = `id, source, source_id, type, subject, occurred_at, occurred_offset, accepted_at, processed_at, correlation_id, state, reason, shipment_id, seq`

// Get returns the status of the event with canonical id id.
func (s *Store) Get(ctx context.Context, id string) (*Status, error) {
	row := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT `+statusColumns+` FROM events WHERE id = ?`), id)
	st, _, err := scanStatus(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading event %s: %w", id, err)
	}
	return st, nil
}

// GetBySource returns the status of the event a source sent under its own
// id (the CloudEvents source and id), on the (source, source_id) key.
func (s *Store) GetBySource(ctx context.Context, source, sourceID string) (*Status, error) {
	row := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT `+statusColumns+` FROM events WHERE source = ? AND source_id = ?`), source, sourceID)
	st, _, err := scanStatus(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading event %s of %s: %w", sourceID, source, err)
	}
	return st, nil
}

// List returns events, newest accepted first, and the cursor of the next
// page ("" on the last).
func (s *Store) List(ctx context.Context, p ListParams) ([]*Status, string, error) {
	var where []string
	var args []any
	if p.Source != "" {
		where, args = append(where, "source = ?"), append(args, p.Source)
	}
	if p.State != "" {
		// A literal, not a parameter, so that the partial index of the
		// rejected or failed events can serve the query.
		if !slices.Contains(States(), p.State) {
			return nil, "", fmt.Errorf("listing events: unknown state %q", p.State)
		}
		where = append(where, "state = '"+p.State+"'")
	}
	if p.Cursor != "" {
		seq, err := strconv.ParseInt(p.Cursor, 36, 64)
		if err != nil || seq <= 0 {
			return nil, "", ErrBadCursor
		}
		where, args = append(where, "seq < ?"), append(args, seq)
	}
	q := `SELECT ` + statusColumns + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, p.Limit+1)
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []*Status
	var last int64
	for rows.Next() {
		st, seq, err := scanStatus(rows.Scan)
		if err != nil {
			return nil, "", fmt.Errorf("listing events: %w", err)
		}
		if len(out) == p.Limit {
			return out, strconv.FormatInt(last, 36), rows.Err()
		}
		out, last = append(out, st), seq
	}
	return out, "", rows.Err()
}

func scanStatus(scan func(...any) error) (*Status, int64, error) {
	var st Status
	var at, acc int64
	var processed sql.NullInt64
	var off int
	var ship sql.NullString
	var seq int64
	if err := scan(&st.EventID, &st.Source, &st.SourceID, &st.Type, &st.Subject, &at, &off, &acc, &processed,
		&st.CorrelationID, &st.State, &st.Reason, &ship, &seq); err != nil {
		return nil, 0, err
	}
	st.Time = time.UnixMicro(at).In(time.FixedZone("", off))
	st.AcceptedAt = time.UnixMicro(acc).UTC()
	if processed.Valid {
		t := time.UnixMicro(processed.Int64).UTC()
		st.ProcessedAt = &t
	}
	st.ShipmentID = ship.String
	return &st, seq, nil
}
