package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/waybill/waybill/internal/bench"
	"github.com/waybill/waybill/internal/loadgen"
)

// benchEventsUnbounded is the event count of a run bounded by --duration
// alone.
const benchEventsUnbounded = 1 << 40

// Bounds of a bench run's waits.
const (
	benchReadyTimeout = time.Minute     // a server starting
	benchDrainTimeout = 5 * time.Minute // Waybill processing its backlog after the load
	benchStopTimeout  = time.Minute     // a server shutting down
)

// benchParams are the settings of a waybill bench run.
type benchParams struct {
	Clients, Events, Batch int
	Mix                    string
	Duration               time.Duration
	// DatabaseURL runs both servers on PostgreSQL; empty runs both on
	// SQLite.
	DatabaseURL string
	// Binary is the waybill executable that runs the servers.
	Binary string
}

// benchRow is what one server measured.
type benchRow struct {
	Server string
	Result *loadgen.Result
	// CPU is the server process's CPU time (user and system) from just
	// before the first request until its backlog was processed; zero when
	// it could not be read.
	CPU time.Duration
	// Drain is how long the server took after the last answer to process
	// its backlog; negative for a server without one.
	Drain time.Duration
}

func newBenchCmd() *cobra.Command {
	p := &benchParams{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Waybill's intake against a bare durable server on this machine, side by side",
		Long: `bench starts a bare durable ceiling server (each event stored in SQLite with
synchronous FULL and group commit, or with group-committed multi-row INSERTs
into PostgreSQL) and then a Waybill server with a fresh database, each as a
process of this binary, and drives each in turn with the same loadgen
settings and unique events. It prints one table: accepted events a second,
request latency, the server's CPU time per 1,000 events (its own process,
until its backlog is processed; PostgreSQL's time is not in it) and
Waybill's throughput as a fraction of the ceiling's.

Waybill runs as shipped (encryption at rest, validation, dedupe, processing)
with its defaults, a warn log level and no connectors; configuration files
and WAYBILL_ variables are not used.`,
		Example: `  waybill bench --clients 64 --events 30000
  waybill bench --clients 16 --events 300000 --batch 100
  waybill bench --duration 60s --database postgres://postgres@127.0.0.1:5432/bench`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := p.check(cmd); err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding this binary to run the servers: %w", err)
			}
			p.Binary = bin
			rows, err := runBench(cmd.Context(), p, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			writeBenchTable(cmd.OutOrStdout(), p, rows)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Clients, "clients", loadgen.ClientsDefault, "concurrent connections")
	f.IntVar(&p.Events, "events", 30000, "events to send to each server")
	f.DurationVar(&p.Duration, "duration", 0, "drive each server for this long (with --events as well, whichever ends first)")
	f.IntVar(&p.Batch, "batch", loadgen.BatchDefault, "events per request (1 = single-event requests)")
	f.StringVar(&p.Mix, "mix", loadgen.MixPlanned, "planned (each event a new shipment) or lifecycle (planned then reserved)")
	f.StringVar(&p.DatabaseURL, "database", "", "PostgreSQL URL (postgres://…) to run both servers on, each in a schema of its own, instead of SQLite")
	cmd.AddCommand(newBenchCeilingCmd())
	return cmd
}

// check reports every bad flag at once.
func (p *benchParams) check(cmd *cobra.Command) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Clients < 1 || p.Clients > loadgen.ClientsMax {
		bad("--clients must be between 1 and %d, got %d", loadgen.ClientsMax, p.Clients)
	}
	if p.Events < 1 {
		bad("--events must be at least 1, got %d", p.Events)
	}
	if p.Batch < 1 || p.Batch > loadgen.BatchMax {
		bad("--batch must be between 1 and %d, got %d", loadgen.BatchMax, p.Batch)
	}
	if p.Mix != loadgen.MixPlanned && p.Mix != loadgen.MixLifecycle {
		bad("--mix must be %s or %s, got %q", loadgen.MixPlanned, loadgen.MixLifecycle, p.Mix)
	}
	if p.Duration < 0 {
		bad("--duration must not be negative, got %s", p.Duration)
	}
	if p.DatabaseURL != "" && !strings.HasPrefix(p.DatabaseURL, "postgres://") && !strings.HasPrefix(p.DatabaseURL, "postgresql://") {
		bad("--database must be a postgres:// URL")
	}
	if p.Duration > 0 && !cmd.Flags().Changed("events") {
		p.Events = benchEventsUnbounded
	}
	return errors.Join(errs...)
}

