package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestLease runs two holders of one lease on PostgreSQL: one works, the
// other waits; the first's writes fence, the other's do not; when the
// first is taken over behind its back, its work stops and its fence
// fails; when a holder shuts down, the other takes over at once.
func TestLease(t *testing.T) {
	t.Parallel()
	db := sqldbtest.Postgres(t)
	ctx := t.Context()
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	opts := sqldb.LeaseOptions{TTL: 600 * time.Millisecond}
	a, b := db.NewLease("test", "a", opts), db.NewLease("test", "b", opts)
	var aWorking, bWorking atomic.Int32
	run := func(l *sqldb.Lease, working *atomic.Int32) (cancel func(), done chan error) {
		lctx, cancel := context.WithCancel(context.Background())
		done = make(chan error, 1)
		go func() {
			done <- l.Run(lctx, func(ctx context.Context) error {
				working.Add(1)
				defer working.Add(-1)
				<-ctx.Done()
				return nil
			})
		}()
		return cancel, done
	}
	fence := func(l *sqldb.Lease) error {
		return db.InTx(ctx, func(tx *sql.Tx) error { return l.Fence(ctx, tx) })
	}
	stopA, doneA := run(a, &aWorking)
	poll.Until(t, "a to take the lease", func() bool { return a.Held() && aWorking.Load() == 1 })
	stopB, doneB := run(b, &bWorking)
	stopped := map[*sqldb.Lease]bool{}
	stop := func(l *sqldb.Lease) {
		if stopped[l] {
			return
		}
		stopped[l] = true
		cancel, done := stopA, doneA
		if l == b {
			cancel, done = stopB, doneB
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	defer stop(a)
	defer stop(b)
	time.Sleep(1500 * time.Millisecond) // more than two TTLs: a renews
	if b.Held() || bWorking.Load() != 0 {
		t.Fatal("b holds the lease while a renews it")
	}
	if err := fence(a); err != nil {
		t.Errorf("a's fence: %v", err)
	}
	if err := fence(b); !errors.Is(err, sqldb.ErrLeaseLost) {
		t.Errorf("b's fence: got %v, want ErrLeaseLost", err)
	}

	// Another process takes the lease behind a's back (as after a's
	// connection was cut and the lease expired).
	if _, err := db.ExecContext(ctx, `UPDATE leases SET owner = 'c', epoch = epoch + 1 WHERE name = 'test'`); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "a to notice", func() bool { return !a.Held() && aWorking.Load() == 0 })
	if err := fence(a); !errors.Is(err, sqldb.ErrLeaseLost) {
		t.Errorf("a's fence after the takeover: got %v, want ErrLeaseLost", err)
	}
	// c never renews: once expired, a or b takes it.
	poll.Until(t, "the expired lease to be taken", func() bool { return a.Held() || b.Held() })

	// Whoever holds it shuts down: the other takes over at once.
	holder, other := a, b
	if b.Held() {
		holder, other = b, a
	}
	start := time.Now()
	stop(holder)
	poll.Until(t, "the other to take over", other.Held)
	t.Logf("takeover after a clean shutdown took %s (the TTL is %s)", time.Since(start), opts.TTL)
}

// TestReplica registers a replica: alive while registered, dead once its
// session is cut, alive again after Keep, dead once released.
func TestReplica(t *testing.T) {
	t.Parallel()
	db := sqldbtest.Postgres(t)
	ctx := t.Context()
	r, err := db.JoinReplica(ctx, "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.JoinReplica(ctx, "replica-a"); err == nil {
		t.Error("a second process joined as the same replica")
	}
	alive := func() bool {
		t.Helper()
		ok, err := db.ReplicaAlive(ctx, "replica-a")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !alive() {
		t.Fatal("a registered replica is not alive")
	}
	if ok, err := db.ReplicaAlive(ctx, "replica-b"); err != nil || ok {
		t.Errorf("a replica never registered: alive %t, %v", ok, err)
	}
	// Cut the registration's session, as a network partition would.
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.pid <> pg_backend_pid()
AND l.objid = (hashtextextended('waybill.replica:' || current_database() || '.' || current_schema() || ':' || 'replica-a', 0) & 4294967295)::oid`); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the cut replica to look dead", func() bool { return !alive() })
	if err := r.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	if !alive() {
		t.Error("not alive again after Keep")
	}
	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	if alive() {
		t.Error("alive after Release")
	}
}
