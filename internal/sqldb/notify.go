package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Notify sends payload on channel to the listeners of the database
// (Listen) when tx commits; nothing when it rolls back. On SQLite, which
// one process uses, it does nothing.
func (db *DB) Notify(ctx context.Context, tx *sql.Tx, channel, payload string) error {
	if db.Dialect.Engine != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notifying %s: %w", channel, err)
	}
	return nil
}

// NotifyNow sends payload on channel at once, outside a transaction. On
// SQLite it does nothing.
func (db *DB) NotifyNow(ctx context.Context, channel, payload string) error {
	if db.Dialect.Engine != Postgres {
		return nil
	}
	if _, err := db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notifying %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with each notification sent on channels (Notify), until
// ctx is done, on a connection of its own. When the connection is lost it
// listens again on a new one a second later; what was sent in between is
// not seen, so a listener also polls for what a notification would wake it
// for. On SQLite it waits for ctx. fn runs on Listen's goroutine and must
// not block.
func (db *DB) Listen(ctx context.Context, logger *slog.Logger, channels []string, fn func(channel, payload string)) error {
	if db.Dialect.Engine != Postgres {
		<-ctx.Done()
		return nil
	}
	for ctx.Err() == nil {
		err := db.listen(ctx, channels, fn)
		if ctx.Err() != nil {
			break
		}
		logger.WarnContext(ctx, "listening for notifications failed; polling meanwhile", slog.Any("err", err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// listen listens on one connection until it fails or ctx is done.
func (db *DB) listen(ctx context.Context, channels []string, fn func(channel, payload string)) error {
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		// The session listens until it ends: close it rather than give it
		// back to the pool.
		defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection that may be broken
		for _, ch := range channels {
			if _, err := pc.Exec(ctx, `LISTEN `+quoteIdent(ch)); err != nil {
				return fmt.Errorf("listening on %s: %w", ch, err)
			}
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			fn(n.Channel, n.Payload)
		}
	})
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := range len(s) {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
