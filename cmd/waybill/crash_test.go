package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestCrashRecovery builds the real binary and kills it with SIGKILL at
// random moments while clients send events. After a final restart, every
// event that got a 2xx receipt is stored exactly once, and every outbound
// job it caused reached the loopback receiver under one idempotency key.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}

	var mu sync.Mutex
	keysByShipment := map[string]map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ShipmentID string `json:"shipment_id"`
		}
		buf := new(bytes.Buffer)
		buf.ReadFrom(r.Body)
		_ = jsonUnmarshal(buf.Bytes(), &body)
		mu.Lock()
		k := body.ShipmentID + "|" + r.Header.Get("Waybill-Action")
		if keysByShipment[k] == nil {
			keysByShipment[k] = map[string]int{}
		}
		keysByShipment[k][r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	data := filepath.Join(dir, "data")
	env := append(os.Environ(),
		"WAYBILL_STORAGE_DATA_DIR="+data,
		"WAYBILL_CONNECTORS_WEBHOOK_URL="+rcv.URL,
		"WAYBILL_CONNECTORS_WEBHOOK_ACTIONS=dispatch.release",
		"WAYBILL_JOBS_RETRY_BASE=100ms",
		"WAYBILL_JOBS_RETRY_MAX=1s",
		"WAYBILL_PROCESSOR_POLL_INTERVAL=50ms",
		"WAYBILL_LOG_LEVEL=warn",
	)
	keyCmd := exec.Command(bin, "keys", "create", "--name", "crash", "--scopes", "events:write")
	keyCmd.Env = env
	out, err := keyCmd.Output()
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]

	start := func() (*exec.Cmd, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--addr", addr)
		cmd.Env = env
		cmd.Stderr = &prefixWriter{t: t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, "http://" + addr
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("server did not become ready")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	var ackMu sync.Mutex
	acked := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(url, id, typ, subject, data string) bool {
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"crash","type":%q,"subject":%q,"time":"2026-11-26T10:00:00Z","data":%s}`, id, typ, subject, data)
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == 200 || resp.StatusCode == 202 {
			ackMu.Lock()
			acked[id] = true
			ackMu.Unlock()
			return true
		}
		return false
	}
	const planned = `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`
	const reserved = `{"lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}`

	for round := range 4 {
		cmd, url := start()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					subject := fmt.Sprintf("crash:%d-%d-%d", round, c, i)
					// Retry until acknowledged or the server is gone.
					for ctx.Err() == nil && !post(url, subject+"-p", "shipment.planned", subject, planned) {
					}
					for ctx.Err() == nil && !post(url, subject+"-r", "inventory.reserved", subject, reserved) {
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		cancel()
		wg.Wait()
	}

	// Final run: everything accepted must be processed and delivered.
	cmd, _ := start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "waybill.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(150 * time.Second)
	for {
		var pending, released, delivered int
		db.QueryRow(`SELECT COUNT(*) FROM events WHERE state = 'pending'`).Scan(&pending)
		db.QueryRow(`SELECT COUNT(*) FROM shipments WHERE state = 'released'`).Scan(&released)
		mu.Lock()
		delivered = len(keysByShipment)
		mu.Unlock()
		if pending == 0 && released > 0 && delivered >= released {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained: %d pending events, %d released shipments, %d delivered", pending, released, delivered)
		}
		time.Sleep(200 * time.Millisecond)
	}

	ackMu.Lock()
	defer ackMu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged")
	}
	for id := range acked {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM events WHERE source = 'crash' AND source_id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("acknowledged event %s stored %d times, want 1", id, n)
		}
	}
	rows, err := db.Query(`SELECT id FROM shipments WHERE state = 'released'`)
	if err != nil {
		t.Fatal(err)
	}
	var released []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		released = append(released, id)
	}
	rows.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range released {
		keys := keysByShipment[id+"|dispatch.release"]
		if len(keys) != 1 {
			t.Errorf("shipment %s: dispatch.release delivered under %d keys %v, want exactly 1", id, len(keys), keys)
		}
	}
	t.Logf("%d events acknowledged across 4 kills; %d shipments released, each delivered under one key", len(acked), len(released))
}

type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		w.t.Log("server: " + sc.Text())
	}
	return len(p), nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestCrashResumesRunningJobs kills the real binary with SIGKILL while
