package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// ErrInUse reports that another process has claimed the database.
var ErrInUse = errors.New("another waybill serve is using this database")

// Claim makes the calling process the only one that processes events in
// this database, until release is called or the process ends. Event
// processing reads a batch, applies it in memory and writes it back, which
// is only correct with one processor per database; Claim turns a second
// serve on the same database into a clear start-up error instead of
// silently applying events twice.
//
// On SQLite it takes an exclusive lock on the file waybill.lock in the data
// directory; on PostgreSQL a session advisory lock, scoped to the current
// schema, on a connection it keeps until release. Commands that only read
// or add keys do not claim.
func (db *DB) Claim(ctx context.Context) (release func() error, err error) {
	if db.Dialect.Engine == SQLite {
		release, err := lockFile(filepath.Join(db.dir, lockFileName))
		if err != nil {
			return nil, fmt.Errorf("claiming %s: %w", db.Location, err)
		}
		return release, nil
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("claiming %s: %w", db.Location, err)
	}
	const key = `hashtextextended('waybill.serve:' || current_database() || '.' || current_schema(), 0)`
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+key+`)`).Scan(&ok); err != nil {
		conn.Close()
		return nil, fmt.Errorf("claiming %s: %w", db.Location, err)
	}
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("claiming %s: %w", db.Location, ErrInUse)
	}
	return func() error {
		// Closing the session releases the lock; unlock first so a
		// connection kept by the pool does not hold it.
		_, uerr := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`)
		return errors.Join(uerr, conn.Close())
	}, nil
}

// lockFileName is the file in the data directory whose lock is the claim
// on an SQLite database.
const lockFileName = "waybill.lock"

// ClaimDir claims the SQLite database in the data directory dir ("" is
// ./waybill-data, as for Open) before it is opened, with the lock that
// [DB.Claim] takes. A command that changes the directory's files before it
// opens the database, as serve --sandbox resets it, claims it first, so it
// never touches the database of a running serve: a second one gets
// [ErrInUse]. The claim is the same as DB.Claim's, so the process must not
// claim the database again while it holds this one.
func ClaimDir(dir string) (release func() error, err error) {
	if dir == "" {
		dir = "./waybill-data"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("claiming %s: %w", dir, err)
	}
	release, err = lockFile(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, fmt.Errorf("claiming %s: %w", filepath.Join(dir, SQLiteFile), err)
	}
	return release, nil
}

// replicaKey is the advisory lock key of the replica id.
const replicaKey = `hashtextextended('waybill.replica:' || current_database() || '.' || current_schema() || ':' || $1, 0)`

// Replica is this process's registration as a live replica of a
// PostgreSQL database that several serve processes share: a session
// advisory lock named after its id, held on a connection of its own. Its
// session ends with the process, and the lock with it, so [DB.ReplicaAlive]
// tells a dead replica (whose running jobs others take over at once) from
// a live one (whose jobs they never touch).
type Replica struct {
	db *DB
	id string

	mu   sync.Mutex
	conn *sql.Conn
}

// JoinReplica registers this process as the live replica id.
func (db *DB) JoinReplica(ctx context.Context, id string) (*Replica, error) {
	if db.Dialect.Engine != Postgres {
		return nil, fmt.Errorf("joining %s: replicas share PostgreSQL only", db.Location)
	}
	r := &Replica{db: db, id: id}
	if err := r.lock(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Replica) lock(ctx context.Context) error {
	conn, err := r.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("joining %s: %w", r.db.Location, err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+replicaKey+`)`, r.id).Scan(&ok); err != nil {
		conn.Close()
		return fmt.Errorf("joining %s: %w", r.db.Location, err)
	}
	if !ok {
		conn.Close()
		return fmt.Errorf("joining %s: replica id %s is taken", r.db.Location, r.id)
	}
	r.mu.Lock()
	r.conn = conn
	r.mu.Unlock()
	return nil
}

// Keep checks the registration's session and, when it was cut (the
// database restarted, or the connection was killed), registers again.
// Between the cut and Keep, others may take this replica for dead and
// rescue its running jobs: they run twice, which their idempotency keys
// make harmless.
func (r *Replica) Keep(ctx context.Context) error {
	r.mu.Lock()
	conn := r.conn
	r.mu.Unlock()
	if conn != nil && conn.PingContext(ctx) == nil {
		return nil
	}
	if conn != nil {
		conn.Close()
	}
	return r.lock(ctx)
}

// Release gives the registration up.
func (r *Replica) Release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	_, uerr := r.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+replicaKey+`)`, r.id)
	err := errors.Join(uerr, r.conn.Close())
	r.conn = nil
	return err
}

// ReplicaAlive reports whether the replica id is alive: its process holds
// the lock JoinReplica took. An empty id names no replica: not alive.
func (db *DB) ReplicaAlive(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+replicaKey+`)`, id).Scan(&got); err != nil {
		return false, err
	}
	if got {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+replicaKey+`)`, id); err != nil {
			return false, err
		}
	}
	return !got, nil
}
