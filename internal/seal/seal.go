package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
)

// Version1 is the header of values sealed in format 1.
const Version1 = "wb1:"

// KeySize is the size of a data key and of a local key-encryption key:
// 32 bytes, AES-256.
const KeySize = 32

// IDLen is the length of a data key id: 16 lowercase hex digits.
const IDLen = 16

// HeaderLen is the length of a sealed value's header: the version, the
// key id and a colon.
const HeaderLen = len(Version1) + IDLen + 1

const nonceSize = 12

// ErrTampered is returned for a sealed value that fails authentication:
// changed, moved to another place, or sealed under another key.
var ErrTampered = errors.New("sealed value failed authentication (changed, copied from another row, or a wrong key)")

// ErrMalformed is returned for a value that has a seal header but cannot
// be a sealed value of a known version.
var ErrMalformed = errors.New("malformed sealed value")

// ErrUnknownVersion is returned for a value sealed in a format newer than
// this version of Waybill knows ("wb2:" and on).
var ErrUnknownVersion = errors.New("value sealed in an unknown format version (written by a newer Waybill)")

// otherVersion reports whether stored starts with the header of a format
// version other than 1: "wb", digits, ":".
func otherVersion(stored []byte) bool {
	if len(stored) < 4 || stored[0] != 'w' || stored[1] != 'b' || bytes.HasPrefix(stored, []byte(Version1)) {
		return false
	}
	i := 2
	for i < len(stored) && stored[i] >= '0' && stored[i] <= '9' {
		i++
	}
	return i > 2 && i < len(stored) && stored[i] == ':'
}

// MissingKeyError is returned when a value is sealed under a data key the
// keyring does not hold.
type MissingKeyError struct {
	// KeyID is the id of the missing data key.
	KeyID string
}

// Error names the missing key and the usual reasons it is missing.
func (e *MissingKeyError) Error() string {
	return "data key " + e.KeyID + " is not available (deleted from data_keys, or encryption turned off or given another key-encryption key)"
}

