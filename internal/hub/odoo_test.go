package hub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/tmssim"
)

// odooWorld is a hub whose Odoo connector points at a simulator, with one
// confirmed sale order to ship: 2 × E-COM07 and 3 × LOT-RESIN from one lot.
type odooWorld struct {
	*bundle
	srv    *odoosim.Server
	client *odoo.Client // the test's own view of the simulated Odoo
	order  odoo.SaleOrder
	lot    string // the lot reserved for LOT-RESIN
}

func setupOdoo(t testing.TB, opts sqldb.Options, version int, modify func(*config.Config)) *odooWorld {
	t.Helper()
	srv, err := odoosim.Start(odoosim.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sim := srv.Sim()
	cl, err := odoo.New(t.Context(), odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), Timeout: 10 * time.Second, RateLimit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	demo := sim.Demo()
	so, err := cl.EnsureSaleOrder(t.Context(), &odoo.SaleOrderParams{
		PartnerID: demo.Customers[0], ClientRef: "HUB-TEST-1", Confirm: true,
		Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM07"], Quantity: 2}, {ProductID: demo.Products["LOT-RESIN"], Quantity: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(so.PickingIDs) != 1 {
		t.Fatalf("sale order %s has pickings %v, want one", so.Name, so.PickingIDs)
	}
	res, err := cl.PickingReservation(t.Context(), so.PickingIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	var lot string
	for _, m := range res.Moves {
		for _, l := range m.Lots {
			if m.Product.ID == demo.Products["LOT-RESIN"] && l.Quantity >= 3 {
				lot = l.Lot.Name
			}
		}
	}
	if lot == "" {
		t.Fatalf("no lot of LOT-RESIN reserved with 3 units: %+v", res)
	}
	b := setup(t, opts, func(c *config.Config) {
		c.Connectors.Odoo.URL = srv.URL()
		c.Connectors.Odoo.Database = sim.Database()
		c.Connectors.Odoo.Login = sim.Login()
		c.Connectors.Odoo.APIKey = config.Secret(sim.APIKey())
		c.Connectors.Odoo.Timeout = 5 * time.Second
		c.Connectors.Odoo.RateLimit = 1000 // the simulator needs no protection
		c.Connectors.Odoo.BreakerCooldown = 50 * time.Millisecond
		c.Connectors.Odoo.PollInterval = 0 // these tests send the events themselves
		// Each milestone is noted at once, as these tests wait for the
		// notes; TestOdooMilestonesNotedTogether sets a window.
		c.Connectors.Odoo.MilestoneSyncWindow = 0
		c.Jobs.MaxAttempts = 6
		// The events these tests send are dated before today: the
		// scheduled run would reconcile the days since. The schedule's
		// own test turns it on.
		c.Reconcile.Schedule = false
		c.Reconcile.InventoryInterval = 0
		if modify != nil {
			modify(c)
		}
	})
	return &odooWorld{bundle: b, srv: srv, client: cl, order: so, lot: lot}
}

// ship sends the events that take a shipment of the world's order from
// planned to delivered with a POD and a detention charge.
func (w *odooWorld) ship(t *testing.T, subject string) {
	t.Helper()
	w.shipWith(t, subject, nil)
}

// shipWith is ship calling beforeDelivery, when not nil, once the
// shipment departed and before its proof of delivery is sent.
func (w *odooWorld) shipWith(t *testing.T, subject string, beforeDelivery func()) {
	t.Helper()
	send := func(id, typ, at, data string) {
		t.Helper()
		status, body, _ := w.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(subject+"/"+id, typ, subject, at, data))
		if status != http.StatusAccepted {
			t.Fatalf("%s: got status %d: %s", typ, status, body)
		}
	}
	two := `{"value":"2","unit":"C62"}`
	three := `{"value":"3","unit":"C62"}`
	send("plan", "shipment.planned", "2026-11-26T08:00:00+01:00", `{"order":"odoo:`+w.order.Name+`","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC","country":"US"},`+
		`"lines":[{"line_id":"1","sku":"E-COM07","quantity":`+two+`},{"line_id":"2","sku":"LOT-RESIN","quantity":`+three+`}]}`)
	send("reserve", "inventory.reserved", "2026-11-26T08:10:00+01:00", `{"lines":[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`}]}`)
	send("load", "shipment.loaded", "2026-11-26T09:00:00+01:00", `{"lines":[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`,"lots":[{"lot":"`+w.lot+`","quantity":`+three+`}]}]}`)
	send("depart", "shipment.departed", "2026-11-26T09:30:00+01:00", `{}`)
	send("charge", "charges.reported", "2026-11-26T13:00:00+01:00", `{"charges":[{"code":"DET","type":"detention","amount":{"minor":7500,"currency":"USD"}}]}`)
	if beforeDelivery != nil {
		beforeDelivery()
	}
	send("deliver", "shipment.delivered", "2026-11-26T14:00:00+01:00", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00+01:00","lines":[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`}]}}`)
}

// shipmentID returns the canonical id of subject once it exists.
func (w *odooWorld) shipmentID(t *testing.T, subject string) string {
	t.Helper()
	var id string
	poll.Until(t, "shipment "+subject, func() bool {
		sh := getShipment(t, w.bundle, subject)
		id, _ = sh["id"].(string)
		return id != ""
	})
	return id
}

// invoiced waits for the shipment's invoice in Odoo and returns it.
func (w *odooWorld) invoiced(t *testing.T, shipmentID string) odoo.Invoice {
	t.Helper()
	var inv odoo.Invoice
	poll.Until(t, "the invoice in Odoo", func() bool {
		// Errors other than not found are injected faults: look again.
		var err error
		inv, err = w.client.FindInvoice(t.Context(), "WB-"+shipmentID)
		return err == nil
	})
	return inv
}

func TestOdooDispatchToInvoice(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, opts sqldb.Options, version int) {
		w := setupOdoo(t, opts, version, nil)
		subject := "tms:LOAD-1"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		inv := w.invoiced(t, id)

		p, err := w.client.Picking(t.Context(), w.order.PickingIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		// Odoo's validation came back as an event, and the invoice
		// followed it.
		var sh map[string]any
		poll.Until(t, "the invoiced shipment", func() bool {
			sh = getShipment(t, w.bundle, subject)
			return sh["state"] == "invoiced"
		})
		pick, _ := sh["picking"].(map[string]any)
		if pick["validated_at"] == nil || pick["external_id"] != strconv.Itoa(p.ID) || pick["name"] != p.Name || pick["system"] != "odoo" {
			t.Errorf("shipment's picking record %v, want %d %s validated", pick, p.ID, p.Name)
		}
		var types []string
		for _, e := range sh["timeline"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		if v, i := slices.Index(types, "picking.validated"), slices.Index(types, "shipment.invoiced"); v < 0 || i < v {
			t.Errorf("timeline %v: want picking.validated before shipment.invoiced", types)
		}
		if p.State != odoo.PickingDone || len(p.Backorders) != 0 {
			t.Errorf("picking %s: state %s, backorders %v; want done without backorder", p.Name, p.State, p.Backorders)
		}
		shipped := map[string]float64{}
		for _, m := range p.Moves {
			for _, l := range m.Lines {
				shipped[fmt.Sprintf("%d/%s", m.Product.ID, l.Lot.Name)] += l.Done
			}
		}
		demo := w.srv.Sim().Demo()
		want := map[string]float64{fmt.Sprintf("%d/", demo.Products["E-COM07"]): 2, fmt.Sprintf("%d/%s", demo.Products["LOT-RESIN"], w.lot): 3}
		for k, q := range want {
			if shipped[k] != q {
				t.Errorf("shipped %s: %v, want %v (all: %v)", k, shipped[k], q, shipped)
			}
		}
		if inv.State != "draft" {
			t.Errorf("invoice state %s, want draft (connectors.odoo.invoice_state default)", inv.State)
		}
		so, err := w.client.SaleOrder(t.Context(), w.order.ID)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := w.client.Read(t.Context(), "sale.order.line", so.LineIDs, []string{"name", "price_unit"})
		if err != nil {
			t.Fatal(err)
		}
		var detention bool
		for _, l := range lines {
			var name string
			var price float64
			_ = json.Unmarshal(l["name"], &name)
			_ = json.Unmarshal(l["price_unit"], &price)
			if strings.Contains(name, "detention") && price == 75 {
				detention = true
			}
		}
		if !detention {
			t.Errorf("no detention line of 75 on %s", so.Name)
		}
		// Each milestone is on the picking's chatter once, however many
		// sync jobs carried it (notes posted together share a message).
		count := map[string]int{}
		poll.Until(t, "the milestones in the chatter", func() bool {
			notes, err := w.client.SearchRead(t.Context(), "mail.message", odoo.Domain{odoo.Leaf("model", "=", "stock.picking"),
				odoo.Leaf("res_id", "=", p.ID), odoo.Leaf("body", "ilike", "[wb:")}, &odoo.SearchOptions{Fields: []string{"body"}})
			clear(count)
			for _, n := range notes {
				for _, k := range []string{"departed at", "delivered at"} {
					count[k] += strings.Count(n.String("body"), k)
				}
			}
			return err == nil && count["departed at"] > 0 && count["delivered at"] > 0
		})
		if count["departed at"] != 1 || count["delivered at"] != 1 {
			t.Errorf("chatter notes %v, want one departure and one delivery", count)
		}
		calls := w.srv.Sim().Calls()
		if n := calls["stock.picking.button_validate"]; n != 1 {
			t.Errorf("button_validate called %d times, want 1", n)
		}
		if n := calls["sale.advance.payment.inv.create_invoices"]; n != 1 {
			t.Errorf("create_invoices called %d times, want 1 (calls: %v)", n, calls)
		}
	}
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) { run(t, opts, 18) })
	for _, v := range []int{16, 17, 19} {
		t.Run(fmt.Sprintf("odoo%d", v), func(t *testing.T) {
			t.Parallel()
			run(t, sqldb.Options{DataDir: t.TempDir()}, v)
		})
	}
}

// TestOdooFaults injects failures into the simulated Odoo and checks that
// each is retried or dead-lettered as classified, and that a call whose
// reply is lost after Odoo committed it does not validate or invoice twice.
func TestOdooFaults(t *testing.T) {
	t.Parallel()
	t.Run("reply lost after commit", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, nil)
		faults := w.srv.Sim().Faults()
		faults.Inject("stock.picking", "button_validate", 1, odoosim.FaultDropAfterCommit)
		faults.Inject("sale.advance.payment.inv", "create_invoices", 1, odoosim.FaultDropAfterCommit)
		w.ship(t, "tms:LOST-1")
		id := w.shipmentID(t, "tms:LOST-1")
		w.invoiced(t, id)
		moves, err := w.client.SearchRead(t.Context(), "account.move", odoo.Domain{odoo.Leaf("invoice_origin", "=", w.order.Name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(moves) != 1 {
			t.Errorf("%d invoices for %s after a lost reply, want 1", len(moves), w.order.Name)
		}
		p, err := w.client.Picking(t.Context(), w.order.PickingIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if p.State != odoo.PickingDone || len(p.Backorders) != 0 {
			t.Errorf("picking %s: state %s, backorders %v", p.Name, p.State, p.Backorders)
		}
		calls := w.srv.Sim().Calls()
		if calls["stock.picking.button_validate"] != 1 || calls["sale.advance.payment.inv.create_invoices"] != 1 {
			t.Errorf("effects repeated after a lost reply: %v", calls)
		}
		if dl := deadLetters(t, w.bundle); len(dl) != 0 {
			t.Errorf("dead letters after retryable faults: %v", dl)
		}
	})
	t.Run("server errors and an outage are retried", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 19, nil)
		faults := w.srv.Sim().Faults()
		faults.Inject("stock.picking", "", 2, odoosim.FaultHTTP500)
		faults.Inject("account.move", "", 1, odoosim.FaultSerialization)
		faults.Inject("res.partner", "", 1, odoosim.FaultReset)
		// Odoo is down when the first job runs: the connector cannot even
		// detect its version. The job waits, retries, and goes through once
		// Odoo is back.
		if err := w.srv.Down(); err != nil {
			t.Fatal(err)
		}
		w.ship(t, "tms:FLAKY-1")
		poll.Until(t, "a retry while Odoo is down", func() bool {
			_, raw, _ := w.do(t, http.MethodGet, "/metrics", "", nil)
			return strings.Contains(string(raw), `waybill_job_retries_total{kind="picking.validate"}`)
		})
		if err := w.srv.Up(); err != nil {
			t.Fatal(err)
		}
		id := w.shipmentID(t, "tms:FLAKY-1")
		w.invoiced(t, id)
		if dl := deadLetters(t, w.bundle); len(dl) != 0 {
			t.Errorf("dead letters after retryable faults: %v", dl)
		}
	})
	t.Run("refused key is a dead letter", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, func(c *config.Config) {
			c.Connectors.Odoo.APIKey = "not-the-key"
		})
		w.ship(t, "tms:DENIED-1")
		// Milestones run in their own lane and may be dead letters first.
		poll.Until(t, "the dead letter of the picking validation", func() bool {
			for _, d := range deadLetters(t, w.bundle) {
				if d["kind"] == "picking.validate" {
					return true
				}
			}
			return false
		})
		// The picking was never validated, so the invoice is never asked
		// for: the delivered shipment says what it waits for.
		poll.Until(t, "the delivered shipment", func() bool {
			return getShipment(t, w.bundle, "tms:DENIED-1")["state"] == "delivered"
		})
		sh := getShipment(t, w.bundle, "tms:DENIED-1")
		if sh["billable"] == true || !strings.Contains(fmt.Sprint(sh["blocked_reason"]), "has not validated the picking") {
			t.Errorf("shipment billable %v, blocked %q: want held for the picking validation", sh["billable"], sh["blocked_reason"])
		}
		dl := deadLetters(t, w.bundle)
		kinds := map[any]bool{}
		for _, d := range dl {
			kinds[d["kind"]] = true
		}
		if !kinds["picking.validate"] || kinds["invoice.prepare"] {
			t.Errorf("dead letters of kinds %v, want picking.validate and no invoice.prepare", kinds)
		}
		for _, d := range dl {
			if d["attempts"] != 1.0 || !strings.Contains(fmt.Sprint(d["error"]), "access_denied") {
				t.Errorf("dead letter %v %v after %v attempts, want access denied after 1", d["kind"], d["error"], d["attempts"])
			}
		}
		if n := w.srv.Sim().Calls()["stock.picking.button_validate"]; n != 0 {
			t.Errorf("button_validate called %d times with a refused key", n)
		}
	})
}

