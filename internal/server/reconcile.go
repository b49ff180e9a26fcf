package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
)

type reconciliationOutput struct {
	Body *reconcile.Record
}

type reconciliationListOutput struct {
	Body struct {
		Reconciliations []*reconcile.Record `json:"reconciliations"`
		NextCursor      string              `json:"next_cursor,omitempty"`
	}
}

type reportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

// financeScopes may run and decide reconciliations.
var financeScopes = []apikey.Scope{apikey.FinanceApprove, apikey.Admin}

// csvType is the media type of the CSV report.
const csvType = "text/csv"

func (s *Server) registerReconcileRoutes() {
	if s.deps.Reconciler == nil {
		return
	}
	run := opAnyOf("run-reconciliation", http.MethodPost, "/v1/reconciliations",
		"Reconcile a business day with Odoo now: invoices, pickings and charges compared, safe differences healed, the others opened for finance", financeScopes, "reconciliations")
	run.Description = "Running a day again while its record is open replaces its findings (the id stays); a decided day is returned as it stands. See docs/reconciliation.md."
	run.Errors = append(run.Errors, http.StatusConflict, http.StatusBadGateway)
	huma.Register(s.api, run, func(ctx context.Context, in *struct {
		Body struct {
			Date      string `json:"date" example:"2026-12-03" doc:"The business day, YYYY-MM-DD"`
			Warehouse string `json:"warehouse,omitempty" maxLength:"100" pattern:"^[^\\x00\\n]*$" patternDescription:"one line of text" doc:"Only the shipments leaving this location (WH takes WH/Stock)"`
		}
	}) (*reconciliationOutput, error) {
		if _, _, err := reconcile.Day(in.Body.Date, time.UTC); err != nil {
			return nil, badRequest("date must be a day as YYYY-MM-DD, such as 2026-12-03", "body.date")
		}
		rec, err := s.deps.Reconciler.Run(ctx, reconcile.RunParams{Date: in.Body.Date, Warehouse: in.Body.Warehouse, CorrelationID: correlation.From(ctx)})
		if err != nil {
			return nil, reconcileError(err, "")
		}
		return &reconciliationOutput{Body: rec}, nil
	})

	huma.Register(s.api, opAnyOf("list-reconciliations", http.MethodGet, "/v1/reconciliations",
		"List reconciliations, newest first, with cursor pagination", financeScopes, "reconciliations"),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*reconciliationListOutput, error) {
			list, next, err := s.deps.Reconciler.List(ctx, reconcile.ListParams{Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, reconcile.ErrInvalid) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &reconciliationListOutput{}
			out.Body.Reconciliations, out.Body.NextCursor = list, next
			if list == nil {
				out.Body.Reconciliations = []*reconcile.Record{}
			}
			return out, nil
		})

	huma.Register(s.api, opAnyOf("get-reconciliation", http.MethodGet, "/v1/reconciliations/{id}",
		"Get a reconciliation: its differences with evidence, reviews and customer totals", financeScopes, "reconciliations"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*reconciliationOutput, error) {
			rec, err := s.deps.Reconciler.Get(ctx, in.ID)
			if err != nil {
				return nil, reconcileError(err, in.ID)
			}
			return &reconciliationOutput{Body: rec}, nil
		})

	report := opAnyOf("get-reconciliation-report", http.MethodGet, "/v1/reconciliations/{id}/report",
		"Get a reconciliation's report: one row per difference, then per-customer totals; JSON, or CSV with ?format=csv or Accept: text/csv", financeScopes, "reconciliations")
	report.Description = "CSV columns: " + strings.Join(reconcile.ReportColumns(), ", ") +
		". A difference row leaves the totals' columns empty; a customer's row has type " + reconcile.TotalRowType + "."
	reg := s.api.OpenAPI().Components.Schemas
	report.Responses = map[string]*huma.Response{"200": {Description: "The report.", Content: map[string]*huma.MediaType{
		"application/json": {Schema: reg.Schema(reflectType[reconcile.Report](), true, "ReconciliationReport")},
		csvType:            {Schema: &huma.Schema{Type: "string"}},
	}}}
	huma.Register(s.api, report, func(ctx context.Context, in *struct {
		ID     string `path:"id"`
		Format string `query:"format" enum:"json,csv" doc:"csv for a spreadsheet; defaults to the Accept header, else json"`
		Accept string `header:"Accept"`
	}) (*reportOutput, error) {
		rec, err := s.deps.Reconciler.Get(ctx, in.ID)
		if err != nil {
			return nil, reconcileError(err, in.ID)
		}
		rep := rec.Report()
		if err := s.addMargins(ctx, rec, rep); err != nil {
			return nil, err
		}
		name := "reconciliation-" + rec.Date
		if rec.Warehouse != "" {
			name += "-" + rec.Warehouse
		}
		if in.Format == "csv" || (in.Format == "" && acceptsCSV(in.Accept)) {
			var buf bytes.Buffer
			if err := rep.WriteCSV(&buf); err != nil {
				return nil, err
			}
			return &reportOutput{ContentType: csvType + "; charset=utf-8", Body: buf.Bytes(),
				ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": name + ".csv"})}, nil
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return nil, err
		}
		return &reportOutput{ContentType: "application/json", Body: b,
			ContentDisposition: mime.FormatMediaType("inline", map[string]string{"filename": name + ".json"})}, nil
	})

	decide := opAnyOf("decide-reconciliation", http.MethodPost, "/v1/reconciliations/{id}/decision",
		"Approve or reject a reconciliation for finance: its open reviews close; approving posts the day's draft invoices in Odoo once", financeScopes, "reconciliations")
	decide.Errors = append(decide.Errors, http.StatusConflict)
	huma.Register(s.api, decide, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body struct {
			Decision string `json:"decision" enum:"approve,reject"`
			Reason   string `json:"reason,omitempty" maxLength:"2000" pattern:"^[^\\x00]*$" patternDescription:"text without NUL characters" doc:"Why, for the record"`
		}
	}) (*reconciliationOutput, error) {
		rec, repeat, err := s.deps.Reconciler.Decide(ctx, reconcile.DecideParams{ID: in.ID, Decision: in.Body.Decision, Actor: requestActor(ctx), Reason: in.Body.Reason})
		if err != nil {
			return nil, reconcileError(err, in.ID)
		}
		if !repeat {
			action := audit.ActionReconciliationApproved
			if in.Body.Decision == reconcile.Reject {
				action = audit.ActionReconciliationRejected
			}
			if err := s.record(ctx, action, rec.ID, map[string]any{"date": rec.Date, "warehouse": rec.Warehouse, "reason": in.Body.Reason,
				"differences": len(rec.Differences), "posted": rec.Posted}); err != nil {
				return nil, err
			}
		}
		return &reconciliationOutput{Body: rec}, nil
	})
}

