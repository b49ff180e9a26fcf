package sqldb

import (
	"strconv"
	"strings"
)

// Insert is a multi-row INSERT of a fixed list of columns, written for
// each engine. On SQLite it is a VALUES list with a placeholder per value.
// On PostgreSQL it takes one array per column and unnests them: the
// statement's text and its parameters are the same whatever the number of
// rows, so it is parsed and planned once, and its values travel as a few
// binary arrays instead of thousands of parameters, which PostgreSQL binds
// one by one.
type Insert struct {
	engine Engine
	head   string // INSERT INTO t (a, b)
	tail   string // ON CONFLICT …, RETURNING …
	cols   int
	unnest string // PostgreSQL: the whole statement
}

// NewInsert returns the insert head + rows + tail, where head names the
// table and its columns (and on PostgreSQL may end with OVERRIDING SYSTEM
// VALUE) and types are the PostgreSQL types of the columns, one each.
func (d Dialect) NewInsert(head string, types []string, tail string) Insert {
	in := Insert{engine: d.Engine, head: head, tail: tail, cols: len(types)}
	if d.Engine == Postgres {
		var b strings.Builder
		b.WriteString(head)
		b.WriteString(" SELECT * FROM unnest(")
		for i, t := range types {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i+1) + "::" + t + "[]")
		}
		b.WriteString(")")
		b.WriteString(tail)
		in.unnest = b.String()
	}
	return in
}

// Columns is the number of values per row.
func (in Insert) Columns() int { return in.cols }

// Statement returns the statement and its arguments for rows given as
// values row by row (len(values) a multiple of Columns).
func (in Insert) Statement(values []any) (string, []any) {
	rows := len(values) / in.cols
	if in.engine != Postgres {
		return in.head + " VALUES " + Placeholders(rows, in.cols) + in.tail, values
	}
	cols := make([]any, in.cols)
	for c := range in.cols {
		col := make([]any, rows)
		for r := range rows {
			col[r] = values[r*in.cols+c]
		}
		cols[c] = col
	}
	return in.unnest, cols
}
