package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"
)

// snapshot is one load of the key table. It is never modified once built.
type snapshot struct {
	entries  map[string]*entry
	loadedAt time.Time // when the load began: no older write is missing
	gen      uint64    // Store.gen when the load began
}

// entry is one cached key.
type entry struct {
	key  Key
	hash [sha256.Size]byte
	// ok is false when the stored hash is not 64 hex digits; such a key
	// never verifies.
	ok bool
}

// reloadFailure is a failed reload, shared with the callers that waited for
// it so that they do not each retry against a failing database.
type reloadFailure struct {
	err error
	at  time.Time
}

// noHash stands in for the hash of an unknown id, so that an unknown id and
// a wrong secret take the same work.
var noHash [sha256.Size]byte

// Verify checks a presented plaintext key and returns the key it names.
// Errors: ErrMalformed when presented is not shaped like a key, ErrUnknown
// when no key has its id, the secret is wrong or the plaintext's label is
// not the key's, ErrRevoked when the key is revoked and ErrExpired when it
// has expired (both checked after the secret). Any other error means the
// key table could not be read (or ctx ended while waiting for it).
//
// Verify answers from the Store's cache (see the package documentation) and
// does not touch the database while the cache is fresh. A successful
// verification is noted as the key's last use, which Run writes later. The
// returned Key is the caller's own copy.
func (s *Store) Verify(ctx context.Context, presented string) (*Key, error) {
	label, id, secret, ok := parsePlaintext(presented)
	if !ok {
		return nil, ErrMalformed
	}
	sum := hashSecret(secret)
	e, err := s.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("verifying key %s: %w", id, err)
	}
	want := &noHash
	if e != nil && e.ok {
		want = &e.hash
	}
	// The comparison takes constant time, so a client cannot learn the
	// stored hash byte by byte.
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || e == nil || !e.ok || e.key.Label != label ||
		(s.RequireLabel != "" && label != s.RequireLabel) {
		return nil, ErrUnknown
	}
	if e.key.RevokedAt != nil {
		return nil, ErrRevoked
	}
	now := s.now()
	if e.key.Expired(now) {
		return nil, ErrExpired
	}
	s.noteUse(id, now)
	return e.key.clone(), nil
}

// lookup returns the cached entry of id, or nil when no key has that id. It
// reloads the cache when it is stale, or when id is missing and the cache is
// more than unknownReloadInterval old.
func (s *Store) lookup(ctx context.Context, id string) (*entry, error) {
	snap := s.snap.Load()
	if !s.fresh(snap) {
		var err error
		if snap, err = s.reload(ctx, s.fresh); err != nil {
			return nil, err
		}
	}
	if e := snap.entries[id]; e != nil {
		return e, nil
	}
	if s.recent(snap) {
		return nil, nil
	}
	snap, err := s.reload(ctx, s.recent)
	if err != nil {
		return nil, err
	}
	return snap.entries[id], nil
}

// fresh reports whether snap may answer Verify: loaded after this Store's
// last write and less than CacheTTL ago.
func (s *Store) fresh(snap *snapshot) bool {
	ttl := s.CacheTTL
	if ttl <= 0 {
		ttl = CacheTTLDefault
	}
	return snap != nil && snap.gen == s.gen.Load() && s.now().Sub(snap.loadedAt) < ttl
}

// recent reports whether snap is too young to be reloaded for an unknown id.
func (s *Store) recent(snap *snapshot) bool {
	return snap != nil && snap.gen == s.gen.Load() && s.now().Sub(snap.loadedAt) < unknownReloadInterval
}

// reload loads the key table into the cache and returns the new snapshot.
// Reloads run one at a time: a caller that waited for another's reload
// checks good on the current snapshot first and returns it when it is good
// enough, and shares that reload's error when it failed.
func (s *Store) reload(ctx context.Context, good func(*snapshot) bool) (*snapshot, error) {
	waitStart := s.now()
	select {
	case s.reloading <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the key cache: %w", context.Cause(ctx))
	}
	defer func() { <-s.reloading }()

	if cur := s.snap.Load(); good(cur) {
		return cur, nil
	}
	if f := s.failure; f != nil && !f.at.Before(waitStart) {
		return nil, f.err
	}
	snap := &snapshot{gen: s.gen.Load(), loadedAt: s.now()}
	var err error
	snap.entries, err = s.load(ctx)
	if err != nil {
		// A reload cut short by this caller's context says nothing about
		// the database; let the next caller try.
		if ctx.Err() == nil {
			s.failure = &reloadFailure{err: err, at: s.now()}
		}
		return nil, err
	}
	s.failure = nil
	s.snap.Store(snap)
	s.prune(snap)
	return snap, nil
}

// load reads the whole key table.
func (s *Store) load(ctx context.Context) (map[string]*entry, error) {
	s.loads.Add(1)
	rows, err := s.db.Reader.QueryContext(ctx, s.q.load)
	if err != nil {
		return nil, fmt.Errorf("loading keys: %w", interpretError(err))
	}
	defer rows.Close()
	m := make(map[string]*entry)
	for rows.Next() {
		var hashHex string
		k, err := scanKey(rows, &hashHex)
		if err != nil {
			return nil, fmt.Errorf("loading keys: %w", err)
		}
		e := &entry{key: k}
		if len(hashHex) == hex.EncodedLen(sha256.Size) {
			_, err := hex.Decode(e.hash[:], []byte(hashHex))
			e.ok = err == nil
		}
		m[k.ID] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading keys: %w", interpretError(err))
	}
	return m, nil
}

// Current returns the key with id as it stands now, for a caller that
// verified its secret earlier, such as a console session made by signing in
// with it. Errors as Verify: ErrUnknown when no key has the id, ErrRevoked
// and ErrExpired; any other error means the key table could not be read.
// It does not note a use.
func (s *Store) Current(ctx context.Context, id string) (*Key, error) {
	e, err := s.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("looking up key %s: %w", id, err)
	}
	if e == nil || !e.ok {
		return nil, ErrUnknown
	}
	if e.key.RevokedAt != nil {
		return nil, ErrRevoked
	}
	if e.key.Expired(s.now()) {
		return nil, ErrExpired
	}
	return e.key.clone(), nil
}
