package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/tmssim"
)

// TestCrashDispatchToInvoice runs the whole workflow against a simulated
// Odoo and TMS (in this test process, so they outlive the hub) and kills
// the real binary with SIGKILL at random moments while orders flow: the
// poller plans them, the TMS loads and delivers them, Odoo pickings are
// validated and orders invoiced. After a last restart, every order has
// exactly one invoice and its picking was validated exactly once.
//
// The simulators run in this process so they outlive each kill; the TMS
// simulator retries its events until the hub is back, as a real one would.
func TestCrashDispatchToInvoice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	osrv, err := odoosim.Start(odoosim.Options{Version: 18})
	if err != nil {
		t.Fatal(err)
	}
	defer osrv.Close()
	sim := osrv.Sim()
	cl, err := odoo.New(t.Context(), odoo.Config{URL: osrv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), RateLimit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	env := append(os.Environ(),
		"WAYBILL_STORAGE_DATA_DIR="+data,
		"WAYBILL_CONNECTORS_ODOO_URL="+osrv.URL(),
		"WAYBILL_CONNECTORS_ODOO_DATABASE="+sim.Database(),
		"WAYBILL_CONNECTORS_ODOO_LOGIN="+sim.Login(),
		"WAYBILL_CONNECTORS_ODOO_API_KEY="+sim.APIKey(),
		"WAYBILL_CONNECTORS_ODOO_POLL_INTERVAL=200ms",
		"WAYBILL_CONNECTORS_ODOO_INVOICE_STATE=posted",
		"WAYBILL_CONNECTORS_ODOO_RATE_LIMIT=500",
		"WAYBILL_JOBS_RETRY_BASE=100ms",
		"WAYBILL_JOBS_RETRY_MAX=1s",
		"WAYBILL_PROCESSOR_POLL_INTERVAL=50ms",
		"WAYBILL_LOG_LEVEL=warn",
	)
	keyCmd := exec.Command(bin, "keys", "create", "--name", "tms", "--scopes", "events:write")
	keyCmd.Env = env
	out, err := keyCmd.Output()
	if err != nil {
		t.Fatalf("creating key: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	tms, err := tmssim.Start(tmssim.Options{Waybill: "http://" + addr, Key: lines[len(lines)-1], Step: 30 * time.Millisecond, SkipAssignedEvent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tms.Close()
	env = append(env, "WAYBILL_CONNECTORS_TMS_URL="+tms.DispatchURL())

	// Orders confirmed while the hub runs and dies.
	demo := sim.Demo()
	const orders = 12
	var names []string
	order := func(i int) {
		so, err := cl.EnsureSaleOrder(t.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[i%len(demo.Customers)], ClientRef: fmt.Sprintf("CHAOS-%d", i), Confirm: true,
			Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 1}, {ProductID: demo.Products["FURN_7800"], Quantity: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, so.Name)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--addr", addr)
		cmd.Env = env
		cmd.Stderr = &prefixWriter{t: t}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	const rounds = 6
	for round := range rounds {
		cmd := start()
		for i := range orders / rounds {
			order(round*orders/rounds + i)
		}
		// Kill while this round's orders are on their way: the poller,
		// the TMS round trip and the Odoo jobs take about a second.
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	invoiced := func(so string) int {
		ids, err := cl.Search(t.Context(), "account.move", odoo.Domain{odoo.Leaf("invoice_origin", "=", so), odoo.Leaf("state", "!=", "cancel")}, nil)
		if err != nil {
			return -1
		}
		return len(ids)
	}
	before := 0
	for _, so := range names {
		if invoiced(so) >= 1 {
			before++
		}
	}
	cmd := start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(120 * time.Second)
	for {
		done := 0
		for _, so := range names {
			if invoiced(so) >= 1 {
				done++
			}
		}
		if done == len(names) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orders invoiced after the last restart", done, len(names))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Let retries that might still be in flight finish before counting.
	time.Sleep(2 * time.Second)
	for _, so := range names {
		if n := invoiced(so); n != 1 {
			t.Errorf("order %s has %d invoices, want exactly 1", so, n)
		}
		ids, err := cl.Search(t.Context(), "sale.order", odoo.Domain{odoo.Leaf("name", "=", so)}, nil)
		if err != nil || len(ids) != 1 {
			t.Fatalf("order %s: %v %v", so, ids, err)
		}
		order, err := cl.SaleOrder(t.Context(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(order.PickingIDs) != 1 {
			t.Errorf("order %s has pickings %v, want one (no backorder)", so, order.PickingIDs)
			continue
		}
		p, err := cl.Picking(t.Context(), order.PickingIDs[0])
		if err != nil || p.State != odoo.PickingDone {
			t.Errorf("order %s: picking %+v (%v), want done", so, p.State, err)
			continue
		}
		// Validated once: every move shipped exactly its demand, never
		// twice over.
		for _, m := range p.Moves {
			if m.Done != m.Demand {
				t.Errorf("order %s, picking %s: %s shipped %v of %v", so, p.Name, m.Product.Name, m.Done, m.Demand)
			}
		}
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err == nil {
		resp.Body.Close()
	}
	t.Logf("%d orders through %d kills (%d invoiced before the last restart): one invoice and one validation each", orders, rounds, before)
}