// engine names the database both servers run on.
func (p *benchParams) engine() string {
	if p.DatabaseURL != "" {
		return "PostgreSQL"
	}
	return "SQLite FULL"
}

// runBench runs the ceiling, then Waybill, and returns what each measured.
// Progress and the servers' logs go to progress.
func runBench(ctx context.Context, p *benchParams, progress io.Writer) ([]benchRow, error) {
	dir, err := os.MkdirTemp("", "waybill-bench-")
	if err != nil {
		return nil, fmt.Errorf("creating the bench's data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var ceilingDB, waybillDB string
	if p.DatabaseURL != "" {
		var suffix [4]byte
		_, _ = rand.Read(suffix[:])
		name := "waybill_bench_" + hex.EncodeToString(suffix[:])
		for _, s := range []struct {
			name string
			url  *string
		}{{name + "_ceiling", &ceilingDB}, {name + "_waybill", &waybillDB}} {
			schema, err := bench.CreateSchema(ctx, p.DatabaseURL, s.name)
			if err != nil {
				return nil, err
			}
			defer func() {
				if err := schema.Drop(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintf(progress, "waybill bench: %v\n", err)
				}
			}()
			*s.url = schema.URL
		}
	}

	ceilingArgs := []string{"bench", "ceiling", "--data", filepath.Join(dir, "ceiling")}
	if ceilingDB != "" {
		ceilingArgs = []string{"bench", "ceiling", "--database", ceilingDB}
	}
	fmt.Fprintf(progress, "ceiling (%s):\n", p.engine())
	ceiling, err := startCeiling(ctx, p.Binary, ceilingArgs, progress)
	if err != nil {
		return nil, err
	}
	ceilingRow, err := drive(ctx, ceiling, p, "", progress)
	if err != nil {
		return nil, fmt.Errorf("driving the ceiling server: %w", err)
	}
	ceilingRow.Server = "ceiling (" + p.engine() + ")"

	fmt.Fprintf(progress, "waybill (%s):\n", p.engine())
	waybill, key, err := startWaybill(ctx, p.Binary, filepath.Join(dir, "waybill"), waybillDB, progress)
	if err != nil {
		return nil, err
	}
	waybillRow, err := drive(ctx, waybill, p, key, progress)
	if err != nil {
		return nil, fmt.Errorf("driving waybill: %w", err)
	}
	waybillRow.Server = "waybill (" + p.engine() + ")"
	return []benchRow{ceilingRow, waybillRow}, nil
}

// drive sends the run's events to srv, then waits for its backlog to be
// processed, measuring the server's CPU time over both, and stops it.
func drive(ctx context.Context, srv *benchServer, p *benchParams, key string, progress io.Writer) (row benchRow, err error) {
	defer func() {
		if stopErr := srv.stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	if key == "" {
		key = "bench" // the ceiling takes any key
	}
	cpu0, cpuErr := processCPU(srv.cmd.Process.Pid)
	res, err := loadgen.Run(ctx, &loadgen.Params{
		URL: srv.url, Key: key, Clients: p.Clients, Events: p.Events, Batch: p.Batch, Mix: p.Mix,
		Duration: p.Duration, Progress: progress,
	})
	if err != nil {
		return row, err
	}
	if ctx.Err() != nil {
		return row, context.Cause(ctx)
	}
	answered := time.Now()
	backlog, err := waitBacklog(ctx, srv.url)
	if err != nil {
		return row, err
	}
	row = benchRow{Result: res, Drain: -1}
	if backlog {
		row.Drain = time.Since(answered)
	}
	cpu1, cpuErr1 := processCPU(srv.cmd.Process.Pid)
	if cpuErr == nil && cpuErr1 == nil {
		row.CPU = cpu1 - cpu0
	}
	return row, nil
}

// writeBenchTable writes the side-by-side table of rows, the ceiling first.
func writeBenchTable(w io.Writer, p *benchParams, rows []benchRow) {
	events := strconv.Itoa(p.Events) + " events"
	if p.Events == benchEventsUnbounded {
		events = "events for " + p.Duration.String()
	}
	fmt.Fprintf(w, "%d clients, %s, batch %d, mix %s\n\n", p.Clients, events, p.Batch, p.Mix)
	table := [][]string{{"server", "accepted/s", "p50 ms", "p99 ms", "CPU ms/1k events", "vs ceiling"}}
	ceiling := rows[0].Result.EventsPerSecond
	for _, r := range rows {
		cpu := "n/a"
		if n := r.Result.Accepted + r.Result.Duplicates; r.CPU > 0 && n > 0 {
			cpu = fmt.Sprintf("%.0f", float64(r.CPU.Microseconds())/float64(n))
		}
		ratio := "n/a"
		if ceiling > 0 {
			ratio = fmt.Sprintf("%.2f×", r.Result.EventsPerSecond/ceiling)
		}
		l := r.Result.RequestLatency
		table = append(table, []string{r.Server, fmt.Sprintf("%.0f", r.Result.EventsPerSecond),
			fmt.Sprintf("%.2f", float64(l.P50.Microseconds())/1000), fmt.Sprintf("%.2f", float64(l.P99.Microseconds())/1000), cpu, ratio})
	}
	writeMarkdownTable(w, table)
	fmt.Fprintln(w)
	for _, r := range rows {
		res := r.Result
		drain := ""
		if r.Drain >= 0 {
			drain = fmt.Sprintf("; backlog processed %s after the last answer", r.Drain.Round(time.Millisecond))
		}
		fmt.Fprintf(w, "%s: %d accepted, %d duplicates, %d rejected, %d throttled, %d errors in %s%s\n",
			r.Server, res.Accepted, res.Duplicates, res.Rejected, res.Throttled, res.Errors,
			res.Elapsed.Round(time.Millisecond), drain)
	}
	if a, b := rows[0], rows[len(rows)-1]; a.CPU > 0 && b.CPU > 0 {
		na, nb := a.Result.Accepted+a.Result.Duplicates, b.Result.Accepted+b.Result.Duplicates
		if na > 0 && nb > 0 {
			fmt.Fprintf(w, "waybill/ceiling: %.2f× the throughput, %.1f× the CPU per event\n",
				b.Result.EventsPerSecond/a.Result.EventsPerSecond,
				(float64(b.CPU)/float64(nb))/(float64(a.CPU)/float64(na)))
		}
	}
}

// writeMarkdownTable writes rows as a Markdown table with padded columns,
// the first row as its header: the first column aligned left, the others
// right.
func writeMarkdownTable(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i == 0 {
				b.WriteString(" " + cell + pad + " |")
			} else {
				b.WriteString(" " + pad + cell + " |")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		sep[i] = strings.Repeat("-", n)
		if i > 0 {
			sep[i] = strings.Repeat("-", n-1) + ":"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

// benchServer is a server process of a bench run.
type benchServer struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, once exited is closed
}

// startProcess starts bin with args and env, its stderr to logs.
func startProcess(bin string, args, env []string, stdout io.Writer, logs io.Writer) (*benchServer, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = stdout
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s %s: %w", filepath.Base(bin), strings.Join(args[:min(2, len(args))], " "), err)
	}
	s := &benchServer{cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// stop asks the server to shut down and waits for it; a server that takes
// longer than benchStopTimeout is killed.
func (s *benchServer) stop() error {
	select {
	case <-s.exited:
		return fmt.Errorf("the server exited before it was stopped: %v", s.err)
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil // its exit status after SIGTERM says nothing more
	case <-time.After(benchStopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the server did not stop within %s and was killed", benchStopTimeout)
	}
}

// startCeiling starts the ceiling server and waits until it answers.
func startCeiling(ctx context.Context, bin string, args []string, logs io.Writer) (*benchServer, error) {
	out := &lineWaiter{line: make(chan string, 1)}
	s, err := startProcess(bin, args, benchEnv(), out, logs)
	if err != nil {
		return nil, err
	}
	select {
	case s.url = <-out.line:
	case <-s.exited:
		return nil, fmt.Errorf("the ceiling server exited at start: %v", s.err)
	case <-time.After(benchReadyTimeout):
		s.stop()
		return nil, errors.New("the ceiling server did not start within a minute")
	case <-ctx.Done():
		s.stop()
		return nil, context.Cause(ctx)
	}
	if err := waitReady(ctx, s); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// startWaybill creates an API key with events:write in a fresh database
// (dataDir, or databaseURL when set), starts waybill serve on a free
// loopback port and waits until it is ready.
func startWaybill(ctx context.Context, bin, dataDir, databaseURL string, logs io.Writer) (*benchServer, string, error) {
	// The data directory holds the SQLite database, and on PostgreSQL too
	// the files a server keeps beside its database (the audit signing key).
	env := append(benchEnv(), "WAYBILL_LOG_LEVEL=warn", "WAYBILL_STORAGE_DATA_DIR="+dataDir)
	if databaseURL != "" {
		var kek [32]byte
		_, _ = rand.Read(kek[:])
		env = append(env, "WAYBILL_STORAGE_DATABASE_URL="+databaseURL, "WAYBILL_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(kek[:]))
	}
	keyCmd := exec.CommandContext(ctx, bin, "keys", "create", "--name", "bench", "--scopes", "events:write")
	keyCmd.Env = env
	var stderr bytes.Buffer
	keyCmd.Stderr = &stderr
	out, err := keyCmd.Output()
	if err != nil {
		return nil, "", fmt.Errorf("creating waybill's API key: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("finding a free port for waybill: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := startProcess(bin, []string{"serve", "--addr", addr}, env, io.Discard, logs)
	if err != nil {
		return nil, "", err
	}
	s.url = "http://" + addr
	if err := waitReady(ctx, s); err != nil {
		s.stop()
		return nil, "", err
	}
	return s, key, nil
}

// benchEnv is this process's environment without WAYBILL_ variables, so
// that the servers run with their defaults.
func benchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAYBILL_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls the server's /readyz until it answers 200.
func waitReady(ctx context.Context, s *benchServer) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(benchReadyTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Close = true // no idle connection outlives the bench
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server at %s exited at start: %v", s.url, s.err)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server at %s was not ready within %s", s.url, benchReadyTimeout)
		}
	}
}

// backlogMetric is the gauge of Waybill's accepted events not yet processed.
const backlogMetric = "waybill_intake_backlog"

// waitBacklog waits until the server's backlog gauge reads 0 and reports
// whether it has one: a server without the gauge (the ceiling) has no
// backlog.
func waitBacklog(ctx context.Context, url string) (bool, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(benchDrainTimeout)
	for {
		n, ok, err := readGauge(ctx, client, url+"/metrics", backlogMetric)
		if err != nil {
			return false, fmt.Errorf("reading the backlog: %w", err)
		}
		if !ok || n == 0 {
			return ok, nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("%s events still waited to be processed %s after the run", strconv.FormatFloat(n, 'f', -1, 64), benchDrainTimeout)
		}
		select {
		case <-ctx.Done():
			return true, context.Cause(ctx)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readGauge reads the value of the gauge name from a Prometheus text
// exposition at url; ok is false when there is no such gauge (or no
// metrics at all).
func readGauge(ctx context.Context, client *http.Client, url, name string) (v float64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, nil
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		value, found := strings.CutPrefix(sc.Text(), name+" ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, false, fmt.Errorf("reading %s: %w", name, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/<pid>/stat: 100 on every Linux platform Go supports.
const clockTicks = 100

// processCPU returns the CPU time (user and system) process pid has used,
// from /proc/<pid>/stat; it fails where there is no /proc.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(raw[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// lineWaiter hands the first line written to it to line and discards the
// rest.
type lineWaiter struct {
	mu   sync.Mutex
	buf  []byte
	done bool
	line chan string
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.done = true
		w.line <- strings.TrimSpace(string(w.buf[:i]))
		w.buf = nil
	}
	return len(p), nil
}

// newBenchCeilingCmd is waybill bench ceiling, the ceiling server process
// that waybill bench starts: it prints its URL on a line of its own and
// serves until it gets SIGINT or SIGTERM.
func newBenchCeilingCmd() *cobra.Command {
	var opts bench.Options
	cmd := &cobra.Command{
		Use:    "ceiling",
		Short:  "Run the durable ceiling server that waybill bench measures against",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Logger = quietLogger()
			srv, err := bench.New(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), srv.URL())
			return srv.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", bench.AddrDefault, "listen address")
	cmd.Flags().StringVar(&opts.DataDir, "data", "", "directory of the SQLite database")
	cmd.Flags().StringVar(&opts.DatabaseURL, "database", "", "PostgreSQL URL (postgres://…) to use instead of SQLite")
	return cmd
}
