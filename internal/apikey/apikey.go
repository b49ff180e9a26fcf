package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
	// ChangesApprove allows listing, approving and rejecting pending
	// changes of rating rules, source profiles and JSON mappings.
	ChangesApprove Scope = "changes:approve"
	// SubscriptionsWrite allows managing event subscriptions: a
	// customer's key, only its own.
	SubscriptionsWrite Scope = "subscriptions:write"
	// FinanceApprove allows running end-of-day reconciliations with Odoo
	// and approving or rejecting them (approving posts the day's draft
	// invoices).
	FinanceApprove Scope = "finance:approve"
	// TrackingWrite allows creating and revoking the signed links to the
	// public tracking pages of shipments.
	TrackingWrite Scope = "tracking:write"
	// Admin allows everything, including managing keys and dead letters.
	Admin Scope = "admin"
)

// allScopes lists every scope, in the order error messages name them.
var allScopes = []Scope{EventsWrite, ShipmentsRead, ReviewWrite, ChangesApprove, FinanceApprove, SubscriptionsWrite, TrackingWrite, Admin}

// Scopes returns every scope a key can carry, in the order error messages
// name them. The caller owns the returned slice.
func Scopes() []Scope { return slices.Clone(allScopes) }

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
	// ErrExpired is returned by Verify for an expired key presented with its
	// correct secret.
	ErrExpired = errors.New("API key expired")
	// ErrNameTaken is returned (as a *NameTakenError) by Create when an
	// active key already has the name.
	ErrNameTaken = errors.New("API key name taken")
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

// NameTakenError is returned by Create when an active key (neither revoked
// nor expired) already has the name. It matches ErrNameTaken.
type NameTakenError struct {
	// Name is the name asked for.
	Name string
	// ID is the id of the active key that has it.
	ID string
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("an active key is already named %s (%s): revoke it first or choose another name", e.Name, e.ID)
}

// Unwrap returns ErrNameTaken.
func (e *NameTakenError) Unwrap() error { return ErrNameTaken }

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
	// Name says who or what uses the key. No two active keys (neither
	// revoked nor expired) share a name; Create refuses a taken one.
	Name string `json:"name"`
	// Scopes are the key's permissions.
	Scopes []Scope `json:"scopes"`
	// CreatedAt is when the key was created, in UTC, to the microsecond.
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is when the key was revoked, or nil while it is active.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Label names the environment the key belongs to, such as prod or
	// test, or is empty. It is part of the key's plaintext.
	Label string `json:"label"`
	// ExpiresAt is when the key stops working, in UTC, or nil when it does
	// not expire.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Limit is the key's own rate limit, or nil when the server's default
	// (server.key_rate, server.key_burst) applies.
	Limit *Limit `json:"rate_limit,omitempty"`
	// LastUsedAt is when a request last authenticated with the key, in UTC,
	// or nil when none has. It is recorded at most once a minute
	// (LastUseInterval), so it may be up to that much behind.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Customer is the customer ref the key belongs to, or empty for the
	// operator's keys. A customer's key manages only that customer's
	// subscriptions.
	Customer string `json:"customer,omitempty"`
}

// Limit is a rate limit: a token bucket refilled at Rate tokens a second
// that holds at most Burst. Each request takes one token.
type Limit struct {
	// Rate is the sustained number of requests a second. Zero means
	// unlimited.
	Rate float64 `json:"rate"`
	// Burst is how many requests may come at once, at least 1 when Rate is
	// positive; 0 when Rate is zero.
	Burst int `json:"burst"`
}

// Unlimited reports whether l lets every request through.
func (l Limit) Unlimited() bool { return l.Rate <= 0 }

// String returns "50/s burst 100", or "unlimited".
func (l Limit) String() string {
	if l.Unlimited() {
		return "unlimited"
	}
	return strconv.FormatFloat(l.Rate, 'f', -1, 64) + "/s burst " + strconv.Itoa(l.Burst)
}

// MaxRate is the highest rate a Limit may have, in requests a second.
const MaxRate = 1e6

