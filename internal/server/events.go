package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/intake"
)

// EventView is an accepted event and what became of it, with links to the
// shipment whose timeline holds it.
type EventView struct {
	*intake.Status
	Links EventLinks `json:"links"`
}

// EventLinks point from an event to related resources.
type EventLinks struct {
	Self string `json:"self"`
	// Shipment is the shipment the event was applied to or refused for; its
	// timeline lists the event among the others.
	Shipment string `json:"shipment,omitempty"`
	// Payloads lists the stored source payloads the event was made from
	// (admin).
	Payloads string `json:"payloads,omitempty"`
}

func eventView(st *intake.Status) EventView {
	v := EventView{Status: st, Links: EventLinks{Self: intake.EventURL(st.EventID)}}
	if st.ShipmentID != "" {
		v.Links.Shipment = "/v1/shipments/" + st.ShipmentID
	}
	if strings.HasPrefix(st.Source, "/sources/") {
		v.Links.Payloads = "/v1/payloads?" + url.Values{"source": {st.Source}, "event_id": {st.SourceID}}.Encode()
	}
	return v
}

type eventOutput struct {
	Body EventView
}

type eventListOutput struct {
	Body struct {
		Events     []EventView `json:"events"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}
}

// eventReaders are the scopes that may see what became of events: their
// senders and readers of shipments.
var eventReaders = []apikey.Scope{apikey.EventsWrite, apikey.ShipmentsRead}

func (s *Server) registerEventRoutes() {
	if s.deps.Events == nil {
		return
	}
	huma.Register(s.api, opAnyOf("get-event", http.MethodGet, "/v1/events/{id}",
		"What became of an accepted event: pending, applied to its shipment, or rejected and why", eventReaders, "events"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" doc:"The event_id of the receipt"`
		}) (*eventOutput, error) {
			st, err := s.deps.Events.Get(ctx, in.ID)
			if errors.Is(err, intake.ErrNotFound) {
				return nil, notFound("no event " + in.ID)
			}
			if err != nil {
				return nil, err
			}
			return &eventOutput{Body: eventView(st)}, nil
		})

	huma.Register(s.api, opAnyOf("list-events", http.MethodGet, "/v1/events",
		"List accepted events, newest first, by source and state: ?state=rejected shows what the workflow refused", eventReaders, "events"),
		func(ctx context.Context, in *struct {
			Source string `query:"source" doc:"Only events of this CloudEvents source"`
			State  string `query:"state" enum:"pending,accepted,rejected,failed" doc:"Only events in this state"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*eventListOutput, error) {
			if in.State != "" && !slices.Contains(intake.States(), in.State) {
				return nil, badRequest("unknown state "+in.State, "query.state")
			}
			list, next, err := s.deps.Events.List(ctx, intake.ListParams{Source: in.Source, State: in.State, Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, intake.ErrBadCursor) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &eventListOutput{}
			out.Body.Events = make([]EventView, len(list))
			for i, st := range list {
				out.Body.Events[i] = eventView(st)
			}
			out.Body.NextCursor = next
			return out, nil
		})
}
