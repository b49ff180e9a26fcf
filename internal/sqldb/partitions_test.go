package sqldb_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// partitionTTL keeps the PostgreSQL tests quick: replicas tick every
// 200ms.
const partitionTTL = 600 * time.Millisecond

// partitionDBs opens one handle per name on one fresh migrated PostgreSQL
// schema, as separate replicas would, each connecting with its name and a
// random suffix as application_name (pg_stat_activity tells them apart).
// It skips the test when WAYBILL_TEST_POSTGRES_URL is unset. The
// partitions' rows are deleted at the start and at the end.
func partitionDBs(t *testing.T, names ...string) (dbs []*sqldb.DB, apps []string) {
	t.Helper()
	base := sqldbtest.PostgresSchemaURL(t)
	for i, name := range names {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		app := "wbtest-" + name + "-" + hex.EncodeToString(b[:])
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		db, err := sqldb.Open(t.Context(), sqldb.Options{DatabaseURL: u.String(), MaxConns: 8})
		if err != nil {
			t.Fatalf("opening database: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if i == 0 {
			if _, err := db.Migrate(t.Context(), nil); err != nil {
				t.Fatalf("migrating database: %v", err)
			}
		}
		dbs, apps = append(dbs, db), append(apps, app)
	}
	clean := func(ctx context.Context) {
		if _, err := dbs[0].ExecContext(ctx, `DELETE FROM leases WHERE name LIKE 'partition/%' OR name LIKE 'member/%'`); err != nil {
			t.Errorf("deleting the partitions' rows: %v", err)
		}
	}
	clean(t.Context())
	t.Cleanup(func() { clean(context.Background()) })
	return dbs, apps
}

// replica runs one Partitions until stopped.
type replica struct {
	owner   string
	db      *sqldb.DB
	p       *sqldb.Partitions
	changes atomic.Int32 // OnChange calls

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startReplica runs Partitions for owner on db; it is stopped (cleanly)
// when the test ends unless stopped before.
func startReplica(t *testing.T, db *sqldb.DB, owner string, opts sqldb.PartitionOptions) *replica {
	t.Helper()
	r := &replica{owner: owner, db: db, done: make(chan error, 1)}
	opts.OnChange = func() { r.changes.Add(1) }
	r.p = db.NewPartitions(owner, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.p.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the replica's Run, which gives its partitions up when its
// database is still reachable.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Errorf("%s: Run: %v", r.owner, err)
		}
	})
}

