package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/workflow"
)

var chargeMarker = regexp.MustCompile(`\[[^\]\s]+/\d+\]`)

// TestReconcileChargeMismatch edits or removes the service line of a rated
// charge on the invoice in Odoo, runs the day through the API with a
// finance key, and decides it: the difference waits for finance with both
// amounts as evidence, the decision closes its review, posts the draft only
// when approved, and is audited once.
func TestReconcileChargeMismatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// change alters the charge's service line in Odoo.
		change   func(t *testing.T, w *odooWorld, line odoo.InvoiceLine)
		decision string
		// wantOdoo is Odoo's side of the evidence; %line is the line's id,
		// %inv the invoice's.
		wantWaybill, wantOdoo, wantModel, wantServices string
		wantState, wantAudit                           string
	}{{
		name: "line edited, day approved",
		change: func(t *testing.T, w *odooWorld, line odoo.InvoiceLine) {
			if err := w.client.Write(t.Context(), "account.move.line", []int{line.ID}, map[string]any{"price_unit": 60.0}); err != nil {
				t.Fatal(err)
			}
		},
		decision:    reconcile.Approve,
		wantWaybill: "75.00 USD", wantOdoo: "60.00 USD on invoice line %line", wantModel: "account.move.line", wantServices: "60.00",
		wantState: reconcile.StateApproved, wantAudit: audit.ActionReconciliationApproved,
	}, {
		name: "line removed, day rejected",
		change: func(t *testing.T, w *odooWorld, line odoo.InvoiceLine) {
			if err := w.client.Unlink(t.Context(), "account.move.line", []int{line.ID}); err != nil {
				t.Fatal(err)
			}
		},
		decision:    reconcile.Reject,
		wantWaybill: "75.00 USD detention DET", wantOdoo: "no service line for the charge on invoice draft invoice %inv", wantModel: "account.move",
		wantServices: "0.00", wantState: reconcile.StateRejected, wantAudit: audit.ActionReconciliationRejected,
	}} {
		t.Run(tc.name, func(t *testing.T) {
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
				secret, _, err := w.hub.Keys.Create(ctx, "finance", []apikey.Scope{apikey.FinanceApprove})
				if err != nil {
					t.Fatal(err)
				}
				fin := &apiHub{hub: w.hub, url: w.url, key: secret}

				subject := "tms:RECON-CHARGE"
				w.ship(t, subject)
				id := w.shipmentID(t, subject)
				inv := w.invoiced(t, id)
				full, err := w.client.InvoicesWithLines(ctx, &odoo.InvoiceQuery{Refs: []string{reconcile.InvoiceRef(id)}})
				if err != nil || len(full) != 1 {
					t.Fatalf("reading the invoice: %v %v", full, err)
				}
				// The charge's line carries its marker, [<event id>/<n>].
				var line odoo.InvoiceLine
				var marker string
				for _, l := range full[0].Lines {
					if m := chargeMarker.FindString(l.Name); m != "" {
						line, marker = l, m
					}
				}
				if marker == "" {
					t.Fatalf("no service line with a charge marker on %+v", full[0])
				}
				tc.change(t, w, line)
				w.srv.Sim().ResetCalls()

				today := time.Now().UTC().Format("2006-01-02")
				status, _, out := fin.call(t, http.MethodPost, "/v1/reconciliations", "application/json", []byte(`{"date":"`+today+`"}`))
				var rec reconcile.Record
				if err := json.Unmarshal(out, &rec); status != http.StatusOK || err != nil {
					t.Fatalf("run: got %d %s, want 200", status, out)
				}
				wantOnly(t, "run", &rec, map[reconcile.Type]int{reconcile.ChargeMismatch: 1})
				if len(rec.Differences) != 1 {
					t.FailNow()
				}
				d := rec.Differences[0]
				wantOdoo := strings.NewReplacer("%line", strconv.Itoa(line.ID), "%inv", strconv.Itoa(inv.ID)).Replace(tc.wantOdoo)
				if d.ShipmentID != id || d.Subject != marker || d.Safe || d.Healed != "" ||
					d.Evidence.Waybill != tc.wantWaybill || d.Evidence.Odoo != wantOdoo || d.Evidence.OdooModel != tc.wantModel ||
					d.Evidence.OdooIDs[0] != inv.ID || d.Review == nil || d.Review.OwnerRole != reconcile.FinanceRole || d.Review.Status != reconcile.ReviewOpen {
					t.Errorf("charge mismatch: got %+v evidence %+v; want subject %s, evidence %q / %q on %s, an open finance review",
						d, d.Evidence, marker, tc.wantWaybill, wantOdoo, tc.wantModel)
				}
				if len(rec.Totals) != 1 || rec.Totals[0].Rated != "75.00" || rec.Totals[0].InvoicedServices != tc.wantServices {
					t.Errorf("totals: got %+v, want 75.00 rated and %s invoiced", rec.Totals, tc.wantServices)
				}

				status, _, out = fin.call(t, http.MethodPost, "/v1/reconciliations/"+rec.ID+"/decision", "application/json",
					[]byte(`{"decision":"`+tc.decision+`","reason":"charge checked"}`))
				var decided reconcile.Record
				if err := json.Unmarshal(out, &decided); status != http.StatusOK || err != nil {
					t.Fatalf("%s: got %d %s, want 200", tc.decision, status, out)
				}
				wantPosted := []int(nil)
				if tc.decision == reconcile.Approve {
					wantPosted = []int{inv.ID}
				}
				if decided.State != tc.wantState || decided.DecidedBy != "key:finance" || decided.Reason != "charge checked" ||
					decided.Differences[0].Review.Status != tc.wantState || !slices.Equal(decided.Posted, wantPosted) {
					t.Errorf("%s: got %+v, want %s by key:finance, posted %v", tc.decision, decided, tc.wantState, wantPosted)
				}
				if n := w.srv.Sim().Calls()["account.move.action_post"]; n != len(wantPosted) {
					t.Errorf("action_post called %d times, want %d", n, len(wantPosted))
				}
				state := "draft"
				if tc.decision == reconcile.Approve {
					state = "posted"
				}
				if got, err := w.client.FindInvoice(ctx, reconcile.InvoiceRef(id)); err != nil || got.State != state {
					t.Errorf("invoice after the decision: got %+v, %v; want %s", got, err, state)
				}
				entries := auditOf(t, w.hub, tc.wantAudit)
				if len(entries) != 1 || entries[0].Subject != rec.ID || entries[0].Actor != "key:finance" {
					t.Fatalf("audit: got %+v, want one %s of %s by key:finance", entries, tc.wantAudit, rec.ID)
				}
				var details struct {
					Date   string `json:"date"`
					Reason string `json:"reason"`
					Posted []int  `json:"posted"`
				}
				if err := json.Unmarshal(entries[0].Details, &details); err != nil || details.Date != today || details.Reason != "charge checked" ||
					!slices.Equal(details.Posted, wantPosted) {
					t.Errorf("audit details: got %s (%v), want date %s, the reason and posted %v", entries[0].Details, err, today, wantPosted)
				}
			})
		})
	}
}

