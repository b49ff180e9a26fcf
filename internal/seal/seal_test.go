package seal_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/seal"
)

func keyring(t *testing.T, ids ...string) (*seal.Keyring, map[string][]byte) {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = seal.NewKey()
	}
	k, err := seal.New(keys, ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	return k, keys
}

const (
	idA = "00000000000000aa"
	idB = "00000000000000bb"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, _ := keyring(t, idA)
	place := seal.Place("events", "body", "ev-1")
	plain := []byte(`{"data":{"customer":"Acme Retail"}}`)

	bin := k.Seal(plain, place)
	if bytes.Contains(bin, []byte("Acme")) {
		t.Errorf("sealed value holds the plaintext: %q", bin)
	}
	if !strings.HasPrefix(string(bin), "wb1:"+idA+":") {
		t.Errorf("sealed value starts %q, want the wb1 header with key %s", bin[:seal.HeaderLen], idA)
	}
	if id, ok := seal.KeyID(bin); !ok || id != idA {
		t.Errorf("KeyID = %q, %v; want %s, true", id, ok, idA)
	}
	got, err := k.Open(bin, place)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, %v; want %q", got, err, plain)
	}

	text := k.SealText(plain, place)
	if strings.Contains(text, "Acme") || !strings.HasPrefix(text, seal.Header(idA)) {
		t.Errorf("text form %q: want a wb1 header and no plaintext", text)
	}
	got, err = k.OpenText(text, place)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("OpenText = %q, %v; want %q", got, err, plain)
	}

	// Two seals of one value differ: the nonce is random.
	again := k.SealText(plain, place)
	if again == text {
		t.Error("two seals of the same value are equal")
	}
}

