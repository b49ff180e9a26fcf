package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/rating"
)

var (
	rulesExample   = filepath.Join("..", "..", "internal", "rating", "testdata", "example.yaml")
	rulesErrors    = filepath.Join("..", "..", "internal", "rating", "testdata", "errors.yaml")
	rulesShipments = filepath.Join("..", "..", "internal", "rating", "testdata", "shipments")
)

// runRules runs "waybill rules ARGS…" in-process, as main would, and
// returns its output and error.
func runRules(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "waybill", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newRulesCmd())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"rules"}, args...))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesCheck(t *testing.T) {
	t.Parallel()

	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		out, _, err := runRules(t, "check", "--rules", rulesExample)
		if err != nil {
			t.Fatalf("got error %v", err)
		}
		if want := rulesExample + ": version 2026.03, 18 rules: ok\n"; out != want {
			t.Errorf("got %q, want %q", out, want)
		}
	})

	t.Run("every problem, one per line", func(t *testing.T) {
		t.Parallel()
		out, errOut, err := runRules(t, "check", "--rules", rulesErrors)
		var ee exitError
		if !errors.As(err, &ee) || ee != 1 {
			t.Fatalf("got error %v, want exit status 1", err)
		}
		if out != "" {
			t.Errorf("got stdout %q, want none", out)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if len(lines) != 18 {
			t.Errorf("got %d lines, want 18:\n%s", len(lines), errOut)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, rulesErrors+":") {
				t.Errorf("line %q does not start with the file name", l)
			}
		}
		if !strings.Contains(errOut, rulesErrors+":8:40: rule typo-fact: when: undefined field 'wieght_kg'\n") {
			t.Errorf("stderr lacks the typo'd fact with its position:\n%s", errOut)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, _, err := runRules(t, "check", "--rules", filepath.Join(t.TempDir(), "nope.yaml"))
		if !errors.Is(err, os.ErrNotExist) || strings.Contains(oneLine(err), "\n") {
			t.Errorf("got %v, want a one-line not-exist error", err)
		}
	})

	t.Run("no flag", func(t *testing.T) {
		t.Parallel()
		_, _, err := runRules(t, "check")
		if err == nil || !strings.Contains(err.Error(), `"rules"`) {
			t.Errorf("got %v, want a required flag error", err)
		}
	})
}

