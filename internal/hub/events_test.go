package hub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/ingest"
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
		post := func(id, typ, subject, data string) ingest.Receipt {
			t.Helper()
			body := `{"specversion":"1.0","id":"` + id + `","source":"tms-outcomes","type":"` + typ + `","subject":"` + subject + `","time":"` + at + `","data":` + data + `}`
			status, h, out := a.call(t, http.MethodPost, "/v1/events", ingest.ContentTypeCloudEvent, []byte(body))
			var rc ingest.Receipt
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
		pollUntil(t, "the rejection", func() bool {
			a.getJSON(t, bad.EventURL, &st)
			return st.State != ingest.StatePending
		})
		if st.State != ingest.StateRejected || !strings.Contains(st.Reason, "unknown shipment tms:NOPE-9") || st.ProcessedAt == nil || st.Links.Self != bad.EventURL {
			t.Errorf("rejected event: got %+v", st)
		}
		pollUntil(t, "the planned shipment", func() bool {
			st = eventStatus{}
			a.getJSON(t, good.EventURL, &st)
			return st.State == ingest.StateApplied
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
