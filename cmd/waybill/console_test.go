package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/waybill/waybill/internal/browsertest"
)

// TestConsoleInBrowser drives the web console of a real serve --sandbox in
// headless Chromium: sign in, watch orders reach invoiced on the flow
// overview, open an invoiced shipment, decide the damaged-goods review,
// replay a dead letter, sign out (the session is dead after), and check
// that a shipments:read key sees no decision buttons and is refused when
// it posts the decision form anyway. It saves a screenshot of each page in
// $WAYBILL_TEST_SCREENSHOTS (a temporary directory when unset).
//
// Chromium comes from Debian's chromium package; without it the test
// skips, except under CI=true, where it fails.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary and a browser")
	}
	browsertest.Chromium(t) // skip or fail before setting anything up
	shots := browsertest.ScreenshotDir(t)

	// The webhook takes milestone notices and refuses them at first, for
	// good (400): each becomes a dead letter, to be replayed once it
	// answers again.
	var mu sync.Mutex
	refuse := true
	keys := map[string]int{} // idempotency key → deliveries
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			http.Error(w, "not now", http.StatusBadRequest)
			return
		}
		keys[r.Header.Get("Idempotency-Key")]++
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	sb := runSandbox(t, "WAYBILL_CONNECTORS_WEBHOOK_URL="+hook.URL, "WAYBILL_CONNECTORS_WEBHOOK_ACTIONS=milestone.sync",
		"WAYBILL_CONNECTORS_ODOO_ACTIONS=picking.validate,invoice.prepare,picking.return,stock.scrap")
	api := func(method, path string, body any, out any) int {
		t.Helper()
		var rd *strings.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		} else {
			rd = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, sb.base+path, rd)
		req.Header.Set("Authorization", "Bearer "+sb.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var reader struct{ Secret string }
	if st := api(http.MethodPost, "/v1/keys", map[string]any{"name": "dispatcher", "scopes": []string{"shipments:read"}}, &reader); st != http.StatusCreated {
		t.Fatalf("creating a read-only key: %d", st)
	}

	bctx := browsertest.Start(t, 1280, 900)
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatalf("counting %s: %v", sel, err)
		}
		return n
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// until loads url again and again until the text of the first sel
	// satisfies ok.
	until := func(what, url, sel string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			do(what, chromedp.Navigate(url))
			got := ""
			if count(sel) > 0 {
				if got = text(sel); ok(got) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q is %q after 2 minutes", what, sel, got)
			}
			time.Sleep(time.Second)
		}
	}
	// waitFor polls the page, for up to 20 seconds, until the JavaScript
	// expression cond is true.
	waitFor := func(what, cond string) {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(async () => {
			for (let i = 0; i < 200; i++) {
				if (%s) return true;
				await new Promise(r => setTimeout(r, 100));
			}
			return false;
		})()`, cond), chromedp.EvalAwaitPromise))
		if err != nil || !ok {
			t.Fatalf("%s: not after 20 s (%v)", what, err)
		}
	}
	signIn := func(key string) {
		t.Helper()
		do("signing in",
			chromedp.Navigate(sb.base+"/console/"),
			chromedp.WaitVisible(chromedp.CSS(`#key`)),
			chromedp.SendKeys(chromedp.CSS(`#key`), key),
			chromedp.Submit(chromedp.CSS(`#key`)),
			chromedp.WaitVisible(chromedp.CSS(`ol.funnel`)))
	}

	// Signing in: the login page, a wrong key, then the overview.
	do("the login page", chromedp.Navigate(sb.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#key`)))
	shot("01-login")
	do("a wrong key", chromedp.SendKeys(chromedp.CSS(`#key`), "wb_nothing"), chromedp.Submit(chromedp.CSS(`#key`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	signIn(sb.key)

	// The seeded orders reach invoiced with nobody sending an event.
	until("an invoiced shipment on the overview", sb.base+"/console/", `li[data-stage="Invoiced"] .count`, func(s string) bool {
		return s != "" && s != "0"
	})
	shot("02-overview")

	// The KPIs count the invoices of the day.
	do("the KPI page", chromedp.Navigate(sb.base+"/console/kpis?range=7d"), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
	if n := count(`figure.chart svg rect`); n != 14 {
		t.Errorf("KPI charts: %d bars, want 2 charts of 7 days", n)
	}
	shot("02b-kpis")

	// The shipment page of an invoiced shipment, opened from the search.
	var invoiced struct {
		Shipments []struct{ ID string } `json:"shipments"`
	}
	api(http.MethodGet, "/v1/shipments?state=invoiced", nil, &invoiced)
	if len(invoiced.Shipments) == 0 {
		t.Fatal("the overview counts an invoiced shipment the API does not list")
	}
	id := invoiced.Shipments[0].ID
	do("the shipment page", chromedp.Navigate(sb.base+"/console/"), chromedp.SendKeys(chromedp.CSS(`#ref`), id), chromedp.Submit(chromedp.CSS(`#ref`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.header`)))
	header := text(`dl.header`)
	for _, want := range []string{"Customer", "Picking", "validated", "Invoice", "open in Odoo"} {
		if !strings.Contains(header, want) {
			t.Errorf("shipment %s header %q: no %q", id, header, want)
		}
	}
	if n := count(`h2 + table tbody tr`); n < 6 {
		t.Errorf("shipment page shows %d table rows, want the lines and a timeline of the whole lifecycle", n)
	}
	shot("03-shipment")

	// The damaged-goods review: decided in the console, recorded through
	// the API.
	until("the damaged-goods review", sb.base+"/console/reviews", `article.review h2`, func(s string) bool { return strings.HasPrefix(s, "exception") })
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`article.review`), "id"))
	if err != nil {
		t.Fatal(err)
	}
	reviewID := strings.TrimPrefix(attr.Value, "review-")
	shot("04-reviews")
	// The damaged-goods exception, open until the review is decided.
	do("the exceptions page", chromedp.Navigate(sb.base+"/console/exceptions"), chromedp.WaitVisible(chromedp.CSS(`ul.buckets`)))
	if n := count(`ul.buckets li`); n != 3 {
		t.Errorf("exceptions page: %d age buckets, want 3", n)
	}
	if !strings.Contains(text(`main`), "damaged") {
		t.Error("exceptions page: the open damaged-goods exception is not listed")
	}
	shot("09-exceptions")
	do("back to the review", chromedp.Navigate(sb.base+"/console/reviews"), chromedp.WaitVisible(chromedp.CSS(`article.review`)))
	do("approving the review",
		chromedp.SendKeys(chromedp.CSS(`article.review input[name=reason]`), "photos show a crushed cabinet: return and scrap"),
		chromedp.Click(chromedp.CSS(`article.review button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	var review struct{ Status, Decision, Actor, Note string }
	api(http.MethodGet, "/v1/review/"+reviewID, nil, &review)
	if review.Decision != "approve" || review.Actor != "key:sandbox" {
		t.Errorf("review %s after approving in the console: %+v, want approve by key:sandbox", reviewID, review)
	}

	// A dead letter, replayed from the console after a confirmation.
	until("a dead letter", sb.base+"/console/dead-letters", `tbody tr td:nth-child(3)`, func(s string) bool { return s == "milestone.sync" })
	shot("05-dead-letters")
	mu.Lock()
	refuse = false
	mu.Unlock()
	dlID, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`tbody tr input[name=id]`)))
	if err != nil {
		t.Fatal(err)
	}
	do("choosing the dead letter",
		chromedp.Click(chromedp.CSS(`tbody tr input[name=id]`)),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitReady(chromedp.CSS(`input[name=confirm]`)))
	shot("06-replay-confirm")
	do("replaying", chromedp.Click(chromedp.CSS(`main form button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if flash := text(`p.flash`); flash != "1 replayed." {
		t.Errorf("after the replay: %q", flash)
	}
	var dls struct {
		DeadLetters []struct {
			ID             string `json:"id"`
			IdempotencyKey string `json:"idempotency_key"`
			Replays        []struct{ Actor string }
		} `json:"dead_letters"`
	}
	api(http.MethodGet, "/v1/dead-letters?limit=500", nil, &dls)
	replayKey := ""
	for _, dl := range dls.DeadLetters {
		if dl.ID == dlID {
			if len(dl.Replays) != 1 || dl.Replays[0].Actor != "key:sandbox" {
				t.Errorf("dead letter %s: replays %+v, want one by key:sandbox", dlID, dl.Replays)
			}
			replayKey = dl.IdempotencyKey
		}
	}
	if replayKey == "" {
		t.Fatalf("dead letter %s is not listed by the API", dlID)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := keys[replayKey]
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replayed milestone notice (key %s) never reached the webhook", replayKey)
		}
		time.Sleep(50 * time.Millisecond)
	}
	shot("07-replayed")

	// Feeds and connectors: the Odoo simulator's breaker is closed.
	do("the feeds page", chromedp.Navigate(sb.base+"/console/feeds"), chromedp.WaitVisible(chromedp.CSS(`dl.odoo`)))
	if got := text(`dd[data-breaker]`); !strings.HasPrefix(got, "closed") {
		t.Errorf("Odoo breaker on the feeds page: %q, want closed", got)
	}
	shot("10-feeds")

	// A carrier's EDI file, stored as received, on the payloads page.
	edi, err := os.ReadFile(filepath.Join("..", "..", "internal", "edi", "x12", "testdata", "x12-214-01-in-transit.edi"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, sb.base+"/v1/sources/sandbox-x12/edi", strings.NewReader(string(edi)))
	req.Header.Set("Authorization", "Bearer "+sb.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	do("the payloads page", chromedp.Navigate(sb.base+"/console/payloads?source=sandbox-x12"), chromedp.WaitVisible(chromedp.CSS(`main table a.mono`)))
	shot("11-payloads")
	do("a payload", chromedp.Click(chromedp.CSS(`main table a.mono`)), chromedp.WaitVisible(chromedp.CSS(`pre.body`)))
	shot("12-payload")

	// River UI, in the console: reached from the nav, it renders under
	// the console's policy (relaxed for inline styles only), lists the
	// jobs, and a retry clicked there is sent same-origin, carried out and
	// audited.
	do("watching for policy violations", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.violations = []; document.addEventListener("securitypolicyviolation", e => window.violations.push(e.violatedDirective + " " + e.blockedURI));`})
		return err
	}))
	do("River UI from the nav", chromedp.Navigate(sb.base+"/console/"), chromedp.Click(chromedp.CSS(`nav a[href="/console/jobs/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/jobs/queues"]`)))
	do("the cancelled jobs", chromedp.Navigate(sb.base+"/console/jobs/jobs?state=cancelled"),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/console/jobs/jobs/"]`)))
	shot("07b-river-ui-jobs")
	do("a cancelled job", chromedp.Click(chromedp.CSS(`a[href^="/console/jobs/jobs/"]`)))
	waitFor("the job's Retry button", `[...document.querySelectorAll("button")].some(b => b.textContent.trim() === "Retry")`)
	jobID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname.split("/").pop()`))
	if err != nil {
		t.Fatal(err)
	}
	do("retrying the job", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("button")].find(b => b.textContent.trim() === "Retry").click()`))
	waitFor("River UI's word that the job is retried", `document.body.innerText.includes("Job enqueued for retry")`)
	shot("07c-river-ui-retried")
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.violations`))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		// River UI's zod probes once whether it may eval, and does without.
		if v != "script-src eval" {
			t.Errorf("River UI broke the page's policy: %s", v)
		}
	}
	var retried struct {
		Entries []struct{ Actor, Subject string } `json:"entries"`
	}
	if st := api(http.MethodGet, "/v1/audit?action=jobs.retried", nil, &retried); st != http.StatusOK || len(retried.Entries) != 1 ||
		retried.Entries[0].Actor != "key:sandbox" || retried.Entries[0].Subject != jobID {
		t.Errorf("the retry's audit entries: %d %+v, want one of job %s by key:sandbox", st, retried.Entries, jobID)
	}
	do("back to the console", chromedp.Navigate(sb.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`.who button`)))

	// Signing out ends the session for good: its cookie no longer opens
	// a page.
	var cookies []*network.Cookie
	do("the session cookie", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		cookies = res.Cookies
		return err
	}))
	do("signing out", chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.CSS(`#key`)))
	var session *network.Cookie
	for _, c := range cookies {
		if c.Name == "waybill_console" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", session)
	}
	req, _ = http.NewRequest(http.MethodGet, sb.base+"/console/", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
		t.Errorf("the signed-out session's cookie: %d → %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A shipments:read key reads, but has no decision buttons and no
	// dead letters, and posting the decision form anyway is refused.
	signIn(reader.Secret)
	do("the review queue, read-only", chromedp.Navigate(sb.base+"/console/reviews?state=approved"), chromedp.WaitVisible(chromedp.CSS(`article.review`)))
	if forms, links := count(`form.decide, button[value=approve]`), count(`a[href="/console/dead-letters"]`); forms != 0 || links != 0 {
		t.Errorf("read-only key: %d decision forms and %d dead-letter links, want none", forms, links)
	}
	shot("08-read-only")
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
		const csrf = document.querySelector("input[name=csrf]").value;
		const r = await fetch("/console/reviews/%s/decision", {method: "POST", body: new URLSearchParams({csrf, decision: "reject", reason: "not mine to decide"})});
		return r.status;
	})()`, reviewID), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusForbidden {
		t.Errorf("a read-only key posting a decision: %d, want 403", status)
	}
	api(http.MethodGet, "/v1/review/"+reviewID, nil, &review)
	if review.Decision != "approve" {
		t.Errorf("review %s after the refused post: %+v", reviewID, review)
	}
	t.Logf("screenshots in %s", shots)
}
