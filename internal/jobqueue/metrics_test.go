package jobqueue

import (
	"database/sql"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestJobsGaugeLabels checks waybill_jobs, the depth of the queue: jobs
// are counted by action kind in the form the workflow names it
// (picking.validate, never River's picking_validate), state and lane, and
// a River kind this queue does not know counts as other.
func TestJobsGaugeLabels(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rec := &recorder{keys: map[string]int{}}
		reg := connector.NewRegistry()
		for _, kind := range []string{shipment.ActionPickingValidate, shipment.ActionInvoicePrepare} {
			if err := reg.Register(kind, rec); err != nil {
				t.Fatal(err)
			}
		}
		metrics := prometheus.NewRegistry()
		q, err := New(db, reg, Options{Workers: 1, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Registerer: metrics})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		var actions []connector.Action
		for i, kind := range []string{shipment.ActionPickingValidate, shipment.ActionPickingValidate, shipment.ActionInvoicePrepare} {
			key := kind + "/" + string(rune('a'+i))
			actions = append(actions, connector.Action{Kind: kind, ShipmentID: "shp_1", EventID: "evt_" + key, IdempotencyKey: key, Payload: json.RawMessage(`{}`)})
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.InsertTx(ctx, tx, actions) }); err != nil {
			t.Fatal(err)
		}
		// A job of a kind no version of Waybill enqueues, as another
		// program sharing River's tables would leave it.
		exec := db.RiverDriver().GetExecutor()
		if _, err := exec.JobInsertFastMany(ctx, &riverdriver.JobInsertFastManyParams{Jobs: []*riverdriver.JobInsertFastParams{{
			EncodedArgs: []byte(`{}`), Kind: "legacy_export", MaxAttempts: 1, Priority: 1, Metadata: []byte(`{}`), Queue: "default",
			State: rivertype.JobStateAvailable, ScheduledAt: ptr(time.Now().UTC()), CreatedAt: ptr(time.Now().UTC()), Tags: []string{},
		}}}); err != nil {
			t.Fatalf("inserting a foreign job: %v", err)
		}
		got := gauges(t, metrics, "waybill_jobs")
		want := map[string]float64{
			"picking.validate available critical": 2,
			"invoice.prepare available critical":  1,
			"other available default":             1,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("waybill_jobs (-want +got):\n%s", diff)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// gauges returns the series of the gauge name in reg, keyed by their kind,
// state and lane labels.
func gauges(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["kind"]+" "+labels["state"]+" "+labels["lane"]] = m.GetGauge().GetValue()
		}
	}
	return out
}
