package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLiteFile is the name of the ceiling's database file inside
// Options.DataDir.
const SQLiteFile = "ceiling.db"

// Record is one stored event: its id and the event as it was sent.
type Record struct {
	ID   string
	Body []byte
}

// store keeps records durably. Only the writer goroutine calls insert.
type store interface {
	// insert stores records in one transaction and returns after its
	// commit.
	insert(ctx context.Context, records []Record) error
	// records returns every stored record in the order it was stored.
	records(ctx context.Context) ([]Record, error)
	close() error
}

// openStore opens the store that opts name, creating its table.
func openStore(ctx context.Context, opts *Options) (store, error) {
	if opts.DatabaseURL != "" {
		return openPostgres(ctx, opts.DatabaseURL)
	}
	return openSQLite(ctx, opts.DataDir)
}

// Records reads back every record stored by a ceiling server with opts, in
// the order they were stored. Call it when no server runs on that store.
func Records(ctx context.Context, opts Options) ([]Record, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s, err := openStore(ctx, &opts)
	if err != nil {
		return nil, err
	}
	recs, err := s.records(ctx)
	return recs, errors.Join(err, s.close())
}

// The SQLite store's statements.
const (
	sqliteCreate = `CREATE TABLE IF NOT EXISTS ceiling_events (
	seq  INTEGER PRIMARY KEY,
	id   TEXT NOT NULL,
	body BLOB NOT NULL
)`
	sqliteInsert  = `INSERT INTO ceiling_events (id, body) VALUES (?, ?)`
	sqliteRecords = `SELECT id, body FROM ceiling_events ORDER BY seq`
)

// sqliteStore writes through one connection, as Waybill's SQLite writer
// does, with the insert prepared once.
type sqliteStore struct {
	db  *sql.DB
	ins *sql.Stmt
}

func openSQLite(ctx context.Context, dir string) (*sqliteStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the ceiling's data directory: %w", err)
	}
	path := filepath.Join(dir, SQLiteFile)
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if _, err := db.ExecContext(ctx, sqliteCreate); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the ceiling's table in %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: journal mode %q, want wal: %v", path, mode, err)
	}
	stmt, err := db.PrepareContext(ctx, sqliteInsert)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing the ceiling's insert: %w", err)
	}
	return &sqliteStore{db: db, ins: stmt}, nil
}

func (s *sqliteStore) insert(ctx context.Context, records []Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a ceiling transaction: %w", err)
	}
	stmt := tx.StmtContext(ctx, s.ins)
	for _, r := range records {
		if _, err := stmt.ExecContext(ctx, r.ID, r.Body); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("inserting event %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing %d events: %w", len(records), err)
	}
	return nil
}

func (s *sqliteStore) records(ctx context.Context) ([]Record, error) {
	return scanRecords(s.db.QueryContext(ctx, sqliteRecords))
}

func (s *sqliteStore) close() error {
	return errors.Join(s.ins.Close(), s.db.Close())
}

func scanRecords(rows *sql.Rows, err error) ([]Record, error) {
	if err != nil {
		return nil, fmt.Errorf("reading the ceiling's events: %w", err)
	}
	defer rows.Close()
	var recs []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Body); err != nil {
			return nil, fmt.Errorf("reading the ceiling's events: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the ceiling's events: %w", err)
	}
	return recs, nil
}

// The PostgreSQL store's statements: the insert takes every record of a
// commit as two arrays, one multi-row INSERT whatever their number.
const (
	postgresCreate = `CREATE TABLE IF NOT EXISTS ceiling_events (
	seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id   text NOT NULL,
	body bytea NOT NULL
)`
	postgresInsert  = `INSERT INTO ceiling_events (id, body) SELECT * FROM unnest($1::text[], $2::bytea[])`
	postgresRecords = `SELECT id, body FROM ceiling_events ORDER BY seq`
)

// postgresStore writes through one pgx connection; with a single writer
// there is nothing for a pool to do.
type postgresStore struct {
	conn   *pgx.Conn
	ids    []string
	bodies [][]byte
}

func openPostgres(ctx context.Context, databaseURL string) (*postgresStore, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("database url: must be a postgres:// URL")
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres %s: %w", u.Redacted(), err)
	}
	if _, err := conn.Exec(ctx, postgresCreate); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("creating the ceiling's table: %w", err)
	}
	return &postgresStore{conn: conn}, nil
}

func (s *postgresStore) insert(ctx context.Context, records []Record) error {
	s.ids, s.bodies = s.ids[:0], s.bodies[:0]
	for _, r := range records {
		s.ids, s.bodies = append(s.ids, r.ID), append(s.bodies, r.Body)
	}
	// One statement is one transaction: it commits before Exec returns,
	// with PostgreSQL's synchronous_commit.
	if _, err := s.conn.Exec(ctx, postgresInsert, s.ids, s.bodies); err != nil {
		return fmt.Errorf("inserting %d events: %w", len(records), err)
	}
	return nil
}

func (s *postgresStore) records(ctx context.Context) ([]Record, error) {
	rows, err := s.conn.Query(ctx, postgresRecords)
	if err != nil {
		return nil, fmt.Errorf("reading the ceiling's events: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) {
		var r Record
		err := row.Scan(&r.ID, &r.Body)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the ceiling's events: %w", err)
	}
	return recs, nil
}

func (s *postgresStore) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return s.conn.Close(ctx)
}

// Schema is a PostgreSQL schema of its own for one run, so that each
// server starts from an empty database and the run leaves nothing behind.
type Schema struct {
	// URL is the database URL with the schema as its search_path.
	URL  string
	name string
	base string
}

// CreateSchema creates the schema named name (letters, digits and _ only)
// in the database at databaseURL.
func CreateSchema(ctx context.Context, databaseURL, name string) (*Schema, error) {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return nil, fmt.Errorf("schema name %q: only a-z, 0-9 and _", name)
		}
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("database url: must be a postgres:// URL")
	}
	if err := execPostgres(ctx, databaseURL, "CREATE SCHEMA "+name); err != nil {
		return nil, fmt.Errorf("creating schema %s: %w", name, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return &Schema{URL: u.String(), name: name, base: databaseURL}, nil
}

// Drop drops the schema and everything in it.
func (s *Schema) Drop(ctx context.Context) error {
	if err := execPostgres(ctx, s.base, "DROP SCHEMA "+s.name+" CASCADE"); err != nil {
		return fmt.Errorf("dropping schema %s: %w", s.name, err)
	}
	return nil
}

// execPostgres runs one statement on a connection of its own.
func execPostgres(ctx context.Context, databaseURL, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}
