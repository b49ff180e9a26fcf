package seal

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyWrapper wraps and unwraps data keys with a key-encryption key (KEK)
// that never leaves it. [LocalKEK] is a key held in memory; a KMS client
// can implement KeyWrapper too. Implementations must be safe for
// concurrent use.
type KeyWrapper interface {
	// ID names the key-encryption key; it is stored beside each wrapped
	// data key, so a data key wrapped by another KEK is told apart from a
	// damaged one.
	ID() string
	// Wrap encrypts a data key.
	Wrap(ctx context.Context, dataKey []byte) ([]byte, error)
	// Unwrap decrypts a data key that Wrap returned. It returns
	// ErrTampered when the wrapped key does not authenticate.
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// LocalKEK is a 32-byte key-encryption key held in memory, from a key
// file or the environment. It wraps with AES-256-GCM.
type LocalKEK struct {
	aead cipher.AEAD
	id   string
}

// NewLocalKEK returns a LocalKEK of a 32-byte key. Its ID is "local:"
// and the first 8 bytes of the key's SHA-256 in hex: it identifies the
// key without revealing it.
func NewLocalKEK(key []byte) (*LocalKEK, error) {
	a, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	sum := sha256.Sum256(key)
	return &LocalKEK{aead: a, id: "local:" + hex.EncodeToString(sum[:8])}, nil
}

// ID implements KeyWrapper.
func (k *LocalKEK) ID() string { return k.id }

// Wrap implements KeyWrapper: a random nonce, then the sealed key.
func (k *LocalKEK) Wrap(_ context.Context, dataKey []byte) ([]byte, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(dataKey)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("drawing a nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, dataKey, []byte("waybill data key")), nil
}

// Unwrap implements KeyWrapper.
func (k *LocalKEK) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	if len(wrapped) < nonceSize+k.aead.Overhead() {
		return nil, ErrMalformed
	}
	key, err := k.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], []byte("waybill data key"))
	if err != nil {
		return nil, ErrTampered
	}
	return key, nil
}

// ParseKEK decodes a key-encryption key written as standard base64 of 32
// bytes (surrounding white space ignored), the form of a key file and of
// WAYBILL_ENCRYPTION_KEY.
func ParseKEK(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// FormatKEK encodes a key-encryption key as a key file holds it: base64
// and a newline.
func FormatKEK(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }

// ReadKEKFile reads a key file.
func ReadKEKFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key-encryption key: %w", err)
	}
	key, err := ParseKEK(string(b))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key file %s: %w", path, err)
	}
	return key, nil
}

// CreateKEKFile writes a new random key-encryption key to path, readable
// by its owner only (0600), and returns it. It fails when path exists. The
// file appears whole or not at all: it is written beside path and then
// linked to it, so a process that finds it can read it.
func CreateKEKFile(path string) ([]byte, error) {
	key := NewKey()
	f, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return nil, fmt.Errorf("creating key-encryption key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(FormatKEK(key))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing key-encryption key file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		return nil, fmt.Errorf("creating key-encryption key file: %w", err)
	}
	return key, nil
}