func deadLetters(t *testing.T, b *bundle) []map[string]any {
	t.Helper()
	status, raw, _ := b.do(t, http.MethodGet, "/v1/dead-letters", "", nil)
	if status != http.StatusOK {
		t.Fatalf("dead letters: %d %s", status, raw)
	}
	var list struct {
		DeadLetters []map[string]any `json:"dead_letters"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	return list.DeadLetters
}

// TestOdooPollerPlansShipments lets the hub find its work in Odoo: a
// confirmed order's picking becomes a shipment, released when Odoo reserved
// everything, held with the reason when it did not.
// TestOdooMilestonesNotedTogether checks the milestone sync window end to
// end: a departure's note waits for its window (an hour here), and the
// exception that follows is noted at once together with it, from the
// shipment as stored, so the departure is in the chatter once while its own
// sync still waits.
func TestOdooMilestonesNotedTogether(t *testing.T) {
	t.Parallel()
	w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, func(c *config.Config) {
		c.Connectors.Odoo.MilestoneSyncWindow = time.Hour
	})
	two, three := `{"value":"2","unit":"C62"}`, `{"value":"3","unit":"C62"}`
	w.sendAll(t, "tms:WIN-1", [][3]string{
		{"plan", "shipment.planned", `{"order":"odoo:` + w.order.Name + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC"},` +
			`"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `},{"line_id":"2","sku":"LOT-RESIN","quantity":` + three + `}]}`},
		{"reserve", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
		{"load", "shipment.loaded", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]}`},
		{"depart", "shipment.departed", `{}`},
	})
	w.shipmentID(t, "tms:WIN-1")
	db := w.hub.DB
	poll.Until(t, "the departure's sync waiting for its window", func() bool {
		var n int
		_ = db.Reader.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'milestone_sync' AND state = 'scheduled'`).Scan(&n)
		return n == 1
	})
	w.sendAll(t, "tms:WIN-1", [][3]string{
		{"damage", "shipment.exception", `{"category":"damaged","exception_id":"EXC-9","description":"wet pallet","lines":[{"line_id":"1","quantity":{"value":"1","unit":"C62"}}]}`},
	})
	var notes []odoo.Record
	poll.Until(t, "the exception in the chatter", func() bool {
		var err error
		notes, err = w.client.SearchRead(t.Context(), "mail.message", odoo.Domain{odoo.Leaf("model", "=", "stock.picking"),
			odoo.Leaf("res_id", "=", w.order.PickingIDs[0]), odoo.Leaf("body", "ilike", "[wb:")}, &odoo.SearchOptions{Fields: []string{"body"}})
		return err == nil && slices.ContainsFunc(notes, func(n odoo.Record) bool { return strings.Contains(n.String("body"), "exception EXC-9") })
	})
	var departed, together int
	for _, n := range notes {
		body := n.String("body")
		if strings.Contains(body, "departed at") {
			departed++
			if strings.Contains(body, "exception EXC-9") {
				together++
			}
		}
	}
	if departed != 1 || together != 1 {
		t.Errorf("notes %v: want the departure once, in the exception's note", notes)
	}
	var waiting int
	if err := db.Reader.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'milestone_sync' AND state = 'scheduled'`).Scan(&waiting); err != nil || waiting != 1 {
		t.Errorf("milestone syncs waiting: %d (%v), want the departure's still", waiting, err)
	}
}

func TestOdooPollerPlansShipments(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, func(c *config.Config) { c.Connectors.Odoo.PollInterval = 50 * time.Millisecond })
		demo := w.srv.Sim().Demo()
		short, err := w.client.EnsureSaleOrder(t.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[2], ClientRef: "POLL-SHORT", Confirm: true,
			Lines: []odoo.SaleLine{{ProductID: demo.Products["E-COM11"], Quantity: 5}}}) // 2 in stock
		if err != nil {
			t.Fatal(err)
		}
		subject := func(so odoo.SaleOrder) string {
			p, err := w.client.Picking(t.Context(), so.PickingIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			return "odoo:" + p.Name
		}
		var full, held map[string]any
		poll.Until(t, "the shipments from Odoo", func() bool {
			full, held = getShipment(t, w.bundle, subject(w.order)), getShipment(t, w.bundle, subject(short))
			return full != nil && held != nil && full["state"] == "released" && held["state"] == "short"
		})
		if full["order"] != "odoo:"+w.order.Name {
			t.Errorf("shipment order %v, want odoo:%s", full["order"], w.order.Name)
		}
		if reason, _ := held["blocked_reason"].(string); !strings.Contains(reason, "available 2 C62 of 5 C62") {
			t.Errorf("short shipment says %q, want the reserved quantity", reason)
		}
		// The short one waits in the review queue for the warehouse.
		_, raw, _ := w.do(t, http.MethodGet, "/v1/review?state=open&owner_role=warehouse", "", nil)
		if !strings.Contains(string(raw), `"kind":"shortage"`) || !strings.Contains(string(raw), fmt.Sprint(held["id"])) {
			t.Errorf("review queue %s: want the shortage of %v", raw, held["id"])
		}
		// The released one went out for dispatch; the short one did not.
		poll.Until(t, "the dispatch release", func() bool {
			for _, d := range w.receiver.deliveries() {
				if d.Kind == "dispatch.release" && d.Body["shipment_id"] == full["id"] {
					return true
				}
			}
			return false
		})
		for _, d := range w.receiver.deliveries() {
			if d.Body["shipment_id"] == held["id"] {
				t.Errorf("short shipment sent out: %s", d.Kind)
			}
		}
	})
}

// TestOdooWebhookWakesThePoller rings the doorbell Odoo's automation rings:
// with polling an hour apart, the new picking shows up at once.
func TestOdooWebhookWakesThePoller(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef-odoo"
	w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 17, func(c *config.Config) {
		c.Connectors.Odoo.PollInterval = time.Hour
		c.Connectors.Odoo.WebhookToken = token
	})
	p, err := w.client.Picking(t.Context(), w.order.PickingIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The first poll runs at start-up; wait for it so the doorbell is what
	// brings the next picking.
	poll.Until(t, "the start-up poll", func() bool { return getShipment(t, w.bundle, "odoo:"+p.Name) != nil })
	demo := w.srv.Sim().Demo()
	so, err := w.client.EnsureSaleOrder(t.Context(), &odoo.SaleOrderParams{PartnerID: demo.Customers[1], ClientRef: "HOOK-1", Confirm: true,
		Lines: []odoo.SaleLine{{ProductID: demo.Products["DESK0005"], Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := w.client.Picking(t.Context(), so.PickingIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"_model":"stock.picking","_id":` + fmt.Sprint(p2.ID) + `,"_action":"Waybill(#12)"}`)
	post := func(query string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, w.url+"/v1/sources/odoo/webhook"+query, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	for _, q := range []string{"", "?token=wrong", "?token=" + token + "x"} {
		if status, ct := post(q); status != http.StatusUnauthorized || ct != "application/problem+json" {
			t.Errorf("webhook %q: got %d %s, want 401 problem+json", q, status, ct)
		}
	}
	if status, _ := post("?token=" + token); status != http.StatusAccepted {
		t.Fatalf("webhook with the token: got %d, want 202", status)
	}
	poll.Until(t, "the picking the doorbell announced", func() bool { return getShipment(t, w.bundle, "odoo:"+p2.Name) != nil })
}

