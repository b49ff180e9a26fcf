package server

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/feeds"
)

// Feeds is what the API shows of the proof-of-delivery feed watch;
// *feeds.Monitor implements it.
type Feeds interface {
	Held(source string) (bool, string)
	Statuses() []feeds.Status
}

type feedsOutput struct {
	Body struct {
		Feeds []feeds.Status `json:"feeds"`
	}
}

func (s *Server) registerFeedRoutes() {
	huma.Register(s.api, op("list-feeds", http.MethodGet, "/v1/feeds",
		"The watched proof-of-delivery feeds: silent ones hold the invoices of the shipments they delivered", apikey.ShipmentsRead, "billing"),
		func(context.Context, *struct{}) (*feedsOutput, error) {
			out := &feedsOutput{}
			out.Body.Feeds = []feeds.Status{}
			if s.deps.Feeds != nil {
				out.Body.Feeds = s.deps.Feeds.Statuses()
			}
			return out, nil
		})
}
