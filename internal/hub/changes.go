package hub

import (
	"context"
	"log/slog"
	"os"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/workflow"
)

// OpenChanges returns the change store of db, which records in trail.
func OpenChanges(cfg config.Config, db *sqldb.DB, trail *audit.Store) *changes.Store {
	return changes.NewStore(db, changes.Options{
		Audit:             trail,
		AllowSelfApproval: cfg.Changes.AllowSelfApproval,
		Sample:            changes.BilledSample(workflow.NewStore(db)),
		WhatIfShipments:   cfg.Changes.WhatIfShipments,
		Environ:           os.Environ(),
	})
}

// ChangePaths are the configured files under change control.
func ChangePaths(cfg config.Config) changes.Paths {
	return changes.Paths{RulesFile: cfg.Billing.RulesFile, SourcesFile: cfg.Intake.SourcesFile}
}

// loadApproved reads the rules, source profiles and mappings, records what
// changed as pending changes proposed by system, and returns the approved
// versions, which the hub runs with.
func (h *Hub) loadApproved(ctx context.Context) (*changes.Effective, error) {
	h.Changes = OpenChanges(h.cfg, h.DB, h.Audit)
	eff, err := h.Changes.Load(ctx, ChangePaths(h.cfg), "system")
	if err != nil {
		return nil, err
	}
	for _, c := range eff.Pending {
		h.logger.WarnContext(ctx, "a changed file waits for approval: the approved version stays in force (waybill changes show)",
			slog.String("change_id", c.ID), slog.String("name", c.Name), slog.String("proposer", c.Proposer))
	}
	return eff, nil
}
