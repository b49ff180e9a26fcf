package apikey

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// CacheTTLDefault is how long a Store trusts its cached key table when
// CacheTTL is not set.
const CacheTTLDefault = 5 * time.Second

// unknownReloadInterval is the least time between two reloads triggered by
// ids missing from the cache.
const unknownReloadInterval = time.Second

// createAttempts bounds the retries when a random id is already taken.
const createAttempts = 3

// errDuplicateID means the id of a new key is already taken.
var errDuplicateID = errors.New("key id already taken")

// keyColumns are the columns scanKey reads, in order.
const keyColumns = `id, name, scopes, created_at, revoked_at`

// Store owns the api_keys table and verifies presented keys against a cached
// copy of it. Create one with NewStore; it is safe for concurrent use.
type Store struct {
	// CacheTTL is the longest time Verify trusts its cached copy of the key
	// table: a key revoked by another process stops working within it. Set
	// it before first use. Zero or negative means CacheTTLDefault. NewStore
	// sets it to CacheTTLDefault.
	CacheTTL time.Duration

	db  *sqldb.DB
	now func() time.Time // the clock; tests replace it
	q   struct {
		insert, byID, byName, list, revoke, load string
	}

	// snap is the cached key table; it is never modified once stored.
	snap atomic.Pointer[snapshot]
	// gen counts this Store's writes. A snapshot loaded before the latest
	// write is stale whatever its age.
	gen atomic.Uint64
	// reloading is a one-slot semaphore held while the cache reloads; unlike
	// a mutex, waiting on it respects a context.
	reloading chan struct{}
	// failure is the last reload's error, or nil; guarded by reloading.
	failure *reloadFailure
	// loads counts reloads of the cache, for tests.
	loads atomic.Uint64
}

// NewStore returns a Store on db's api_keys table.
func NewStore(db *sqldb.DB) *Store {
	s := &Store{
		CacheTTL:  CacheTTLDefault,
		db:        db,
		now:       time.Now,
		reloading: make(chan struct{}, 1),
	}
	r := db.Dialect.Rebind
	s.q.insert = r(`INSERT INTO api_keys (id, name, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)`)
	s.q.byID = r(`SELECT ` + keyColumns + ` FROM api_keys WHERE id = ?`)
	s.q.byName = r(`SELECT ` + keyColumns + ` FROM api_keys WHERE name = ? ORDER BY created_at, id`)
	s.q.list = `SELECT ` + keyColumns + ` FROM api_keys ORDER BY created_at, id`
	s.q.revoke = r(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`)
	s.q.load = `SELECT ` + keyColumns + `, secret_hash FROM api_keys`
	return s
}

// Create makes a key named name with the given scopes and returns its
// plaintext, which cannot be recovered later, and its description. name is
// 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-' and need not be
// unique. A bad name or scope list is an error matching ErrInvalid.
func (s *Store) Create(ctx context.Context, name string, scopes []Scope) (string, *Key, error) {
	if err := checkName(name); err != nil {
		return "", nil, err
	}
	scopes, err := checkScopes(scopes)
	if err != nil {
		return "", nil, err
	}
	created := s.now().UTC().Truncate(time.Microsecond)
	for range createAttempts {
		id, secret, hash := newPlaintext()
		_, err = s.db.ExecContext(ctx, s.q.insert, id, name, hex.EncodeToString(hash[:]), joinScopes(scopes), created.UnixMicro())
		if err = interpretError(err); err == nil {
			s.gen.Add(1)
			k := &Key{ID: id, Name: name, Scopes: scopes, CreatedAt: created}
			return keyPrefix + id + "_" + secret, k, nil
		}
		if !errors.Is(err, errDuplicateID) {
			break
		}
	}
	return "", nil, fmt.Errorf("creating key %s: %w", name, err)
}

// List returns every key, active and revoked, oldest first. Keys carry no
// secret material.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.q.list)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", interpretError(err))
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("listing keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing keys: %w", interpretError(err))
	}
	return out, nil
}

// Revoke revokes a key and returns it. idOrName is a key id or, when no key
// has that id, a name: the one active key with that name, or the one key
// with that name when none is active. Revoking a revoked key changes nothing
// and returns it. Errors: ErrNotFound when nothing matches, an
// *AmbiguousError (matching ErrAmbiguous) when a name matches several keys.
func (s *Store) Revoke(ctx context.Context, idOrName string) (*Key, error) {
	var out *Key
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		k, err := s.resolve(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			out = &k
			return nil
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		res, err := tx.ExecContext(ctx, s.q.revoke, now.UnixMicro(), k.ID)
		if err != nil {
			return interpretError(err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			k.RevokedAt = &now
			out = &k
			return nil
		}
		// Revoked concurrently: report the time that won.
		k, err = scanKey(tx.QueryRowContext(ctx, s.q.byID, k.ID))
		out = &k
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoking key %s: %w", idOrName, err)
	}
	s.gen.Add(1)
	return out, nil
}

// resolve finds the key Revoke means by idOrName.
func (s *Store) resolve(ctx context.Context, tx *sql.Tx, idOrName string) (Key, error) {
	k, err := scanKey(tx.QueryRowContext(ctx, s.q.byID, idOrName))
	if !errors.Is(err, ErrNotFound) {
		return k, err
	}
	rows, err := tx.QueryContext(ctx, s.q.byName, idOrName)
	if err != nil {
		return Key{}, interpretError(err)
	}
	defer rows.Close()
	var all, active []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return Key{}, err
		}
		all = append(all, k)
		if k.RevokedAt == nil {
			active = append(active, k)
		}
	}
	if err := rows.Err(); err != nil {
		return Key{}, interpretError(err)
	}
	matches := active
	if len(active) == 0 {
		matches = all
	}
	switch len(matches) {
	case 0:
		return Key{}, ErrNotFound
	case 1:
		return matches[0], nil
	}
	amb := &AmbiguousError{Name: idOrName}
	for _, k := range matches {
		amb.IDs = append(amb.IDs, k.ID)
	}
	return Key{}, amb
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanKey reads keyColumns, then extra, from sc.
func scanKey(sc scanner, extra ...any) (Key, error) {
	var (
		k       Key
		scopes  string
		created int64
		revoked sql.NullInt64
	)
	dest := append([]any{&k.ID, &k.Name, &scopes, &created, &revoked}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return Key{}, interpretError(err)
	}
	for p := range strings.SplitSeq(scopes, ",") {
		if p != "" {
			k.Scopes = append(k.Scopes, Scope(p))
		}
	}
	if k.Scopes == nil {
		k.Scopes = []Scope{}
	}
	k.CreatedAt = time.UnixMicro(created).UTC()
	if revoked.Valid {
		t := time.UnixMicro(revoked.Int64).UTC()
		k.RevokedAt = &t
	}
	return k, nil
}

func joinScopes(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		parts[i] = string(sc)
	}
	return strings.Join(parts, ",")
}

// interpretError translates driver errors into this package's: no rows
// becomes ErrNotFound, a unique violation errDuplicateID. Other errors are
// returned unchanged.
func interpretError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case sqldb.IsUniqueViolation(err):
		return errDuplicateID
	}
	return err
}
