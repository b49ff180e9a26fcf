package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Querier runs queries: a *sql.DB, a *sql.Tx or a *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// PairProbe finds the rows of Table whose two-column key (ColA, ColB) is
// one of many pairs, such as the events of a batch already stored or the
// cross-references a batch names.
//
// On PostgreSQL the pairs travel as two arrays and each is probed on the
// key's index in one statement: a list of VALUES as long as a batch's made
// the planner hash-join it against a scan of the whole table, which grows
// with every row stored (a subquery with LIMIT 1 is not turned into a
// join, so the probe stays a probe). On SQLite, whose planner probes a
// VALUES list on the index, the pairs go as VALUES, as many per statement
// as its parameter limit allows.
type PairProbe struct {
	Table, ColA, ColB string
	// Cols are the columns read for each row found, after ColA and ColB.
	Cols []string
	// Where, when set, is a further condition on the rows, with ?
	// placeholders for Args.
	Where string
	Args  []any
}

// Run probes for the pairs (a[i], b[i]) and calls row with each row found,
// its columns ColA, ColB, then Cols, in no particular order.
func (p PairProbe) Run(ctx context.Context, d Dialect, q Querier, a, b []string, row func(*sql.Rows) error) error {
	if len(a) != len(b) {
		return fmt.Errorf("probing %s: %d first keys for %d second keys", p.Table, len(a), len(b))
	}
	chunk := len(a)
	if d.Engine != Postgres {
		chunk = min(500, (d.MaxParams-len(p.Args))/2)
	}
	for start := 0; start < len(a); start += chunk {
		end := min(start+chunk, len(a))
		query, args := p.statement(d, a[start:end], b[start:end])
		if err := p.scan(ctx, q, query, args, row); err != nil {
			return err
		}
	}
	return nil
}

func (p PairProbe) statement(d Dialect, a, b []string) (string, []any) {
	var sb strings.Builder
	if d.Engine == Postgres {
		sb.WriteString("SELECT v.a, v.b")
		for _, c := range p.Cols {
			sb.WriteString(", x." + c)
		}
		sb.WriteString(" FROM unnest(?::text[], ?::text[]) AS v(a, b) CROSS JOIN LATERAL (SELECT 1 AS found")
		for _, c := range p.Cols {
			sb.WriteString(", " + c)
		}
		sb.WriteString(" FROM " + p.Table + " WHERE " + p.ColA + " = v.a AND " + p.ColB + " = v.b")
		if p.Where != "" {
			sb.WriteString(" AND " + p.Where)
		}
		sb.WriteString(" LIMIT 1) x")
		return d.Rebind(sb.String()), append([]any{a, b}, p.Args...)
	}
	sb.WriteString("SELECT " + p.ColA + ", " + p.ColB)
	for _, c := range p.Cols {
		sb.WriteString(", " + c)
	}
	sb.WriteString(" FROM " + p.Table + " WHERE ")
	if p.Where != "" {
		sb.WriteString(p.Where + " AND ")
	}
	sb.WriteString("(" + p.ColA + ", " + p.ColB + ") IN (VALUES " + Placeholders(len(a), 2) + ")")
	args := make([]any, 0, len(p.Args)+2*len(a))
	args = append(args, p.Args...)
	for i := range a {
		args = append(args, a[i], b[i])
	}
	return sb.String(), args
}

func (p PairProbe) scan(ctx context.Context, q Querier, query string, args []any, row func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("probing %s: %w", p.Table, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return fmt.Errorf("probing %s: %w", p.Table, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("probing %s: %w", p.Table, err)
	}
	return nil
}
