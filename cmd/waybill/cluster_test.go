package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// cluster is serve replicas built from this binary on one fresh
// PostgreSQL schema, with the Odoo 18 simulator behind them: the setup of
// the failover test and the replica benchmarks.
type cluster struct {
	t     testing.TB
	dbURL string
	bin   string
	env   []string
	key   string // an API key with events:write and shipments:read
	srv   *odoosim.Server
	sim   *odoosim.Sim
	cl    *odoo.Client // the test's own client of the simulator

	mu   sync.Mutex
	live []*replica // running
	all  []*replica // ever started
}

// newCluster builds the binary and starts the simulator; env adds to the
// replicas' environment (WAYBILL_…=…). Replicas are stopped (SIGTERM) when
// the test ends, and their logs shown when it failed.
func newCluster(t testing.TB, env ...string) *cluster {
	t.Helper()
	dbURL := sqldbtest.PostgresSchemaURL(t)
	dir := t.TempDir()
	c := &cluster{t: t, dbURL: dbURL, bin: filepath.Join(dir, "waybill")}
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	srv, err := odoosim.Start(odoosim.Options{Version: 18})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c.srv, c.sim = srv, srv.Sim()
	c.cl, err = odoo.New(t.Context(), odoo.Config{URL: srv.URL(), Database: c.sim.Database(), Login: c.sim.Login(), APIKey: c.sim.APIKey(), Timeout: 10 * time.Second, RateLimit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cl.Close() })
	c.env = append(os.Environ(),
		"WAYBILL_STORAGE_DATABASE_URL="+dbURL,
		"WAYBILL_STORAGE_DATA_DIR="+filepath.Join(dir, "data"),
		"WAYBILL_ENCRYPTION_KEY="+seal.FormatKEK(seal.NewKey()),
		"WAYBILL_CONNECTORS_ODOO_URL="+srv.URL(),
		"WAYBILL_CONNECTORS_ODOO_DATABASE="+c.sim.Database(),
		"WAYBILL_CONNECTORS_ODOO_LOGIN="+c.sim.Login(),
		"WAYBILL_CONNECTORS_ODOO_API_KEY="+c.sim.APIKey(),
		"WAYBILL_CONNECTORS_ODOO_RATE_LIMIT=1000",
		"WAYBILL_CONNECTORS_ODOO_POLL_INTERVAL=0s",
		"WAYBILL_RECONCILE_SCHEDULE=false",
		"WAYBILL_RECONCILE_INVENTORY_INTERVAL=0s",
		"WAYBILL_LOG_LEVEL=info",
	)
	c.env = append(c.env, env...)
	keyCmd := exec.Command(c.bin, "keys", "create", "--name", "cluster", "--scopes", "events:write,shipments:read")
	keyCmd.Env = c.env
	out, err := keyCmd.Output()
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	c.key = lines[len(lines)-1]
	t.Cleanup(c.stop)
	return c
}

// orders confirms n sale orders in the simulator, each for 2 E-COM07, and
// returns their names.
func (c *cluster) orders(prefix string, n int) []string {
	c.t.Helper()
	demo := c.sim.Demo()
	out := make([]string, n)
	for i := range out {
		so, err := c.cl.EnsureSaleOrder(c.t.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[0], ClientRef: fmt.Sprintf("%s-%d", prefix, i), Confirm: true,
			Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 2}}})
		if err != nil {
			c.t.Fatal(err)
		}
		out[i] = so.Name
	}
	return out
}

// start starts a replica and waits until it is ready.
func (c *cluster) start() *replica {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c.mu.Lock()
	name := fmt.Sprintf("replica-%d", len(c.all))
	c.mu.Unlock()
	r := &replica{url: "http://" + addr, logs: &lockedBuffer{}, name: name}
	r.cmd = exec.Command(c.bin, "serve", "--addr", addr)
	r.cmd.Env = append(slices.Clone(c.env), "WAYBILL_STORAGE_DATABASE_URL="+c.dbURL+"&application_name="+name)
	r.cmd.Stderr, r.cmd.Stdout = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("replica did not become ready:\n%s", r.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.mu.Lock()
	c.live = append(c.live, r)
	c.all = append(c.all, r)
	c.mu.Unlock()
	return r
}

// stop stops the live replicas with SIGTERM and waits for them.
func (c *cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.live {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, r := range c.live {
		_ = r.cmd.Wait()
	}
	c.live = nil
	if c.t.Failed() {
		for i, r := range c.all {
			c.t.Logf("replica %d (%s) logs, last 4 KB:\n%s", i, r.id(), tail(r.logs.String(), 4096))
		}
	}
}

// any returns a random live replica.
func (c *cluster) any() *replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[rand.IntN(len(c.live))]
}

// client is the HTTP client of the cluster's tests.
var client = &http.Client{Timeout: 5 * time.Second}

// post sends an event (source "cluster") to a random live replica, trying
// others for up to 30 s until one accepts it, and reports whether one did.
func (c *cluster) post(id, typ, subject, at, data string) bool {
	body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"cluster","type":%q,"subject":%q,"time":%q,"data":%s}`, id, typ, subject, at, data)
	for attempt := 0; attempt <= 600; attempt++ {
		req, _ := http.NewRequest(http.MethodPost, c.any().url+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/cloudevents+json")
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// replica is one serve process of a cluster.
type replica struct {
	cmd  *exec.Cmd
	url  string
	name string // its sessions' application_name
	logs *lockedBuffer
}

// lockedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var clientIDPattern = regexp.MustCompile(`client_id[=":]+"?([A-Za-z0-9._-]+)`)

// id is the replica id the process logged when its River client started.
func (r *replica) id() string {
	if m := clientIDPattern.FindStringSubmatch(r.logs.String()); m != nil {
		return m[1]
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
