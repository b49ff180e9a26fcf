package source_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/source"
	"github.com/waybill/waybill/internal/source/payload"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestListPayloads pages through stored payloads, newest first, per source
// and across sources, and sums them up by source, on both engines.
func TestListPayloads(t *testing.T) {
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := source.NewStore(db)
		base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		// Seven payloads of xktl, two of them at the same instant, and
		// three of p44.
		var want []string
		for i := range 10 {
			src, at := "xktl", base.Add(time.Duration(i)*time.Minute)
			if i >= 7 {
				src = "p44"
			}
			if i == 3 {
				at = base.Add(2 * time.Minute)
			}
			p := &payload.Payload{ID: fmt.Sprintf("p%02d", i), Source: src, Channel: payload.ChannelWebhook, Body: []byte("{}"),
				ReceivedAt: at, CorrelationID: "c", Status: payload.StatusAccepted, EventIDs: []string{fmt.Sprintf("e%d", i)}}
			if err := s.Save(ctx, p, "/sources/"+src); err != nil {
				t.Fatal(err)
			}
			if src == "xktl" {
				want = append([]string{p.ID}, want...)
			}
		}
		// p02 and p03 share an instant: the larger id comes first.
		walk := func(src string, limit int) (ids []string, pages int) {
			cursor := ""
			for {
				page, next, err := s.List(ctx, source.ListParams{Source: src, Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatalf("listing %q: %v", src, err)
				}
				pages++
				for _, p := range page {
					if src != "" && p.Source != src {
						t.Errorf("payload %s of %s listed for %s", p.ID, p.Source, src)
					}
					if len(p.Body) != 0 || p.ReceivedAt.IsZero() || p.Status != payload.StatusAccepted {
						t.Errorf("listed payload %+v: want no body, a time and a status", p)
					}
					ids = append(ids, p.ID)
				}
				if next == "" {
					return ids, pages
				}
				cursor = next
			}
		}
		got, pages := walk("xktl", 3)
		if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
			t.Errorf("xktl in pages of 3 (%d pages), newest first (-want +got):\n%s", pages, diff)
		}
		if all, _ := walk("", 4); len(all) != 10 || all[0] != "p09" || all[9] != "p00" {
			t.Errorf("every source: got %v", all)
		}
		if _, _, err := s.List(ctx, source.ListParams{Limit: 3, Cursor: "!!"}); !errors.Is(err, source.ErrBadCursor) {
			t.Errorf("a bad cursor: got %v, want ErrBadCursor", err)
		}
		if _, _, err := s.List(ctx, source.ListParams{Limit: 3, Cursor: "bm9waXBl"}); !errors.Is(err, source.ErrBadCursor) {
			t.Errorf("a cursor without its separator: got %v, want ErrBadCursor", err)
		}
		sums, err := s.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantSums := []source.SourceSummary{
			{Source: "p44", Payloads: 3, LastReceived: base.Add(9 * time.Minute)},
			{Source: "xktl", Payloads: 7, LastReceived: base.Add(6 * time.Minute)},
		}
		if diff := cmp.Diff(wantSums, sums); diff != "" {
			t.Errorf("summaries (-want +got):\n%s", diff)
		}
	})
}
