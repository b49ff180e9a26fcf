package server

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/jobqueue"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// ShipmentView is a shipment as the API shows it: the shipment's fields,
// then its timeline and cross-references.
//
// The shipment is embedded by value, not by pointer, so that its fields
// sit at the top level of the JSON object and of its schema.
type ShipmentView struct {
	shipment.Shipment
	Timeline []intake.TimelineEntry `json:"timeline"`
	Xrefs    []shipment.Xref        `json:"xrefs"`
	// BillingHold says why a billable shipment's invoice is held, such as a
	// silent proof-of-delivery feed.
	BillingHold string `json:"billing_hold,omitempty"`
	// Margin is the revenue invoiced less the approved freight cost; only
	// with the freight audit on.
	Margin *freight.Margin `json:"margin,omitempty"`
}

type shipmentOutput struct {
	Body ShipmentView
}

type shipmentListOutput struct {
	Body struct {
		Shipments  []*shipment.Shipment `json:"shipments"`
		NextCursor string               `json:"next_cursor,omitempty"`
	}
}

type schemaOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func notFound(detail string) error {
	return (&problem.Details{Status: http.StatusNotFound, Code: problem.CodeNotFound, Detail: detail}).Fill()
}

func badRequest(detail, location string) error {
	d := &problem.Details{Status: http.StatusBadRequest, Code: problem.CodeBadRequest, Detail: detail}
	if location != "" {
		d.Errors = []problem.FieldError{{Location: location, Message: detail}}
	}
	return d.Fill()
}

