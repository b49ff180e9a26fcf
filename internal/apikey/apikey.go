// Package apikey issues and verifies Waybill's API keys.
//
// A key is "wb_<id>_<secret>": the id (12 hex characters) names the key;
// the secret (32 random bytes, base64url) proves it. Only the SHA-256 of
// the secret is stored: a random 256-bit secret needs no slow password
// hash. Keys carry scopes; admin implies every other scope.
//
// Verify is on every request's path, so a Store caches the key table in
// memory and reloads it at most every CacheTTL (5 s by default): a key
// revoked from another process (the CLI) stops working within that time.
// An id the cache does not know triggers one reload, at most once a second.
// A Store is safe for concurrent use.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// Scope is a permission a key carries.
type Scope string

// The scopes.
const (
	EventsWrite   Scope = "events:write"
	ShipmentsRead Scope = "shipments:read"
	Admin         Scope = "admin"
)

var allScopes = []Scope{EventsWrite, ShipmentsRead, Admin}

// Errors of Verify and Revoke.
var (
	ErrMalformed = errors.New("malformed API key")
	ErrUnknown   = errors.New("unknown API key")
	ErrRevoked   = errors.New("API key revoked")
	ErrNotFound  = sqldb.ErrNotFound
)

// ParseScopes parses a comma-separated list of scopes.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		sc := Scope(p)
		if !slices.Contains(allScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q: use events:write, shipments:read or admin", p)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scopes: use events:write, shipments:read or admin")
	}
	return out, nil
}

// Key describes an API key; it never holds the secret.
type Key struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []Scope    `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`

	hash []byte
}

// Has reports whether k carries scope s (admin carries every scope).
func (k *Key) Has(s Scope) bool {
	return slices.Contains(k.Scopes, s) || slices.Contains(k.Scopes, Admin)
}

// CacheTTLDefault is how long a Store trusts its cached key table.
const CacheTTLDefault = 5 * time.Second

// Store owns the api_keys table.
type Store struct {
	db *sqldb.DB
	// CacheTTL is how long the cached key table is trusted. Set it before
	// first use. Defaults to CacheTTLDefault.
	CacheTTL time.Duration

	q struct{ insert, list, revoke string }

	mu         sync.RWMutex
	cache      map[string]*Key
	loadedAt   time.Time
	reloadMu   sync.Mutex
	lastForced time.Time
}

