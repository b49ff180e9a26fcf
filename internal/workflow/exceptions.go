package workflow

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/waybill/waybill/internal/shipment"
)

// OpenException is an open exception with the shipment it holds.
type OpenException struct {
	shipment.ExceptionRecord
	ShipmentID string
	// ResumeState is the state the exception interrupted.
	ResumeState shipment.State
	// Customer is the shipment's customer name, when it has one.
	Customer string
	// BlockedReason is why the shipment cannot go on (to billing).
	BlockedReason string
}

// ExceptionFilter narrows OpenExceptions; empty fields take all.
type ExceptionFilter struct {
	OwnerRole string
	Category  shipment.ExceptionCategory
}

// OpenExceptions returns the open exceptions of the shipments held in the
// exception state, oldest first. An open exception always puts its
// shipment in shipment.Exception until the last one closes, so only those
// shipments are read, on the (state, updated_at, …) index, however many
// shipments there are; exception records a cancelled or returned shipment
// left open hold nothing and are not listed (as the KPIs count them).
func (s *Store) OpenExceptions(ctx context.Context, f ExceptionFilter) ([]OpenException, error) {
	rows, err := s.db.Reader.QueryContext(ctx, s.db.Dialect.Rebind(`SELECT id, doc FROM shipments WHERE state = ? ORDER BY updated_at, id`),
		string(shipment.Exception))
	if err != nil {
		return nil, fmt.Errorf("reading shipments under an exception: %w", err)
	}
	defer rows.Close()
	var out []OpenException
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("reading shipments under an exception: %w", err)
		}
		var d struct {
			ResumeState   shipment.State             `json:"resume_state"`
			BlockedReason string                     `json:"blocked_reason"`
			Customer      *shipment.Party            `json:"customer"`
			Exceptions    []shipment.ExceptionRecord `json:"exceptions"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoding shipment %s: %w", id, err)
		}
		for _, e := range d.Exceptions {
			if e.Status != shipment.ExceptionOpen || (f.OwnerRole != "" && e.OwnerRole != f.OwnerRole) ||
				(f.Category != "" && e.Category != f.Category) {
				continue
			}
			oe := OpenException{ExceptionRecord: e, ShipmentID: id, ResumeState: d.ResumeState, BlockedReason: d.BlockedReason}
			if d.Customer != nil {
				oe.Customer = d.Customer.Name
			}
			out = append(out, oe)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading shipments under an exception: %w", err)
	}
	slices.SortFunc(out, func(a, b OpenException) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ShipmentID, b.ShipmentID), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
