package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrEnvironment reports a database of another environment than the
// configuration's.
var ErrEnvironment = errors.New("the database belongs to another environment")

// CheckEnvironment makes sure the database belongs to the environment
// name (server.environment): a database that names none takes name (when
// name is not empty); one that names another, or names one while name is
// empty, is refused with ErrEnvironment. So a configuration of test
// pointed at the production database (or a copy of it) does not start.
func (db *DB) CheckEnvironment(ctx context.Context, name string) error {
	var have string
	err := db.QueryRowContext(ctx, `SELECT name FROM environment WHERE id = 1`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if name == "" {
			return nil
		}
		_, err := db.ExecContext(ctx, db.Dialect.Rebind(`INSERT INTO environment (id, name, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`),
			name, time.Now().UnixMicro())
		if err != nil {
			return fmt.Errorf("recording environment %s: %w", name, err)
		}
		// Another process may have recorded one first: check again.
		return db.CheckEnvironment(ctx, name)
	case err != nil:
		return fmt.Errorf("reading the database's environment: %w", err)
	case have == name:
		return nil
	case name == "":
		return fmt.Errorf("%w: %s belongs to environment %q; set server.environment: %s", ErrEnvironment, db.Location, have, have)
	default:
		return fmt.Errorf("%w: %s belongs to environment %q, and this configuration is for %q", ErrEnvironment, db.Location, have, name)
	}
}
