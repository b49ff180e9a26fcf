package server

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// Freight is the freight audit the API serves (freight.Auditor).
type Freight interface {
	List(ctx context.Context, p freight.ListParams) ([]*freight.Audit, string, error)
	Get(ctx context.Context, id string) (*freight.Audit, error)
	Decide(ctx context.Context, p freight.DecideParams) (*freight.Audit, bool, error)
	Margin(ctx context.Context, sh *shipment.Shipment) (freight.Margin, error)
}

type freightAuditOutput struct {
	Body *freight.Audit
}

type freightAuditListOutput struct {
	Body struct {
		Audits     []*freight.Audit `json:"audits"`
		NextCursor string           `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerFreightRoutes() {
	if s.deps.Freight == nil {
		return
	}
	huma.Register(s.api, opAnyOf("list-freight-audits", http.MethodGet, "/v1/freight-audits",
		"List the audits of carriers' freight invoices, newest first, optionally by state or shipment, with cursor pagination", financeScopes, "freight"),
		func(ctx context.Context, in *struct {
			State      string `query:"state" enum:"approved,review,disputed" doc:"Only audits in this state"`
			ShipmentID string `query:"shipment_id" maxLength:"200" doc:"Only the audits of this shipment (its canonical id)"`
			Limit      int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor     string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*freightAuditListOutput, error) {
			list, next, err := s.deps.Freight.List(ctx, freight.ListParams{State: in.State, ShipmentID: in.ShipmentID, Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, freight.ErrInvalid) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &freightAuditListOutput{}
			out.Body.Audits, out.Body.NextCursor = list, next
			if list == nil {
				out.Body.Audits = []*freight.Audit{}
			}
			return out, nil
		})

	huma.Register(s.api, opAnyOf("get-freight-audit", http.MethodGet, "/v1/freight-audits/{id}",
		"Get the audit of a carrier's freight invoice: what the carrier billed and what the cost rules expected, per charge type, side by side", financeScopes, "freight"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*freightAuditOutput, error) {
			au, err := s.deps.Freight.Get(ctx, in.ID)
			if err != nil {
				return nil, freightError(err, in.ID)
			}
			return &freightAuditOutput{Body: au}, nil
		})

	decide := opAnyOf("decide-freight-audit", http.MethodPost, "/v1/freight-audits/{id}/decision",
		"Approve or dispute a carrier's freight invoice in review: approving bills it in Odoo as one vendor bill, disputing bills nothing", financeScopes, "freight")
	decide.Description = "Only an audit in review can be decided; deciding it again the same way answers the audit as it stands. A dispute needs a reason. See docs/freight-audit.md."
	decide.Errors = append(decide.Errors, http.StatusConflict)
	huma.Register(s.api, decide, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body struct {
			Decision string `json:"decision" enum:"approve,dispute"`
			Reason   string `json:"reason,omitempty" maxLength:"2000" pattern:"^[^\\x00]*$" patternDescription:"text without NUL characters" doc:"Why; required to dispute"`
		}
	}) (*freightAuditOutput, error) {
		au, repeat, err := s.deps.Freight.Decide(ctx, freight.DecideParams{ID: in.ID, Decision: in.Body.Decision, Actor: requestActor(ctx),
			Reason: in.Body.Reason, CorrelationID: correlation.From(ctx)})
		if errors.Is(err, freight.ErrInvalid) {
			return nil, badRequest(err.Error(), "body.reason")
		}
		if err != nil {
			return nil, freightError(err, in.ID)
		}
		if !repeat {
			action := audit.ActionFreightAuditApproved
			if in.Body.Decision == freight.Dispute {
				action = audit.ActionFreightAuditDisputed
			}
			if err := s.record(ctx, action, au.ID, map[string]any{"shipment_id": au.ShipmentID, "carrier": au.CarrierKey,
				"invoice_number": au.InvoiceNumber, "reason": in.Body.Reason}); err != nil {
				return nil, err
			}
		}
		return &freightAuditOutput{Body: au}, nil
	})
}

// freightError maps the auditor's errors to problems.
func freightError(err error, id string) error {
	switch {
	case errors.Is(err, freight.ErrNotFound):
		return notFound("no freight audit " + id)
	case errors.Is(err, freight.ErrDecided):
		return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: err.Error()}).Fill()
	case errors.Is(err, freight.ErrInvalid):
		return badRequest(err.Error(), "")
	}
	return err
}

// addMargins adds the margins of the day's delivered shipments to rep,
// when the freight audit is on.
func (s *Server) addMargins(ctx context.Context, rec *reconcile.Record, rep *reconcile.Report) error {
	if s.deps.Freight == nil || len(rec.InvoiceRefs) == 0 {
		return nil
	}
	ms := make([]reconcile.ShipmentMargin, 0, len(rec.InvoiceRefs))
	for _, ref := range rec.InvoiceRefs {
		sh, err := s.deps.Shipments.Get(ctx, strings.TrimPrefix(ref, "WB-"))
		if errors.Is(err, workflow.ErrNotFound) || errors.Is(err, shipment.ErrBadRef) {
			continue // archived or renamed since
		}
		if err != nil {
			return err
		}
		m, err := s.deps.Freight.Margin(ctx, sh)
		if err != nil {
			return err
		}
		customer := ""
		if c := sh.Customer; c != nil {
			customer = cmp.Or(c.Ref, c.Name)
		}
		ms = append(ms, reconcile.ShipmentMargin{ShipmentID: sh.ID, Customer: customer, Currency: m.Currency, Revenue: m.Revenue,
			FreightCost: m.FreightCost, Margin: m.Margin})
	}
	rep.AddMargins(ms)
	return nil
}