// acceptsCSV reports whether an Accept header asks for text/csv before
// JSON: text/csv listed with a quality above zero and no JSON type first.
func acceptsCSV(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch {
		case mt == csvType && params["q"] != "0":
			return true
		case mt == "application/json":
			return false
		}
	}
	return false
}

// reconcileError maps the reconciler's errors to problems.
func reconcileError(err error, id string) error {
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		return notFound("no reconciliation " + id)
	case errors.Is(err, reconcile.ErrNoOdoo):
		return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict,
			Detail: "no Odoo connector is configured (connectors.odoo): there is nothing to reconcile with"}).Fill()
	case errors.Is(err, reconcile.ErrDecided):
		return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: err.Error()}).Fill()
	case errors.Is(err, reconcile.ErrInvalid):
		return badRequest(err.Error(), "")
	case odooDown(err):
		return (&problem.Details{Status: http.StatusBadGateway, Code: problem.CodeUpstreamUnavailable,
			Detail: "Odoo could not be read, so the day was not reconciled: " + err.Error() + ". Run it again once Odoo answers."}).Fill()
	}
	return err
}

// odooDown reports whether err says Odoo was unreachable or failing (not
// that it refused the call): worth running again later.
func odooDown(err error) bool {
	for _, e := range []error{odoo.ErrUnavailable, odoo.ErrServer, odoo.ErrRateLimited, odoo.ErrOutcomeUnknown, odoo.ErrConcurrency} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
