package datakey

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
)

// KEKFileName is the key-encryption key file Setup creates in an SQLite
// data directory when no key is configured.
const KEKFileName = "encryption.key"

// ErrNoKEK is returned when encryption is on and no key-encryption key is
// configured where Waybill may not create one (PostgreSQL).
var ErrNoKEK = errors.New("encryption: PostgreSQL needs a key-encryption key: set encryption.key_file or WAYBILL_ENCRYPTION_KEY " +
	"(waybill keys new-kek makes one), or encryption.enabled: false (not for production)")

// ErrKEKFileMissing is returned when the database has data keys but the
// KEK file of its SQLite data directory is gone: creating another would
// leave every sealed value unreadable.
var ErrKEKFileMissing = errors.New("encryption: the database has data keys but their key-encryption key file is missing")

// ErrWrongKEK is returned when a data key was wrapped by another
// key-encryption key than the configured one.
var ErrWrongKEK = errors.New("wrapped by another key-encryption key")

// Key is one data key as stored.
type Key struct {
	ID        string
	Seq       int64
	KEKID     string
	Wrapped   []byte
	CreatedAt time.Time
}

// Store owns the data_keys table.
type Store struct{ db *sqldb.DB }

// NewStore returns the store on db.
func NewStore(db *sqldb.DB) *Store { return &Store{db: db} }

// List returns every data key, oldest first.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, seq, kek_id, wrapped, created_at FROM data_keys ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("reading data keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var wrapped string
		var at int64
		if err := rows.Scan(&k.ID, &k.Seq, &k.KEKID, &wrapped, &at); err != nil {
			return nil, fmt.Errorf("reading data keys: %w", err)
		}
		if k.Wrapped, err = base64.StdEncoding.DecodeString(wrapped); err != nil {
			return nil, fmt.Errorf("reading data key %s: wrapped key is not base64", k.ID)
		}
		k.CreatedAt = time.UnixMicro(at).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// LatestSeq returns the seq of the current data key, or 0 when there is
// none.
func (s *Store) LatestSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM data_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("reading data keys: %w", err)
	}
	return n.Int64, nil
}

