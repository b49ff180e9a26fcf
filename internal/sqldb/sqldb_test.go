package sqldb_test

import (
	"errors"
	"io/fs"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func TestMigrationSequencesInLockstep(t *testing.T) {
	t.Parallel()
	names := func(e sqldb.Engine) []string {
		entries, err := fs.ReadDir(sqldb.MigrationFS(e), ".")
		if err != nil {
			t.Fatalf("reading %s migrations: %v", e, err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		slices.Sort(out)
		return out
	}
	lite, pg := names(sqldb.SQLite), names(sqldb.Postgres)
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if diff := cmp.Diff(lite, pg); diff != "" {
		t.Errorf("sqlite and postgres migration sequences differ (-sqlite +postgres):\n%s", diff)
	}
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		res, err := db.Migrate(t.Context(), nil)
		if err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if len(res.Applied) != 0 || len(res.RiverVersions) != 0 {
			t.Errorf("second migrate applied %v and river %v, want nothing", res.Applied, res.RiverVersions)
		}
		if res.Version < 1 {
			t.Errorf("got schema version %d, want >= 1", res.Version)
		}
	})
}

func TestRebind(t *testing.T) {
	t.Parallel()
	pg := sqldb.Dialect{Engine: sqldb.Postgres}
	lite := sqldb.Dialect{Engine: sqldb.SQLite}
	q := "SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)"
	if got, want := pg.Rebind(q), "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)"; got != want {
		t.Errorf("postgres rebind: got %q, want %q", got, want)
	}
	if got := lite.Rebind(q); got != q {
		t.Errorf("sqlite rebind changed the query: %q", got)
	}
	if got, want := sqldb.Placeholders(2, 3), "(?,?,?),(?,?,?)"; got != want {
		t.Errorf("placeholders: got %q, want %q", got, want)
	}
}

func TestUniqueViolation(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		q := db.Dialect.Rebind("INSERT INTO xrefs (system, kind, external_id, canonical_id, created_at) VALUES (?, ?, ?, ?, ?)")
		if _, err := db.ExecContext(t.Context(), q, "odoo", "shipment", "WH/OUT/1", "a", 1); err != nil {
			t.Fatalf("first insert: %v", err)
		}
		_, err := db.ExecContext(t.Context(), q, "odoo", "shipment", "WH/OUT/1", "b", 1)
		if !sqldb.IsUniqueViolation(err) {
			t.Errorf("second insert: got %v, want a unique violation", err)
		}
	})
}

// TestClaim opens the same database twice, as two serve processes would:
// only one may claim it at a time.
func TestClaim(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		open := func() *sqldb.DB {
			db, err := sqldb.Open(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		first, second := open(), open()
		release, err := first.Claim(t.Context())
		if err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if _, err := second.Claim(t.Context()); !errors.Is(err, sqldb.ErrInUse) {
			t.Fatalf("second claim while the first holds: got %v, want ErrInUse", err)
		}
		if err := release(); err != nil {
			t.Fatalf("release: %v", err)
		}
		release2, err := second.Claim(t.Context())
		if err != nil {
			t.Fatalf("claim after release: %v", err)
		}
		if err := release2(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCursors(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldb.NewCursors(db)
		if got, err := c.Get(t.Context(), "odoo/pickings"); err != nil || got != "" {
			t.Fatalf("Get of a new cursor = %q, %v; want empty", got, err)
		}
		for _, v := range []string{"2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z"} {
			if err := c.Set(t.Context(), "odoo/pickings", v); err != nil {
				t.Fatal(err)
			}
			if got, err := c.Get(t.Context(), "odoo/pickings"); err != nil || got != v {
				t.Fatalf("Get = %q, %v; want %q", got, err, v)
			}
		}
		if got, _ := c.Get(t.Context(), "other"); got != "" {
			t.Errorf("another name sees %q", got)
		}
	})
}
