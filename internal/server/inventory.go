package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
)

type inventoryCheckOutput struct {
	Body *reconcile.InventoryCheck
}

type inventoryCheckListOutput struct {
	Body struct {
		InventoryChecks []*reconcile.InventoryCheck `json:"inventory_checks"`
		NextCursor      string                      `json:"next_cursor,omitempty"`
	}
}

// operationsScopes may run, read and decide inventory checks: the
// warehouse people who decide reviews.
var operationsScopes = []apikey.Scope{apikey.ReviewWrite, apikey.Admin}

func (s *Server) registerInventoryRoutes() {
	if s.deps.Reconciler == nil {
		return
	}
	run := opAnyOf("run-inventory-check", http.MethodPost, "/v1/inventory-checks",
		"Check the inventory with Odoo now: open pickings, reservations, done moves, returns and scraps against the shipments; missing take-backs healed, the others opened for operations",
		operationsScopes, "inventory")
	run.Description = "Every run is kept; the newest feeds waybill_kpi_inventory_mismatches. See docs/reconciliation.md#inventory-reconciliation."
	run.Errors = append(run.Errors, http.StatusConflict, http.StatusBadGateway)
	huma.Register(s.api, run, func(ctx context.Context, in *struct {
		Body *struct {
			Warehouse string `json:"warehouse,omitempty" maxLength:"100" pattern:"^[^\\x00\\n]*$" patternDescription:"one line of text" doc:"Only the shipments and pickings leaving this location (WH takes WH/Stock)"`
		}
	}) (*inventoryCheckOutput, error) {
		p := reconcile.InventoryParams{CorrelationID: correlation.From(ctx)}
		if in.Body != nil {
			p.Warehouse = in.Body.Warehouse
		}
		chk, err := s.deps.Reconciler.RunInventory(ctx, p)
		if err != nil {
			return nil, inventoryError(err, "")
		}
		return &inventoryCheckOutput{Body: chk}, nil
	})

	huma.Register(s.api, opAnyOf("list-inventory-checks", http.MethodGet, "/v1/inventory-checks",
		"List inventory checks, newest first, with cursor pagination", operationsScopes, "inventory"),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*inventoryCheckListOutput, error) {
			list, next, err := s.deps.Reconciler.InventoryChecks(ctx, reconcile.ListParams{Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, reconcile.ErrInvalid) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &inventoryCheckListOutput{}
			out.Body.InventoryChecks, out.Body.NextCursor = list, next
			if list == nil {
				out.Body.InventoryChecks = []*reconcile.InventoryCheck{}
			}
			return out, nil
		})

	huma.Register(s.api, opAnyOf("get-inventory-check", http.MethodGet, "/v1/inventory-checks/{id}",
		"Get an inventory check: its differences with evidence, healing and reviews", operationsScopes, "inventory"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*inventoryCheckOutput, error) {
			chk, err := s.deps.Reconciler.InventoryCheck(ctx, in.ID)
			if err != nil {
				return nil, inventoryError(err, in.ID)
			}
			return &inventoryCheckOutput{Body: chk}, nil
		})

	decide := opAnyOf("decide-inventory-check", http.MethodPost, "/v1/inventory-checks/{id}/decision",
		"Approve (the differences are dealt with) or reject (they are none) an inventory check for operations: its open reviews close", operationsScopes, "inventory")
	decide.Errors = append(decide.Errors, http.StatusConflict)
	huma.Register(s.api, decide, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body struct {
			Decision string `json:"decision" enum:"approve,reject"`
			Reason   string `json:"reason,omitempty" maxLength:"2000" pattern:"^[^\\x00]*$" patternDescription:"text without NUL characters" doc:"Why, for the record"`
		}
	}) (*inventoryCheckOutput, error) {
		chk, repeat, err := s.deps.Reconciler.DecideInventory(ctx, reconcile.DecideParams{ID: in.ID, Decision: in.Body.Decision, Actor: requestActor(ctx), Reason: in.Body.Reason})
		if err != nil {
			return nil, inventoryError(err, in.ID)
		}
		if !repeat {
			action := audit.ActionInventoryCheckApproved
			if in.Body.Decision == reconcile.Reject {
				action = audit.ActionInventoryCheckRejected
			}
			if err := s.record(ctx, action, chk.ID, map[string]any{"warehouse": chk.Warehouse, "reason": in.Body.Reason,
				"differences": len(chk.Differences), "counts": chk.Counts}); err != nil {
				return nil, err
			}
		}
		return &inventoryCheckOutput{Body: chk}, nil
	})
}

// inventoryError maps the inventory check's errors to problems.
func inventoryError(err error, id string) error {
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		return notFound("no inventory check " + id)
	case errors.Is(err, reconcile.ErrNoOdoo):
		return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict,
			Detail: "no Odoo connector is configured (connectors.odoo): there is no inventory to check"}).Fill()
	case odooDown(err):
		return (&problem.Details{Status: http.StatusBadGateway, Code: problem.CodeUpstreamUnavailable,
			Detail: "Odoo could not be read, so the inventory was not checked: " + err.Error() + ". Run it again once Odoo answers."}).Fill()
	}
	return reconcileError(err, id)
}