// create stores a new data key wrapped by w, after every other one, so it
// becomes current. With first set it stores one only when there is none
// yet, and reports whether it did: two processes starting on a fresh
// database at once end with one first key.
func (s *Store) create(ctx context.Context, w seal.KeyWrapper, first bool) (Key, bool, error) {
	wrapped, err := w.Wrap(ctx, seal.NewKey())
	if err != nil {
		return Key{}, false, fmt.Errorf("wrapping a new data key: %w", err)
	}
	k := Key{ID: seal.NewKeyID(), KEKID: w.ID(), Wrapped: wrapped, CreatedAt: time.Now().UTC()}
	stored := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM data_keys`).Scan(&n); err != nil {
			return fmt.Errorf("reading data keys: %w", err)
		}
		if first && n.Int64 > 0 {
			return nil
		}
		k.Seq = n.Int64 + 1
		res, err := tx.ExecContext(ctx, s.db.Dialect.Rebind(`INSERT INTO data_keys (id, seq, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (seq) DO NOTHING`),
			k.ID, k.Seq, k.KEKID, base64.StdEncoding.EncodeToString(wrapped), k.CreatedAt.UnixMicro())
		if err != nil {
			return fmt.Errorf("storing data key: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if first {
				return nil // another process stored the first key
			}
			return errors.New("storing data key: another rotation took the same place; try again")
		}
		stored = true
		return nil
	})
	return k, stored, err
}

// Load unwraps the stored data keys into a keyring whose current key is
// the newest. Keys wrapped by another KEK, or that fail to unwrap, are
// left out and named in a warning (values sealed under them will not
// open); the current key must unwrap. With no key stored, Load returns
// nil and no error. A nil logger discards the warnings.
func Load(ctx context.Context, db *sqldb.DB, w seal.KeyWrapper, logger *slog.Logger) (*seal.Keyring, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	keys, err := NewStore(db).List(ctx)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	plain := make(map[string][]byte, len(keys))
	cur := keys[len(keys)-1]
	for _, k := range keys {
		var key []byte
		var err error
		if k.KEKID != w.ID() {
			err = fmt.Errorf("%w: %s, but the configured one is %s", ErrWrongKEK, k.KEKID, w.ID())
		} else if key, err = w.Unwrap(ctx, k.Wrapped); err != nil {
			err = fmt.Errorf("unwrapping: %w", err)
		}
		if err != nil {
			if k.ID == cur.ID {
				return nil, fmt.Errorf("loading current data key %s: %w", k.ID, err)
			}
			logger.WarnContext(ctx, "data key not loaded: values sealed under it will not open",
				slog.String("key_id", k.ID), slog.Any("err", err))
			continue
		}
		plain[k.ID] = key
	}
	return seal.New(plain, cur.ID)
}

// Rotate creates a new data key and makes it current. It returns the new
// key. Values sealed under older keys stay readable; a Reencryptor moves
// them to the new key.
func Rotate(ctx context.Context, db *sqldb.DB, w seal.KeyWrapper) (Key, error) {
	k, _, err := NewStore(db).create(ctx, w, false)
	return k, err
}

// Options says how Setup finds the key-encryption key.
type Options struct {
	// Enabled turns encryption at rest on.
	Enabled bool
	// KeyFile is a file holding the KEK (base64 of 32 bytes).
	KeyFile string
	// Key is the KEK itself (base64 of 32 bytes), from the environment.
	Key string
	// DataDir is SQLite's data directory, where a KEK file is created
	// when neither KeyFile nor Key is set. Defaults to ./waybill-data.
	DataDir string
	// Logger receives the lifecycle lines; nil discards them.
	Logger *slog.Logger
}

// Wrapper returns the KEK wrapper opts describe for db. On SQLite with no
// key configured it uses DataDir/encryption.key, creating it (0600) when
// it does not exist and the database has no data key yet; on PostgreSQL
// it returns ErrNoKEK. It returns nil when encryption is off.
func Wrapper(ctx context.Context, db *sqldb.DB, opts Options) (seal.KeyWrapper, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !opts.Enabled {
		return nil, nil
	}
	var key []byte
	var err error
	switch {
	case opts.Key != "":
		if key, err = seal.ParseKEK(opts.Key); err != nil {
			return nil, fmt.Errorf("encryption.key: %w", err)
		}
	case opts.KeyFile != "":
		if key, err = seal.ReadKEKFile(opts.KeyFile); err != nil {
			return nil, fmt.Errorf("encryption.key_file: %w", err)
		}
	case db.Dialect.Engine != sqldb.SQLite:
		return nil, ErrNoKEK
	default:
		if key, err = dataDirKEK(ctx, db, opts.DataDir, logger); err != nil {
			return nil, err
		}
	}
	return seal.NewLocalKEK(key)
}

// dataDirKEK reads, or on first start creates, the KEK file of an SQLite
// data directory.
func dataDirKEK(ctx context.Context, db *sqldb.DB, dir string, logger *slog.Logger) ([]byte, error) {
	if dir == "" {
		dir = "./waybill-data"
	}
	path := filepath.Join(dir, KEKFileName)
	key, err := seal.ReadKEKFile(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	n, err := NewStore(db).LatestSeq(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		// A process that started at the same moment made both: the file
		// comes before the key.
		if key, err := seal.ReadKEKFile(path); err == nil {
			return key, nil
		}
		return nil, fmt.Errorf("%w: restore %s, or point encryption.key_file or WAYBILL_ENCRYPTION_KEY at the key", ErrKEKFileMissing, path)
	}
	key, err = seal.CreateKEKFile(path)
	if errors.Is(err, os.ErrExist) {
		return seal.ReadKEKFile(path) // another process made it just now
	}
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	logger.InfoContext(ctx, "created a key-encryption key for encryption at rest: back it up with the data directory, "+
		"or move it out and set encryption.key_file", slog.String("path", abs))
	return key, nil
}

// Setup resolves the KEK, creates the first data key when there is none,
// and sets db.Keyring. With encryption off it leaves db.Keyring nil and
// returns a nil wrapper.
func Setup(ctx context.Context, db *sqldb.DB, opts Options) (seal.KeyWrapper, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, err := Wrapper(ctx, db, opts)
	if err != nil || w == nil {
		return nil, err
	}
	kr, err := Load(ctx, db, w, logger)
	if err != nil {
		return nil, err
	}
	if kr == nil {
		k, stored, err := NewStore(db).create(ctx, w, true)
		if err != nil {
			return nil, err
		}
		if stored {
			logger.InfoContext(ctx, "created the first data key", slog.String("key_id", k.ID))
		}
		if kr, err = Load(ctx, db, w, logger); err != nil {
			return nil, err
		}
		if kr == nil {
			return nil, errors.New("encryption: no data key after creating the first one")
		}
	}
	db.Keyring = kr
	return w, nil
}

// Rewrap wraps every data key with to instead of from, in one
// transaction, for a change of key-encryption key (a new key file, or a
// KMS). Sealed values do not change. Processes running with from keep
// their loaded keys until they restart, and must restart with to.
func Rewrap(ctx context.Context, db *sqldb.DB, from, to seal.KeyWrapper) (int, error) {
	keys, err := NewStore(db).List(ctx)
	if err != nil {
		return 0, err
	}
	type rewrapped struct {
		id, wrapped string
	}
	out := make([]rewrapped, 0, len(keys))
	for _, k := range keys {
		if k.KEKID != from.ID() {
			return 0, fmt.Errorf("data key %s: %w: %s, not the configured %s", k.ID, ErrWrongKEK, k.KEKID, from.ID())
		}
		key, err := from.Unwrap(ctx, k.Wrapped)
		if err != nil {
			return 0, fmt.Errorf("unwrapping data key %s: %w", k.ID, err)
		}
		w, err := to.Wrap(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("wrapping data key %s: %w", k.ID, err)
		}
		out = append(out, rewrapped{k.ID, base64.StdEncoding.EncodeToString(w)})
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		q := db.Dialect.Rebind(`UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE id = ? AND kek_id = ?`)
		for _, r := range out {
			res, err := tx.ExecContext(ctx, q, to.ID(), r.wrapped, r.id, from.ID())
			if err != nil {
				return fmt.Errorf("storing data key %s: %w", r.id, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("storing data key %s: changed meanwhile; try again", r.id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(out), nil
}
