package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rows of the leases table that partitions use: partition k is the row
// partition/NNN (k zero-padded to three digits, more when Count needs
// them), and each live replica keeps a row member/<owner>.
const (
	partitionPrefix = "partition/"
	memberPrefix    = "member/"
)

// partitionsTTLDefault is the default PartitionOptions.TTL.
const partitionsTTLDefault = 5 * time.Second

// staleMember is how long after it expired a member row of a replica that
// died is deleted; until then it is kept, harmless, for inspection.
const staleMember = time.Hour

// releaseTimeout bounds how long Run waits, at its end, to give the
// partitions up.
const releaseTimeout = 2 * time.Second

// PartitionOptions configures Partitions.
type PartitionOptions struct {
	// Count is the number of partitions, numbered 0 to Count-1. Required:
	// it must be positive, and the same on every replica.
	Count int
	// TTL is how long a partition stays owned unless renewed: the longest a
	// dead replica's partitions wait to be taken over. Run renews them and
	// rebalances every third of it. Defaults to 5s.
	TTL time.Duration
	// Logger receives the partitions taken and given up (Info) and the
	// errors (Warn). Nil discards.
	Logger *slog.Logger
	// OnChange, when set, is called after the set of owned partitions
	// changed (gained or lost): from Run's goroutine, or from Fence's
	// caller when Fence finds partitions lost. It must not block long, and
	// it must not call Fence.
	OnChange func()
	// Registerer, when set, registers the gauge waybill_partitions_owned:
	// how many partitions this replica owns.
	Registerer prometheus.Registerer
}

// Partitions shares a fixed number of processing partitions among the
// replicas that share a PostgreSQL database: each partition is owned by one
// live replica at a time, and the partitions move when a replica joins,
// leaves (Run ends) or dies (stops renewing).
//
// Run keeps the ownership: it renews this replica's membership and its
// partitions every TTL/3, gives partitions up when it owns more than its
// share and takes free ones (never owned, given up or expired) when it owns
// fewer. With R live replicas, the first Count%R of them in the order of
// their owner names own ceil(Count/R) partitions and the others
// floor(Count/R). Owned and Owns tell which partitions this process holds
// as far as it knows; a write that must happen under a partition fences on
// it ([Partitions.Fence]), so that a replica cut off from the database,
// which still believes it owns a partition, commits nothing once another
// has taken it over.
//
// On SQLite the database has one process (DB.Claim), and it owns every
// partition.
//
// The methods are safe for concurrent use; Run runs once at a time.
type Partitions struct {
	db       *DB
	owner    string
	count    int
	ttl      time.Duration
	logger   *slog.Logger
	onChange func()
	gauge    prometheus.Gauge
	running  atomic.Bool

	mu      sync.Mutex
	held    map[int]int64 // partition → epoch held
	renewed time.Time     // when the last renewal that succeeded was sent
}

// NewPartitions returns the partitions shared by the replicas of db, for
// the replica owner (unique per process, such as its River client id).
func (db *DB) NewPartitions(owner string, opts PartitionOptions) *Partitions {
	if opts.TTL <= 0 {
		opts.TTL = partitionsTTLDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Partitions{db: db, owner: owner, count: opts.Count, ttl: opts.TTL, logger: opts.Logger,
		onChange: opts.OnChange, held: map[int]int64{},
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_partitions_owned",
			Help: "Processing partitions this replica owns.",
		})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.gauge); err != nil {
			// Another Partitions registered it first (a second one in the
			// process): share its gauge.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				p.logger.Warn("registering the partitions gauge failed", slog.Any("err", err))
			} else if g, ok := are.ExistingCollector.(prometheus.Gauge); ok {
				p.gauge = g
			}
		}
	}
	if !p.Shared() && p.count > 0 {
		p.gauge.Set(float64(p.count))
	}
	return p
}

// Shared reports whether the partitions are shared with other processes:
// false on SQLite, where this process owns them all.
func (p *Partitions) Shared() bool { return p.db.Dialect.Engine == Postgres }

// Count returns the number of partitions.
func (p *Partitions) Count() int { return p.count }

