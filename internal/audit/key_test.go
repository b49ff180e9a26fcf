package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func TestOpenKey(t *testing.T) {
	t.Parallel()
	t.Run("created in the data directory, then loaded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		kf, src, err := audit.OpenKey(audit.KeyOptions{DataDir: dir})
		if err != nil || src != audit.KeyCreated {
			t.Fatalf("first open: %v, source %v; want KeyCreated", err, src)
		}
		fi, err := os.Stat(filepath.Join(dir, audit.DefaultKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
		}
		again, src, err := audit.OpenKey(audit.KeyOptions{DataDir: dir})
		if err != nil || src != audit.KeyLoaded {
			t.Fatalf("second open: %v, source %v; want KeyLoaded", err, src)
		}
		if again.Signer.ID() != kf.Signer.ID() {
			t.Errorf("key id: got %s, want %s", again.Signer.ID(), kf.Signer.ID())
		}
	})
	t.Run("a configured file must exist", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "missing.key")
		if _, _, err := audit.OpenKey(audit.KeyOptions{File: path, DataDir: t.TempDir()}); !errors.Is(err, audit.ErrNoKey) {
			t.Errorf("got %v, want ErrNoKey", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the configured file was created")
		}
	})
	t.Run("nowhere to keep it: ephemeral", func(t *testing.T) {
		t.Parallel()
		kf, src, err := audit.OpenKey(audit.KeyOptions{})
		if err != nil || src != audit.KeyEphemeral || kf.Signer == nil {
			t.Errorf("got %v, %v, %v; want an ephemeral key", kf, src, err)
		}
	})
	t.Run("not a key", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "bad.key")
		if err := os.WriteFile(path, []byte("hello\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := audit.OpenKey(audit.KeyOptions{File: path}); err == nil {
			t.Error("no error for a file without a key")
		}
	})
}

// A rotated key: the new file holds the new private key and the old public
// key, and the whole chain, signed by both, verifies.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	db := sqldbtest.SQLite(t)
	_, oldPriv, _ := ed25519.GenerateKey(rand.Reader)
	_, newPriv, _ := ed25519.GenerateKey(rand.Reader)
	oldSigner, newSigner := audit.NewSigner(oldPriv), audit.NewSigner(newPriv)
	fill(t, audit.NewStore(db, oldSigner, nil), 2)
	fill(t, audit.NewStore(db, newSigner, nil), 2)

	privPEM, err := audit.EncodePrivateKey(newPriv)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := audit.EncodePublicKey(oldSigner.Public())
	if err != nil {
		t.Fatal(err)
	}
	kf, err := audit.ParseKeyFile(bytes.Join([][]byte{privPEM, pubPEM}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if kf.Signer.ID() != newSigner.ID() {
		t.Errorf("signer: got %s, want the new key %s", kf.Signer.ID(), newSigner.ID())
	}
	want := []string{oldSigner.ID(), newSigner.ID()}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, kf.Ring.IDs()); diff != "" {
		t.Errorf("ring (-want +got):\n%s", diff)
	}
	rep, err := audit.NewStore(db, nil, nil).Verify(t.Context(), kf.Ring)
	if err != nil || rep.Entries != 4 {
		t.Errorf("verify: %v, %v; want 4 entries", rep, err)
	}
	// Without the retired key, the old entries do not verify.
	only, err := audit.ParseKeyFile(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.NewStore(db, nil, nil).Verify(t.Context(), only.Ring); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("verify without the retired key: got %v, want ErrBroken", err)
	}
	// Two private keys are refused.
	if _, err := audit.ParseKeyFile(bytes.Join([][]byte{privPEM, privPEM}, nil)); err == nil {
		t.Error("two private keys: no error")
	}
}

// A key made by `openssl genpkey -algorithm ed25519` is a signing key file.
func TestParseKeyFileOpenSSL(t *testing.T) {
	t.Parallel()
	kf, err := audit.ReadKeyFile("testdata/openssl-ed25519.key")
	if err != nil {
		t.Fatal(err)
	}
	if kf.Signer == nil || len(kf.Ring.IDs()) != 1 || kf.Ring.IDs()[0] != kf.Signer.ID() {
		t.Errorf("got signer %v, ring %v", kf.Signer, kf.Ring.IDs())
	}
}
