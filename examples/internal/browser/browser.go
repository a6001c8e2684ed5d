// Package browser starts a headless Chromium for the browser tests of the
// examples (examples/spa, the Swagger UI of examples/basic), driven with
// github.com/chromedp/chromedp. Without Chromium a test is skipped, or
// fails when TOLLGATE_REQUIRE_SERVERS is set, as .ci/run sets it.
package browser

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tollgate-go/tollgate/internal/testserver"
)

// New starts a headless Chromium with a fresh profile and returns a
// context for chromedp.Do and chromedp.Run (the generic API of chromedp
// v0.20 and later) that ends with the test, or after timeout.
// The flags keep Chromium off the network beyond loopback: this
// machine's network is closed, and a browser that keeps calling out
// slows every test.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := testserver.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so a failure to start is the test's first
	// error, not a confusing one later.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
