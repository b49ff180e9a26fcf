package datakey_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/datakey"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

func kek(t *testing.T) string {
	t.Helper()
	return seal.FormatKEK(seal.NewKey())
}

func TestSetupSQLiteCreatesKEK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sqldb.Open(t.Context(), sqldb.Options{DataDir: dir, Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	opts := datakey.Options{Enabled: true, DataDir: dir}
	if _, err := datakey.Setup(t.Context(), db, opts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, datakey.KEKFileName)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("KEK file: %v, %v; want mode 0600", fi, err)
	}
	first := db.Keyring.Current()
	if !seal.ValidID(first) {
		t.Fatalf("current data key %q", first)
	}

	// A restart finds the same file and key.
	db.Keyring = nil
	if _, err := datakey.Setup(t.Context(), db, opts); err != nil || db.Keyring.Current() != first {
		t.Errorf("second Setup: current %q, %v; want %s", db.Keyring.Current(), err, first)
	}

	// Without the file, the data keys cannot be opened: no new KEK is made.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	db.Keyring = nil
	if _, err := datakey.Setup(t.Context(), db, opts); !errors.Is(err, datakey.ErrKEKFileMissing) {
		t.Errorf("Setup without the KEK file: %v, want ErrKEKFileMissing", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Setup created a new KEK file over existing data keys: %v", err)
	}

	// Another KEK does not open them either.
	if _, err := datakey.Setup(t.Context(), db, datakey.Options{Enabled: true, Key: kek(t)}); !errors.Is(err, datakey.ErrWrongKEK) {
		t.Errorf("Setup with another KEK: %v, want ErrWrongKEK", err)
	}

	// Off: no keyring, and nothing is created.
	db.Keyring = nil
	if w, err := datakey.Setup(t.Context(), db, datakey.Options{Enabled: false, DataDir: dir}); w != nil || err != nil || db.Keyring != nil {
		t.Errorf("Setup with encryption off: %v, %v, keyring %v; want nothing", w, err, db.Keyring)
	}
}

func TestSetupPostgresNeedsKEK(t *testing.T) {
	t.Parallel()
	db := sqldbtest.Postgres(t)
	if _, err := datakey.Setup(t.Context(), db, datakey.Options{Enabled: true, DataDir: t.TempDir()}); !errors.Is(err, datakey.ErrNoKEK) {
		t.Errorf("Setup on PostgreSQL without a KEK: %v, want ErrNoKEK", err)
	}
	if _, err := datakey.Setup(t.Context(), db, datakey.Options{Enabled: true, Key: kek(t)}); err != nil || db.Keyring == nil {
		t.Errorf("Setup on PostgreSQL with a KEK: %v", err)
	}
}

// TestReencryption runs a Reencryptor over every sealed table: rows
// written in plaintext before encryption was on are sealed, a key rotated
// by another process is picked up, every row moves to it, the pending
// gauge falls to zero, and every value still opens.
func TestReencryption(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		const secret = "Acme Retail, 12 Secret Street"
		payloads := source.NewStore(db)
		events := intake.NewStore(db, &intake.Backlog{})
		tables := []datakey.Table{payloads, events, jobqueue.NewJobArgs(db), jobqueue.NewDeadLetters(db)}
		save := func(id string) {
			t.Helper()
			p := &payload.Payload{ID: id, Source: "easypost", Channel: payload.ChannelWebhook, Body: []byte(`{"to":"` + secret + `"}`),
				ReceivedAt: time.Now(), CorrelationID: "c", Status: payload.StatusAccepted}
			if err := payloads.Save(ctx, p, ""); err != nil {
				t.Fatal(err)
			}
			ev := &intake.Event{ID: "ev-" + id, Source: "odoo", SourceID: id, Type: "shipment.planned", Subject: "odoo:1",
				Time: time.Now().UTC(), CorrelationID: "c", Hash: "h" + id, Body: []byte(`{"data":{"to":"` + secret + `"}}`)}
			if _, err := events.Append(ctx, []*intake.Event{ev}); err != nil {
				t.Fatal(err)
			}
		}
		save("p-plain") // before encryption was on

		key := kek(t)
		w, err := datakey.Setup(ctx, db, datakey.Options{Enabled: true, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		first := db.Keyring.Current()
		for _, id := range []string{"p-1", "p-2", "p-3"} {
			save(id)
		}
		reg := prometheus.NewRegistry()
		r := datakey.NewReencryptor(db, w, tables, datakey.ReencryptorOptions{RefreshInterval: 10 * time.Millisecond, BatchSize: 2, Registerer: reg})
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(runCtx) }()
		defer func() { cancel(); <-done }()

		waitPass(t, r)
		assertAllUnder(t, db, tables, first, 4)
		assertPendingGauge(t, reg, 0)

		// Another process rotates the key.
		k, err := datakey.Rotate(ctx, db, w)
		if err != nil {
			t.Fatal(err)
		}
		waitPass(t, r)
		if db.Keyring.Current() != k.ID {
			t.Errorf("current key after rotation = %s, want %s", db.Keyring.Current(), k.ID)
		}
		assertAllUnder(t, db, tables, k.ID, 4)
		assertPendingGauge(t, reg, 0)
		for _, id := range []string{"p-plain", "p-2"} {
			p, err := payloads.Get(ctx, id)
			if err != nil || !bytes.Contains(p.Body, []byte(secret)) {
				t.Errorf("payload %s after re-encryption: %v; want the original body", id, err)
			}
		}
		var raw []byte
		if err := db.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT body FROM source_payloads WHERE id = ?`), "p-plain").Scan(&raw); err != nil ||
			bytes.Contains(raw, []byte(secret)) {
			t.Errorf("stored payload p-plain: %q, %v; want it sealed", raw, err)
		}

		ks, _, err := datakey.Status(ctx, db, tables)
		if err != nil || len(ks) != 2 || ks[0].ID != first || ks[0].Current || !ks[1].Current {
			t.Errorf("Status keys = %+v, %v; want %s then the current %s", ks, err, first, k.ID)
		}
	})
}

func waitPass(t *testing.T, r *datakey.Reencryptor) {
	t.Helper()
	select {
	case <-r.Passes():
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for a re-encryption pass")
	}
}

func assertAllUnder(t *testing.T, db *sqldb.DB, tables []datakey.Table, keyID string, n int64) {
	t.Helper()
	_, ts, err := datakey.Status(t.Context(), db, tables)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{}
	for _, s := range ts {
		got[s.Table] = s.Rows
	}
	want := map[string]map[string]int64{
		"source_payloads": {keyID: n}, "events": {keyID: n}, "river_job": {}, "dead_letters": {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows by key (-want +got):\n%s", diff)
	}
}

func assertPendingGauge(t *testing.T, reg *prometheus.Registry, want float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if mf.GetName() != "waybill_encryption_rows_pending" {
			continue
		}
		for _, m := range mf.GetMetric() {
			seen++
			if got := m.GetGauge().GetValue(); got != want {
				t.Errorf("waybill_encryption_rows_pending%v = %v, want %v", m.GetLabel(), got, want)
			}
		}
	}
	if seen != 4 {
		t.Errorf("waybill_encryption_rows_pending has %d tables, want 4", seen)
	}
}

// TestSetupConcurrentFirstStart starts two processes' Setup on one fresh
// database at once: both end with the same first data key.
func TestSetupConcurrentFirstStart(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		key := ""
		if opts.DatabaseURL != "" {
			key = kek(t)
		}
		var dbs [2]*sqldb.DB
		for i := range dbs {
			db, err := sqldb.Open(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		if _, err := dbs[0].Migrate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, len(dbs))
		for _, db := range dbs {
			go func() {
				_, err := datakey.Setup(t.Context(), db, datakey.Options{Enabled: true, Key: key, DataDir: opts.DataDir})
				errs <- err
			}()
		}
		for range dbs {
			if err := <-errs; err != nil {
				t.Errorf("Setup: %v", err)
			}
		}
		if t.Failed() {
			return
		}
		if a, b := dbs[0].Keyring.Current(), dbs[1].Keyring.Current(); a != b {
			t.Errorf("current data keys %s and %s: want one first key", a, b)
		}
	})
}

// TestRewrap moves the data keys to another key-encryption key: the old
// one no longer loads them, the new one does, and sealed values open.
func TestRewrap(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		oldKEK, newKEK := kek(t), kek(t)
		from, err := datakey.Setup(ctx, db, datakey.Options{Enabled: true, Key: oldKEK})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datakey.Rotate(ctx, db, from); err != nil {
			t.Fatal(err)
		}
		kr, err := datakey.Load(ctx, db, from, nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed := kr.SealText([]byte("value"), "p")

		to, err := datakey.Wrapper(ctx, db, datakey.Options{Enabled: true, Key: newKEK})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := datakey.Rewrap(ctx, db, from, to); err != nil || n != 2 {
			t.Fatalf("Rewrap = %d, %v; want 2 keys", n, err)
		}
		if _, err := datakey.Load(ctx, db, from, nil); !errors.Is(err, datakey.ErrWrongKEK) {
			t.Errorf("Load with the old KEK: %v, want ErrWrongKEK", err)
		}
		kr2, err := datakey.Load(ctx, db, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := kr2.OpenText(sealed, "p"); err != nil || string(got) != "value" {
			t.Errorf("OpenText after rewrapping = %q, %v", got, err)
		}
		if _, err := datakey.Rewrap(ctx, db, from, to); !errors.Is(err, datakey.ErrWrongKEK) {
			t.Errorf("Rewrap again from the old KEK: %v, want ErrWrongKEK", err)
		}
	})
}
