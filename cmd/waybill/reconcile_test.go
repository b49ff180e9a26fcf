package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestReconcileCommand reconciles a day with a simulated Odoo from the
// command line: an invoice naming no shipment is reported, running again
// keeps the one record, and bad input fails with one line.
func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		srv, err := odoosim.Start(odoosim.Options{Version: 18})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		sim := srv.Sim()
		cl, err := odoo.New(t.Context(), odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), Timeout: 10 * time.Second, RateLimit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cl.Close() })
		demo := sim.Demo()
		orphan, err := cl.Create(t.Context(), "account.move", []map[string]any{{"move_type": "out_invoice", "partner_id": demo.Customers[0], "ref": "WB-NOBODY",
			"invoice_line_ids": []any{[]any{0, 0, map[string]any{"product_id": demo.Products["E-COM07"], "quantity": 1.0, "price_unit": 5.0}}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}

		dir := t.TempDir()
		keyFile := filepath.Join(dir, "odoo.key")
		if err := os.WriteFile(keyFile, []byte(sim.APIKey()), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := "connectors:\n  odoo:\n    url: " + srv.URL() + "\n    database: " + sim.Database() + "\n    login: " + sim.Login() + "\n    api_key_file: " + keyFile + "\n"
		storage := []string{"--data", filepath.Join(dir, "data")}
		if opts.DatabaseURL != "" {
			conf += "encryption:\n  enabled: false\n"
			storage = append(storage, "--database", opts.DatabaseURL)
		}
		confPath := filepath.Join(dir, "waybill.yaml")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) (string, error) {
			t.Helper()
			out, _, err := runWaybill(t, append(append([]string{"reconcile", "run"}, args...), append(storage, "--config", confPath)...)...)
			return out, err
		}
		today := time.Now().UTC().Format("2006-01-02")

		out, err := run("--date", today)
		if err != nil {
			t.Fatalf("reconcile run: %v\n%s", err, out)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^reconciliation \S+ of ` + today + `: open$`),
			regexp.MustCompile(`(?m)^0 shipments compared, 1 differences, 0 healed, 1 for finance, \d+ Odoo calls$`),
			regexp.MustCompile(`(?m)^orphan_invoice\s+1$`),
			regexp.MustCompile(`(?m)^missing_invoice\s+0$`),
			regexp.MustCompile(`(?m)^decide with POST /v1/reconciliations/\S+/decision`),
		} {
			if !want.MatchString(out) {
				t.Errorf("summary lacks %s:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "\n"); n > 24 {
			t.Errorf("summary takes %d lines, want one screen:\n%s", n, out)
		}

		out, err = run("--date", today, "--json")
		if err != nil {
			t.Fatalf("reconcile run --json: %v", err)
		}
		var rec reconcile.Record
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("decoding %s: %v", out, err)
		}
		if len(rec.Differences) != 1 || rec.Differences[0].Type != reconcile.OrphanInvoice || rec.Differences[0].Evidence.OdooIDs[0] != orphan[0] {
			t.Errorf("--json: got %+v, want the orphan invoice %d", rec.Differences, orphan[0])
		}
		if !strings.Contains(regexp.MustCompile(`reconciliation (\S+) of`).FindString(mustRun(t, run, "--date", today)), rec.ID) {
			t.Errorf("running again: want the day's record %s", rec.ID)
		}

		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"bad date", []string{"--date", "2026-02-30"}, "--date"},
			{"no date", nil, "date"},
		} {
			out, err := run(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: got %q, %v; want a one-line error naming %s", tc.name, out, err, tc.want)
			}
		}
	})
}

func mustRun(t *testing.T, run func(args ...string) (string, error), args ...string) string {
	t.Helper()
	out, err := run(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// TestReconcileCommandWithoutOdoo: with no Odoo connector the command
// says so in one line.
func TestReconcileCommandWithoutOdoo(t *testing.T) {
	t.Parallel()
	_, _, err := runWaybill(t, "reconcile", "run", "--date", "2026-12-03", "--data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "connectors.odoo.url") {
		t.Errorf("got %v, want an error naming connectors.odoo.url", err)
	}
}

// TestReconcileInventoryCommand checks the inventory with a simulated
// Odoo from the command line: the demo's open pickings have no shipment.
func TestReconcileInventoryCommand(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		srv, err := odoosim.Start(odoosim.Options{Version: 17})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		sim := srv.Sim()
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "odoo.key")
		if err := os.WriteFile(keyFile, []byte(sim.APIKey()), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := "connectors:\n  odoo:\n    url: " + srv.URL() + "\n    database: " + sim.Database() + "\n    login: " + sim.Login() + "\n    api_key_file: " + keyFile + "\n"
		storage := []string{"--data", filepath.Join(dir, "data")}
		if opts.DatabaseURL != "" {
			conf += "encryption:\n  enabled: false\n"
			storage = append(storage, "--database", opts.DatabaseURL)
		}
		confPath := filepath.Join(dir, "waybill.yaml")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		run := func(args ...string) (string, error) {
			t.Helper()
			out, _, err := runWaybill(t, append(append([]string{"reconcile", "inventory"}, args...), append(storage, "--config", confPath)...)...)
			return out, err
		}
		out, err := run()
		if err != nil {
			t.Fatalf("reconcile inventory: %v\n%s", err, out)
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^inventory check \S+: open$`),
			regexp.MustCompile(`(?m)^0 shipments compared, (\d+) differences, 0 healed, \d+ for operations, \d+ Odoo calls$`),
			regexp.MustCompile(`(?m)^untracked_picking\s+[1-9]\d*$`),
			regexp.MustCompile(`(?m)^missing_return\s+0$`),
			regexp.MustCompile(`(?m)^decide with POST /v1/inventory-checks/\S+/decision`),
		} {
			if !want.MatchString(out) {
				t.Errorf("summary lacks %s:\n%s", want, out)
			}
		}
		out, err = run("--warehouse", "WH2", "--json")
		if err != nil {
			t.Fatalf("reconcile inventory --json: %v", err)
		}
		var chk reconcile.InventoryCheck
		if err := json.Unmarshal([]byte(out), &chk); err != nil {
			t.Fatalf("decoding %s: %v", out, err)
		}
		if chk.Warehouse != "WH2" || len(chk.Differences) != 0 || len(chk.Counts) != len(reconcile.InventoryTypes()) {
			t.Errorf("--warehouse WH2 --json: got %+v, want no differences and every type counted", chk)
		}
		if out, err := run("--warehouse", "WH\nX"); err == nil || !strings.Contains(err.Error(), "--warehouse") || strings.Contains(err.Error(), "\n") {
			t.Errorf("a warehouse of two lines: got %q, %v; want a one-line error naming --warehouse", out, err)
		}
	})
}

func TestReconcileInventoryCommandWithoutOdoo(t *testing.T) {
	t.Parallel()
	_, _, err := runWaybill(t, "reconcile", "inventory", "--data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "connectors.odoo.url") {
		t.Errorf("got %v, want an error naming connectors.odoo.url", err)
	}
}
