package changes_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

type bundle struct {
	store  *changes.Store
	audit  *audit.Store
	ring   *audit.KeyRing
	dir    string
	rules  string
	sample int // shipments the sample was asked for
}

func setup(t *testing.T, db *sqldb.DB, allowSelf bool) *bundle {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(priv)
	b := &bundle{audit: audit.NewStore(db, signer, nil), ring: audit.NewKeyRing(signer.Public()), dir: t.TempDir()}
	b.rules = filepath.Join(b.dir, "rules.yaml")
	ships := []*shipment.Shipment{readShipment(t, "acme-ltl-minimum.json"), readShipment(t, "rheinland.json")}
	b.store = changes.NewStore(db, changes.Options{Audit: b.audit, AllowSelfApproval: allowSelf, WhatIfShipments: 7,
		Sample: func(_ context.Context, n int) ([]*shipment.Shipment, error) { b.sample = n; return ships, nil }})
	return b
}

func readShipment(t *testing.T, name string) *shipment.Shipment {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "rating", "testdata", "shipments", name))
	if err != nil {
		t.Fatal(err)
	}
	var sh shipment.Shipment
	if err := json.Unmarshal(data, &sh); err != nil {
		t.Fatal(err)
	}
	return &sh
}

// writeRules writes the example rules with a version and the Acme LTL
// rate per kg.
func (b *bundle) writeRules(t *testing.T, version, rate string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "rating", "testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `version: "2026.03"`, `version: "`+version+`"`, 1)
	s = strings.Replace(s, "    rate: 0.32\n", "    rate: "+rate+"\n", 1)
	if err := os.WriteFile(b.rules, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) load(t *testing.T, proposer string) *changes.Effective {
	t.Helper()
	eff, err := b.store.Load(t.Context(), changes.Paths{RulesFile: b.rules}, proposer)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return eff
}

func (b *bundle) actions(t *testing.T) []string {
	t.Helper()
	list, _, err := b.audit.List(t.Context(), audit.ListParams{Action: "change.", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Action+" by "+list[i].Actor)
	}
	return out
}

func TestRulesChangeNeedsASecondPerson(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, false)

		// The first version is approved implicitly.
		b.writeRules(t, "v1", "0.32")
		eff := b.load(t, "system")
		if eff.Rules.Version() != "v1" || len(eff.Pending) != 0 {
			t.Fatalf("first load: rules %s, pending %d; want v1 in force, nothing pending", eff.Rules.Version(), len(eff.Pending))
		}

		// A changed file waits: the hub keeps v1.
		b.writeRules(t, "v2", "0.60")
		eff = b.load(t, "cli:alice")
		if eff.Rules.Version() != "v1" || len(eff.Pending) != 1 {
			t.Fatalf("after a change: rules %s, pending %d; want v1 in force and one pending", eff.Rules.Version(), len(eff.Pending))
		}
		pending := eff.Pending[0]
		if pending.Proposer != "cli:alice" || pending.Name != changes.NameRules || pending.Status != changes.StatusPending || pending.BaseID == "" {
			t.Errorf("pending change: %+v", pending)
		}
		// The what-if: Acme pays more at 0.60/kg than at 0.32/kg.
		w := pending.WhatIf
		if w == nil || b.sample != 7 {
			t.Fatalf("what-if %v, sample asked for %d; want a report on 7", w, b.sample)
		}
		if w.OldVersion != "v1" || w.NewVersion != "v2" || w.Sampled != 2 || w.Changed != 1 {
			t.Errorf("what-if: %+v", w)
		}
		acme := w.Shipments[0]
		if !acme.Changed || acme.Old.Totals[0].String() != "190.68 USD" || acme.New.Totals[0].String() != "236.20 USD" {
			t.Errorf("Acme: changed %v, %v → %v; want 190.68 USD → 236.20 USD (linehaul and fuel)", acme.Changed, acme.Old.Totals, acme.New.Totals)
		}
		if w.Shipments[1].Changed {
			t.Errorf("Rheinland: changed by an Acme rule: %+v", w.Shipments[1])
		}

		// Loading again proposes nothing new.
		if eff = b.load(t, "system"); len(eff.Pending) != 1 || eff.Pending[0].ID != pending.ID {
			t.Errorf("second load: pending %+v, want the same one change", eff.Pending)
		}

		// Alice cannot approve her own change; Bob can.
		if _, err := b.store.Approve(t.Context(), pending.ID, "cli:alice", "ok"); !errors.Is(err, changes.ErrSamePerson) {
			t.Errorf("self-approval: got %v, want ErrSamePerson", err)
		}
		c, err := b.store.Approve(t.Context(), pending.ID, "key:bob", "checked the what-if")
		if err != nil || c.Status != changes.StatusApproved || c.DecidedBy != "key:bob" {
			t.Fatalf("approve: %+v, %v", c, err)
		}
		if _, err := b.store.Approve(t.Context(), pending.ID, "key:bob", ""); !errors.Is(err, changes.ErrNotPending) {
			t.Errorf("approving twice: got %v, want ErrNotPending", err)
		}
		if eff = b.load(t, "system"); eff.Rules.Version() != "v2" || len(eff.Pending) != 0 {
			t.Errorf("after approval: rules %s, pending %d; want v2 in force", eff.Rules.Version(), len(eff.Pending))
		}

		// Rules that do not compile can be rejected, not approved, and are
		// not proposed again.
		if err := os.WriteFile(b.rules, []byte("version: v3\nrules: [{id: x, kind: nonsense}]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		eff = b.load(t, "system")
		bad := eff.Pending[0]
		if bad.Problem == "" || bad.WhatIf != nil || eff.Rules.Version() != "v2" {
			t.Errorf("broken rules: problem %q, what-if %v, in force %s", bad.Problem, bad.WhatIf, eff.Rules.Version())
		}
		if _, err := b.store.Approve(t.Context(), bad.ID, "key:bob", ""); !errors.Is(err, changes.ErrInvalid) {
			t.Errorf("approving broken rules: got %v, want ErrInvalid", err)
		}
		if _, err := b.store.Reject(t.Context(), bad.ID, "key:bob", "does not compile"); err != nil {
			t.Fatal(err)
		}
		if eff = b.load(t, "system"); len(eff.Pending) != 0 {
			t.Errorf("a rejected content proposed again: %+v", eff.Pending)
		}

		// A pending change is superseded when the file goes back to the
		// approved content.
		b.writeRules(t, "v4", "0.50")
		if eff = b.load(t, "system"); len(eff.Pending) != 1 {
			t.Fatalf("v4: pending %d, want 1", len(eff.Pending))
		}
		v4 := eff.Pending[0].ID
		b.writeRules(t, "v2", "0.60")
		if eff = b.load(t, "system"); len(eff.Pending) != 0 {
			t.Errorf("back to the approved rules: pending %+v, want none", eff.Pending)
		}
		got, err := b.store.Get(t.Context(), v4)
		if err != nil || got.Status != changes.StatusSuperseded {
			t.Errorf("v4 after the revert: %+v %v, want superseded", got, err)
		}

		want := []string{
			"change.approved by system", // v1, implicitly
			"change.proposed by cli:alice",
			"change.approved by key:bob",
			"change.proposed by system", // v3
			"change.rejected by key:bob",
			"change.proposed by system", // v4
			"change.superseded by system",
		}
		if diff := cmp.Diff(want, b.actions(t)); diff != "" {
			t.Errorf("audit trail (-want +got):\n%s", diff)
		}
		if _, err := b.audit.Verify(t.Context(), b.ring); err != nil {
			t.Errorf("audit verify: %v", err)
		}
	})
}

func TestSelfApprovalAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, sqldbtest.SQLite(t), true)
	b.writeRules(t, "v1", "0.32")
	b.load(t, "system")
	b.writeRules(t, "v2", "0.60")
	eff := b.load(t, "cli:alice")
	if _, err := b.store.Approve(t.Context(), eff.Pending[0].ID, "cli:alice", ""); err != nil {
		t.Errorf("self-approval with allow_self_approval: %v", err)
	}
	if _, err := b.store.Approve(t.Context(), "nope", "cli:alice", ""); !errors.Is(err, changes.ErrNotFound) {
		t.Errorf("unknown change: got %v, want ErrNotFound", err)
	}
}

// A changed JSON mapping waits like rules do: the profile keeps the
// approved mapping.
func TestMappingChange(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, false)
		base, err := os.ReadFile(filepath.Join("..", "tracking", "jsonmap", "testdata", "ridgeback.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		mapping := filepath.Join(b.dir, "ridgeback.yaml")
		writeMapping := func(format string) {
			t.Helper()
			s := strings.Replace(string(base), "format: json\n", "format: "+format+"\n", 1)
			if err := os.WriteFile(mapping, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		writeMapping("ridgeback-v1")
		sources := filepath.Join(b.dir, "sources.yaml")
		if err := os.WriteFile(sources, []byte("sources:\n  - id: ridgeback\n    format: json\n    mapping: ridgeback.yaml\n    auth: {scheme: api_key}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		load := func() *changes.Effective {
			t.Helper()
			eff, err := b.store.Load(t.Context(), changes.Paths{SourcesFile: sources}, "system")
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			return eff
		}
		if eff := load(); eff.Profiles.Get("ridgeback").Mapping.Format() != "ridgeback-v1" || len(eff.Pending) != 0 {
			t.Fatalf("first load: %s, pending %d", eff.Profiles.Get("ridgeback").Mapping.Format(), len(eff.Pending))
		}
		writeMapping("ridgeback-v2")
		eff := load()
		if got := eff.Profiles.Get("ridgeback").Mapping.Format(); got != "ridgeback-v1" {
			t.Errorf("mapping in force while its change is pending: %s, want ridgeback-v1", got)
		}
		if len(eff.Pending) != 1 || eff.Pending[0].Kind != changes.KindMapping || eff.Pending[0].Name != "mapping:"+mapping {
			t.Fatalf("pending: %+v", eff.Pending)
		}
		if _, err := b.store.Approve(t.Context(), eff.Pending[0].ID, "key:bob", ""); err != nil {
			t.Fatal(err)
		}
		if got := load().Profiles.Get("ridgeback").Mapping.Format(); got != "ridgeback-v2" {
			t.Errorf("mapping in force after approval: %s, want ridgeback-v2", got)
		}
	})
}
