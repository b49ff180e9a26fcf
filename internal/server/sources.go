package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/correlation"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/tracking/jsonmap"
)

// OdooHook is the Odoo webhook doorbell: Odoo's "Send Webhook Notification"
// automation calls it when a picking changes, and Waybill polls at once
// instead of waiting for the next interval.
type OdooHook struct {
	// Token is the shared secret the caller puts in the URL (?token=…):
	// Odoo cannot send a bearer key or sign its requests.
	Token string
	// Wake asks the Odoo poller to poll now. It must not block.
	Wake func()
}

type hookOutput struct {
	Body struct {
		Status string `json:"status" doc:"Always \"polling\": Odoo will be read again at once."`
	}
}

func (s *Server) registerSources() {
	h := s.deps.OdooHook
	if h == nil || h.Token == "" || h.Wake == nil {
		return
	}
	huma.Register(s.api, huma.Operation{
		OperationID:   "odoo-webhook",
		Method:        http.MethodPost,
		Path:          "/v1/sources/odoo/webhook",
		Summary:       "Poll Odoo now (webhook doorbell)",
		Description:   "Target of Odoo's \"Send Webhook Notification\" automation on stock.picking. The body is not trusted and not read beyond its size: Waybill reads the changed records from Odoo itself. Authenticated by the shared token of connectors.odoo.webhook_token in the query, since Odoo cannot send a bearer key.",
		Tags:          []string{"sources"},
		Security:      []map[string][]string{{"odooToken": {}}},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{401},
		MaxBodyBytes:  64 << 10,
	}, func(_ context.Context, in *struct {
		Token   string `query:"token" doc:"The shared secret of connectors.odoo.webhook_token."`
		RawBody []byte
	}) (*hookOutput, error) {
		if subtle.ConstantTimeCompare([]byte(in.Token), []byte(h.Token)) != 1 {
			return nil, (&problem.Details{Status: http.StatusUnauthorized, Code: problem.CodeUnauthorized,
				Detail: "missing or wrong token: the webhook URL must carry ?token=<connectors.odoo.webhook_token>"}).Fill()
		}
		h.Wake()
		out := &hookOutput{}
		out.Body.Status = "polling"
		return out, nil
	})
}

// sourceInput is a request to a source's endpoint. The signature headers
// are named so that the OpenAPI document lists them; the verifier sees
// them as sent.
type sourceInput struct {
	Source        string `path:"source" doc:"The source profile's id, as in intake.sources_file."`
	Authorization string `header:"Authorization" doc:"Bearer <key> with the events:write scope, for api_key sources."`
	EasyPost      string `header:"X-Hmac-Signature" doc:"EasyPost: hmac-sha256-hex=<hex HMAC of the raw body>."`
	AfterShip     string `header:"aftership-hmac-sha256" doc:"AfterShip: base64 HMAC-SHA256 of the raw body."`
	WebhookID     string `header:"webhook-id" doc:"Standard Webhooks: the message id (replays are refused)."`
	WebhookTime   string `header:"webhook-timestamp" doc:"Standard Webhooks: Unix seconds; at most auth.tolerance (5m) from now."`
	WebhookSig    string `header:"webhook-signature" doc:"Standard Webhooks: v1,<base64> signatures, space-separated (two during a key rotation)."`
	ContentType   string `header:"Content-Type"`
	RawBody       []byte
}