// Owned returns the partitions this process holds now, as far as it
// knows, in increasing order. On SQLite it is every partition.
func (p *Partitions) Owned() []int {
	if !p.Shared() {
		all := make([]int, max(p.count, 0))
		for k := range all {
			all[k] = k
		}
		return all
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ownedLocked()
}

func (p *Partitions) ownedLocked() []int {
	owned := make([]int, 0, len(p.held))
	for k := range p.held {
		owned = append(owned, k)
	}
	slices.Sort(owned)
	return owned
}

// Owns reports whether this process holds partition part now, as far as
// it knows. On SQLite it is true for every partition.
func (p *Partitions) Owns(part int) bool {
	if part < 0 || part >= p.count {
		return false
	}
	if !p.Shared() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.held[part]
	return ok
}

// Run keeps this replica's share of the partitions until ctx is done:
// at once and then every TTL/3 it renews its membership and its
// partitions, and gives partitions up or takes free ones to hold its
// share. When ctx is done it gives up every partition it owns, so that the
// others take them at once instead of after the TTL, and returns nil. It
// fails only when Count is not positive or Run is already running. On
// SQLite it waits for ctx.
func (p *Partitions) Run(ctx context.Context) error {
	if p.count <= 0 {
		return fmt.Errorf("running partitions: count %d: must be positive", p.count)
	}
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("running partitions: already running")
	}
	defer p.running.Store(false)
	if !p.Shared() {
		<-ctx.Done()
		return nil
	}
	defer p.release(ctx)
	if _, err := p.db.ExecContext(ctx, `DELETE FROM leases WHERE name LIKE 'member/%' AND expires_at < `+dbNow+` - $1`,
		staleMember.Microseconds()); err != nil && ctx.Err() == nil {
		p.logger.WarnContext(ctx, "deleting the rows of replicas long dead", slog.Any("err", err))
	}
	t := time.NewTicker(p.ttl / 3)
	defer t.Stop()
	for {
		p.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick renews the membership and the partitions held, then gives
// partitions up or takes some to hold this replica's share.
func (p *Partitions) tick(ctx context.Context) {
	// A tick that hangs (the database is cut off) ends within the TTL, so
	// that partitions held are dropped in time.
	tctx, cancel := context.WithTimeout(ctx, p.ttl)
	defer cancel()
	if err := p.renew(tctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		p.logger.WarnContext(ctx, "renewing partitions failed", slog.Any("err", err))
		if !p.stillValid() {
			// Not renewed in time: others may take them now.
			if lost := p.dropAll(); len(lost) > 0 {
				p.logger.WarnContext(ctx, "partitions dropped: not renewed in time", slog.Any("partitions", lost))
			}
		}
		return
	}
	members, err := p.members(tctx)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.WarnContext(ctx, "renewing the partitions' membership failed", slog.Any("err", err))
		}
		return
	}
	target := p.share(members)
	owned := p.Owned()
	switch {
	case len(owned) > target:
		err = p.giveUp(tctx, owned[target:])
	case len(owned) < target:
		err = p.claim(tctx, target-len(owned))
	}
	if err != nil && ctx.Err() == nil {
		p.logger.WarnContext(ctx, "rebalancing partitions failed", slog.Any("err", err))
	}
}

// renew extends every partition held, in one statement, and drops those it
// could not extend: another took them, or they expired.
func (p *Partitions) renew(ctx context.Context) error {
	p.mu.Lock()
	names, epochs := p.heldLocked()
	p.mu.Unlock()
	sent := time.Now()
	renewed := map[string]int64{}
	if len(names) > 0 {
		rows, err := p.db.QueryContext(ctx, `UPDATE leases l SET expires_at = `+dbNow+` + $1
FROM unnest($2::text[], $3::bigint[]) AS h(name, epoch)
WHERE l.name = h.name AND l.epoch = h.epoch AND l.owner = $4 AND l.expires_at >= `+dbNow+`
RETURNING l.name, l.epoch`, p.ttl.Microseconds(), names, epochs, p.owner)
		if err != nil {
			return fmt.Errorf("renewing partitions: %w", err)
		}
		if renewed, err = scanLeases(rows); err != nil {
			return fmt.Errorf("renewing partitions: %w", err)
		}
	}
	var lost []int
	p.mu.Lock()
	p.renewed = sent
	for i, name := range names {
		k, _ := partitionNumber(name)
		// A partition Fence dropped meanwhile stays dropped.
		if renewed[name] != epochs[i] && p.held[k] == epochs[i] {
			delete(p.held, k)
			lost = append(lost, k)
		}
	}
	p.mu.Unlock()
	if len(lost) > 0 {
		p.logger.WarnContext(ctx, "partitions lost: taken by another replica or expired", slog.Any("partitions", lost))
		p.changed()
	}
	return nil
}

