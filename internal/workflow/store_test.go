package workflow_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/waybill/waybill/internal/event"
	"github.com/waybill/waybill/internal/intake"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

// TestStoreList checks the shipment list: its state filter, its pages and
// its cursors.
func TestStoreList(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})
		ctx := t.Context()
		// A shipment planned under a canonical id keeps it, with no
		// cross-reference.
		own := uuid.Must(uuid.NewV7()).String()
		b.send(t,
			ev{id: "1", typ: "shipment.planned", subject: "odoo:L1", data: planned("Acme", "")},
			ev{id: "2", typ: "shipment.planned", subject: "odoo:L2", data: planned("Brouwer", "")},
			ev{id: "3", typ: "shipment.planned", subject: own, data: planned("Cafe", "")},
			ev{id: "2-res", typ: "inventory.reserved", subject: "odoo:L2", at: 1, data: reserveFull},
		)
		b.process(t, 4)
		b.wantShipment(t, own, shipment.Planned, 1)
		wantXrefs(t, b.store, own)
		all := []string{b.shipment(t, "odoo:L1").ID, b.shipment(t, "odoo:L2").ID, own}
		slices.Sort(all)

		var got []string
		cursor := ""
		for page := 1; ; page++ {
			ships, next, err := b.store.List(ctx, workflow.ListParams{Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			if len(ships) != 1 {
				t.Fatalf("page %d has %d shipments, want 1", page, len(ships))
			}
			got = append(got, ships[0].ID)
			if next == "" {
				break
			}
			if page == 3 {
				t.Fatalf("page 3 of 3 has a next cursor %q", next)
			}
			cursor = next
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("shipments over pages of one (-want +got):\n%s", diff)
		}

		ships, next, err := b.store.List(ctx, workflow.ListParams{State: shipment.Planned, Limit: 10})
		if err != nil || next != "" || len(ships) != 2 {
			t.Fatalf("planned shipments: %d, %q, %v; want 2 and no next page", len(ships), next, err)
		}
		for _, sh := range ships {
			if sh.State != shipment.Planned {
				t.Errorf("planned filter lists %s in state %s", sh.ID, sh.State)
			}
		}
		released, _, err := b.store.List(ctx, workflow.ListParams{State: shipment.Released, Limit: 10})
		if err != nil || len(released) != 1 || released[0].ID != b.shipment(t, "odoo:L2").ID {
			t.Errorf("released shipments: %v, %v; want only L2", released, err)
		}
		if ships, _, err := b.store.List(ctx, workflow.ListParams{State: shipment.Delivered, Limit: 10}); err != nil || len(ships) != 0 {
			t.Errorf("delivered shipments: %v, %v; want none", ships, err)
		}

		for _, c := range []string{"!!", base64.RawURLEncoding.EncodeToString([]byte("not-a-uuid"))} {
			if _, _, err := b.store.List(ctx, workflow.ListParams{Limit: 1, Cursor: c}); !errors.Is(err, workflow.ErrBadCursor) {
				t.Errorf("cursor %q: got %v, want ErrBadCursor", c, err)
			}
		}
	})
}

// TestStoreLookups checks how the store answers references it does not
// know.
func TestStoreLookups(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		s := workflow.NewStore(db)
		ctx := t.Context()
		unknownID := uuid.Must(uuid.NewV7()).String()
		for _, ref := range []string{"odoo:NOPE", unknownID} {
			if _, err := s.Get(ctx, ref); !errors.Is(err, workflow.ErrNotFound) {
				t.Errorf("Get(%s): got %v, want ErrNotFound", ref, err)
			}
			if _, err := s.GetOrder(ctx, ref); !errors.Is(err, workflow.ErrNotFound) {
				t.Errorf("GetOrder(%s): got %v, want ErrNotFound", ref, err)
			}
		}
		if _, err := s.Resolve(ctx, shipment.KindShipment, "odoo:NOPE"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("Resolve of an unknown ref: got %v, want ErrNotFound", err)
		}
		if id, err := s.Resolve(ctx, shipment.KindShipment, unknownID); err != nil || id != unknownID {
			t.Errorf("Resolve of a canonical id = %q, %v; want it unchanged", id, err)
		}
		for _, ref := range []string{"nocolon", "odoo:", ":x", "odoo:a b"} {
			if _, err := s.Resolve(ctx, shipment.KindShipment, ref); !errors.Is(err, shipment.ErrBadRef) {
				t.Errorf("Resolve(%q): got %v, want ErrBadRef", ref, err)
			}
			if _, err := s.Get(ctx, ref); !errors.Is(err, shipment.ErrBadRef) {
				t.Errorf("Get(%q): got %v, want ErrBadRef", ref, err)
			}
			if _, err := s.GetOrder(ctx, ref); !errors.Is(err, shipment.ErrBadRef) {
				t.Errorf("GetOrder(%q): got %v, want ErrBadRef", ref, err)
			}
		}
		if xs, err := s.Xrefs(ctx, unknownID); err != nil || xs == nil || len(xs) != 0 {
			t.Errorf("Xrefs of an unknown id = %#v, %v; want an empty list", xs, err)
		}
		if _, err := s.GetReview(ctx, "nope"); !errors.Is(err, workflow.ErrNoReview) {
			t.Errorf("GetReview of an unknown id: got %v, want ErrNoReview", err)
		}
		if items, next, err := s.Reviews(ctx, workflow.ReviewParams{Limit: 10}); err != nil || len(items) != 0 || next != "" {
			t.Errorf("Reviews of an empty queue = %v, %q, %v", items, next, err)
		}
	})
}

