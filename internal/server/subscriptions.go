package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/subscription"
)

type subscriptionInput struct {
	URL         string              `json:"url" maxLength:"2048" doc:"The endpoint: https (http only where subscriptions.allow_http is set)"`
	EventTypes  []string            `json:"event_types" minItems:"1" maxItems:"64" doc:"Canonical event types, or patterns such as shipment.* and *"`
	Filter      subscription.Filter `json:"filter,omitempty" doc:"Narrows the shipments: every field set must match"`
	Description string              `json:"description,omitempty" maxLength:"500"`
	Redact      []string            `json:"redact,omitempty" maxItems:"32" doc:"Data members left out of what the endpoint is sent, at any depth (such as charges, amount)"`
	RateLimit   float64             `json:"rate_limit,omitempty" minimum:"0" maximum:"1000" doc:"Most deliveries a second to the endpoint, per replica; 0 is subscriptions.rate_limit"`
	Owner       string              `json:"owner,omitempty" maxLength:"128" doc:"The customer ref of a customer's subscription, set by an operator's key; a customer's key always owns what it creates"`
}

type subscriptionOutput struct {
	Body *subscription.Subscription
}

type subscriptionCreated struct {
	Body struct {
		*subscription.Subscription
		// Secret is shown once: the receiver verifies signatures with it.
		Secret string `json:"secret" doc:"The signing secret (whsec_…), shown only now"`
	}
}

type subscriptionList struct {
	Body struct {
		Subscriptions []*subscription.Subscription `json:"subscriptions"`
	}
}

// owner is the customer ref the caller acts for: its key's, or "" for an
// operator's key.
func owner(ctx context.Context) string {
	if k := apikey.FromContext(ctx); k != nil {
		return k.Customer
	}
	return ""
}

