package hub_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

type inventoryCheckList struct {
	InventoryChecks []reconcile.InventoryCheck `json:"inventory_checks"`
	NextCursor      string                     `json:"next_cursor"`
}

// TestInventoryCheckAPI runs inventory checks through the API with an
// operations key (review:write), reads them, pages through them and
// approves one: every answer follows the OpenAPI document, other scopes
// are refused, the other decision conflicts, and the approval is audited
// once.
func TestInventoryCheckAPI(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		ctx := t.Context()
		admin := &apiHub{hub: w.hub, url: w.url, key: w.key}
		status, _, doc := admin.call(t, http.MethodGet, "/v1/openapi.json", "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /v1/openapi.json: got %d", status)
		}
		contracts.Store(w.hub, newAPIContract(t, doc))
		t.Cleanup(func() { contracts.Delete(w.hub) })
		opsSecret, _, err := w.hub.Keys.Create(ctx, "warehouse", []apikey.Scope{apikey.ReviewWrite})
		if err != nil {
			t.Fatal(err)
		}
		finSecret, _, err := w.hub.Keys.Create(ctx, "finance", []apikey.Scope{apikey.FinanceApprove})
		if err != nil {
			t.Fatal(err)
		}
		ops := &apiHub{hub: w.hub, url: w.url, key: opsSecret}
		fin := &apiHub{hub: w.hub, url: w.url, key: finSecret}

		status, h, out := fin.call(t, http.MethodPost, "/v1/inventory-checks", "application/json", []byte(`{}`))
		wantProblem(t, "run with finance:approve", status, h, out, http.StatusForbidden, problem.CodeForbidden)
		status, h, out = ops.call(t, http.MethodPost, "/v1/inventory-checks", "application/json", []byte(`{"warehouse":"WH\nX"}`))
		wantProblem(t, "run with a warehouse of two lines", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)

		// The world's order has a picking and no shipment yet.
		status, _, out = ops.call(t, http.MethodPost, "/v1/inventory-checks", "", nil)
		if status != http.StatusOK {
			t.Fatalf("run without a body: got %d %s, want 200", status, out)
		}
		var first reconcile.InventoryCheck
		if err := json.Unmarshal(out, &first); err != nil {
			t.Fatal(err)
		}
		status, _, out = ops.call(t, http.MethodPost, "/v1/inventory-checks", "application/json", []byte(`{"warehouse":"WH"}`))
		if status != http.StatusOK {
			t.Fatalf("run: got %d %s, want 200", status, out)
		}
		var chk reconcile.InventoryCheck
		if err := json.Unmarshal(out, &chk); err != nil {
			t.Fatal(err)
		}
		if chk.State != reconcile.StateOpen || chk.Warehouse != "WH" || chk.Counts[reconcile.UntrackedPicking] == 0 || chk.ID == first.ID ||
			len(chk.Counts) != len(reconcile.InventoryTypes()) || chk.OdooCalls == 0 {
			t.Fatalf("run: got %+v, want a new open check of WH with untracked pickings and every type counted", chk)
		}
		var got reconcile.InventoryCheck
		ops.getJSON(t, "/v1/inventory-checks/"+chk.ID, &got)
		if diff := cmp.Diff(chk, got); diff != "" {
			t.Errorf("get: mismatch (-run +get):\n%s", diff)
		}
		var page inventoryCheckList
		ops.getJSON(t, "/v1/inventory-checks?limit=1", &page)
		if len(page.InventoryChecks) != 1 || page.InventoryChecks[0].ID != chk.ID || page.NextCursor == "" {
			t.Fatalf("first page: got %+v, want the newest check and a cursor", page)
		}
		var page2 inventoryCheckList
		ops.getJSON(t, "/v1/inventory-checks?limit=1&cursor="+page.NextCursor, &page2)
		if len(page2.InventoryChecks) != 1 || page2.InventoryChecks[0].ID != first.ID || page2.NextCursor != "" {
			t.Errorf("second page: got %+v, want the first check and no cursor", page2)
		}
		status, h, out = ops.call(t, http.MethodGet, "/v1/inventory-checks/no-such-id", "", nil)
		wantProblem(t, "unknown id", status, h, out, http.StatusNotFound, problem.CodeNotFound)
		status, h, out = ops.call(t, http.MethodGet, "/v1/inventory-checks?cursor=not-a-cursor!", "", nil)
		wantProblem(t, "bad cursor", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)

		decision := func(a *apiHub, d string) (int, http.Header, []byte) {
			return a.call(t, http.MethodPost, "/v1/inventory-checks/"+chk.ID+"/decision", "application/json", []byte(`{"decision":"`+d+`","reason":"demo pickings"}`))
		}
		status, h, out = decision(fin, "approve")
		wantProblem(t, "approve with finance:approve", status, h, out, http.StatusForbidden, problem.CodeForbidden)
		status, _, out = decision(ops, "approve")
		var decided reconcile.InventoryCheck
		if err := json.Unmarshal(out, &decided); status != http.StatusOK || err != nil {
			t.Fatalf("approve: got %d %s, want 200", status, out)
		}
		if decided.State != reconcile.StateApproved || decided.DecidedBy != "key:warehouse" || decided.Reason != "demo pickings" || decided.DecidedAt == nil {
			t.Errorf("approve: got %+v, want approved by key:warehouse", decided)
		}
		for _, d := range decided.Differences {
			if d.Review == nil || d.Review.Status != reconcile.ReviewApproved {
				t.Errorf("%s %s: got review %+v, want approved", d.Type, d.Subject, d.Review)
			}
		}
		status, h, out = decision(ops, "reject")
		wantProblem(t, "reject an approved check", status, h, out, http.StatusConflict, problem.CodeConflict)
		if status, _, out = decision(ops, "approve"); status != http.StatusOK {
			t.Errorf("approving again: got %d %s, want 200", status, out)
		}
		entries := auditOf(t, w.hub, audit.ActionInventoryCheckApproved)
		if len(entries) != 1 || entries[0].Subject != chk.ID || entries[0].Actor != "key:warehouse" {
			t.Fatalf("audit: got %+v, want one approval of %s by key:warehouse", entries, chk.ID)
		}
		var details struct {
			Warehouse   string `json:"warehouse"`
			Reason      string `json:"reason"`
			Differences int    `json:"differences"`
		}
		if err := json.Unmarshal(entries[0].Details, &details); err != nil || details.Warehouse != "WH" || details.Reason != "demo pickings" ||
			details.Differences != len(chk.Differences) {
			t.Errorf("audit details: got %s (%v)", entries[0].Details, err)
		}

		// Odoo failing: 502, and nothing recorded.
		w.srv.Sim().Faults().Inject("stock.picking", "", 1000, odoosim.FaultHTTP503)
		status, h, out = ops.call(t, http.MethodPost, "/v1/inventory-checks", "application/json", []byte(`{}`))
		p := wantProblem(t, "run with Odoo down", status, h, out, http.StatusBadGateway, problem.CodeUpstreamUnavailable)
		if !strings.Contains(p.Detail, "inventory was not checked") {
			t.Errorf("detail %q does not say the inventory was not checked", p.Detail)
		}
		w.srv.Sim().Faults().Clear()
		var all inventoryCheckList
		ops.getJSON(t, "/v1/inventory-checks", &all)
		if len(all.InventoryChecks) != 2 {
			t.Errorf("list after the failed run: got %d checks, want 2", len(all.InventoryChecks))
		}
	})
}

