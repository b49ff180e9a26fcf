package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/waybill/waybill/internal/seal"
)

// Engine names the database engine behind a DB.
type Engine string

// The engines Waybill runs on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// SQLiteFile is the name of the database file inside the data directory.
const SQLiteFile = "waybill.db"

// ErrNotFound is returned by stores when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a write collides with an existing
// record (a unique key taken by different content).
var ErrConflict = errors.New("conflict")

// Options says which database to open.
type Options struct {
	// DataDir holds the SQLite database file. Ignored when DatabaseURL is set.
	DataDir string
	// DatabaseURL is a postgres:// URL. When set, PostgreSQL is used.
	DatabaseURL string
	// Synchronous is SQLite's synchronous pragma: off, normal, full or extra.
	// Defaults to full: an accepted event is on disk.
	Synchronous string
	// MaxConns caps PostgreSQL's pool. Defaults to 16.
	MaxConns int
}

// DB is an open database and the dialect of its engine.
//
// The embedded *sql.DB is the writer: on SQLite it holds the one connection
// every write goes through. Reader serves reads that need no transaction
// with the writer; on SQLite it is a separate pool of read-only connections
// that WAL lets run beside the writer, on PostgreSQL it is the same pool.
// Close closes both.
type DB struct {
	*sql.DB
	Reader  *sql.DB
	Dialect Dialect
	// Location is a human-readable description of where the data lives,
	// without credentials.
	Location string
	// Keyring seals the values stores keep encrypted at rest; nil stores
	// them in plaintext (encryption off). Set it once, right after Open.
	Keyring *seal.Keyring

	dir          string        // SQLite's data directory; empty on PostgreSQL
	checkpointer *checkpointer // SQLite only
}

// Open opens (and for SQLite creates) the database described by opts. It
// does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.DatabaseURL != "" {
		return openPostgres(ctx, opts)
	}
	return openSQLite(ctx, opts)
}

func openSQLite(ctx context.Context, opts Options) (*DB, error) {
	dir := opts.DataDir
	if dir == "" {
		dir = "./waybill-data"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	sync := strings.ToUpper(opts.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	switch sync {
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("sqlite synchronous %q: must be off, normal, full or extra", opts.Synchronous)
	}
	path := filepath.Join(dir, SQLiteFile)
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(" + sync + ")",
		"busy_timeout(10000)",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
		"cache_size(-65536)",
	} {
		q.Add("_pragma", p)
	}
	// The checkpointer's connection syncs as the writer does; the writer
	// checkpoints only as a backstop (see checkpointer).
	cq := url.Values{"_pragma": {"busy_timeout(10000)", "synchronous(" + sync + ")"}}
	q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walWriterPages)+")")
	rq := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "query_only(1)", "temp_store(MEMORY)", "cache_size(-16384)"} {
		rq.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db := sql.OpenDB(&cachingConnector{dsn: dsn, size: stmtCacheSize})
	// One connection: River's SQLite driver requires it, and SQLite has one
	// writer anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("reading sqlite journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: journal mode is %s, want wal", path, mode)
	}
	// The readers open after the writer has created the file and switched
	// it to WAL, which is what lets them read while the writer writes.
	reader := sql.OpenDB(&cachingConnector{dsn: "file:" + path + "?" + rq.Encode(), size: stmtCacheSize})
	reader.SetMaxOpenConns(sqliteReaders)
	reader.SetMaxIdleConns(sqliteReaders)
	reader.SetConnMaxIdleTime(5 * time.Minute)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		db.Close()
		return nil, fmt.Errorf("opening sqlite %s for reading: %w", path, err)
	}
	return &DB{DB: db, Reader: reader, Dialect: sqliteDialect, Location: "sqlite:" + path, dir: dir,
		checkpointer: startCheckpointer("file:" + path + "?" + cq.Encode())}, nil
}

func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	u, err := url.Parse(opts.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("database url: must be a postgres:// URL")
	}
	db, err := sql.Open("pgx", opts.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to postgres %s: %w", redactURL(u), err)
	}
	return &DB{DB: db, Reader: db, Dialect: postgresDialect, Location: redactURL(u)}, nil
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	c.RawQuery = ""
	return c.String()
}

// sqliteReaders is the size of SQLite's read pool: enough for the
// processor, the API and the backlog gauge to read at once on two cores.
const sqliteReaders = 4

// Close closes the reader pool and the writer.
func (db *DB) Close() error {
	var errs []error
	if db.checkpointer != nil {
		errs = append(errs, db.checkpointer.stop())
	}
	if db.Reader != nil && db.Reader != db.DB {
		errs = append(errs, db.Reader.Close())
	}
	return errors.Join(append(errs, db.DB.Close())...)
}

// InTx runs fn in a transaction and commits it when fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// Dialect holds every difference between the two engines. It is a value:
// compare Engine, never the driver.
type Dialect struct {
	Engine Engine
	// MaxParams is the most bind parameters one statement may carry.
	MaxParams int
}

var (
	sqliteDialect   = Dialect{Engine: SQLite, MaxParams: 32000}
	postgresDialect = Dialect{Engine: Postgres, MaxParams: 65000}
)

// Rebind rewrites a query written with "?" placeholders for the engine:
// unchanged for SQLite, $1, $2, … for PostgreSQL. Question marks inside
// single-quoted literals are left alone.
func (d Dialect) Rebind(query string) string {
	if d.Engine != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Placeholders returns "(?, ?, …)" groups for a multi-row VALUES list: rows
// groups of cols placeholders each, separated by commas.
func Placeholders(rows, cols int) string {
	var b strings.Builder
	b.Grow(rows * (cols*3 + 3))
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// CountGroups runs query on the read pool, which must return rows of a
// text key and a count, and sums the counts by key.
func (db *DB) CountGroups(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	rows, err := db.Reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key string
		var n int64
		if err := rows.Scan(&key, &n); err != nil {
			return nil, err
		}
		out[key] += n
	}
	return out, rows.Err()
}

// IsUnavailable reports whether err says that the database could not be
// used at all — a lost or refused connection, a shutdown, a full disk, a
// busy lock, a serialization failure, a cancelled or expired context —
// rather than that it refused the data of a statement. A write that failed
// for such a reason fails for any data and is worth retrying later.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		switch class := pgErr.SQLState()[:2]; class {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources
			"57", // operator intervention: shutdown, cancel
			"58": // system error
			return true
		}
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff { // the primary result code
		case 5, // SQLITE_BUSY
			6,  // SQLITE_LOCKED
			7,  // SQLITE_NOMEM
			8,  // SQLITE_READONLY
			10, // SQLITE_IOERR
			13, // SQLITE_FULL
			14: // SQLITE_CANTOPEN
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		// SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
		return coded.Code() == 2067 || coded.Code() == 1555
	}
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		return pgErr.SQLState() == "23505"
	}
	return false
}
