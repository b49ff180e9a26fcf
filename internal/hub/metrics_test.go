package hub_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
)

// TestMetricLabelsBounded sends 10,000 events from distinct sources: the
// intake metrics count them under "other", and only sources the
// configuration names keep their own label.
func TestMetricLabelsBounded(t *testing.T) {
	t.Parallel()
	a := startAPIHub(t, sqldb.Options{DataDir: t.TempDir()}, func(c *config.Config) {
		c.Intake.MetricSources = []string{"tms-named"}
	}, nil)
	at := time.Now().UTC().Format(time.RFC3339)
	for b := range 10 {
		var batch bytes.Buffer
		batch.WriteByte('[')
		for i := range 1000 {
			if i > 0 {
				batch.WriteByte(',')
			}
			fmt.Fprintf(&batch, `{"specversion":"1.0","id":"e","source":"client-%d-%d","type":"shipment.cancelled","subject":"x:1","time":%q,"data":{}}`, b, i, at)
		}
		batch.WriteByte(']')
		if status, _, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeBatch, batch.Bytes()); status != http.StatusOK || !strings.Contains(string(out), `"accepted":1000`) {
			t.Fatalf("batch %d: got %d %.300s", b, status, out)
		}
	}
	if status, _, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, []byte(`{"specversion":"1.0","id":"e","source":"tms-named","type":"shipment.cancelled","subject":"x:1","time":"`+at+`","data":{}}`)); status != http.StatusAccepted {
		t.Fatalf("named source: got %d %s", status, out)
	}

	resp, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	series := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "waybill_events_total{") {
			name, value, _ := strings.Cut(line, " ")
			series[name] = value
		}
	}
	if len(series) > 5 {
		t.Errorf("waybill_events_total has %d series after 10,000 sources, want a handful: %v", len(series), series)
	}
	if got := series[`waybill_events_total{outcome="accepted",source="other",type="shipment.cancelled"}`]; got != "10000" {
		t.Errorf("other sources: got %q accepted, want 10000 (series %v)", got, series)
	}
	if got := series[`waybill_events_total{outcome="accepted",source="tms-named",type="shipment.cancelled"}`]; got != "1" {
		t.Errorf("named source: got %q accepted, want 1 (series %v)", got, series)
	}
}