// TestReviews checks the review queue: the reviews the workflow opens,
// their listing, paging and filters, and the decision event that closes
// one.
func TestReviews(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		b := setup(t, db, workflow.Options{Policy: shipment.Policy{AutoRelease: true}})
		ctx := t.Context()
		b.send(t,
			ev{id: "s1-plan", typ: "shipment.planned", subject: "odoo:S1", data: planned("Acme", "")},
			ev{id: "s2-plan", typ: "shipment.planned", subject: "odoo:S2", data: planned("Brouwer", "")},
			ev{id: "s3-plan", typ: "shipment.planned", subject: "odoo:S3", data: planned("Cafe", "")},
			ev{id: "s1-short", typ: "inventory.shortage", subject: "odoo:S1", at: 10, data: shortageLine1},
			// Delivered more than was loaded: the proof waits in review.
			ev{id: "s2-res", typ: "inventory.reserved", subject: "odoo:S2", at: 1, data: reserveFull},
			ev{id: "s2-load", typ: "shipment.loaded", subject: "odoo:S2", at: 2, data: loadTen},
			ev{id: "s2-pod", typ: "shipment.delivered", subject: "odoo:S2", at: 300, data: deliverOver},
			ev{id: "s3-short", typ: "inventory.shortage", subject: "odoo:S3", at: 20, data: shortageLine1},
		)
		b.process(t, 8)
		s1, s2, s3 := b.shipment(t, "odoo:S1"), b.wantShipment(t, "odoo:S2", shipment.Delivered, 1), b.shipment(t, "odoo:S3")
		if s2.Billable {
			t.Fatalf("shipment S2 billable with a failed proof of delivery")
		}
		b.wantActions(t,
			b.wantAct(t, shipment.ActionDispatchRelease, s2.ID, "s2-res", time.Time{}),
			b.wantAct(t, shipment.ActionPickingValidate, s2.ID, "s2-load", time.Time{}),
			b.wantAct(t, shipment.ActionMilestoneSync, s2.ID, "s2-pod", time.Time{}),
		)

		type rv struct{ ID, ShipmentID, Kind, Status, OwnerRole string }
		short1 := rv{b.id(t, "s1-short"), s1.ID, shipment.ReviewShortage, shipment.ReviewOpen, "warehouse"}
		short3 := rv{b.id(t, "s3-short"), s3.ID, shipment.ReviewShortage, shipment.ReviewOpen, "warehouse"}
		pod2 := rv{b.id(t, "s2-pod"), s2.ID, shipment.ReviewPOD, shipment.ReviewOpen, "customer_service"}
		list := func(p workflow.ReviewParams) ([]rv, string) {
			t.Helper()
			items, next, err := b.store.Reviews(ctx, p)
			if err != nil {
				t.Fatalf("listing reviews %+v: %v", p, err)
			}
			out := make([]rv, len(items))
			for i, it := range items {
				out[i] = rv{it.ID, it.ShipmentID, it.Kind, it.Status, it.OwnerRole}
			}
			return out, next
		}

		// Oldest first, over pages of one.
		var got []rv
		cursor := ""
		for page := 1; page <= 4; page++ {
			items, next := list(workflow.ReviewParams{Limit: 1, Cursor: cursor})
			got = append(got, items...)
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff([]rv{short1, short3, pod2}, got); diff != "" {
			t.Errorf("reviews over pages of one (-want +got):\n%s", diff)
		}
		for _, tc := range []struct {
			name string
			p    workflow.ReviewParams
			want []rv
		}{
			{"open", workflow.ReviewParams{Status: shipment.ReviewOpen, Limit: 10}, []rv{short1, short3, pod2}},
			{"approved", workflow.ReviewParams{Status: shipment.ReviewApproved, Limit: 10}, []rv{}},
			{"warehouse", workflow.ReviewParams{OwnerRole: "warehouse", Limit: 10}, []rv{short1, short3}},
			{"customer service, open", workflow.ReviewParams{OwnerRole: "customer_service", Status: shipment.ReviewOpen, Limit: 10}, []rv{pod2}},
			{"warehouse, second page", workflow.ReviewParams{OwnerRole: "warehouse", Limit: 1, Cursor: reviewCursor(t, b, short1.ID)}, []rv{short3}},
		} {
			items, next := list(tc.p)
			if diff := cmp.Diff(tc.want, items); diff != "" || next != "" {
				t.Errorf("%s: next %q, reviews (-want +got):\n%s", tc.name, next, diff)
			}
		}
		for _, c := range []string{"!!", base64.RawURLEncoding.EncodeToString([]byte("no-slash")), base64.RawURLEncoding.EncodeToString([]byte("x/id")), base64.RawURLEncoding.EncodeToString([]byte("1/"))} {
			if _, _, err := b.store.Reviews(ctx, workflow.ReviewParams{Limit: 1, Cursor: c}); !errors.Is(err, workflow.ErrBadCursor) {
				t.Errorf("cursor %q: got %v, want ErrBadCursor", c, err)
			}
		}

		item, err := b.store.GetReview(ctx, pod2.ID)
		if err != nil {
			t.Fatalf("getting review %s: %v", pod2.ID, err)
		}
		if item.ShipmentID != s2.ID || item.Kind != shipment.ReviewPOD || item.Status != shipment.ReviewOpen || !item.OpenedAt.Equal(t0.Add(300*time.Minute)) {
			t.Errorf("review %+v", item)
		}

		// The decision, rendered as the event Waybill emits, is taken by
		// intake and applied by the processor.
		decidedAt := time.Date(2026, 11, 26, 15, 0, 0, 0, time.FixedZone("", 3600))
		raw, err := workflow.DecisionEvent(item, "approve", "key:cs", "photos checked", decidedAt)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := b.parser.Parse(raw, intake.Hints{})
		if err != nil {
			t.Fatalf("parsing the decision event %s: %v", raw, err)
		}
		if dec.SourceID != pod2.ID+":approve" || dec.Source != workflow.DecisionSource || dec.Type != event.ReviewDecided ||
			dec.Subject != s2.ID || !dec.Time.Equal(decidedAt) {
			t.Errorf("decision event: id %s source %s type %s subject %s time %s", dec.SourceID, dec.Source, dec.Type, dec.Subject, dec.Time)
		}
		b.sendRaw(t, raw)
		b.process(t, 1)
		s2 = b.wantShipment(t, s2.ID, shipment.Delivered, 2)
		if !s2.Billable {
			t.Errorf("shipment S2 not billable after its proof was approved: %s", s2.BlockedReason)
		}
		b.wantStatus(t, intake.StateApplied, "", s2.ID, pod2.ID+":approve")
		b.wantActions(t, b.wantAct(t, shipment.ActionInvoicePrepare, s2.ID, pod2.ID+":approve", time.Time{}))
		approved := pod2
		approved.Status = shipment.ReviewApproved
		if items, _ := list(workflow.ReviewParams{Status: shipment.ReviewApproved, Limit: 10}); !slices.Equal(items, []rv{approved}) {
			t.Errorf("approved reviews %v, want %v", items, []rv{approved})
		}
		if items, _ := list(workflow.ReviewParams{Status: shipment.ReviewOpen, Limit: 10}); !slices.Equal(items, []rv{short1, short3}) {
			t.Errorf("open reviews %v, want %v", items, []rv{short1, short3})
		}
		item, err = b.store.GetReview(ctx, pod2.ID)
		if err != nil || item.Status != shipment.ReviewApproved || item.Actor != "key:cs" || item.Note != "photos checked" ||
			item.DecisionEventID != b.id(t, pod2.ID+":approve") || item.DecidedAt == nil {
			t.Errorf("decided review %+v, %v", item, err)
		}

		// Without a reason the event carries none.
		raw, err = workflow.DecisionEvent(item, "reject", "key:cs", "", decidedAt)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			ID   string            `json:"id"`
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"review_id": pod2.ID, "decision": "reject", "actor": "key:cs"}; env.ID != pod2.ID+":reject" || !cmp.Equal(env.Data, want) {
			t.Errorf("decision without a reason: id %s data %v, want %v", env.ID, env.Data, want)
		}
		if _, err := b.parser.Parse(raw, intake.Hints{}); err != nil {
			t.Errorf("parsing the decision without a reason: %v", err)
		}
	})
}

// reviewCursor returns the cursor after the first page of one warehouse
// review, checking that the page holds review id.
func reviewCursor(t *testing.T, b *bundle, id string) string {
	t.Helper()
	items, next, err := b.store.Reviews(t.Context(), workflow.ReviewParams{OwnerRole: "warehouse", Limit: 1})
	if err != nil || len(items) != 1 || items[0].ID != id || next == "" {
		t.Fatalf("first warehouse review: %v, %q, %v; want %s and a next page", items, next, err, id)
	}
	return next
}
