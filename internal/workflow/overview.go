package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
)

// StateCount is how many shipments are in one state, and since when the
// oldest of them has not changed.
type StateCount struct {
	State shipment.State
	Count int64
	// Oldest is the earliest last change among them.
	Oldest time.Time
}

// CountByState counts shipments by state. It reads the (state,
// updated_at) index only, whatever the number of shipments.
func (s *Store) CountByState(ctx context.Context) ([]StateCount, error) {
	rows, err := s.db.Reader.QueryContext(ctx, `SELECT state, COUNT(*), MIN(updated_at) FROM shipments GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting shipments: %w", err)
	}
	defer rows.Close()
	var out []StateCount
	for rows.Next() {
		var c StateCount
		var state string
		var oldest int64
		if err := rows.Scan(&state, &c.Count, &oldest); err != nil {
			return nil, fmt.Errorf("counting shipments: %w", err)
		}
		c.State, c.Oldest = shipment.State(state), time.UnixMicro(oldest).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// BlockedShipment is a shipment that cannot take its next step, and why.
type BlockedShipment struct {
	ID        string
	State     shipment.State
	Reason    string
	UpdatedAt time.Time
}

// Blocked returns up to limit blocked shipments, the longest blocked
// first, and how many there are in all.
func (s *Store) Blocked(ctx context.Context, limit int) ([]BlockedShipment, int64, error) {
	var total int64
	if err := s.db.Reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM shipments WHERE blocked_reason <> ''`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting blocked shipments: %w", err)
	}
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(
		`SELECT id, state, blocked_reason, updated_at FROM shipments WHERE blocked_reason <> '' ORDER BY updated_at, id LIMIT ?`), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("listing blocked shipments: %w", err)
	}
	defer rows.Close()
	var out []BlockedShipment
	for rows.Next() {
		var b BlockedShipment
		var state string
		var at int64
		if err := rows.Scan(&b.ID, &state, &b.Reason, &at); err != nil {
			return nil, 0, fmt.Errorf("listing blocked shipments: %w", err)
		}
		b.State, b.UpdatedAt = shipment.State(state), time.UnixMicro(at).UTC()
		out = append(out, b)
	}
	return out, total, rows.Err()
}

// CountBillable counts delivered shipments that are billable: their proof
// of delivery is accepted and no exception holds them, so their invoice is
// due. It reads only the documents of delivered shipments.
func (s *Store) CountBillable(ctx context.Context) (int64, error) {
	q := `SELECT COUNT(*) FROM shipments WHERE state = 'delivered' AND json_extract(doc, '$.billable') = 1`
	if s.db.Dialect.Engine == sqldb.Postgres {
		q = `SELECT COUNT(*) FROM shipments WHERE state = 'delivered' AND (doc::jsonb ->> 'billable') = 'true'`
	}
	var n int64
	if err := s.db.Reader.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting billable shipments: %w", err)
	}
	return n, nil
}
