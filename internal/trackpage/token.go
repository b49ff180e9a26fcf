package trackpage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadToken is returned for a token that is malformed, tampered with,
// signed with another key or expired. Callers answer it like an unknown
// link.
var ErrBadToken = errors.New("invalid tracking link token")

// MinKeySize is the shortest signing key a Signer takes, in bytes.
const MinKeySize = 32

// signContext separates these signatures from any other use of the key.
const signContext = "waybill tracking link v1\x00"

// Signer makes and checks link tokens with an HMAC-SHA256 key.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer with key, which must be at least MinKeySize
// bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeySize {
		return nil, errors.New("tracking link signing key is shorter than 32 bytes")
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

func (s *Signer) mac(id string, expiry int64) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(signContext))
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(strconv.FormatInt(expiry, 10)))
	return h.Sum(nil)
}

// Sign returns the token of link id expiring at expires (to the second).
func (s *Signer) Sign(id string, expires time.Time) string {
	exp := expires.Unix()
	return id + "." + strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(s.mac(id, exp))
}

// Verify checks token's signature, with a constant-time comparison, and
// its expiry against now, and returns the link id and expiry it carries.
// Every failure is ErrBadToken.
func (s *Signer) Verify(token string, now time.Time) (string, time.Time, error) {
	id, rest, ok := strings.Cut(token, ".")
	if !ok || !validLinkID(id) {
		return "", time.Time{}, ErrBadToken
	}
	expText, sigText, ok := strings.Cut(rest, ".")
	if !ok || len(expText) == 0 || len(expText) > 12 {
		return "", time.Time{}, ErrBadToken
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expText {
		return "", time.Time{}, ErrBadToken
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigText)
	if err != nil || !hmac.Equal(sig, s.mac(id, exp)) {
		return "", time.Time{}, ErrBadToken
	}
	expires := time.Unix(exp, 0).UTC()
	if !now.Before(expires) {
		return "", time.Time{}, ErrBadToken
	}
	return id, expires, nil
}

// linkIDLen is the length of a link id: 16 random bytes in base64url.
const linkIDLen = 22

// newLinkID returns a random link id.
func newLinkID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validLinkID reports whether id has the shape of a link id.
func validLinkID(id string) bool {
	if len(id) != linkIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