func (s *Server) registerReadRoutes() {
	huma.Register(s.api, op("get-shipment", http.MethodGet, "/v1/shipments/{id}",
		"Get a shipment: state, blocking reason, lines, timeline and cross-references", apikey.ShipmentsRead, "shipments"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" doc:"Canonical id or system:external-id (URL-encode the slash of names like odoo:WH/OUT/00012)"`
		}) (*shipmentOutput, error) {
			sh, err := s.deps.Shipments.Get(ctx, in.ID)
			switch {
			case errors.Is(err, shipment.ErrBadRef):
				return nil, badRequest(err.Error(), "path.id")
			case errors.Is(err, workflow.ErrNotFound):
				return nil, notFound("no shipment " + in.ID)
			case err != nil:
				return nil, err
			}
			out := &shipmentOutput{Body: ShipmentView{Shipment: *sh}}
			if f := s.deps.Feeds; f != nil && sh.Billable && sh.State == shipment.Delivered && sh.POD != nil {
				if held, why := f.Held(sh.POD.Source); held {
					out.Body.BillingHold = why
				}
			}
			if out.Body.Timeline, err = s.deps.Events.Timeline(ctx, sh.ID); err != nil {
				return nil, err
			}
			if out.Body.Xrefs, err = s.deps.Shipments.Xrefs(ctx, sh.ID); err != nil {
				return nil, err
			}
			if s.deps.Freight != nil {
				m, err := s.deps.Freight.Margin(ctx, sh)
				if err != nil {
					return nil, err
				}
				out.Body.Margin = &m
			}
			return out, nil
		})

	huma.Register(s.api, op("list-shipments", http.MethodGet, "/v1/shipments",
		"List shipments, optionally by state, with cursor pagination", apikey.ShipmentsRead, "shipments"),
		func(ctx context.Context, in *struct {
			State  string `query:"state" doc:"Only shipments in this state"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*shipmentListOutput, error) {
			st := shipment.State(in.State)
			if st != "" && !st.Valid() {
				return nil, badRequest("unknown state "+in.State, "query.state")
			}
			list, next, err := s.deps.Shipments.List(ctx, workflow.ListParams{State: st, Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, workflow.ErrBadCursor) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &shipmentListOutput{}
			out.Body.Shipments, out.Body.NextCursor = list, next
			if out.Body.Shipments == nil {
				out.Body.Shipments = []*shipment.Shipment{}
			}
			return out, nil
		})

	huma.Register(s.api, op("get-schema", http.MethodGet, "/v1/schemas/{type}",
		"Get the JSON Schema (2020-12) of an event type's data", "", "events"),
		func(ctx context.Context, in *struct {
			Type string `path:"type" example:"shipment.planned"`
		}) (*schemaOutput, error) {
			b, ok := event.Schema(event.Type(in.Type))
			if !ok {
				return nil, notFound("no event type " + in.Type)
			}
			return &schemaOutput{ContentType: "application/schema+json", Body: b}, nil
		})
}

type deadLetterListOutput struct {
	Body struct {
		DeadLetters []*jobqueue.DeadLetter `json:"dead_letters"`
		NextCursor  string                 `json:"next_cursor,omitempty"`
	}
}

type replayOutput struct {
	Body struct {
		DeadLetter *jobqueue.DeadLetter `json:"dead_letter"`
		Replay     *jobqueue.Replay     `json:"replay"`
	}
}

type keyCreateOutput struct {
	// CacheControl keeps the secret out of caches: no-store.
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Key    *apikey.Key `json:"key"`
		Secret string      `json:"secret" doc:"The API key. It is shown this once and cannot be recovered."`
	}
}

type keyListOutput struct {
	Body struct {
		Keys []apikey.Key `json:"keys"`
	}
}

type keyOutput struct {
	Body *apikey.Key
}

func (s *Server) registerAdminRoutes() {
	huma.Register(s.api, op("list-dead-letters", http.MethodGet, "/v1/dead-letters",
		"List outbound jobs that failed permanently or ran out of attempts", apikey.Admin, "dead letters"),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor string `query:"cursor"`
		}) (*deadLetterListOutput, error) {
			list, next, err := s.deps.DeadLetters.List(ctx, in.Limit, in.Cursor)
			if errors.Is(err, jobqueue.ErrBadCursor) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			out := &deadLetterListOutput{}
			out.Body.DeadLetters, out.Body.NextCursor = list, next
			if out.Body.DeadLetters == nil {
				out.Body.DeadLetters = []*jobqueue.DeadLetter{}
			}
			return out, nil
		})

	replay := op("replay-dead-letter", http.MethodPost, "/v1/dead-letters/{id}/replay",
		"Replay a dead letter as a new job with the same idempotency key, under the current configuration", apikey.Admin, "dead letters")
	replay.DefaultStatus = http.StatusAccepted
	huma.Register(s.api, replay, func(ctx context.Context, in *struct {
		ID string `path:"id"`
	}) (*replayOutput, error) {
		if s.deps.Jobs == nil {
			return nil, (&problem.Details{Status: 409, Code: problem.CodeConflict, Detail: "the job queue is not running"}).Fill()
		}
		actor := "api"
		if k := keyFrom(ctx); k != nil {
			actor = "key:" + k.Name
		}
		dl, rep, err := s.deps.Jobs.Replay(ctx, in.ID, actor)
		switch {
		case errors.Is(err, jobqueue.ErrNotFound):
			return nil, notFound("no dead letter " + in.ID)
		case errors.Is(err, jobqueue.ErrNoConnector):
			return nil, (&problem.Details{Status: 409, Code: problem.CodeConflict, Detail: err.Error()}).Fill()
		case err != nil:
			return nil, err
		}
		if err := s.record(ctx, audit.ActionDeadLetterReplayed, dl.ID, map[string]any{"kind": dl.Kind, "shipment_id": dl.ShipmentID,
			"replay_id": rep.ID, "job_id": rep.JobID}); err != nil {
			return nil, err
		}
		out := &replayOutput{}
		out.Body.DeadLetter, out.Body.Replay = dl, rep
		return out, nil
	})

	create := op("create-key", http.MethodPost, "/v1/keys", "Create an API key (the secret is shown once)", apikey.Admin, "keys")
	create.Description = "The name must not be one an active key (neither revoked nor expired) has: 409 conflict. The answer carries Cache-Control: no-store."
	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict)
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		Body struct {
			Name      string     `json:"name" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9._-]+$" doc:"Who or what uses the key; unique among active keys"`
			Scopes    []string   `json:"scopes" minItems:"1"`
			Label     string     `json:"label,omitempty" maxLength:"16" pattern:"^[a-z0-9]*$" doc:"The key's environment, such as prod or test; it starts the key (wb_prod_…). Defaults to server.key_label_default."`
			ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the key stops working (RFC 3339); never when absent"`
			Rate      *float64   `json:"rate,omitempty" minimum:"0" maximum:"1000000" doc:"The key's own rate limit in requests a second; 0 is unlimited. Absent: server.key_rate and server.key_burst apply."`
			Burst     int        `json:"burst,omitempty" minimum:"0" maximum:"1000000" doc:"Requests the key may send at once; needs rate. Defaults to rate rounded up."`
		}
	}) (*keyCreateOutput, error) {
		p := &apikey.CreateParams{Name: in.Body.Name, Label: in.Body.Label, Scopes: make([]apikey.Scope, len(in.Body.Scopes))}
		for i, sc := range in.Body.Scopes {
			p.Scopes[i] = apikey.Scope(sc)
		}
		if in.Body.ExpiresAt != nil {
			p.ExpiresAt = *in.Body.ExpiresAt
		}
		switch {
		case in.Body.Rate != nil:
			p.Limit = &apikey.Limit{Rate: *in.Body.Rate, Burst: in.Body.Burst}
		case in.Body.Burst != 0:
			return nil, badRequest("burst needs a rate", "body.burst")
		}
		secret, key, err := s.deps.Keys.CreateWith(ctx, p)
		var taken *apikey.NameTakenError
		switch {
		case errors.Is(err, apikey.ErrInvalid):
			// The message says what is wrong and is meant for the caller.
			return nil, badRequest(err.Error(), "")
		case errors.As(err, &taken):
			// It names the active key's id, which is not secret.
			return nil, (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: taken.Error()}).Fill()
		case err != nil:
			return nil, err
		}
		if err := s.record(ctx, audit.ActionKeyCreated, key.ID, map[string]any{"name": key.Name, "scopes": key.Scopes}); err != nil {
			return nil, err
		}
		out := &keyCreateOutput{CacheControl: "no-store"}
		out.Body.Key, out.Body.Secret = key, secret
		return out, nil
	})

	huma.Register(s.api, op("list-keys", http.MethodGet, "/v1/keys", "List API keys (never their secrets) with their labels, expiry, rate limits and last use", apikey.Admin, "keys"),
		func(ctx context.Context, _ *struct{}) (*keyListOutput, error) {
			keys, err := s.deps.Keys.List(ctx)
			if err != nil {
				return nil, err
			}
			out := &keyListOutput{}
			out.Body.Keys = keys
			if out.Body.Keys == nil {
				out.Body.Keys = []apikey.Key{}
			}
			return out, nil
		})

	revoke := op("revoke-key", http.MethodDelete, "/v1/keys/{id}", "Revoke an API key", apikey.Admin, "keys")
	revoke.Errors = append(revoke.Errors, http.StatusNotFound, http.StatusConflict)
	huma.Register(s.api, revoke,
		func(ctx context.Context, in *struct {
			ID string `path:"id" doc:"Key id or name"`
		}) (*keyOutput, error) {
			k, err := s.deps.Keys.Revoke(ctx, in.ID)
			var amb *apikey.AmbiguousError
			switch {
			case errors.Is(err, apikey.ErrNotFound):
				return nil, notFound("no key " + in.ID)
			case errors.As(err, &amb):
				// It names the matching keys' ids, which are not secret.
				return nil, (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: amb.Error()}).Fill()
			case errors.Is(err, apikey.ErrAmbiguous):
				return nil, (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict,
					Detail: "several keys have this name: revoke one by id"}).Fill()
			case err != nil:
				return nil, err
			}
			if err := s.record(ctx, audit.ActionKeyRevoked, k.ID, map[string]any{"name": k.Name}); err != nil {
				return nil, err
			}
			return &keyOutput{Body: k}, nil
		})
}

