package hub_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// writeExampleRules writes the example rules with a version and Acme's LTL
// rate per kg.
func writeExampleRules(t *testing.T, path, version, rate string) {
	t.Helper()
	data, err := os.ReadFile("../rating/testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `version: "2026.03"`, `version: "`+version+`"`, 1)
	s = strings.Replace(s, "    rate: 0.32\n", "    rate: "+rate+"\n", 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestChangesAPI(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		keyFile := auditKeyFile(t)
		rules := filepath.Join(t.TempDir(), "rules.yaml")
		modify := func(c *config.Config) {
			c.Audit.SigningKeyFile = keyFile
			c.Billing.RulesFile = rules
		}
		writeExampleRules(t, rules, "r1", "0.32")
		first, err := hub.New(t.Context(), apiConfig(opts, modify), hub.Options{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}

		// Changed rules wait for approval; the hub runs with r1.
		writeExampleRules(t, rules, "r2", "0.60")
		a := startAPIHub(t, opts, modify, nil)
		var list struct {
			Changes []changes.Change `json:"changes"`
		}
		a.getJSON(t, "/v1/changes?status=pending", &list)
		if len(list.Changes) != 1 {
			t.Fatalf("pending changes: %+v, want 1", list.Changes)
		}
		r2 := list.Changes[0]
		if r2.Name != changes.NameRules || r2.Proposer != "system" || r2.WhatIf == nil || r2.WhatIf.OldVersion != "r1" || r2.WhatIf.NewVersion != "r2" {
			t.Errorf("pending r2: %+v", r2)
		}

		// Scopes: changes:approve may decide, shipments:read may not look.
		approverKey, _, err := a.hub.Keys.Create(t.Context(), "approver", []apikey.Scope{apikey.ChangesApprove})
		if err != nil {
			t.Fatal(err)
		}
		readerKey, _, err := a.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		approver, reader := &apiHub{hub: a.hub, url: a.url, key: approverKey}, &apiHub{url: a.url, key: readerKey}
		status, h, body := reader.call(t, http.MethodGet, "/v1/changes", "", nil)
		wantProblem(t, "listing changes with shipments:read", status, h, body, http.StatusForbidden, problem.CodeForbidden)

		// The approver proposes r3 (as `waybill changes` would for them):
		// r2 is superseded, and the approver cannot approve r3 themself.
		writeExampleRules(t, rules, "r3", "0.50")
		eff, err := a.hub.Changes.Load(t.Context(), hub.ChangePaths(apiConfig(opts, modify)), "key:approver")
		if err != nil || len(eff.Pending) != 1 || eff.Rules.Version() != "r1" {
			t.Fatalf("proposing r3: %v, %+v", err, eff)
		}
		r3 := eff.Pending[0]
		status, h, body = approver.call(t, http.MethodPost, "/v1/changes/"+r3.ID+"/approve", "application/json", []byte(`{"reason":"mine"}`))
		wantProblem(t, "approving one's own change", status, h, body, http.StatusForbidden, problem.CodeForbidden)

		// Another person approves it.
		status, _, body = a.call(t, http.MethodPost, "/v1/changes/"+r3.ID+"/approve", "application/json", []byte(`{"reason":"what-if checked"}`))
		if status != http.StatusOK {
			t.Fatalf("approving r3: %d %s", status, body)
		}
		var got struct {
			changes.Change
			Content string `json:"content"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != changes.StatusApproved || got.DecidedBy != "key:test" || got.Reason != "what-if checked" || !strings.Contains(got.Content, `version: "r3"`) {
			t.Errorf("approved r3: %+v", got.Change)
		}
		status, h, body = a.call(t, http.MethodPost, "/v1/changes/"+r3.ID+"/reject", "application/json", nil)
		wantProblem(t, "rejecting an approved change", status, h, body, http.StatusConflict, problem.CodeConflict)
		status, h, body = approver.call(t, http.MethodGet, "/v1/changes/nope", "", nil)
		wantProblem(t, "an unknown change", status, h, body, http.StatusNotFound, problem.CodeNotFound)
		a.getJSON(t, "/v1/changes/"+r2.ID, &got)
		if got.Status != changes.StatusSuperseded {
			t.Errorf("r2 after r3 was proposed: %s, want superseded", got.Status)
		}

		var trail []string
		for _, e := range auditOf(t, a.hub, "change.") {
			trail = append(trail, e.Action+" by "+e.Actor)
		}
		want := []string{
			"change.approved by system", // r1, implicitly
			"change.proposed by system", // r2
			"change.superseded by key:approver",
			"change.proposed by key:approver", // r3
			"change.approved by key:test",
		}
		if diff := cmp.Diff(want, trail); diff != "" {
			t.Errorf("audit trail (-want +got):\n%s", diff)
		}
		kf, err := audit.ReadKeyFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.hub.Audit.Verify(t.Context(), kf.Ring); err != nil {
			t.Errorf("audit verify: %v", err)
		}
	})
}

// A rules change is tried on the shipments billed with the approved rules:
// here one delivered and rated at the default 275.00 USD per shipment plus
// the fuel surcharge.
func TestChangesWhatIfOnBilledShipments(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		rules := filepath.Join(t.TempDir(), "rules.yaml")
		writeExampleRules(t, rules, "r1", "0.32")
		cfgOf := func(c *config.Config) {
			c.Audit.SigningKeyFile = auditKeyFile(t)
			c.Billing.RulesFile = rules
		}
		a := startAPIHub(t, opts, cfgOf, nil)
		ten := `{"value":"10","unit":"C62"}`
		for i, e := range [][2]string{
			{"shipment.planned", `{"customer":{"ref":"odoo:res.partner/301","name":"Corner Deli"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":` + ten + `}]}`},
			{"inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + ten + `}]}`},
			{"shipment.loaded", `{"lines":[{"line_id":"1","quantity":` + ten + `}]}`},
			{"shipment.delivered", `{"pod":{"signer":"A","signed_at":"2026-11-26T13:00:00Z","lines":[{"line_id":"1","quantity":` + ten + `}]}}`},
		} {
			body := `{"specversion":"1.0","id":"wi-` + strconv.Itoa(i) + `","source":"test","type":"` + e[0] + `","subject":"tms:WI-1","time":"2026-11-26T1` + strconv.Itoa(i) + `:00:00Z","data":` + e[1] + `}`
			if status, _, out := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", []byte(body)); status != http.StatusAccepted {
				t.Fatalf("%s: %d %s", e[0], status, out)
			}
		}
		var sh struct {
			State   string `json:"state"`
			Charges []struct {
				Source string `json:"source"`
			} `json:"charges"`
		}
		poll.Until(t, "the shipment rated", func() bool {
			status, _, body := a.call(t, http.MethodGet, "/v1/shipments/tms:WI-1", "", nil)
			if status != http.StatusOK || json.Unmarshal(body, &sh) != nil {
				return false
			}
			return sh.State == "delivered" && len(sh.Charges) > 0 && sh.Charges[0].Source == "rated"
		})

		// The default freight goes from 275.00 to 300.00 per shipment.
		data, err := os.ReadFile(rules)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(strings.Replace(string(data), "    rate: 275.00\n", "    rate: 300.00\n", 1), `version: "r1"`, `version: "r2"`, 1)
		if err := os.WriteFile(rules, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := apiConfig(opts, cfgOf)
		eff, err := a.hub.Changes.Load(t.Context(), hub.ChangePaths(cfg), "cli:alice")
		if err != nil || len(eff.Pending) != 1 {
			t.Fatalf("proposing r2: %v, %+v", err, eff)
		}
		w := eff.Pending[0].WhatIf
		if w == nil || w.Sampled != 1 || w.Changed != 1 {
			t.Fatalf("what-if: %+v, want one shipment, changed", w)
		}
		got := w.Shipments[0]
		// Freight and 29 % fuel: 354.75 USD, then 387.00 USD.
		if got.Old.Totals[0].String() != "354.75 USD" || got.New.Totals[0].String() != "387.00 USD" || len(got.New.Lines) != 2 {
			t.Errorf("what-if: %v → %v, lines %+v; want 354.75 USD → 387.00 USD in two lines", got.Old.Totals, got.New.Totals, got.New.Lines)
		}
	})
}
