package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// DefaultKeyFile is the name of the signing key file Waybill creates in the
// data directory when audit.signing_key_file is not set.
const DefaultKeyFile = "audit-signing.key"

// ErrNoKey is returned when a signing key file does not exist.
var ErrNoKey = errors.New("no audit signing key")

// Signer signs entry hashes with the server's Ed25519 private key.
type Signer struct {
	priv ed25519.PrivateKey
	id   string
}

// ID is the key id entries record: the first 16 hex digits of the SHA-256
// of the public key.
func (s *Signer) ID() string { return s.id }

// Public is the signer's public key.
func (s *Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

func (s *Signer) sign(hash []byte) []byte { return ed25519.Sign(s.priv, hash) }

// NewSigner makes a signer of an Ed25519 private key.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))}
}

// KeyID is the id of a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// KeyRing holds the public keys entries are verified with, by key id: the
// current key's and those of retired keys.
type KeyRing struct {
	keys map[string]ed25519.PublicKey
}

// NewKeyRing makes a key ring of public keys.
func NewKeyRing(pubs ...ed25519.PublicKey) *KeyRing {
	r := &KeyRing{keys: map[string]ed25519.PublicKey{}}
	for _, p := range pubs {
		r.keys[KeyID(p)] = p
	}
	return r
}

// IDs lists the ring's key ids, sorted.
func (r *KeyRing) IDs() []string {
	out := make([]string, 0, len(r.keys))
	for id := range r.keys {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (r *KeyRing) verify(keyID string, hash, sig []byte) (known, ok bool) {
	pub, known := r.keys[keyID]
	if !known {
		return false, false
	}
	return true, ed25519.Verify(pub, hash, sig)
}

// KeyFile is a parsed signing key file: PEM blocks, one "PRIVATE KEY"
// (PKCS #8, as `openssl genpkey -algorithm ed25519` writes it) and any
// number of "PUBLIC KEY" blocks (PKIX) of retired keys, kept so that the
// entries they signed still verify.
type KeyFile struct {
	// Signer signs new entries; nil when the file holds only public keys.
	Signer *Signer
	// Ring verifies entries: the private key's public key and the retired
	// ones.
	Ring *KeyRing
}

// ParseKeyFile parses the contents of a signing key file.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	kf := &KeyFile{Ring: NewKeyRing()}
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", n, err)
			}
			priv, ok := k.(ed25519.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("PEM block %d: a %T, want an Ed25519 private key", n, k)
			}
			if kf.Signer != nil {
				return nil, fmt.Errorf("PEM block %d: a second private key (keep retired keys as PUBLIC KEY blocks)", n)
			}
			kf.Signer = NewSigner(priv)
			kf.Ring.keys[kf.Signer.ID()] = kf.Signer.Public()
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", n, err)
			}
			pub, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("PEM block %d: a %T, want an Ed25519 public key", n, k)
			}
			kf.Ring.keys[KeyID(pub)] = pub
		default:
			return nil, fmt.Errorf("PEM block %d: type %q, want PRIVATE KEY or PUBLIC KEY", n, b.Type)
		}
	}
	if len(kf.Ring.keys) == 0 {
		return nil, errors.New("no PEM-encoded Ed25519 key")
	}
	return kf, nil
}

// ReadKeyFile reads and parses a signing key file. A missing file is
// ErrNoKey.
func ReadKeyFile(path string) (*KeyFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading audit signing key: %w", err)
	}
	kf, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	return kf, nil
}

// EncodePrivateKey renders priv as a PEM "PRIVATE KEY" block (PKCS #8).
func EncodePrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey renders pub as a PEM "PUBLIC KEY" block (PKIX), as a key
// file keeps a retired key.
func EncodePublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyOptions say where the signing key is.
type KeyOptions struct {
	// File is audit.signing_key_file. When set, the file must exist.
	File string
	// DataDir is the data directory. Without File, the key is
	// DataDir/audit-signing.key, created on first use.
	DataDir string
}

// Path is the key file the options name: File, else DataDir's default
// file, else "" (no place to keep a key).
func (o KeyOptions) Path() string {
	if o.File != "" {
		return o.File
	}
	if o.DataDir != "" {
		return filepath.Join(o.DataDir, DefaultKeyFile)
	}
	return ""
}

// KeySource says where OpenKey found the key.
type KeySource int

// Where a signing key came from.
const (
	// KeyLoaded is a key read from its file.
	KeyLoaded KeySource = iota
	// KeyCreated is a key generated now and saved to the default file.
	KeyCreated
	// KeyEphemeral is a key generated now and kept in memory only, for
	// want of a place to save it: entries signed with it cannot be
	// verified once the process ends.
	KeyEphemeral
)

// OpenKey returns the signing key the options name. A configured File must
// exist. The default file in DataDir is created (mode 0600) when missing.
// With neither, the key is ephemeral.
func OpenKey(o KeyOptions) (*KeyFile, KeySource, error) {
	path := o.Path()
	if path == "" {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, 0, err
		}
		s := NewSigner(priv)
		return &KeyFile{Signer: s, Ring: NewKeyRing(s.Public())}, KeyEphemeral, nil
	}
	kf, err := ReadKeyFile(path)
	if err == nil {
		if kf.Signer == nil {
			return nil, 0, fmt.Errorf("audit signing key %s: no PRIVATE KEY block", path)
		}
		return kf, KeyLoaded, nil
	}
	if !errors.Is(err, ErrNoKey) || o.File != "" {
		return nil, 0, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, 0, err
	}
	pemBytes, err := EncodePrivateKey(priv)
	if err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, 0, fmt.Errorf("creating audit signing key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it in the meantime: use theirs.
		kf, err := ReadKeyFile(path)
		if err != nil {
			return nil, 0, err
		}
		return kf, KeyLoaded, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("creating audit signing key: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("writing audit signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("writing audit signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, 0, fmt.Errorf("writing audit signing key: %w", err)
	}
	s := NewSigner(priv)
	return &KeyFile{Signer: s, Ring: NewKeyRing(s.Public())}, KeyCreated, nil
}