// sendAll posts events about subject, each as id suffix, type and data.
func (w *odooWorld) sendAll(t *testing.T, subject string, evs [][3]string) {
	t.Helper()
	for i, e := range evs {
		at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 10 * time.Minute).Format(time.RFC3339)
		status, body, _ := w.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(subject+"/"+e[0], e[1], subject, at, e[2]))
		if status != http.StatusAccepted {
			t.Fatalf("%s: got status %d: %s", e[1], status, body)
		}
	}
}

// invoicedQuantities returns the quantity invoiced per product code.
func (w *odooWorld) invoicedQuantities(t *testing.T, inv odoo.Invoice) map[string]float64 {
	t.Helper()
	recs, err := w.client.SearchRead(t.Context(), "account.move.line", odoo.Domain{odoo.Leaf("move_id", "=", inv.ID)},
		&odoo.SearchOptions{Fields: []string{"product_id", "quantity"}})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	for code, id := range w.srv.Sim().Demo().Products {
		codes[id] = code
	}
	for code, id := range w.srv.Sim().Demo().Services {
		codes[id] = code
	}
	out := map[string]float64{}
	for _, r := range recs {
		var p odoo.Many2One
		var q float64
		_ = json.Unmarshal(r["product_id"], &p)
		_ = json.Unmarshal(r["quantity"], &q)
		if p.ID != 0 {
			out[codes[p.ID]] += q
		}
	}
	return out
}

