package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Cursors stores where each poller of an outside system got to: one
// opaque string per name, such as "odoo/prod/pickings".
type Cursors struct{ db *DB }

// NewCursors returns the cursor store of db.
func NewCursors(db *DB) *Cursors { return &Cursors{db: db} }

// Get returns the cursor of name, or "" when there is none yet.
func (c *Cursors) Get(ctx context.Context, name string) (string, error) {
	var cur string
	err := c.db.Reader.QueryRowContext(ctx, c.db.Dialect.Rebind(`SELECT cursor FROM source_cursors WHERE name = ?`), name).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading cursor %s: %w", name, err)
	}
	return cur, nil
}

// Set stores the cursor of name.
func (c *Cursors) Set(ctx context.Context, name, cursor string) error {
	_, err := c.db.ExecContext(ctx, c.db.Dialect.Rebind(`INSERT INTO source_cursors (name, cursor, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`), name, cursor, time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("saving cursor %s: %w", name, err)
	}
	return nil
}
