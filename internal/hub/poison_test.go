package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/waybill/waybill/internal/hub"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/loadgen"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestPoisonIsolation runs eight load-generating clients beside one
// client that sends poison: events with NUL characters or invalid UTF-8
// (refused at validation), and events that pass validation but that the
// database refuses (a trigger), alone and inside batches of good events.
// Every other client's request must succeed, and the good events of the
// poisoned batches must be accepted.
func TestPoisonIsolation(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, func(h *hub.Hub) { sqldbtest.RefuseEvents(t, h.DB, "poison") })

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var poisonSent int
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					poisonSent = i
					return
				default:
				}
				sendPoison(t, a, i)
			}
		})
		res, err := loadgen.Run(t.Context(), &loadgen.Params{URL: a.url, Key: a.key, Clients: 8, Events: 2000})
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("loadgen: %v", err)
		}
		if res.Errors != 0 || res.Rejected != 0 || res.Throttled != 0 || res.Accepted != 2000 {
			t.Errorf("other clients: %d errors, %d rejected, %d throttled, %d of 2000 accepted; want no failure",
				res.Errors, res.Rejected, res.Throttled, res.Accepted)
		}
		if poisonSent < 5 {
			t.Errorf("only %d poison rounds ran beside the load", poisonSent)
		}
		t.Logf("%d events at %.0f/s beside %d poison rounds (%d requests); %.0f group commits split to isolate a refused event",
			res.Accepted, res.EventsPerSecond, poisonSent, 5*poisonSent, metric(t, a, "waybill_intake_group_splits_total"))
	})
}

// sendPoison sends round i of poison and checks each answer.
func sendPoison(t *testing.T, a *apiHub, i int) {
	t.Helper()
	const at = "2026-11-26T08:00:00Z"
	ce := func(id, subject string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"poisoner","type":"shipment.cancelled","subject":%q,"time":%q,"data":{}}`, id, subject, at)
	}
	// Refused at validation.
	for _, body := range []string{
		`{"specversion":"1.0","id":"nul-` + fmt.Sprint(i) + `\u0000","source":"poisoner","type":"shipment.cancelled","subject":"x:1","time":"` + at + `","data":{}}`,
		`{"specversion":"1.0","id":"nul-data-` + fmt.Sprint(i) + `","source":"poisoner","type":"shipment.cancelled","subject":"x:1","time":"` + at + `","data":{"reason":"\u0000"}}`,
		"{\"specversion\":\"1.0\",\"id\":\"utf8-" + fmt.Sprint(i) + "\xff\",\"source\":\"poisoner\",\"type\":\"shipment.cancelled\",\"subject\":\"x:1\",\"time\":\"" + at + "\",\"data\":{}}",
	} {
		status, h, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, []byte(body))
		wantProblem(t, "poison at validation", status, h, out, http.StatusUnprocessableEntity, problem.CodeInvalidEvent)
	}
	// Valid, but refused by the database: alone, then in a batch.
	status, h, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, []byte(ce(fmt.Sprint("poison-", i), "x:1")))
	wantProblem(t, "poison refused by the database", status, h, out, http.StatusUnprocessableEntity, problem.CodeInvalidEvent)

	batch := "[" + ce(fmt.Sprint("good-a-", i), "x:1") + "," + ce(fmt.Sprint("poison-b-", i), "x:1") + "," + ce(fmt.Sprint("good-c-", i), "x:1") + "]"
	status, _, out = a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeBatch, []byte(batch))
	var br intake.BatchReceipt
	if err := json.Unmarshal(out, &br); status != http.StatusOK || err != nil {
		t.Fatalf("poisoned batch: got %d %s", status, out)
	}
	if br.Accepted != 2 || br.Rejected != 1 || br.Results[1].Status != http.StatusUnprocessableEntity {
		t.Errorf("poisoned batch: got %+v, want the two good events accepted and the poison refused with 422", br)
	}
}
