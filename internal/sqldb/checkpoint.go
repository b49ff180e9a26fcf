package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies
// the log back into the database file in a checkpoint. By default the
// writer runs that checkpoint itself, inside the commit that takes the log
// past 1,000 pages: the one connection every write goes through then spends
// its time copying pages and syncing the database file instead of taking
// the next group. A checkpointer runs it beside the writer instead, on a
// connection of its own, in PASSIVE mode, which never blocks the writer or
// the readers: while the writer appends, the checkpointer copies what is
// already committed.
//
// A passive checkpoint cannot rewind the log while the writer keeps
// appending to it, so the writer keeps a checkpoint of its own as a
// backstop, at walWriterPages: by then the checkpointer has copied nearly
// everything, the writer's checkpoint finds little left to do, and the
// next transaction starts the log again from its beginning. The backstop
// also bounds the log should the checkpointer fall behind.
const (
	// walWriterPages is the writer's own checkpoint threshold
	// (wal_autocheckpoint), in pages.
	walWriterPages = 4000
	// checkpointBusy is how often the checkpointer runs while the log
	// grows; it slows down to checkpointIdle while the log stands still.
	checkpointBusy = 50 * time.Millisecond
	checkpointIdle = time.Second
)

// checkpointer runs passive checkpoints on its own connection until
// stopped.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// logPages and copied are what the last checkpoint reported, to tell
	// a log that moved from one that stood still.
	logPages, copied int
}

// startCheckpointer opens a connection with dsn and checkpoints through
// it until stop. The dsn must set the writer's synchronous level: a
// checkpoint syncs the database file by it before the log may be
// overwritten.
func startCheckpointer(dsn string) *checkpointer {
	db := sql.OpenDB(&cachingConnector{dsn: dsn, size: 4})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel}
	c.wg.Go(func() { c.run(ctx) })
	return c
}

func (c *checkpointer) run(ctx context.Context) {
	wait := checkpointBusy
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		copied, err := c.checkpoint(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err == nil && copied:
			wait = checkpointBusy
		default:
			// Nothing new, or the database is busy or briefly unreadable
			// (a migration, a restore): come back later, no faster than
			// the writer's own backstop needs.
			wait = min(2*wait, checkpointIdle)
		}
		t.Reset(wait)
	}
}

// checkpoint runs one passive checkpoint and reports whether the log had
// moved since the last one.
func (c *checkpointer) checkpoint(ctx context.Context) (bool, error) {
	var busy, logPages, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied); err != nil {
		return false, err
	}
	moved := logPages != c.logPages || copied != c.copied
	c.logPages, c.copied = logPages, copied
	return moved, nil
}

// stop stops the checkpointer and closes its connection.
func (c *checkpointer) stop() error {
	c.cancel()
	c.wg.Wait()
	return c.db.Close()
}
