package sqldb

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync"

	"modernc.org/sqlite"
)

// stmtCacheSize is how many prepared statements each SQLite connection
// keeps. Waybill's own statements and River's fit many times over; the
// multi-row inserts, whose text depends on the number of rows, take the
// rest, least recently used first out.
const stmtCacheSize = 256

// sqliteDriver opens the SQLite connections.
var sqliteDriver = &sqlite.Driver{}

// cachingConnector opens SQLite connections that keep their prepared
// statements by SQL text, so that a statement run again is not parsed and
// planned again. database/sql can only do that for statements prepared on
// the DB ahead of time, which the single writer connection cannot do while
// a transaction holds it: the cache sits on the connection instead, below
// database/sql, and serves every caller, River included.
type cachingConnector struct {
	dsn  string
	size int
}

// Connect implements driver.Connector.
func (c *cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := sqliteDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachedConn(conn, c.size)
}

// Driver implements driver.Connector.
func (c *cachingConnector) Driver() driver.Driver { return sqliteDriver }

// sqliteConn is what a SQLite connection implements and cachedConn
// forwards.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedConn is a SQLite connection with a cache of prepared statements.
// A statement in use (its rows still open) is not shared: a second use of
// the same text meanwhile runs unprepared, as without a cache.
type cachedConn struct {
	sqliteConn
	size int

	mu    sync.Mutex
	stmts map[string]*list.Element // of *cachedStmt, most recently used first
	order list.List
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
}

func newCachedConn(conn driver.Conn, size int) (*cachedConn, error) {
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite connection lacks an interface the statement cache needs")
	}
	return &cachedConn{sqliteConn: sc, size: size, stmts: make(map[string]*list.Element)}, nil
}

// take returns the statement of query prepared and marked busy, preparing
// it if need be, or nil when it is busy already.
func (c *cachedConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if e, ok := c.stmts[query]; ok {
		defer c.mu.Unlock()
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		cs.busy = true
		c.order.MoveToFront(e)
		return cs, nil
	}
	c.mu.Unlock()
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st, busy: true}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stmts[query] = c.order.PushFront(cs)
	// Evict the least recently used statements not in use.
	for e := c.order.Back(); e != nil && c.order.Len() > c.size; {
		prev := e.Prev()
		if old := e.Value.(*cachedStmt); !old.busy {
			c.order.Remove(e)
			delete(c.stmts, old.query)
			_ = old.stmt.Close()
		}
		e = prev
	}
	return cs, nil
}

// release makes cs available again after a use that ended with err. A
// statement that failed other than by cancellation is dropped, in case the
// failure left it unusable.
func (c *cachedConn) release(cs *cachedStmt, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.busy = false
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if e, ok := c.stmts[cs.query]; ok && e.Value == cs {
		c.order.Remove(e)
		delete(c.stmts, cs.query)
		_ = cs.stmt.Close()
	}
}

// ExecContext implements driver.ExecerContext.
func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	c.release(cs, err)
	return res, err
}

// QueryContext implements driver.QueryerContext.
func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs, err)
		return nil, err
	}
	return &cachedRows{sqliteRows: rows.(sqliteRows), release: func(err error) { c.release(cs, err) }}, nil
}

// Close implements driver.Conn: it closes the cached statements, then the
// connection.
func (c *cachedConn) Close() error {
	c.mu.Lock()
	for e := c.order.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts = nil
	c.order.Init()
	c.mu.Unlock()
	return c.sqliteConn.Close()
}

// sqliteRows is what SQLite rows implement and cachedRows forwards.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows are the rows of a cached statement: closing them makes the
// statement available again.
type cachedRows struct {
	sqliteRows
	release func(error)
	closed  bool
}

// Close implements driver.Rows.
func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	if !r.closed {
		r.closed = true
		r.release(err)
	}
	return err
}
