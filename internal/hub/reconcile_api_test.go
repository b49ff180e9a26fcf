package hub_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestReconcileAPI runs a day through the API with a finance key, reads
// the record and its report as JSON and CSV, and approves it: every answer
// follows the OpenAPI document, other scopes are refused, a second
// decision of the other kind conflicts, and the approval is audited once.
func TestReconcileAPI(t *testing.T) {
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

		finSecret, _, err := w.hub.Keys.Create(ctx, "finance", []apikey.Scope{apikey.FinanceApprove})
		if err != nil {
			t.Fatal(err)
		}
		readSecret, _, err := w.hub.Keys.Create(ctx, "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		fin := &apiHub{hub: w.hub, url: w.url, key: finSecret}
		reader := &apiHub{hub: w.hub, url: w.url, key: readSecret}

		subject := "tms:RECON-API-1"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		inv := w.invoiced(t, id)
		// One invoice line edited in Odoo: a quantity mismatch.
		full, err := w.client.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: []string{"WB-" + id}})
		if err != nil || len(full) != 1 {
			t.Fatalf("reading the invoice: %v %v", full, err)
		}
		demo := w.srv.Sim().Demo()
		for _, l := range full[0].Lines {
			if l.Product.ID == demo.Products["E-COM07"] {
				if err := w.client.Write(ctx, "account.move.line", []int{l.ID}, map[string]any{"quantity": 1.0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		today := time.Now().UTC().Format("2006-01-02")
		body := []byte(`{"date":"` + today + `"}`)

		status, h, out := reader.call(t, http.MethodPost, "/v1/reconciliations", "application/json", body)
		wantProblem(t, "run with shipments:read", status, h, out, http.StatusForbidden, problem.CodeForbidden)
		status, h, out = fin.call(t, http.MethodPost, "/v1/reconciliations", "application/json", []byte(`{"date":"2026-13-40"}`))
		p := wantProblem(t, "run with a bad date", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.date" {
			t.Errorf("bad date: got errors %+v, want one at body.date", p.Errors)
		}

		status, _, out = fin.call(t, http.MethodPost, "/v1/reconciliations", "application/json", body)
		if status != http.StatusOK {
			t.Fatalf("run: got %d %s, want 200", status, out)
		}
		var rec reconcile.Record
		if err := json.Unmarshal(out, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.State != reconcile.StateOpen || rec.Shipments != 1 || rec.Counts[reconcile.QuantityMismatch] != 1 || len(rec.Differences) != 1 {
			t.Fatalf("run: got %+v, want an open record with one quantity mismatch", rec)
		}
		diff := rec.Differences[0]

		var got reconcile.Record
		fin.getJSON(t, "/v1/reconciliations/"+rec.ID, &got)
		if diff := cmp.Diff(rec, got); diff != "" {
			t.Errorf("get: mismatch (-run +get):\n%s", diff)
		}
		var list struct {
			Reconciliations []reconcile.Record `json:"reconciliations"`
			NextCursor      string             `json:"next_cursor"`
		}
		fin.getJSON(t, "/v1/reconciliations?limit=10", &list)
		if len(list.Reconciliations) != 1 || list.Reconciliations[0].ID != rec.ID || list.NextCursor != "" {
			t.Errorf("list: got %+v, want the one record", list)
		}
		status, h, out = fin.call(t, http.MethodGet, "/v1/reconciliations/no-such-id", "", nil)
		wantProblem(t, "unknown id", status, h, out, http.StatusNotFound, problem.CodeNotFound)
		status, h, out = fin.call(t, http.MethodGet, "/v1/reconciliations/no-such-id/report", "", nil)
		wantProblem(t, "report of an unknown id", status, h, out, http.StatusNotFound, problem.CodeNotFound)
		status, h, out = fin.call(t, http.MethodGet, "/v1/reconciliations?cursor=not-a-cursor!", "", nil)
		wantProblem(t, "bad cursor", status, h, out, http.StatusBadRequest, problem.CodeBadRequest)

		// The report as JSON.
		var rep reconcile.Report
		h = fin.getJSON(t, "/v1/reconciliations/"+rec.ID+"/report", &rep)
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("JSON report: got Content-Type %q", ct)
		}
		if len(rep.Rows) != 1 || rep.Rows[0].Type != reconcile.QuantityMismatch || rep.Rows[0].ShipmentID != id ||
			rep.Rows[0].Expected != diff.Evidence.Waybill || rep.Rows[0].Review != reconcile.ReviewOpen || len(rep.Totals) != 1 {
			t.Errorf("JSON report: got %+v, want the quantity mismatch and one customer", rep)
		}

		// The report as CSV, asked both ways.
		status, h, out = fin.call(t, http.MethodGet, "/v1/reconciliations/"+rec.ID+"/report?format=csv", "", nil)
		checkCSVReport(t, "?format=csv", status, h, out, rec, inv.ID)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"/v1/reconciliations/"+rec.ID+"/report", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+finSecret)
		req.Header.Set("Accept", "text/csv, application/json;q=0.5")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkCSVReport(t, "Accept: text/csv", resp.StatusCode, resp.Header, out, rec, inv.ID)

		// Deciding.
		decision := func(a *apiHub, d string) (int, http.Header, []byte) {
			return a.call(t, http.MethodPost, "/v1/reconciliations/"+rec.ID+"/decision", "application/json", []byte(`{"decision":"`+d+`","reason":"checked with the customer"}`))
		}
		status, h, out = decision(reader, "approve")
		wantProblem(t, "approve with shipments:read", status, h, out, http.StatusForbidden, problem.CodeForbidden)
		status, _, out = decision(fin, "approve")
		var decided reconcile.Record
		if err := json.Unmarshal(out, &decided); status != http.StatusOK || err != nil {
			t.Fatalf("approve: got %d %s, want 200", status, out)
		}
		if decided.State != reconcile.StateApproved || decided.DecidedBy != "key:finance" || len(decided.Posted) != 1 ||
			decided.Differences[0].Review.Status != reconcile.ReviewApproved {
			t.Errorf("approve: got %+v, want approved by key:finance with the draft posted", decided)
		}
		status, h, out = decision(fin, "reject")
		wantProblem(t, "reject an approved day", status, h, out, http.StatusConflict, problem.CodeConflict)
		if status, _, out = decision(fin, "approve"); status != http.StatusOK {
			t.Errorf("approving again: got %d %s, want 200", status, out)
		}
		entries := auditOf(t, w.hub, audit.ActionReconciliationApproved)
		if len(entries) != 1 || entries[0].Subject != rec.ID || entries[0].Actor != "key:finance" {
			t.Fatalf("audit: got %+v, want one approval of %s by key:finance", entries, rec.ID)
		}
		var details struct {
			Date   string `json:"date"`
			Reason string `json:"reason"`
			Posted []int  `json:"posted"`
		}
		if err := json.Unmarshal(entries[0].Details, &details); err != nil || details.Date != today || details.Reason != "checked with the customer" || len(details.Posted) != 1 {
			t.Errorf("audit details: got %s (%v)", entries[0].Details, err)
		}
		if n := len(auditOf(t, w.hub, audit.ActionReconciliationRejected)); n != 0 {
			t.Errorf("audit: got %d rejections, want none", n)
		}
	})
}

