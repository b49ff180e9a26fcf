package workflow_test

import (
	"encoding/json"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// TestFacetsMigration checks that migration 00015 fills the facets of
// shipments stored before it exactly as the workflow writes them, so a
// filter finds old and new shipments alike.
func TestFacetsMigration(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		db, err := sqldb.Open(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dialect := goose.DialectSQLite3
		if db.Dialect.Engine == sqldb.Postgres {
			dialect = goose.DialectPostgres
		}
		p, err := goose.NewProvider(dialect, db.DB, sqldb.MigrationFS(db.Dialect.Engine), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(t.Context(), 14); err != nil {
			t.Fatal(err)
		}
		ships := []*shipment.Shipment{
			{ID: "s1", State: shipment.Planned, Customer: &shipment.Party{Name: "Acme Retail", Ref: "odoo:res.partner/7"},
				Carrier: &shipment.Carrier{Name: "Kestrel Line", SCAC: "XKTL", Ref: "tms:carrier/3"},
				Origin:  &shipment.Location{Name: "WH Rotterdam", Ref: "odoo:stock.warehouse/1"}},
			{ID: "s2", State: shipment.Planned, Customer: &shipment.Party{Name: "Zoë & Søn \"Ltd\""}, Origin: &shipment.Location{Ref: "wh-2"}},
			{ID: "s3", State: shipment.Planned},
			{ID: "s4", State: shipment.Planned, Carrier: &shipment.Carrier{SCAC: "ABCD"}, Customer: &shipment.Party{}},
		}
		for _, sh := range ships {
			doc, err := json.Marshal(sh)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(t.Context(), db.Dialect.Rebind(
				`INSERT INTO shipments (id, state, doc, version, created_at, updated_at) VALUES (?, ?, ?, 1, 0, 0)`), sh.ID, string(sh.State), string(doc)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.Up(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, sh := range ships {
			var got string
			if err := db.QueryRowContext(t.Context(), db.Dialect.Rebind(`SELECT facets FROM shipments WHERE id = ?`), sh.ID).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := workflow.Facets(sh); got != want {
				t.Errorf("shipment %s: migration wrote facets %q, the workflow writes %q", sh.ID, got, want)
			}
		}
	})
}
