package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waybill/waybill/internal/sqldb"
)

// Scope is a permission a key carries.
type Scope string

// The scopes a key can carry.
const (
	// EventsWrite allows posting events to the intake.
	EventsWrite Scope = "events:write"
	// ShipmentsRead allows reading shipments.
	ShipmentsRead Scope = "shipments:read"
	// ReviewWrite allows deciding review items: approving or rejecting
	// proofs of delivery and exceptions.
	ReviewWrite Scope = "review:write"
	// Admin allows everything, including managing keys and dead letters.
	Admin Scope = "admin"
)

// allScopes lists every scope, in the order error messages name them.
var allScopes = []Scope{EventsWrite, ShipmentsRead, ReviewWrite, Admin}

var (
	// ErrMalformed is returned by Verify for a string that is not shaped
	// like a key.
	ErrMalformed = errors.New("malformed API key")
	// ErrUnknown is returned by Verify for a key whose id does not exist or
	// whose secret is wrong. The two cases are deliberately the same error.
	ErrUnknown = errors.New("unknown API key")
	// ErrRevoked is returned by Verify for a revoked key presented with its
	// correct secret.
	ErrRevoked = errors.New("API key revoked")
	// ErrNotFound is returned by Revoke when no key has the given id or
	// name. It is sqldb.ErrNotFound.
	ErrNotFound = sqldb.ErrNotFound
	// ErrAmbiguous is returned (as an *AmbiguousError) by Revoke when a name
	// matches several keys.
	ErrAmbiguous = errors.New("ambiguous API key name")
	// ErrInvalid is returned by ParseScopes and Create for a bad name or
	// scope list. The error's text says what is wrong and may be shown to
	// the user.
	ErrInvalid = errors.New("invalid API key parameters")
)

// invalidError is a user-facing validation message that matches ErrInvalid.
type invalidError string

func (e invalidError) Error() string { return string(e) }

func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// AmbiguousError is returned by Revoke when a name matches several keys; the
// caller must revoke by id. It matches ErrAmbiguous.
type AmbiguousError struct {
	// Name is the name that was looked up.
	Name string
	// IDs are the ids of the matching keys, oldest first.
	IDs []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%d keys are named %s: revoke one by id (%s)", len(e.IDs), e.Name, strings.Join(e.IDs, ", "))
}

// Unwrap returns ErrAmbiguous.
func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// ParseScopes parses a comma-separated list of scopes such as
// "events:write,shipments:read". Blanks around names are ignored and
// duplicates dropped. An unknown scope or an empty list is an error matching
// ErrInvalid.
func ParseScopes(s string) ([]Scope, error) {
	var names []Scope
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			names = append(names, Scope(p))
		}
	}
	return checkScopes(names)
}

// checkScopes validates scopes and returns them without duplicates, in their
// first-seen order.
func checkScopes(scopes []Scope) ([]Scope, error) {
	var out []Scope
	for _, sc := range scopes {
		if !slices.Contains(allScopes, sc) {
			return nil, invalidError(fmt.Sprintf("unknown scope %q: want %s", sc, scopeList()))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, invalidError("no scopes: want one or more of " + scopeList())
	}
	return out, nil
}

func scopeList() string {
	parts := make([]string, len(allScopes))
	for i, sc := range allScopes {
		parts[i] = string(sc)
	}
	return strings.Join(parts, ", ")
}

// Key describes an API key. It never holds secret material.
type Key struct {
	// ID names the key; it is the <id> part of the plaintext and not secret.
	ID string `json:"id"`
	// Name says who or what uses the key. Names need not be unique.
	Name string `json:"name"`
	// Scopes are the key's permissions.
	Scopes []Scope `json:"scopes"`
	// CreatedAt is when the key was created, in UTC, to the microsecond.
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is when the key was revoked, or nil while it is active.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Has reports whether k carries scope s. Admin carries every scope.
func (k Key) Has(s Scope) bool {
	return slices.Contains(k.Scopes, s) || slices.Contains(k.Scopes, Admin)
}

// clone returns a copy of k that shares no memory with it.
func (k Key) clone() *Key {
	k.Scopes = slices.Clone(k.Scopes)
	if k.RevokedAt != nil {
		t := *k.RevokedAt
		k.RevokedAt = &t
	}
	return &k
}

// The plaintext format: "wb_" + id + "_" + secret.
const (
	keyPrefix    = "wb_"
	idBytes      = 6
	idLen        = 2 * idBytes // hex
	secretBytes  = 32
	secretLen    = (secretBytes*8 + 5) / 6 // base64 without padding: 43
	plaintextLen = len(keyPrefix) + idLen + 1 + secretLen
)

// newPlaintext returns a fresh id, secret and the SHA-256 of the secret.
// crypto/rand.Read never returns an error (since Go 1.24 it crashes the
// program instead), so there is nothing to handle.
func newPlaintext() (id, secret string, hash [sha256.Size]byte) {
	var idb [idBytes]byte
	var sb [secretBytes]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(sb[:])
	id = hex.EncodeToString(idb[:])
	secret = base64.RawURLEncoding.EncodeToString(sb[:])
	return id, secret, hashSecret(secret)
}

// hashSecret returns the SHA-256 of the secret's text. The secret is 256
// random bits, so a fast hash is enough: no password-hashing function
// (bcrypt, argon2) is needed to resist guessing, and Verify stays cheap.
func hashSecret(secret string) [sha256.Size]byte {
	// Copying into an array keeps the conversion off the heap.
	var buf [secretLen]byte
	if len(secret) != secretLen {
		return sha256.Sum256([]byte(secret))
	}
	copy(buf[:], secret)
	return sha256.Sum256(buf[:])
}

// parsePlaintext splits a presented key into id and secret, checking its
// shape strictly: lowercase hex id, canonical unpadded base64url secret of
// 32 bytes. It does not allocate.
func parsePlaintext(s string) (id, secret string, ok bool) {
	if len(s) != plaintextLen || !strings.HasPrefix(s, keyPrefix) || s[len(keyPrefix)+idLen] != '_' {
		return "", "", false
	}
	id = s[len(keyPrefix) : len(keyPrefix)+idLen]
	secret = s[len(keyPrefix)+idLen+1:]
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", false
		}
	}
	for i := range len(secret) {
		v := b64Value(secret[i])
		if v < 0 {
			return "", "", false
		}
		// 43 characters carry 258 bits; the last character's low two bits
		// are padding and must be zero in the canonical encoding.
		if i == len(secret)-1 && v&3 != 0 {
			return "", "", false
		}
	}
	return id, secret, true
}

// b64Value returns the value of a base64url character, or -1.
func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// checkName validates a key name: 1 to 64 characters of A-Z, a-z, 0-9, '.',
// '_' or '-'.
func checkName(name string) error {
	ok := len(name) >= 1 && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return invalidError(fmt.Sprintf("key name %q: want 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'", name))
	}
	return nil
}
