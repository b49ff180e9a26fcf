package hub_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// The fixtures are read where their mappers' tests keep them.
func fixture(t *testing.T, pkg, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", pkg, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const standardSecret = "whsec_Zml4dHVyZS1vbmx5LXN0YW5kYXJkLXdlYmhvb2tzISE="

// sourcesFile writes the source profiles of the end-to-end tests.
func sourcesFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	data := `sources:
  - id: xktl
    name: Kestrel Line
    format: x12
    auth: {scheme: api_key}
    currency: USD
    signer_remark: POD SIGNED BY
    x12: {interchange_id: LARKSPURSUP, qualifier: ZZ}
  - id: vennhoff
    format: edifact
    auth: {scheme: api_key}
  - id: easypost
    format: easypost
    auth:
      scheme: easypost
      # A rotation: the old secret and the new one are both valid.
      secrets: [old-easypost-secret, fixture-only-easypost-secret]
  - id: aftership
    format: aftership
    auth: {scheme: aftership, secrets_env: [TEST_AFTERSHIP_SECRET]}
  - id: p44
    format: project44
    auth: {scheme: standard_webhooks, secrets: [` + standardSecret + `]}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixtureDates widens the event time window to take the partners' sample
// files, which are dated November 2025.
func fixtureDates(c *config.Config) {
	c.Intake.MaxEventAge = time.Since(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) + 365*24*time.Hour
}

// post sends body to path with extra headers and the hub's admin key
// unless headers set Authorization ("-" sends none).
func (a *apiHub) post(t *testing.T, path string, body []byte, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	for k, v := range headers {
		if k == "Authorization" && v == "-" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func (a *apiHub) postReceipt(t *testing.T, what, path string, body []byte, headers map[string]string) source.PayloadReceipt {
	t.Helper()
	status, _, body := a.post(t, path, body, headers)
	if status != http.StatusAccepted {
		t.Fatalf("%s: got %d %s, want 202", what, status, body)
	}
	var rc source.PayloadReceipt
	if err := json.Unmarshal(body, &rc); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return rc
}

type shipmentView struct {
	State      string `json:"state"`
	Milestones []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
		Signer string `json:"signer"`
		Late   bool   `json:"late"`
	} `json:"milestones"`
	Charges []struct {
		Code   string `json:"code"`
		Amount struct {
			Minor int64 `json:"minor"`
		} `json:"amount"`
	} `json:"charges"`
}

// waitShipment polls the shipment until cond holds, and shows its timeline
// when it never does.
func waitShipment(t *testing.T, a *apiHub, what, ref string, cond func(shipmentView) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(a.shipment(t, ref)) {
		if time.Now().After(deadline) {
			_, _, body := a.call(t, http.MethodGet, refPath(ref), "", nil)
			t.Fatalf("timed out waiting for %s; shipment:\n%s", what, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *apiHub) shipment(t *testing.T, ref string) shipmentView {
	t.Helper()
	var v shipmentView
	status, _, body := a.call(t, http.MethodGet, refPath(ref), "", nil)
	switch status {
	case http.StatusNotFound: // not processed yet
	case http.StatusOK:
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("GET %s: %d %s", ref, status, body)
	}
	return v
}

// TestSourcesEndToEnd takes a shipment from Waybill's own events through a
// carrier's X12 214s and 210 on the EDI endpoint, and checks webhook
// authentication, on both engines.
func TestSourcesEndToEnd(t *testing.T) {
	t.Setenv("TEST_AFTERSHIP_SECRET", "fixture-only-aftership-secret")
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, func(c *config.Config) { c.Intake.SourcesFile = sourcesFile(t); fixtureDates(c) }, nil)

		// A shipment Waybill knows by its picking; the carrier will know it
		// by BOL and PRO.
		planned := `{"customer":{"name":"Pinecrest Hardware"},"carrier":{"scac":"XKTL","name":"Kestrel Line"},"origin":{"name":"Larkspur Reno","country":"US"},"destination":{"name":"Pinecrest Columbus","country":"US"},"lines":[{"line_id":"1","sku":"CAB-OUT-48","quantity":{"value":"6","unit":"C62"}}],"references":{"bol":"BOL-550193"}}`
		for i, ev := range [][]byte{
			cloudEvent("p1", "shipment.planned", "odoo:WH/OUT/00412", planned),
			cloudEvent("r1", "inventory.reserved", "odoo:WH/OUT/00412", `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`),
			cloudEvent("l1", "shipment.loaded", "odoo:WH/OUT/00412", `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`),
		} {
			if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ev); status != http.StatusAccepted {
				t.Fatalf("event %d: %d %s", i, status, body)
			}
		}
		poll.Until(t, "loaded", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "loaded" })

		// 214-01: in transit at Joplin, found by BOL, learns the PRO.
		rc := a.postReceipt(t, "214-01", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), nil)
		if len(rc.Events) != 2 || rc.Status != payload.StatusAccepted || !strings.Contains(rc.Ack, "AK9*A*1*1*1") {
			t.Fatalf("214-01 receipt: %+v", rc)
		}
		if e := rc.Events[0]; e.EventURL != "/v1/events/"+e.ID {
			t.Errorf("214-01 receipt: event %s links to %q", e.ID, e.EventURL)
		}
		if !strings.Contains(rc.Ack, "*ZZ*LARKSPURSUP    *") {
			t.Errorf("the 997 is not sent as the configured interchange id:\n%s", rc.Ack)
		}
		poll.Until(t, "in transit", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "in_transit" })
		// The carrier's PRO now finds the shipment.
		if v := a.shipment(t, "pro:XKTL/KT4471902"); v.State != "in_transit" {
			t.Errorf("by PRO: state %s", v.State)
		}

		// The same file again: every event is a repeat, nothing applies twice.
		again := a.postReceipt(t, "214-01 again", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), nil)
		for _, e := range again.Events {
			if !e.Duplicate {
				t.Errorf("repeat of 214-01: event %s not a duplicate", e.ID)
			}
		}

		// 214-02: arrival and the carrier's delivery with its signer.
		a.postReceipt(t, "214-02", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-02-delivered-pod.edi"), nil)
		poll.Until(t, "arrived", func() bool { return a.shipment(t, "odoo:WH/OUT/00412").State == "arrived" })
		v := a.shipment(t, "odoo:WH/OUT/00412")
		signer := ""
		for _, m := range v.Milestones {
			if m.Type == "shipment.tracked" && m.Status == "delivered" {
				signer = m.Signer
			}
		}
		if signer != "R OKAFOR" {
			t.Errorf("carrier's delivery signer %q, want R OKAFOR; milestones %+v", signer, v.Milestones)
		}

		// 210-02: the carrier's invoice for the same shipment.
		a.postReceipt(t, "210-02", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-210-02-tl-detention-lumper.edi"), nil)
		waitShipment(t, a, "charges", "odoo:WH/OUT/00412", func(v shipmentView) bool { return len(v.Charges) == 4 })
		var total int64
		for _, c := range a.shipment(t, "odoo:WH/OUT/00412").Charges {
			total += c.Amount.Minor
		}
		if total != 332340 {
			t.Errorf("charges total %d, want 332340", total)
		}

		// A transaction set with a wrong count: rejected with its 997, kept.
		status, h, body := a.post(t, "/v1/sources/xktl/edi", fixture(t, "edi/x12", "neg-x12-wrong-se-count.edi"), nil)
		p := wantProblem(t, "wrong SE count", status, h, body, http.StatusUnprocessableEntity, problem.CodeRejectedPayload)
		if !strings.Contains(p.Ack, "AK5*R*4") || p.PayloadID == "" {
			t.Errorf("rejection: ack %q payload %q", p.Ack, p.PayloadID)
		}
		var stored struct {
			Status   string   `json:"status"`
			Error    string   `json:"error"`
			Body     string   `json:"body"`
			EventIDs []string `json:"event_ids"`
		}
		a.getJSON(t, "/v1/payloads/"+p.PayloadID, &stored)
		if stored.Status != "rejected" || stored.Body != string(fixture(t, "edi/x12", "neg-x12-wrong-se-count.edi")) || len(stored.EventIDs) != 0 {
			t.Errorf("stored rejected payload: %+v", stored)
		}
		a.getJSON(t, "/v1/payloads/"+rc.PayloadID, &stored)
		if stored.Status != "accepted" || len(stored.EventIDs) != 2 {
			t.Errorf("stored 214-01 payload: %+v", stored)
		}

		// From an event of the timeline back to the payloads it came from.
		var of struct {
			PayloadIDs []string `json:"payload_ids"`
		}
		a.getJSON(t, "/v1/payloads?source=%2Fsources%2Fxktl&event_id="+rc.Events[0].SourceID, &of)
		if len(of.PayloadIDs) != 2 || of.PayloadIDs[0] != rc.PayloadID || of.PayloadIDs[1] != again.PayloadID {
			t.Errorf("payloads of event %s: %v, want %s and %s", rc.Events[0].SourceID, of.PayloadIDs, rc.PayloadID, again.PayloadID)
		}

		// A stored payload received again: its events are repeats.
		replayed := a.postReceipt(t, "replay", "/v1/payloads/"+rc.PayloadID+"/replay", nil, nil)
		if len(replayed.Events) != 2 || !replayed.Events[0].Duplicate || replayed.PayloadID == rc.PayloadID {
			t.Errorf("replay: %+v", replayed)
		}
		if got := auditOf(t, a.hub, audit.ActionPayloadReplayed); len(got) != 1 || got[0].Subject != rc.PayloadID ||
			!strings.Contains(string(got[0].Details), `"replay_payload_id":"`+replayed.PayloadID+`"`) {
			t.Errorf("payload.replayed audit entries: %+v", got)
		}
		status, h, body = a.post(t, "/v1/payloads/nope/replay", nil, nil)
		wantProblem(t, "replaying nothing", status, h, body, http.StatusNotFound, problem.CodeNotFound)

		// Wrong endpoint, unknown source, no key.
		status, h, body = a.post(t, "/v1/sources/xktl/webhooks", []byte("{}"), nil)
		wantProblem(t, "EDI source on webhooks", status, h, body, http.StatusNotFound, problem.CodeNotFound)
		status, h, body = a.post(t, "/v1/sources/nobody/edi", []byte("x"), nil)
		wantProblem(t, "unknown source", status, h, body, http.StatusNotFound, problem.CodeUnknownSource)
		status, h, body = a.post(t, "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), map[string]string{"Authorization": "-"})
		wantProblem(t, "no key", status, h, body, http.StatusUnauthorized, problem.CodeUnauthorized)

		// Webhooks: the fixture's signature, by the second secret of a
		// rotation, is accepted; the events name a shipment Waybill does not
		// know, which processing reports.
		ep := fixture(t, "tracking/jsonmap", "webhook-01-easypost-tracker-updated.json")
		rcEP := a.postReceipt(t, "easypost", "/v1/sources/easypost/webhooks", ep, map[string]string{"Authorization": "-",
			"X-Hmac-Signature": "hmac-sha256-hex=343509c31c6af9f7798f68e3ef0714324b14dc165e29d2896df02c399e334f32"})
		if len(rcEP.Events) < 4 {
			t.Errorf("easypost events: %+v", rcEP.Events)
		}
		before := countPayloads(t, a)
		for name, hdr := range map[string]map[string]string{
			"wrong secret":   {"X-Hmac-Signature": "hmac-sha256-hex=da0007665531ace0f1ac22d91283c58a7bec0b7961546f36b4d068ee6e991a9d"},
			"no signature":   {},
			"bearer instead": {"Authorization": "Bearer " + a.key},
		} {
			if hdr["Authorization"] == "" {
				hdr["Authorization"] = "-"
			}
			status, h, body := a.post(t, "/v1/sources/easypost/webhooks", ep, hdr)
			wantProblem(t, "easypost "+name, status, h, body, http.StatusUnauthorized, problem.CodeUnauthorized)
		}
		if after := countPayloads(t, a); after != before {
			t.Errorf("refused webhooks were stored: %d payloads, then %d", before, after)
		}
		if n := metric(t, a, `waybill_source_auth_failures_total{reason="bad_signature",source="easypost"}`); n != 1 {
			t.Errorf("bad signatures counted %v, want 1", n)
		}
		if n := metric(t, a, `waybill_source_auth_failures_total{reason="missing",source="easypost"}`); n != 2 {
			t.Errorf("missing signatures counted %v, want 2", n)
		}

		// AfterShip, secret from the environment.
		as := fixture(t, "tracking/jsonmap", "webhook-02-aftership-tracking-update.json")
		a.postReceipt(t, "aftership", "/v1/sources/aftership/webhooks", as, map[string]string{"Authorization": "-",
			"aftership-hmac-sha256": sign(t, "fixture-only-aftership-secret", as)})

		// Signed, but nothing identifies or correlates it: 422, kept.
		noID := fixture(t, "tracking/jsonmap", "neg-json-missing-id.json")
		status, h, body = a.post(t, "/v1/sources/aftership/webhooks", noID, map[string]string{"Authorization": "-",
			"aftership-hmac-sha256": sign(t, "fixture-only-aftership-secret", noID)})
		p = wantProblem(t, "missing id", status, h, body, http.StatusUnprocessableEntity, problem.CodeRejectedPayload)
		for _, ptr := range []string{"/event_id", "/msg/id", "/msg/tracking_number"} {
			if !strings.Contains(p.Detail, ptr) {
				t.Errorf("missing id: detail %q does not name %s", p.Detail, ptr)
			}
		}

		// Standard Webhooks: fresh, then replayed.
		p44 := fixture(t, "tracking/jsonmap", "webhook-03-project44-ftl-tracking.json")
		hdr := standardHeaders(t, "msg_e2e_1", time.Now(), p44)
		first := a.postReceipt(t, "project44", "/v1/sources/p44/webhooks", p44, hdr)
		payloads := countPayloads(t, a)
		status, _, body = a.post(t, "/v1/sources/p44/webhooks", p44, hdr)
		var dup source.PayloadReceipt
		if err := json.Unmarshal(body, &dup); status != http.StatusOK || err != nil || dup.Status != payload.StatusDuplicate || len(dup.Events) != 0 {
			t.Errorf("replayed: %d %s", status, body)
		}
		if n := countPayloads(t, a); n != payloads {
			t.Errorf("a replay was stored: %d payloads, then %d", payloads, n)
		}
		// The next push repeats the whole history under a new id: every
		// event is a repeat.
		next := a.postReceipt(t, "project44 next push", "/v1/sources/p44/webhooks", p44, standardHeaders(t, "msg_e2e_2", time.Now(), p44))
		if len(next.Events) != len(first.Events) || len(first.Events) == 0 {
			t.Fatalf("pushes made %d and %d events", len(first.Events), len(next.Events))
		}
		for _, e := range next.Events {
			if !e.Duplicate {
				t.Errorf("full-history push: event %s not a repeat", e.ID)
			}
		}
		status, h, body = a.post(t, "/v1/sources/p44/webhooks", p44, standardHeaders(t, "msg_e2e_3", time.Now().Add(-6*time.Minute), p44))
		wantProblem(t, "stale", status, h, body, http.StatusUnauthorized, problem.CodeUnauthorized)

		// Broken JSON from a verified sender: 400, and kept.
		bad := fixture(t, "tracking/jsonmap", "neg-json-invalid.json")
		status, h, body = a.post(t, "/v1/sources/p44/webhooks", bad, standardHeaders(t, "msg_e2e_4", time.Now(), bad))
		if p := wantProblem(t, "invalid JSON", status, h, body, http.StatusBadRequest, problem.CodeBadRequest); p.PayloadID == "" {
			t.Error("invalid JSON: no payload id")
		}
	})
}

func sign(t *testing.T, secret string, body []byte) string {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func standardHeaders(t *testing.T, id string, at time.Time, body []byte) map[string]string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(standardSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%s.", id, ts)
	m.Write(body)
	return map[string]string{"Authorization": "-", "webhook-id": id, "webhook-timestamp": ts,
		"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))}
}

func countPayloads(t *testing.T, a *apiHub) int {
	t.Helper()
	var n int
	if err := a.hub.DB.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM source_payloads`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// metric returns the value of one sample line of /metrics.
func metric(t *testing.T, a *apiHub, sample string) float64 {
	t.Helper()
	_, _, body := a.call(t, http.MethodGet, "/metrics", "", nil)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestSourcesPODApp takes the two proof-of-delivery fixtures of a driver
// app through intake: the full delivery bills; the partial one with
// damage, a shortage and a position far from the stop waits in review.
func TestSourcesPODApp(t *testing.T) {
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		path := filepath.Join(t.TempDir(), "sources.yaml")
		if err := os.WriteFile(path, []byte("sources:\n  - id: driver\n    format: pod_app\n    auth: {scheme: api_key}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		a := startAPIHub(t, opts, func(c *config.Config) {
			fixtureDates(c)
			c.Intake.SourcesFile = path
			c.Workflow.PODRadiusMeters = 150
		}, nil)
		plan := func(picking string, lines [][2]string) {
			var pl, ql []string
			for i, l := range lines {
				pl = append(pl, fmt.Sprintf(`{"line_id":"%d","sku":%q,"quantity":{"value":%q,"unit":"C62"}}`, i+1, l[0], l[1]))
				ql = append(ql, fmt.Sprintf(`{"line_id":"%d","quantity":{"value":%q,"unit":"C62"}}`, i+1, l[1]))
			}
			planned := `{"customer":{"name":"Pinecrest Hardware"},"origin":{"name":"Larkspur Reno","country":"US"},"destination":{"name":"Store","country":"US"},"lines":[` + strings.Join(pl, ",") + `]}`
			qty := `{"lines":[` + strings.Join(ql, ",") + `]}`
			for i, ev := range [][]byte{
				cloudEvent(picking+"-p", "shipment.planned", "odoo:"+picking, planned),
				cloudEvent(picking+"-r", "inventory.reserved", "odoo:"+picking, qty),
				cloudEvent(picking+"-l", "shipment.loaded", "odoo:"+picking, qty),
			} {
				if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ev); status != http.StatusAccepted {
					t.Fatalf("event %d: %d %s", i, status, body)
				}
			}
			waitShipment(t, a, "loaded", "odoo:"+picking, func(v shipmentView) bool { return v.State == "loaded" })
		}
		plan("WH/OUT/00431", [][2]string{{"CAB-OUT-48", "6"}, {"SHELF-KIT-4", "12"}})
		plan("WH/OUT/00436", [][2]string{{"LAMP-FLR-02", "10"}, {"BULB-LED-6PK", "24"}})

		rc := a.postReceipt(t, "pod-01", "/v1/sources/driver/webhooks", fixture(t, "tracking/podapp", "pod-01-full-delivery.json"), nil)
		if len(rc.Events) != 1 || rc.Events[0].Type != "shipment.delivered" {
			t.Fatalf("pod-01 receipt %+v", rc)
		}
		var full struct {
			State    string `json:"state"`
			Billable bool   `json:"billable"`
			POD      struct {
				Signer     string `json:"signer"`
				Validation struct {
					Status    string   `json:"status"`
					DistanceM *float64 `json:"distance_m"`
				} `json:"validation"`
			} `json:"pod"`
		}
		waitShipment(t, a, "pod-01 delivered", "odoo:WH/OUT/00431", func(v shipmentView) bool { return v.State == "delivered" })
		a.getJSON(t, refPath("odoo:WH/OUT/00431"), &full)
		if !full.Billable || full.POD.Signer != "Dana Whitfield" || full.POD.Validation.DistanceM == nil || *full.POD.Validation.DistanceM != 34 {
			t.Errorf("pod-01: %+v", full)
		}

		rc = a.postReceipt(t, "pod-02", "/v1/sources/driver/webhooks", fixture(t, "tracking/podapp", "pod-02-partial-damaged.json"), nil)
		if len(rc.Events) != 3 {
			t.Fatalf("pod-02 receipt %+v", rc)
		}
		var part struct {
			State       string `json:"state"`
			ResumeState string `json:"resume_state"`
			Billable    bool   `json:"billable"`
			Lines       []struct {
				SKU       string `json:"sku"`
				Delivered *struct {
					Value string `json:"value"`
				} `json:"delivered"`
			} `json:"lines"`
			Exceptions []struct {
				Category string `json:"category"`
				Status   string `json:"status"`
			} `json:"exceptions"`
			POD struct {
				Remarks    string `json:"remarks"`
				Validation struct {
					Status    string   `json:"status"`
					DistanceM *float64 `json:"distance_m"`
				} `json:"validation"`
			} `json:"pod"`
		}
		waitShipment(t, a, "pod-02 delivered", "odoo:WH/OUT/00436", func(v shipmentView) bool { return v.State == "exception" })
		poll.Until(t, "pod-02 proof", func() bool {
			a.getJSON(t, refPath("odoo:WH/OUT/00436"), &part)
			return part.ResumeState == "delivered"
		})
		if part.Billable || len(part.Exceptions) != 2 || part.POD.Validation.Status != "failed" || part.POD.Validation.DistanceM == nil ||
			*part.POD.Validation.DistanceM < 400 || *part.POD.Validation.DistanceM > 500 ||
			!strings.Contains(part.POD.Remarks, "RECEIVED SUBJECT TO INSPECTION") {
			t.Errorf("pod-02: %+v", part)
		}
		if part.Lines[0].SKU != "LAMP-FLR-02" || part.Lines[0].Delivered == nil || part.Lines[0].Delivered.Value != "8" {
			t.Errorf("pod-02 lines: %+v", part.Lines)
		}
	})
}