// rowOwners returns the owner of every partition whose row is held now
// (not expired), read from the table.
func rowOwners(t *testing.T, db *sqldb.DB) map[int]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT name, owner FROM leases
WHERE name LIKE 'partition/%' AND expires_at >= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`)
	if err != nil {
		t.Fatalf("reading the partitions' rows: %v", err)
	}
	defer rows.Close()
	owners := map[int]string{}
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			t.Fatal(err)
		}
		k, err := strconv.Atoi(strings.TrimPrefix(name, "partition/"))
		if err != nil {
			t.Fatalf("row %q names no partition", name)
		}
		owners[k] = owner
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return owners
}

// splitProblem returns why the replicas do not yet own every one of count
// partitions exactly once, each holding one of shares, in memory and in
// the table; "" once they do.
func splitProblem(t *testing.T, db *sqldb.DB, count int, shares []int, reps ...*replica) string {
	t.Helper()
	memory := map[int]string{}
	for _, r := range reps {
		owned := r.p.Owned()
		if !slices.Contains(shares, len(owned)) {
			return fmt.Sprintf("%s holds %d partitions %v, want one of %v", r.owner, len(owned), owned, shares)
		}
		for _, k := range owned {
			if other, ok := memory[k]; ok {
				return fmt.Sprintf("partition %d is held by %s and %s", k, other, r.owner)
			}
			memory[k] = r.owner
		}
	}
	rows := rowOwners(t, db)
	for k := range count {
		if memory[k] == "" {
			return fmt.Sprintf("partition %d is held by no replica", k)
		}
		if rows[k] != memory[k] {
			return fmt.Sprintf("partition %d: held by %s, its row names %q", k, memory[k], rows[k])
		}
	}
	if len(memory) != count || len(rows) != count {
		return fmt.Sprintf("%d partitions held, %d rows held, want %d", len(memory), len(rows), count)
	}
	return ""
}

// untilSplit waits until splitProblem finds none.
func untilSplit(t *testing.T, what string, db *sqldb.DB, count int, shares []int, reps ...*replica) {
	t.Helper()
	var last string
	deadline := time.Now().Add(poll.Deadline)
	for {
		if last = splitProblem(t, db, count, shares, reps...); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", poll.Deadline, what, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPartitionsSplit runs three replicas of 16 partitions: each partition
// ends up owned by exactly one, each owning 5 or 6.
func TestPartitionsSplit(t *testing.T) {
	t.Parallel()
	dbs, _ := partitionDBs(t, "a", "b", "c")
	opts := sqldb.PartitionOptions{Count: 16, TTL: partitionTTL}
	a := startReplica(t, dbs[0], "split-a", opts)
	b := startReplica(t, dbs[1], "split-b", opts)
	c := startReplica(t, dbs[2], "split-c", opts)
	untilSplit(t, "16 partitions split 6/5/5", dbs[0], 16, []int{5, 6}, a, b, c)
	for _, r := range []*replica{a, b, c} {
		if !r.p.Shared() || r.p.Count() != 16 {
			t.Errorf("%s: shared %t, count %d", r.owner, r.p.Shared(), r.p.Count())
		}
		if r.changes.Load() == 0 {
			t.Errorf("%s: OnChange never called", r.owner)
		}
	}
}

// TestPartitionsJoin starts one replica, which takes all 16 partitions,
// then a second: they converge to 8 each, and at no point do both fence
// one partition at once.
func TestPartitionsJoin(t *testing.T) {
	t.Parallel()
	dbs, _ := partitionDBs(t, "a", "b")
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	opts := sqldb.PartitionOptions{Count: 16, TTL: partitionTTL, Registerer: reg}
	a := startReplica(t, dbs[0], "join-a", opts)
	untilSplit(t, "the only replica to hold all 16", dbs[0], 16, []int{16}, a)
	if got := ownedGauge(t, reg); got != 16 {
		t.Errorf("waybill_partitions_owned = %v with all 16 held, want 16", got)
	}

	var b *replica
	// fenced returns which of a and b fence partition k in transactions
	// open at the same time.
	fenced := func(k int) (aHolds, bHolds bool) {
		t.Helper()
		var holds [2]bool
		var txs []*sql.Tx
		defer func() {
			for _, tx := range txs {
				_ = tx.Rollback()
			}
		}()
		for i, r := range []*replica{a, b} {
			tx, err := r.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, tx)
			err = r.p.Fence(ctx, tx, []int{k})
			if err != nil && !errors.Is(err, sqldb.ErrLeaseLost) {
				t.Fatalf("%s fencing partition %d: %v", r.owner, k, err)
			}
			holds[i] = err == nil
		}
		return holds[0], holds[1]
	}

	b = startReplica(t, dbs[1], "join-b", sqldb.PartitionOptions{Count: 16, TTL: partitionTTL})
	deadline := time.Now().Add(poll.Deadline)
	samples := 0
	for {
		for k := range 16 {
			if aHolds, bHolds := fenced(k); aHolds && bHolds {
				t.Fatalf("partition %d: both replicas fence it at once", k)
			}
		}
		samples++
		problem := splitProblem(t, dbs[0], 16, []int{8}, a, b)
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for 8/8: %s", poll.Deadline, problem)
		}
	}
	t.Logf("converged to 8/8 after %d rounds of fencing every partition", samples)
	// Converged: exactly the owner of each partition fences it.
	for k := range 16 {
		aHolds, bHolds := fenced(k)
		if aHolds != a.p.Owns(k) || bHolds != b.p.Owns(k) || aHolds == bHolds {
			t.Errorf("partition %d: a fences %t (owns %t), b fences %t (owns %t)", k, aHolds, a.p.Owns(k), bHolds, b.p.Owns(k))
		}
	}
	poll.Until(t, "the gauge to show 8", func() bool { return ownedGauge(t, reg) == 8 })
}

// ownedGauge returns waybill_partitions_owned from reg.
func ownedGauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "waybill_partitions_owned" && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("waybill_partitions_owned not registered")
	return 0
}

// TestPartitionsDeathAndLeave runs three replicas, kills one (it cannot
// give its partitions up): the two others take its partitions once they
// expire. Then one of them leaves cleanly: the last takes them all.
func TestPartitionsDeathAndLeave(t *testing.T) {
	t.Parallel()
	dbs, _ := partitionDBs(t, "a", "b", "c")
	opts := sqldb.PartitionOptions{Count: 16, TTL: partitionTTL}
	a := startReplica(t, dbs[0], "death-a", opts)
	b := startReplica(t, dbs[1], "death-b", opts)
	c := startReplica(t, dbs[2], "death-c", opts)
	untilSplit(t, "16 partitions split 6/5/5", dbs[0], 16, []int{5, 6}, a, b, c)

	// c dies: its database is gone before its Run ends, so it releases
	// nothing and its rows stay until they expire.
	orphans := c.p.Owned()
	if err := c.db.Close(); err != nil {
		t.Fatal(err)
	}
	c.stop(t)
	rows := rowOwners(t, dbs[0])
	still := 0
	for _, k := range orphans {
		if rows[k] == c.owner {
			still++
		}
	}
	t.Logf("right after c died, %d of its %d partitions were still its own in the table", still, len(orphans))
	start := time.Now()
	untilSplit(t, "a and b to take c's partitions", dbs[0], 16, []int{8}, a, b)
	t.Logf("c's partitions %v taken over after %s (TTL %s)", orphans, time.Since(start), partitionTTL)

	// b leaves cleanly: a takes everything.
	start = time.Now()
	b.stop(t)
	if got := b.p.Owned(); len(got) != 0 {
		t.Errorf("b still holds %v after Run returned", got)
	}
	untilSplit(t, "a to take b's partitions", dbs[0], 16, []int{16}, a)
	t.Logf("b's partitions taken over after %s (TTL %s)", time.Since(start), partitionTTL)
}

// TestPartitionsFenceAfterTakeover takes a partition behind its owner's
// back: the owner's fence on it fails with ErrLeaseLost and drops it,
// while its other partitions still fence.
func TestPartitionsFenceAfterTakeover(t *testing.T) {
	t.Parallel()
	dbs, _ := partitionDBs(t, "a")
	db := dbs[0]
	ctx := t.Context()
	// A long TTL: the replica claims at start, then does not tick during
	// the test, so that the fence, not a renewal, notices the takeover.
	a := startReplica(t, db, "fence-a", sqldb.PartitionOptions{Count: 4, TTL: time.Minute})
	poll.Until(t, "a to take the 4 partitions", func() bool { return len(a.p.Owned()) == 4 })
	fence := func(parts ...int) error {
		return db.InTx(ctx, func(tx *sql.Tx) error { return a.p.Fence(ctx, tx, parts) })
	}
	if err := fence(0, 1, 2, 3); err != nil {
		t.Fatalf("fencing the partitions held: %v", err)
	}
	if err := fence(); err != nil {
		t.Errorf("fencing no partition: %v", err)
	}
	if err := fence(4); err == nil || errors.Is(err, sqldb.ErrLeaseLost) {
		t.Errorf("fencing partition 4 of 4: got %v, want an out-of-range error", err)
	}

	// Another replica takes partition 2 (as after a's connection was cut
	// and its row expired).
	if _, err := db.ExecContext(ctx, `UPDATE leases SET owner = 'intruder', epoch = epoch + 1 WHERE name = 'partition/002'`); err != nil {
		t.Fatal(err)
	}
	before := a.changes.Load()
	err := fence(1, 2)
	if !errors.Is(err, sqldb.ErrLeaseLost) {
		t.Fatalf("fencing partitions 1 and 2 after the takeover: got %v, want ErrLeaseLost", err)
	}
	t.Logf("fence error: %v", err)
	if got := a.p.Owned(); !slices.Equal(got, []int{0, 1, 3}) {
		t.Errorf("a holds %v after its fence failed on 2, want [0 1 3]", got)
	}
	if a.changes.Load() == before {
		t.Error("OnChange not called when the fence dropped partition 2")
	}
	if err := fence(2); !errors.Is(err, sqldb.ErrLeaseLost) {
		t.Errorf("fencing the dropped partition 2: got %v, want ErrLeaseLost", err)
	}
	if err := fence(0, 1, 3); err != nil {
		t.Errorf("fencing the partitions still held: %v", err)
	}

	// a leaves: it gives its own rows up and leaves the intruder's alone.
	a.stop(t)
	if got := rowOwners(t, db); len(got) != 1 || got[2] != "intruder" {
		t.Errorf("rows held after a left: %v, want only partition 2 by the intruder", got)
	}
}

// TestPartitionsFenceHoldsOffTakeover keeps a transaction open after its
// fence on a partition while the partition expires: another replica that
// tries to take it waits until the transaction ends, then takes it.
func TestPartitionsFenceHoldsOffTakeover(t *testing.T) {
	t.Parallel()
	dbs, apps := partitionDBs(t, "old", "new")
	ctx := t.Context()
	opts := sqldb.PartitionOptions{Count: 1, TTL: partitionTTL}
	// With two live replicas, the first by owner name owns the partition.
	old := startReplica(t, dbs[0], "holdoff-2", opts)
	poll.Until(t, "the old replica to take the partition", func() bool { return old.p.Owns(0) })
	tx, err := dbs[0].BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := old.p.Fence(ctx, tx, []int{0}); err != nil {
		t.Fatalf("fencing the partition held: %v", err)
	}
	// The old replica cannot renew the row its own transaction locks.
	poll.Until(t, "the partition's row to expire", func() bool { return rowOwners(t, dbs[0])[0] == "" })

	taker := startReplica(t, dbs[1], "holdoff-1", opts)
	poll.Until(t, "the new replica's claim to wait for the fence's lock", func() bool {
		var n int
		if err := dbs[0].QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
			apps[1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	var owner string
	if err := dbs[0].QueryRowContext(ctx, `SELECT owner FROM leases WHERE name = 'partition/000'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if owner != old.owner || taker.p.Owns(0) {
		t.Fatalf("while the fence's transaction is open: row owned by %s, new replica owns it: %t", owner, taker.p.Owns(0))
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("committing the fenced transaction: %v", err)
	}
	untilSplit(t, "the new replica to take the partition", dbs[0], 1, []int{0, 1}, old, taker)
	poll.Until(t, "the new replica to own the partition", func() bool { return taker.p.Owns(0) && !old.p.Owns(0) })
}

// TestPartitionsSQLite checks that on SQLite this process owns every
// partition and its fences always hold.
func TestPartitionsSQLite(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	ctx := t.Context()
	p := db.NewPartitions("solo", sqldb.PartitionOptions{Count: 4})
	if p.Shared() || p.Count() != 4 {
		t.Errorf("shared %t, count %d", p.Shared(), p.Count())
	}
	if got := p.Owned(); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("Owned() = %v, want [0 1 2 3]", got)
	}
	for k, want := range map[int]bool{-1: false, 0: true, 3: true, 4: false} {
		if p.Owns(k) != want {
			t.Errorf("Owns(%d) = %t, want %t", k, !want, want)
		}
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return p.Fence(ctx, tx, []int{0, 3}) }); err != nil {
		t.Errorf("Fence: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}

	bad := db.NewPartitions("solo", sqldb.PartitionOptions{})
	if err := bad.Run(ctx); err == nil {
		t.Error("Run with no partitions: no error")
	}
	if got := bad.Owned(); len(got) != 0 || bad.Owns(0) {
		t.Errorf("no partitions: Owned() = %v, Owns(0) = %t", got, bad.Owns(0))
	}
}
