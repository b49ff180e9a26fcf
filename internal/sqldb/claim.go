package sqldb

import (
	"context"
	"errors"
	"fmt"
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
		path := filepath.Join(db.dir, "waybill.lock")
		release, err := lockFile(path)
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
