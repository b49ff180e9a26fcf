package workflow_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// gate is a JobInserter that holds the batch's transaction open until it
// is released.
type gate struct{ entered, release chan struct{} }

func (g *gate) InsertTx(context.Context, *sql.Tx, []connector.Action) error {
	close(g.entered)
	<-g.release
	return nil
}

// TestRunFinishesItsBatch stops the processor while a batch's transaction
// is open: the batch commits rather than rolling back, and Run returns.
func TestRunFinishesItsBatch(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{})
		g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
		proc := workflow.NewProcessor(db, b.events, b.store, g, &workflow.Options{
			Policy: shipment.Policy{AutoRelease: true}, Logger: testLogger(t), PollInterval: time.Hour})
		b.send(t,
			ev{id: "plan", typ: "shipment.planned", subject: "tms:STOP-1", data: planned("Acme", "")},
			ev{id: "reserve", typ: "inventory.reserved", subject: "tms:STOP-1", at: 1, data: reserveFull},
		)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- proc.Run(ctx) }()
		<-g.entered
		cancel()
		// Let the cancellation reach the open transaction, as it would
		// roll it back if the batch ran under the cancelled context.
		time.Sleep(100 * time.Millisecond)
		close(g.release)
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		b.wantStatus(t, intake.StateApplied, "", anyShipment, "plan", "reserve")
		b.wantShipment(t, "tms:STOP-1", shipment.Released, 1)
	})
}