func TestRulesTest(t *testing.T) {
	t.Parallel()
	shipmentFile := filepath.Join(rulesShipments, "acme-ltl-reweigh.json")

	t.Run("table", func(t *testing.T) {
		t.Parallel()
		out, _, err := runRules(t, "test", "--rules", rulesExample, "--shipment", shipmentFile)
		if err != nil {
			t.Fatalf("got error %v", err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if want := "rules " + rulesExample + " version 2026.03; shipment 0193a5b0-7c1e-7000-8000-000000000101 (customer odoo:res.partner/42)"; lines[0] != want {
			t.Errorf("got header %q, want %q", lines[0], want)
		}
		if !strings.HasPrefix(lines[1], "RULE ") || !strings.Contains(lines[1], "EVIDENCE") {
			t.Errorf("got column headings %q", lines[1])
		}
		wantRows := []string{
			"acme-ltl 400 linehaul 2050 KGM 656.00 USD customer_ref=odoo:res.partner/42 measured_weight_kg=2050 weight_kg=1800",
			"acme-reweigh WTV accessorial 250 KGM 35.00 USD",
			"acme-detention DET detention 75 MIN 93.75 USD arrived_at=2026-03-03T08:10:00Z customer_ref=odoo:res.partner/42 delivered_at=2026-03-03T11:15:00Z dwell_minutes=185",
			`liftgate LFT liftgate - 95.00 USD customer_ref=odoo:res.partner/42 references={"liftgate":"yes","po":"PO-77812"}`,
			"acme-lumper UNL lumper - 198.00 USD",
			"acme-fuel 405 fuel - 206.64 USD customer_ref=odoo:res.partner/42 linehaul_amount=656.00",
			"TOTAL 1284.39 USD",
		}
		if len(lines) != 2+len(wantRows) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), 2+len(wantRows), out)
		}
		for i, want := range wantRows {
			if got := strings.Join(strings.Fields(lines[2+i]), " "); !strings.HasPrefix(got, want) {
				t.Errorf("row %d: got\n%s\nwant it to start with\n%s", i, got, want)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out, _, err := runRules(t, "test", "--rules", rulesExample, "--shipment", shipmentFile, "--json")
		if err != nil {
			t.Fatalf("got error %v", err)
		}
		var got struct {
			RulesVersion string          `json:"rules_version"`
			ShipmentID   string          `json:"shipment_id"`
			Charges      []rating.Charge `json:"charges"`
			Totals       []money.Money   `json:"totals"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("decoding output: %v\n%s", err, out)
		}
		if got.RulesVersion != "2026.03" || len(got.Charges) != 6 || len(got.Totals) != 1 ||
			got.Totals[0] != (money.Money{Minor: 128439, Currency: "USD"}) {
			t.Errorf("got version %q, %d charges, totals %v", got.RulesVersion, len(got.Charges), got.Totals)
		}
		if c := got.Charges[0]; c.RuleID != "acme-ltl" || c.ReratedBy != "acme-reweigh" || c.Facts["measured_weight_kg"] != "2050" {
			t.Errorf("got first charge %+v", c)
		}
	})

	t.Run("no charges", func(t *testing.T) {
		t.Parallel()
		rules := writeFile(t, "r.yaml", "version: v1\ncurrency: USD\nrules:\n  - {id: l, kind: accessorial, type: liftgate, when: 'false', amount: 1}\n")
		out, _, err := runRules(t, "test", "--rules", rules, "--shipment", shipmentFile)
		if err != nil || !strings.HasSuffix(out, "\nno charges\n") {
			t.Errorf("got %q, %v; want no charges", out, err)
		}
		out, _, err = runRules(t, "test", "--rules", rules, "--shipment", shipmentFile, "--json")
		if err != nil || !strings.Contains(out, `"charges": []`) || !strings.Contains(out, `"totals": []`) {
			t.Errorf("got %q, %v; want empty lists", out, err)
		}
	})

	t.Run("accepts the API's shipment view", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile(shipmentFile)
		if err != nil {
			t.Fatal(err)
		}
		var view map[string]any
		if err := json.Unmarshal(data, &view); err != nil {
			t.Fatal(err)
		}
		view["$schema"] = "https://example.test/schemas/ShipmentView.json"
		view["timeline"] = []any{}
		view["xrefs"] = []any{}
		b, _ := json.Marshal(view)
		out, _, err := runRules(t, "test", "--rules", rulesExample, "--shipment", writeFile(t, "view.json", string(b)))
		if err != nil || !strings.Contains(out, "TOTAL") {
			t.Errorf("got %q, %v", out, err)
		}
	})

	bad := []struct {
		name     string
		shipment func(t *testing.T) string
		want     string
	}{
		{name: "rating error names the rule", shipment: func(*testing.T) string { return filepath.Join(rulesShipments, "acme-ftl-no-coordinates.json") },
			want: "rule acme-ftl: per: unknown fact distance_km"},
		{name: "missing file", shipment: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.json") },
			want: "reading shipment: open"},
		{name: "not JSON", shipment: func(t *testing.T) string { return writeFile(t, "s.json", "{\n  \"id\": \n") },
			want: "decoding shipment"},
		{name: "null", shipment: func(t *testing.T) string { return writeFile(t, "s.json", "null") },
			want: "holds null"},
		{name: "list", shipment: func(t *testing.T) string { return writeFile(t, "s.json", "[]") },
			want: "decoding shipment"},
		{name: "bad quantity", shipment: func(t *testing.T) string {
			return writeFile(t, "s.json", `{"id":"x","weight":{"value":"1e3","unit":"KGM"}}`)
		}, want: "decoding shipment"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runRules(t, "test", "--rules", rulesExample, "--shipment", tt.shipment(t))
			if err == nil {
				t.Fatal("got no error")
			}
			msg := oneLine(err)
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("got %q, want one line containing %q", msg, tt.want)
			}
		})
	}

	t.Run("bad rules", func(t *testing.T) {
		t.Parallel()
		_, errOut, err := runRules(t, "test", "--rules", rulesErrors, "--shipment", shipmentFile)
		var ee exitError
		if !errors.As(err, &ee) || strings.Count(errOut, "\n") != 18 {
			t.Errorf("got %v and\n%s\nwant exit status 1 and 18 problems", err, errOut)
		}
	})
}

func TestRulesTestCost(t *testing.T) {
	t.Parallel()
	costs := writeFile(t, "cost.yaml", `version: "cost-1"
currency: USD
rules:
  - id: xpol-linehaul
    kind: freight
    when: has(facts.carrier_scac) && facts.carrier_scac == "XPOL"
    amount: 20.00
`)
	sh := writeFile(t, "shipment.json", `{"id":"s1","state":"invoiced","lines":[],
  "charges":[{"code":"400","type":"linehaul","amount":{"minor":2240,"currency":"USD"},"invoice_number":"INV-1","event_id":"e1"},
             {"code":"400","type":"linehaul","amount":{"minor":5000,"currency":"USD"},"event_id":"r1","source":"rated"}],
  "carrier_invoices":[{"number":"INV-1","carrier":{"scac":"XPOL"},"event_id":"e1"}]}`)
	out, stderr, err := runRules(t, "test", "--cost", "--rules", costs, "--shipment", sh, "--invoice", "INV-1", "--tolerance", "type=default percent=5")
	if err != nil {
		t.Fatalf("rules test --cost: %v\n%s", err, stderr)
	}
	for _, want := range []string{"xpol-linehaul", "20.00 USD", "carrier invoice INV-1", "linehaul  USD       22.40   20.00     2.40        12.00    1.00     false",
		"review: linehaul billed 22.40 USD, expected 20.00 USD (12.00 % above), 1.00 USD allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runRules(t, "test", "--cost", "--rules", costs, "--shipment", sh, "--json")
	var got struct {
		Comparison struct {
			InvoiceNumber string `json:"invoice_number"`
			Within        bool   `json:"within"`
		} `json:"comparison"`
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Comparison.InvoiceNumber != "INV-1" || got.Comparison.Within {
		t.Errorf("--json: got %s, %v; want the comparison of INV-1, not within", out, err)
	}
	if _, _, err := runRules(t, "test", "--cost", "--rules", costs, "--shipment", sh, "--invoice", "NOPE"); err == nil || !strings.Contains(err.Error(), "no carrier invoice NOPE") {
		t.Errorf("unknown invoice: got %v", err)
	}
	if _, _, err := runRules(t, "test", "--cost", "--rules", costs, "--shipment", sh, "--tolerance", "type=bogus abs=1"); err == nil || !strings.Contains(err.Error(), "--tolerance") {
		t.Errorf("bad tolerance: got %v", err)
	}
}
