package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/archive"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

const secret = "Acme Retail, 12 Secret Street"

// bundle is one test's database with history in it.
type bundle struct {
	db     *sqldb.DB
	dir    string
	events *intake.Store
	audit  *audit.Store
	ring   *audit.KeyRing
	// now is the archiver's clock: 200 days after the history was made,
	// so that with a retention of 90 days all of it is old enough.
	now func() time.Time
}

func setup(t *testing.T, db *sqldb.DB) *bundle {
	t.Helper()
	ctx := t.Context()
	kr, err := seal.New(map[string][]byte{"00000000000000a1": seal.NewKey()}, "00000000000000a1")
	if err != nil {
		t.Fatal(err)
	}
	db.Keyring = kr
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(200 * 24 * time.Hour)
	b := &bundle{db: db, dir: t.TempDir(), events: intake.NewStore(db, &intake.Backlog{}),
		audit: audit.NewStore(db, audit.NewSigner(priv), nil), ring: audit.NewKeyRing(pub),
		now: func() time.Time { return later }}

	// Five events applied, two left pending, then one more applied: the
	// newest, which stays (see events).
	if _, err := b.events.AppendApply(ctx, []*intake.Event{ev("a1"), ev("a2"), ev("a3"), ev("a4"), ev("a5")}, applyAll); err != nil {
		t.Fatal(err)
	}
	if _, err := b.events.Append(ctx, []*intake.Event{ev("p1"), ev("p2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.events.AppendApply(ctx, []*intake.Event{ev("last")}, applyAll); err != nil {
		t.Fatal(err)
	}
	ps := source.NewStore(db)
	for _, p := range []*payload.Payload{
		{ID: "pl-done", Source: "odoo", Channel: "http", Body: []byte(secret), ReceivedAt: time.Now().UTC(), CorrelationID: "corr-pl",
			Status: payload.StatusAccepted, Events: 2, EventIDs: []string{"a1", "a2"}},
		{ID: "pl-pending", Source: "odoo", Channel: "http", Body: []byte(secret), ReceivedAt: time.Now().UTC(), CorrelationID: "corr-pl2",
			Status: payload.StatusAccepted, Events: 1, EventIDs: []string{"p1"}},
	} {
		if err := ps.Save(ctx, p, "odoo"); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"k1", "k2", "k3"} {
		if _, err := b.audit.Append(ctx, audit.Record{Actor: "system", Action: audit.ActionKeyCreated, Subject: s, Details: map[string]string{"name": s}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func ev(id string) *intake.Event {
	return &intake.Event{ID: "ev-" + id, Source: "odoo", SourceID: id, Type: "shipment.planned", Subject: "odoo:WH/OUT/1",
		Time: time.Unix(1700000000, 0).UTC(), CorrelationID: "corr-" + id, Hash: "h-" + id,
		Body: []byte(`{"id":"` + id + `","data":{"customer":{"name":"` + secret + `"}}}`)}
}

func applyAll(_ context.Context, _ *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(bool), error) {
	out := make([]intake.Outcome, len(evs))
	for i, e := range evs {
		out[i] = intake.Outcome{Seq: e.Seq, State: intake.StateApplied, ShipmentID: "S1"}
	}
	return out, nil, nil
}

func (b *bundle) archiver(t *testing.T, hook func(archive.FileEntry) error) *archive.Archiver {
	t.Helper()
	a, err := archive.New(archive.Options{DB: b.db, Dir: b.dir, Retention: 90 * 24 * time.Hour, Now: b.now, AfterWriteFunc: hook})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (b *bundle) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	if err := b.db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (b *bundle) sourceIDs(t *testing.T) string {
	t.Helper()
	rows, err := b.db.QueryContext(t.Context(), `SELECT source_id FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, " ")
}

func (b *bundle) manifest(t *testing.T) archive.Manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(b.dir, archive.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m archive.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *bundle) search(t *testing.T, q archive.Query) []archive.Row {
	t.Helper()
	var out []archive.Row
	if err := archive.Search(t.Context(), b.dir, q, func(r archive.Row) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return out
}

// TestArchive archives a day of events, payloads and audit entries and
// checks what moved and what stayed, the files and the manifest, that
// resent events are still repeats, search, restore (twice), and the audit
// chain across the archive boundary.
func TestArchive(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		b := setup(t, db)
		rep, err := b.archiver(t, nil).Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Rows; got[archive.KindEvents] != 5 || got[archive.KindPayloads] != 1 || got[archive.KindAudit] != 3 {
			t.Errorf("rows moved: got %v, want 5 events, 1 payload, 3 audit entries", got)
		}
		// Pending events, and the payload of a pending event, stay; so
		// does the newest event.
		if got, want := b.sourceIDs(t), "p1 p2 last"; got != want {
			t.Errorf("events left: got %q, want %q", got, want)
		}
		if n := b.count(t, `SELECT COUNT(*) FROM source_payloads WHERE id = 'pl-pending'`) + b.count(t, `SELECT COUNT(*) FROM source_payloads`); n != 2 {
			t.Errorf("payloads left: want only pl-pending")
		}
		if n := b.count(t, `SELECT COUNT(*) FROM source_payload_events`); n != 1 {
			t.Errorf("payload links left: got %d, want 1", n)
		}
		if n := b.count(t, `SELECT COUNT(*) FROM audit_log`); n != 0 {
			t.Errorf("audit entries left: got %d, want 0", n)
		}

		// The files: one per kind and day, matching the manifest.
		today := time.Now().UTC().Format("2006-01-02")
		m := b.manifest(t)
		if len(m.Files) != 3 {
			t.Fatalf("manifest: %d files, want 3: %+v", len(m.Files), m.Files)
		}
		wantRows := map[string]int64{archive.KindEvents: 5, archive.KindPayloads: 1, archive.KindAudit: 3}
		for _, f := range m.Files {
			if f.Day != today || f.Part != 1 || !f.Purged || f.Rows != wantRows[f.Kind] || f.File != filepath.Join(f.Kind, today+".jsonl.gz") {
				t.Errorf("manifest entry %+v: want day %s, part 1, purged, %d rows", f, today, wantRows[f.Kind])
			}
			raw, err := os.ReadFile(filepath.Join(b.dir, f.File))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(raw)) != f.Bytes {
				t.Errorf("%s: checksum or size differs from the manifest", f.File)
			}
			plain := gunzip(t, raw)
			if bytes.Contains(plain, []byte(secret)) || bytes.Contains(plain, []byte(base64Of(secret))) {
				t.Errorf("%s holds the plaintext of a sealed value", f.File)
			}
			if lines := bytes.Count(plain, []byte("\n")); int64(lines) != f.Rows {
				t.Errorf("%s: %d lines, want %d", f.File, lines, f.Rows)
			}
		}
		if ev := m.Files[1]; ev.Kind != archive.KindEvents || ev.FirstKey != "1" || ev.LastKey != "5" {
			t.Errorf("events entry keys: %+v, want seq 1 to 5", ev)
		}
		if m.AuditAnchor == nil || m.AuditAnchor.Seq != 3 {
			t.Errorf("manifest audit anchor: %+v, want seq 3", m.AuditAnchor)
		}
		list, err := archive.List(b.dir, archive.Filter{Kind: archive.KindEvents})
		if err != nil || len(list) != 1 || list[0].Err != nil {
			t.Errorf("List events: %+v, %v; want one file that checks out", list, err)
		}

		// A resent archived event is a repeat; with another payload, a
		// conflict. Through both ways of storing.
		res, err := b.events.Append(ctx, []*intake.Event{ev("a1"), ev("new1")})
		if err != nil || !res[0].Duplicate || res[0].Err != nil || res[0].EventID != "ev-a1" || res[0].CorrelationID != "corr-a1" || res[1].Duplicate {
			t.Errorf("resending an archived event: %+v, %v; want a repeat of ev-a1 and a new event", res, err)
		}
		changed := ev("a2")
		changed.Hash = "other"
		res, err = b.events.AppendApply(ctx, []*intake.Event{ev("a3"), changed, ev("new2")}, applyAll)
		if err != nil || !res[0].Duplicate || res[0].Err != nil || !errors.Is(res[1].Err, intake.ErrConflict) || res[2].Duplicate || res[2].Err != nil {
			t.Errorf("resending archived events with apply: %+v, %v; want a repeat, a conflict and a new event", res, err)
		}
		if got, want := b.sourceIDs(t), "p1 p2 last new1 new2"; got != want {
			t.Errorf("events after resending: got %q, want %q", got, want)
		}

		// Search.
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents}, SourceID: "a2"}); len(got) != 1 || got[0].(*archive.EventRow).ID != "ev-a2" {
			t.Errorf("search events source id a2: %+v", got)
		}
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents}, CorrelationID: "corr-a4"}); len(got) != 1 {
			t.Errorf("search events by correlation: %+v", got)
		}
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents, From: time.Now().Add(48 * time.Hour)}, Source: "odoo"}); len(got) != 0 {
			t.Errorf("search after the day: %d rows, want none", len(got))
		}
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindPayloads}, SourceID: "a1"}); len(got) != 1 || got[0].(*archive.PayloadRow).ID != "pl-done" {
			t.Errorf("search payloads of event a1: %+v", got)
		}
		if err := archive.Search(ctx, b.dir, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents}}, nil); !errors.Is(err, archive.ErrNoCriteria) {
			t.Errorf("search without criteria: %v", err)
		}

		// The audit chain: the hot part verifies from the anchor, the
		// archived part up to it.
		for _, s := range []string{"k4", "k5"} {
			if _, err := b.audit.Append(ctx, audit.Record{Actor: "system", Action: audit.ActionKeyCreated, Subject: s}); err != nil {
				t.Fatal(err)
			}
		}
		vrep, err := b.audit.Verify(ctx, b.ring)
		if err != nil || vrep.Entries != 2 || vrep.LastSeq != 5 || vrep.ArchivedSeq != 3 {
			t.Errorf("audit verify across the archive: %+v, %v; want 2 entries from archived seq 3", vrep, err)
		}
		arep, err := archive.Verify(ctx, db, b.dir, b.ring)
		if err != nil || arep.Files != 3 || arep.AuditEntries != 3 || arep.Anchor == nil || arep.Anchor.Seq != 3 {
			t.Errorf("archive verify: %+v, %v", arep, err)
		}

		// Restore, twice: the rows come back once.
		for i, want := range []int64{5, 0} {
			rrep, err := archive.Restore(ctx, db, b.dir, archive.KindEvents, time.Now(), b.now())
			if err != nil || rrep.Rows != want {
				t.Fatalf("restore %d: %+v, %v; want %d rows", i+1, rrep, err, want)
			}
		}
		if got, want := b.sourceIDs(t), "a1 a2 a3 a4 a5 p1 p2 last new1 new2"; got != want {
			t.Errorf("events after restore: got %q, want %q", got, want)
		}
		if _, err := archive.Restore(ctx, db, b.dir, archive.KindAudit, time.Now(), b.now()); err != nil {
			t.Fatal(err)
		}
		if _, err := b.audit.Verify(ctx, b.ring); err != nil {
			t.Errorf("audit verify with restored entries: %v", err)
		}
		if _, err := archive.Restore(ctx, db, b.dir, archive.KindEvents, time.Now().Add(-72*time.Hour), b.now()); !errors.Is(err, archive.ErrNoFiles) {
			t.Errorf("restore of a day without files: %v", err)
		}
		// The next run moves the restored rows out again, and the events
		// made since, without writing them twice.
		rep, err = b.archiver(t, nil).Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Rows; got[archive.KindEvents] != 6 || got[archive.KindAudit] != 5 {
			t.Errorf("second run: %v, want 6 events (5 restored, last) and 5 audit entries (3 restored, 2 new)", got)
		}
		if got, want := b.sourceIDs(t), "p1 p2 new1 new2"; got != want {
			t.Errorf("events after the second run: got %q, want %q", got, want)
		}
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents}, Source: "odoo"}); len(got) != 6 {
			t.Errorf("archived events: %d, want 6 (each once)", len(got))
		}
		if _, err := b.audit.Verify(ctx, b.ring); err != nil {
			t.Errorf("audit verify after the second run: %v", err)
		}
		if arep, err := archive.Verify(ctx, db, b.dir, b.ring); err != nil || arep.AuditEntries != 5 {
			t.Errorf("archive verify after the second run: %+v, %v", arep, err)
		}

		// A rewritten anchor fails both verifications.
		var anchorHash string
		if err := db.QueryRowContext(ctx, `SELECT hash FROM audit_anchor`).Scan(&anchorHash); err != nil {
			t.Fatal(err)
		}
		setAnchor := func(h string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`UPDATE audit_anchor SET hash = ?`), h); err != nil {
				t.Fatal(err)
			}
		}
		setAnchor(audit.GenesisHash)
		if _, err := b.audit.Verify(ctx, b.ring); !errors.Is(err, audit.ErrBroken) {
			t.Errorf("audit verify with a rewritten anchor: %v, want broken", err)
		}
		if _, err := archive.Verify(ctx, db, b.dir, b.ring); !errors.Is(err, audit.ErrBroken) {
			t.Errorf("archive verify with a rewritten anchor: %v, want broken", err)
		}
		setAnchor(anchorHash)

		// Tampering with an archived audit file is caught: by its
		// checksum, and by the chain when the checksum was rewritten too.
		m = b.manifest(t)
		var af archive.FileEntry
		for _, f := range m.Files {
			if f.Kind == archive.KindAudit && f.Part == 1 {
				af = f
			}
		}
		path := filepath.Join(b.dir, af.File)
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		forged := gzipOf(t, bytes.Replace(gunzip(t, orig), []byte(`"k2"`), []byte(`"kX"`), 1))
		if err := os.WriteFile(path, forged, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := archive.Verify(ctx, db, b.dir, b.ring); !errors.Is(err, archive.ErrChecksum) {
			t.Errorf("archive verify of a changed file: %v, want ErrChecksum", err)
		}
		if list, _ := archive.List(b.dir, archive.Filter{Kind: archive.KindAudit}); len(list) == 0 || !errors.Is(list[0].Err, archive.ErrChecksum) {
			t.Errorf("List of a changed file: %+v", list)
		}
		sum := sha256.Sum256(forged)
		raw, _ := os.ReadFile(filepath.Join(b.dir, archive.ManifestFile))
		raw = bytes.Replace(raw, []byte(af.SHA256), []byte(hex.EncodeToString(sum[:])), 1)
		raw = bytes.Replace(raw, []byte(`"bytes": `+itoa(af.Bytes)), []byte(`"bytes": `+itoa(int64(len(forged)))), 1)
		if err := os.WriteFile(filepath.Join(b.dir, archive.ManifestFile), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		var broken *audit.BrokenError
		if _, err := archive.Verify(ctx, db, b.dir, b.ring); !errors.As(err, &broken) || broken.Seq != 2 {
			t.Errorf("archive verify of a forged file with its checksum: %v, want entry 2 broken", err)
		}
	})
}

// TestArchiveCrash stops a run after a file is written and recorded and
// before its rows are deleted, as a crash would: nothing is lost, and the
// next run deletes exactly what the file holds, without a second file.
func TestArchiveCrash(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		b := setup(t, db)
		today := time.Now().UTC().Format("2006-01-02")
		// A crash after a file was written and before the manifest
		// recorded it left this: it is written again.
		if err := os.MkdirAll(filepath.Join(b.dir, "events"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, "events", today+".jsonl.gz"), []byte("half a file"), 0o600); err != nil {
			t.Fatal(err)
		}
		errCrash := errors.New("crash")
		_, err := b.archiver(t, func(e archive.FileEntry) error {
			if e.Kind == archive.KindEvents {
				return errCrash
			}
			return nil
		}).Once(ctx)
		if !errors.Is(err, errCrash) {
			t.Fatalf("run with a crash: %v", err)
		}
		if got, want := b.sourceIDs(t), "a1 a2 a3 a4 a5 p1 p2 last"; got != want {
			t.Errorf("events after the crash: got %q, want %q", got, want)
		}
		if m := b.manifest(t); len(m.Files) != 3 || m.Files[1].Purged {
			t.Errorf("manifest after the crash: %+v, want the events file recorded, not purged", m.Files)
		}
		// Events accepted meanwhile are archived in a part of their own.
		if _, err := b.events.AppendApply(ctx, []*intake.Event{ev("b1"), ev("b2")}, applyAll); err != nil {
			t.Fatal(err)
		}
		rep, err := b.archiver(t, nil).Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows[archive.KindEvents] != 7 {
			t.Errorf("run after the crash: %v, want 7 events (5 recovered, last and b1 moved)", rep.Rows)
		}
		if got, want := b.sourceIDs(t), "p1 p2 b2"; got != want {
			t.Errorf("events after the next run: got %q, want %q", got, want)
		}
		m := b.manifest(t)
		var parts []string
		for _, f := range m.Files {
			if f.Kind == archive.KindEvents {
				parts = append(parts, f.File+":"+itoa(f.Rows))
			}
		}
		if got, want := strings.Join(parts, " "), "events/"+today+".jsonl.gz:5 events/"+today+".2.jsonl.gz:2"; got != want {
			t.Errorf("events files: got %q, want %q", got, want)
		}
		if got := b.search(t, archive.Query{Filter: archive.Filter{Kind: archive.KindEvents}, Source: "odoo"}); len(got) != 7 {
			t.Errorf("archived events: %d, want 7, each once", len(got))
		}
		if n := b.count(t, `SELECT COUNT(*) FROM archived_events`); n != 7 {
			t.Errorf("archived event keys: %d, want 7", n)
		}
		if _, err := archive.Verify(ctx, db, b.dir, b.ring); err != nil {
			t.Errorf("archive verify after the crash and the next run: %v", err)
		}
		res, err := b.events.Append(ctx, []*intake.Event{ev("a1"), ev("b1")})
		if err != nil || !res[0].Duplicate || !res[1].Duplicate {
			t.Errorf("resending archived events: %+v, %v", res, err)
		}
	})
}

func gunzip(t *testing.T, raw []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipOf(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
