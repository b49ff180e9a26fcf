package apikey

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
const keyColumns = `id, name, scopes, created_at, revoked_at, label, expires_at, rate, burst, last_used_at, customer`

// Store owns the api_keys table and verifies presented keys against a cached
// copy of it. Create one with NewStore; it is safe for concurrent use.
type Store struct {
	// CacheTTL is the longest time Verify trusts its cached copy of the key
	// table: a key revoked by another process stops working within it. Set
	// it before first use. Zero or negative means CacheTTLDefault. NewStore
	// sets it to CacheTTLDefault.
	CacheTTL time.Duration

	// DefaultLimit is the rate limit of keys that have none of their own
	// (Key.Limit nil); a zero Rate is unlimited. Set it before first use.
	DefaultLimit Limit

	// DefaultLabel is the label Create gives a key when none is asked for.
	// Set it before first use; it must satisfy CheckLabel.
	DefaultLabel string

	// RequireLabel, when set, is the only label Verify accepts: the
	// environment the server runs in. A key of another environment, or
	// of none, is refused as unknown. Set it before first use.
	RequireLabel string

	// Logger receives Run's warnings; nil discards them. Set it before Run.
	Logger *slog.Logger

	db  *sqldb.DB
	now func() time.Time // the clock; tests replace it
	q   struct {
		insert, byID, byName, list, revoke, load, touch string
	}

	// limiters holds a *rate.Limiter per key id that has been allowed a
	// request; reloads drop those of keys no longer active.
	limiters sync.Map
	// uses holds a *useState per key id that has been verified; reloads
	// drop those of keys no longer in the table.
	uses sync.Map
	// usesMu guards pendingUses.
	usesMu sync.Mutex
	// pendingUses are last-use times (Unix microseconds) waiting for Run to
	// write them, by key id.
	pendingUses map[string]int64
	// useSignal wakes Run when a use is pending.
	useSignal chan struct{}
	// useWrites counts last-use updates written, for tests.
	useWrites atomic.Uint64

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
		CacheTTL:    CacheTTLDefault,
		db:          db,
		now:         time.Now,
		reloading:   make(chan struct{}, 1),
		pendingUses: make(map[string]int64),
		useSignal:   make(chan struct{}, 1),
	}
	r := db.Dialect.Rebind
	// The insert is refused (no row) when an active key has the name.
	s.q.insert = r(`INSERT INTO api_keys (id, name, secret_hash, scopes, created_at, label, expires_at, rate, burst, customer)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),
			CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS INTEGER), CAST(? AS TEXT)
		WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?))`)
	s.q.touch = r(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`)
	s.q.byID = r(`SELECT ` + keyColumns + ` FROM api_keys WHERE id = ?`)
	s.q.byName = r(`SELECT ` + keyColumns + ` FROM api_keys WHERE name = ? ORDER BY created_at, id`)
	s.q.list = `SELECT ` + keyColumns + ` FROM api_keys ORDER BY created_at, id`
	s.q.revoke = r(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`)
	s.q.load = `SELECT ` + keyColumns + `, secret_hash FROM api_keys`
	return s
}

// CreateParams are what Store.CreateWith makes a key from.
type CreateParams struct {
	// Name says who or what uses the key: 1 to 64 characters of A-Z, a-z,
	// 0-9, '.', '_' or '-'. No active key may have it already.
	Name string
	// Scopes are the key's permissions; at least one.
	Scopes []Scope
	// Label names the key's environment (prod, test, …): empty, or 1 to 16
	// characters of a-z and 0-9. Empty takes the Store's DefaultLabel.
	Label string
	// ExpiresAt is when the key stops working; it must be in the future.
	// The zero time means never.
	ExpiresAt time.Time
	// Limit is the key's own rate limit (see CheckLimit); nil leaves the
	// Store's DefaultLimit in force.
	Limit *Limit
	// Customer binds the key to a customer, by its customer ref (1 to 128
	// printable characters without spaces): it then sees and manages only
	// that customer's subscriptions. Empty for the operator's keys.
	Customer string
}

// Create makes a key named name with the given scopes, the default label,
// no expiry and the default rate limit. It is CreateWith with only those.
func (s *Store) Create(ctx context.Context, name string, scopes []Scope) (string, *Key, error) {
	return s.CreateWith(ctx, &CreateParams{Name: name, Scopes: scopes})
}