// NewKeyID returns a random data key id.
func NewKeyID() string {
	var b [IDLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewKey returns a random 32-byte key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// ValidID reports whether id is a well-formed data key id.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// keySet is an immutable set of data keys.
type keySet struct {
	aeads   map[string]cipher.AEAD
	current string
}

// Keyring holds data keys and names the current one. The zero value is
// not usable: make one with New. It is safe for concurrent use.
type Keyring struct {
	set atomic.Pointer[keySet]
}

// New returns a keyring of keys (id → 32-byte key) whose current key is
// current.
func New(keys map[string][]byte, current string) (*Keyring, error) {
	k := &Keyring{}
	if err := k.Replace(keys, current); err != nil {
		return nil, err
	}
	return k, nil
}

// Replace swaps the keyring's keys and current key for new ones at once.
func (k *Keyring) Replace(keys map[string][]byte, current string) error {
	set := &keySet{aeads: make(map[string]cipher.AEAD, len(keys)), current: current}
	for id, key := range keys {
		if !ValidID(id) {
			return fmt.Errorf("data key id %q: want %d lowercase hex digits", id, IDLen)
		}
		a, err := newAEAD(key)
		if err != nil {
			return fmt.Errorf("data key %s: %w", id, err)
		}
		set.aeads[id] = a
	}
	if _, ok := set.aeads[current]; !ok {
		return fmt.Errorf("current data key %q is not in the keyring", current)
	}
	k.set.Store(set)
	return nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Current returns the id of the current data key, or "" for a nil
// keyring.
func (k *Keyring) Current() string {
	if k == nil {
		return ""
	}
	return k.set.Load().current
}

// Has reports whether the keyring holds data key id.
func (k *Keyring) Has(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.set.Load().aeads[id]
	return ok
}

// Header returns the header of values sealed under key id:
// "wb1:<id>:".
func Header(id string) string { return Version1 + id + ":" }

// Seal encrypts plaintext under the current key for place, in binary
// form. A nil keyring returns plaintext unchanged. It cannot fail:
// AES-GCM does not, and crypto/rand never returns an error.
func (k *Keyring) Seal(plaintext []byte, place string) []byte {
	if k == nil {
		return plaintext
	}
	set := k.set.Load()
	hdr := Header(set.current)
	out := make([]byte, 0, len(hdr)+nonceSize+len(plaintext)+16)
	out = append(out, hdr...)
	out = out[:len(hdr)+nonceSize]
	nonce := out[len(hdr):]
	_, _ = rand.Read(nonce)
	return set.aeads[set.current].Seal(out, nonce, plaintext, ad(hdr, place))
}

// SealText encrypts plaintext under the current key for place, in text
// form. A nil keyring returns plaintext unchanged. It cannot fail.
func (k *Keyring) SealText(plaintext []byte, place string) string {
	if k == nil {
		return string(plaintext)
	}
	b := k.Seal(plaintext, place)
	return string(b[:HeaderLen]) + base64.RawStdEncoding.EncodeToString(b[HeaderLen:])
}

// ad is the associated data of a value: its header and its place.
func ad(hdr, place string) []byte { return []byte(hdr + place) }

// KeyID returns the data key id of a sealed value, binary or text, and
// whether it looks sealed at all.
func KeyID(stored []byte) (string, bool) {
	if !bytes.HasPrefix(stored, []byte(Version1)) || len(stored) < HeaderLen || stored[HeaderLen-1] != ':' {
		return "", false
	}
	return string(stored[len(Version1) : HeaderLen-1]), true
}

// IsSealed reports whether stored starts with a seal header.
func IsSealed(stored []byte) bool {
	_, ok := KeyID(stored)
	return ok
}

// Open decrypts a value sealed in binary form for place. A value without a
// seal header is plaintext and is returned as it is; use OpenSealed where
// the caller knows from elsewhere that the value is sealed.
func (k *Keyring) Open(stored []byte, place string) ([]byte, error) {
	if otherVersion(stored) {
		return nil, ErrUnknownVersion
	}
	if !IsSealed(stored) {
		return stored, nil
	}
	return k.OpenSealed(stored, place)
}

// OpenSealed decrypts a value sealed in binary form for place; a value
// without a seal header is ErrMalformed.
func (k *Keyring) OpenSealed(stored []byte, place string) ([]byte, error) {
	if otherVersion(stored) {
		return nil, ErrUnknownVersion
	}
	id, ok := KeyID(stored)
	if !ok || !ValidID(id) {
		return nil, ErrMalformed
	}
	if k == nil {
		return nil, &MissingKeyError{KeyID: id}
	}
	a, ok := k.set.Load().aeads[id]
	if !ok {
		return nil, &MissingKeyError{KeyID: id}
	}
	body := stored[HeaderLen:]
	if len(body) < nonceSize+a.Overhead() {
		return nil, ErrMalformed
	}
	pt, err := a.Open(nil, body[:nonceSize], body[nonceSize:], ad(string(stored[:HeaderLen]), place))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// OpenText decrypts a value sealed in text form for place. A value
// without a seal header is plaintext and is returned as it is.
func (k *Keyring) OpenText(stored string, place string) ([]byte, error) {
	if otherVersion([]byte(stored)) {
		return nil, ErrUnknownVersion
	}
	if !IsSealed([]byte(stored)) {
		return []byte(stored), nil
	}
	id, _ := KeyID([]byte(stored))
	if !ValidID(id) {
		return nil, ErrMalformed
	}
	body, err := base64.RawStdEncoding.DecodeString(stored[HeaderLen:])
	if err != nil {
		return nil, ErrMalformed
	}
	bin := make([]byte, 0, HeaderLen+len(body))
	bin = append(append(bin, stored[:HeaderLen]...), body...)
	return k.OpenSealed(bin, place)
}

// Place names where a value lives, for its associated data: table, column
// and row key, e.g. Place("events", "body", id).
func Place(table, column, rowKey string) string { return table + "." + column + "/" + rowKey }

// Batch is what one step of re-encryption did to a table.
type Batch struct {
	// Moved counts the values now sealed under the current key.
	Moved int
	// Failed counts the values that could not be opened and stay as they
	// are; Err is the last such error.
	Failed int
	Err    error
	// Next is where the next step starts; "" when the table is done.
	Next string
}

// Adopt makes k hold other's keys and current key, at once: a keyring
// shared by a server's stores takes keys freshly loaded into another.
func (k *Keyring) Adopt(other *Keyring) { k.set.Store(other.set.Load()) }
