// Package sqldbtest gives each test its own migrated database: a SQLite
// file in t.TempDir(), and a PostgreSQL schema of its own when
// WAYBILL_TEST_POSTGRES_URL is set.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// PostgresURLEnv names the variable that points the tests at a PostgreSQL
// server. CI always sets it.
const PostgresURLEnv = "WAYBILL_TEST_POSTGRES_URL"

// Engines runs fn once per engine as a subtest: "sqlite" always, and
// "postgres" when WAYBILL_TEST_POSTGRES_URL is set (skipped with a message
// naming the variable otherwise).
func Engines(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t))
	})
}

// SQLite returns a migrated SQLite database in t.TempDir().
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	return open(t, sqldb.Options{DataDir: t.TempDir(), Synchronous: "normal"})
}

// Postgres returns a migrated PostgreSQL database confined to a fresh
// schema, dropped when the test ends. It skips the test when
// WAYBILL_TEST_POSTGRES_URL is unset.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	u := PostgresSchemaURL(t)
	return open(t, sqldb.Options{DatabaseURL: u, MaxConns: 8})
}

// PostgresSchemaURL creates a fresh schema and returns a URL whose
// connections use it; the schema is dropped when the test ends. It skips the
// test when WAYBILL_TEST_POSTGRES_URL is unset.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresURLEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "wbtest_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening %s: %v", PostgresURLEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("creating schema on %s: %v", PostgresURLEnv, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, opts sqldb.Options) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, opts)
	if err != nil {
		t.Fatalf("opening database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrating database: %v", err)
	}
	return db
}

// EngineOptions runs fn once per engine with the options of a fresh, empty
// database (not opened): for tests that open it themselves, like a whole
// hub. PostgreSQL is skipped as in Engines.
func EngineOptions(t *testing.T, fn func(t *testing.T, opts sqldb.Options)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, sqldb.Options{DataDir: t.TempDir(), Synchronous: "normal"})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, sqldb.Options{DatabaseURL: PostgresSchemaURL(t), MaxConns: 8})
	})
}

// RefuseEvents installs a trigger that makes db refuse to insert an event
// whose source_id starts with prefix, with a real error of the database
// (a data exception on PostgreSQL, a constraint failure on SQLite). Fault
// isolation tests use it for an event that passes validation but that the
// database will not store.
func RefuseEvents(t testing.TB, db *sqldb.DB, prefix string) {
	t.Helper()
	var stmts []string
	switch db.Dialect.Engine {
	case sqldb.SQLite:
		stmts = []string{`CREATE TRIGGER refuse_events BEFORE INSERT ON events WHEN NEW.source_id LIKE '` + prefix + `%'
BEGIN SELECT RAISE(ABORT, 'event refused by the test trigger'); END`}
	case sqldb.Postgres:
		stmts = []string{`CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.source_id LIKE '` + prefix + `%' THEN
    RAISE EXCEPTION 'event refused by the test trigger' USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$`, `CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events()`}
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("installing the refusing trigger: %v", err)
		}
	}
}
