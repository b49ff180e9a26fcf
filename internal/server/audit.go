package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
)

type auditListOutput struct {
	Body struct {
		Entries    []audit.Entry `json:"entries"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerAuditRoutes() {
	list := op("list-audit", http.MethodGet, "/v1/audit",
		"List the audit trail, newest first: decisions, replays, keys and configuration changes", apikey.Admin, "audit")
	list.Description = "Each entry holds the hash of the one before and is signed with the server's key; " +
		"`waybill audit verify` checks the whole chain (docs/audit.md)."
	huma.Register(s.api, list, func(ctx context.Context, in *struct {
		Action string `query:"action" doc:"Only this action, such as key.created; a value ending in a dot (key.) takes every action with that prefix"`
		Actor  string `query:"actor" doc:"Only this actor, such as key:ops or cli:alice"`
		Since  string `query:"since" doc:"Only entries recorded at or after this time (RFC 3339)"`
		Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
	}) (*auditListOutput, error) {
		out := &auditListOutput{}
		out.Body.Entries = []audit.Entry{}
		if s.deps.Audit == nil {
			return out, nil
		}
		p := audit.ListParams{Action: in.Action, Actor: in.Actor, Limit: in.Limit, Cursor: in.Cursor}
		if in.Since != "" {
			t, err := time.Parse(time.RFC3339Nano, in.Since)
			if err != nil {
				return nil, badRequest("since must be an RFC 3339 time, such as 2026-12-01T00:00:00Z", "query.since")
			}
			p.Since = t
		}
		list, next, err := s.deps.Audit.List(ctx, p)
		if errors.Is(err, audit.ErrBadCursor) {
			return nil, badRequest("invalid cursor", "query.cursor")
		}
		if err != nil {
			return nil, err
		}
		if list != nil {
			out.Body.Entries = list
		}
		out.Body.NextCursor = next
		return out, nil
	})
}

// record appends an entry to the audit trail for the request's key, when
// the server has one. The action has already happened: a failure here is
// returned so that the caller answers 500 and the operator learns that the
// trail misses it.
func (s *Server) record(ctx context.Context, action, subject string, details any) error {
	if s.deps.Audit == nil {
		return nil
	}
	_, err := s.deps.Audit.Append(ctx, audit.Record{Actor: requestActor(ctx), Action: action, Subject: subject, Details: details})
	return err
}

// requestActor names the request's key for the record: key:<name>.
func requestActor(ctx context.Context) string {
	if k := keyFrom(ctx); k != nil {
		return "key:" + k.Name
	}
	return "api"
}