// CheckLimit validates l and fills in a missing burst: a positive Rate with
// Burst 0 gets Burst = Rate rounded up, one second's worth. A zero Rate
// (unlimited) must have Burst 0. Errors match ErrInvalid.
func CheckLimit(l Limit) (Limit, error) {
	switch {
	case math.IsNaN(l.Rate) || l.Rate < 0 || l.Rate > MaxRate:
		return l, invalidError(fmt.Sprintf("rate %v: want 0 (unlimited) to %g requests a second", l.Rate, MaxRate))
	case l.Burst < 0 || l.Burst > int(MaxRate):
		return l, invalidError(fmt.Sprintf("burst %d: want 1 to %d", l.Burst, int(MaxRate)))
	case l.Rate == 0 && l.Burst != 0:
		return l, invalidError("burst without a rate: a zero rate is unlimited and takes no burst")
	case l.Rate > 0 && l.Burst == 0:
		l.Burst = int(math.Ceil(l.Rate))
	}
	return l, nil
}

// Expired reports whether k has expired at now.
func (k Key) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// Active reports whether k is neither revoked nor expired at now.
func (k Key) Active(now time.Time) bool {
	return k.RevokedAt == nil && !k.Expired(now)
}

// Has reports whether k carries scope s. Admin carries every scope.
func (k Key) Has(s Scope) bool {
	return slices.Contains(k.Scopes, s) || slices.Contains(k.Scopes, Admin)
}

// clone returns a copy of k that shares no memory with it.
func (k Key) clone() *Key {
	k.Scopes = slices.Clone(k.Scopes)
	for _, p := range []**time.Time{&k.RevokedAt, &k.ExpiresAt, &k.LastUsedAt} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	if k.Limit != nil {
		l := *k.Limit
		k.Limit = &l
	}
	return &k
}

// The plaintext format: "wb_" + id + "_" + secret for a key without a
// label, "wb_" + label + "_" + id + "_" + secret for one with a label.
const (
	keyPrefix    = "wb_"
	idBytes      = 6
	idLen        = 2 * idBytes // hex
	secretBytes  = 32
	secretLen    = (secretBytes*8 + 5) / 6 // base64 without padding: 43
	plaintextLen = len(keyPrefix) + idLen + 1 + secretLen
	maxLabelLen  = 16
)

// plaintext assembles a key's plaintext.
func plaintext(label, id, secret string) string {
	if label == "" {
		return keyPrefix + id + "_" + secret
	}
	return keyPrefix + label + "_" + id + "_" + secret
}

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

// parsePlaintext splits a presented key into label, id and secret, checking
// its shape strictly: a label as checkLabel wants it (or none), lowercase hex
// id, canonical unpadded base64url secret of 32 bytes. It does not allocate.
func parsePlaintext(s string) (label, id, secret string, ok bool) {
	if len(s) < plaintextLen || len(s) > plaintextLen+maxLabelLen+1 || !strings.HasPrefix(s, keyPrefix) {
		return "", "", "", false
	}
	// The id and secret are at fixed offsets from the end.
	rest := s[len(s)-idLen-1-secretLen:]
	if rest[idLen] != '_' {
		return "", "", "", false
	}
	if head := s[len(keyPrefix) : len(s)-len(rest)]; head != "" {
		label, ok = strings.CutSuffix(head, "_")
		if !ok || label == "" || !validLabel(label) {
			return "", "", "", false
		}
	}
	id = rest[:idLen]
	secret = rest[idLen+1:]
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", "", false
		}
	}
	for i := range len(secret) {
		v := b64Value(secret[i])
		if v < 0 {
			return "", "", "", false
		}
		// 43 characters carry 258 bits; the last character's low two bits
		// are padding and must be zero in the canonical encoding.
		if i == len(secret)-1 && v&3 != 0 {
			return "", "", "", false
		}
	}
	return label, id, secret, true
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

// checkLabel validates a key label: empty, or 1 to 16 characters of a-z and
// 0-9, such as prod or test. Labels go into the key's plaintext, so they
// are kept short and plain.
func checkLabel(label string) error {
	if !validLabel(label) {
		return invalidError(fmt.Sprintf("key label %q: want 1 to %d characters of a-z and 0-9, such as prod or test", label, maxLabelLen))
	}
	return nil
}

// CheckLabel validates a key label as Create does; the error matches
// ErrInvalid. Configuration uses it to check server.key_label_default.
func CheckLabel(label string) error { return checkLabel(label) }

// validLabel reports whether label is empty or 1 to maxLabelLen characters
// of a-z and 0-9. It does not allocate.
func validLabel(label string) bool {
	ok := len(label) <= maxLabelLen
	for i := 0; ok && i < len(label); i++ {
		c := label[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	return ok
}