// checkCSVReport checks a CSV report of rec: its headers, its header row,
// the difference's row and the customer's row.
func checkCSVReport(t *testing.T, what string, status int, h http.Header, body []byte, rec reconcile.Record, invoiceID int) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200", what, status, body)
	}
	if mt, params, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "text/csv" || params["charset"] != "utf-8" {
		t.Errorf("%s: got Content-Type %q, want text/csv; charset=utf-8", what, h.Get("Content-Type"))
	}
	if disp, params, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp != "attachment" || params["filename"] != "reconciliation-"+rec.Date+".csv" {
		t.Errorf("%s: got Content-Disposition %q", what, h.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: parsing the CSV: %v\n%s", what, err, body)
	}
	if len(rows) != 3 {
		t.Fatalf("%s: got %d rows, want a header, one difference and one customer:\n%s", what, len(rows), body)
	}
	cols := reconcile.ReportColumns()
	if diff := cmp.Diff(cols, rows[0]); diff != "" {
		t.Errorf("%s: header (-want +got):\n%s", what, diff)
	}
	col := func(row []string, name string) string { return row[slices.Index(cols, name)] }
	d, total := rec.Differences[0], rec.Totals[0]
	diffRow := map[string]string{"type": string(reconcile.QuantityMismatch), "shipment_id": d.ShipmentID, "customer": d.Customer,
		"subject": "E-COM07", "expected": "delivered 2 C62", "actual": d.Evidence.Odoo, "odoo_model": d.Evidence.OdooModel,
		"action": d.Action, "safe": "false", "healed": "", "review": "open", "rated": ""}
	for name, want := range diffRow {
		if got := col(rows[1], name); got != want {
			t.Errorf("%s: difference %s: got %q, want %q", what, name, got, want)
		}
	}
	if ids := strings.Fields(col(rows[1], "odoo_ids")); !slices.Contains(ids, strconv.Itoa(invoiceID)) {
		t.Errorf("%s: odoo_ids %v lack the invoice %d", what, ids, invoiceID)
	}
	totalRow := map[string]string{"type": reconcile.TotalRowType, "customer": total.Customer, "shipments": "1", "currency": total.Currency,
		"rated": "75.00", "invoiced_services": "75.00", "invoice_total": total.InvoiceTotal, "invoices": "1", "shipment_id": "", "expected": ""}
	for name, want := range totalRow {
		if got := col(rows[2], name); got != want {
			t.Errorf("%s: customer row %s: got %q, want %q", what, name, got, want)
		}
	}
}