// decide approves or rejects the one open review of the shipment through
// the API, with a key that may only decide reviews and read.
func (w *odooWorld) decide(t *testing.T, shipmentID, kind, decision string) {
	t.Helper()
	var list struct {
		Reviews []struct {
			ID         string `json:"id"`
			Kind       string `json:"kind"`
			ShipmentID string `json:"shipment_id"`
			OwnerRole  string `json:"owner_role"`
			AgeSeconds *int64 `json:"age_seconds"`
		} `json:"reviews"`
	}
	var id string
	poll.Until(t, "the "+kind+" review", func() bool {
		status, raw, _ := w.do(t, http.MethodGet, "/v1/review?state=open", "", nil)
		if status != http.StatusOK {
			t.Fatalf("review queue: %d %s", status, raw)
		}
		_ = json.Unmarshal(raw, &list)
		for _, r := range list.Reviews {
			if r.ShipmentID == shipmentID && r.Kind == kind {
				if r.OwnerRole == "" || r.AgeSeconds == nil {
					t.Errorf("review %+v: want an owner role and an age", r)
				}
				id = r.ID
				return true
			}
		}
		return false
	})
	admin := w.key
	reviewer, _, err := w.hub.Keys.Create(t.Context(), "cs-desk", []apikey.Scope{apikey.ReviewWrite, apikey.ShipmentsRead})
	if err != nil {
		t.Fatal(err)
	}
	w.key = reviewer
	defer func() { w.key = admin }()
	// A reason with a NUL character is refused, not a server error.
	if status, raw, _ := w.do(t, http.MethodPost, "/v1/review/"+id+"/decision", "application/json", []byte(`{"decision":"`+decision+`","reason":"x\u0000y"}`)); status != http.StatusBadRequest {
		t.Errorf("a reason with NUL: got %d %s, want 400", status, raw)
	}
	body := []byte(`{"decision":"` + decision + `","reason":"checked the driver's photos"}`)
	status, raw, _ := w.do(t, http.MethodPost, "/v1/review/"+id+"/decision", "application/json", body)
	if status != http.StatusAccepted {
		t.Fatalf("decision: %d %s", status, raw)
	}
	// The same decision again is a duplicate; another one a conflict once
	// applied.
	if status, raw, _ := w.do(t, http.MethodPost, "/v1/review/"+id+"/decision", "application/json", body); status != http.StatusAccepted || !strings.Contains(string(raw), `"duplicate":true`) {
		t.Errorf("repeated decision: %d %s", status, raw)
	}
	poll.Until(t, "the decision applied", func() bool {
		_, raw, _ := w.do(t, http.MethodGet, "/v1/review/"+id, "", nil)
		return !strings.Contains(string(raw), `"status":"open"`)
	})
	var decided []audit.Entry // the repeat is not recorded again
	for _, e := range auditOf(t, w.hub, audit.ActionReviewDecided) {
		if e.Subject == id {
			decided = append(decided, e)
		}
	}
	if len(decided) != 1 || decided[0].Actor != "key:cs-desk" || !strings.Contains(string(decided[0].Details), `"decision":"`+decision+`"`) {
		t.Errorf("review.decided audit entries of %s: %+v", id, decided)
	}
	other := map[string]string{"approve": "reject", "reject": "approve"}[decision]
	if status, raw, _ := w.do(t, http.MethodPost, "/v1/review/"+id+"/decision", "application/json", []byte(`{"decision":"`+other+`"}`)); status != http.StatusConflict {
		t.Errorf("contrary decision after the first: %d %s", status, raw)
	}
}

