package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
)

// JobInserter enqueues outbound actions inside the processor's
// transaction, so a state change and the work it causes commit together.
type JobInserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, actions []connector.Action) error
}

// enqueue writes actions in tx, the transaction that saves the change
// that caused them.
func (p *Processor) enqueue(ctx context.Context, tx *sql.Tx, actions []connector.Action) error {
	if len(actions) == 0 {
		return nil
	}
	if p.jobs == nil {
		p.logger.DebugContext(ctx, "no connector configured: outbound actions not enqueued", slog.Int("actions", len(actions)))
		return nil
	}
	if err := p.jobs.InsertTx(ctx, tx, actions); err != nil {
		return fmt.Errorf("enqueuing outbound jobs: %w", err)
	}
	return nil
}

// outbox turns what a change of sh calls for into outbound actions: the
// kinds Apply returned, and a milestone sync when ev is a milestone the
// systems tracking the shipment want to hear of. Each action carries the
// shipment as the change left it, and an idempotency key made of the event
// and the kind, so the same event never causes the same action twice.
func (p *Processor) outbox(sh *shipment.Shipment, ev intake.Pending, kinds []string) []connector.Action {
	if syncedMilestones[ev.Type] {
		kinds = append(slices.Clone(kinds), shipment.ActionMilestoneSync)
	}
	if len(kinds) == 0 {
		return nil
	}
	snapshot, err := json.Marshal(sh)
	if err != nil {
		panic(fmt.Sprintf("encoding shipment %s: %v", sh.ID, err))
	}
	actions := make([]connector.Action, 0, len(kinds))
	for _, kind := range kinds {
		a := connector.Action{
			Kind:           kind,
			ShipmentID:     sh.ID,
			EventID:        ev.ID,
			CorrelationID:  ev.CorrelationID,
			IdempotencyKey: ev.ID + "/" + kind,
			Payload:        snapshot,
		}
		if kind == shipment.ActionMilestoneSync {
			if d := p.opts.MilestoneIntervals[ev.Type]; d > 0 {
				a.NotBefore = p.opts.Now().Truncate(d).Add(d)
			}
		}
		actions = append(actions, a)
	}
	return actions
}

// syncedMilestones are the event types whose news goes back to the
// systems that track the shipment (Odoo's chatter).
var syncedMilestones = map[event.Type]bool{
	event.ShipmentDeparted: true, event.ShipmentDelayed: true, event.ShipmentArrived: true,
	event.ShipmentDelivered: true, event.ShipmentException: true, event.ShipmentReturned: true,
}

// coalesceMilestones keeps one milestone.sync action per shipment in a
// batch: the last, whose snapshot holds every milestone before it, at the
// earliest time any of them was due.
func coalesceMilestones(actions []connector.Action) []connector.Action {
	last := map[string]int{}
	due := map[string]time.Time{}
	for i, a := range actions {
		if a.Kind != shipment.ActionMilestoneSync {
			continue
		}
		last[a.ShipmentID] = i
		if d, ok := due[a.ShipmentID]; !ok || a.NotBefore.Before(d) {
			due[a.ShipmentID] = a.NotBefore
		}
	}
	out := actions[:0]
	for i, a := range actions {
		if a.Kind == shipment.ActionMilestoneSync {
			if last[a.ShipmentID] != i {
				continue
			}
			a.NotBefore = due[a.ShipmentID]
		}
		out = append(out, a)
	}
	return out
}
