package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Viewport is a projector's: the dashboard must read well at this size.
const viewportWidth, viewportHeight = 1280, 720

// wait bounds every wait for something to show in the browser.
const wait = 20 * time.Second

// skippedFile is where a skipped browser test says why, for `make test`
// to print at the end: go test shows a skip only with -v.
var skippedFile = filepath.Join("..", "test-output", "browser-test-skipped")

// startBrowser starts headless Chromium with a fresh profile and returns a
// tab. When no browser can start the test skips, except in CI (CI set),
// where a browser test that quietly skips would hide a broken set-up.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if err := os.Remove(skippedFile); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewportWidth, viewportHeight),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	if path := os.Getenv("EVENTUALLY_CHROMIUM"); path != "" {
		opts = append(opts, chromedp.ExecPath(path))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)

	// The first run starts the browser and ties it to ctx, so no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		msg := fmt.Sprintf("cannot start Chromium (as root: apt-get update && apt-get install chromium; "+
			"or set EVENTUALLY_CHROMIUM to a Chrome or Chromium binary): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		if err := os.MkdirAll(filepath.Dir(skippedFile), 0o755); err == nil {
			_ = os.WriteFile(skippedFile, []byte(msg+"\n"), 0o644)
		}
		t.Skip(msg)
	}
	return ctx
}

// do runs browser actions with the wait as deadline, failing the test
// with what was being done.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run is do for one action with a result.
func run[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshotDir is where the screenshots go: EVENTUALLY_SCREENSHOTS, else
// test-output/screenshots in the repository (git-ignored). Not
// t.TempDir(): the screenshots are for people to look at afterwards.
// docs/screenshots holds the 1280x720 ones of each tab, <tab>.png and
// <tab>-before.png, copied from here.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EVENTUALLY_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "test-output", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves what the viewport shows as name.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := saveScreenshot(t, ctx, name); err != nil {
		t.Fatal(err)
	}
}

// saveScreenshot is screenshot that reports instead of failing, for when
// the test has already failed.
func saveScreenshot(t *testing.T, ctx context.Context, name string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	t.Logf("screenshot: %s", path)
	return nil
}