// TestOdooExceptionsAndReview takes shipments through the exceptions that
// change what is invoiced, each decided in the review queue, and checks
// Odoo's records: returns, scrap and invoiced quantities.
func TestOdooExceptionsAndReview(t *testing.T) {
	t.Parallel()
	two, three, one := `{"value":"2","unit":"C62"}`, `{"value":"3","unit":"C62"}`, `{"value":"1","unit":"C62"}`
	begin := func(w *odooWorld) [][3]string {
		lines := `[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]`
		return [][3]string{
			{"plan", "shipment.planned", `{"order":"odoo:` + w.order.Name + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC"},` +
				`"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `},{"line_id":"2","sku":"LOT-RESIN","quantity":` + three + `}]}`},
			{"reserve", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
			{"load", "shipment.loaded", `{"lines":` + lines + `}`},
			{"depart", "shipment.departed", `{}`},
		}
	}
	t.Run("damaged goods are returned, scrapped and not billed", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, nil)
		evs := append(begin(w),
			[3]string{"damage", "shipment.exception", `{"category":"damaged","exception_id":"EXC-7","description":"crushed cabinet","lines":[{"line_id":"1","quantity":` + one + `}]}`},
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + one + `},{"line_id":"2","quantity":` + three + `}]}}`})
		w.sendAll(t, "tms:DMG-1", evs)
		id := w.shipmentID(t, "tms:DMG-1")
		w.decide(t, id, "exception", "approve")
		inv := w.invoiced(t, id)
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 1 || got["LOT-RESIN"] != 3 {
			t.Errorf("invoiced %v, want 1 E-COM07 (one damaged) and 3 LOT-RESIN", got)
		}
		scraps, err := w.client.SearchRead(t.Context(), "stock.scrap", odoo.Domain{odoo.Leaf("origin", "=", "WB-"+id+"/EXC-7")}, &odoo.SearchOptions{Fields: []string{"scrap_qty", "state"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(scraps) != 1 {
			t.Errorf("%d scraps for the damage, want 1", len(scraps))
		}
	})
	t.Run("goods missing at delivery are written off and not billed", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, nil)
		evs := append(begin(w),
			[3]string{"short", "shipment.exception", `{"category":"short","exception_id":"SHORT-1","description":"not on the truck at the stop","lines":[{"line_id":"2","quantity":` + one + `}]}`},
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + two + `}]}}`})
		w.sendAll(t, "tms:SHORT-1", evs)
		id := w.shipmentID(t, "tms:SHORT-1")
		w.decide(t, id, "exception", "approve")
		inv := w.invoiced(t, id)
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 2 || got["LOT-RESIN"] != 2 {
			t.Errorf("invoiced %v, want 2 E-COM07 and 2 LOT-RESIN (one missing)", got)
		}
		scraps, err := w.client.SearchRead(t.Context(), "stock.scrap", odoo.Domain{odoo.Leaf("origin", "=", "WB-"+id+"/SHORT-1")}, &odoo.SearchOptions{Fields: []string{"scrap_qty"}})
		if err != nil || len(scraps) != 1 {
			t.Errorf("write-off of the missing unit: %v %v", scraps, err)
		}
	})
	t.Run("refused goods are returned and not billed", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 17, nil)
		evs := append(begin(w),
			[3]string{"refuse", "shipment.exception", `{"category":"refused","exception_id":"REF-1","lines":[{"line_id":"2","quantity":` + three + `}]}`},
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":{"value":"0","unit":"C62"}}]}}`})
		w.sendAll(t, "tms:REF-1", evs)
		id := w.shipmentID(t, "tms:REF-1")
		w.decide(t, id, "exception", "approve")
		inv := w.invoiced(t, id)
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 2 || got["LOT-RESIN"] != 0 {
			t.Errorf("invoiced %v, want 2 E-COM07 and no LOT-RESIN", got)
		}
	})
	t.Run("a refused delivery is returned and nothing is billed", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, nil)
		zero := `{"value":"0","unit":"C62"}`
		evs := append(begin(w),
			[3]string{"refuse", "shipment.exception", `{"category":"refused","exception_id":"REF-ALL","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","remarks":"refused at the door","lines":[{"line_id":"1","quantity":` + zero + `},{"line_id":"2","quantity":` + zero + `}]}}`})
		w.sendAll(t, "tms:REF-ALL", evs)
		id := w.shipmentID(t, "tms:REF-ALL")
		w.decide(t, id, "exception", "approve")
		poll.Until(t, "the note that nothing is billed", func() bool {
			notes, err := w.client.SearchRead(t.Context(), "mail.message", odoo.Domain{odoo.Leaf("model", "=", "stock.picking"),
				odoo.Leaf("res_id", "=", w.order.PickingIDs[0]), odoo.Leaf("body", "ilike", "nothing to invoice")}, nil)
			return err == nil && len(notes) == 1
		})
		if _, err := w.client.FindInvoice(t.Context(), w.order.Name); err == nil {
			t.Error("an invoice for a refused delivery")
		}
		moves, err := w.client.SearchRead(t.Context(), "stock.move", odoo.Domain{odoo.Leaf("origin_returned_move_id.picking_id", "=", w.order.PickingIDs[0])},
			&odoo.SearchOptions{Fields: []string{"product_uom_qty", "state"}})
		if err != nil || len(moves) != 2 {
			t.Errorf("return moves %v (%v), want both lines returned", moves, err)
		}
		if dl := deadLetters(t, w.bundle); len(dl) != 0 {
			t.Errorf("dead letters: %v", dl)
		}
	})
	t.Run("a partial load leaves a backorder and bills what left", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 16, nil)
		evs := begin(w)
		evs[2] = [3]string{"load", "shipment.loaded", `{"lines":[{"line_id":"1","quantity":` + one + `},{"line_id":"2","quantity":` + three + `,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]}`}
		evs = append(evs, [3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + one + `},{"line_id":"2","quantity":` + three + `}]}}`})
		w.sendAll(t, "tms:PART-1", evs)
		id := w.shipmentID(t, "tms:PART-1")
		inv := w.invoiced(t, id)
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 1 || got["LOT-RESIN"] != 3 {
			t.Errorf("invoiced %v, want the 1 E-COM07 and 3 LOT-RESIN loaded", got)
		}
		p, err := w.client.Picking(t.Context(), w.order.PickingIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Backorders) != 1 {
			t.Fatalf("backorders %v, want one for the E-COM07 left behind", p.Backorders)
		}
		bo, err := w.client.Picking(t.Context(), p.Backorders[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(bo.Moves) != 1 || bo.Moves[0].Demand != 1 || bo.State == odoo.PickingDone {
			t.Errorf("backorder %s: %+v", bo.Name, bo.Moves)
		}
	})
	t.Run("damage approved after invoicing is credited", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, func(c *config.Config) { c.Connectors.Odoo.InvoiceState = config.OdooInvoicePosted })
		evs := append(begin(w),
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}}`})
		w.sendAll(t, "tms:LATE-DMG", evs)
		id := w.shipmentID(t, "tms:LATE-DMG")
		poll.Until(t, "the shipment invoiced", func() bool { return getShipment(t, w.bundle, "tms:LATE-DMG")["state"] == "invoiced" })
		w.sendAll(t, "tms:LATE-DMG", [][3]string{{"damage", "shipment.exception",
			`{"category":"damaged","exception_id":"CLAIM-9","description":"concealed damage found by the customer","lines":[{"line_id":"1","quantity":` + one + `}]}`}})
		w.decide(t, id, "exception", "approve")
		var credit odoo.Invoice
		poll.Until(t, "the posted credit note", func() bool {
			// It is created, given its reference, then posted: wait for
			// the last step.
			var err error
			credit, err = w.client.FindInvoice(t.Context(), "WB-"+id+"/CLAIM-9")
			return err == nil && credit.State == "posted"
		})
		if credit.MoveType != "out_refund" {
			t.Errorf("credit %+v: want an out_refund", credit)
		}
		if got := w.invoicedQuantities(t, credit); got["E-COM07"] != 1 || got["LOT-RESIN"] != 0 {
			t.Errorf("credited %v, want the one damaged E-COM07", got)
		}
		if sh := getShipment(t, w.bundle, "tms:LATE-DMG"); sh["state"] != "invoiced" {
			t.Errorf("state after the credit: %v", sh["state"])
		}
	})
	t.Run("a proof of delivery that fails waits for review", func(t *testing.T) {
		t.Parallel()
		w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 19, nil)
		evs := append(begin(w),
			[3]string{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T07:00:00Z","lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}}`})
		w.sendAll(t, "tms:POD-1", evs)
		id := w.shipmentID(t, "tms:POD-1")
		var sh map[string]any
		poll.Until(t, "the failed proof", func() bool {
			sh = getShipment(t, w.bundle, "tms:POD-1")
			return sh["state"] == "delivered"
		})
		if sh["billable"] == true || !strings.Contains(fmt.Sprint(sh["blocked_reason"]), "before departure") {
			t.Fatalf("shipment %v %v: want not billable because signed before departure", sh["billable"], sh["blocked_reason"])
		}
		if _, err := w.client.FindInvoice(t.Context(), "WB-"+id); err == nil {
			t.Fatal("invoiced before the review")
		}
		w.decide(t, id, "pod", "approve")
		inv := w.invoiced(t, id)
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 2 || got["LOT-RESIN"] != 3 {
			t.Errorf("invoiced %v", got)
		}
	})
}

