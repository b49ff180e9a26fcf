package hub_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
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
