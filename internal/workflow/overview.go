package workflow

import (
	"context"
	"fmt"
	"strings"
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

// Filter narrows the flow overview to some shipments. Its zero value
// takes every shipment. Names and references match exactly.
type Filter struct {
	// Customer is the customer's name or ref.
	Customer string
	// Carrier is the carrier's name, SCAC or ref.
	Carrier string
	// Warehouse is the origin location's name or ref.
	Warehouse string
	// CreatedFrom and CreatedTo bound when the shipment was planned:
	// from inclusive, to exclusive; zero leaves that end open.
	CreatedFrom, CreatedTo time.Time
}

// IsZero reports whether f takes every shipment.
func (f Filter) IsZero() bool { return f == Filter{} }

// where is f as SQL conditions, each starting with " AND ", and their
// arguments. No document is read: names and references are matched in the
// facets column.
func (s *Store) where(f Filter) (string, []any) {
	var b strings.Builder
	var args []any
	if !f.CreatedFrom.IsZero() {
		b.WriteString(" AND created_at >= ?")
		args = append(args, f.CreatedFrom.UnixMicro())
	}
	if !f.CreatedTo.IsZero() {
		b.WriteString(" AND created_at < ?")
		args = append(args, f.CreatedTo.UnixMicro())
	}
	find := "instr(facets, ?) > 0"
	if s.db.Dialect.Engine == sqldb.Postgres {
		find = "strpos(facets, ?) > 0"
	}
	for _, c := range []struct {
		key byte
		v   string
	}{{facetCustomer, f.Customer}, {facetCarrier, f.Carrier}, {facetWarehouse, f.Warehouse}} {
		switch {
		case c.v == "":
		case strings.ContainsRune(c.v, facetSep):
			b.WriteString(" AND 1 = 0") // no name holds the separator
		default:
			b.WriteString(" AND " + find)
			args = append(args, string(facetSep)+string(c.key)+"="+c.v+string(facetSep))
		}
	}
	return b.String(), args
}

// The facets of a shipment: the names and references the overview
// filters by, each as <key>=<value> followed by facetSep, after a leading
// facetSep. Migration 00015 writes the same form for shipments stored
// before it.
const (
	facetSep       = '\x1f'
	facetCustomer  = 'c'
	facetCarrier   = 'k'
	facetWarehouse = 'w'
)

// facets returns the facets of sh.
func facets(sh *shipment.Shipment) string {
	var b strings.Builder
	b.WriteRune(facetSep)
	add := func(key byte, v string) {
		if v != "" {
			b.WriteByte(key)
			b.WriteByte('=')
			b.WriteString(v)
			b.WriteRune(facetSep)
		}
	}
	if c := sh.Customer; c != nil {
		add(facetCustomer, c.Name)
		add(facetCustomer, c.Ref)
	}
	if c := sh.Carrier; c != nil {
		add(facetCarrier, c.Name)
		add(facetCarrier, c.SCAC)
		add(facetCarrier, c.Ref)
	}
	if o := sh.Origin; o != nil {
		add(facetWarehouse, o.Name)
		add(facetWarehouse, o.Ref)
	}
	return b.String()
}

// CountByState counts the shipments f takes by state. Without a filter it
// reads the shipments_overview index only, whatever the number of
// shipments, and a filter on names or dates reads it too (its facets).
func (s *Store) CountByState(ctx context.Context, f Filter) ([]StateCount, error) {
	cond, args := s.where(f)
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(
		`SELECT state, COUNT(*), MIN(updated_at) FROM shipments WHERE 1 = 1`+cond+` GROUP BY state`), args...)
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

// Blocked returns up to limit blocked shipments of those f takes, the
// longest blocked first, and how many there are in all.
func (s *Store) Blocked(ctx context.Context, f Filter, limit int) ([]BlockedShipment, int64, error) {
	cond, args := s.where(f)
	var total int64
	if err := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(`SELECT COUNT(*) FROM shipments WHERE blocked_reason <> ''`+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting blocked shipments: %w", err)
	}
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(
		`SELECT id, state, blocked_reason, updated_at FROM shipments WHERE blocked_reason <> ''`+cond+` ORDER BY updated_at, id LIMIT ?`), append(args, limit)...)
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
// due, among those f takes. Without a filter on names it reads an index
// only (shipments_billable).
func (s *Store) CountBillable(ctx context.Context, f Filter) (int64, error) {
	// The partial index's own condition, written as it is.
	q := `SELECT COUNT(*) FROM shipments WHERE state = 'delivered' AND billable = 1`
	if s.db.Dialect.Engine == sqldb.Postgres {
		q = `SELECT COUNT(*) FROM shipments WHERE state = 'delivered' AND billable`
	}
	cond, args := s.where(f)
	var n int64
	if err := s.db.Reader.QueryRowContext(ctx, s.db.Dialect.Rebind(q+cond), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting billable shipments: %w", err)
	}
	return n, nil
}
