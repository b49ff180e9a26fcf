package hub_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestArchiveScheduled runs a hub with the archive on: an event made old
// moves to the archive directory on the next run, the metrics count it,
// and the event sent again is a repeat.
func TestArchiveScheduled(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		if opts.DataDir == "" {
			opts.DataDir = t.TempDir()
		}
		dir := filepath.Join(t.TempDir(), "history")
		a := startAPIHub(t, opts, func(c *config.Config) {
			c.Archive = config.Archive{Enabled: true, Retention: 24 * time.Hour, Dir: dir, Interval: 20 * time.Millisecond}
		}, nil)
		at := time.Now().UTC().Format(time.RFC3339)
		old := cloudEventAt("old-1", at)
		for _, body := range [][]byte{old, cloudEventAt("new-1", at)} {
			if status, _, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, body); status != http.StatusAccepted {
				t.Fatalf("posting an event: got %d %s", status, out)
			}
		}
		db := a.hub.DB
		poll.Until(t, "both events processed", func() bool {
			var n int
			return db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM events WHERE state <> 'pending'`).Scan(&n) == nil && n == 2
		})
		// The first event was accepted three days ago, as far as the
		// archive can tell.
		if _, err := db.ExecContext(t.Context(), db.Dialect.Rebind(`UPDATE events SET accepted_at = ? WHERE source_id = 'old-1'`),
			time.Now().Add(-72*time.Hour).UnixMicro()); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "the old event archived", func() bool {
			return metric(t, a, `waybill_archive_rows_total{kind="events"}`) == 1
		})
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
			t.Errorf("manifest: %v", err)
		}
		if got := metric(t, a, "waybill_archive_last_run_timestamp_seconds"); got < float64(time.Now().Add(-time.Hour).Unix()) {
			t.Errorf("last run: got %v, want a time", got)
		}
		status, _, out := a.call(t, http.MethodPost, "/v1/events", intake.ContentTypeCloudEvent, old)
		if status != http.StatusOK || !strings.Contains(string(out), `"duplicate":true`) {
			t.Errorf("sending the archived event again: got %d %s, want a duplicate", status, out)
		}
	})
}

func cloudEventAt(id, at string) []byte {
	return []byte(`{"specversion":"1.0","id":"` + id + `","source":"tms","type":"shipment.cancelled","subject":"x:1","time":"` + at + `","data":{}}`)
}