// CreateWith makes a key and returns its plaintext, which cannot be
// recovered later, and its description. Bad parameters are an error
// matching ErrInvalid; a name an active key (neither revoked nor expired)
// already has is a *NameTakenError matching ErrNameTaken. The name of a
// revoked or expired key may be used again.
//
// The name check and the insert are one statement. On PostgreSQL two
// creations racing with the same name may still both succeed; Revoke then
// asks for an id.
func (s *Store) CreateWith(ctx context.Context, p *CreateParams) (string, *Key, error) {
	if err := checkName(p.Name); err != nil {
		return "", nil, err
	}
	scopes, err := checkScopes(p.Scopes)
	if err != nil {
		return "", nil, err
	}
	label := p.Label
	if label == "" {
		label = s.DefaultLabel
	}
	if err := checkLabel(label); err != nil {
		return "", nil, err
	}
	created := s.now().UTC().Truncate(time.Microsecond)
	if err := checkCustomer(p.Customer); err != nil {
		return "", nil, err
	}
	k := &Key{Name: p.Name, Scopes: scopes, CreatedAt: created, Label: label, Customer: p.Customer}
	var expires, rate, burst any
	if !p.ExpiresAt.IsZero() {
		t := p.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !t.After(created) {
			return "", nil, invalidError(fmt.Sprintf("expiry %s is not in the future", t.Format(time.RFC3339)))
		}
		k.ExpiresAt, expires = &t, t.UnixMicro()
	}
	if p.Limit != nil {
		l, err := CheckLimit(*p.Limit)
		if err != nil {
			return "", nil, err
		}
		k.Limit, rate, burst = &l, l.Rate, l.Burst
	}
	for range createAttempts {
		id, secret, hash := newPlaintext()
		var res sql.Result
		res, err = s.db.ExecContext(ctx, s.q.insert, id, p.Name, hex.EncodeToString(hash[:]), joinScopes(scopes), created.UnixMicro(),
			label, expires, rate, burst, p.Customer, p.Name, created.UnixMicro())
		if err = interpretError(err); err == nil {
			if n, rerr := res.RowsAffected(); rerr == nil && n == 0 {
				err = s.nameTaken(ctx, p.Name, created)
				break
			}
			s.gen.Add(1)
			k.ID = id
			return plaintext(label, id, secret), k, nil
		}
		if !errors.Is(err, errDuplicateID) {
			break
		}
	}
	return "", nil, fmt.Errorf("creating key %s: %w", p.Name, err)
}

// nameTaken returns the *NameTakenError that refused a key named name.
func (s *Store) nameTaken(ctx context.Context, name string, now time.Time) error {
	rows, err := s.db.Reader.QueryContext(ctx, s.q.byName, name)
	if err != nil {
		return interpretError(err)
	}
	defer rows.Close()
	taken := &NameTakenError{Name: name}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return err
		}
		if k.Active(now) {
			taken.ID = k.ID
		}
	}
	if err := rows.Err(); err != nil {
		return interpretError(err)
	}
	return taken
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
// has that id, a name: the one active key (neither revoked nor expired)
// with that name, or the one key with that name when none is active. Names
// are unique among active keys, but tables from before that rule may hold
// several. Revoking a revoked key changes nothing and returns it; an
// expired key can be revoked. Errors: ErrNotFound when nothing matches, an
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
	now := s.now()
	var all, active []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return Key{}, err
		}
		all = append(all, k)
		if k.Active(now) {
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
		k                      Key
		scopes                 string
		created                int64
		revoked, expires, used sql.NullInt64
		rate                   sql.NullFloat64
		burst                  sql.NullInt64
	)
	dest := append([]any{&k.ID, &k.Name, &scopes, &created, &revoked, &k.Label, &expires, &rate, &burst, &used, &k.Customer}, extra...)
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
	k.RevokedAt, k.ExpiresAt, k.LastUsedAt = microTime(revoked), microTime(expires), microTime(used)
	if rate.Valid {
		k.Limit = &Limit{Rate: rate.Float64, Burst: int(burst.Int64)}
	}
	return k, nil
}

// microTime turns a nullable Unix-microsecond column into a time.
func microTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
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

// checkCustomer checks a key's customer ref: empty, or 1 to 128 printable
// ASCII characters without spaces.
func checkCustomer(c string) error {
	if len(c) > 128 {
		return invalidError("customer ref is longer than 128 characters")
	}
	for i := range len(c) {
		if c[i] <= ' ' || c[i] > '~' {
			return invalidError(fmt.Sprintf("customer ref %q: only printable characters without spaces", c))
		}
	}
	return nil
}
