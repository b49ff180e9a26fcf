package hub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// eventStatus is GET /v1/events/{id}.
type eventStatus struct {
	EventID     string     `json:"event_id"`
	Source      string     `json:"source"`
	State       string     `json:"state"`
	Reason      string     `json:"reason"`
	ShipmentID  string     `json:"shipment_id"`
	ProcessedAt *time.Time `json:"processed_at"`
	Links       struct {
		Self     string `json:"self"`
		Shipment string `json:"shipment"`
	} `json:"links"`
}

// TestEventOutcomes follows an accepted event to its outcome: the receipt
// links to it, a rejected one says why, the source's rejections are
// listed, and a metric counts them by reason.
func TestEventOutcomes(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		at := time.Now().UTC().Format(time.RFC3339)
		post := func(id, typ, subject, data string) intake.Receipt {
			t.Helper()
			body := `{"specversion":"1.0","id":"` + id + `","source":"tms-outcomes","type":"` + typ + `","subject":"` + subject + `","time":"` + at + `","data":` + data + `}`
			status, h, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, []byte(body))
			var rc intake.Receipt
			if err := json.Unmarshal(out, &rc); status != http.StatusAccepted || err != nil {
				t.Fatalf("%s: got %d %s", id, status, out)
			}
			if rc.EventURL != "/v1/events/"+rc.EventID || h.Get("Location") != rc.EventURL {
				t.Errorf("%s: receipt links to %q, Location %q, want /v1/events/%s", id, rc.EventURL, h.Get("Location"), rc.EventID)
			}
			return rc
		}
		good := post("plan-1", "shipment.planned", "tms:OUT-1", apiPlannedData)
		bad := post("cancel-unknown", "shipment.cancelled", "tms:NOPE-9", `{}`)

		var st eventStatus
		poll.Until(t, "the rejection", func() bool {
			a.getJSON(t, bad.EventURL, &st)
			return st.State != intake.StatePending
		})
		if st.State != intake.StateRejected || !strings.Contains(st.Reason, "unknown shipment tms:NOPE-9") || st.ProcessedAt == nil || st.Links.Self != bad.EventURL {
			t.Errorf("rejected event: got %+v", st)
		}
		poll.Until(t, "the planned shipment", func() bool {
			st = eventStatus{}
			a.getJSON(t, good.EventURL, &st)
			return st.State == intake.StateApplied
		})
		if st.ShipmentID == "" || st.Links.Shipment != "/v1/shipments/"+st.ShipmentID {
			t.Errorf("applied event: got %+v, want its shipment linked", st)
		}
		var sh struct {
			Timeline []struct {
				EventID string `json:"event_id"`
			} `json:"timeline"`
		}
		a.getJSON(t, st.Links.Shipment, &sh)
		if len(sh.Timeline) != 1 || sh.Timeline[0].EventID != good.EventID {
			t.Errorf("the shipment link's timeline: got %+v, want the event", sh.Timeline)
		}

		var list struct {
			Events     []eventStatus `json:"events"`
			NextCursor string        `json:"next_cursor"`
		}
		a.getJSON(t, "/v1/events?source=tms-outcomes&state=rejected", &list)
		if len(list.Events) != 1 || list.Events[0].EventID != bad.EventID || list.NextCursor != "" {
			t.Errorf("rejected events of the source: got %+v", list)
		}
		list.Events, list.NextCursor = nil, ""
		a.getJSON(t, "/v1/events?source=tms-outcomes&limit=1", &list)
		if len(list.Events) != 1 || list.Events[0].EventID != bad.EventID || list.NextCursor == "" {
			t.Fatalf("first page: got %+v", list)
		}
		cursor := list.NextCursor
		list.Events, list.NextCursor = nil, ""
		a.getJSON(t, "/v1/events?source=tms-outcomes&limit=1&cursor="+cursor, &list)
		if len(list.Events) != 1 || list.Events[0].EventID != good.EventID || list.NextCursor != "" {
			t.Errorf("second page: got %+v", list)
		}

		status, h, out := a.call(t, http.MethodGet, "/v1/events/0193a0c4-0000-7000-8000-000000000000", "", nil)
		wantProblem(t, "unknown event", status, h, out, http.StatusNotFound, problem.CodeNotFound)
		status, h, out = a.call(t, http.MethodGet, "/v1/events?cursor=%21%21", "", nil)
		wantProblem(t, "bad cursor", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
		if status, _, out = a.call(t, http.MethodGet, "/v1/events?state=bogus", "", nil); status < 400 || status >= 500 {
			t.Errorf("unknown state: got %d %s, want a 4xx", status, out)
		}

		resp, err := http.Get(a.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		metrics, _ := io.ReadAll(resp.Body)
		if want := `waybill_events_refused_total{outcome="rejected",reason="unknown_shipment",type="shipment.cancelled"} 1`; !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	})
}

