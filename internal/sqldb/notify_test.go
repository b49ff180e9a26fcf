package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestNotify sends notifications in transactions on PostgreSQL: a
// listener gets those of committed transactions, on the channels it
// listens to, and none of a rolled-back one; after its session is cut, it
// listens again.
func TestNotify(t *testing.T) {
	t.Parallel()
	db := sqldbtest.Postgres(t)
	ctx, cancel := context.WithCancel(t.Context())
	type note struct{ channel, payload string }
	got := make(chan note, 16)
	// b is unique to this run: the test finds its listener's session by it.
	b := fmt.Sprintf(`test "b" %d`, time.Now().UnixNano())
	done := make(chan error, 1)
	go func() {
		done <- db.Listen(ctx, slog.New(slog.DiscardHandler), []string{"test_a", b}, func(channel, payload string) {
			got <- note{channel, payload}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	}()
	send := func(channel, payload string, commit bool) {
		t.Helper()
		err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			if err := db.Notify(t.Context(), tx, channel, payload); err != nil {
				return err
			}
			if !commit {
				return errors.New("rolled back")
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
	}
	// The listener may not listen yet: send until the first arrives.
	want := func(w note) {
		t.Helper()
		select {
		case n := <-got:
			if n != w {
				t.Fatalf("got notification %+v, want %+v", n, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification %+v", w)
		}
	}
	for first := false; !first; {
		send("test_a", "ready", true)
		select {
		case n := <-got:
			first = n == note{"test_a", "ready"}
		case <-time.After(100 * time.Millisecond):
		}
	}
	for len(got) > 0 {
		<-got
	}
	send("test_a", "rolled back", false)
	send("test_other", "not listened to", true)
	send(b, "1,2", true)
	want(note{b, "1,2"})
	if err := db.NotifyNow(t.Context(), b, "now"); err != nil {
		t.Fatal(err)
	}
	want(note{b, "now"})

	// Cut the listener's session: it listens again.
	var cut int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		`LISTEN "`+strings.ReplaceAll(b, `"`, `""`)+`"`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("cut %d listening sessions, %v; want 1", cut, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		send("test_a", "again", true)
		select {
		case n := <-got:
			if n == (note{"test_a", "again"}) {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not listen again after its session was cut")
		}
	}
}

// TestNotifySQLite checks that notifying does nothing on SQLite and that
// listening waits for its context.
func TestNotifySQLite(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	if err := db.InTx(t.Context(), func(tx *sql.Tx) error { return db.Notify(t.Context(), tx, "c", "p") }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := db.Listen(ctx, slog.New(slog.DiscardHandler), []string{"c"}, func(string, string) { t.Error("a notification on SQLite") }); err != nil {
		t.Fatal(err)
	}
}
