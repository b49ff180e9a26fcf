// Package browsertest starts headless Chromium for the browser tests of
// the console and the tracking page. Chromium comes from Debian's chromium
// package; without it a test skips, except under CI=true, where it fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium binary, or ends the test: it
// skips without one, and fails under CI=true.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: install Debian's chromium package")
	}
	t.Skip("browser test skipped: install Debian's chromium package")
	return ""
}

// ScreenshotDir returns the directory a browser test saves its screenshots
// in: $WAYBILL_TEST_SCREENSHOTS, created when missing, or a temporary
// directory when it is unset.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("WAYBILL_TEST_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts headless Chromium (see Chromium) with a window of width by
// height and returns a browser context on a blank page; the browser stops
// when the test ends.
func Start(t testing.TB, width, height int) context.Context {
	t.Helper()
	chromium := Chromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(width, height))...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