// members renews this replica's membership and returns the owners of the
// live replicas, in increasing order (this one among them).
func (p *Partitions) members(ctx context.Context) ([]string, error) {
	if _, err := p.db.ExecContext(ctx, `INSERT INTO leases (name, owner, epoch, expires_at) VALUES ($1, $2, 1, `+dbNow+` + $3)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
		memberPrefix+p.owner, p.owner, p.ttl.Microseconds()); err != nil {
		return nil, fmt.Errorf("renewing membership: %w", err)
	}
	rows, err := p.db.QueryContext(ctx, `SELECT name FROM leases WHERE name LIKE 'member/%' AND expires_at >= `+dbNow)
	if err != nil {
		return nil, fmt.Errorf("listing live replicas: %w", err)
	}
	defer rows.Close()
	members := []string{p.owner}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing live replicas: %w", err)
		}
		if owner := strings.TrimPrefix(name, memberPrefix); owner != p.owner {
			members = append(members, owner)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing live replicas: %w", err)
	}
	slices.Sort(members)
	return members, nil
}

// share returns how many partitions this replica should own among the
// live members (sorted, this one among them): Count/len(members), plus one
// for the first Count%len(members), so that the shares add up to Count.
func (p *Partitions) share(members []string) int {
	rank, _ := slices.BinarySearch(members, p.owner)
	n := len(members)
	target := p.count / n
	if rank < p.count%n {
		target++
	}
	return target
}

// giveUp drops parts locally, then releases them in the database so that
// others take them at once.
func (p *Partitions) giveUp(ctx context.Context, parts []int) error {
	names, epochs := p.drop(parts)
	if len(names) == 0 {
		return nil
	}
	given := make([]int, len(names))
	for i, name := range names {
		given[i], _ = partitionNumber(name)
	}
	p.logger.InfoContext(ctx, "partitions given up to other replicas", slog.Any("partitions", given))
	p.changed()
	if err := p.releaseRows(ctx, names, epochs); err != nil {
		return fmt.Errorf("giving up partitions %v (others take them once they expire): %w", given, err)
	}
	return nil
}

// claim takes up to n partitions that no live replica holds: rows missing,
// given up or expired, preferring those free the longest.
func (p *Partitions) claim(ctx context.Context, n int) error {
	all := make([]string, p.count)
	for k := range all {
		all[k] = partitionName(k)
	}
	rows, err := p.db.QueryContext(ctx, `WITH free AS (
	SELECT w.name FROM unnest($1::text[]) AS w(name) LEFT JOIN leases l ON l.name = w.name
	WHERE l.name IS NULL OR l.expires_at < `+dbNow+`
	ORDER BY l.expires_at NULLS FIRST, w.name
	LIMIT $2
)
INSERT INTO leases (name, owner, epoch, expires_at) SELECT name, $3, 1, `+dbNow+` + $4 FROM free
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, epoch = leases.epoch + 1, expires_at = excluded.expires_at
WHERE leases.expires_at < `+dbNow+`
RETURNING name, epoch`, all, n, p.owner, p.ttl.Microseconds())
	if err != nil {
		return fmt.Errorf("taking partitions: %w", err)
	}
	taken, err := scanLeases(rows)
	if err != nil {
		return fmt.Errorf("taking partitions: %w", err)
	}
	if len(taken) == 0 {
		return nil
	}
	parts := make([]int, 0, len(taken))
	p.mu.Lock()
	for name, epoch := range taken {
		k, _ := partitionNumber(name)
		p.held[k] = epoch
		parts = append(parts, k)
	}
	p.mu.Unlock()
	slices.Sort(parts)
	p.logger.InfoContext(ctx, "partitions taken", slog.Any("partitions", parts))
	p.changed()
	return nil
}

// release gives every partition held up at the end of Run, and the
// membership with them, so that the others take them at once.
func (p *Partitions) release(ctx context.Context) {
	p.mu.Lock()
	names, epochs := p.heldLocked()
	given := p.ownedLocked()
	clear(p.held)
	p.mu.Unlock()
	if len(names) > 0 {
		p.logger.InfoContext(ctx, "partitions given up: shutting down", slog.Any("partitions", given))
		p.changed()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	err := p.releaseRows(rctx, names, epochs)
	if _, merr := p.db.ExecContext(rctx, `DELETE FROM leases WHERE name = $1 AND owner = $2`, memberPrefix+p.owner, p.owner); merr != nil {
		err = errors.Join(err, fmt.Errorf("leaving the replicas: %w", merr))
	}
	if err != nil {
		p.logger.WarnContext(ctx, "giving up partitions failed; others take them once they expire", slog.Any("err", err))
	}
}

// releaseRows sets the partitions names held at epochs to expire now.
func (p *Partitions) releaseRows(ctx context.Context, names []string, epochs []int64) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := p.db.ExecContext(ctx, `UPDATE leases l SET expires_at = 0
FROM unnest($1::text[], $2::bigint[]) AS h(name, epoch)
WHERE l.name = h.name AND l.epoch = h.epoch AND l.owner = $3`, names, epochs, p.owner); err != nil {
		return fmt.Errorf("releasing partitions: %w", err)
	}
	return nil
}

// Fence checks, in tx, that this process holds every partition in parts
// (owner, epoch, not expired) and keeps another from taking them until tx
// ends (their rows are locked FOR SHARE). A write that must happen under
// its partitions calls it first: the transaction commits only while they
// are held. When some are not held, it returns an error wrapping
// ErrLeaseLost that names them, and drops them (calling OnChange). Empty
// parts: nil. On SQLite it does nothing.
func (p *Partitions) Fence(ctx context.Context, tx *sql.Tx, parts []int) error {
	if len(parts) == 0 {
		return nil
	}
	for _, k := range parts {
		if k < 0 || k >= p.count {
			return fmt.Errorf("fencing partition %d: out of range (count %d)", k, p.count)
		}
	}
	if !p.Shared() {
		return nil
	}
	parts = slices.Compact(slices.Sorted(slices.Values(parts)))
	names := make([]string, 0, len(parts))
	epochs := make([]int64, 0, len(parts))
	var missing []int
	p.mu.Lock()
	for _, k := range parts {
		if epoch, ok := p.held[k]; ok {
			names, epochs = append(names, partitionName(k)), append(epochs, epoch)
		} else {
			missing = append(missing, k)
		}
	}
	p.mu.Unlock()
	if len(missing) > 0 {
		return partitionsLost(missing)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, epoch FROM leases
WHERE (name, epoch) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) AND owner = $3 AND expires_at >= `+dbNow+`
FOR SHARE`, names, epochs, p.owner)
	if err != nil {
		return fmt.Errorf("fencing partitions: %w", err)
	}
	valid, err := scanLeases(rows)
	if err != nil {
		return fmt.Errorf("fencing partitions: %w", err)
	}
	var lost []int
	p.mu.Lock()
	for i, name := range names {
		if valid[name] == epochs[i] {
			continue
		}
		k := parts[i]
		lost = append(lost, k)
		if p.held[k] == epochs[i] {
			delete(p.held, k)
		}
	}
	p.mu.Unlock()
	if len(lost) > 0 {
		p.changed()
		return partitionsLost(lost)
	}
	return nil
}

