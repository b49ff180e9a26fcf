package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/sqldb"
)

func runKeys(t *testing.T, dir string, args ...string) (stdout string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "waybill", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(newKeysCmd())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(append([]string{"keys"}, args...), "--data", dir))
	err = root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestKeysCreateList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runKeys(t, dir, "create", "--name", "tms", "--scopes", "events:write", "--label", "prod",
		"--expires-at", "2099-01-31T00:00:00Z", "--rate", "5", "--burst", "10")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "wb_prod_") {
		t.Errorf("keys create: last line %q, want the key, starting wb_prod_", secret)
	}
	for _, want := range []string{"label prod", "expires 2099-01-31T00:00:00Z", "rate limit 5/s burst 10"} {
		if !strings.Contains(out, want) {
			t.Errorf("keys create output does not say %q:\n%s", want, out)
		}
	}

	// A second key without options has the defaults.
	if out, err := runKeys(t, dir, "create", "--name", "ci", "--scopes", "shipments:read", "--expires-in", "720h"); err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}

	// A name an active key has is refused, on one line.
	_, err = runKeys(t, dir, "create", "--name", "tms", "--scopes", "admin")
	if !errors.Is(err, apikey.ErrNameTaken) || strings.Contains(oneLine(err), "\n") || !strings.Contains(err.Error(), "already named tms") {
		t.Errorf("keys create with a taken name: got %v, want one line saying the name is taken", err)
	}

	// A server authenticates a request with tms and records the use.
	db, err := sqldb.Open(t.Context(), sqldb.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	server := apikey.NewStore(db)
	used := time.Now().UTC().Truncate(time.Second)
	if _, err := server.Verify(t.Context(), secret); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	stopped, stop := context.WithCancel(t.Context())
	stop()
	if err := server.Run(stopped); err != nil { // writes what is pending, then returns
		t.Fatalf("Run: %v", err)
	}
	db.Close()

	out, err = runKeys(t, dir, "list")
	if err != nil {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 3 {
		t.Fatalf("keys list: got %d lines, want a header and 2 keys:\n%s", len(rows), out)
	}
	if h := strings.Fields(rows[0]); strings.Join(h, " ") != "ID NAME LABEL SCOPES CREATED EXPIRES RATE LIMIT LAST USED REVOKED" {
		t.Errorf("keys list header: got %q", rows[0])
	}
	for _, want := range []string{"tms", "prod", "2099-01-31T00:00:00Z", "5/s burst 10"} {
		if !strings.Contains(rows[1], want) {
			t.Errorf("keys list row of tms does not show %q: %q", want, rows[1])
		}
	}
	// The last use is the column before REVOKED.
	if f := strings.Fields(rows[1]); f[len(f)-2] != used.Format(time.RFC3339) && f[len(f)-2] != used.Add(time.Second).Format(time.RFC3339) {
		t.Errorf("keys list row of tms: got %q, want last use %s", rows[1], used.Format(time.RFC3339))
	}
	for _, want := range []string{"ci", "unlimited (default)", "never"} {
		if !strings.Contains(rows[2], want) {
			t.Errorf("keys list row of ci does not show %q: %q", want, rows[2])
		}
	}
}

func TestKeysRevokeShowsLabel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := runKeys(t, dir, "create", "--name", "tms", "--scopes", "events:write", "--label", "test"); err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	out, err := runKeys(t, dir, "revoke", "tms")
	if err != nil || !strings.Contains(out, "(tms, label test)") {
		t.Errorf("keys revoke: got %q, %v; want it to name the key and its label", out, err)
	}
	// The name is free again.
	if out, err := runKeys(t, dir, "create", "--name", "tms", "--scopes", "events:write"); err != nil {
		t.Errorf("keys create with a revoked key's name: %v\n%s", err, out)
	}
}

func TestKeysCreateBadFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"burst without rate", []string{"--burst", "5"}, "--burst needs --rate"},
		{"bad expiry time", []string{"--expires-at", "tomorrow"}, `--expires-at "tomorrow"`},
		{"past expiry", []string{"--expires-at", "2001-01-01T00:00:00Z"}, "not in the future"},
		{"negative expiry", []string{"--expires-in", "-1h"}, "--expires-in -1h0m0s"},
		{"both expiries", []string{"--expires-in", "1h", "--expires-at", "2099-01-01T00:00:00Z"}, "expires-at"},
		{"bad label", []string{"--label", "Prod"}, `key label "Prod"`},
		{"negative rate", []string{"--rate", "-1"}, "rate -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"create", "--name", "tms", "--scopes", "events:write"}, tt.args...)
			_, err := runKeys(t, t.TempDir(), args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("keys %s: got %v, want an error containing %q", strings.Join(args, " "), err, tt.want)
			}
		})
	}
}