// TestEventTimeWindow checks that event times outside the configured
// window are refused, with the reason, on the API and on a source
// profile's path, and that nothing of them is stored.
func TestEventTimeWindow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte("sources:\n  - id: xktl\n    format: x12\n    auth: {scheme: api_key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) { c.Intake.SourcesFile = path }, nil)
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", time.Now().Add(-400 * 24 * time.Hour).UTC().Format(time.RFC3339), time.Now().Add(25 * time.Hour).UTC().Format(time.RFC3339)} {
		body := `{"specversion":"1.0","id":"t-` + at + `","source":"tms-window","type":"shipment.cancelled","subject":"x:1","time":"` + at + `","data":{}}`
		status, h, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, []byte(body))
		p := wantProblem(t, at, status, h, out, http.StatusUnprocessableEntity, problem.CodeInvalidEvent)
		if len(p.Errors) != 1 || p.Errors[0].Location != "/time" || !strings.Contains(p.Errors[0].Message, "time of receipt") {
			t.Errorf("%s: got %+v, want the time refused with its reason", at, p.Errors)
		}
	}
	// The carrier's sample 214 is dated November 2025: over a year old.
	status, _, out := a.post(t, "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(out), "before the time of receipt") {
		t.Errorf("an EDI file of old events: got %d %s, want 422 naming the times", status, out)
	}
	if n := countEvents(t, a); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
}

// TestMethodNotAllowed checks that a route asked with a method it does
// not take answers 405 with the methods it does take, and an unknown path
// 404.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, nil, nil)
	for _, tt := range []struct{ method, path, allow string }{
		{http.MethodOptions, "/v1/shipments", "GET, HEAD"},
		{http.MethodDelete, "/v1/events", "GET, HEAD, POST"},
		{http.MethodPut, "/v1/events/some-id", "GET, HEAD"},
		{http.MethodOptions, "/v1/keys", "GET, HEAD, POST"},
	} {
		status, h, out := a.call(t, tt.method, tt.path, "", nil)
		wantProblem(t, tt.method+" "+tt.path, status, h, out, http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed)
		if got := h.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	status, h, out := a.call(t, http.MethodPut, "/v1/nothing-here", "", nil)
	wantProblem(t, "an unknown path", status, h, out, http.StatusNotFound, problem.CodeNotFound)
}

// TestHostileURLs sends NUL characters and invalid UTF-8 in the paths and
// queries of the routes that look things up: each is refused with 400
// before it reaches the database, on both engines, and the server keeps
// serving.
func TestHostileURLs(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		for _, p := range []string{"/v1/events/%00", "/v1/events/%FF", "/v1/events?source=%00", "/v1/events?source=a%C3",
			"/v1/shipments/odoo:%00", "/v1/review/%00", "/v1/changes/%00", "/v1/audit?actor=%00", "/v1/payloads/%FF",
			"/v1/shipments?cursor=%00"} {
			status, h, out := send(t, a.url, http.MethodGet, p, a.key)
			wantProblem(t, "GET "+p, status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
		}
		for _, p := range []string{"/v1/dead-letters/%00/replay", "/v1/payloads/%00/replay"} {
			status, h, out := send(t, a.url, http.MethodPost, p, a.key)
			wantProblem(t, "POST "+p, status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
		}
		// Free text in JSON bodies: a NUL is refused by the route's schema.
		for p, body := range map[string]string{"/v1/changes/x/reject": `{"reason":"a\u0000b"}`, "/v1/review/x/decision": `{"decision":"reject","reason":"a\u0000b"}`} {
			status, h, out := send(t, a.url, http.MethodPost, p, a.key, []byte(body))
			d := wantProblem(t, "POST "+p+" with a NUL reason", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
			if len(d.Errors) != 1 || d.Errors[0].Location != "body.reason" {
				t.Errorf("POST %s: got %+v, want the reason located", p, d.Errors)
			}
		}
		status, h, out := send(t, a.url, http.MethodDelete, "/v1/keys/%00", a.key)
		wantProblem(t, "DELETE /v1/keys/%00", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
		var list struct {
			Events []any `json:"events"`
		}
		a.getJSON(t, "/v1/events?source=caf%C3%A9", &list) // valid UTF-8 is fine
	})
}