// TestTenderRoundTrip: a shipment whose carrier takes EDI is tendered by
// a 204 written to the carrier's outbox; the carrier's 990 accepting it
// assigns the carrier, whose PRO then finds the shipment.
func TestTenderRoundTrip(t *testing.T) {
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		outbox := filepath.Join(t.TempDir(), "out")
		path := filepath.Join(t.TempDir(), "sources.yaml")
		if err := os.WriteFile(path, []byte("sources:\n  - id: xktl\n    format: x12\n    auth: {scheme: api_key}\n"+
			"    x12: {interchange_id: LARKSPURSUP, qualifier: ZZ, scac: XKTL, tender_dir: "+outbox+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		a := startAPIHub(t, opts, func(c *config.Config) {
			c.Intake.SourcesFile = path
			c.Jobs.RetryBase = 10 * time.Millisecond
			fixtureDates(c)
		}, nil)
		planned := `{"customer":{"name":"Pinecrest Hardware"},"carrier":{"scac":"XKTL"},` +
			`"origin":{"name":"Larkspur Supply Co","city":"Reno","region":"NV","postal_code":"89502","country":"US"},` +
			`"destination":{"name":"Pinecrest Hardware","city":"Columbus","region":"OH","postal_code":"43215","country":"US"},` +
			`"lines":[{"line_id":"1","sku":"CAB-OUT-48","quantity":{"value":"6","unit":"C62"}}],"references":{"bol":"BOL-550193"},` +
			`"pickup_window":{"start":"2025-11-10T15:00:00Z","end":"2025-11-10T17:00:00Z"},"delivery_window":{"start":"2025-11-14T14:00:00Z","end":"2025-11-14T18:00:00Z"}}`
		for i, ev := range [][]byte{
			cloudEvent("t-p", "shipment.planned", "odoo:WH/OUT/00500", planned),
			cloudEvent("t-r", "inventory.reserved", "odoo:WH/OUT/00500", `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`),
		} {
			if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ev); status != http.StatusAccepted {
				t.Fatalf("event %d: %d %s", i, status, body)
			}
		}
		var files []string
		poll.Until(t, "the 204 in the outbox", func() bool {
			files, _ = filepath.Glob(filepath.Join(outbox, "204-*.edi"))
			return len(files) == 1
		})
		tender, _ := os.ReadFile(files[0])
		for _, want := range []string{"ST*204*0001", "B2**XKTL**BOL-550193**PP", "N4*Columbus*OH*43215*US"} {
			if !strings.Contains(string(tender), want) {
				t.Errorf("204 lacks %q:\n%s", want, tender)
			}
		}
		rc := a.postReceipt(t, "990", "/v1/sources/xktl/edi", fixture(t, "edi/x12", "x12-990-01-tender-responses.edi"), nil)
		if len(rc.Events) != 2 || rc.Events[0].Type != "dispatch.assigned" || rc.Events[1].Type != "shipment.exception" {
			t.Fatalf("990 receipt: %+v", rc)
		}
		waitShipment(t, a, "assigned", "odoo:WH/OUT/00500", func(v shipmentView) bool { return v.State == "assigned" })
		if v := a.shipment(t, "pro:XKTL/KT4471902"); v.State != "assigned" {
			t.Errorf("by the PRO of the 990: state %q", v.State)
		}
	})
}

