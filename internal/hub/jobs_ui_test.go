package hub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/audit"
	"github.com/waybill/waybill/internal/config"
	"github.com/waybill/waybill/internal/poll"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// riverJob is the part of a job in River UI's API that the test reads.
type riverJob struct {
	ID    json.Number `json:"id"`
	Kind  string      `json:"kind"`
	State string      `json:"state"`
}

// jobsList is GET /console/jobs/api/jobs.
type jobsList struct {
	Data []riverJob `json:"data"`
}

var (
	riverConfig = regexp.MustCompile(`(?s)<script type="application/json" id="config__json">(.*?)</script>`)
	riverScript = regexp.MustCompile(`<script type="module" src="(/console/jobs/assets/[^"]+\.js)"`)
)

// TestConsoleJobs checks River UI in the console, on both engines: an
// admin session gets its page, assets and API, which list the job the hub
// enqueued for a release, and a retry made there runs the job again and
// is audited; other keys and other origins are refused.
func TestConsoleJobs(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setup(t, opts, func(cfg *config.Config) {
			// A failed attempt waits long enough to be seen retryable.
			cfg.Jobs.MaxAttempts = 5
			cfg.Jobs.RetryBase = time.Hour
			cfg.Jobs.RetryMax = time.Hour
		})
		b.receiver.mu.Lock()
		b.receiver.fail["dispatch.release"] = http.StatusServiceUnavailable
		b.receiver.mu.Unlock()

		// Without a session, the page sends to sign in and the API says so.
		anon := newBrowser(t, b.url)
		if status, _, h := anon.do(http.MethodGet, "/console/jobs/", nil, nil); status != http.StatusSeeOther || h.Get("Location") != "/console/login?next=%2Fconsole%2Fjobs%2F" {
			t.Errorf("the jobs page without a session: %d → %q", status, h.Get("Location"))
		}
		if status, body, h := anon.do(http.MethodGet, "/console/jobs/api/jobs", nil, nil); status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("the jobs API without a session: %d %q: %s", status, h.Get("Content-Type"), body)
		}

		// A release produces a dispatch.release job, which the receiver
		// refuses once: it waits, retryable.
		for _, e := range [][]byte{
			ce("j1", "shipment.planned", "odoo:WH/OUT/00077", "2026-11-26T08:00:00+01:00", plannedData),
			ce("j2", "inventory.reserved", "odoo:WH/OUT/00077", "2026-11-26T08:10:00+01:00", `{"lines":[{"line_id":"1","quantity":{"value":"12","unit":"C62"}},{"line_id":"2","quantity":{"value":"40","unit":"KGM"}}]}`),
		} {
			if status, body, _ := b.do(t, http.MethodPost, "/v1/events", "application/cloudevents+json", e); status != http.StatusAccepted {
				t.Fatalf("posting an event: %d %s", status, body)
			}
		}

		admin := newBrowser(t, b.url)
		admin.signIn(b.key)
		_, overview, h := admin.do(http.MethodGet, "/console/", nil, nil)
		if !strings.Contains(overview, `href="/console/jobs/"`) {
			t.Error("an admin's nav has no Jobs link")
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self';") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("the console's own pages have the policy %q, relaxed beyond River UI", csp)
		}
		status, page, h := admin.do(http.MethodGet, "/console/jobs/", nil, nil)
		if status != http.StatusOK || !strings.Contains(page, "<title>River</title>") {
			t.Fatalf("the jobs page: %d\n%s", status, page)
		}
		checkJobsCSP(t, h.Get("Content-Security-Policy"))
		m := riverConfig.FindStringSubmatch(page)
		var cfg struct {
			APIURL string `json:"apiUrl"`
		}
		if m == nil || json.Unmarshal([]byte(m[1]), &cfg) != nil || cfg.APIURL != "/console/jobs/api" {
			t.Errorf("River UI's config: %q, want apiUrl /console/jobs/api", m)
		}
		s := riverScript.FindStringSubmatch(page)
		if s == nil {
			t.Fatalf("the jobs page loads no script under /console/jobs/assets/:\n%s", page)
		}
		if status, js, h := admin.do(http.MethodGet, s[1], nil, nil); status != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "javascript") || len(js) < 1000 {
			t.Errorf("River UI's script %s: %d %q, %d bytes", s[1], status, h.Get("Content-Type"), len(js))
		}
		// River UI's own routes are answered by its page.
		if status, page, _ := admin.do(http.MethodGet, "/console/jobs/jobs?state=retryable", nil, nil); status != http.StatusOK || !strings.Contains(page, "<title>River</title>") {
			t.Errorf("River UI's job list route: %d", status)
		}

		var job riverJob
		poll.Until(t, "the retryable dispatch job in River UI's API", func() bool {
			status, body, _ := admin.do(http.MethodGet, "/console/jobs/api/jobs?state=retryable", nil, nil)
			var list jobsList
			if status != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
				t.Fatalf("listing retryable jobs: %d %s", status, body)
			}
			for _, j := range list.Data {
				if j.Kind == "dispatch_release" {
					job = j
					return true
				}
			}
			return false
		})
		status, body, _ := admin.do(http.MethodGet, "/console/jobs/api/jobs/"+job.ID.String(), nil, nil)
		var got riverJob
		if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.ID != job.ID || got.State != "retryable" {
			t.Errorf("job %s: %d %s", job.ID, status, body)
		}

		// A change needs to say where it comes from, and this origin.
		retry := `{"ids":["` + job.ID.String() + `"]}`
		for _, c := range []struct {
			name   string
			header http.Header
			want   int
		}{
			{"no origin at all", nil, http.StatusForbidden},
			{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
			{"same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
			{"another origin", http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
		} {
			if status, body, _ := admin.doBody(http.MethodPost, "/console/jobs/api/jobs/retry", "text/plain;charset=UTF-8", retry, c.header); status != c.want {
				t.Errorf("a retry, %s: %d, want %d: %s", c.name, status, c.want, body)
			}
		}
		same := http.Header{"Origin": {b.url}, "Sec-Fetch-Site": {"same-origin"}}
		// A change the console does not list is refused.
		if status, _, _ := admin.doBody(http.MethodDelete, "/console/jobs/api/jobs/"+job.ID.String(), "", "", same); status != http.StatusMethodNotAllowed {
			t.Errorf("an unlisted change: %d, want 405", status)
		}

		// A shipments:read key sees no Jobs link and is refused River UI.
		reader, _, err := b.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		rb := newBrowser(t, b.url)
		rb.signIn(reader)
		if _, page, _ := rb.do(http.MethodGet, "/console/", nil, nil); strings.Contains(page, "/console/jobs/") {
			t.Error("a shipments:read key's nav links Jobs")
		}
		for _, path := range []string{"/console/jobs/", "/console/jobs/api/jobs?state=retryable", s[1]} {
			if status, _, _ := rb.do(http.MethodGet, path, nil, nil); status != http.StatusForbidden {
				t.Errorf("shipments:read GET %s: %d, want 403", path, status)
			}
		}
		if status, _, _ := rb.doBody(http.MethodPost, "/console/jobs/api/jobs/retry", "text/plain;charset=UTF-8", retry, same); status != http.StatusForbidden {
			t.Errorf("shipments:read retry: %d, want 403", status)
		}

		// Once the receiver takes it, a retry from River UI delivers the
		// job now instead of in an hour, and the audit trail says who.
		b.receiver.mu.Lock()
		delete(b.receiver.fail, "dispatch.release")
		b.receiver.mu.Unlock()
		status, body, _ = admin.doBody(http.MethodPost, "/console/jobs/api/jobs/retry", "text/plain;charset=UTF-8", retry, same)
		if status != http.StatusOK {
			t.Fatalf("retrying job %s: %d %s", job.ID, status, body)
		}
		poll.Until(t, "the retried job's second delivery", func() bool {
			n := 0
			for _, d := range b.receiver.deliveries() {
				if d.Kind == "dispatch.release" {
					n++
				}
			}
			return n >= 2
		})
		poll.Until(t, "the retried job completed", func() bool {
			_, body, _ := admin.do(http.MethodGet, "/console/jobs/api/jobs/"+job.ID.String(), nil, nil)
			var j riverJob
			return json.Unmarshal([]byte(body), &j) == nil && j.State == "completed"
		})
		e, err := b.hub.Audit.Last(t.Context(), audit.ActionJobsRetried)
		if err != nil {
			t.Fatalf("the retry's audit entry: %v", err)
		}
		if e.Actor != "key:test" || e.Subject != job.ID.String() || !strings.Contains(string(e.Details), `"path":"/api/jobs/retry"`) {
			t.Errorf("the retry's audit entry: actor %q subject %q details %s", e.Actor, e.Subject, e.Details)
		}
		if _, err := strconv.ParseInt(e.Subject, 10, 64); err != nil {
			t.Errorf("audit subject %q is not a job id", e.Subject)
		}

		// Pausing and resuming the queue are changes too, audited by name.
		for _, c := range []struct{ path, action string }{
			{"/console/jobs/api/queues/default/pause", audit.ActionQueuePaused},
			{"/console/jobs/api/queues/default/resume", audit.ActionQueueResumed},
		} {
			if status, body, _ := admin.doBody(http.MethodPut, c.path, "", "", same); status != http.StatusOK {
				t.Errorf("PUT %s: %d %s", c.path, status, body)
			}
			if e, err := b.hub.Audit.Last(t.Context(), c.action); err != nil || e.Subject != "default" {
				t.Errorf("the %s audit entry: %v, %v", c.action, e, err)
			}
		}
	})
}

// checkJobsCSP checks the policy of River UI's pages: the console's,
// relaxed for inline styles only.
func checkJobsCSP(t *testing.T, csp string) {
	t.Helper()
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self' 'unsafe-inline';", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("River UI's CSP %q: no %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("River UI's CSP %q allows scripts it need not", csp)
	}
}

// doBody sends body as contentType, as River UI's script sends its
// changes.
func (b *browser) doBody(method, path, contentType, body string, header http.Header) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}
