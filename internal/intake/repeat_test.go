package intake_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/seal"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestRepeatWithMembersReordered resends an event whose bytes differ from
// the stored copy's but whose meaning does not (object members in another
// order, another UTC offset for the same instant, white space): a repeat,
// answered with the original's receipt. A changed value or a reordered
// array is a conflict. It checks the stored events (sealed and plain,
// through the pending and the applying paths) and repeats inside one group.
func TestRepeatWithMembersReordered(t *testing.T) {
	t.Parallel()
	const (
		original  = `{"specversion":"1.0","id":"r-1","source":"test","type":"shipment.planned","subject":"x:r-1","time":"2026-11-26T08:00:00Z","data":{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"2","unit":"C62"}}]}}`
		reordered = `{"data": {"lines": [{"sku": "A", "quantity": {"unit": "C62", "value": "1"}, "line_id": "1"}, {"quantity": {"value": "2", "unit": "C62"}, "line_id": "2", "sku": "B"}], "destination": {"name": "DC"}, "origin": {"name": "WH"}, "customer": {"name": "Acme"}},
			"time": "2026-11-26T09:00:00+01:00", "subject": "x:r-1", "type": "shipment.planned", "source": "test", "id": "r-1", "specversion": "1.0"}`
		changedValue = `{"specversion":"1.0","id":"r-1","source":"test","type":"shipment.planned","subject":"x:r-1","time":"2026-11-26T08:00:00Z","data":{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"3","unit":"C62"}}]}}`
		swappedLines = `{"specversion":"1.0","id":"r-1","source":"test","type":"shipment.planned","subject":"x:r-1","time":"2026-11-26T08:00:00Z","data":{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"2","sku":"B","quantity":{"value":"2","unit":"C62"}},{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}}]}}`
		otherTime    = `{"specversion":"1.0","id":"r-1","source":"test","type":"shipment.planned","subject":"x:r-1","time":"2026-11-26T08:00:01Z","data":{"customer":{"name":"Acme"},"origin":{"name":"WH"},"destination":{"name":"DC"},"lines":[{"line_id":"1","sku":"A","quantity":{"value":"1","unit":"C62"}},{"line_id":"2","sku":"B","quantity":{"value":"2","unit":"C62"}}]}}`
	)
	v := validator(t)
	parse := func(t *testing.T, body string) *intake.Event {
		t.Helper()
		ev, err := intake.Parse([]byte(body), v, intake.Hints{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return ev
	}
	if a, b := parse(t, original), parse(t, reordered); a.Hash == b.Hash {
		t.Fatal("the reordered copy hashes as the original: the test would not reach the comparison")
	}
	applyAll := func(ctx context.Context, tx *sql.Tx, evs []intake.Pending) ([]intake.Outcome, func(bool), error) {
		out := make([]intake.Outcome, len(evs))
		for i, p := range evs {
			out[i] = intake.Outcome{Seq: p.Seq, State: intake.StateApplied}
		}
		return out, nil, nil
	}
	for _, tc := range []struct {
		name   string
		sealed bool
		apply  intake.ApplyFunc
	}{{"plain/pending", false, nil}, {"sealed/pending", true, nil}, {"sealed/applied", true, applyAll}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
				if tc.sealed {
					kr, err := seal.New(map[string][]byte{"0123456789abcdef": seal.NewKey()}, "0123456789abcdef")
					if err != nil {
						t.Fatal(err)
					}
					db.Keyring = kr
				}
				store := intake.NewStore(db, nil)
				submit := func(bodies ...string) []intake.Result {
					t.Helper()
					var evs []*intake.Event
					for _, b := range bodies {
						evs = append(evs, parse(t, b))
					}
					var res []intake.Result
					var err error
					if tc.apply != nil {
						res, err = store.AppendApply(t.Context(), evs, tc.apply)
					} else {
						res, err = store.Append(t.Context(), evs)
					}
					if err != nil {
						t.Fatal(err)
					}
					return res
				}

				// Within one group, before anything is stored.
				res := submit(original, reordered, changedValue)
				first := res[0]
				if first.Err != nil || first.Duplicate {
					t.Fatalf("original: got %+v, want stored", first)
				}
				if res[1].Err != nil || !res[1].Duplicate || res[1].EventID != first.EventID {
					t.Errorf("reordered copy in the same group: got %+v, want a repeat of %s", res[1], first.EventID)
				}
				if !errors.Is(res[2].Err, intake.ErrConflict) {
					t.Errorf("changed copy in the same group: got %+v, want a conflict", res[2])
				}

				// Against the stored copy.
				for _, c := range []struct {
					name, body string
					same       bool
				}{
					{"reordered members, offset and spacing", reordered, true},
					{"a changed value", changedValue, false},
					{"array items swapped", swappedLines, false},
					{"another time", otherTime, false},
				} {
					got := submit(c.body)[0]
					switch {
					case c.same && (got.Err != nil || !got.Duplicate || got.EventID != first.EventID || got.CorrelationID != first.CorrelationID):
						t.Errorf("%s: got %+v, want a repeat with the original's receipt %+v", c.name, got, first)
					case !c.same && !errors.Is(got.Err, intake.ErrConflict):
						t.Errorf("%s: got %+v, want a conflict", c.name, got)
					}
				}
			})
		})
	}
}