// TestOdooPODSilenceHoldsInvoices lets the POD feed go quiet while a truck
// is out: the invoice of the shipment it then delivers holds, with the
// reason on the shipment, and goes out by itself once the feed recovers.
func TestOdooPODSilenceHoldsInvoices(t *testing.T) {
	t.Parallel()
	w := setupOdoo(t, sqldb.Options{DataDir: t.TempDir()}, 18, func(c *config.Config) {
		c.Billing.PODSources = []string{"tms-test"}
		c.Billing.PODMaxSilence = 2 * time.Second
		c.Billing.OperatingHours = config.OperatingHours{From: 0, To: 24 * 60}
		c.Billing.PODRecoveryEvents = 2
	})
	two, three := `{"value":"2","unit":"C62"}`, `{"value":"3","unit":"C62"}`
	lines := `[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `,"lots":[{"lot":"` + w.lot + `","quantity":` + three + `}]}]`
	out := [][3]string{
		{"plan", "shipment.planned", `{"order":"odoo:` + w.order.Name + `","customer":{"name":"Deco Addict"},"origin":{"name":"WH"},"destination":{"name":"Deco Addict DC"},` +
			`"lines":[{"line_id":"1","sku":"E-COM07","quantity":` + two + `},{"line_id":"2","sku":"LOT-RESIN","quantity":` + three + `}]}`},
		{"reserve", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":` + two + `},{"line_id":"2","quantity":` + three + `}]}`},
		{"load", "shipment.loaded", `{"lines":` + lines + `}`},
		{"depart", "shipment.departed", `{}`},
	}
	w.sendAll(t, "tms:SIL-1", out)
	id := w.shipmentID(t, "tms:SIL-1")
	feedSilent := func() bool {
		_, raw, _ := w.do(t, http.MethodGet, "/v1/feeds", "", nil)
		return strings.Contains(string(raw), `"silent":true`)
	}
	poll.Until(t, "the feed to go silent", feedSilent)

	pod := func(subject, lines string) {
		w.sendAll(t, subject, [][3]string{{"deliver", "shipment.delivered", `{"pod":{"signer":"J. Jansen","signed_at":"2026-11-26T14:00:00Z","lines":` + lines + `}}`}})
	}
	pod("tms:SIL-1", `[{"line_id":"1","quantity":`+two+`},{"line_id":"2","quantity":`+three+`}]`)
	var sh map[string]any
	poll.Until(t, "the held shipment", func() bool {
		sh = getShipment(t, w.bundle, "tms:SIL-1")
		return sh["billable"] == true && sh["billing_hold"] != nil
	})
	if !strings.Contains(fmt.Sprint(sh["billing_hold"]), "tms-test silent since") {
		t.Errorf("billing hold %q", sh["billing_hold"])
	}
	poll.Until(t, "a held invoice job", func() bool {
		_, raw, _ := w.do(t, http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(raw), `waybill_jobs_held_total{kind="invoice.prepare"}`)
	})
	if _, err := w.client.FindInvoice(t.Context(), "WB-"+id); err == nil {
		t.Fatal("invoiced while the feed is silent")
	}
	// One proof is not a recovery; the second one is. It may be for a
	// shipment Waybill does not know: the feed is alive either way.
	pod("tms:UNKNOWN-2", `[{"line_id":"1","quantity":`+two+`}]`)
	w.invoiced(t, id)
	if feedSilent() {
		t.Error("feed still silent after the invoice went out")
	}
	if sh := getShipment(t, w.bundle, "tms:SIL-1"); sh["billing_hold"] != nil {
		t.Errorf("billing hold after recovery: %v", sh["billing_hold"])
	}
	// The silence is over: the days it touched are reconciled by
	// themselves. The held invoice and a healing one may both run; the
	// invoice is still made once.
	var entry *audit.Entry
	poll.Until(t, "the reconciliation after the silence", func() bool {
		var err error
		entry, err = w.hub.Audit.Last(t.Context(), audit.ActionReconciliationRecovered)
		return err == nil && entry != nil
	})
	var rec reconcile.Recovery
	if err := json.Unmarshal(entry.Details, &rec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Cause, "proof-of-delivery feed tms-test silent for ") || len(rec.Days) == 0 {
		t.Errorf("recovery after the silence: %+v", rec)
	}
	poll.Until(t, "the outbound jobs to settle", func() bool {
		jobs, err := w.hub.Queue.ShipmentJobs(t.Context(), id, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Kind == "invoice.prepare" && j.State != "completed" {
				return false
			}
		}
		return true
	})
	if invs, err := w.client.InvoicesWithLines(t.Context(), &odoo.InvoiceQuery{Refs: []string{"WB-" + id}}); err != nil || len(invs) != 1 {
		t.Errorf("invoices of %s: got %d (%v), want one", id, len(invs), err)
	}
}

