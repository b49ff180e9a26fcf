package sqldb

import (
	"context"
	"fmt"
	"time"
)

// Start records that the work key of scope starts now and reports whether
// it is the first start ever recorded for it. The record is committed
// before Start returns, so a start that a crash interrupts is known to the
// next one: work that must happen at most once in an outside system may
// skip looking for its own earlier effect when first is true, and must
// look when it is false.
func (db *DB) Start(ctx context.Context, scope, key string) (first bool, err error) {
	res, err := db.ExecContext(ctx, db.Dialect.Rebind(`INSERT INTO starts (scope, key, started_at) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO NOTHING`),
		scope, key, time.Now().UnixMicro())
	if err != nil {
		return false, fmt.Errorf("recording the start of %s %s: %w", scope, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording the start of %s %s: %w", scope, key, err)
	}
	return n == 1, nil
}
