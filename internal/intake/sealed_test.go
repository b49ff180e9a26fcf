package intake_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestSealedEvents stores events with a keyring: the events table holds
// no plaintext body, Pending opens them, the dedupe lookup still works,
// re-sealing moves them to a rotated key, a changed body fails that event
// alone, and a missing key stops Pending with an error naming it.
func TestSealedEvents(t *testing.T) {
	t.Parallel()
	const (
		keyA   = "00000000000000a1"
		keyB   = "00000000000000b2"
		secret = "Acme Retail, 12 Secret Street"
	)
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		keys := map[string][]byte{keyA: seal.NewKey()}
		kr, err := seal.New(keys, keyA)
		if err != nil {
			t.Fatal(err)
		}
		db.Keyring = kr
		store := intake.NewStore(db, &intake.Backlog{})
		newEvent := func(id, body string) *intake.Event {
			return &intake.Event{ID: "ev-" + id, Source: "odoo", SourceID: id, Type: "shipment.planned", Subject: "odoo:WH/OUT/1",
				Time: time.Unix(1700000000, 0).UTC(), CorrelationID: "corr-" + id, Hash: "h-" + id, Body: []byte(body)}
		}
		body := func(n string) string { return `{"id":"` + n + `","data":{"customer":{"name":"` + secret + `"}}}` }
		evs := []*intake.Event{newEvent("1", body("1")), newEvent("2", body("2")), newEvent("3", body("3"))}
		if _, err := store.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		// The plaintext dedupe key and hash still find the stored event.
		res, err := store.Append(ctx, []*intake.Event{newEvent("1", body("1"))})
		if err != nil || !res[0].Duplicate || res[0].Err != nil || res[0].EventID != "ev-1" {
			t.Errorf("repeating an event: %+v, %v; want a duplicate of ev-1", res, err)
		}

		rawBodies := func() map[string]string {
			t.Helper()
			rows, err := db.QueryContext(ctx, `SELECT id, body FROM events`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var id, b string
				if err := rows.Scan(&id, &b); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(b, secret) || strings.Contains(b, "customer") {
					t.Errorf("event %s is stored in plaintext: %s", id, b)
				}
				out[id] = b
			}
			return out
		}
		stored := rawBodies()

		pending, err := store.Pending(ctx, 10)
		if err != nil || len(pending) != 3 {
			t.Fatalf("Pending = %d events, %v; want 3", len(pending), err)
		}
		for _, p := range pending {
			if p.Err != nil || !strings.Contains(string(p.Data), secret) {
				t.Errorf("pending %s: data %s, err %v; want the opened data", p.ID, p.Data, p.Err)
			}
		}

		// Rotate and re-seal; everything opens under the new key.
		keys[keyB] = seal.NewKey()
		if err := kr.Replace(keys, keyB); err != nil {
			t.Fatal(err)
		}
		cursor := ""
		for {
			b, err := store.Reseal(ctx, cursor, 2)
			if err != nil || b.Failed > 0 {
				t.Fatalf("Reseal: %+v, %v", b, err)
			}
			if b.Next == "" {
				break
			}
			cursor = b.Next
		}
		if got, err := store.CountByKey(ctx); err != nil || !cmp.Equal(got, map[string]int64{keyB: 3}) {
			t.Errorf("events by key after re-sealing = %v, %v; want all 3 under %s", got, err, keyB)
		}
		resealed := rawBodies()
		if resealed["ev-1"] == stored["ev-1"] {
			t.Error("re-sealing left the body as it was")
		}
		if pending, err = store.Pending(ctx, 10); err != nil || len(pending) != 3 || pending[0].Err != nil {
			t.Fatalf("Pending after re-sealing = %+v, %v", pending, err)
		}

		// A body copied from another row fails that event alone.
		if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`UPDATE events SET body = ? WHERE id = ?`), resealed["ev-1"], "ev-2"); err != nil {
			t.Fatal(err)
		}
		pending, err = store.Pending(ctx, 10)
		if err != nil || len(pending) != 3 {
			t.Fatalf("Pending with a moved body = %d, %v; want 3", len(pending), err)
		}
		if !errors.Is(pending[1].Err, seal.ErrTampered) || pending[0].Err != nil || pending[2].Err != nil {
			t.Errorf("pending errors = %v, %v, %v; want ErrTampered for ev-2 only", pending[0].Err, pending[1].Err, pending[2].Err)
		}

		// Without key B, Pending stops with an error naming it.
		onlyA, _ := seal.New(map[string][]byte{keyA: keys[keyA]}, keyA)
		kr.Adopt(onlyA)
		_, err = store.Pending(ctx, 10)
		var mk *seal.MissingKeyError
		if !errors.As(err, &mk) || mk.KeyID != keyB {
			t.Errorf("Pending without the key: %v, want a MissingKeyError for %s", err, keyB)
		}
	})
}

// TestPlaintextEventsStayReadable reads events stored before encryption
// was on, then re-seals them.
func TestPlaintextEventsStayReadable(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		store := intake.NewStore(db, &intake.Backlog{})
		ev := &intake.Event{ID: "ev-old", Source: "odoo", SourceID: "old", Type: "shipment.planned", Subject: "odoo:WH/OUT/1",
			Time: time.Unix(1700000000, 0).UTC(), CorrelationID: "c", Hash: "h", Body: []byte(`{"data":{"n":1}}`)}
		if _, err := store.Append(ctx, []*intake.Event{ev}); err != nil {
			t.Fatal(err)
		}
		kr, _ := seal.New(map[string][]byte{"00000000000000c3": seal.NewKey()}, "00000000000000c3")
		db.Keyring = kr
		if got, err := store.CountByKey(ctx); err != nil || !cmp.Equal(got, map[string]int64{"": 1}) {
			t.Errorf("CountByKey = %v, %v; want one plaintext event", got, err)
		}
		p, err := store.Pending(ctx, 10)
		if err != nil || len(p) != 1 || string(p[0].Data) != `{"n":1}` {
			t.Fatalf("Pending of a plaintext event = %+v, %v", p, err)
		}
		if b, err := store.Reseal(ctx, "", 10); err != nil || b.Moved != 1 {
			t.Fatalf("Reseal = %+v, %v; want 1 moved", b, err)
		}
		if got, err := store.CountByKey(ctx); err != nil || !cmp.Equal(got, map[string]int64{"00000000000000c3": 1}) {
			t.Errorf("CountByKey after re-sealing = %v, %v", got, err)
		}
	})
}
