package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestRefusedEventFailsAlone puts requests with events the database
// refuses into one group commit beside valid ones: only the refused events
// fail, with ErrRefused, and every other event of the group is stored.
func TestRefusedEventFailsAlone(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		sqldbtest.RefuseEvents(t, db, "poison")
		v, err := event.NewValidator()
		if err != nil {
			t.Fatal(err)
		}
		store := NewStore(db, &Backlog{})
		c := NewCommitter(store, &CommitterOptions{MaxGroup: 1000})
		parse := func(id string) *Event {
			body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"s","type":"shipment.cancelled","subject":"x:%s","time":"2026-11-26T08:00:00Z","data":{}}`, id, id)
			ev, err := Parse([]byte(body), v, Hints{})
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		// Twenty single-event requests, one of them refused, and a batch
		// with two refused events among good ones.
		reqs := [][]*Event{}
		for i := range 20 {
			id := fmt.Sprint("good-", i)
			if i == 7 {
				id = "poison-single"
			}
			reqs = append(reqs, []*Event{parse(id)})
		}
		reqs = append(reqs, []*Event{parse("batch-1"), parse("poison-b1"), parse("batch-2"), parse("poison-b2"), parse("batch-3")})

		type outcome struct {
			res []Result
			err error
		}
		out := make([]outcome, len(reqs))
		var wg sync.WaitGroup
		for i, evs := range reqs {
			wg.Go(func() {
				res, err := c.Submit(t.Context(), evs)
				out[i] = outcome{res, err}
			})
		}
		// Start writing only once every request waits in the queue, so
		// that they all share the first transaction.
		for deadline := time.Now().Add(10 * time.Second); len(c.in) < len(reqs); {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d requests queued", len(c.in), len(reqs))
			}
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		wg.Wait()
		cancel()
		<-done

		stored := 0
		for i, o := range out {
			if o.err != nil {
				t.Fatalf("request %d failed as a whole: %v", i, o.err)
			}
			for j, r := range o.res {
				refused := reqs[i][j].SourceID[:6] == "poison"
				switch {
				case refused && !errors.Is(r.Err, ErrRefused):
					t.Errorf("%s: got %+v, want ErrRefused", reqs[i][j].SourceID, r)
				case !refused && (r.Err != nil || r.Duplicate || r.EventID == ""):
					t.Errorf("%s: got %+v, want stored", reqs[i][j].SourceID, r)
				case !refused:
					stored++
				}
			}
		}
		if want := 19 + 3; stored != want {
			t.Errorf("stored %d events, want %d", stored, want)
		}
		if n, err := store.CountPending(t.Context()); err != nil || n != int64(stored) {
			t.Errorf("the events table holds %d events (%v), want %d", n, err, stored)
		}
	})
}