// NewStore returns a Store on db.
func NewStore(db *sqldb.DB) *Store {
	s := &Store{db: db, CacheTTL: CacheTTLDefault}
	r := db.Dialect.Rebind
	s.q.insert = r(`INSERT INTO api_keys (id, name, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)`)
	s.q.list = `SELECT id, name, secret_hash, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at, id`
	s.q.revoke = r(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`)
	return s
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Create makes a key and returns its plaintext, shown once.
func (s *Store) Create(ctx context.Context, name string, scopes []Scope) (string, *Key, error) {
	if !nameRE.MatchString(name) {
		return "", nil, errors.New("key name must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
	}
	if len(scopes) == 0 {
		return "", nil, errors.New("a key needs at least one scope")
	}
	var idb [6]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", nil, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, err
	}
	id := hex.EncodeToString(idb[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(sec))
	k := &Key{ID: id, Name: name, Scopes: scopes, CreatedAt: time.Now().UTC().Truncate(time.Microsecond), hash: sum[:]}
	_, err := s.db.ExecContext(ctx, s.q.insert, id, name, hex.EncodeToString(sum[:]), joinScopes(scopes), k.CreatedAt.UnixMicro())
	if err != nil {
		return "", nil, fmt.Errorf("creating key: %w", err)
	}
	s.mu.Lock()
	if s.cache != nil {
		s.cache[id] = k
	}
	s.mu.Unlock()
	return "wb_" + id + "_" + sec, k, nil
}

func joinScopes(sc []Scope) string {
	parts := make([]string, len(sc))
	for i, s := range sc {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// List returns every key, oldest first, without secrets.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = *k
		out[i].hash = nil
	}
	return out, nil
}

func (s *Store) load(ctx context.Context) ([]*Key, error) {
	rows, err := s.db.QueryContext(ctx, s.q.list)
	if err != nil {
		return nil, fmt.Errorf("loading keys: %w", err)
	}
	defer rows.Close()
	var out []*Key
	for rows.Next() {
		var k Key
		var hash, scopes string
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Name, &hash, &scopes, &created, &revoked); err != nil {
			return nil, fmt.Errorf("loading keys: %w", err)
		}
		k.hash, _ = hex.DecodeString(hash)
		for _, p := range strings.Split(scopes, ",") {
			k.Scopes = append(k.Scopes, Scope(p))
		}
		k.CreatedAt = time.UnixMicro(created).UTC()
		if revoked.Valid {
			t := time.UnixMicro(revoked.Int64).UTC()
			k.RevokedAt = &t
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}

// Revoke revokes a key by id, or by name when one active key has it.
func (s *Store) Revoke(ctx context.Context, idOrName string) (*Key, error) {
	keys, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	var match []*Key
	for _, k := range keys {
		if k.ID == idOrName {
			match = []*Key{k}
			break
		}
		if k.Name == idOrName && k.RevokedAt == nil {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		return nil, fmt.Errorf("key %s: %w", idOrName, ErrNotFound)
	case 1:
	default:
		var ids []string
		for _, k := range match {
			ids = append(ids, k.ID)
		}
		return nil, fmt.Errorf("several active keys are named %s: revoke by id (%s)", idOrName, strings.Join(ids, ", "))
	}
	k := match[0]
	if k.RevokedAt == nil {
		now := time.Now().UTC().Truncate(time.Microsecond)
		if _, err := s.db.ExecContext(ctx, s.q.revoke, now.UnixMicro(), k.ID); err != nil {
			return nil, fmt.Errorf("revoking key %s: %w", k.ID, err)
		}
		k.RevokedAt = &now
		s.mu.Lock()
		if s.cache != nil {
			s.cache[k.ID] = k
		}
		s.mu.Unlock()
	}
	out := *k
	out.hash = nil
	return &out, nil
}

// Verify checks a presented key and returns it.
func (s *Store) Verify(ctx context.Context, presented string) (*Key, error) {
	rest, ok := strings.CutPrefix(presented, "wb_")
	if !ok {
		return nil, ErrMalformed
	}
	id, sec, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(sec) != 43 {
		return nil, ErrMalformed
	}
	if _, err := hex.DecodeString(id); err != nil {
		return nil, ErrMalformed
	}
	if _, err := base64.RawURLEncoding.DecodeString(sec); err != nil {
		return nil, ErrMalformed
	}
	k, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, ErrUnknown
	}
	sum := sha256.Sum256([]byte(sec))
	if subtle.ConstantTimeCompare(sum[:], k.hash) != 1 {
		return nil, ErrUnknown
	}
	if k.RevokedAt != nil {
		return nil, ErrRevoked
	}
	return k, nil
}

func (s *Store) lookup(ctx context.Context, id string) (*Key, error) {
	s.mu.RLock()
	k, fresh := s.cache[id], s.cache != nil && time.Since(s.loadedAt) < s.CacheTTL
	s.mu.RUnlock()
	if fresh && k != nil {
		return k, nil
	}
	if err := s.reload(ctx, !fresh); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cache[id], nil
}

// reload refreshes the cache; a reload forced by an unknown id happens at
// most once a second.
func (s *Store) reload(ctx context.Context, stale bool) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.mu.RLock()
	fresh := s.cache != nil && time.Since(s.loadedAt) < s.CacheTTL
	s.mu.RUnlock()
	if !stale && fresh && time.Since(s.lastForced) < time.Second {
		return nil
	}
	if stale && fresh {
		return nil // another caller reloaded meanwhile
	}
	keys, err := s.load(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]*Key, len(keys))
	for _, k := range keys {
		m[k.ID] = k
	}
	s.mu.Lock()
	s.cache, s.loadedAt = m, time.Now()
	if !stale {
		s.lastForced = s.loadedAt
	}
	s.mu.Unlock()
	return nil
}
