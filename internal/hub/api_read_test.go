package hub_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

type shipmentPage struct {
	Shipments []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"shipments"`
	NextCursor string `json:"next_cursor"`
}

// planShipments posts one shipment.planned event per subject and waits
// until every shipment exists.
func planShipments(t *testing.T, a *apiHub, subjects []string) {
	t.Helper()
	for i, subject := range subjects {
		status, _, body := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent,
			cloudEvent(fmt.Sprintf("plan-%d", i), "shipment.planned", subject, apiPlannedData))
		if status != http.StatusAccepted {
			t.Fatalf("planning %s: got %d %s, want 202", subject, status, body)
		}
	}
	poll.Until(t, fmt.Sprintf("%d shipments", len(subjects)), func() bool {
		var page shipmentPage
		a.getJSON(t, "/v1/shipments?limit=500", &page)
		return len(page.Shipments) == len(subjects)
	})
}

// walkShipments follows next_cursor from the first page of GET
// /v1/shipments?query to the last and returns the ids in the order served
// and the page sizes.
func walkShipments(t *testing.T, a *apiHub, query string) (ids []string, sizes []int) {
	t.Helper()
	cursor := ""
	for range 100 {
		path := "/v1/shipments?" + query
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page shipmentPage
		a.getJSON(t, path, &page)
		sizes = append(sizes, len(page.Shipments))
		for _, sh := range page.Shipments {
			ids = append(ids, sh.ID)
		}
		if page.NextCursor == "" {
			return ids, sizes
		}
		cursor = page.NextCursor
	}
	t.Fatalf("walking shipments?%s: still a next_cursor after 100 pages", query)
	return nil, nil
}

func TestAPIShipmentPagination(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		subjects := make([]string, 7)
		for i := range subjects {
			subjects[i] = fmt.Sprintf("odoo:WH/OUT/P%02d", i)
		}
		planShipments(t, a, subjects)

		var all shipmentPage
		a.getJSON(t, "/v1/shipments?limit=500", &all)
		var want []string
		for _, sh := range all.Shipments {
			want = append(want, sh.ID)
		}
		if all.NextCursor != "" {
			t.Errorf("one page holding everything: got next_cursor %q, want none", all.NextCursor)
		}
		if !slices.IsSorted(want) {
			t.Errorf("shipments: got ids %v, want them in id order", want)
		}

		for _, tt := range []struct {
			limit     int
			wantSizes []int
		}{
			{limit: 1, wantSizes: []int{1, 1, 1, 1, 1, 1, 1}},
			{limit: 3, wantSizes: []int{3, 3, 1}},
			{limit: 7, wantSizes: []int{7}},
			{limit: 500, wantSizes: []int{7}},
		} {
			query := "limit=" + strconv.Itoa(tt.limit)
			ids, sizes := walkShipments(t, a, query)
			if diff := cmp.Diff(tt.wantSizes, sizes); diff != "" {
				t.Errorf("limit %d: page sizes mismatch (-want +got):\n%s", tt.limit, diff)
			}
			// Every shipment exactly once, in the same order as one page.
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("limit %d: ids across pages mismatch (-one page +walked):\n%s", tt.limit, diff)
			}
			// The order is stable: the same walk again serves the same ids.
			if again, _ := walkShipments(t, a, query); !slices.Equal(ids, again) {
				t.Errorf("limit %d: second walk served %v, first %v", tt.limit, again, ids)
			}
		}

		// A state filter pages the same way.
		if ids, sizes := walkShipments(t, a, "limit=4&state=planned"); !slices.Equal(ids, want) || !slices.Equal(sizes, []int{4, 3}) {
			t.Errorf("planned shipments 4 at a time: got %v in pages %v, want %v in [4 3]", ids, sizes, want)
		}
		if ids, sizes := walkShipments(t, a, "limit=4&state=delivered"); len(ids) != 0 || !slices.Equal(sizes, []int{0}) {
			t.Errorf("delivered shipments: got %v in pages %v, want one empty page", ids, sizes)
		}
	})
}

func TestAPIShipmentListBadParameters(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		planShipments(t, a, []string{"odoo:WH/OUT/B1", "odoo:WH/OUT/B2"})
		// A cursor that decodes, but to no shipment id.
		notAnID := base64.RawURLEncoding.EncodeToString([]byte("not-a-shipment-id"))
		for _, tt := range []struct {
			name, query, wantLocation string
		}{
			{name: "cursor_not_base64", query: "cursor=" + url.QueryEscape("***"), wantLocation: "query.cursor"},
			{name: "cursor_not_an_id", query: "cursor=" + notAnID, wantLocation: "query.cursor"},
			{name: "limit_zero", query: "limit=0", wantLocation: "query.limit"},
			{name: "limit_negative", query: "limit=-1", wantLocation: "query.limit"},
			{name: "limit_too_large", query: "limit=501", wantLocation: "query.limit"},
			{name: "limit_not_a_number", query: "limit=ten", wantLocation: "query.limit"},
			{name: "unknown_state", query: "state=lost", wantLocation: "query.state"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, h, body := a.call(t, http.MethodGet, "/v1/shipments?"+tt.query, "", nil)
				p := wantProblem(t, "GET /v1/shipments?"+tt.query, status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
				var locations []string
				for _, e := range p.Errors {
					locations = append(locations, e.Location)
				}
				if !slices.Contains(locations, tt.wantLocation) {
					t.Errorf("GET /v1/shipments?%s: got error locations %q, want %q among them", tt.query, locations, tt.wantLocation)
				}
			})
		}
	})
}

func TestAPIGetShipment(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		const subject = "odoo:WH/OUT/00042"
		planShipments(t, a, []string{subject})

		var byRef map[string]any
		h := a.getJSON(t, refPath(subject), &byRef)
		id, _ := byRef["id"].(string)
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("shipment by external id: got id %q, want a canonical id", byRef["id"])
		}
		// The shipment's own fields sit beside its timeline and
		// cross-references. Bodies carry no $schema link, and responses no
		// describedBy link: the schemas are in the OpenAPI document.
		for _, field := range []string{"state", "lines", "timeline", "xrefs"} {
			if _, ok := byRef[field]; !ok {
				t.Errorf("shipment body: no %q field in %v", field, byRef)
			}
		}
		if _, ok := byRef["$schema"]; ok {
			t.Errorf("shipment body: a $schema link %v, which no route serves", byRef["$schema"])
		}
		if link := h.Get("Link"); strings.Contains(link, "describedBy") {
			t.Errorf("shipment Link header: got %q, a schema URL no route serves", link)
		}
		var byID map[string]any
		a.getJSON(t, refPath(id), &byID)
		if byID["id"] != id {
			t.Errorf("shipment by canonical id: got id %v, want %s", byID["id"], id)
		}

		for _, tt := range []struct {
			name       string
			ref        string
			wantStatus int
			wantCode   problem.Code
		}{
			{name: "unknown_canonical_id", ref: uuid.NewString(), wantStatus: http.StatusNotFound, wantCode: problem.CodeNotFound},
			{name: "unknown_external_id", ref: "odoo:WH/OUT/99999", wantStatus: http.StatusNotFound, wantCode: problem.CodeNotFound},
			{name: "unknown_system", ref: "sap:WH/OUT/00042", wantStatus: http.StatusNotFound, wantCode: problem.CodeNotFound},
			{name: "no_system", ref: "00042", wantStatus: http.StatusBadRequest, wantCode: problem.CodeBadRequest},
			{name: "empty_external_id", ref: "odoo:", wantStatus: http.StatusBadRequest, wantCode: problem.CodeBadRequest},
			{name: "empty_system", ref: ":WH/OUT/00042", wantStatus: http.StatusBadRequest, wantCode: problem.CodeBadRequest},
			{name: "blank_inside", ref: "odoo:WH OUT", wantStatus: http.StatusBadRequest, wantCode: problem.CodeBadRequest},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := "/v1/shipments/" + url.PathEscape(tt.ref)
				status, h, body := a.call(t, http.MethodGet, path, "", nil)
				wantProblem(t, "GET "+path, status, h, body, tt.wantStatus, tt.wantCode)
			})
		}

		// The OpenAPI document keeps the full schema of the shipment view.
		var doc struct {
			Paths map[string]map[string]struct {
				Responses map[string]struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"responses"`
			} `json:"paths"`
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"schemas"`
			} `json:"components"`
		}
		a.getJSON(t, "/v1/openapi.json", &doc)
		if ref := doc.Paths["/v1/shipments/{id}"]["get"].Responses["200"].Content["application/json"].Schema.Ref; ref != "#/components/schemas/ShipmentView" {
			t.Errorf("openapi: GET /v1/shipments/{id} 200 schema: got $ref %q, want #/components/schemas/ShipmentView", ref)
		}
		props := doc.Components.Schemas["ShipmentView"].Properties
		for _, field := range []string{"id", "state", "lines", "created_at", "timeline", "xrefs"} {
			if _, ok := props[field]; !ok {
				t.Errorf("openapi: ShipmentView has no property %q; got %d properties", field, len(props))
			}
		}
	})
}

// TestAPIIntakeBackPressure fills the processing backlog while the
// processor sleeps: intake must refuse further events with 429, Retry-After
// and a problem, and store none of them.
//
// The processor is put to sleep without a race: with a batch size of 2 and
// a one-hour poll interval it applies the one event stored before Run, in a
// batch smaller than the batch size, and then waits for a wake-up that only
// the intake committer gives. Events stored directly through the event
// store afterwards raise the backlog and wake nobody.
func TestAPIIntakeBackPressure(t *testing.T) {
	t.Parallel()
	validator, err := event.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	parse := func(t *testing.T, id, subject string) *intake.Event {
		t.Helper()
		ev, err := intake.Parse(cloudEvent(id, "shipment.planned", subject, apiPlannedData), validator, intake.Hints{})
		if err != nil {
			t.Fatalf("parsing event %s: %v", id, err)
		}
		return ev
	}
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		const maxBacklog = 2
		a := startAPIHub(t, opts, func(cfg *config.Config) {
			cfg.Intake.MaxBacklog = maxBacklog
			cfg.Processor.BatchSize = 2
			cfg.Processor.PollInterval = time.Hour
		}, func(h *hub.Hub) {
			if _, err := h.Events.Append(t.Context(), []*intake.Event{parse(t, "canary", "odoo:WH/OUT/CANARY")}); err != nil {
				t.Fatalf("storing the canary event: %v", err)
			}
		})
		poll.Until(t, "the canary shipment", func() bool {
			status, _, _ := a.call(t, http.MethodGet, refPath("odoo:WH/OUT/CANARY"), "", nil)
			return status == http.StatusOK
		})
		// The processor is asleep now: fill the backlog behind its back.
		var backlog []*intake.Event
		for i := range maxBacklog {
			backlog = append(backlog, parse(t, fmt.Sprintf("behind-%d", i), fmt.Sprintf("odoo:WH/OUT/BEHIND%d", i)))
		}
		if _, err := a.hub.Events.Append(t.Context(), backlog); err != nil {
			t.Fatalf("storing the backlog: %v", err)
		}

		refused := cloudEvent("refused", "shipment.planned", "odoo:WH/OUT/REFUSED", apiPlannedData)
		for _, tt := range []struct {
			name, contentType string
			body              []byte
		}{
			{name: "single", contentType: intake.ContentTypeCloudEvent, body: refused},
			{name: "batch", contentType: intake.ContentTypeBatch, body: []byte("[" + string(refused) + "]")},
		} {
			status, h, body := a.call(t, http.MethodPost, "/v1/events", tt.contentType, tt.body)
			wantProblem(t, tt.name+" event with a full backlog", status, h, body, http.StatusTooManyRequests, problem.CodeBacklogFull)
			if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 1 {
				t.Errorf("%s event with a full backlog: got Retry-After %q, want a positive number of seconds", tt.name, h.Get("Retry-After"))
			}
		}

		// Nothing was stored: only the backlog is pending.
		if n, err := a.hub.Events.CountPending(t.Context()); err != nil || n != maxBacklog {
			t.Errorf("pending events after the refusals: got %d (%v), want %d", n, err, maxBacklog)
		}
	})
}
