package jobqueue

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/connectortest"
	"github.com/waybill/waybill/internal/connector/webhook/webhooktest"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestShipmentJobs lists a shipment's jobs, and only its own, with their
// attempts and the error of the last failed attempt, on both engines.
func TestShipmentJobs(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		rcv := webhooktest.New(t)
		rcv.SetAnswer(connectortest.AnswerThrottle)
		q := startQueue(t, db, rcv.URL())
		action := func(ship, key string) connector.Action {
			return connector.Action{Kind: shipment.ActionDispatchRelease, ShipmentID: ship, EventID: "evt-" + key,
				CorrelationID: "corr-" + key, IdempotencyKey: key, Payload: json.RawMessage(`{}`)}
		}
		if err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			return q.InsertTx(t.Context(), tx, []connector.Action{action("shp_a", "a1"), action("shp_b", "b1"), action("shp_a", "a2")})
		}); err != nil {
			t.Fatalf("inserting jobs: %v", err)
		}
		var jobs []Job
		poll.Until(t, "both jobs of shp_a to fail once", func() bool {
			var err error
			if jobs, err = q.ShipmentJobs(t.Context(), "shp_a", 50); err != nil {
				t.Fatalf("listing jobs: %v", err)
			}
			return len(jobs) == 2 && jobs[0].LastError != "" && jobs[1].LastError != ""
		})
		if jobs[0].ID <= jobs[1].ID {
			t.Errorf("job ids %d, %d: want the newest first", jobs[0].ID, jobs[1].ID)
		}
		for _, j := range jobs {
			if j.Kind != shipment.ActionDispatchRelease || j.Attempt < 1 || j.MaxAttempts != 5 || j.AttemptedAt.IsZero() || j.CreatedAt.IsZero() {
				t.Errorf("job %+v: want a dispatch.release attempted at least once of 5", j)
			}
			if !strings.Contains(j.LastError, "429") {
				t.Errorf("job %d last error %q: want the receiver's 429", j.ID, j.LastError)
			}
		}
		if other, err := q.ShipmentJobs(t.Context(), "shp_b", 50); err != nil || len(other) != 1 {
			t.Errorf("jobs of shp_b: got %d (%v), want 1", len(other), err)
		}
		recent, err := q.RecentJobs(t.Context(), []string{shipment.ActionDispatchRelease, shipment.ActionInvoicePrepare}, 2)
		if err != nil || len(recent) != 2 || recent[0].ID <= recent[1].ID {
			t.Errorf("the 2 most recent jobs: got %+v (%v), want 2, newest first", recent, err)
		}
		if none, err := q.RecentJobs(t.Context(), []string{shipment.ActionInvoicePrepare}, 5); err != nil || len(none) != 0 {
			t.Errorf("recent invoice.prepare jobs: got %d (%v), want none", len(none), err)
		}
		if none, err := q.ShipmentJobs(t.Context(), "shp_' OR 1=1 --", 50); err != nil || len(none) != 0 {
			t.Errorf("jobs of a hostile id: got %d (%v), want none", len(none), err)
		}
	})
}