func (in *sourceInput) header() http.Header {
	h := http.Header{}
	for name, v := range map[string]string{
		"Authorization": in.Authorization, "X-Hmac-Signature": in.EasyPost, "aftership-hmac-sha256": in.AfterShip,
		"webhook-id": in.WebhookID, "webhook-timestamp": in.WebhookTime, "webhook-signature": in.WebhookSig,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	return h
}

type receiptOutput struct {
	// Status is 202, or 200 for a delivery handled before.
	Status int
	Body   *source.PayloadReceipt
}

type payloadListOutput struct {
	Body struct {
		PayloadIDs []string `json:"payload_ids" doc:"Oldest first; one event may come from several payloads (a retried webhook, a full-history push, a replay)."`
	}
}

type payloadOutput struct {
	Body struct {
		*payload.Payload
		Body     string `json:"body" doc:"The payload as received; base64 when body_encoding is base64."`
		Encoding string `json:"body_encoding" enum:"utf-8,base64"`
	}
}

// registerProfiles adds the endpoints of configured source profiles.
func (s *Server) registerProfiles() {
	in := s.deps.Sources
	if in == nil {
		return
	}
	maxBody := s.deps.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = 8 << 20
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "source-webhook",
		Method:      http.MethodPost,
		Path:        "/v1/sources/{source}/webhooks",
		Summary:     "Receive a carrier or platform webhook",
		Description: "Receives a webhook of a configured source in its own format (EasyPost, AfterShip, project44 or a JSON mapping). " +
			"The signature is checked over the raw body as the vendor defines it, or the bearer key for api_key sources; a refusal is 401 " +
			"and nothing is stored. A verified payload is stored as received, mapped to canonical events and accepted through the same " +
			"path as POST /v1/events: a repeated event is answered as a duplicate, never applied twice.",
		Tags:          []string{"sources"},
		Security:      []map[string][]string{{"bearer": {string(apikey.EventsWrite)}}, {"webhookSignature": {}}},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{400, 401, 403, 404, 413, 422, 429, 503},
		MaxBodyBytes:  int64(maxBody),
	}, func(ctx context.Context, req *sourceInput) (*receiptOutput, error) {
		return s.receiveSource(ctx, in, req, payload.ChannelWebhook, false)
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "source-edi",
		Method:      http.MethodPost,
		Path:        "/v1/sources/{source}/edi",
		Summary:     "Receive an EDI interchange",
		Description: "Receives one X12 or EDIFACT interchange of a configured EDI source as the raw body (any content type). " +
			"X12 214 become tracking events, 210 freight charges, 990 tender responses; EDIFACT IFTSTA become tracking events. " +
			"The answer carries the X12 997 acknowledging every functional group, accepted or rejected with its error codes. " +
			"The payload is stored as received and linked to the events made from it.",
		Tags:          []string{"sources"},
		Security:      []map[string][]string{{"bearer": {string(apikey.EventsWrite)}}},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{401, 403, 404, 413, 422, 429, 503},
		MaxBodyBytes:  int64(maxBody),
	}, func(ctx context.Context, req *sourceInput) (*receiptOutput, error) {
		return s.receiveSource(ctx, in, req, payload.ChannelEDI, true)
	})
	s.registerPayloadReplay(in)
	huma.Register(s.api, op("list-payloads-of-event", http.MethodGet, "/v1/payloads", "Find the stored payloads an event was made from", apikey.Admin, "sources"),
		func(ctx context.Context, req *struct {
			Source  string `query:"source" required:"true" doc:"The event's CloudEvents source, as in a shipment's timeline: /sources/{id}."`
			EventID string `query:"event_id" required:"true" doc:"The event's CloudEvents id (source_event_id in a shipment's timeline)."`
		}) (*payloadListOutput, error) {
			ids, err := in.PayloadsOf(ctx, req.Source, req.EventID)
			if err != nil {
				return nil, err
			}
			out := &payloadListOutput{}
			out.Body.PayloadIDs = append([]string{}, ids...)
			return out, nil
		})
	huma.Register(s.api, op("get-payload", http.MethodGet, "/v1/payloads/{id}", "Get a stored source payload", apikey.Admin, "sources"),
		func(ctx context.Context, req *struct {
			ID string `path:"id" doc:"The payload id from a receipt or an event's payloads."`
		}) (*payloadOutput, error) {
			p, err := in.Payload(ctx, req.ID)
			if errors.Is(err, payload.ErrNotFound) {
				return nil, (&problem.Details{Status: 404, Code: problem.CodeNotFound, Detail: "no payload " + req.ID}).Fill()
			}
			if err != nil {
				return nil, err
			}
			out := &payloadOutput{}
			out.Body.Payload = p
			if utf8.Valid(p.Body) {
				out.Body.Body, out.Body.Encoding = string(p.Body), "utf-8"
			} else {
				out.Body.Body, out.Body.Encoding = base64.StdEncoding.EncodeToString(p.Body), "base64"
			}
			return out, nil
		})
}

// answerReceive turns what Intake.Receive returned into the answer.
func answerReceive(rc *source.PayloadReceipt, err error) (*receiptOutput, error) {
	var rej *source.RejectedError
	switch {
	case errors.As(err, &rej):
		pd := &problem.Details{Status: 422, Code: problem.CodeRejectedPayload, Detail: rej.Err.Error(),
			PayloadID: rej.Receipt.PayloadID, Ack: rej.Receipt.Ack}
		if errors.Is(err, jsonmap.ErrInvalidJSON) {
			pd.Status, pd.Code = 400, problem.CodeBadRequest
		}
		for _, pr := range rej.Receipt.Problems {
			pd.Errors = append(pd.Errors, problem.FieldError{Location: "body", Message: pr})
		}
		return nil, pd.Fill()
	case errors.Is(err, intake.ErrBacklogFull):
		return nil, (&problem.Details{Status: 429, Code: problem.CodeBacklogFull,
			Detail: "intake backlog is full; the payload's events were not accepted: retry"}).Fill()
	case err != nil:
		return nil, err
	}
	return &receiptOutput{Status: http.StatusAccepted, Body: rc}, nil
}

func (s *Server) registerPayloadReplay(in *source.Receiver) {
	replay := op("replay-payload", http.MethodPost, "/v1/payloads/{id}/replay", "Receive a stored source payload again", apikey.Admin, "sources")
	replay.Description = "Maps a stored payload again with its source's profile as configured now — after a code table or mapping was fixed, " +
		"a payload rejected before gives its events — and submits them like a new delivery. The replay is stored as a payload of its own " +
		"(channel replay, named after the original). Events the payload had given already are repeats."
	replay.DefaultStatus = http.StatusAccepted
	replay.Errors = append(replay.Errors, 404, 409, 422, 429)
	huma.Register(s.api, replay, func(ctx context.Context, req *struct {
		ID string `path:"id" doc:"The payload to receive again."`
	}) (*receiptOutput, error) {
		rc, err := in.Replay(ctx, req.ID)
		switch {
		case errors.Is(err, payload.ErrNotFound):
			return nil, (&problem.Details{Status: 404, Code: problem.CodeNotFound, Detail: "no payload " + req.ID}).Fill()
		case errors.Is(err, source.ErrUnknownSource):
			return nil, (&problem.Details{Status: 409, Code: problem.CodeConflict, Detail: err.Error() + ": its profile is no longer configured"}).Fill()
		case errors.Is(err, source.ErrNotReplayable):
			return nil, (&problem.Details{Status: 409, Code: problem.CodeConflict, Detail: err.Error()}).Fill()
		}
		if err == nil {
			if err := s.record(ctx, audit.ActionPayloadReplayed, req.ID, map[string]any{"source": rc.Source, "replay_payload_id": rc.PayloadID,
				"status": rc.Status, "events": len(rc.Events)}); err != nil {
				return nil, err
			}
		}
		return answerReceive(rc, err)
	})
}

func (s *Server) receiveSource(ctx context.Context, in *source.Receiver, req *sourceInput, channel string, edi bool) (*receiptOutput, error) {
	p, err := in.Profile(req.Source)
	if err != nil {
		return nil, (&problem.Details{Status: 404, Code: problem.CodeUnknownSource, Detail: err.Error()}).Fill()
	}
	if edi != p.EDI() {
		want := "POST /v1/sources/" + p.ID + "/webhooks"
		if p.EDI() {
			want = "POST /v1/sources/" + p.ID + "/edi"
		}
		return nil, (&problem.Details{Status: 404, Code: problem.CodeNotFound,
			Detail: fmt.Sprintf("source %s sends %s: use %s", p.ID, p.Format, want)}).Fill()
	}
	if p.Auth.Scheme == source.AuthAPIKey {
		hdr := http.Header{}
		if _, pd := s.authenticate(ctx, req.Authorization, apikey.EventsWrite, hdr.Set); pd != nil {
			in.AuthFailed(ctx, p.ID, "bad_key", errors.New(pd.Detail))
			return nil, huma.ErrorWithHeaders(pd.Fill(), hdr)
		}
	} else if err := in.Verify(ctx, p, req.header(), req.RawBody); err != nil {
		if errors.Is(err, source.ErrAlreadyHandled) {
			// A retry after a lost answer, or a replay: nothing to do, and
			// the sender must not retry again.
			return &receiptOutput{Status: http.StatusOK, Body: &source.PayloadReceipt{Source: p.ID, Status: payload.StatusDuplicate,
				Events: []source.PayloadEvent{}, CorrelationID: correlation.From(ctx)}}, nil
		}
		if errors.Is(err, source.ErrUnauthenticated) {
			return nil, (&problem.Details{Status: 401, Code: problem.CodeUnauthorized, Detail: err.Error()}).Fill()
		}
		s.logger.ErrorContext(ctx, "verifying webhook", slog.String("source", p.ID), slog.Any("err", err))
		return nil, (&problem.Details{Status: 503, Code: problem.CodeStorageUnavailable, Detail: "cannot check the webhook now; retry"}).Fill()
	}
	corr := correlation.From(ctx)
	if corr == "" {
		corr = correlation.New()
	}
	d := source.Delivery{Channel: channel, ContentType: req.ContentType, Body: req.RawBody, CorrelationID: corr}
	if p.Auth.Scheme == source.AuthStandard {
		// Verified above: the timestamp parses.
		ts, _ := strconv.ParseInt(req.WebhookTime, 10, 64)
		d.WebhookID, d.WebhookTime = req.WebhookID, time.Unix(ts, 0)
	}
	return answerReceive(in.Receive(ctx, p, d))
}
