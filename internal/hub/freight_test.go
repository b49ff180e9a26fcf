package hub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/connector"
	"github.com/waybill/waybill/internal/connector/odoo"
	"github.com/waybill/waybill/internal/freight"
	"github.com/waybill/waybill/internal/odoosim"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/problem"
	"github.com/waybill/waybill/internal/reconcile"
	"github.com/waybill/waybill/internal/shipment"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// costRules rate carrier XPOL's cost of a shipment: 20.00 linehaul and a
// 10 % fuel surcharge, 22.00 in all. No rule rates any other carrier.
const costRules = `version: "cost-2026.12"
currency: USD
rules:
  - id: xpol-linehaul
    kind: freight
    when: has(facts.carrier_scac) && facts.carrier_scac == "XPOL"
    amount: 20.00
  - id: xpol-fuel
    kind: fuel
    when: has(facts.carrier_scac) && facts.carrier_scac == "XPOL"
    percent: 10
`

// TestFreightAudit ships and invoices a shipment through the simulated
// Odoo, then reports carrier invoices for it: one 12 % above the expected
// cost opens a review with both sides and, approved, becomes exactly one
// vendor bill although its first create loses its reply and the job runs
// once more; one within tolerance is approved by itself and billed once;
// one of a carrier no cost rule rates opens a review saying so; a
// disputed one is not billed. The shipment shows its margin.
func TestFreightAudit(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		rules := filepath.Join(t.TempDir(), "cost.yaml")
		if err := os.WriteFile(rules, []byte(costRules), 0o600); err != nil {
			t.Fatal(err)
		}
		w := setupOdoo(t, opts, 18, func(c *config.Config) {
			c.FreightAudit.CostRulesFile = rules
			c.FreightAudit.Tolerances = []config.FreightTolerance{{Type: "default", Abs: "0.50", Percent: "2"}}
			c.FreightAudit.BillState = config.OdooInvoicePosted
		})
		ctx := t.Context()
		vendors, err := w.client.Create(ctx, "res.partner", []map[string]any{{"name": "XPO Logistics", "ref": "XPOL", "is_company": true, "supplier_rank": 1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		vendor := vendors[0]
		subject := "tms:FREIGHT-1"
		w.ship(t, subject)
		id := w.shipmentID(t, subject)
		w.invoiced(t, id)
		poll.Until(t, "the shipment invoiced", func() bool { return getShipment(t, w.bundle, subject)["state"] == "invoiced" })
		fa := w.hub.Freight

		carrierInvoice := func(number, scac string, linehaul, fuel int) {
			t.Helper()
			data := fmt.Sprintf(`{"invoice_number":%q,"invoice_date":"2026-11-27","carrier":{"scac":%q},"charges":[`+
				`{"code":"400","type":"linehaul","description":"Linehaul","amount":{"minor":%d,"currency":"USD"}},`+
				`{"code":"FUE","type":"fuel","amount":{"minor":%d,"currency":"USD"}}]}`, number, scac, linehaul, fuel)
			status, body, _ := w.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json",
				ce(subject+"/"+number, "charges.reported", subject, "2026-11-27T10:00:00+01:00", data))
			if status != http.StatusAccepted {
				t.Fatalf("%s: got status %d: %s", number, status, body)
			}
		}
		auditOf := func(number string) *freight.Audit {
			t.Helper()
			var found *freight.Audit
			poll.Until(t, "the audit of "+number, func() bool {
				list, _, err := fa.List(ctx, freight.ListParams{ShipmentID: id, Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range list {
					if a.InvoiceNumber == number {
						found = a
					}
				}
				return found != nil
			})
			return found
		}
		bills := func(ref string) []int {
			t.Helper()
			ids, err := w.client.Search(ctx, "account.move", odoo.Domain{odoo.Leaf("move_type", "=", "in_invoice"), odoo.Leaf("ref", "=", ref)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ids
		}
		billed := func(number string) *freight.Audit {
			t.Helper()
			var a *freight.Audit
			poll.Until(t, "the vendor bill of "+number+" recorded", func() bool {
				got := auditOf(number)
				if got.Bill != nil && got.Bill.State == "posted" {
					a = got
				}
				return a != nil
			})
			return a
		}

		// Within tolerance: linehaul 1 % above, fuel as expected. Its
		// first create commits in Odoo but loses the reply.
		w.srv.Sim().Faults().Inject("account.move", "create", 1, odoosim.FaultDropAfterCommit)
		carrierInvoice("INV-OK", "XPOL", 2020, 200)
		ok := billed("INV-OK")
		if ok.State != freight.StateApproved || !ok.AutoApproved || ok.ReviewReason != "" {
			t.Errorf("INV-OK: got state %s, auto %t, reason %q; want approved by itself", ok.State, ok.AutoApproved, ok.ReviewReason)
		}
		if got := bills("INV-OK"); len(got) != 1 || got[0] != ok.Bill.ID {
			t.Errorf("INV-OK: vendor bills %v, want one, %d", got, ok.Bill.ID)
		}
		bill, err := w.client.VendorBill(ctx, ok.Bill.ID)
		if err != nil || bill.Partner.ID != vendor || bill.State != "posted" || bill.InvoiceDate != "2026-11-27" || len(bill.Lines) != 2 ||
			bill.Lines[0].Product.ID != w.srv.Sim().Demo().Services["FREIGHT"] || bill.Lines[0].PriceUnit != 20.20 || bill.Lines[1].PriceUnit != 2 {
			t.Errorf("INV-OK: got bill %+v, %v; want XPOL's posted bill of 20.20 linehaul and 2.00 fuel on FREIGHT", bill, err)
		}

		// 12 % above: a review with both calculations side by side.
		carrierInvoice("INV-HIGH", "XPOL", 2240, 224)
		high := auditOf("INV-HIGH")
		if high.State != freight.StateReview || high.OwnerRole != freight.FinanceRole || !strings.Contains(high.ReviewReason, "linehaul billed 22.40 USD, expected 20.00 USD (12.00 % above), 0.50 USD allowed") {
			t.Errorf("INV-HIGH: got state %s, reason %q; want a finance review naming the linehaul 12 %% above", high.State, high.ReviewReason)
		}
		want := []freight.Line{
			{Type: "linehaul", Currency: "USD", Reported: "22.40", Expected: "20.00", Difference: "2.40", Percent: "12.00", Allowed: "0.50"},
			{Type: "fuel", Currency: "USD", Reported: "2.24", Expected: "2.00", Difference: "0.24", Percent: "12.00", Allowed: "0.50", Within: true},
		}
		if len(high.Lines) != 2 || high.Lines[0] != want[0] || high.Lines[1] != want[1] {
			t.Errorf("INV-HIGH lines: got %+v, want %+v", high.Lines, want)
		}
		if len(high.ExpectedCharges) != 2 || high.ExpectedCharges[0].RuleID != "xpol-linehaul" || high.Expected.Decimal() != "22.00" || high.Reported.Decimal() != "24.64" {
			t.Errorf("INV-HIGH: got expected charges %+v, totals %v / %v", high.ExpectedCharges, high.Reported, high.Expected)
		}
		if got := bills("INV-HIGH"); len(got) != 0 {
			t.Errorf("INV-HIGH in review: vendor bills %v, want none", got)
		}

		// No cost rule for the carrier: a review saying so.
		carrierInvoice("INV-NORULE", "NOCO", 2000, 100)
		norule := auditOf("INV-NORULE")
		if norule.State != freight.StateReview || !strings.Contains(norule.ReviewReason, "no cost rule rates carrier SCAC NOCO") {
			t.Errorf("INV-NORULE: got state %s, reason %q; want a review saying no cost rule rates NOCO", norule.State, norule.ReviewReason)
		}

		// Disputing needs a reason; a disputed invoice is not billed.
		carrierInvoice("INV-DISPUTE", "XPOL", 2240, 224)
		disputed := auditOf("INV-DISPUTE")
		status, body, h := w.do(t, http.MethodPost, "/v1/freight-audits/"+disputed.ID+"/decision", "application/json", []byte(`{"decision":"dispute"}`))
		wantProblem(t, "dispute without reason", status, h, body, http.StatusBadRequest, problem.CodeBadRequest)
		// Hostile decisions are refused one by one, and leave the audit
		// in review for the good one that follows.
		opsSecret, _, err := w.hub.Keys.Create(ctx, "warehouse", []apikey.Scope{apikey.ReviewWrite})
		if err != nil {
			t.Fatal(err)
		}
		ops := &apiHub{hub: w.hub, url: w.url, key: opsSecret}
		status, h, out := ops.call(t, http.MethodPost, "/v1/freight-audits/"+disputed.ID+"/decision", "application/json", []byte(`{"decision":"approve"}`))
		wantProblem(t, "decision with review:write", status, h, out, http.StatusForbidden, problem.CodeForbidden)
		for _, bad := range []struct{ name, body string }{
			{"malformed JSON", `{"decision":`},
			{"unknown decision", `{"decision":"pay"}`},
			{"NUL in the reason", `{"decision":"dispute","reason":"rate\u0000"}`},
			{"invalid UTF-8 in the reason", "{\"decision\":\"dispute\",\"reason\":\"r\xffate\"}"},
			{"reason too long", `{"decision":"dispute","reason":"` + strings.Repeat("x", 2001) + `"}`},
		} {
			status, body, h = w.do(t, http.MethodPost, "/v1/freight-audits/"+disputed.ID+"/decision", "application/json", []byte(bad.body))
			if status < 400 || status >= 500 || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: got %d %s %s, want a 4xx problem", bad.name, status, h.Get("Content-Type"), body)
			}
		}
		status, body, h = w.do(t, http.MethodPost, "/v1/freight-audits/no-such-audit/decision", "application/json", []byte(`{"decision":"approve"}`))
		wantProblem(t, "decision on an unknown audit", status, h, body, http.StatusNotFound, problem.CodeNotFound)
		if still := auditOf("INV-DISPUTE"); still.State != freight.StateReview {
			t.Fatalf("INV-DISPUTE after hostile decisions: state %s, want still in review", still.State)
		}
		status, body, _ = w.do(t, http.MethodPost, "/v1/freight-audits/"+disputed.ID+"/decision", "application/json",
			[]byte(`{"decision":"dispute","reason":"linehaul rate is not the contract's"}`))
		if status != http.StatusOK || !strings.Contains(string(body), `"state":"disputed"`) {
			t.Fatalf("dispute: got %d %s", status, body)
		}

		// Approving the 12 % invoice bills it once: its create loses its
		// reply, the retry finds the bill, and a third run of the job finds
		// it too.
		w.srv.Sim().Faults().Inject("account.move", "create", 1, odoosim.FaultDropAfterCommit)
		status, body, _ = w.do(t, http.MethodPost, "/v1/freight-audits/"+high.ID+"/decision", "application/json",
			[]byte(`{"decision":"approve","reason":"fuel surcharge table changed this week"}`))
		if status != http.StatusOK || !strings.Contains(string(body), `"state":"approved"`) {
			t.Fatalf("approve: got %d %s", status, body)
		}
		status, body, h = w.do(t, http.MethodPost, "/v1/freight-audits/"+high.ID+"/decision", "application/json", []byte(`{"decision":"dispute","reason":"changed my mind"}`))
		wantProblem(t, "disputing an approved audit", status, h, body, http.StatusConflict, problem.CodeConflict)
		high = billed("INV-HIGH")
		conn, _ := w.hub.Registry.Lookup(shipment.ActionVendorBillCreate)
		payload, _ := json.Marshal(shipment.CarrierBill{AuditID: high.ID, ShipmentID: id, Carrier: high.Carrier, InvoiceNumber: high.InvoiceNumber,
			InvoiceDate: high.InvoiceDate, Charges: high.Charges})
		again := &connector.Action{Kind: shipment.ActionVendorBillCreate, ShipmentID: id, EventID: high.EventID, CorrelationID: "again",
			IdempotencyKey: "freight/" + high.ID + "/" + shipment.ActionVendorBillCreate, Attempt: 1, Payload: payload}
		if err := conn.Deliver(ctx, again); err != nil {
			t.Fatalf("running the vendor bill again: %v", err)
		}
		if got := bills("INV-HIGH"); len(got) != 1 || got[0] != high.Bill.ID {
			t.Errorf("INV-HIGH approved: vendor bills %v, want one, %d", got, high.Bill.ID)
		}
		if got := bills("INV-DISPUTE"); len(got) != 0 {
			t.Errorf("INV-DISPUTE: vendor bills %v, want none", got)
		}
		if got := bills("INV-NORULE"); len(got) != 0 {
			t.Errorf("INV-NORULE: vendor bills %v, want none", got)
		}

		// The same invoice reported again is a repeat, not a new audit.
		status, body, _ = w.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json",
			ce(subject+"/INV-OK-again", "charges.reported", subject, "2026-11-27T11:00:00+01:00",
				`{"invoice_number":"INV-OK","carrier":{"scac":"XPOL"},"charges":[{"code":"400","type":"linehaul","amount":{"minor":2020,"currency":"USD"}}]}`))
		if status != http.StatusAccepted {
			t.Fatalf("repeat: got %d %s", status, body)
		}
		poll.Until(t, "the repeat recorded", func() bool { return len(auditOf("INV-OK").Repeats) == 1 })
		if got := bills("INV-OK"); len(got) != 1 {
			t.Errorf("INV-OK after its repeat: vendor bills %v, want one", got)
		}

		// The margin: 75.00 billed to the customer (the detention charge)
		// less the approved 22.20 and 24.64; the invoice in review is
		// pending, the disputed one counts nowhere.
		var view struct {
			Margin *freight.Margin `json:"margin"`
		}
		status, body, _ = w.do(t, http.MethodGet, "/v1/shipments/"+id, "", nil)
		if status != http.StatusOK || json.Unmarshal(body, &view) != nil || view.Margin == nil {
			t.Fatalf("shipment: got %d %s", status, body)
		}
		m := view.Margin
		if !m.Invoiced || m.Currency != "USD" || m.Revenue != "75.00" || m.FreightCost != "46.84" || m.PendingCost != "21.00" || m.Margin != "28.16" {
			t.Errorf("margin: got %+v; want 75.00 − 46.84 = 28.16 USD, 21.00 pending", m)
		}

		// So does the day's reconciliation report, per shipment and
		// customer.
		rec, err := w.hub.Reconciler.Run(ctx, reconcile.RunParams{Date: time.Now().UTC().Format(time.DateOnly)})
		if err != nil {
			t.Fatal(err)
		}
		var rep reconcile.Report
		status, body, _ = w.do(t, http.MethodGet, "/v1/reconciliations/"+rec.ID+"/report", "", nil)
		if status != http.StatusOK || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("report: got %d %s", status, body)
		}
		if len(rep.Margins) != 1 || rep.Margins[0].ShipmentID != id || rep.Margins[0].Margin != "28.16" ||
			len(rep.CustomerMargins) != 1 || rep.CustomerMargins[0].Margin != "28.16" {
			t.Errorf("report margins: got %+v and %+v; want shipment %s and its customer at 28.16", rep.Margins, rep.CustomerMargins, id)
		}

		// The console's shipment page shows it too.
		br := newBrowser(t, w.url)
		br.signIn(w.key)
		status, page, _ := br.do(http.MethodGet, "/console/shipments/"+id, nil, nil)
		if status != http.StatusOK || !strings.Contains(page, "<h2>Margin</h2>") || !strings.Contains(page, "<strong>28.16 USD</strong>") {
			t.Errorf("console shipment page: got %d, margin shown %t", status, strings.Contains(page, "28.16 USD"))
		}

		// Decisions are audited; the API lists by state.
		var list struct {
			Audits []freight.Audit `json:"audits"`
		}
		status, body, _ = w.do(t, http.MethodGet, "/v1/freight-audits?state=review", "", nil)
		if status != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Audits) != 1 || list.Audits[0].InvoiceNumber != "INV-NORULE" {
			t.Errorf("audits in review: got %d %s", status, body)
		}
		entries, _, err := w.hub.Audit.List(ctx, audit.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		decided := map[string]string{}
		for _, e := range entries {
			if e.Action == audit.ActionFreightAuditApproved || e.Action == audit.ActionFreightAuditDisputed {
				decided[e.Subject] = e.Action
			}
		}
		if decided[high.ID] != audit.ActionFreightAuditApproved || decided[disputed.ID] != audit.ActionFreightAuditDisputed || len(decided) != 2 {
			t.Errorf("audit trail: got %v, want %s approved and %s disputed", decided, high.ID, disputed.ID)
		}
	})
}
