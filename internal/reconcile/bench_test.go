package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/money"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/quantity"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// benchShipments is the size of the benchmark's day.
const benchShipments = 10_000

// BenchmarkReconcileDay reconciles a day of 10,000 delivered and invoiced
// shipments against the simulated Odoo over loopback: each shipment
// loaded and validated (a done picking with its move and move line),
// delivered with a proof of delivery, rated one charge and invoiced (a
// draft with a goods line and the charge's service line). Nothing differs.
// The day is seeded straight into the shipments table and the simulator,
// outside the timing. It reports the Odoo calls of a run, and per
// shipment. Run:
//
//	go test ./internal/reconcile -run '^$' -bench ReconcileDay -benchtime 5x
//
// PostgreSQL runs too when WAYBILL_TEST_POSTGRES_URL is set.
func BenchmarkReconcileDay(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReconcileDay(b, sqldbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchReconcileDay(b, sqldbtest.Postgres(b)) })
}

func benchReconcileDay(b *testing.B, db *sqldb.DB) {
	ctx := b.Context()
	srv, err := odoosim.Start(odoosim.Options{Version: 18})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	sim := srv.Sim()
	cl, err := odoo.New(ctx, odoo.Config{URL: srv.URL(), Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(),
		Timeout: time.Minute, RateLimit: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	now := time.Now().UTC()
	seedDay(b, db, sim, now, benchShipments)
	rc, err := reconcile.New(reconcile.Options{DB: db, Shipments: workflow.NewStore(db), System: "odoo",
		Odoo: func(context.Context) (*odoo.Client, error) { return cl, nil }})
	if err != nil {
		b.Fatal(err)
	}
	date := now.Format("2006-01-02")
	var rec *reconcile.Record
	b.ResetTimer()
	for range b.N {
		if rec, err = rc.Run(ctx, reconcile.RunParams{Date: date}); err != nil {
			b.Fatalf("Run: %v", err)
		}
	}
	b.StopTimer()
	if rec.Shipments != benchShipments || len(rec.Differences) != 0 {
		b.Fatalf("run: got %d shipments and %d differences (first %+v), want %d and none", rec.Shipments, len(rec.Differences),
			rec.Differences[:min(1, len(rec.Differences))], benchShipments)
	}
	b.ReportMetric(float64(rec.OdooCalls), "odoo_calls/op")
	b.ReportMetric(float64(rec.OdooCalls)/float64(rec.Shipments), "odoo_calls/shipment")
}

// seedDay writes a day of n shipments into the shipments table and their
// pickings and invoices into the simulator, as the whole flow would leave
// them.
func seedDay(b testing.TB, db *sqldb.DB, sim *odoosim.Sim, now time.Time, n int) {
	b.Helper()
	demo := sim.Demo()
	goods, service := demo.Products["E-COM07"], demo.Services["DETENTION"]
	if goods == 0 || service == 0 {
		b.Fatalf("demo products: E-COM07 %d, DETENTION %d", goods, service)
	}
	two, err := quantity.Parse("2", "C62")
	if err != nil {
		b.Fatal(err)
	}
	odooTime := now.Add(-time.Hour).Format("2006-01-02 15:04:05")
	load := func(model string, vals []map[string]any) []int {
		ids, err := sim.Load(model, vals)
		if err != nil {
			b.Fatal(err)
		}
		return ids
	}
	pickVals := make([]map[string]any, n)
	for i := range n {
		pickVals[i] = map[string]any{"name": fmt.Sprintf("WH/OUT/B%05d", i), "state": "done", "picking_type_id": demo.OutPickingTypeID,
			"partner_id": demo.Customers[0], "location_id": demo.StockLocationID, "location_dest_id": demo.CustomerLocationID,
			"origin": fmt.Sprintf("B%05d", i), "date_done": odooTime, "scheduled_date": odooTime}
	}
	pickings := load("stock.picking", pickVals)
	moveVals := make([]map[string]any, n)
	for i, p := range pickings {
		moveVals[i] = map[string]any{"picking_id": p, "product_id": goods, "product_uom_qty": 2.0, "quantity": 2.0, "picked": true,
			"state": "done", "product_uom": 1, "location_id": demo.StockLocationID, "location_dest_id": demo.CustomerLocationID}
	}
	moves := load("stock.move", moveVals)
	lineVals := make([]map[string]any, n)
	for i, m := range moves {
		lineVals[i] = map[string]any{"move_id": m, "picking_id": pickings[i], "product_id": goods, "quantity": 2.0, "picked": true,
			"location_id": demo.StockLocationID, "location_dest_id": demo.CustomerLocationID}
	}
	load("stock.move.line", lineVals)

	ships := make([]*shipment.Shipment, n)
	invVals := make([]map[string]any, n)
	for i := range n {
		id := fmt.Sprintf("01000000-0000-7000-8000-%012d", i)
		validated := now.Add(-2 * time.Hour)
		ships[i] = &shipment.Shipment{ID: id, State: shipment.Invoiced, Order: fmt.Sprintf("odoo:B%05d", i),
			Customer: &shipment.Party{Name: "Deco Addict"}, Origin: &shipment.Location{Name: "WH"}, Destination: &shipment.Location{Name: "Deco Addict DC"},
			Lines:   []shipment.Line{{LineID: "1", SKU: "E-COM07", Quantity: two, Reserved: &two, Loaded: &two, Delivered: &two}},
			POD:     &shipment.ProofOfDelivery{Signer: "J. Jansen", SignedAt: validated, Lines: []shipment.LineQty{{LineID: "1", Quantity: two}}, EventID: id + "/pod"},
			Charges: []shipment.Charge{{Code: "DET", Type: "detention", Amount: money.Money{Minor: 7500, Currency: "USD"}, EventID: id + "/charge"}},
			Picking: &shipment.PickingRecord{RequestedAt: validated, ValidatedAt: &validated, System: "odoo", ExternalID: strconv.Itoa(pickings[i]),
				Name: fmt.Sprintf("WH/OUT/B%05d", i)},
			Billable: true, CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-time.Minute), Version: 6}
		invVals[i] = map[string]any{"move_type": "out_invoice", "state": "draft", "ref": reconcile.InvoiceRef(id), "partner_id": demo.Customers[0],
			"invoice_origin": fmt.Sprintf("B%05d", i), "journal_id": 1, "currency_id": 1, "company_id": 1, "date": now.Format("2006-01-02")}
	}
	invoices := load("account.move", invVals)
	amlVals := make([]map[string]any, 0, 2*n)
	for i, inv := range invoices {
		amlVals = append(amlVals,
			map[string]any{"move_id": inv, "product_id": goods, "name": "[E-COM07] Large Cabinet", "quantity": 2.0, "price_unit": 320.0, "display_type": "product"},
			map[string]any{"move_id": inv, "product_id": service, "name": fmt.Sprintf("Detention [%s/0]", ships[i].Charges[0].EventID),
				"quantity": 1.0, "price_unit": 75.0, "display_type": "product"})
	}
	load("account.move.line", amlVals)
	for i, inv := range invoices {
		ships[i].Invoice = &shipment.InvoiceRef{System: "odoo", ExternalID: strconv.Itoa(inv), At: now.Add(-time.Hour)}
	}

	const chunk = 500
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		args := make([]any, 0, (end-start)*7)
		for _, sh := range ships[start:end] {
			doc, err := json.Marshal(sh)
			if err != nil {
				b.Fatal(err)
			}
			args = append(args, sh.ID, string(sh.State), "", string(doc), sh.Version, sh.CreatedAt.UnixMicro(), sh.UpdatedAt.UnixMicro())
		}
		stmt := db.Dialect.Rebind(`INSERT INTO shipments (id, state, blocked_reason, doc, version, created_at, updated_at) VALUES ` + sqldb.Placeholders(end-start, 7))
		if _, err := db.ExecContext(b.Context(), stmt, args...); err != nil {
			b.Fatalf("seeding shipments: %v", err)
		}
	}
}