// registerIntake mounts POST /v1/events and documents it.
func (s *Server) registerIntake() {
	if s.deps.Intake == nil {
		return
	}
	s.mux.Handle("POST /v1/events", s.requireScope(apikey.EventsWrite, s.deps.Intake))

	reg := s.api.OpenAPI().Components.Schemas
	receipt := reg.Schema(reflectType[intake.Receipt](), true, "Receipt")
	batch := reg.Schema(reflectType[intake.BatchReceipt](), true, "BatchReceipt")
	prob := reg.Schema(reflectType[problem.Details](), true, "Problem")
	event := &huma.Schema{Type: "object", Description: "A CloudEvents 1.0 event in structured JSON mode; data follows GET /v1/schemas/{type}.",
		Required: []string{"specversion", "id", "source", "type", "subject", "time", "data"},
		Properties: map[string]*huma.Schema{
			"specversion":     {Type: "string", Enum: []any{"1.0"}},
			"id":              {Type: "string", MaxLength: ptr(256)},
			"source":          {Type: "string", MaxLength: ptr(256)},
			"type":            {Type: "string", Enum: eventTypes()},
			"subject":         {Type: "string", Description: "The shipment (or order): canonical id or system:external-id."},
			"time":            {Type: "string", Format: "date-time"},
			"datacontenttype": {Type: "string"},
			"correlationid":   {Type: "string"},
			"traceparent":     {Type: "string"},
			"data":            {Type: "object"},
		}}
	probResp := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{problem.ContentType: {Schema: prob}}}
	}
	s.api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "post-events", Method: http.MethodPost, Path: "/v1/events", Tags: []string{"events"},
		Summary:     "Accept one event or a batch, durably and at most once per (source, id)",
		Description: "A single event answers 202 (accepted) or 200 (a duplicate: the original receipt). A batch answers 200 with one result per event; valid events are accepted even when others are rejected. 429 with Retry-After means the processing backlog is full, or the key is over its rate limit, and nothing was stored.",
		Security:    []map[string][]string{{"bearer": {string(apikey.EventsWrite)}}},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			intake.ContentTypeCloudEvent: {Schema: event},
			intake.ContentTypeJSON:       {Schema: event},
			intake.ContentTypeBatch:      {Schema: &huma.Schema{Type: "array", Items: event, MinItems: ptr(1), MaxItems: ptr(1000)}},
		}},
		Responses: map[string]*huma.Response{
			"202": {Description: "Accepted and stored.", Content: map[string]*huma.MediaType{"application/json": {Schema: receipt}}},
			"200": {Description: "A duplicate (single event), or the per-event results of a batch.", Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{OneOf: []*huma.Schema{receipt, batch}}}}},
			"400": probResp("Malformed request."),
			"401": probResp("Missing or invalid API key."),
			"403": probResp("The key lacks events:write, or the event is of a type only Waybill emits (picking.validated, shipment.invoiced, review.decided)."),
			"409": probResp("The (source, id) was used with a different payload."),
			"413": probResp("Body too large."),
			"415": probResp("Unsupported Content-Type."),
			"422": probResp("Invalid event: every problem with its JSON pointer."),
			"429": probResp("Backlog full (backlog-full), or the key over its rate limit (rate-limited): retry after Retry-After seconds."),
			"503": probResp("Shutting down or storage unavailable: nothing was stored."),
		},
	})
}

// eventTypes lists the types a client may send.
func eventTypes() []any {
	var out []any
	for _, t := range event.Types() {
		if t.External() {
			out = append(out, string(t))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }
