package server

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill/waybill/internal/problem"
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
