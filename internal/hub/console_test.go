package hub_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values, header http.Header) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with key and returns the session's CSRF token.
func (b *browser) signIn(key string) string {
	b.t.Helper()
	status, _, h := b.do(http.MethodPost, "/console/login", url.Values{"key": {key}, "next": {"/console/reviews"}}, nil)
	if status != http.StatusSeeOther || h.Get("Location") != "/console/reviews" {
		b.t.Fatalf("signing in: %d → %q", status, h.Get("Location"))
	}
	status, page, _ := b.do(http.MethodGet, "/console/", nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		b.t.Fatalf("the overview after signing in: %d, csrf token found: %v", status, m != nil)
	}
	return m[1]
}

// TestConsoleSessions checks the console's sign-in, sessions, CSRF and
// scope rules over plain HTTP, on both engines: what the browser test
// cannot easily reach.
func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	sqldbtest.EngineOptions(t, func(t *testing.T, opts sqldb.Options) {
		b := setup(t, opts, nil)
		anon := newBrowser(t, b.url)

		// Without a session, pages send to sign in, keeping where to.
		status, _, h := anon.do(http.MethodGet, "/console/reviews?state=open", nil, nil)
		if status != http.StatusSeeOther || h.Get("Location") != "/console/login?next=%2Fconsole%2Freviews%3Fstate%3Dopen" {
			t.Errorf("no session: %d → %q", status, h.Get("Location"))
		}
		if status, _, _ := anon.do(http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}}, nil); status != http.StatusUnauthorized {
			t.Errorf("posting without a session: %d, want 401", status)
		}
		// A bad key is refused with the reason; nowhere outside the
		// console is a destination after signing in.
		for _, key := range []string{"", "wb_nope", b.key + "x"} {
			status, page, _ := anon.do(http.MethodPost, "/console/login", url.Values{"key": {key}}, nil)
			if status != http.StatusUnauthorized || !strings.Contains(page, `class="error"`) {
				t.Errorf("signing in with %q: %d", key, status)
			}
		}
		status, _, h = anon.do(http.MethodPost, "/console/login", url.Values{"key": {b.key}, "next": {"//evil.example/console/"}}, nil)
		if status != http.StatusSeeOther || h.Get("Location") != "/console/" {
			t.Errorf("an outside next: %d → %q, want /console/", status, h.Get("Location"))
		}
		cookie := h.Get("Set-Cookie")
		for _, want := range []string{"waybill_console=", "Path=/console", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("session cookie %q: no %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("session cookie %q is Secure over plain HTTP", cookie)
		}

		admin := newBrowser(t, b.url)
		csrf := admin.signIn(b.key)
		status, page, h := admin.do(http.MethodGet, "/console/", nil, nil)
		if status != http.StatusOK || h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("overview: %d, Cache-Control %q, CSP %q", status, h.Get("Cache-Control"), h.Get("Content-Security-Policy"))
		}
		if !strings.Contains(page, `data-stage="Invoiced"`) {
			t.Error("the overview has no funnel")
		}
		// Unknown things answer 404 pages, bad input 400, never a panic.
		for path, want := range map[string]int{
			"/console/shipments/nope:1":          http.StatusNotFound,
			"/console/shipments/%20":             http.StatusNotFound,
			"/console/nowhere":                   http.StatusNotFound,
			"/console/reviews?state=maybe":       http.StatusBadRequest,
			"/console/reviews?cursor=zzz!!":      http.StatusBadRequest,
			"/console/dead-letters?cursor=zzz!!": http.StatusBadRequest,
			"/console/kpis?range=1y":             http.StatusBadRequest,
			"/console/?customer=a%1Fc%3Db":       http.StatusBadRequest,
			"/console/kpis?range=30d":            http.StatusOK,
		} {
			if status, _, _ := admin.do(http.MethodGet, path, nil, nil); status != want {
				t.Errorf("GET %s: %d, want %d", path, status, want)
			}
		}

		// A form without the session's token, or from another site, is
		// refused before anything happens.
		if status, _, _ := admin.do(http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}, "confirm": {"yes"}}, nil); status != http.StatusForbidden {
			t.Errorf("no CSRF token: %d, want 403", status)
		}
		if status, _, _ := admin.do(http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}, "csrf": {csrf + "x"}}, nil); status != http.StatusForbidden {
			t.Errorf("a wrong CSRF token: %d, want 403", status)
		}
		cross := http.Header{"Sec-Fetch-Site": {"cross-site"}}
		if status, _, _ := admin.do(http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}, "csrf": {csrf}}, cross); status != http.StatusForbidden {
			t.Errorf("a cross-site post: %d, want 403", status)
		}
		// With the token: the confirmation page names the unknown id.
		if status, _, _ := admin.do(http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}, "csrf": {csrf}}, nil); status != http.StatusNotFound {
			t.Errorf("replaying an unknown dead letter: %d, want 404", status)
		}
		// A decision the API refuses comes back with the API's reason.
		status, page, _ = admin.do(http.MethodPost, "/console/reviews/nope/decision", url.Values{"decision": {"approve"}, "reason": {"x"}, "csrf": {csrf}}, nil)
		if status != http.StatusNotFound || !strings.Contains(page, "no review nope") {
			t.Errorf("deciding an unknown review: %d", status)
		}

		// A shipments:read key: reads, and is refused what its scopes do not allow.
		reader, _, err := b.hub.Keys.Create(t.Context(), "reader", []apikey.Scope{apikey.ShipmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		rb := newBrowser(t, b.url)
		rcsrf := rb.signIn(reader)
		if status, page, _ := rb.do(http.MethodGet, "/console/", nil, nil); status != http.StatusOK || strings.Contains(page, "/console/dead-letters") {
			t.Errorf("read-only overview: %d, dead letters linked: %v", status, strings.Contains(page, "/console/dead-letters"))
		}
		for _, c := range []struct {
			method, path string
			form         url.Values
		}{
			{http.MethodGet, "/console/dead-letters", nil},
			{http.MethodPost, "/console/dead-letters/replay", url.Values{"id": {"x"}, "confirm": {"yes"}, "csrf": {rcsrf}}},
			{http.MethodPost, "/console/reviews/x/decision", url.Values{"decision": {"approve"}, "reason": {"x"}, "csrf": {rcsrf}}},
		} {
			if status, _, _ := rb.do(c.method, c.path, c.form, nil); status != http.StatusForbidden {
				t.Errorf("read-only %s %s: %d, want 403", c.method, c.path, status)
			}
		}

		// Revoking the key ends its sessions at once.
		if _, err := b.hub.Keys.Revoke(t.Context(), "reader"); err != nil {
			t.Fatal(err)
		}
		if status, page, _ := rb.do(http.MethodGet, "/console/", nil, nil); status != http.StatusUnauthorized || !strings.Contains(page, "no longer valid") {
			t.Errorf("after revoking the key: %d", status)
		}
		if status, _, _ := rb.do(http.MethodGet, "/console/", nil, nil); status != http.StatusSeeOther {
			t.Errorf("after revoking the key, again: %d, want a redirect to sign in", status)
		}

		// Signing out ends the session; the old cookie opens nothing.
		u, _ := url.Parse(b.url + "/console/")
		old := admin.c.Jar.Cookies(u)
		if status, _, h := admin.do(http.MethodPost, "/console/logout", url.Values{"csrf": {csrf}}, nil); status != http.StatusSeeOther || h.Get("Location") != "/console/login" {
			t.Errorf("signing out: %d → %q", status, h.Get("Location"))
		}
		replay := newBrowser(t, b.url)
		replay.c.Jar.SetCookies(u, old)
		if status, _, _ := replay.do(http.MethodGet, "/console/", nil, nil); status != http.StatusSeeOther {
			t.Errorf("a signed-out session's cookie: %d, want a redirect to sign in", status)
		}
	})
}
