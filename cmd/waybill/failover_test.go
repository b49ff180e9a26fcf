package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/waybill/waybill/internal/connector/odoo"
)

// TestFailover runs three serve replicas on one PostgreSQL database with
// the Odoo simulator behind them, drives shipments from order to invoice
// and a stream of other events through whichever replica answers, and
// kills a random replica with SIGKILL every few seconds, starting a new
// one each time; once it also cuts the lease holder's database sessions.
// At the end every accepted event is stored once and applied, every
// shipment's events were applied in order (none refused by the workflow),
// each picking was validated once and each shipment invoiced once, and
// the lease moved to a live replica within 10 s of each holder's death.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills replicas")
	}
	c := newCluster(t,
		"WAYBILL_CONNECTORS_ODOO_BREAKER_COOLDOWN=100ms",
		"WAYBILL_CONNECTORS_ODOO_MILESTONE_SYNC_WINDOW=0s",
		"WAYBILL_JOBS_RETRY_BASE=100ms",
		"WAYBILL_JOBS_RETRY_MAX=1s",
		"WAYBILL_JOBS_MAX_ATTEMPTS=50",
		"WAYBILL_PROCESSOR_POLL_INTERVAL=50ms",
	)
	ctx, sim, cl := t.Context(), c.sim, c.cl
	const shipments = 12
	orders := c.orders("FAILOVER", shipments)
	for range 3 {
		c.start()
	}

	// post sends an event to a random live replica until one accepts it.
	var acked sync.Map // event id → true
	post := func(id, typ, subject, at, data string) {
		if !c.post(id, typ, subject, at, data) {
			t.Errorf("event %s never accepted", id)
			return
		}
		acked.Store(id, true)
	}

	db, err := sql.Open("pgx", c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder := func() (owner string, epoch int64) {
		_ = db.QueryRowContext(ctx, `SELECT owner, epoch FROM leases WHERE name = 'serve' AND expires_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`).Scan(&owner, &epoch)
		return owner, epoch
	}
	const dbNow = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`
	// partsOf are the processing partitions owner holds.
	partsOf := func(owner string) []string {
		rows, err := db.QueryContext(ctx, `SELECT name FROM leases WHERE owner = $1 AND name LIKE 'partition/%' AND expires_at > `+dbNow, owner)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name string
			if rows.Scan(&name) == nil {
				out = append(out, name)
			}
		}
		return out
	}
	// movedFrom reports whether every partition in names is held by a
	// replica other than dead.
	movedFrom := func(dead string, names []string) bool {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM leases WHERE name = ANY($1) AND owner <> $2 AND expires_at > `+dbNow,
			"{"+strings.Join(names, ",")+"}", dead).Scan(&n)
		return err == nil && n == len(names)
	}

	// Chaos: every 2.5 s a replica dies (every other one the lease
	// holder) and a new one starts. When
	// the dead one held the lease, the time until another holds it is
	// measured.
	stopChaos := make(chan struct{})
	chaosDone := make(chan struct{})
	var takeovers, partTakeovers []time.Duration
	var kills, holderKills atomic.Int32
	go func() {
		defer close(chaosDone)
		cut := false
		for {
			select {
			case <-stopChaos:
				return
			case <-time.After(2500 * time.Millisecond):
			}
			owner, epoch := holder()
			c.mu.Lock()
			i := rand.IntN(len(c.live))
			if kills.Load()%2 == 1 {
				// Every other death is the lease holder's.
				for k, r := range c.live {
					if r.id() == owner {
						i = k
					}
				}
			}
			victim := c.live[i]
			c.mu.Unlock()
			if !cut && owner != "" && victim.id() == owner {
				// Once: cut the holder's database sessions instead of
				// killing it. Its pool reconnects; the lease stays single.
				cut = true
				var n int
				_ = db.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, victim.name).Scan(&n)
				t.Logf("cut the %d database sessions of the lease holder %s", n, owner)
				continue
			}
			held := partsOf(victim.id())
			_ = victim.cmd.Process.Kill()
			killed := time.Now()
			_ = victim.cmd.Wait()
			kills.Add(1)
			c.mu.Lock()
			c.live = slices.Delete(c.live, i, i+1)
			c.mu.Unlock()
			// Its partitions move to the live replicas.
			if len(held) > 0 {
				for !movedFrom(victim.id(), held) && time.Since(killed) < 60*time.Second {
					time.Sleep(20 * time.Millisecond)
				}
				partTakeovers = append(partTakeovers, time.Since(killed))
			}
			if owner != "" && victim.id() == owner {
				holderKills.Add(1)
				for {
					o, e := holder()
					if o != "" && e > epoch {
						takeovers = append(takeovers, time.Since(killed))
						break
					}
					if time.Since(killed) > 60*time.Second {
						takeovers = append(takeovers, time.Since(killed))
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			c.start()
		}
	}()

	// Load: the shipments' flows, in order per shipment, and a stream of
	// events for shipments nobody planned (refused, but stored and
	// processed all the same).
	loadStart := time.Now()
	var wg sync.WaitGroup
	subjects := make([]string, shipments)
	for i := range shipments {
		subjects[i] = fmt.Sprintf("tms:FO-%d", i)
		wg.Go(func() {
			s, two := subjects[i], `{"value":"2","unit":"C62"}`
			steps := [][3]string{
				{"shipment.planned", "2026-11-26T08:00:00Z", `{"order":"odoo:` + orders[i] + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC","country":"US"},"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `}]}`},
				{"inventory.reserved", "2026-11-26T08:10:00Z", `{"lines":[{"line_id":"1","quantity":` + two + `}]}`},
				{"shipment.loaded", "2026-11-26T09:00:00Z", `{"lines":[{"line_id":"1","quantity":` + two + `}]}`},
				{"shipment.departed", "2026-11-26T09:30:00Z", `{}`},
				{"shipment.delivered", "2026-11-26T14:00:00Z", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `}]}}`},
			}
			for k, st := range steps {
				post(fmt.Sprintf("%s/%d", s, k), st[0], s, st[1], st[2])
				time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
			}
		})
	}
	var noise atomic.Int32
	stopNoise := make(chan struct{})
	noiseDone := make(chan struct{})
	go func() {
		defer close(noiseDone)
		for n := 0; ; n++ {
			select {
			case <-stopNoise:
				return
			default:
			}
			post(fmt.Sprintf("noise/%d", n), "shipment.departed", fmt.Sprintf("tms:NOISE-%d", n%50), "2026-11-26T09:30:00Z", `{}`)
			noise.Add(1)
		}
	}()
	wg.Wait()
	// Keep the stream and the killing going for a while after the last
	// event of the flows, until enough replicas died (a slow machine
	// starts replicas slowly, so this is counted, not timed).
	time.Sleep(max(6*time.Second, 25*time.Second-time.Since(loadStart)))
	for enough := time.Now().Add(3 * time.Minute); (kills.Load() < 4 || holderKills.Load() < 2) && time.Now().Before(enough); {
		time.Sleep(100 * time.Millisecond)
	}
	close(stopNoise)
	<-noiseDone
	close(stopChaos)
	<-chaosDone

	// Every shipment ends invoiced once; the queue drains.
	deadline := time.Now().Add(120 * time.Second)
	ids := make([]string, shipments)
	for i, s := range subjects {
		for {
			var id string
			err := db.QueryRowContext(ctx, `SELECT shipment_id FROM events WHERE subject = $1 AND shipment_id IS NOT NULL LIMIT 1`, s).Scan(&id)
			if err == nil {
				if _, err := cl.FindInvoice(ctx, "WB-"+id); err == nil {
					ids[i] = id
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("shipment %s (%s) not invoiced within 2 minutes of the end of the load", s, id)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	var pendingEvents int
	for {
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE state = 'pending'`).Scan(&pendingEvents); err != nil {
			t.Fatal(err)
		}
		if pendingEvents == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pendingEvents != 0 {
		t.Errorf("%d events still pending", pendingEvents)
	}

	// Nothing accepted was lost or stored twice.
	stored := map[string]int{}
	rows, err := db.QueryContext(ctx, `SELECT source_id FROM events WHERE source = 'cluster'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id]++
	}
	rows.Close()
	ackedN, lost := 0, 0
	acked.Range(func(k, _ any) bool {
		ackedN++
		if stored[k.(string)] == 0 {
			lost++
		}
		return true
	})
	for id, n := range stored {
		if n > 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d accepted events lost", lost, ackedN)
	}
	// In order: no event of a planned shipment was refused.
	var refused int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE source = 'cluster' AND subject LIKE 'tms:FO-%' AND state <> 'accepted'`).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if refused != 0 {
		t.Errorf("%d events of the planned shipments not applied", refused)
	}
	// Once each in Odoo.
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = "WB-" + id
	}
	invoices, err := cl.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	perRef := map[string]int{}
	for _, inv := range invoices {
		perRef[inv.Ref]++
	}
	for _, id := range ids {
		if perRef["WB-"+id] != 1 {
			t.Errorf("shipment %s has %d invoices", id, perRef["WB-"+id])
		}
	}
	if n := sim.Calls()["stock.picking.button_validate"]; n != shipments {
		t.Errorf("button_validate called %d times for %d pickings", n, shipments)
	}
	// The replicas' calls: all the simulator served but the test's own.
	odooCalls := 0
	for _, n := range sim.Calls() {
		odooCalls += n
	}
	for _, n := range cl.Calls() {
		odooCalls -= n
	}
	t.Logf("odoo: the replicas made %d calls, %.1f per shipment from order to invoice, retries after the kills included", odooCalls, float64(odooCalls)/shipments)
	p99 := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		if len(ds) == 0 {
			return 0
		}
		return ds[min(len(ds)-1, len(ds)*99/100)]
	}
	t.Logf("failover: %d kills (%d of the lease holder), %d events accepted (%d of the flows, %d others), none lost or stored twice; lease takeovers %v, p99 %s; partition takeovers %v, p99 %s",
		kills.Load(), holderKills.Load(), ackedN, shipments*5, noise.Load(), takeovers, p99(takeovers), partTakeovers, p99(partTakeovers))
	if p := p99(takeovers); p > 10*time.Second {
		t.Errorf("lease takeover p99 %s, want within 10s", p)
	}
	if p := p99(partTakeovers); p > 10*time.Second {
		t.Errorf("partition takeover p99 %s, want within 10s", p)
	}
	if len(partTakeovers) == 0 {
		t.Error("no killed replica held a partition: the test did not exercise their takeover")
	}
	// The live replicas share the partitions: every one is held, and each
	// replica holds some.
	for converged := time.Now().Add(30 * time.Second); ; {
		// A replica started last may not have logged its id yet.
		c.mu.Lock()
		var liveIDs []string
		for _, r := range c.live {
			liveIDs = append(liveIDs, r.id())
		}
		c.mu.Unlock()
		var counts []int
		total := 0
		for _, id := range liveIDs {
			n := len(partsOf(id))
			counts, total = append(counts, n), total+n
		}
		if total == 32 && !slices.Contains(counts, 0) {
			t.Logf("partitions held by the %d live replicas: %v", len(liveIDs), counts)
			break
		}
		if time.Now().After(converged) {
			t.Errorf("partitions held by the live replicas %v: %v, want all 32 shared among them", liveIDs, counts)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if kills.Load() < 4 || holderKills.Load() < 2 {
		t.Errorf("only %d replicas killed (%d lease holders): the test did not exercise failover", kills.Load(), holderKills.Load())
	}
}
