package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/rating"
	"github.com/waybill/waybill/internal/shipment"
)

// exampleRules writes the example rules with a version and Acme's LTL rate
// per kg.
func exampleRules(t *testing.T, path, version, rate string) {
	t.Helper()
	data, err := os.ReadFile("../../internal/rating/testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `version: "2026.03"`, `version: "`+version+`"`, 1)
	s = strings.Replace(s, "    rate: 0.32\n", "    rate: "+rate+"\n", 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestChangesCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	conf := filepath.Join(dir, "waybill.yaml")
	if err := os.WriteFile(conf, []byte("billing:\n  rules_file: "+rules+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runWaybill(t, append(args, "--config", conf, "--data", filepath.Join(dir, "data"))...)
	}
	me := "cli:" + os.Getenv("USER")

	// The first version is approved implicitly: nothing pending.
	exampleRules(t, rules, "v1", "0.32")
	if out, _, err := run("changes", "list"); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("changes list after the first load: %q %v; want the header only", out, err)
	}

	// Alice edits the rules; the next command proposes the change for her.
	exampleRules(t, rules, "v2", "0.60")
	out, _, err := run("changes", "list", "--json", "--proposer", "cli:alice")
	if err != nil {
		t.Fatal(err)
	}
	var c changes.Change
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("changes list --json: %q: %v", out, err)
	}
	if c.Status != changes.StatusPending || c.Proposer != "cli:alice" || c.Name != changes.NameRules {
		t.Errorf("pending change: %+v", c)
	}
	out, _, err = run("changes", "show", c.ID)
	for _, want := range []string{"status    pending", "proposed  ", " by cli:alice", "what-if   rules v1 → v2 on the 0 most recently billed shipments: 0 charged differently"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("changes show: %q %v; want it to say %q", out, err, want)
		}
	}
	if out, _, err := run("changes", "show", c.ID, "--content"); err != nil || !strings.Contains(out, `version: "v2"`) {
		t.Errorf("changes show --content: %v, content missing", err)
	}

	// Someone else approves it.
	out, _, err = run("changes", "approve", c.ID, "--reason", "what-if checked")
	if err != nil || out != "change "+c.ID+" (billing.rules_file) approved by "+me+"; it takes effect at the hub's next start\n" {
		t.Errorf("changes approve: %q %v", out, err)
	}
	if _, _, err := run("changes", "reject", c.ID); !errors.Is(err, changes.ErrNotPending) {
		t.Errorf("rejecting an approved change: got %v, want ErrNotPending", err)
	}

	// The runner's own proposal cannot be approved by them.
	exampleRules(t, rules, "v3", "0.50")
	out, _, err = run("changes", "list", "--json")
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || c.Proposer != me {
		t.Fatalf("v3 proposal: %q %v", out, err)
	}
	if _, _, err := run("changes", "approve", c.ID); !errors.Is(err, changes.ErrSamePerson) {
		t.Errorf("self-approval: got %v, want ErrSamePerson", err)
	}
	if out, _, err := run("changes", "reject", c.ID, "--reason", "no"); err != nil || !strings.Contains(out, "rejected by "+me) {
		t.Errorf("changes reject: %q %v", out, err)
	}

	if _, _, err := run("changes", "show", "nope"); err == nil || err.Error() != "no change nope" {
		t.Errorf("unknown change: %v", err)
	}
	if _, _, err := run("changes", "list", "--status", "bogus"); err == nil || !strings.Contains(err.Error(), "must be pending") {
		t.Errorf("bad --status: %v", err)
	}
	out, _, err = run("changes", "list", "--status", "all")
	if err != nil || strings.Count(out, "\n") != 4 { // header and v1, v2, v3
		t.Errorf("changes list --status all: %q %v", out, err)
	}
	out, _, err = run("audit", "list", "--action", "change.", "--json")
	if err != nil || strings.Count(out, "\n") != 5 || !strings.Contains(out, `"action":"change.approved","subject":"`) {
		t.Errorf("audit list of changes: %q %v; want 5 entries", out, err)
	}
	if out, _, err := run("audit", "verify"); err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit verify: %q %v", out, err)
	}
}

// writeChange shows the what-if per shipment, and the charge lines of the
// shipments that change.
func TestWriteChangeWhatIf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	load := func(version, rate string) *rating.Rules {
		path := filepath.Join(dir, version+".yaml")
		exampleRules(t, path, version, rate)
		rs, err := rating.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	var ships []*shipment.Shipment
	for _, name := range []string{"acme-ltl-minimum.json", "rheinland.json"} {
		sh, err := readShipment("../../internal/rating/testdata/shipments/" + name)
		if err != nil {
			t.Fatal(err)
		}
		ships = append(ships, sh)
	}
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	c := &changes.Change{ID: "c1", Name: changes.NameRules, Kind: changes.KindRules, Path: "rules.yaml", Size: 10, SHA256: "ab",
		Status: changes.StatusPending, Proposer: "system", ProposedAt: at, BaseID: "c0", WhatIf: changes.TryRules(load("v1", "0.32"), load("v2", "0.60"), ships)}
	var b bytes.Buffer
	writeChange(&b, c)
	out := b.String()
	for _, want := range []string{
		"what-if   rules v1 → v2 on the 2 most recently billed shipments: 1 charged differently",
		"0193a5b0-7c1e-7000-8000-000000000102  190.68 USD  236.20 USD  +45.52 USD",
		"same",
		"  -  acme-ltl",
		"  +  acme-ltl",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("writeChange does not say %q:\n%s", want, out)
		}
	}
}