// partitionsLost returns the error wrapping ErrLeaseLost that names the
// partitions lost.
func partitionsLost(parts []int) error {
	if len(parts) == 1 {
		return fmt.Errorf("partition %d: %w", parts[0], ErrLeaseLost)
	}
	s := make([]string, len(parts))
	for i, k := range parts {
		s[i] = strconv.Itoa(k)
	}
	return fmt.Errorf("partitions %s: %w", strings.Join(s, ", "), ErrLeaseLost)
}

// stillValid reports whether the partitions held cannot have expired yet
// (see Lease.stillValid).
func (p *Partitions) stillValid() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.renewed) < p.ttl
}

// drop forgets parts as held and returns the rows and epochs of those
// that were.
func (p *Partitions) drop(parts []int) (names []string, epochs []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range parts {
		if epoch, ok := p.held[k]; ok {
			delete(p.held, k)
			names, epochs = append(names, partitionName(k)), append(epochs, epoch)
		}
	}
	return names, epochs
}

// dropAll forgets every partition held and returns them.
func (p *Partitions) dropAll() []int {
	p.mu.Lock()
	lost := p.ownedLocked()
	clear(p.held)
	p.mu.Unlock()
	if len(lost) > 0 {
		p.changed()
	}
	return lost
}

// heldLocked returns the rows and epochs of the partitions held, in the
// order of the partitions.
func (p *Partitions) heldLocked() (names []string, epochs []int64) {
	for _, k := range p.ownedLocked() {
		names, epochs = append(names, partitionName(k)), append(epochs, p.held[k])
	}
	return names, epochs
}

// changed updates the gauge and calls OnChange after the partitions held
// changed. It is called without p.mu held.
func (p *Partitions) changed() {
	p.mu.Lock()
	n := len(p.held)
	p.mu.Unlock()
	p.gauge.Set(float64(n))
	if p.onChange != nil {
		p.onChange()
	}
}

// scanLeases reads rows of (name, epoch) of partitions and closes them.
// Rows that name no partition are skipped.
func scanLeases(rows *sql.Rows) (map[string]int64, error) {
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var name string
		var epoch int64
		if err := rows.Scan(&name, &epoch); err != nil {
			return nil, err
		}
		if _, ok := partitionNumber(name); ok {
			got[name] = epoch
		}
	}
	return got, rows.Err()
}

// partitionName returns the leases row of partition k.
func partitionName(k int) string { return fmt.Sprintf("%s%03d", partitionPrefix, k) }

// partitionNumber returns the partition a leases row names.
func partitionNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(digits)
	return k, err == nil && k >= 0
}