// TestReconcileApprovalAfterCrash approves a day whose drafts are posted
// in Odoo by a process that dies before it records the decision: its
// database is gone the moment Odoo answers the posting. The day is run
// again, then approved again by the live hub: no invoice is posted twice,
// and the record ends approved with every invoice posted.
func TestReconcileApprovalAfterCrash(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		w := setupOdoo(t, opts, 18, nil)
		ctx := t.Context()
		subject := "tms:RECON-CRASH"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		inv := w.invoiced(t, id)
		// A second draft with the shipment's reference: the day posts both.
		demo := w.srv.Sim().Demo()
		dup, err := w.client.Create(ctx, "account.move", []map[string]any{{"move_type": "out_invoice", "partner_id": demo.Customers[0], "ref": reconcile.InvoiceRef(id),
			"invoice_line_ids": []any{[]any{0, 0, map[string]any{"product_id": demo.Products["E-COM07"], "quantity": 1.0, "price_unit": 5.0}}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{inv.ID, dup[0]}
		slices.Sort(want)
		today := time.Now().UTC().Format("2006-01-02")
		rec, err := w.hub.Reconciler.Run(ctx, reconcile.RunParams{Date: today})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}

		// The process that dies: its own database handle, and Odoo behind
		// a loopback front that closes that handle once Odoo has posted,
		// before the reply goes back.
		db, err := sqldb.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var closed atomic.Bool
		front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			w.srv.Sim().ServeHTTP(rw, r)
			if bytes.Contains(body, []byte(`"action_post"`)) || strings.HasSuffix(r.URL.Path, "/action_post") {
				if closed.CompareAndSwap(false, true) {
					db.Close()
				}
			}
		}))
		defer front.Close()
		sim := w.srv.Sim()
		cl, err := odoo.New(ctx, odoo.Config{URL: front.URL, Database: sim.Database(), Login: sim.Login(), APIKey: sim.APIKey(), Timeout: 10 * time.Second, RateLimit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		dying, err := reconcile.New(reconcile.Options{DB: db, Shipments: workflow.NewStore(db), System: "odoo", PostDrafts: true,
			Odoo: func(context.Context) (*odoo.Client, error) { return cl, nil }})
		if err != nil {
			t.Fatal(err)
		}
		sim.ResetCalls()
		if _, _, err := dying.Decide(ctx, reconcile.DecideParams{ID: rec.ID, Decision: reconcile.Approve, Actor: "key:finance"}); err == nil || !closed.Load() {
			t.Fatalf("approving with the database closed after posting: got %v (closed %t), want a failure after the posting", err, closed.Load())
		}
		if n := sim.Calls()["account.move.action_post"]; n != 1 {
			t.Fatalf("action_post called %d times by the approval that died, want 1", n)
		}
		rc := w.hub.Reconciler
		if got, err := rc.Get(ctx, rec.ID); err != nil || got.State != reconcile.StateOpen {
			t.Fatalf("record after the crash: got %+v, %v; want it open", got, err)
		}
		// The day runs again before anyone approves it (the schedule, say).
		if _, err := rc.Run(ctx, reconcile.RunParams{Date: today}); err != nil {
			t.Fatalf("Run after the crash: %v", err)
		}
		got, repeat, err := rc.Decide(ctx, reconcile.DecideParams{ID: rec.ID, Decision: reconcile.Approve, Actor: "key:finance", Reason: "after the crash"})
		if err != nil || repeat || got.State != reconcile.StateApproved || !slices.Equal(got.Posted, want) {
			t.Fatalf("approving again: got %+v, repeat %t, %v; want approved with %v posted", got, repeat, err, want)
		}
		if n := sim.Calls()["account.move.action_post"]; n != 1 {
			t.Errorf("action_post called %d times in all, want 1", n)
		}
		for _, id := range want {
			recs, err := w.client.Read(ctx, "account.move", []int{id}, []string{"state"})
			if err != nil || len(recs) != 1 || recs[0].String("state") != "posted" {
				t.Errorf("invoice %d: got %v, %v; want posted", id, recs, err)
			}
		}
	})
}