// TestReconcileAPIWithoutOdoo: with no Odoo connector a run is refused
// with 409 and says why.
func TestReconcileAPIWithoutOdoo(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		a := startAPIHub(t, opts, nil, nil)
		status, h, out := a.call(t, http.MethodPost, "/v1/reconciliations", "application/json", []byte(`{"date":"2026-12-03"}`))
		p := wantProblem(t, "run without odoo", status, h, out, http.StatusConflict, problem.CodeConflict)
		if !strings.Contains(p.Detail, "connectors.odoo") {
			t.Errorf("detail %q does not name connectors.odoo", p.Detail)
		}
		var list struct {
			Reconciliations []reconcile.Record `json:"reconciliations"`
		}
		a.getJSON(t, "/v1/reconciliations", &list)
		if len(list.Reconciliations) != 0 {
			t.Errorf("list: got %d records, want none", len(list.Reconciliations))
		}
	})
}

// TestReconcileAPIOdooDown checks that a day run while Odoo fails is
// answered 502 with the upstream-unavailable code, records nothing, and
// runs once Odoo answers again.
func TestReconcileAPIOdooDown(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		a := &apiHub{hub: w.hub, url: w.url, key: w.key}
		faults := w.srv.Sim().Faults()
		faults.Inject("account.move", "", 1000, odoosim.FaultHTTP503)
		status, h, out := a.call(t, http.MethodPost, "/v1/reconciliations", "application/json", []byte(`{"date":"2026-12-03"}`))
		p := wantProblem(t, "run with Odoo down", status, h, out, http.StatusBadGateway, problem.CodeUpstreamUnavailable)
		if !strings.Contains(p.Detail, "Odoo could not be read") {
			t.Errorf("detail %q does not say Odoo could not be read", p.Detail)
		}
		var list struct {
			Reconciliations []reconcile.Record `json:"reconciliations"`
		}
		a.getJSON(t, "/v1/reconciliations", &list)
		if len(list.Reconciliations) != 0 {
			t.Errorf("list after the failed run: got %d records, want none", len(list.Reconciliations))
		}
		faults.Clear()
		deadline := time.Now().Add(30 * time.Second)
		for {
			// The client's breaker may still be open for a moment.
			status, _, out = a.call(t, http.MethodPost, "/v1/reconciliations", "application/json", []byte(`{"date":"2026-12-03"}`))
			if status == http.StatusOK {
				break
			}
			if status != http.StatusBadGateway || time.Now().After(deadline) {
				t.Fatalf("run once Odoo is back: %d %s", status, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
