package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestArchiveCommands archives events and audit entries made days ago with
// archive run, then lists, searches, verifies and restores them, and
// checks the one-line errors of bad input and a changed file.
func TestArchiveCommands(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		ctx := t.Context()
		dir := t.TempDir()
		conf := filepath.Join(t.TempDir(), "waybill.yaml")
		yaml := "archive:\n  retention: 24h\n"
		storage := []string{"--data", dir, "--config", conf}
		if opts.DatabaseURL != "" {
			yaml += "encryption:\n  enabled: false\n"
			storage = append(storage, "--database", opts.DatabaseURL)
		} else {
			opts.DataDir = dir
		}
		if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) (string, string, error) {
			t.Helper()
			return runWaybill(t, append(args, storage...)...)
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pemKey, err := audit.EncodePrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "audit-signing.key"), pemKey, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := run("migrate"); err != nil {
			t.Fatal(err)
		}
		db, err := sqldb.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		// Two audit entries and two events three days old, then newer
		// ones that stay.
		old := time.Now().Add(-72 * time.Hour)
		oldDay := old.UTC().Format(time.DateOnly)
		as := audit.NewStore(db, audit.NewSigner(priv), &audit.StoreOptions{Now: func() time.Time { return old }})
		for _, s := range []string{"k1", "k2"} {
			if _, err := as.Append(ctx, audit.Record{Actor: "system", Action: audit.ActionKeyCreated, Subject: s}); err != nil {
				t.Fatal(err)
			}
		}
		if out, _, err := run("keys", "create", "--name", "tms", "--scopes", "events:write"); err != nil {
			t.Fatalf("keys create: %v %s", err, out)
		}
		events := intake.NewStore(db, &intake.Backlog{})
		var evs []*intake.Event
		for _, id := range []string{"e1", "e2", "e3"} {
			evs = append(evs, &intake.Event{ID: "ev-" + id, Source: "tms", SourceID: id, Type: "shipment.cancelled", Subject: "x:1",
				Time: time.Now().UTC(), CorrelationID: "corr-" + id, Hash: "h-" + id, Body: []byte(`{}`)})
		}
		if _, err := events.AppendApply(ctx, evs, func(_ context.Context, _ *sql.Tx, p []intake.Pending) ([]intake.Outcome, func(bool), error) {
			out := make([]intake.Outcome, len(p))
			for i := range p {
				out[i] = intake.Outcome{Seq: p[i].Seq, State: intake.StateApplied}
			}
			return out, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`UPDATE events SET accepted_at = ? WHERE source_id IN ('e1', 'e2')`), old.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		out, _, err := run("archive", "run")
		if err != nil || out != "archived 2 files: 2 events, 0 payloads, 2 audit entries\n" {
			t.Fatalf("archive run: %q, %v", out, err)
		}
		if n := count(); n != 1 {
			t.Errorf("events left: %d, want 1", n)
		}
		out, _, err = run("archive", "list")
		if err != nil || !strings.HasPrefix(out, "KIND") || strings.Count(out, oldDay) != 2 || strings.Count(out, " ok ") != 2 {
			t.Errorf("archive list: %q, %v", out, err)
		}
		out, _, err = run("archive", "list", "--kind", "events", "--json")
		var entry struct {
			Kind       string `json:"kind"`
			Rows       int    `json:"rows"`
			ChecksumOK bool   `json:"checksum_ok"`
		}
		if err != nil || json.Unmarshal([]byte(out), &entry) != nil || entry.Kind != "events" || entry.Rows != 2 || !entry.ChecksumOK {
			t.Errorf("archive list --json: %q, %v", out, err)
		}
		out, _, err = run("archive", "search", "--kind", "events", "--source-id", "e2")
		if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":"ev-e2"`) {
			t.Errorf("archive search: %q, %v", out, err)
		}
		out, _, err = run("archive", "search", "--kind", "audit", "--id", "k1", "--from", oldDay, "--to", oldDay)
		if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"subject":"k1"`) {
			t.Errorf("archive search audit: %q, %v", out, err)
		}
		out, _, err = run("audit", "verify")
		if err != nil || !regexp.MustCompile(`^ok: 1 entries, last seq 3, head hash [0-9a-f]{64} \(from archived seq 2\)\n$`).MatchString(out) {
			t.Errorf("audit verify: %q, %v", out, err)
		}
		out, _, err = run("archive", "verify")
		if err != nil || !strings.HasPrefix(out, "ok: 2 files, 2 archived audit entries, anchor seq 2 hash ") {
			t.Errorf("archive verify: %q, %v", out, err)
		}

		for _, want := range []string{"restored 2 rows", "restored 0 rows"} {
			out, _, err = run("archive", "restore", "--kind", "events", "--day", oldDay)
			if err != nil || !strings.HasPrefix(out, want+" of events/"+oldDay+" from 1 files") {
				t.Errorf("archive restore: %q, %v; want %q", out, err, want)
			}
		}
		if n := count(); n != 3 {
			t.Errorf("events after restore: %d, want 3", n)
		}
		out, _, err = run("audit", "list", "--action", "archive.restored", "--json")
		if err != nil || strings.Count(out, "\n") != 2 {
			t.Errorf("restores in the audit trail: %q, %v", out, err)
		}

		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"archive", "list", "--kind", "shipments"}, `--kind "shipments": want events, payloads or audit`},
			{[]string{"archive", "list", "--from", "2026-13-01"}, `--from "2026-13-01": want a day, such as 2026-09-01`},
			{[]string{"archive", "list", "--from", "2026-09-02", "--to", "2026-09-01"}, `--to 2026-09-01 is before --from 2026-09-02`},
			{[]string{"archive", "search", "--kind", "events"}, `give at least one of --id, --source, --source-id, --correlation or --shipment`},
			{[]string{"archive", "search", "--source", "tms"}, `--kind is required: events, payloads or audit`},
			{[]string{"archive", "restore", "--kind", "events"}, `--day is required, such as 2026-09-01`},
			{[]string{"archive", "restore", "--kind", "events", "--day", "2020-01-01"}, `events 2020-01-01: no archive files for that kind and day`},
		} {
			if _, _, err := run(c.args...); err == nil || oneLine(err) != c.want {
				t.Errorf("%v: got %v, want %q", c.args, err, c.want)
			}
		}

		// A changed file fails list and verify.
		path := filepath.Join(dir, "archive", "events", oldDay+".jsonl.gz")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)-1] ^= 0xff
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		var code exitError
		if out, stderr, err := run("archive", "verify"); !errors.As(err, &code) || code != 1 || out != "" || !strings.HasPrefix(stderr, "archive broken: events/"+oldDay+".jsonl.gz: archive file does not match its checksum") {
			t.Errorf("archive verify of a changed file: %q %q %v", out, stderr, err)
		}
		if out, stderr, err := run("archive", "list"); !errors.As(err, &code) || !strings.Contains(out, "FAILED") || !strings.Contains(stderr, "1 files do not match") {
			t.Errorf("archive list of a changed file: %q %q %v", out, stderr, err)
		}
	})
}
