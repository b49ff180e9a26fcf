package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/trackpage"
	"github.com/waybill/waybill/internal/workflow"
)

// TrackingLink is a link to a shipment's public tracking page, as the API
// shows it.
type TrackingLink struct {
	ID         string     `json:"id" doc:"The link's id, which DELETE /v1/tracking-links/{id} takes"`
	ShipmentID string     `json:"shipment_id" doc:"The shipment's canonical id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Active     bool       `json:"active" doc:"Whether the link leads to the page now: neither expired nor revoked"`
	CreatedBy  string     `json:"created_by,omitempty" doc:"The id of the API key that made it"`
}

func trackingLinkOf(l *trackpage.Link) TrackingLink {
	return TrackingLink{ID: l.ID, ShipmentID: l.ShipmentID, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, RevokedAt: l.RevokedAt,
		Active: l.Active(time.Now()), CreatedBy: l.CreatedBy}
}

type trackingLinkCreatedOutput struct {
	Body struct {
		TrackingLink
		Token string `json:"token" doc:"The signed token; shown once, never stored"`
		URL   string `json:"url" doc:"The page's URL: tracking_page.base_url followed by /track/{token} (the path alone when base_url is empty); add .json for JSON"`
	}
}

type trackingLinkOutput struct {
	Body TrackingLink
}

type trackingLinkListOutput struct {
	Body struct {
		Links []TrackingLink `json:"links"`
	}
}

// registerTrackingRoutes serves the tracking-links API and the public
// pages, when the tracking page is on.
func (s *Server) registerTrackingRoutes() {
	t := s.deps.Tracking
	if t == nil {
		return
	}
	create := op("create-tracking-link", http.MethodPost, "/v1/shipments/{id}/tracking-links",
		"Create a signed link to the shipment's public tracking page", apikey.TrackingWrite, "tracking")
	create.DefaultStatus = http.StatusCreated
	create.Description = "The page shows the status, milestones in local time, ETA and proof of delivery; never prices, invoices or internal ids. " +
		"The token and url are shown once. See docs/tracking-page.md."
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		ID   string `path:"id" doc:"Canonical id or system:external-id (URL-encode the slash of names like odoo:WH/OUT/00012)"`
		Body *struct {
			ExpiresIn string `json:"expires_in,omitempty" doc:"The link's lifetime as a Go duration such as 72h; tracking_page.link_lifetime when left out, at most tracking_page.max_link_lifetime"`
		} `required:"false"`
	}) (*trackingLinkCreatedOutput, error) {
		sh, err := s.trackedShipment(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		var life time.Duration
		if in.Body != nil && in.Body.ExpiresIn != "" {
			if life, err = time.ParseDuration(in.Body.ExpiresIn); err != nil || life <= 0 {
				return nil, badRequest(fmt.Sprintf("expires_in %q is not a positive duration such as 72h", in.Body.ExpiresIn), "body.expires_in")
			}
		}
		by := ""
		if k := keyFrom(ctx); k != nil {
			by = k.ID
		}
		c, err := t.Create(ctx, &trackpage.CreateParams{ShipmentID: sh.ID, ExpiresIn: life, CreatedBy: by})
		if errors.Is(err, trackpage.ErrInvalid) {
			return nil, badRequest(err.Error(), "body.expires_in")
		}
		if err != nil {
			return nil, err
		}
		if err := s.record(ctx, audit.ActionTrackingLinkCreated, c.Link.ID, map[string]any{"shipment_id": sh.ID, "expires_at": c.Link.ExpiresAt}); err != nil {
			return nil, err
		}
		out := &trackingLinkCreatedOutput{}
		out.Body.TrackingLink, out.Body.Token, out.Body.URL = trackingLinkOf(c.Link), c.Token, c.URL
		return out, nil
	})

	huma.Register(s.api, op("list-tracking-links", http.MethodGet, "/v1/shipments/{id}/tracking-links",
		"List the links to the shipment's tracking page, newest first, revoked and expired ones included (without their tokens)", apikey.ShipmentsRead, "tracking"),
		func(ctx context.Context, in *struct {
			ID    string `path:"id" doc:"Canonical id or system:external-id"`
			Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
		}) (*trackingLinkListOutput, error) {
			sh, err := s.trackedShipment(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			list, err := t.List(ctx, sh.ID, in.Limit)
			if err != nil {
				return nil, err
			}
			out := &trackingLinkListOutput{}
			out.Body.Links = make([]TrackingLink, 0, len(list))
			for _, l := range list {
				out.Body.Links = append(out.Body.Links, trackingLinkOf(l))
			}
			return out, nil
		})

	huma.Register(s.api, op("revoke-tracking-link", http.MethodDelete, "/v1/tracking-links/{id}",
		"Revoke a tracking link at once and for good: its page answers 404 from now on; revoking it again changes nothing", apikey.TrackingWrite, "tracking"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"100" doc:"The link's id"`
		}) (*trackingLinkOutput, error) {
			l, err := t.Revoke(ctx, in.ID)
			if errors.Is(err, trackpage.ErrNotFound) {
				return nil, notFound("no tracking link " + in.ID)
			}
			if err != nil {
				return nil, err
			}
			if err := s.record(ctx, audit.ActionTrackingLinkRevoked, l.ID, map[string]any{"shipment_id": l.ShipmentID}); err != nil {
				return nil, err
			}
			return &trackingLinkOutput{Body: trackingLinkOf(l)}, nil
		})

	// The public pages take no key: the signed token is the credential.
	s.mux.Handle("GET /track/{token}", t)
}

// trackedShipment finds the shipment of a tracking-links route.
func (s *Server) trackedShipment(ctx context.Context, ref string) (*shipment.Shipment, error) {
	sh, err := s.deps.Shipments.Get(ctx, ref)
	switch {
	case errors.Is(err, shipment.ErrBadRef):
		return nil, badRequest(err.Error(), "path.id")
	case errors.Is(err, workflow.ErrNotFound):
		return nil, notFound("no shipment " + ref)
	}
	return sh, err
}
