package subscription

import (
	"database/sql"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestPruneAndGauges checks that delivered and given-up messages past
// their retention are deleted while pending ones stay, and the gauges of
// what waits and what is disabled.
func TestPruneAndGauges(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		reg := prometheus.NewRegistry()
		s := New(db, Options{Targets: Targets{AllowPrivate: true, AllowHTTP: true}, Registerer: reg})
		a, _, err := s.Create(ctx, "", &Subscription{URL: "http://127.0.0.1/a", EventTypes: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := s.Create(ctx, "", &Subscription{URL: "http://127.0.0.1/b", EventTypes: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := s.Update(ctx, "", b.ID, &Patch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		old, recent := time.Now().Add(-40*24*time.Hour), time.Now().Add(-time.Hour)
		var msgs []Message
		for i, at := range []time.Time{old, old, old, recent, recent} {
			msgs = append(msgs, Message{Subscription: a.ID, Seq: int64(i + 1), ID: messageID(a.ID, string(rune('a'+i))), ShipmentID: "s1",
				EventType: "shipment.planned", Body: []byte(`{}`), CreatedAt: at})
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.st.insertTx(ctx, tx, msgs) }); err != nil {
			t.Fatal(err)
		}
		// Old: one delivered, one given up, one still pending; recent: one
		// delivered, one pending.
		outs := []outcome{{m: &msgs[0], state: "delivered", next: old}, {m: &msgs[1], state: "failed", next: old}, {m: &msgs[3], state: "delivered", next: recent}}
		if err := s.st.settle(ctx, a.ID, outs); err != nil {
			t.Fatal(err)
		}
		if got := gaugeOf(t, reg, "waybill_webhook_messages_pending"); got != 2 {
			t.Errorf("pending gauge %v, want 2", got)
		}
		if got := gaugeOf(t, reg, "waybill_subscriptions_disabled"); got != 1 {
			t.Errorf("disabled gauge %v, want 1", got)
		}
		n, err := s.st.prune(ctx, time.Now().Add(-30*24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want the 2 old settled messages", n, err)
		}
		counts, err := s.Counts(ctx, "", a.ID)
		if err != nil || counts["pending"] != 2 || counts["delivered"] != 1 || counts["failed"] != 0 {
			t.Errorf("after pruning: %v, %v; want the 2 pending and the recent delivered one", counts, err)
		}
	})
}

// gaugeOf is the value of the gauge name in reg, -1 when it is missing.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}