func (s *Server) registerSubscriptionRoutes() {
	if s.deps.Subscriptions == nil {
		return
	}
	subs := s.deps.Subscriptions
	scope := apikey.SubscriptionsWrite
	huma.Register(s.api, op("create-subscription", http.MethodPost, "/v1/subscriptions",
		"Subscribe an endpoint to events: they are delivered signed as Standard Webhooks, in order per shipment", scope, "subscriptions"),
		func(ctx context.Context, in *struct{ Body subscriptionInput }) (*subscriptionCreated, error) {
			b := in.Body
			sub := &subscription.Subscription{URL: b.URL, EventTypes: b.EventTypes, Filter: b.Filter, Description: b.Description,
				Redact: b.Redact, RateLimit: b.RateLimit, Owner: b.Owner}
			created, secret, err := subs.Create(ctx, owner(ctx), sub)
			if err != nil {
				return nil, subscriptionError(err, "")
			}
			if err := s.record(ctx, audit.ActionSubscriptionCreated, created.ID, map[string]any{"url": created.URL, "owner": created.Owner, "event_types": created.EventTypes}); err != nil {
				return nil, err
			}
			out := &subscriptionCreated{}
			out.Body.Subscription, out.Body.Secret = created, secret
			return out, nil
		})
	huma.Register(s.api, op("list-subscriptions", http.MethodGet, "/v1/subscriptions",
		"List subscriptions: a customer's key sees its own", scope, "subscriptions"),
		func(ctx context.Context, _ *struct{}) (*subscriptionList, error) {
			list, err := subs.List(ctx, owner(ctx))
			if err != nil {
				return nil, err
			}
			out := &subscriptionList{}
			out.Body.Subscriptions = list
			if list == nil {
				out.Body.Subscriptions = []*subscription.Subscription{}
			}
			return out, nil
		})
	huma.Register(s.api, op("get-subscription", http.MethodGet, "/v1/subscriptions/{id}", "Get a subscription", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64"`
		}) (*subscriptionOutput, error) {
			sub, err := subs.Get(ctx, owner(ctx), in.ID)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			return &subscriptionOutput{Body: sub}, nil
		})
	huma.Register(s.api, op("update-subscription", http.MethodPatch, "/v1/subscriptions/{id}",
		"Change a subscription, or enable or disable it: the fields given replace its own", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"64"`
			Body subscription.Patch
		}) (*subscriptionOutput, error) {
			sub, err := subs.Update(ctx, owner(ctx), in.ID, &in.Body)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			if err := s.record(ctx, audit.ActionSubscriptionUpdated, sub.ID, map[string]any{"url": sub.URL, "enabled": sub.Enabled, "event_types": sub.EventTypes}); err != nil {
				return nil, err
			}
			return &subscriptionOutput{Body: sub}, nil
		})
	huma.Register(s.api, op("delete-subscription", http.MethodDelete, "/v1/subscriptions/{id}",
		"Delete a subscription and what waits to be delivered to it", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64"`
		}) (*struct{}, error) {
			if err := subs.Delete(ctx, owner(ctx), in.ID); err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			return nil, s.record(ctx, audit.ActionSubscriptionDeleted, in.ID, nil)
		})
	huma.Register(s.api, op("rotate-subscription-secret", http.MethodPost, "/v1/subscriptions/{id}/rotate-secret",
		"Give a subscription a new signing secret; the previous one keeps signing beside it for subscriptions.secret_overlap", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64"`
		}) (*struct {
			Body struct {
				Secret        string    `json:"secret" doc:"The new signing secret, shown only now"`
				PreviousUntil time.Time `json:"previous_until" doc:"Until when the previous secret also signs"`
			}
		}, error) {
			secret, until, err := subs.RotateSecret(ctx, owner(ctx), in.ID)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			if err := s.record(ctx, audit.ActionSubscriptionSecretRotated, in.ID, map[string]any{"previous_until": until}); err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Secret        string    `json:"secret" doc:"The new signing secret, shown only now"`
					PreviousUntil time.Time `json:"previous_until" doc:"Until when the previous secret also signs"`
				}
			}{}
			out.Body.Secret, out.Body.PreviousUntil = secret, until
			return out, nil
		})
	huma.Register(s.api, op("replay-subscription", http.MethodPost, "/v1/subscriptions/{id}/replay",
		"Send again what a subscription was sent, or was to be sent, since a time: each message under its own webhook-id, in order per shipment", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID    string    `path:"id" maxLength:"64"`
			Since time.Time `query:"since" required:"true" doc:"RFC 3339 time: messages written since then are sent again"`
		}) (*struct {
			Body struct {
				Messages int64 `json:"messages" doc:"How many messages are sent again"`
			}
		}, error) {
			n, err := subs.Replay(ctx, owner(ctx), in.ID, in.Since)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			if err := s.record(ctx, audit.ActionSubscriptionReplayed, in.ID, map[string]any{"since": in.Since, "messages": n}); err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Messages int64 `json:"messages" doc:"How many messages are sent again"`
				}
			}{}
			out.Body.Messages = n
			return out, nil
		})
	huma.Register(s.api, op("list-subscription-attempts", http.MethodGet, "/v1/subscriptions/{id}/attempts",
		"The delivery log of a subscription: its latest attempts, newest first, with status, latency and the start of each answer", scope, "subscriptions"),
		func(ctx context.Context, in *struct {
			ID    string `path:"id" maxLength:"64"`
			Limit int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*struct {
			Body struct {
				Attempts []subscription.Attempt `json:"attempts"`
				Messages map[string]int64       `json:"messages" doc:"Messages by state: pending, delivered, failed"`
			}
		}, error) {
			list, err := subs.Attempts(ctx, owner(ctx), in.ID, in.Limit)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			counts, err := subs.Counts(ctx, owner(ctx), in.ID)
			if err != nil {
				return nil, subscriptionError(err, in.ID)
			}
			out := &struct {
				Body struct {
					Attempts []subscription.Attempt `json:"attempts"`
					Messages map[string]int64       `json:"messages" doc:"Messages by state: pending, delivered, failed"`
				}
			}{}
			out.Body.Attempts, out.Body.Messages = list, counts
			return out, nil
		})
}

// subscriptionError turns the service's errors into problems.
func subscriptionError(err error, id string) error {
	switch {
	case errors.Is(err, subscription.ErrNotFound):
		return notFound("no subscription " + id)
	case errors.Is(err, subscription.ErrForbidden):
		return (&problem.Details{Status: http.StatusForbidden, Code: problem.CodeForbidden, Detail: err.Error()}).Fill()
	case errors.Is(err, subscription.ErrInvalid):
		return badRequest(err.Error(), "")
	}
	return err
}
