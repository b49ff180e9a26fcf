package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
		"WAYBILL_JOBS_TIMEOUT=2s",
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
