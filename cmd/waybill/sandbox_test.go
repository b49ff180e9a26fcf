package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/sqldb"
)

// TestSandbox runs the README's first command, serve --sandbox, as a real
// process, and takes one of the orders the sandbox seeds in its simulated
// Odoo from planned to invoiced through the HTTP API only.
func TestSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	sb := runSandbox(t)
	banner, base, key, data := sb.banner, sb.base, sb.key, sb.data
	if banner["level"] != "WARN" || banner["odoo_version"] != 17.0 {
		t.Errorf("banner %v: want a warning naming Odoo 17", banner)
	}
	m := regexp.MustCompile(`^(S\d+) \((WH/OUT/\d+): 5 E-COM07, 2 FURN_7800\)`).FindStringSubmatch(fmt.Sprint(banner["sale_orders"]))
	if m == nil {
		t.Fatalf("seeded orders %q: want the first to be 5 E-COM07 and 2 FURN_7800", banner["sale_orders"])
	}
	order, picking := m[1], m[2]

	// The sandbox's carrier takes X12 by POST and from its folder.
	if !strings.Contains(fmt.Sprint(banner["sources"]), "POST /v1/sources/sandbox-x12/edi") {
		t.Errorf("banner sources %q", banner["sources"])
	}
	edi, err := os.ReadFile(filepath.Join(x12Testdata, "x12-214-01-in-transit.edi"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/sources/sandbox-x12/edi", strings.NewReader(string(edi)))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), "AK9*A") {
		t.Errorf("POST 214 to the sandbox: %d %s", resp.StatusCode, body)
	}
	// The sample file names shipments the sandbox does not have: the
	// README shows where to see that its events were rejected, and why.
	var rejected struct {
		Events []struct {
			State, Reason string
		} `json:"events"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(rejected.Events) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the 214's events are not listed as rejected: %+v", rejected)
		}
		time.Sleep(50 * time.Millisecond)
		rejected.Events = nil
		getJSON(t, base+"/v1/events?source=/sources/sandbox-x12&state=rejected", key, &rejected)
	}
	if !strings.Contains(rejected.Events[0].Reason, "unknown shipment pro:XKTL/KT4471902") {
		t.Errorf("rejected 214 event: got %+v, want the unknown shipment named", rejected.Events[0])
	}

	// The EasyPost sample, signed with the secret the banner names, and
	// the Odoo doorbell with the token it names, as the README does them.
	ep, err := os.ReadFile("../../internal/tracking/jsonmap/testdata/webhook-01-easypost-tracker-updated.json")
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("sandbox-easypost-secret"))
	mac.Write(ep)
	if !strings.Contains(fmt.Sprint(banner["sources"]), "signed with sandbox-easypost-secret") {
		t.Errorf("banner sources %q: want the EasyPost secret named", banner["sources"])
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/v1/sources/sandbox-easypost/webhooks", strings.NewReader(string(ep)))
	req.Header.Set("X-Hmac-Signature", "hmac-sha256-hex="+hex.EncodeToString(mac.Sum(nil)))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("signed EasyPost webhook: %d %s", resp.StatusCode, body)
	}
	doorbell, _ := strings.CutPrefix(fmt.Sprint(banner["odoo_doorbell"]), "POST ")
	if resp, err = http.Post(base+doorbell, "application/json", strings.NewReader(`{"_model":"stock.picking","_id":1}`)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("the doorbell %q: got %d, want 202", doorbell, resp.StatusCode)
	}

	folder := filepath.Join(data, "edi", "sandbox-x12")
	if err := os.WriteFile(filepath.Join(folder, "214.edi"), edi, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(folder, "done", "214.edi.997")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandbox did not take the file from its EDI folder")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Nobody sends an event: the poller finds the seeded order in Odoo,
	// the simulated TMS takes the release and reports loading and delivery,
	// and the order is invoiced in Odoo.
	shipment := func() map[string]any {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/shipments/odoo:"+strings.ReplaceAll(picking, "/", "%2F"), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}

	// The simulated Odoo, reached the way the banner says, ends up with the
	// picking validated and the order invoiced.
	cl, err := odoo.New(t.Context(), odoo.Config{URL: fmt.Sprint(banner["odoo_url"]), Database: fmt.Sprint(banner["odoo_database"]),
		Login: fmt.Sprint(banner["odoo_login"]), APIKey: fmt.Sprint(banner["odoo_api_key"])})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline = time.Now().Add(90 * time.Second)
	for {
		ids, err := cl.Search(t.Context(), "account.move", odoo.Domain{odoo.Leaf("invoice_origin", "=", order)}, nil)
		if err == nil && len(ids) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invoice for %s in the sandbox Odoo (err %v, ids %v)", order, err, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pids, err := cl.Search(t.Context(), "stock.picking", odoo.Domain{odoo.Leaf("name", "=", picking)}, nil)
	if err != nil || len(pids) != 1 {
		t.Fatalf("finding %s: %v %v", picking, pids, err)
	}
	p, err := cl.Picking(t.Context(), pids[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.State != odoo.PickingDone {
		t.Errorf("picking %s is %s, want done", picking, p.State)
	}
	sh := shipment()
	if sh["vehicle"] == nil || sh["pod"] == nil {
		t.Errorf("shipment %s: vehicle %v, pod %v; want both from the simulated TMS", picking, sh["vehicle"], sh["pod"])
	}
}

// sandboxProcess is a serve --sandbox running as a real process.
type sandboxProcess struct {
	base   string         // http://host:port
	key    string         // the sandbox's admin key
	data   string         // its data directory
	banner map[string]any // the log line announcing it
}

// runSandbox builds the binary, runs serve --sandbox (Odoo 17) with env
// added to the environment, and waits until it is ready. The process is
// interrupted when the test ends.
func runSandbox(t *testing.T, env ...string) *sandboxProcess {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--sandbox", "--data", data, "--addr", addr, "--sandbox-odoo-version", "17")
	cmd.Env = append(append(os.Environ(), "WAYBILL_JOBS_RETRY_BASE=50ms", "WAYBILL_JOBS_RETRY_MAX=1s"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	// The sandbox announces itself, its simulated Odoo and the orders it
	// seeded in one warning line.
	var banner map[string]any
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(fmt.Sprint(line["msg"]), "sandbox mode") {
			banner = line
			break
		}
		t.Log("server: " + sc.Text())
	}
	if banner == nil {
		t.Fatal("no sandbox banner in the log")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("sandbox did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	keyBytes, err := os.ReadFile(filepath.Join(data, "sandbox.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &sandboxProcess{base: base, key: strings.TrimSpace(string(keyBytes)), data: data, banner: banner}
}

// getJSON GETs url with key and decodes the answer into v.
func getJSON(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestSecondSandbox runs serve --sandbox, then a second one on the same
// data directory: the second fails at once with a one-line error, before
// its reset touches the directory, and the first keeps serving from the
// database it started on.
func TestSecondSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two sandboxes")
	}
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	conf := filepath.Join(dir, "waybill.yaml")
	if err := os.WriteFile(conf, []byte("log:\n  level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := func(ctx context.Context, addr string) error {
		cmd := newRootCmd()
		cmd.SetArgs([]string{"serve", "--sandbox", "--config", conf, "--data", data, "--addr", addr})
		return cmd.ExecuteContext(ctx)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, addr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("first sandbox: %v", err)
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("first sandbox stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("first sandbox did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	keyBytes, err := os.ReadFile(filepath.Join(data, "sandbox.key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyBytes))
	db := filepath.Join(data, sqldb.SQLiteFile)
	before, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}

	err = serve(t.Context(), "127.0.0.1:0")
	if !errors.Is(err, sqldb.ErrInUse) {
		t.Fatalf("second sandbox on the same directory: got %v, want ErrInUse", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, data) || !strings.Contains(msg, "--data") {
		t.Errorf("second sandbox: error %q, want one line naming %s and --data", msg, data)
	}
	after, err := os.Stat(db)
	if err != nil {
		t.Fatalf("the first sandbox's database after the second started: %v", err)
	}
	if !os.SameFile(before, after) {
		t.Error("the first sandbox's database was replaced by the second's reset")
	}
	// The first still answers with the key kept in its database.
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("first sandbox after the second: GET /v1/openapi.json with its key: %d, want 200", resp.StatusCode)
	}
}

func TestResetSandboxData(t *testing.T) {
	logger := quietLogger()
	dir := t.TempDir()
	if err := resetSandboxData(t.Context(), dir, logger); err != nil {
		t.Fatalf("fresh directory: %v", err)
	}
	db := filepath.Join(dir, "waybill.db")
	for _, f := range []string{db, db + "-wal"} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := resetSandboxData(t.Context(), dir, logger); err == nil || !strings.Contains(err.Error(), "no sandbox made") {
		t.Fatalf("a database without sandbox.key: %v, want a refusal", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatal("the refused database was touched")
	}
	if err := os.WriteFile(filepath.Join(dir, "sandbox.key"), []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := resetSandboxData(t.Context(), dir, logger); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{db, db + "-wal"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s not removed", f)
		}
	}
}
