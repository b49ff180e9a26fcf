package hub_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestConsolePages drives real events and a carrier's X12 through intake
// and reads them back on the exceptions, feeds, payloads and shipment
// pages and the filtered overview, replays a payload from the console, and
// checks scopes and bad input, on both engines.
func TestConsolePages(t *testing.T) {
	t.Setenv("TEST_AFTERSHIP_SECRET", "fixture-only-aftership-secret")
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		rcv := newReceiver(t)
		rcv.fail["dispatch.release"] = http.StatusBadRequest // a failed job, with its error
		a := startAPIHub(t, opts, func(c *config.Config) {
			c.Intake.SourcesFile = sourcesFile(t)
			fixtureDates(c)
			c.Connectors.Webhook.URL = rcv.srv.URL
			c.Connectors.Webhook.Timeout = 5 * time.Second
			c.Jobs.MaxAttempts = 1
		}, nil)
		send := func(ev []byte) {
			t.Helper()
			if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ev); status != http.StatusAccepted {
				t.Fatalf("event: %d %s", status, body)
			}
		}
		planned := `{"customer":{"name":"Pinecrest Hardware","ref":"odoo:res.partner/77"},"carrier":{"scac":"XKTL","name":"Kestrel Line"},"origin":{"name":"Larkspur Reno","country":"US"},"destination":{"name":"Pinecrest Columbus","country":"US"},"lines":[{"line_id":"1","sku":"CAB-OUT-48","quantity":{"value":"6","unit":"C62"}}],"references":{"bol":"BOL-550193"}}`
		send(cloudEvent("p1", "shipment.planned", "odoo:WH/OUT/00412", planned))
		send(cloudEvent("r1", "inventory.reserved", "odoo:WH/OUT/00412", `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`))
		send(cloudEvent("l1", "shipment.loaded", "odoo:WH/OUT/00412", `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`))
		send(cloudEvent("p2", "shipment.planned", "odoo:WH/OUT/00413", strings.NewReplacer("Pinecrest Hardware", "Alder Goods", "Larkspur Reno", "Alder DC", "XKTL", "OTHR", "partner/77", "partner/78").Replace(planned)))
		poll.Until(t, "loaded", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "loaded" })
		rc := a.postReceipt(t, "214-01", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), nil)
		poll.Until(t, "in transit", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "in_transit" })
		send(cloudEvent("x1", "shipment.exception", "odoo:WH/OUT/00412", `{"category":"damaged","description":"crushed cabinet"}`))
		poll.Until(t, "the exception", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "exception" })
		var sh struct{ ID string }
		a.getJSON(t, refPath("odoo:WH/OUT/00412"), &sh)

		admin := newBrowser(t, a.url)
		csrf := admin.signIn(a.key)
		page := func(b *browser, path string, want int, contains ...string) string {
			t.Helper()
			status, body, _ := b.do(http.MethodGet, path, nil, nil)
			if status != want {
				t.Errorf("GET %s: %d, want %d", path, status, want)
			}
			for _, c := range contains {
				if !strings.Contains(body, c) {
					t.Errorf("GET %s: no %q", path, c)
				}
			}
			return body
		}

		// Exceptions: the damaged cabinet, its bucket and its shipment.
		body := page(admin, "/console/exceptions", http.StatusOK, `href="/console/shipments/`+sh.ID+`"`, "crushed cabinet", "claims", "interrupted in transit")
		if !regexp.MustCompile(`data-bucket="over-24h"><span class="label">&gt; 24 h</span> <span class="count">1</span>`).MatchString(body) {
			t.Error("exceptions: the > 24 h bucket does not count the exception of 26 November")
		}
		page(admin, "/console/exceptions?category=damaged&owner_role=claims", http.StatusOK, "crushed cabinet")
		if body := page(admin, "/console/exceptions?category=lost", http.StatusOK, "No open exception"); strings.Contains(body, "crushed cabinet") {
			t.Error("exceptions: a lost filter shows the damaged one")
		}
		if body := page(admin, "/console/exceptions?owner_role=dispatch", http.StatusOK); strings.Contains(body, "crushed cabinet") {
			t.Error("exceptions: the dispatch filter shows a claims exception")
		}

		// Payloads: listed, opened with the events it gave, replayed
		// after a confirmation, through the API.
		page(admin, "/console/payloads?source=xktl", http.StatusOK, `href="/console/payloads/`+rc.PayloadID+`"`)
		page(admin, "/console/payloads/"+rc.PayloadID, http.StatusOK, "ISA*", `href="/console/shipments/`+sh.ID+`"`, "shipment.tracked")
		status, _, h := admin.do(http.MethodPost, "/console/payloads/"+rc.PayloadID+"/replay", url.Values{"csrf": {csrf}}, nil)
		if status != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?replay=confirm") {
			t.Fatalf("asking to replay: %d → %q, want the confirmation", status, h.Get("Location"))
		}
		page(admin, h.Get("Location"), http.StatusOK, `name="confirm" value="yes"`)
		status, _, h = admin.do(http.MethodPost, "/console/payloads/"+rc.PayloadID+"/replay", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, nil)
		if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=") {
			t.Fatalf("replaying: %d → %q", status, h.Get("Location"))
		}
		page(admin, h.Get("Location"), http.StatusOK, "Replayed as payload", "replay")
		if entries := auditOf(t, a.hub, "payload.replayed"); len(entries) != 1 || entries[0].Actor != "key:test" {
			t.Errorf("audit of the replay: %+v, want one by key:test", entries)
		}

		// The shipment: its gate, its jobs and the payload of its events.
		poll.Until(t, "the dispatch job's failure", func() bool {
			_, body, _ := admin.do(http.MethodGet, "/console/shipments/"+sh.ID, nil, nil)
			return strings.Contains(body, "webhook answered 400 Bad Request")
		})
		page(admin, "/console/shipments/"+sh.ID, http.StatusOK, "Next gate: exception review", `href="/console/payloads/`+rc.PayloadID+`"`, "Outbound jobs")

		// Feeds and connectors: the payloads of xktl, the webhook's jobs
		// (its metrics are counted as the job ends).
		poll.Until(t, "the failed request counted", func() bool {
			_, body, _ := admin.do(http.MethodGet, "/console/feeds", nil, nil)
			return strings.Contains(body, "permanent 1")
		})
		page(admin, "/console/feeds", http.StatusOK, `data-source="xktl"`, `data-connector="webhook"`, "permanent", "No Odoo connector",
			"No proof-of-delivery feed is watched")

		// The overview, filtered: counts and blocked list follow.
		for _, c := range []struct {
			query string
			total string
		}{
			{"", "2 shipments"},
			{"?customer=Pinecrest+Hardware", "1 shipments matching"},
			{"?customer=odoo:res.partner/77", "1 shipments matching"},
			{"?carrier=OTHR", "1 shipments matching"},
			{"?warehouse=Larkspur+Reno&carrier=Kestrel+Line", "1 shipments matching"},
			{"?customer=Nobody", "0 shipments matching"},
			{"?from=2000-01-01&to=2099-12-31", "2 shipments matching"},
			{"?to=2000-01-01", "0 shipments matching"},
		} {
			body := page(admin, "/console/"+c.query, http.StatusOK, c.total)
			if blocked := strings.Contains(body, `href="/console/shipments/`+sh.ID+`"`); blocked != (c.total[0] != '0' && !strings.Contains(c.query, "OTHR")) {
				t.Errorf("overview %s: the blocked exception listed: %v", c.query, blocked)
			}
		}

		// Bad input: 400 or 404, never a panic.
		for path, want := range map[string]int{
			"/console/exceptions?category=nope":              http.StatusBadRequest,
			"/console/exceptions?cursor=!!":                  http.StatusBadRequest,
			"/console/payloads?cursor=!!":                    http.StatusBadRequest,
			"/console/payloads/nope":                         http.StatusNotFound,
			"/console/?from=yesterday":                       http.StatusBadRequest,
			"/console/?from=2026-02-01&to=2026-01-01":        http.StatusBadRequest,
			"/console/?customer=" + strings.Repeat("x", 300): http.StatusBadRequest,
		} {
			page(admin, path, want)
		}
		if status, _, _ := admin.do(http.MethodPost, "/console/payloads/nope/replay", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, nil); status != http.StatusNotFound {
			t.Errorf("replaying an unknown payload: %d, want 404", status)
		}

		// A shipments:read key reads exceptions and feeds, not payloads,
		// and sees neither payload links nor error texts.
		reader, _, err := a.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		rb := newBrowser(t, a.url)
		rcsrf := rb.signIn(reader)
		page(rb, "/console/exceptions", http.StatusOK, "crushed cabinet")
		if body := page(rb, "/console/feeds", http.StatusOK, "the error text needs the admin scope"); strings.Contains(body, "/console/payloads") {
			t.Error("read-only feeds page links to payloads")
		}
		if body := page(rb, "/console/shipments/"+sh.ID, http.StatusOK, "Next gate"); strings.Contains(body, "/console/payloads/") {
			t.Error("read-only shipment page links to payloads")
		}
		page(rb, "/console/payloads", http.StatusForbidden)
		page(rb, "/console/payloads/"+rc.PayloadID, http.StatusForbidden)
		if status, _, _ := rb.do(http.MethodPost, "/console/payloads/"+rc.PayloadID+"/replay", url.Values{"csrf": {rcsrf}, "confirm": {"yes"}}, nil); status != http.StatusForbidden {
			t.Errorf("read-only replay: %d, want 403", status)
		}
	})
}
