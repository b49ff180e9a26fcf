package trackpage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/waybill/waybill/internal/browsertest"

	"github.com/waybill/waybill/internal/sqldb/sqldbtest"
	"github.com/waybill/waybill/internal/trackpage"
)

// TestPageInBrowser opens the tracking page of a delivered shipment in
// headless Chromium, waits for it to render, saves a screenshot and checks
// the rendered text: the status and milestones are there; the shipment's
// UUID, its price and its invoice are not. Chromium comes from Debian's
// chromium package; without it the test skips, except under CI=true,
// where it fails. Screenshots go to $WAYBILL_TEST_SCREENSHOTS (a temporary
// directory when unset).
func TestPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	browsertest.Chromium(t) // skip or fail before setting anything up
	shots := browsertest.ScreenshotDir(t)

	// A brand without a logo: the page loads nothing from beyond loopback.
	b := setup(t, sqldbtest.SQLite(t), func(o *trackpage.Options) {
		o.View.Branding = map[string]trackpage.Brand{odooPartnerID: {Name: "Pinecrest Logistics", PrimaryColor: "#0a3d62", AccentColor: "#f6b93b"}}
	})
	link := b.create(t, canonicalID)

	bctx := browsertest.Start(t, 1024, 900)
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(b.srv.URL+link.URL), chromedp.WaitVisible(chromedp.CSS(`section.milestones ol`))); err != nil {
		t.Fatalf("opening the page: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.status`)))
	if err != nil {
		t.Fatalf("reading the status: %v", err)
	}
	if got := strings.TrimSpace(status); got != "Delivered" {
		t.Errorf("rendered status %q, want Delivered", got)
	}
	for _, want := range []string{"BOL-550193", "Departed", "Out for delivery", "Delivered", "J. Jansen", "Pinecrest Logistics", "Columbus, OH, US"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered page lacks %q:\n%s", want, text)
		}
	}
	for _, s := range forbidden {
		if strings.Contains(text, s) {
			t.Errorf("the rendered page shows %q", s)
		}
	}
	// The brand's colour reached the rendering, not just the markup.
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).backgroundColor`))
	if err != nil {
		t.Fatalf("reading the header colour: %v", err)
	}
	if bg != "rgb(10, 61, 98)" {
		t.Errorf("header background %q, want the brand's #0a3d62", bg)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Fatalf("screenshot is not a PNG of a page (%d bytes)", len(png))
	}
	path := filepath.Join(shots, "tracking-page.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))

	// A revoked link renders the not-found page. The browser may keep the
	// page it has for cache_max_age (Cache-Control: private, max-age):
	// its cache is turned off to see what the server answers now.
	if _, err := b.svc.Revoke(t.Context(), link.Link.ID); err != nil {
		t.Fatal(err)
	}
	noCache := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
		return err
	})
	if err := chromedp.Do(ctx, noCache, chromedp.Navigate(b.srv.URL+link.URL), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
		t.Fatalf("opening the revoked page: %v", err)
	}
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(h1) != "Tracking page not found" {
		t.Errorf("revoked page heading %q", h1)
	}
}
