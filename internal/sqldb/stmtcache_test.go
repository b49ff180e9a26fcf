package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// openCached opens a SQLite database at a new path whose connections keep
// size prepared statements, with one connection as the writer has.
func openCached(t *testing.T, size int) *sql.DB {
	t.Helper()
	db := sql.OpenDB(&cachingConnector{dsn: "file:" + filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)", size: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// cached returns the SQL of the statements the connection keeps, most
// recently used first.
func cached(t *testing.T, db *sql.DB) []string {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []string
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachedConn)
		c.mu.Lock()
		defer c.mu.Unlock()
		for e := c.order.Front(); e != nil; e = e.Next() {
			out = append(out, e.Value.(*cachedStmt).query)
		}
		if len(out) != len(c.stmts) {
			return fmt.Errorf("%d statements in the list, %d in the map", len(out), len(c.stmts))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStmtCacheReuses(t *testing.T) {
	t.Parallel()
	db := openCached(t, 8)
	ctx := t.Context()
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	for i := range 20 {
		if _, err := db.ExecContext(ctx, ins, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 20 {
		t.Fatalf("count = %d, %v; want 20", n, err)
	}
	got := cached(t, db)
	want := []string{`SELECT COUNT(*) FROM t`, ins, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cached %q, want %q", got, want)
	}

	// In a transaction, rolled back and committed.
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, ins, 100, "tx"); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var v string
	if err := db.QueryRowContext(ctx, `SELECT v FROM t WHERE k = ?`, 100).Scan(&v); err != nil || v != "tx" {
		t.Fatalf("row 100 = %q, %v; want tx", v, err)
	}
}

// TestStmtCacheNestedUse checks that a statement whose rows are still open
// can run again meanwhile, unprepared, with the right results for both.
func TestStmtCacheNestedUse(t *testing.T) {
	t.Parallel()
	db := openCached(t, 8)
	ctx := t.Context()
	for i := range 3 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT k, v FROM t WHERE k >= ? ORDER BY k`
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, fmt.Sprintf("%s:%d", v, n))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(pairs), "[v0:3 v1:2 v2:1]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The outer use returned the statement: it is cached, free again.
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE k >= ?`, 1).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

func TestStmtCacheEvicts(t *testing.T) {
	t.Parallel()
	db := openCached(t, 4)
	ctx := t.Context()
	for i := range 10 {
		var got int
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&got); err != nil || got != i {
			t.Fatalf("SELECT %d = %d, %v", i, got, err)
		}
	}
	got := cached(t, db)
	if want := "[SELECT 9 SELECT 8 SELECT 7 SELECT 6]"; fmt.Sprint(got) != want {
		t.Errorf("cached %q, want %s", got, want)
	}
}

// TestStmtCacheErrors checks that a statement that failed is dropped and
// prepared afresh, that one that cannot be prepared reports why, and that a
// cancelled query leaves the connection and its cache usable.
func TestStmtCacheErrors(t *testing.T) {
	t.Parallel()
	db := openCached(t, 8)
	ctx := t.Context()
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	if _, err := db.ExecContext(ctx, ins, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, ins, 1, "b"); err == nil {
		t.Fatal("a repeated key was inserted")
	}
	for _, q := range cached(t, db) {
		if q == ins {
			t.Error("the statement that failed is still cached")
		}
	}
	if _, err := db.ExecContext(ctx, ins, 2, "b"); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO nowhere VALUES (1)`); err == nil {
		t.Error("an insert into a missing table succeeded")
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.QueryContext(cctx, `SELECT k FROM t`); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: %v, want context.Canceled", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
}
