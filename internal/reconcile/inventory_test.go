package reconcile

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// TestInventoryCheckStore keeps every check, lists them newest first in
// pages, gives the newest's counts to the KPIs, and records one decision.
func TestInventoryCheckStore(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
		r, err := New(Options{DB: db, Shipments: workflow.NewStore(db), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if counts, err := r.InventoryCounts(ctx); err != nil || len(counts) != len(InventoryTypes()) || counts[DoneVsLoaded] != 0 {
			t.Fatalf("counts before any check: got %v, %v; want every type at 0", counts, err)
		}
		var ids []string
		for i := range 3 {
			diffs := []Difference{{Type: DoneVsLoaded, ShipmentID: "s1", Subject: "E-COM07", Evidence: Evidence{Waybill: "loaded 2 C62", Odoo: "1 done on picking WH/OUT/00001"},
				Action: "count the goods", Review: &Review{OwnerRole: OperationsRole, Status: ReviewOpen}}}
			if i == 0 {
				diffs = nil
			}
			at := now.Add(time.Duration(i) * time.Minute)
			chk := &InventoryCheck{ID: uuid.Must(uuid.NewV7()).String(), State: StateOpen, Since: at.Add(-InventoryLookbackDefault), Shipments: i,
				Differences: diffs, Counts: inventoryCounts(diffs), OdooCalls: 7, OdooCallsByRead: map[string]int{"pickings": 3}, CreatedAt: at, UpdatedAt: at}
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return r.insertCheck(ctx, tx, chk) }); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, chk.ID)
		}
		var got []string
		cursor := ""
		for {
			page, next, err := r.InventoryChecks(ctx, ListParams{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff([]string{ids[2], ids[1], ids[0]}, got); diff != "" {
			t.Errorf("pages newest first (-want +got):\n%s", diff)
		}
		if _, _, err := r.InventoryChecks(ctx, ListParams{Limit: 2, Cursor: "!"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad cursor: got %v, want ErrInvalid", err)
		}
		if counts, err := r.InventoryCounts(ctx); err != nil || counts[DoneVsLoaded] != 1 {
			t.Errorf("counts of the newest check: got %v, %v; want done_vs_loaded 1", counts, err)
		}

		chk, repeat, err := r.DecideInventory(ctx, DecideParams{ID: ids[2], Decision: Reject, Actor: "key:warehouse", Reason: "counted again"})
		if err != nil || repeat || chk.State != StateRejected || chk.DecidedBy != "key:warehouse" || chk.Reason != "counted again" ||
			chk.Differences[0].Review.Status != ReviewRejected || chk.DecidedAt == nil || !chk.DecidedAt.Equal(now) {
			t.Fatalf("reject: got %+v, repeat %t, %v", chk, repeat, err)
		}
		if _, repeat, err := r.DecideInventory(ctx, DecideParams{ID: ids[2], Decision: Reject}); err != nil || !repeat {
			t.Errorf("reject again: got repeat %t, %v; want the check as it stands", repeat, err)
		}
		if _, _, err := r.DecideInventory(ctx, DecideParams{ID: ids[2], Decision: Approve}); !errors.Is(err, ErrDecided) {
			t.Errorf("approve a rejected check: got %v, want ErrDecided", err)
		}
		if _, _, err := r.DecideInventory(ctx, DecideParams{ID: ids[2], Decision: "maybe"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("decision maybe: got %v, want ErrInvalid", err)
		}
		if _, err := r.InventoryCheck(ctx, "no-such-id"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: got %v, want ErrNotFound", err)
		}
		if _, err := r.RunInventory(ctx, InventoryParams{}); !errors.Is(err, ErrNoOdoo) {
			t.Errorf("run without odoo: got %v, want ErrNoOdoo", err)
		}
	})
}

func TestInventoryTypesApart(t *testing.T) {
	t.Parallel()
	for _, typ := range InventoryTypes() {
		for _, other := range Types() {
			if typ == other {
				t.Errorf("%s is both an inventory type and a day's type", typ)
			}
		}
	}
}
