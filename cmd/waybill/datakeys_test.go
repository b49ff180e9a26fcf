package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/shipment"
)

// TestDataKeyCommands rotates the data key of a data directory and reads
// the status, makes a KEK file, and shows that a dead letter whose key is
// gone is an error naming the key, not garbage.
func TestDataKeyCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}

	// A dead letter recorded under the first data key.
	cfg := config.Default()
	cfg.Storage.DataDir = dir
	db, err := openDB(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	first := db.Keyring.Current()
	a := connector.Action{Kind: shipment.ActionInvoicePrepare, ShipmentID: "shp_9", IdempotencyKey: "idem-9", Payload: []byte(`{"customer":"Secret Co"}`)}
	if err := jobqueue.NewDeadLetters(db).Record(t.Context(), &rivertype.JobRow{ID: 9, Attempt: 3}, a, errors.New("odoo said no")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, err := os.Stat(filepath.Join(dir, datakey.KEKFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the data directory's KEK file: %v, %v", fi, err)
	}

	out, err := run("keys", "rotate-data-key", "--data", dir)
	if err != nil {
		t.Fatalf("rotate-data-key: %v", err)
	}
	var second string
	if f := strings.Fields(out); len(f) > 2 && f[0] == "data" && f[1] == "key" {
		second = f[2]
	}
	if !seal.ValidID(second) || second == first {
		t.Fatalf("rotate-data-key said %q: want a new key id", out)
	}
	out, err = run("keys", "data-key-status", "--data", dir)
	if err != nil {
		t.Fatalf("data-key-status: %v", err)
	}
	for _, want := range []string{first, second + " ", "dead_letters", "1 rows not yet under the current key " + second} {
		if !strings.Contains(out, want) {
			t.Errorf("data-key-status output lacks %q:\n%s", want, out)
		}
	}
	if out, err := run("dead-letters", "list", "--data", dir, "--json"); err != nil || !strings.Contains(out, "Secret Co") {
		t.Errorf("dead-letters list under an older key: %v\n%s", err, out)
	}

	// The first key deleted: the dead letter is an error naming it.
	db, err = openDB(t.Context(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `DELETE FROM data_keys WHERE id = ?`, first); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = run("dead-letters", "list", "--data", dir)
	var mk *seal.MissingKeyError
	if !errors.As(err, &mk) || mk.KeyID != first || strings.Contains(out, "Secret Co") {
		t.Errorf("dead-letters list without its key: %v\n%s; want a MissingKeyError for %s", err, out, first)
	}
	if line := oneLine(err); strings.Contains(line, "\n") || !strings.Contains(line, first) {
		t.Errorf("the error line %q does not name the key on one line", line)
	}

	// A new KEK: the data keys move to it, the old file no longer opens them.
	newKEK := filepath.Join(t.TempDir(), "new.kek")
	if _, err := run("keys", "new-kek", "--out", newKEK); err != nil {
		t.Fatal(err)
	}
	if out, err := run("keys", "rewrap-data-keys", "--new-key-file", newKEK, "--data", dir); err != nil || !strings.HasPrefix(out, "1 data keys") {
		t.Fatalf("rewrap-data-keys: %v\n%s", err, out)
	}
	if _, err := run("keys", "data-key-status", "--data", dir); !errors.Is(err, datakey.ErrWrongKEK) {
		t.Errorf("data-key-status with the old KEK: %v, want ErrWrongKEK", err)
	}
	t.Setenv("WAYBILL_ENCRYPTION_KEY_FILE", newKEK)
	if out, err := run("keys", "data-key-status", "--data", dir); err != nil || !strings.Contains(out, second) {
		t.Errorf("data-key-status with the new KEK: %v\n%s", err, out)
	}
	t.Setenv("WAYBILL_ENCRYPTION_KEY_FILE", "")

	// The KEK file gone: refused, and no new one is made.
	if err := os.Rename(filepath.Join(dir, datakey.KEKFileName), filepath.Join(dir, "kek.bak")); err != nil {
		t.Fatal(err)
	}
	if _, err := run("keys", "data-key-status", "--data", dir); !errors.Is(err, datakey.ErrKEKFileMissing) {
		t.Errorf("data-key-status without the KEK file: %v, want ErrKEKFileMissing", err)
	}

	kek := filepath.Join(t.TempDir(), "kek")
	if _, err := run("keys", "new-kek", "--out", kek); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.ReadKEKFile(kek); err != nil {
		t.Errorf("new-kek wrote an unreadable key: %v", err)
	}
	if _, err := run("keys", "new-kek", "--out", kek); err == nil {
		t.Error("new-kek over an existing file: no error")
	}
}
