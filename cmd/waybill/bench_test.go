package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBench builds the real binary and runs waybill bench with tiny
// settings: it prints the table with a row for the ceiling and one for
// Waybill, each with its throughput, latencies, CPU and ratio. With
// WAYBILL_TEST_POSTGRES_URL set it runs on PostgreSQL too.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary and runs two servers")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	engines := []struct {
		name, engine string
		args         []string
	}{{"sqlite", "SQLite FULL", nil}}
	if u := os.Getenv("WAYBILL_TEST_POSTGRES_URL"); u != "" {
		engines = append(engines, struct {
			name, engine string
			args         []string
		}{"postgres", "PostgreSQL", []string{"--database", u}})
	} else {
		t.Log("PostgreSQL run skipped: set WAYBILL_TEST_POSTGRES_URL")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, append([]string{"bench", "--clients", "4", "--events", "300", "--batch", "10"}, e.args...)...)
			cmd.Dir = t.TempDir() // the run must leave nothing in its working directory
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("waybill bench: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
			}
			out := stdout.String()
			t.Logf("waybill bench:\n%s", out)
			num := `\s+[0-9]+(\.[0-9]+)?\s+\|`
			for _, server := range []string{"ceiling", "waybill"} {
				row := regexp.MustCompile(`(?m)^\| ` + server + ` \(` + e.engine + `\)\s+\|` + num + num + num + num + `\s+[0-9]+\.[0-9]{2}× \|$`)
				if !row.MatchString(out) {
					t.Errorf("no %s row with accepted/s, p50, p99, CPU and ratio in the table", server)
				}
				if !strings.Contains(out, server+" ("+e.engine+"): 300 accepted, 0 duplicates, 0 rejected, 0 throttled, 0 errors") {
					t.Errorf("no line saying the %s accepted all 300 events", server)
				}
			}
			if !strings.Contains(out, "| server ") || !strings.Contains(out, "| vs ceiling |") {
				t.Errorf("no table header in the output")
			}
			if !strings.Contains(out, "waybill/ceiling: ") {
				t.Errorf("no waybill/ceiling ratio line in the output")
			}
			if left, err := os.ReadDir(cmd.Dir); err != nil || len(left) > 0 {
				t.Errorf("the run left %v in its working directory (%v), want nothing", left, err)
			}
		})
	}
}

func TestBenchFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"clients", []string{"--clients", "0"}, []string{"--clients must be between 1 and 4096, got 0"}},
		{"events", []string{"--events", "-1"}, []string{"--events must be at least 1, got -1"}},
		{"batch", []string{"--batch", "1001"}, []string{"--batch must be between 1 and 1000, got 1001"}},
		{"mix", []string{"--mix", "random"}, []string{`--mix must be planned or lifecycle, got "random"`}},
		{"duration", []string{"--duration", "-1s"}, []string{"--duration must not be negative, got -1s"}},
		{"database", []string{"--database", "mysql://h/db"}, []string{"--database must be a postgres:// URL"}},
		{"all at once", []string{"--clients", "5000", "--batch", "0"}, []string{"--clients must be", "--batch must be"}},
		{"unknown flag", []string{"--rate", "5"}, []string{"unknown flag: --rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := newRootCmd()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(append([]string{"bench"}, tt.args...))
			err := root.ExecuteContext(t.Context())
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			got := oneLine(err)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got error %q, want it to say %q", got, w)
				}
			}
			if strings.Contains(out.String(), "| server") {
				t.Errorf("a run started despite the bad flags:\n%s", &out)
			}
		})
	}
}

func TestProcessCPU(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's clock has counted some of it.
	deadline := time.Now().Add(10 * time.Second)
	after := before
	for after <= before && time.Now().Before(deadline) {
		x := 0
		for i := range 10_000_000 {
			x += i
		}
		_ = x
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Errorf("CPU time stayed at %v while the test burnt CPU", before)
	}
	if _, err := processCPU(-1); err == nil {
		t.Errorf("processCPU of no process: got no error")
	}
}

func TestReadGauge(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("# HELP waybill_intake_backlog Accepted events not yet applied.\n" +
			"# TYPE waybill_intake_backlog gauge\nwaybill_intake_backlog_other 7\nwaybill_intake_backlog 42\n"))
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 5 * time.Second}

	v, ok, err := readGauge(t.Context(), client, srv.URL+"/metrics", backlogMetric)
	if err != nil || !ok || v != 42 {
		t.Errorf("readGauge: got %v, %v, %v; want 42, true, nil", v, ok, err)
	}
	if v, ok, err := readGauge(t.Context(), client, srv.URL+"/other", backlogMetric); err != nil || ok {
		t.Errorf("readGauge without metrics: got %v, %v, %v; want no gauge and no error", v, ok, err)
	}
	if _, ok, err := readGauge(t.Context(), client, srv.URL+"/metrics", "waybill_missing"); err != nil || ok {
		t.Errorf("readGauge of a missing gauge: got %v, %v; want no gauge and no error", ok, err)
	}
}
