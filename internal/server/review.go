package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/workflow"
)

// ReviewView is a review item as the API shows it.
type ReviewView struct {
	shipment.ReviewItem
	// AgeSeconds is how long it has waited (open) or took (decided).
	AgeSeconds int64 `json:"age_seconds"`
}

type reviewListOutput struct {
	Body struct {
		Reviews    []ReviewView `json:"reviews"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

type reviewOutput struct {
	Body ReviewView
}

type decisionOutput struct {
	Body struct {
		ReviewID      string `json:"review_id"`
		Decision      string `json:"decision"`
		EventID       string `json:"event_id" doc:"The review.decided event; the shipment's timeline shows whether it was applied."`
		CorrelationID string `json:"correlation_id"`
		Duplicate     bool   `json:"duplicate" doc:"The same decision was already submitted; the first one stands."`
	}
}

func view(it shipment.ReviewItem, now time.Time) ReviewView {
	return ReviewView{ReviewItem: it, AgeSeconds: int64(shipment.ReviewAge(it.Review, now) / time.Second)}
}

func (s *Server) registerReviewRoutes() {
	huma.Register(s.api, op("list-reviews", http.MethodGet, "/v1/review",
		"List the review queue: proofs of delivery that failed validation and exceptions, oldest first", apikey.ShipmentsRead, "review"),
		func(ctx context.Context, in *struct {
			State     string `query:"state" enum:"open,approved,rejected,resolved" doc:"Only items in this state"`
			OwnerRole string `query:"owner_role" doc:"Only items this role is expected to act on"`
			Limit     int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Cursor    string `query:"cursor" doc:"next_cursor of the previous page"`
		}) (*reviewListOutput, error) {
			list, next, err := s.deps.Shipments.Reviews(ctx, workflow.ReviewParams{Status: in.State, OwnerRole: in.OwnerRole, Limit: in.Limit, Cursor: in.Cursor})
			if errors.Is(err, workflow.ErrBadCursor) {
				return nil, badRequest("invalid cursor", "query.cursor")
			}
			if err != nil {
				return nil, err
			}
			now := time.Now()
			out := &reviewListOutput{}
			out.Body.Reviews, out.Body.NextCursor = make([]ReviewView, 0, len(list)), next
			for _, it := range list {
				out.Body.Reviews = append(out.Body.Reviews, view(it, now))
			}
			return out, nil
		})

	huma.Register(s.api, op("get-review", http.MethodGet, "/v1/review/{id}", "Get a review item", apikey.ShipmentsRead, "review"),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*reviewOutput, error) {
			it, err := s.deps.Shipments.GetReview(ctx, in.ID)
			if errors.Is(err, workflow.ErrNoReview) {
				return nil, notFound("no review " + in.ID)
			}
			if err != nil {
				return nil, err
			}
			return &reviewOutput{Body: view(it, time.Now())}, nil
		})

	decide := op("decide-review", http.MethodPost, "/v1/review/{id}/decision",
		"Approve, reject or resolve a review item; the decision is recorded in the shipment's timeline", apikey.ReviewWrite, "review")
	decide.DefaultStatus = http.StatusAccepted
	decide.Errors = append(decide.Errors, 404, 409, 429)
	huma.Register(s.api, decide, func(ctx context.Context, in *struct {
		ID   string `path:"id"`
		Body struct {
			Decision string `json:"decision" enum:"approve,reject,resolve" doc:"approve: bill the proof of delivery, or carry out the exception's consequences; reject: refuse the proof, or dismiss the exception; resolve: the exception was settled outside Waybill."`
			Reason   string `json:"reason,omitempty" maxLength:"2000" pattern:"^[^\\x00]*$" patternDescription:"text without NUL characters"`
		}
	}) (*decisionOutput, error) {
		if s.deps.Emitter == nil {
			return nil, (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict, Detail: "intake is not running"}).Fill()
		}
		it, err := s.deps.Shipments.GetReview(ctx, in.ID)
		if errors.Is(err, workflow.ErrNoReview) {
			return nil, notFound("no review " + in.ID)
		}
		if err != nil {
			return nil, err
		}
		if it.Status != shipment.ReviewOpen && it.Decision != in.Body.Decision {
			return nil, (&problem.Details{Status: http.StatusConflict, Code: problem.CodeConflict,
				Detail: "review " + it.ID + " is already " + it.Status + " (" + it.Decision + " by " + it.Actor + ")"}).Fill()
		}
		actor := "api"
		if k := keyFrom(ctx); k != nil {
			actor = "key:" + k.Name
		}
		raw, err := workflow.DecisionEvent(it, in.Body.Decision, actor, in.Body.Reason, time.Now())
		if err != nil {
			return nil, err
		}
		res, err := s.deps.Emitter.Emit(ctx, [][]byte{raw})
		switch {
		case errors.Is(err, intake.ErrBacklogFull):
			return nil, (&problem.Details{Status: http.StatusTooManyRequests, Code: problem.CodeBacklogFull, Detail: "too many events wait to be processed: retry later"}).Fill()
		case err != nil:
			var ie *intake.InvalidError
			if errors.As(err, &ie) {
				// A value the decision event cannot carry.
				p := &problem.Details{Status: http.StatusBadRequest, Code: problem.CodeBadRequest, Detail: "the decision cannot be recorded: " + ie.Error()}
				return nil, p.Fill()
			}
			return nil, err
		}
		// The same decision sent again (with the same or another reason,
		// at another time) is a repeat: the first one stands.
		if !res[0].Duplicate {
			if err := s.record(ctx, audit.ActionReviewDecided, it.ID, map[string]string{"decision": in.Body.Decision, "reason": in.Body.Reason,
				"kind": it.Kind, "shipment_id": it.ShipmentID, "event_id": res[0].EventID}); err != nil {
				return nil, err
			}
		}
		out := &decisionOutput{}
		out.Body.ReviewID, out.Body.Decision = it.ID, in.Body.Decision
		out.Body.EventID, out.Body.CorrelationID, out.Body.Duplicate = res[0].EventID, res[0].CorrelationID, res[0].Duplicate
		return out, nil
	})
}