func TestInventoryCheckAPIWithoutOdoo(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		status, h, out := a.call(t, http.MethodPost, "/v1/inventory-checks", "application/json", []byte(`{}`))
		p := wantProblem(t, "run without odoo", status, h, out, http.StatusConflict, problem.CodeConflict)
		if !strings.Contains(p.Detail, "connectors.odoo") {
			t.Errorf("detail %q does not name connectors.odoo", p.Detail)
		}
		var list inventoryCheckList
		a.getJSON(t, "/v1/inventory-checks", &list)
		if len(list.InventoryChecks) != 0 {
			t.Errorf("list: got %d checks, want none", len(list.InventoryChecks))
		}
	})
}

// TestInventoryCheckWarehouse keeps the pickings of another warehouse out
// of a warehouse's check.
func TestInventoryCheckWarehouse(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		all := w.checkInventory(t)
		other, err := w.hub.Reconciler.RunInventory(t.Context(), reconcile.InventoryParams{Warehouse: "WH2"})
		if err != nil {
			t.Fatal(err)
		}
		if all.Counts[reconcile.UntrackedPicking] == 0 || len(other.Differences) != 0 {
			t.Errorf("got %d untracked pickings in every warehouse and %+v in WH2; want some, and none in WH2", all.Counts[reconcile.UntrackedPicking], other.Differences)
		}
		if _, err := w.hub.Reconciler.RunInventory(t.Context(), reconcile.InventoryParams{Lookback: -1}); !errors.Is(err, reconcile.ErrInvalid) {
			t.Errorf("a negative lookback: got %v, want ErrInvalid", err)
		}
	})
}
