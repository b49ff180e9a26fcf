package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrLeaseLost reports that a lease is no longer held: another process
// took it, or it expired while this one could not renew it.
var ErrLeaseLost = errors.New("lease lost")

// dbNow is the database's clock in Unix microseconds. Leases compare
// times on one clock, the database's, so the processes' clocks may drift.
const dbNow = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`

// Lease is a named lease on a PostgreSQL database that one process at a
// time holds: the owner renews it, and when it stops (it ended, died or
// lost the database) another takes it over once it expires. Work that must
// run once per database (applying events, polling Odoo) runs while the
// lease is held ([Lease.Run]), and its writes fence on it ([Lease.Fence]):
// a transaction that checks the lease commits only while this process
// holds it, so a process cut off from the database, which still believes
// it holds the lease, writes nothing once another has taken over.
//
// On SQLite the database has one process (DB.Claim), and the lease is
// always held.
type Lease struct {
	db     *DB
	name   string
	owner  string
	ttl    time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	epoch   int64         // the epoch held, 0 when not held
	lost    chan struct{} // closed when the held epoch is lost
	renewed time.Time     // when the last renewal that succeeded was sent
}

// LeaseOptions configures a lease.
type LeaseOptions struct {
	// TTL is how long the lease lasts unless renewed: the longest the
	// work waits for a dead holder's lease to expire. It is renewed every
	// third of it. Defaults to 5s.
	TTL    time.Duration
	Logger *slog.Logger
}

// NewLease returns the lease name for the process owner (unique per
// process, such as its River client id).
func (db *DB) NewLease(name, owner string, opts LeaseOptions) *Lease {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lease{db: db, name: name, owner: owner, ttl: opts.TTL, logger: opts.Logger}
}

// Shared reports whether the lease is shared with other processes: false
// on SQLite, where it is always held.
func (l *Lease) Shared() bool { return l.db.Dialect.Engine == Postgres }

// Held reports whether this process holds the lease now, as far as it
// knows.
func (l *Lease) Held() bool {
	if !l.Shared() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch != 0
}

// Run runs fn whenever this process holds the lease, until ctx is done:
// it takes the lease when it is free or expired, runs fn with a context
// that ends when the lease is lost, renews it meanwhile, and when fn
// returns or the lease is lost, waits to take it again. fn's error ends
// Run. On SQLite it runs fn once with ctx.
func (l *Lease) Run(ctx context.Context, fn func(ctx context.Context) error) error {
	if !l.Shared() {
		return fn(ctx)
	}
	poll := min(l.ttl/5, time.Second)
	for {
		epoch, err := l.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			l.logger.WarnContext(ctx, "taking the lease failed", slog.String("lease", l.name), slog.Any("err", err))
		}
		if epoch == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
				continue
			}
		}
		l.logger.InfoContext(ctx, "lease taken: this server does its work", slog.String("lease", l.name), slog.Int64("epoch", epoch))
		if err := l.hold(ctx, epoch, fn); err != nil || ctx.Err() != nil {
			l.release(epoch)
			return err
		}
		l.logger.WarnContext(ctx, "lease lost: another server does its work", slog.String("lease", l.name), slog.Int64("epoch", epoch))
	}
}

// While runs fn whenever this process holds the lease, which another
// goroutine's Run takes and renews, until ctx is done: fn's context ends
// when the lease is lost, and fn runs again once it is held again. fn's
// error ends While. On SQLite it runs fn once with ctx.
func (l *Lease) While(ctx context.Context, fn func(ctx context.Context) error) error {
	if !l.Shared() {
		return fn(ctx)
	}
	poll := min(l.ttl/5, time.Second)
	for ctx.Err() == nil {
		held, cancel := l.heldContext(ctx)
		if held == nil {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
			continue
		}
		err := fn(held)
		lost := held.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil && !lost && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// heldContext returns a context of ctx that ends when the lease held now
// is lost, or nil when it is not held.
func (l *Lease) heldContext(ctx context.Context) (context.Context, context.CancelFunc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch == 0 {
		return nil, nil
	}
	held, cancel := context.WithCancel(ctx)
	lost := l.lost
	go func() {
		select {
		case <-lost:
			cancel()
		case <-held.Done():
		}
	}()
	return held, cancel
}

// hold runs fn while renewing the lease of epoch.
func (l *Lease) hold(ctx context.Context, epoch int64, fn func(ctx context.Context) error) error {
	held, cancel := context.WithCancel(ctx)
	defer cancel()
	l.mu.Lock()
	l.epoch, l.lost = epoch, make(chan struct{})
	lost := l.lost
	l.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- fn(held) }()
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-lost:
			cancel()
			return <-done
		case <-t.C:
			ok, err := l.renew(ctx, epoch)
			switch {
			case ok || ctx.Err() != nil:
			case err == nil:
				// Renewed by nobody: another took it, or it expired.
				l.drop(epoch)
			default:
				l.logger.WarnContext(ctx, "renewing the lease failed", slog.String("lease", l.name), slog.Any("err", err))
				if !l.stillValid() {
					// Not renewed in time: another may take it now.
					l.drop(epoch)
				}
			}
		}
	}
}

// acquire takes the lease if it is free, expired or this owner's, and
// returns its epoch; 0 when another holds it.
func (l *Lease) acquire(ctx context.Context) (int64, error) {
	var epoch int64
	sent := time.Now()
	err := l.db.QueryRowContext(ctx, `INSERT INTO leases (name, owner, epoch, expires_at) VALUES ($1, $2, 1, `+dbNow+` + $3)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, epoch = leases.epoch + 1, expires_at = excluded.expires_at
