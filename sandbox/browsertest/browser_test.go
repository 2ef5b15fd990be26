package browsertest_test

import (
	"context"
	"flag"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/dmflow/dmflow/internal/testutil"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/studio.png")

// testTimeout bounds each browser test: generously, because a headless
// Chromium on a busy 2-core machine is slow (a conversation took 57 s
// under scripts/test-under-load.sh); it only bounds a broken test.
var testTimeout = testutil.Scale(5 * time.Minute)

// page is a headless Chromium tab of one test.
type page struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []string
}

// chromium is the browser's path: DMFLOW_CHROMIUM. A missing browser fails
// the test in CI and skips it elsewhere.
func chromium(t *testing.T) string {
	path := os.Getenv("DMFLOW_CHROMIUM")
	if path != "" {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("DMFLOW_CHROMIUM is empty in CI: scripts/test.sh installs Chromium and exports its path")
	}
	t.Skip("DMFLOW_CHROMIUM is not set: install Chromium (apt-get install chromium) and export DMFLOW_CHROMIUM=$(command -v chromium), or run scripts/test.sh")
	return ""
}

// newPage starts a fresh headless Chromium of width×height and records its
// console.
func newPage(t *testing.T, width, height int) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	p := &page{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	go p.record(chromedp.Console(ctx)) // subscribes now, reads in the background
	timeout, cancelTimeout := context.WithTimeout(ctx, testTimeout)
	p.ctx = timeout
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return p
}

func (p *page) record(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		p.mu.Lock()
		p.console = append(p.console, m.String())
		p.mu.Unlock()
	}
}

// do runs the actions, failing the test (with the browser's console) on error.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\nconsole:\n%s", what, err, p.consoleText())
	}
}

// wait polls the JavaScript condition until it holds.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	p.do("wait for "+what, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(testutil.Scale(time.Minute)))(ctx, t)
		return chromedp.Void{}, err
	}))
}

// eval evaluates a JavaScript expression.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p *page) consoleText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.console, "\n")
}

// noErrors fails on page exceptions, CSP violations and HTTP errors. Images
// on other hosts may fail to load: the tests run offline and flows link
// images on the internet.
func (p *page) noErrors() {
	p.t.Helper()
	for _, line := range strings.Split(p.consoleText(), "\n") {
		l := strings.ToLower(line)
		if strings.HasPrefix(l, "exception") || strings.Contains(l, "content security policy") || strings.Contains(l, "status of") {
			p.t.Errorf("browser console: %s", line)
		}
	}
}

// screenshot saves the viewport as a PNG artifact named name and returns its path.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("DMFLOW_ARTIFACTS")
	if dir == "" {
		dir = p.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}
