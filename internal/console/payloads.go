package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
)

// payloadEvent is one event a payload gave, with what became of it.
type payloadEvent struct {
	ID     string
	Status *intake.Status
}

// bodyShown is how much of a payload's body the page shows.
const bodyShown = 64 << 10

func (c *Console) servePayloads(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	src := r.URL.Query().Get("source")
	if len(src) > 200 {
		c.fail(w, r, v, http.StatusBadRequest, "That source name is too long.")
		return
	}
	var list []*payload.Payload
	var sums []source.SourceSummary
	next := ""
	if c.opts.Payloads != nil {
		var err error
		list, next, err = c.opts.Payloads.List(r.Context(), source.ListParams{Source: src, Limit: 50, Cursor: r.URL.Query().Get("cursor")})
		if errors.Is(err, source.ErrBadCursor) {
			c.fail(w, r, v, http.StatusBadRequest, "That page link is not valid.")
			return
		}
		if err != nil {
			c.internal(w, r, v, err)
			return
		}
		if sums, err = c.opts.Payloads.Summaries(r.Context()); err != nil {
			c.internal(w, r, v, err)
			return
		}
	}
	c.render(w, r, "payloads", v, map[string]any{"Title": "Source payloads", "List": list, "Next": next, "Source": src, "Sources": sums})
}

// loadPayload reads the payload of the request's path, or answers 404.
func (c *Console) loadPayload(w http.ResponseWriter, r *http.Request) (*payload.Payload, bool) {
	v := viewerFrom(r)
	id := r.PathValue("id")
	if c.opts.Payloads == nil {
		c.fail(w, r, v, http.StatusNotFound, "There is no payload "+id+".")
		return nil, false
	}
	p, err := c.opts.Payloads.Get(r.Context(), id)
	if errors.Is(err, payload.ErrNotFound) {
		c.fail(w, r, v, http.StatusNotFound, "There is no payload "+id+".")
		return nil, false
	}
	if err != nil {
		c.internal(w, r, v, err)
		return nil, false
	}
	return p, true
}

func (c *Console) servePayload(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	p, ok := c.loadPayload(w, r)
	if !ok {
		return
	}
	events := make([]payloadEvent, len(p.EventIDs))
	for i, id := range p.EventIDs {
		events[i].ID = id
		st, err := c.opts.Events.GetBySource(r.Context(), "/sources/"+p.Source, id)
		switch {
		case errors.Is(err, intake.ErrNotFound):
		case err != nil:
			c.internal(w, r, v, err)
			return
		default:
			events[i].Status = st
		}
	}
	body, binary, cut := "", !utf8.Valid(p.Body), len(p.Body) > bodyShown
	if !binary {
		body = string(p.Body[:min(len(p.Body), bodyShown)])
	}
	c.render(w, r, "payload", v, map[string]any{
		"Title": "Payload " + p.ID, "P": p, "Events": events, "Body": body, "Binary": binary, "Cut": cut, "Size": len(p.Body),
		"Confirm": r.URL.Query().Get("replay") == "confirm", "Flash": r.URL.Query().Get("done"),
	})
}

// replayPayload receives a stored payload again through the API, once the
// person has confirmed it on the payload's page.
func (c *Console) replayPayload(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != "yes" {
		if _, ok := c.loadPayload(w, r); !ok {
			return
		}
		http.Redirect(w, r, Prefix+"/payloads/"+url.PathEscape(id)+"?replay=confirm", http.StatusSeeOther)
		return
	}
	_, body, err := c.callAPI(r.Context(), v, http.MethodPost, "/v1/payloads/"+url.PathEscape(id)+"/replay", nil)
	var ae *apiError
	if errors.As(err, &ae) {
		c.fail(w, r, v, ae.status, "The payload was not replayed: "+ae.detail)
		return
	}
	if err != nil {
		c.internal(w, r, v, err)
		return
	}
	var rc source.PayloadReceipt
	if err := json.Unmarshal(body, &rc); err != nil {
		c.internal(w, r, v, err)
		return
	}
	msg := fmt.Sprintf("Replayed as payload %s: %s, %d event(s).", rc.PayloadID, rc.Status, len(rc.Events))
	http.Redirect(w, r, Prefix+"/payloads/"+url.PathEscape(rc.PayloadID)+"?done="+url.QueryEscape(msg), http.StatusSeeOther)
}