func TestOpenPlaintext(t *testing.T) {
	t.Parallel()
	k, _ := keyring(t, idA)
	for _, v := range []string{`{"id":"x"}`, "ISA*00*", "", "wb", "wbx:", "wb:1"} {
		got, err := k.OpenText(v, "p")
		if err != nil || string(got) != v {
			t.Errorf("OpenText(%q) = %q, %v; want it unchanged", v, got, err)
		}
	}
	var off *seal.Keyring
	if got := off.Seal([]byte("plain"), "p"); string(got) != "plain" {
		t.Errorf("nil keyring Seal = %q, want the plaintext", got)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	k, keys := keyring(t, idA)
	place := seal.Place("source_payloads", "body", "p1")
	sealed := k.Seal([]byte("ISA*00*secret manifest"), place)
	text := k.SealText([]byte("ISA*00*secret manifest"), place)

	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-5] ^= 0x01
	flippedNonce := bytes.Clone(sealed)
	flippedNonce[seal.HeaderLen] ^= 0x80
	otherKey, err := seal.New(map[string][]byte{idA: seal.NewKey()}, idA) // same id, another key
	if err != nil {
		t.Fatal(err)
	}
	withB, _ := keyring(t, idB)
	var off *seal.Keyring
	_ = keys

	tests := []struct {
		name    string
		k       *seal.Keyring
		stored  []byte
		place   string
		want    error
		missing string
	}{
		{name: "flipped ciphertext byte", k: k, stored: flipped, place: place, want: seal.ErrTampered},
		{name: "flipped nonce byte", k: k, stored: flippedNonce, place: place, want: seal.ErrTampered},
		{name: "another row", k: k, stored: sealed, place: seal.Place("source_payloads", "body", "p2"), want: seal.ErrTampered},
		{name: "another column", k: k, stored: sealed, place: seal.Place("dead_letters", "args", "p1"), want: seal.ErrTampered},
		{name: "same id another key", k: otherKey, stored: sealed, place: place, want: seal.ErrTampered},
		{name: "header names another key", k: k, stored: append([]byte(seal.Header(idB)), sealed[seal.HeaderLen:]...), place: place, missing: idB},
		{name: "missing key", k: withB, stored: sealed, place: place, missing: idA},
		{name: "encryption off", k: off, stored: sealed, place: place, missing: idA},
		{name: "truncated", k: k, stored: sealed[:seal.HeaderLen+4], place: place, want: seal.ErrMalformed},
		{name: "bad key id", k: k, stored: []byte("wb1:ZZZZZZZZZZZZZZZZ:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), place: place, want: seal.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.k.Open(tt.stored, tt.place)
			if got != nil {
				t.Errorf("Open returned %q with its error; want no bytes", got)
			}
			if tt.missing != "" {
				var mk *seal.MissingKeyError
				if !errors.As(err, &mk) || mk.KeyID != tt.missing {
					t.Fatalf("Open error = %v, want a MissingKeyError for %s", err, tt.missing)
				}
				if !strings.Contains(err.Error(), tt.missing) {
					t.Errorf("error %q does not name the key", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("newer version", func(t *testing.T) {
		for _, v := range []string{"wb2:" + idA + ":AAAA", "wb10:anything"} {
			if got, err := k.OpenText(v, place); !errors.Is(err, seal.ErrUnknownVersion) || got != nil {
				t.Errorf("OpenText(%q) = %q, %v; want ErrUnknownVersion", v, got, err)
			}
			if _, err := k.OpenSealed([]byte(v), place); !errors.Is(err, seal.ErrUnknownVersion) {
				t.Errorf("OpenSealed(%q): %v, want ErrUnknownVersion", v, err)
			}
		}
	})
	t.Run("text tampered", func(t *testing.T) {
		b := []byte(text)
		i := len(b) - 3
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := k.OpenText(string(b), place); !errors.Is(err, seal.ErrTampered) && !errors.Is(err, seal.ErrMalformed) {
			t.Errorf("OpenText of a changed value: %v, want ErrTampered", err)
		}
		if _, err := k.OpenText(seal.Header(idA)+"!!!", place); !errors.Is(err, seal.ErrMalformed) {
			t.Errorf("OpenText of bad base64: %v, want ErrMalformed", err)
		}
	})
}

func TestRotation(t *testing.T) {
	t.Parallel()
	k, keys := keyring(t, idA)
	place := seal.Place("dead_letters", "args", "d1")
	old := k.SealText([]byte("old value"), place)

	keys[idB] = seal.NewKey()
	if err := k.Replace(keys, idB); err != nil {
		t.Fatal(err)
	}
	if k.Current() != idB {
		t.Errorf("current = %s, want %s", k.Current(), idB)
	}
	fresh := k.SealText([]byte("new value"), place)
	if !strings.HasPrefix(fresh, seal.Header(idB)) {
		t.Errorf("a value sealed after rotation starts %q, want key %s", fresh[:seal.HeaderLen], idB)
	}
	for _, v := range []struct{ stored, want string }{{old, "old value"}, {fresh, "new value"}} {
		got, err := k.OpenText(v.stored, place)
		if err != nil || string(got) != v.want {
			t.Errorf("after rotation OpenText = %q, %v; want %q", got, err, v.want)
		}
	}
	if err := k.Replace(keys, "00000000000000cc"); err == nil {
		t.Error("Replace with a current key not in the set: no error")
	}
}

func TestLocalKEK(t *testing.T) {
	t.Parallel()
	kek, err := seal.NewLocalKEK(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	dk := seal.NewKey()
	wrapped, err := kek.Wrap(t.Context(), dk)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, dk) {
		t.Error("wrapped key holds the key")
	}
	got, err := kek.Unwrap(t.Context(), wrapped)
	if err != nil || !bytes.Equal(got, dk) {
		t.Errorf("Unwrap = %x, %v; want %x", got, err, dk)
	}
	other, _ := seal.NewLocalKEK(seal.NewKey())
	if _, err := other.Unwrap(t.Context(), wrapped); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("Unwrap with another KEK: %v, want ErrTampered", err)
	}
	if other.ID() == kek.ID() || !strings.HasPrefix(kek.ID(), "local:") {
		t.Errorf("KEK ids %q, %q: want distinct local: ids", kek.ID(), other.ID())
	}
}

func TestParseKEK(t *testing.T) {
	t.Parallel()
	key := seal.NewKey()
	got, err := seal.ParseKEK("  " + seal.FormatKEK(key) + "\n")
	if err != nil || !bytes.Equal(got, key) {
		t.Errorf("ParseKEK(FormatKEK) = %x, %v; want %x", got, err, key)
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := seal.ParseKEK(bad); err == nil {
			t.Errorf("ParseKEK(%q): no error", bad)
		}
	}
	path := t.TempDir() + "/kek"
	created, err := seal.CreateKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v, %v; want 0600", fi.Mode(), err)
	}
	read, err := seal.ReadKEKFile(path)
	if err != nil || !cmp.Equal(read, created) {
		t.Errorf("ReadKEKFile = %x, %v; want %x", read, err, created)
	}
	if _, err := seal.CreateKEKFile(path); err == nil {
		t.Error("CreateKEKFile over an existing file: no error")
	}
}
