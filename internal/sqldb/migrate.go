package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// MigrationFS returns the migration sequence of one engine.
func MigrationFS(e Engine) fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations/"+string(e))
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// MigrateResult says what Migrate applied.
type MigrateResult struct {
	// Applied lists the Waybill migrations applied by this call.
	Applied []string
	// RiverVersions lists River's migration versions applied by this call.
	RiverVersions []int
	// Version is the schema version after the call.
	Version int64
}

// RiverDriver returns River's driver for this engine. Both work on *sql.Tx,
// so one River client type serves both engines.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.Dialect.Engine == SQLite {
		return riversqlite.New(db.DB)
	}
	return riverdatabasesql.New(db.DB)
}

// Migrate brings the schema up to date: River's tables first, then
// Waybill's own sequence. It is safe to call on an up-to-date database,
// and on PostgreSQL from several processes at once: they migrate one
// after the other, under a session advisory lock.
func (db *DB) Migrate(ctx context.Context, logger *slog.Logger) (*MigrateResult, error) {
	if db.Dialect.Engine == Postgres {
		conn, err := db.DB.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrating: %w", err)
		}
		defer conn.Close()
		const key = `hashtextextended('waybill.migrate:' || current_database() || '.' || current_schema(), 0)`
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
			return nil, fmt.Errorf("waiting for other replicas' migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`) //nolint:errcheck // closing the session unlocks too
	}
	res := &MigrateResult{}

	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("loading river migrations: %w", err)
	}
	riverRes, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrating river schema: %w", err)
	}
	for _, v := range riverRes.Versions {
		res.RiverVersions = append(res.RiverVersions, v.Version)
	}

	dialect := goose.DialectSQLite3
	if db.Dialect.Engine == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, db.DB, MigrationFS(db.Dialect.Engine), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("loading migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating waybill schema: %w", err)
	}
	for _, r := range results {
		res.Applied = append(res.Applied, r.Source.Path)
	}
	res.Version, err = p.GetDBVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading schema version: %w", err)
	}
	return res, nil
}
