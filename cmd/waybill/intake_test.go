package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var (
	x12Testdata  = filepath.Join("..", "..", "internal", "edi", "x12", "testdata")
	jsonTestdata = filepath.Join("..", "..", "internal", "tracking", "jsonmap", "testdata")
)

func runIntake(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "waybill", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newIntakeCmd())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"intake"}, args...))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

type mappedLine struct {
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Data    struct {
		Status     string `json:"status"`
		OccurredAt string `json:"occurred_at"`
		TZSource   string `json:"tz_source"`
	} `json:"data"`
}

func TestIntakeMap(t *testing.T) {
	t.Parallel()
	t.Run("x12 with its 997", func(t *testing.T) {
		t.Parallel()
		out, _, err := runIntake(t, "map", "--format", "x12", filepath.Join(x12Testdata, "x12-214-03-multi-shipment.edi"))
		if err != nil {
			t.Fatal(err)
		}
		events, ack, ok := strings.Cut(out, "ISA|")
		if !ok {
			t.Fatalf("no 997:\n%s", out)
		}
		ack = "ISA|" + ack
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(events), "\n") {
			var m mappedLine
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			got = append(got, m.Subject+" "+m.Data.Status+" "+m.Data.OccurredAt)
		}
		want := []string{
			"pro:XKTL/KT4471950 picked_up 2025-11-11T00:05:00Z",
			"pro:XKTL/KT4471977 arrived_at_pickup 2025-11-10T21:30:00Z",
			"pro:XKTL/KT4471977 picked_up 2025-11-10T22:52:00Z",
			"pro:XKTL/KT4472013 in_transit 2025-11-11T10:10:00Z",
			"pro:XKTL/KT4472013 in_transit 2025-11-11T11:45:30Z",
		}
		for _, w := range want {
			if !strings.Contains(strings.Join(got, "\n"), w) {
				t.Errorf("missing %q in\n%s", w, strings.Join(got, "\n"))
			}
		}
		if strings.Count(ack, "AK9|A") != 2 {
			t.Errorf("997, one AK9 per group, in the partner's delimiters:\n%s", ack)
		}
	})
	t.Run("x12 rejected", func(t *testing.T) {
		t.Parallel()
		out, _, err := runIntake(t, "map", "--format", "x12", filepath.Join(x12Testdata, "neg-x12-truncated-segment.edi"))
		if err == nil || !strings.Contains(err.Error(), "segment") || strings.Contains(out, "{") {
			t.Errorf("truncated file: err %v, out %q", err, out)
		}
		out, _, err = runIntake(t, "map", "--format", "x12", filepath.Join(x12Testdata, "neg-x12-wrong-se-count.edi"))
		if err == nil || !strings.Contains(out, "AK5*R*4") {
			t.Errorf("wrong count: err %v, out %q", err, out)
		}
		// A broken ISA header leaves no envelope a 997 could answer.
		out, _, err = runIntake(t, "map", "--format", "x12", filepath.Join(x12Testdata, "neg-x12-bad-isa-width.edi"))
		if err == nil || !strings.Contains(err.Error(), "element 6: ISA06 is 14 characters, want 15") || out != "" {
			t.Errorf("bad ISA width: err %v, out %q", err, out)
		}
	})
	t.Run("json mapping with a zone", func(t *testing.T) {
		t.Parallel()
		cfg := writeFile(t, "sources.yaml", "sources:\n  - id: tern\n    format: json\n    mapping: "+
			mustAbs(t, filepath.Join(jsonTestdata, "ternvalley.yaml"))+"\n    auth: {scheme: api_key}\n")
		out, _, err := runIntake(t, "map", "--format", "json", "--source-config", cfg, "--tz", "America/Denver",
			filepath.Join(jsonTestdata, "webhook-04-quirky-local-time-no-zone.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"occurred_at":"2025-11-13T01:05:00Z"`) || !strings.Contains(out, `"tz_source":"partner_default"`) {
			t.Errorf("webhook-04:\n%s", out)
		}
	})
	t.Run("bad use", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"map", "--format", "json", filepath.Join(jsonTestdata, "webhook-04-quirky-local-time-no-zone.json")},
			{"map", "--format", "csv", "x"},
			{"map", "--format", "x12", "--tz", "Nowhere/Else", filepath.Join(x12Testdata, "x12-214-01-in-transit.edi")},
			{"map", "--format", "x12", "does-not-exist.edi"},
			{"map", "--format", "easypost", filepath.Join(jsonTestdata, "neg-json-invalid.json")},
		} {
			if _, _, err := runIntake(t, args...); err == nil {
				t.Errorf("%v: no error", args)
			}
		}
	})
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConfigValidateChecksSources: the source profiles are part of the
// configuration that config validate checks.
func TestConfigValidateChecksSources(t *testing.T) {
	t.Parallel()
	sources := writeFile(t, "sources.yaml", "sources:\n  - id: xktl\n    format: x12\n    auth: {scheme: easypost, secrets: [s]}\n")
	cfg := writeFile(t, "waybill.yaml", "intake:\n  sources_file: "+sources+"\n  edi_dirs: [nobody=/tmp/x]\n")
	root := &cobra.Command{Use: "waybill", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.AddCommand(newConfigCmd())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"config", "validate", "--config", cfg})
	if err := root.ExecuteContext(t.Context()); err == nil {
		t.Fatalf("a bad sources file passed: %s", out.String())
	}
	if !strings.Contains(errOut.String(), "xktl.auth.scheme: EDI sources authenticate with api_key") {
		t.Errorf("stderr: %s", errOut.String())
	}
}