// outbound jobs are running against a slow receiver, with the default job
// timeout, and restarts it: the jobs it left running must not wait for
// River's stuck-job rescue (the timeout plus a minute), but run again at
// once. From each restart to the moment no job is left to run must take
// less than restartDrainMax, and every action still reaches the receiver
// under one idempotency key.
func TestCrashResumesRunningJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const (
		reps            = 6
		shipmentsPerRep = 8
		// receiverDelay keeps each delivery running long enough to be
		// killed in the middle of it.
		receiverDelay   = time.Second
		restartDrainMax = 10 * time.Second
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}

	var mu sync.Mutex
	keys := map[string]map[string]int{} // shipment|action → idempotency key → requests
	done := map[string]bool{}           // shipment|action answered after its delay
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ShipmentID string `json:"shipment_id"`
		}
		buf := new(bytes.Buffer)
		buf.ReadFrom(r.Body)
		_ = jsonUnmarshal(buf.Bytes(), &body)
		k := body.ShipmentID + "|" + r.Header.Get("Waybill-Action")
		mu.Lock()
		if keys[k] == nil {
			keys[k] = map[string]int{}
		}
		keys[k][r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		// A slow target: the caller may die meanwhile.
		select {
		case <-time.After(receiverDelay):
		case <-r.Context().Done():
			return
		}
		mu.Lock()
		done[k] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	data := filepath.Join(dir, "data")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAYBILL_JOBS_") { // the default job timeout
			env = append(env, kv)
		}
	}
	env = append(env,
		"WAYBILL_STORAGE_DATA_DIR="+data,
		"WAYBILL_CONNECTORS_WEBHOOK_URL="+rcv.URL,
		"WAYBILL_CONNECTORS_WEBHOOK_ACTIONS=dispatch.release",
		"WAYBILL_PROCESSOR_POLL_INTERVAL=50ms",
		"WAYBILL_LOG_LEVEL=warn",
	)
	keyCmd := exec.Command(bin, "keys", "create", "--name", "crash", "--scopes", "events:write")
	keyCmd.Env = env
	out, err := keyCmd.Output()
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "waybill.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string) int {
		var n int
		if err := db.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	const (
		runningJobs = `SELECT COUNT(*) FROM river_job WHERE state = 'running'`
		leftJobs    = `SELECT COUNT(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`
		leftEvents  = `SELECT COUNT(*) FROM events WHERE state = 'pending'`
	)

	start := func() (*exec.Cmd, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--addr", addr)
		cmd.Env = env
		cmd.Stderr = &prefixWriter{t: t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, "http://" + addr
	}
	ready := func(url string) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(url + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("server did not become ready")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	post := func(url, id, typ, subject, data string) {
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"crash","type":%q,"subject":%q,"time":%q,"data":%s}`,
			id, typ, subject, time.Now().UTC().Format(time.RFC3339), data)
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("posting %s: %v", id, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
			t.Fatalf("posting %s: status %d", id, resp.StatusCode)
		}
	}
	const planned = `{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}`
	const reserved = `{"lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}`

	cmd, url := start()
	ready(url)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var drains []time.Duration
	runningAtKills := 0
	for rep := range reps {
		// Load: every shipment is released, and its dispatch.release
		// job runs against the slow receiver.
		for i := range shipmentsPerRep {
			subject := fmt.Sprintf("resume:%d-%d", rep, i)
			post(url, subject+"-p", "shipment.planned", subject, planned)
			post(url, subject+"-r", "inventory.reserved", subject, reserved)
		}
		deadline := time.Now().Add(20 * time.Second)
		for count(runningJobs) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("rep %d: no job ever ran", rep)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(int(receiverDelay/time.Millisecond*3/4))) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		running := count(runningJobs)
		runningAtKills += running

		restart := time.Now()
		cmd, url = start()
		deadline = restart.Add(restartDrainMax + 5*time.Second)
		for count(leftJobs) > 0 || count(leftEvents) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("rep %d: %d jobs and %d events left %v after the restart (%d jobs were running at the kill)",
					rep, count(leftJobs), count(leftEvents), time.Since(restart).Round(time.Millisecond), running)
			}
			time.Sleep(20 * time.Millisecond)
		}
		drain := time.Since(restart)
		drains = append(drains, drain)
		t.Logf("rep %d: %d jobs running at the kill; no job left %v after the restart", rep, running, drain.Round(time.Millisecond))
		// With nothing left to run, the restarted server may not listen
		// yet: the next load waits for it.
		ready(url)
	}
	if runningAtKills == 0 {
		t.Fatal("no job was running at any kill: the test did not exercise the rescue")
	}
	rescued := count(`SELECT COUNT(*) FROM river_job WHERE json(errors) LIKE '%rescued at start-up%'`)
	if rescued < runningAtKills {
		t.Errorf("%d jobs carry the start-up rescue, want at least the %d running at the kills", rescued, runningAtKills)
	}

	slices.Sort(drains)
	quantile := func(q float64) time.Duration { return drains[int(math.Ceil(q*float64(len(drains))))-1] }
	p50, p99, worst := quantile(0.5), quantile(0.99), drains[len(drains)-1]
	t.Logf("restart to no job left over %d kills (%d jobs running at them): p50 %v, p99 %v, max %v",
		reps, runningAtKills, p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond))
	if p99 >= restartDrainMax {
		t.Errorf("p99 from restart to no job left: %v, want under %v", p99, restartDrainMax)
	}

	// Every released shipment reached the receiver, under one key.
	rows, err := db.Query(`SELECT id FROM shipments WHERE state = 'released'`)
	if err != nil {
		t.Fatal(err)
	}
	var released []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		released = append(released, id)
	}
	rows.Close()
	if want := reps * shipmentsPerRep; len(released) != want {
		t.Errorf("%d shipments released, want %d", len(released), want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range released {
		k := id + "|dispatch.release"
		if len(keys[k]) != 1 {
			t.Errorf("shipment %s: dispatch.release delivered under %d keys %v, want exactly 1", id, len(keys[k]), keys[k])
		}
		if !done[k] {
			t.Errorf("shipment %s: dispatch.release never answered", id)
		}
	}
}
