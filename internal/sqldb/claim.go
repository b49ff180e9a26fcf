package sqldb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
