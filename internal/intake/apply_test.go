package intake_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestAppendApply checks that the apply function sees the new events, in
// acceptance order and with their data, inside the transaction that stores
// them; that they are stored with the outcomes it gives and what it writes
// commits with them; and that when it fails or applies nothing the events
// are stored all the same, pending, without its writes.
func TestAppendApply(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		v := validator(t)
		backlog := &intake.Backlog{}
		store := intake.NewStore(db, backlog)
		parse := func(ids ...string) []*intake.Event {
			var evs []*intake.Event
			for _, id := range ids {
				ev, err := intake.Parse(raw(id, "x:"+id, "2026-11-26T08:00:00Z"), v, intake.Hints{})
				if err != nil {
					t.Fatal(err)
				}
				evs = append(evs, ev)
			}
			return evs
		}
		if _, err := db.ExecContext(t.Context(), `CREATE TABLE apply_marks (id TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		marks := func() int {
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM apply_marks`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		mark := func(ctx context.Context, tx *sql.Tx, evs []intake.Pending) error {
			for _, p := range evs {
				if _, err := tx.ExecContext(ctx, db.Dialect.Rebind(`INSERT INTO apply_marks (id) VALUES (?)`), p.ID); err != nil {
					return err
				}
			}
			return nil
		}

		// A duplicate is not handed over; new events are, in order, with
		// their data.
		if _, err := store.Append(t.Context(), parse("a")); err != nil {
			t.Fatal(err)
		}
		var seen []intake.Pending
		var ended []bool
		res, err := store.AppendApply(t.Context(), parse("b", "a", "c"), func(ctx context.Context, tx *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(bool), error) {
			seen = evs
			older, err := store.OlderPendingTx(ctx, tx, evs[0].Seq)
			if err != nil || !older {
				return nil, nil, fmt.Errorf("older pending: %v %v, want event a", older, err)
			}
			outcomes := []intake.Outcome{
				{Seq: evs[0].Seq, State: intake.StateApplied, ShipmentID: "ship-b"},
				{Seq: evs[1].Seq, State: intake.StateRejected, Reason: "no such shipment"},
			}
			return outcomes, func(committed bool) { ended = append(ended, committed) }, mark(ctx, tx, evs)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res[1].Duplicate || res[0].Duplicate || res[2].Duplicate {
			t.Fatalf("results %+v", res)
		}
		if len(seen) != 2 || seen[0].ID != res[0].EventID || seen[1].ID != res[2].EventID || seen[0].Seq >= seen[1].Seq {
			t.Fatalf("apply saw %+v, want b then c in order", seen)
		}
		if string(seen[0].Data) != planned || seen[0].Type != "shipment.planned" || seen[0].Subject != "x:b" {
			t.Errorf("apply saw %s %s %s", seen[0].Type, seen[0].Subject, seen[0].Data)
		}
		if !slices.Equal(ended, []bool{true}) || marks() != 2 {
			t.Errorf("told %v, %d marks: want the writes committed with the events, and told so once", ended, marks())
		}
		// Stored with their outcomes, in the numbers apply saw.
		for i, want := range []string{intake.StateApplied + "  ship-b", "rejected no such shipment "} {
			var seq int64
			var state, reason string
			var ship sql.NullString
			var processed sql.NullInt64
			err := db.QueryRowContext(t.Context(), db.Dialect.Rebind(`SELECT seq, state, reason, shipment_id, processed_at FROM events WHERE id = ?`), seen[i].ID).
				Scan(&seq, &state, &reason, &ship, &processed)
			if err != nil {
				t.Fatal(err)
			}
			if got := state + " " + reason + " " + ship.String; got != want || seq != seen[i].Seq || !processed.Valid {
				t.Errorf("event %d stored as %q, seq %d, processed %v; want %q, seq %d, processed", i, got, seq, processed.Valid, want, seen[i].Seq)
			}
		}

		// Nothing applied, or outcomes that do not match the events: the
		// events are stored pending.
		for k, apply := range []intake.ApplyFunc{
			func(context.Context, *sql.Tx, []intake.Pending) ([]intake.Outcome, func(bool), error) {
				return nil, nil, nil
			},
			func(_ context.Context, _ *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(bool), error) {
				return make([]intake.Outcome, len(evs)+1), nil, nil
			},
		} {
			ids := []string{fmt.Sprintf("n-%d", k), fmt.Sprintf("m-%d", k)}
			res, err := store.AppendApply(t.Context(), parse(ids...), apply)
			if err != nil || res[0].Err != nil || res[1].Err != nil {
				t.Fatalf("%+v %v", res, err)
			}
			var pendingNow int
			if err := db.QueryRowContext(t.Context(), db.Dialect.Rebind(`SELECT COUNT(*) FROM events WHERE state = 'pending' AND id IN (?, ?)`), res[0].EventID, res[1].EventID).Scan(&pendingNow); err != nil || pendingNow != 2 {
				t.Fatalf("%d of 2 stored pending, %v: %+v", pendingNow, err, res)
			}
			if _, err := db.ExecContext(t.Context(), db.Dialect.Rebind(`UPDATE events SET state = 'applied' WHERE id IN (?, ?)`), res[0].EventID, res[1].EventID); err != nil {
				t.Fatal(err)
			}
		}

		// Another writer stores one of the events while it is applied (here
		// in the same transaction): what was applied is dropped with it,
		// and the event is stored pending in a transaction of its own.
		evs := parse("r")
		res, err = store.AppendApply(t.Context(), evs, func(ctx context.Context, tx *sql.Tx, pend []intake.Pending) ([]intake.Outcome, func(bool), error) {
			_, err := tx.ExecContext(ctx, db.Dialect.Rebind(`INSERT INTO events (id, source, source_id, type, subject, occurred_at, occurred_offset, accepted_at, correlation_id, payload_hash, body)
VALUES (?, ?, ?, 'shipment.planned', 'x:r', 0, 0, 0, 'other', ?, '{}')`), "other-writer", evs[0].Source, evs[0].SourceID, evs[0].Hash)
			if err != nil {
				return nil, nil, err
			}
			return []intake.Outcome{{Seq: pend[0].Seq, State: intake.StateApplied}}, nil, mark(ctx, tx, pend)
		})
		if err != nil || res[0].Err != nil || res[0].Duplicate || res[0].EventID != evs[0].ID {
			t.Fatalf("%+v %v", res, err)
		}
		if marks() != 2 {
			t.Errorf("%d marks: what was applied for an event another writer stored was kept", marks())
		}

		// A failing apply: the events are stored, its writes are not.
		ended = nil
		res, err = store.AppendApply(t.Context(), parse("d"), func(ctx context.Context, tx *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(bool), error) {
			if err := mark(ctx, tx, evs); err != nil {
				return nil, nil, err
			}
			return nil, func(committed bool) { ended = append(ended, committed) }, errors.New("boom")
		})
		if err != nil || res[0].Err != nil || res[0].Duplicate {
			t.Fatalf("a failed apply lost the event: %+v %v", res, err)
		}
		if marks() != 2 || !slices.Equal(ended, []bool{false}) {
			t.Errorf("%d marks, told %v: a failed apply's writes were kept, or it was not told they were not", marks(), ended)
		}
		pending, err := store.Pending(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 3 || pending[2].ID != res[0].EventID {
			t.Errorf("pending %d events, want a, r and d", len(pending))
		}
		if n := backlog.Load(); n != 9 {
			t.Errorf("backlog %d, want 9 (the applier counts off what it applies)", n)
		}
	})
}

// TestParseCompactAndSpaced checks that an event sent compact and the same
// event with white space are one payload: same body, data and hash.
func TestParseCompactAndSpaced(t *testing.T) {
	t.Parallel()
	v := validator(t)
	compact := raw("s-1", "x:1", "2026-11-26T08:00:00Z")
	spaced := bytes.ReplaceAll(bytes.ReplaceAll(compact, []byte(`,"`), []byte(",\n  \"")), []byte(`":`), []byte(`": `))
	a, err := intake.Parse(compact, v, intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := intake.Parse(spaced, v, intake.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash || !bytes.Equal(a.Body, b.Body) || !bytes.Equal(a.Data, b.Data) || !bytes.Equal(a.Body, compact) {
		t.Errorf("compact and spaced differ:\n%s\n%s\n%s\n%s", a.Body, b.Body, a.Data, b.Data)
	}
	compact[0] = ' ' // the event keeps its own copy
	if a.Body[0] != '{' {
		t.Error("the body aliases the caller's buffer")
	}
}
