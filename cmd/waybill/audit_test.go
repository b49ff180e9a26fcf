package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// runWaybill runs the whole command line and returns its stdout and
// stderr.
func runWaybill(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

var verifyOK = regexp.MustCompile(`^ok: (\d+) entries, last seq (\d+), head hash ([0-9a-f]{64})\n$`)

// TestAuditCommands records key commands, verifies the trail, then edits
// and deletes rows directly in the database as an intruder would: verify
// names the first bad entry each time.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		dir := t.TempDir() // the data directory: the signing key is made here
		storage := []string{"--data", dir}
		if opts.DatabaseURL != "" {
			conf := filepath.Join(t.TempDir(), "waybill.yaml")
			if err := os.WriteFile(conf, []byte("encryption:\n  enabled: false\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			storage = append(storage, "--database", opts.DatabaseURL, "--config", conf)
		}
		run := func(args ...string) (string, string, error) {
			t.Helper()
			return runWaybill(t, append(args, storage...)...)
		}
		for _, args := range [][]string{
			{"keys", "create", "--name", "tms", "--scopes", "events:write"},
			{"keys", "create", "--name", "ops", "--scopes", "admin"},
			{"keys", "revoke", "tms"},
		} {
			if out, _, err := run(args...); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
		}

		out, _, err := run("audit", "verify")
		m := verifyOK.FindStringSubmatch(out)
		if err != nil || m == nil || m[1] != "3" || m[2] != "3" {
			t.Fatalf("audit verify: %q, %v; want ok with 3 entries", out, err)
		}
		head := m[3]

		out, _, err = run("audit", "list", "--json", "--action", "key.")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e audit.Entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("audit list line %q: %v", line, err)
			}
			if !strings.HasPrefix(e.Actor, "cli:") {
				t.Errorf("entry %d: actor %q, want cli:<user>", e.Seq, e.Actor)
			}
			got = append(got, e.Action)
		}
		if want := "key.revoked key.created key.created"; strings.Join(got, " ") != want {
			t.Errorf("audit list: got %v, want %s", got, want)
		}
		if out, _, err := run("audit", "list", "--limit", "1"); err != nil || !strings.HasPrefix(out, "SEQ") || !strings.Contains(out, "key.revoked") || strings.Contains(out, "key.created") {
			t.Errorf("audit list --limit 1: %q %v", out, err)
		}

		// Tampering, as an intruder with database access would.
		if opts.DatabaseURL == "" {
			opts.DataDir = dir
		}
		db, err := sqldb.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(t.Context(), db.Dialect.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		wantBroken := func(what, want string, extra ...string) {
			t.Helper()
			out, stderr, err := run(append([]string{"audit", "verify"}, extra...)...)
			var code exitError
			if !errors.As(err, &code) || code != 1 || out != "" || stderr != "audit trail broken: "+want+"\n" {
				t.Errorf("%s: got %q %q %v, want exit 1 and %q", what, out, stderr, err, want)
			}
		}
		var details string
		if err := db.QueryRowContext(t.Context(), "SELECT details FROM audit_log WHERE seq = 2").Scan(&details); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE audit_log SET details = ? WHERE seq = 2`, strings.Replace(details, "admin", "events:write", 1))
		wantBroken("details of entry 2 changed", "entry 2: changed: its hash does not match its content")
		exec(`UPDATE audit_log SET details = ? WHERE seq = 2`, details)
		if out, _, err := run("audit", "verify", "--anchor", "3:"+head); err != nil || verifyOK.FindString(out) == "" {
			t.Fatalf("verify after the change was undone: %q %v", out, err)
		}

		exec(`DELETE FROM audit_log WHERE seq = 3`)
		wantBroken("the last entry deleted", "entry 3: missing (removed?): the head records seq 3")

		// With the head rewound too, the chain alone looks whole; the
		// anchor recorded before catches it.
		var hash2 string
		if err := db.QueryRowContext(t.Context(), "SELECT hash FROM audit_log WHERE seq = 2").Scan(&hash2); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE audit_head SET seq = 2, hash = ?`, hash2)
		if out, _, err := run("audit", "verify"); err != nil || !strings.HasPrefix(out, "ok: 2 entries, last seq 2") {
			t.Errorf("verify without an anchor after the head was rewound: %q %v", out, err)
		}
		wantBroken("the last entry deleted, the head rewound", "entry 3: missing (removed?): the anchor records seq 3", "--anchor", "3:"+head)

		exec(`DELETE FROM audit_log WHERE seq = 1`)
		wantBroken("the first entry deleted", "entry 1: missing (removed?): the chain goes on at seq 2")
	})
}

func TestAuditVerifyRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := runWaybill(t, "audit", "verify", "--data", dir, "--anchor", "x"); err == nil || !strings.Contains(err.Error(), "want SEQ:HASH") {
		t.Errorf("bad anchor: %v", err)
	}
	// No entry was ever recorded, so no key was made.
	if _, _, err := runWaybill(t, "audit", "verify", "--data", dir); !errors.Is(err, audit.ErrNoKey) {
		t.Errorf("no key file: got %v, want ErrNoKey", err)
	}
	if _, _, err := runWaybill(t, "audit", "list", "--data", dir, "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad --since: %v", err)
	}
}

// A dead letter replayed from the command line is recorded with its actor.
func TestAuditDeadLetterReplayCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "waybill.yaml")
	if err := os.WriteFile(conf, []byte("connectors:\n  webhook:\n    url: http://127.0.0.1:9/never-called\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	db, err := sqldb.Open(t.Context(), sqldb.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(t.Context(), quietLogger()); err != nil {
		t.Fatal(err)
	}
	a := connector.Action{Kind: shipment.ActionDispatchRelease, ShipmentID: "s-1", IdempotencyKey: "s-1:release", Payload: json.RawMessage(`{}`)}
	if err := jobqueue.NewDeadLetters(db).Record(t.Context(), &rivertype.JobRow{ID: 7, Attempt: 12}, a, errors.New("refused")); err != nil {
		t.Fatal(err)
	}
	list, _, err := jobqueue.NewDeadLetters(db).List(t.Context(), 10, "")
	db.Close()
	if err != nil || len(list) != 1 {
		t.Fatalf("dead letters: %v %v", list, err)
	}
	if out, stderr, err := runWaybill(t, "dead-letters", "replay", list[0].ID, "--actor", "cli:ops", "--config", conf, "--data", data); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out, stderr)
	}
	out, _, err := runWaybill(t, "audit", "list", "--json", "--config", conf, "--data", data)
	var e audit.Entry
	if err != nil || json.Unmarshal([]byte(out), &e) != nil || e.Action != audit.ActionDeadLetterReplayed || e.Actor != "cli:ops" || e.Subject != list[0].ID {
		t.Errorf("audit after the replay: %q %v", out, err)
	}
}
