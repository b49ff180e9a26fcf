package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/changes"
	"github.com/waybill/waybill/internal/problem"
)

type changeListOutput struct {
	Body struct {
		Changes []changes.Change `json:"changes"`
	}
}

// ChangeView is a change with its file's content.
type ChangeView struct {
	changes.Change
	// Content is the file as proposed.
	Content string `json:"content"`
}

type changeOutput struct {
	Body ChangeView
}

type decisionInput struct {
	ID   string `path:"id"`
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"2000" pattern:"^[^\\x00]*$" patternDescription:"text without NUL characters" doc:"Why, for the record"`
	}
}

func (s *Server) registerChangeRoutes() {
	if s.deps.Changes == nil {
		return
	}
	huma.Register(s.api, op("list-changes", http.MethodGet, "/v1/changes",
		"List the versions of rating rules, source profiles and JSON mappings, newest first; pending ones wait for approval", apikey.ChangesApprove, "changes"),
		func(ctx context.Context, in *struct {
			Status string `query:"status" enum:"pending,approved,rejected,superseded" doc:"Only changes in this status"`
		}) (*changeListOutput, error) {
			list, err := s.deps.Changes.List(ctx, in.Status)
			if err != nil {
				return nil, err
			}
			out := &changeListOutput{}
			out.Body.Changes = list
			return out, nil
		})

	get := op("get-change", http.MethodGet, "/v1/changes/{id}", "Get a change with its content and, for rules, its what-if report", apikey.ChangesApprove, "changes")
	get.Errors = append(get.Errors, http.StatusNotFound)
	huma.Register(s.api, get, func(ctx context.Context, in *struct {
		ID string `path:"id"`
	}) (*changeOutput, error) {
		c, err := s.deps.Changes.Get(ctx, in.ID)
		if err != nil {
			return nil, changeError(err, in.ID)
		}
		return &changeOutput{Body: ChangeView{Change: *c, Content: string(c.Content)}}, nil
	})

	decide := func(id, path, summary string, fn func(ctx context.Context, id, actor, reason string) (*changes.Change, error)) {
		o := op(id, http.MethodPost, path, summary, apikey.ChangesApprove, "changes")
		o.Errors = append(o.Errors, http.StatusNotFound, http.StatusConflict)
		huma.Register(s.api, o, func(ctx context.Context, in *decisionInput) (*changeOutput, error) {
			reason := ""
			if in.Body != nil {
				reason = in.Body.Reason
			}
			c, err := fn(ctx, in.ID, requestActor(ctx), reason)
			if err != nil {
				return nil, changeError(err, in.ID)
			}
			return &changeOutput{Body: ChangeView{Change: *c, Content: string(c.Content)}}, nil
		})
	}
	decide("approve-change", "/v1/changes/{id}/approve",
		"Approve a pending change; it takes effect at the hub's next start. The proposer cannot approve their own change unless changes.allow_self_approval is set",
		s.deps.Changes.Approve)
	decide("reject-change", "/v1/changes/{id}/reject", "Reject a pending change; the same content is not proposed again", s.deps.Changes.Reject)
}

// changeError maps the change store's errors to problems.
func changeError(err error, id string) error {
	switch {
	case errors.Is(err, changes.ErrNotFound):
		return notFound("no change " + id)
	case errors.Is(err, changes.ErrSamePerson):
		return (&problem.Details{Status: http.StatusForbidden, Code: problem.CodeForbidden, Detail: err.Error()}).Fill()
	case errors.Is(err, changes.ErrNotPending), errors.Is(err, changes.ErrInvalid):
		return (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: err.Error()}).Fill()
	}
	return err
}