WHERE leases.expires_at < `+dbNow+`
RETURNING epoch`, l.name, l.owner, l.ttl.Microseconds()).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("taking lease %s: %w", l.name, err)
	}
	l.mu.Lock()
	l.renewed = sent
	l.mu.Unlock()
	return epoch, nil
}

// renew extends the lease of epoch; false when it is no longer held.
func (l *Lease) renew(ctx context.Context, epoch int64) (bool, error) {
	sent := time.Now()
	res, err := l.db.ExecContext(ctx, `UPDATE leases SET expires_at = `+dbNow+` + $1 WHERE name = $2 AND owner = $3 AND epoch = $4 AND expires_at >= `+dbNow,
		l.ttl.Microseconds(), l.name, l.owner, epoch)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	l.mu.Lock()
	l.renewed = sent
	l.mu.Unlock()
	return true, nil
}

// stillValid reports whether the lease cannot have expired yet: the
// database set its expiry after the last successful renewal was sent, so
// it lasts at least until then plus the TTL.
func (l *Lease) stillValid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.renewed) < l.ttl
}

// drop forgets epoch as held and ends the work that runs under it.
func (l *Lease) drop(epoch int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch == epoch && epoch != 0 {
		l.epoch = 0
		close(l.lost)
	}
}

// release gives the lease of epoch up at shutdown, so that another
// process takes it at once instead of after the TTL.
func (l *Lease) release(epoch int64) {
	l.drop(epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.db.ExecContext(ctx, `UPDATE leases SET expires_at = 0 WHERE name = $1 AND owner = $2 AND epoch = $3`, l.name, l.owner, epoch); err != nil {
		l.logger.Warn("giving up the lease failed; another server takes it once it expires", slog.String("lease", l.name), slog.Any("err", err))
	}
}

// Fence checks, in tx, that this process still holds the lease, and keeps
// another from taking it until tx ends (the row is locked FOR SHARE). A
// write that must happen once per database calls it first: the
// transaction commits only under the lease. It returns ErrLeaseLost when
// the lease is not held. On SQLite it does nothing.
func (l *Lease) Fence(ctx context.Context, tx *sql.Tx) error {
	if !l.Shared() {
		return nil
	}
	l.mu.Lock()
	epoch := l.epoch
	l.mu.Unlock()
	if epoch == 0 {
		return ErrLeaseLost
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM leases WHERE name = $1 AND owner = $2 AND epoch = $3 AND expires_at >= `+dbNow+` FOR SHARE`,
		l.name, l.owner, epoch).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		l.drop(epoch)
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("checking lease %s: %w", l.name, err)
	}
	return nil
}
