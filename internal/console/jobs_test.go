package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/waybill/waybill/internal/apikey"
	"github.com/waybill/waybill/internal/console"
	"github.com/waybill/waybill/internal/sqldb"
	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
)

// TestJobsWithoutRiverUI checks the console of a server that has no River
// UI (Options.JobsUI nil): /console/jobs/ says so on a page of its own, to
// admin keys only, and the nav has no Jobs link.
func TestJobsWithoutRiverUI(t *testing.T) {
	t.Parallel()
	sqldbtest.Engines(t, func(t *testing.T, db *sqldb.DB) {
		keys := apikey.NewStore(db)
		c, err := console.New(console.Options{DB: db, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c.Handler())
		t.Cleanup(srv.Close)
		signIn := func(scopes ...apikey.Scope) *http.Client {
			t.Helper()
			secret, _, err := keys.Create(t.Context(), "k"+string(scopes[0][0]), scopes)
			if err != nil {
				t.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := cl.PostForm(srv.URL+"/console/login", url.Values{"key": {secret}, "next": {"/console/jobs/"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("signing in: %d", resp.StatusCode)
			}
			return cl
		}
		get := func(cl *http.Client, path string) (int, string) {
			t.Helper()
			resp, err := cl.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}

		admin := signIn(apikey.Admin)
		for _, path := range []string{"/console/jobs/", "/console/jobs/api/jobs"} {
			status, page := get(admin, path)
			if status != http.StatusNotFound || !strings.Contains(page, "does not serve River UI") {
				t.Errorf("GET %s without River UI: %d\n%s", path, status, page)
			}
			if strings.Contains(page, `href="/console/jobs/"`) {
				t.Errorf("GET %s without River UI: the nav links Jobs", path)
			}
		}
		reader := signIn(apikey.ShipmentsRead)
		if status, _ := get(reader, "/console/jobs/"); status != http.StatusForbidden {
			t.Errorf("a shipments:read key: %d, want 403", status)
		}
		anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if status, _ := get(anon, "/console/jobs/"); status != http.StatusSeeOther {
			t.Errorf("no session: %d, want a redirect to sign in", status)
		}
	})
}