// lateHandler serves with a handler set after it started listening: the
// TMS simulator needs the hub's URL and key, the hub the simulator's URL.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "starting", http.StatusServiceUnavailable)
}

// TestOdooToTMSToInvoice runs the whole workflow with nobody sending events
// by hand: the poller finds a confirmed order in Odoo, the reserved
// shipment is released to the TMS, the TMS reports loading and delivery
// with a proof, the picking is validated with the loaded quantities and the
// invoice is posted in Odoo with the delivered lines.
func TestOdooToTMSToInvoice(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		late := &lateHandler{}
		front := httptest.NewServer(late)
		t.Cleanup(front.Close)
		rules := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(rules, []byte(rulesYAML), 0o600); err != nil {
			t.Fatal(err)
		}
		w := setupOdoo(t, opts, 18, func(c *config.Config) {
			c.Billing.RulesFile = rules
			c.Connectors.Odoo.PollInterval = 50 * time.Millisecond
			c.Connectors.Odoo.InvoiceState = config.OdooInvoicePosted
			c.Connectors.TMS.URL = front.URL + tmssim.PathDispatches
		})
		sim, err := tmssim.New(tmssim.Options{Waybill: w.url, Key: w.key, SkipAssignedEvent: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		var h http.Handler = sim
		late.h.Store(&h)

		p, err := w.client.Picking(t.Context(), w.order.PickingIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		subject := "odoo:" + p.Name
		inv := w.invoicedOrder(t)
		if inv.State != "posted" || inv.Name == "" {
			t.Errorf("invoice %+v: want posted, with a number", inv)
		}
		if got := w.invoicedQuantities(t, inv); got["E-COM07"] != 2 || got["LOT-RESIN"] != 3 || got["FREIGHT"] != 2 {
			t.Errorf("invoiced %v, want 2 E-COM07, 3 LOT-RESIN and two freight lines (base and fuel)", got)
		}
		if want := 2*320.0 + 3*42.0 + 275 + 27.5; inv.AmountTotal < want {
			t.Errorf("invoice total %v, want at least %v before taxes", inv.AmountTotal, want)
		}
		p, err = w.client.Picking(t.Context(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != odoo.PickingDone {
			t.Errorf("picking %s is %s, want done", p.Name, p.State)
		}
		var sh map[string]any
		poll.Until(t, "the shipment invoiced", func() bool {
			sh = getShipment(t, w.bundle, subject)
			return sh["state"] == "invoiced"
		})
		if ref, _ := sh["invoice"].(map[string]any); ref == nil || ref["number"] != inv.Name || ref["external_id"] != fmt.Sprint(inv.ID) {
			t.Errorf("invoice reference %v, want %s (%d)", sh["invoice"], inv.Name, inv.ID)
		}
		if sh["vehicle"] == nil {
			t.Errorf("no vehicle from the TMS assignment on %s", subject)
		}
		var rated int
		for _, c := range sh["charges"].([]any) {
			c := c.(map[string]any)
			if c["source"] == "rated" {
				rated++
				if c["rules_version"] != "test-1" || c["rule_id"] == "" || c["calculation"] == "" {
					t.Errorf("rated charge without its evidence: %v", c)
				}
			}
		}
		if rated != 2 {
			t.Errorf("%d rated charges on %s, want base freight and fuel", rated, subject)
		}
		var types []string
		for _, e := range sh["timeline"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		for _, want := range []string{"shipment.planned", "inventory.reserved", "dispatch.assigned", "shipment.loaded", "shipment.departed", "shipment.delivered", "shipment.invoiced"} {
			if !slices.Contains(types, want) {
				t.Errorf("timeline %v lacks %s", types, want)
			}
		}
		if n := len(sim.Releases()); n == 0 {
			t.Error("the TMS got no release")
		}
		calls := w.srv.Sim().Calls()
		if calls["stock.picking.button_validate"] < 1 || calls["sale.advance.payment.inv.create_invoices"] < 1 {
			t.Errorf("calls %v", calls)
		}
	})
}

// rulesYAML rates every customer a flat freight and a fuel surcharge.
const rulesYAML = `version: "test-1"
currency: USD
rules:
  - id: base-freight
    kind: freight
    description: Freight
    default: true
    per: shipment
    rate: 275.00
  - id: fuel
    kind: fuel
    description: Fuel surcharge
    default: true
    percent: 10
`

// invoicedOrder waits for the invoice of the world's sale order.
func (w *odooWorld) invoicedOrder(t *testing.T) odoo.Invoice {
	t.Helper()
	var inv odoo.Invoice
	poll.Until(t, "the invoice of "+w.order.Name, func() bool {
		var err error
		inv, err = w.client.FindInvoice(t.Context(), w.order.Name)
		return err == nil && inv.State == "posted"
	})
	return inv
}

// TestRouteChangeUpdatesTheTMS changes the route of a released shipment:
// the TMS gets the dispatch again, marked as an update with the reason.
func TestRouteChangeUpdatesTheTMS(t *testing.T) {
	t.Parallel()
	late := &lateHandler{}
	front := httptest.NewServer(late)
	t.Cleanup(front.Close)
	b := setup(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) {
		c.Connectors.TMS.URL = front.URL + tmssim.PathDispatches
	})
	// An hour between lifecycle events: the TMS takes the release and
	// then stays quiet while the route changes.
	sim, err := tmssim.New(tmssim.Options{Waybill: b.url, Key: b.key, Step: time.Hour, SkipAssignedEvent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	var h http.Handler = sim
	late.h.Store(&h)
	send := func(id, typ, data string) {
		t.Helper()
		if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ce(id, typ, "tms:ROUTE-1", "2026-11-26T08:00:00Z", data)); status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", typ, status, body)
		}
	}
	send("r1", "shipment.planned", plannedData)
	send("r2", "inventory.reserved", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`)
	poll.Until(t, "the release at the TMS", func() bool { return len(sim.Releases()) == 1 })
	send("r3", "shipment.exception", `{"category":"route_changed","exception_id":"RC-1","description":"deliver to the Venlo cross-dock instead"}`)
	poll.Until(t, "the dispatch update", func() bool { return len(sim.Updates()) == 1 })
	u := sim.Updates()[0]
	if !u.Update || !strings.Contains(u.UpdateReason, "Venlo cross-dock") || u.ShipmentID != sim.Releases()[0].Dispatch.ShipmentID {
		t.Errorf("update %+v", u)
	}
}
