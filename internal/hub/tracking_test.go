package hub_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// trackedPlanned is a shipment.planned with a bill of lading, prices
// nowhere near the page, and a customer with a brand.
const trackedPlanned = `{"customer":{"ref":"odoo:res.partner/7","name":"Acme Retail"},"origin":{"name":"WH Rotterdam","city":"Rotterdam","country":"NL","timezone":"Europe/Amsterdam"},` +
	`"destination":{"name":"Acme DC","address_lines":["Industriestrasse 9"],"city":"Duisburg","country":"DE","timezone":"Europe/Berlin"},` +
	`"lines":[{"line_id":"1","sku":"PAL-EUR","quantity":{"value":"12","unit":"C62"}}],"references":{"bol":"BOL-TRACK-1"}}`

// timedEvent is a structured-mode CloudEvent at time at.
func timedEvent(id, typ, subject, at, data string) []byte {
	return []byte(fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"tms-api-test","type":%q,"subject":%q,"time":%q,"datacontenttype":"application/json","data":%s}`,
		id, typ, subject, at, data))
}

// TestTrackingLinks runs a hub with the tracking page on, delivers a
// shipment, makes a link to its page over the API, reads the page as
// HTML and JSON without a key, revokes the link and finds the page gone.
// Creating and revoking need tracking:write; listing needs
// shipments:read.
func TestTrackingLinks(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, func(c *config.Config) {
			c.TrackingPage.Enabled = true
			c.TrackingPage.BaseURL = "https://track.example.com"
			if opts.DatabaseURL != "" {
				c.TrackingPage.SigningKey = "test-only-tracking-signing-key-0123456789"
			}
			c.TrackingPage.Branding = []config.TrackingBranding{{Customer: "odoo:res.partner/7", Name: "Acme Freight Desk", PrimaryColor: "#123456"}}
		}, nil)
		subject := "odoo:WH/OUT/07001"
		send := func(id, typ, at, data string) {
			t.Helper()
			if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", timedEvent(id, typ, subject, at, data)); status != http.StatusAccepted {
				t.Fatalf("%s: %d %s", typ, status, body)
			}
		}
		qty := `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}`
		send("tr-1", "shipment.planned", "2026-11-26T07:00:00Z", trackedPlanned)
		send("tr-2", "inventory.reserved", "2026-11-26T07:10:00Z", qty)
		poll.Until(t, "released", func() bool { return a.shipment(t, subject).State == "released" })
		send("tr-3", "shipment.loaded", "2026-11-26T08:00:00Z", qty)
		send("tr-4", "shipment.departed", "2026-11-26T08:30:00Z", `{"location":{"city":"Rotterdam","country":"NL","timezone":"Europe/Amsterdam"}}`)
		send("tr-5", "shipment.delivered", "2026-11-26T13:00:00Z", `{"pod":{"signer":"K. Becker","signed_at":"2026-11-26T13:00:00Z","lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}}]}}`)
		poll.Until(t, "delivered", func() bool { return a.shipment(t, subject).State == "delivered" })
		var sh struct{ ID string }
		a.getJSON(t, refPath(subject), &sh)

		// Keys: a reader may list but not create; no key gets 401.
		reader, _, err := a.hub.Keys.Create(t.Context(), "track-reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		writer, _, err := a.hub.Keys.Create(t.Context(), "track-writer", []apikey.Scope{apikey.TrackingWrite})
		if err != nil {
			t.Fatal(err)
		}
		as := func(key, method, path, body string) (int, http.Header, []byte) {
			t.Helper()
			req, err := http.NewRequestWithContext(t.Context(), method, a.url+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode, resp.Header, b
		}
		linksPath := refPath(subject) + "/tracking-links"
		st, h, body := as(reader, http.MethodPost, linksPath, `{}`)
		wantProblem(t, "a reader creating a link", st, h, body, http.StatusForbidden, problem.CodeForbidden)
		st, h, body = as("", http.MethodPost, linksPath, `{}`)
		wantProblem(t, "creating a link without a key", st, h, body, http.StatusUnauthorized, problem.CodeUnauthorized)
		st, h, body = as(writer, http.MethodPost, linksPath, `{"expires_in":"100000h"}`)
		wantProblem(t, "a link beyond the maximum lifetime", st, h, body, http.StatusBadRequest, problem.CodeBadRequest)
		st, h, body = as(writer, http.MethodPost, "/v1/shipments/odoo:WH%2FOUT%2FNOPE/tracking-links", `{}`)
		wantProblem(t, "a link to no shipment", st, h, body, http.StatusNotFound, problem.CodeNotFound)

		// The writer makes a link; the admin key makes another without a body.
		st, _, body = as(writer, http.MethodPost, linksPath, `{"expires_in":"72h"}`)
		if st != http.StatusCreated {
			t.Fatalf("creating a link: %d %s", st, body)
		}
		var link struct {
			ID         string `json:"id"`
			ShipmentID string `json:"shipment_id"`
			Token      string `json:"token"`
			URL        string `json:"url"`
			Active     bool   `json:"active"`
		}
		if err := json.Unmarshal(body, &link); err != nil {
			t.Fatal(err)
		}
		if link.ShipmentID != sh.ID || !link.Active || link.URL != "https://track.example.com/track/"+link.Token || strings.Contains(link.Token, sh.ID) {
			t.Fatalf("created link %s", body)
		}
		if st, _, body := a.call(t, http.MethodPost, linksPath, "", nil); st != http.StatusCreated {
			t.Fatalf("creating a link without a body: %d %s", st, body)
		}

		var list struct {
			Links []struct {
				ID     string `json:"id"`
				Active bool   `json:"active"`
				Token  string `json:"token"`
			} `json:"links"`
		}
		st, _, body = as(reader, http.MethodGet, linksPath, "")
		if st != http.StatusOK {
			t.Fatalf("listing links: %d %s", st, body)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Links) != 2 || list.Links[1].ID != link.ID || strings.Contains(string(body), link.Token) {
			t.Fatalf("listed links %s: want two, the writer's last, without tokens", body)
		}

		// The public page, without a key.
		page := func(suffix string) (int, http.Header, string) {
			t.Helper()
			st, h, b := as("", http.MethodGet, "/track/"+link.Token+suffix, "")
			return st, h, string(b)
		}
		st, h, html := page("")
		if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("the page: %d %s %s", st, h.Get("Content-Type"), html)
		}
		for _, want := range []string{"BOL-TRACK-1", "Delivered", "Departed", "K. Becker", "Rotterdam, NL", "Duisburg, DE", "Acme Freight Desk", "#123456",
			"Thu 26 Nov 2026, 09:30 CET", "Thu 26 Nov 2026, 14:00 CET"} {
			if !strings.Contains(html, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		for _, leak := range []string{sh.ID, "WH/OUT/07001", "res.partner", "Industriestrasse", "Acme Retail", "tr-5"} {
			if strings.Contains(html, leak) {
				t.Errorf("the page holds %q", leak)
			}
		}
		st, h, js := page(".json")
		if st != http.StatusOK || h.Get("Content-Type") != "application/json" || !strings.Contains(js, `"status":"delivered"`) || strings.Contains(js, sh.ID) {
			t.Fatalf("the JSON: %d %s %s", st, h.Get("Content-Type"), js)
		}

		// Revoking: the reader may not, the writer may; then the page is gone.
		st, h, body = as(reader, http.MethodDelete, "/v1/tracking-links/"+link.ID, "")
		wantProblem(t, "a reader revoking", st, h, body, http.StatusForbidden, problem.CodeForbidden)
		st, _, body = as(writer, http.MethodDelete, "/v1/tracking-links/"+link.ID, "")
		if st != http.StatusOK || !strings.Contains(string(body), `"revoked_at"`) || !strings.Contains(string(body), `"active":false`) {
			t.Fatalf("revoking: %d %s", st, body)
		}
		st, h, body = as(writer, http.MethodDelete, "/v1/tracking-links/AAAAAAAAAAAAAAAAAAAAAA", "")
		wantProblem(t, "revoking an unknown link", st, h, body, http.StatusNotFound, problem.CodeNotFound)
		if st, _, html := page(""); st != http.StatusNotFound || !strings.Contains(html, "Tracking page not found") {
			t.Errorf("the revoked page: %d %s", st, html)
		}
		st, h, js = page(".json")
		wantProblem(t, "the revoked page as JSON", st, h, []byte(js), http.StatusNotFound, problem.CodeNotFound)
		// The audit trail records both.
		var trail struct {
			Entries []struct{ Action, Subject string } `json:"entries"`
		}
		a.getJSON(t, "/v1/audit?limit=500", &trail)
		seen := map[string]bool{}
		for _, e := range trail.Entries {
			if e.Subject == link.ID {
				seen[e.Action] = true
			}
		}
		if !seen["tracking_link.created"] || !seen["tracking_link.revoked"] {
			t.Errorf("audit trail of link %s: %v, want created and revoked", link.ID, seen)
		}
	})
}
