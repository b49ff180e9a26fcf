package relay_test

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/relay"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestRelayRefusals covers what the hub refuses: the relay's upstream key
// (forwarding stops, status unauthorized, until the key file holds a good
// key), a batch larger than the hub takes (halved until it fits), and one
// event the hub finds invalid although the relay accepted it (a dead
// letter with the hub's reason, which does not hold up the events after
// it).
func TestRelayRefusals(t *testing.T) {
	kek := config.Secret(seal.FormatKEK(seal.NewKey()))
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		cfg := hubConfig(opts, kek)
		cfg.Intake.MaxBatchEvents = 7
		cfg.Intake.MaxEventAge = time.Hour
		rh := startHub(t, cfg)
		good, err := os.ReadFile(hubKeyFile(t, rh.h))
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "hub.key")
		if err := os.WriteFile(keyFile, []byte("wb_0123456789ab_notthekey\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		rr := startRelay(t, relay.Options{
			Database: relayDatabase(t, opts), Listen: "127.0.0.1:0",
			Forward: relay.ForwarderOptions{
				Upstream: rh.h.URL(), KeyFunc: relay.KeyFile(keyFile), Batch: 40,
				MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ProbeInterval: 50 * time.Millisecond,
			},
		})

		var sent atomic.Int64
		load(t, rr, 2, 5, 0, 2, &sent)
		// Accepted by the relay (its window is a year), too old for the hub.
		client := &http.Client{}
		defer client.CloseIdleConnections()
		post(t, client, rr, [][]byte{eventBody(t, "SHP-OLD", 0, time.Now().Add(-48*time.Hour))})
		load(t, rr, 2, 5, 2, 2, &sent)

		waitFor(t, "the relay reports the key refused", func() bool {
			st := relayStatus(t, rr)
			return st.State == relay.StateUnauthorized && !st.UpstreamUp
		})
		if st := relayStatus(t, rr); st.Forwarded != 0 || st.Backlog != sent.Load()+1 {
			t.Errorf("with the key refused: got forwarded %d, backlog %d; want 0, %d", st.Forwarded, st.Backlog, sent.Load()+1)
		}
		if err := os.WriteFile(keyFile, good, 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the relay has forwarded everything", func() bool { return relayStatus(t, rr).Backlog == 0 })

		st := relayStatus(t, rr)
		if st.Forwarded != sent.Load() || st.Rejected != 1 || st.State == relay.StateUnauthorized || !st.UpstreamUp {
			t.Errorf("got forwarded %d, rejected %d, state %s, upstream up %v; want %d, 1, not unauthorized, true",
				st.Forwarded, st.Rejected, st.State, st.UpstreamUp, sent.Load())
		}
		if len(st.DeadLetters) != 1 {
			t.Fatalf("got %d dead letters, want 1", len(st.DeadLetters))
		}
		if dl := st.DeadLetters[0]; dl.SourceID != "SHP-OLD-0" || !strings.Contains(dl.Reason, string(problem.CodeInvalidEvent)) || !strings.Contains(dl.Reason, "/time") {
			t.Errorf("got dead letter %s with reason %q, want SHP-OLD-0 refused as invalid-event at /time", dl.SourceID, dl.Reason)
		}
		if got := len(hubEvents(t, rh.h)); int64(got) != sent.Load() {
			t.Errorf("the hub holds %d events, want %d", got, sent.Load())
		}
		metrics := scrape(t, rr)
		for name, want := range map[string]string{
			"waybill_relay_backlog":                             "0",
			"waybill_relay_rejected_total":                      "1",
			"waybill_relay_upstream_up":                         "1",
			"waybill_relay_forwarded_total":                     strconv.FormatInt(sent.Load(), 10),
			`waybill_relay_retries_total{cause="unauthorized"}`: "",
		} {
			got, ok := metrics[name]
			if !ok || want != "" && got != want {
				t.Errorf("metric %s: got %q (present %v), want %q", name, got, ok, want)
			}
		}
		if metrics["waybill_relay_last_success_timestamp_seconds"] == "0" {
			t.Error("waybill_relay_last_success_timestamp_seconds is 0 after forwarding")
		}
	})
}

// scrape reads the relay's /metrics into a map of series to value.
func scrape(t *testing.T, rr *runningRelay) map[string]string {
	t.Helper()
	resp, err := http.Get(rr.r.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}