// TestSourcesOrderIndependence applies 214-02 before 214-01 to one
// shipment and in order to another: both end in the same state with the
// same carrier timeline.
func TestSourcesOrderIndependence(t *testing.T) {
	t.Setenv("TEST_AFTERSHIP_SECRET", "fixture-only-aftership-secret")
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, func(c *config.Config) { c.Intake.SourcesFile = sourcesFile(t); fixtureDates(c) }, nil)
		first, second := fixture(t, "edi/x12", "x12-214-01-in-transit.edi"), fixture(t, "edi/x12", "x12-214-02-delivered-pod.edi")
		// The second shipment's copies: same length, other BOL and PRO.
		other := func(b []byte) []byte {
			return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("BOL-550193"), []byte("BOL-550194")), []byte("KT4471902"), []byte("KT4471903"))
		}
		timeline := map[string]string{}
		for _, s := range []struct {
			picking, bol string
			files        [][]byte
		}{
			{"WH/OUT/00601", "BOL-550193", [][]byte{first, second}},
			{"WH/OUT/00602", "BOL-550194", [][]byte{other(second), other(first)}},
		} {
			planned := `{"customer":{"name":"Pinecrest"},"carrier":{"scac":"XKTL"},"origin":{"name":"Reno"},"destination":{"name":"Columbus"},` +
				`"lines":[{"line_id":"1","sku":"A","quantity":{"value":"6","unit":"C62"}}],"references":{"bol":"` + s.bol + `"}}`
			for i, ev := range [][]byte{
				cloudEvent(s.picking+"p", "shipment.planned", "odoo:"+s.picking, planned),
				cloudEvent(s.picking+"r", "inventory.reserved", "odoo:"+s.picking, `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`),
				cloudEvent(s.picking+"l", "shipment.loaded", "odoo:"+s.picking, `{"lines":[{"line_id":"1","quantity":{"value":"6","unit":"C62"}}]}`),
			} {
				if status, _, body := a.call(t, http.MethodPost, "/v1/events", "application/cloudevents+json", ev); status != http.StatusAccepted {
					t.Fatalf("event %d: %d %s", i, status, body)
				}
			}
			waitShipment(t, a, "loaded", "odoo:"+s.picking, func(v shipmentView) bool { return v.State == "loaded" })
			for i, f := range s.files {
				a.postReceipt(t, fmt.Sprintf("%s file %d", s.picking, i), "/v1/sources/xktl/edi", f, nil)
				// One at a time, so the second really comes second.
				n := 2 * (i + 1)
				waitShipment(t, a, "processed", "odoo:"+s.picking, func(v shipmentView) bool { return countTracked(v) == n })
			}
			v := a.shipment(t, "odoo:"+s.picking)
			var got []string
			for _, m := range v.Milestones {
				if m.Type == "shipment.tracked" {
					got = append(got, m.Status+"/"+m.Signer)
				}
			}
			timeline[s.picking] = v.State + ": " + strings.Join(got, ", ")
		}
		if timeline["WH/OUT/00601"] != timeline["WH/OUT/00602"] || !strings.HasPrefix(timeline["WH/OUT/00601"], "arrived: ") {
			t.Errorf("order changed the outcome:\nin order:  %s\nreversed:  %s", timeline["WH/OUT/00601"], timeline["WH/OUT/00602"])
		}
	})
}

func countTracked(v shipmentView) int {
	n := 0
	for _, m := range v.Milestones {
		if m.Type == "shipment.tracked" {
			n++
		}
	}
	return n
}
