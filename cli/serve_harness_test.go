package cli

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

// syncBuffer is a goroutine-safe buffer that also reports the serve URL.
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string // receives the URL once (nil: not watched)
	sent bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	const mark = "dmflow: listening on "
	if b.url != nil && !b.sent {
		if i := strings.Index(b.buf.String(), mark); i >= 0 {
			rest := b.buf.String()[i+len(mark):]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				b.url <- rest[:j]
				b.sent = true
			}
		}
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// inProcessServer is `dmflow serve` running in this test process.
type inProcessServer struct {
	URL    string
	Out    *syncBuffer
	Err    *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startServe runs `dmflow serve args…` with env in-process on 127.0.0.1
// and waits until it listens; the test's cleanup stops it gracefully.
func startServe(t *testing.T, env envMap, args ...string) *inProcessServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	s := &inProcessServer{Out: &syncBuffer{url: urls}, Err: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--shutdown-timeout", "5s"}, args...)
	go func() {
		s.done <- run(ctx, all, IO{In: strings.NewReader(""), Out: s.Out, Err: s.Err, Env: env.lookup})
	}()
	select {
	case s.URL = <-urls:
	case code := <-s.done:
		cancel()
		t.Fatalf("serve exited %d before listening:\n%s", code, s.Err.String())
	case <-time.After(testutil.Scale(testutil.Wait)):
		cancel()
		t.Fatalf("serve did not listen within %s:\n%s", testutil.Scale(testutil.Wait), s.Err.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down (once) and checks it exited 0.
func (s *inProcessServer) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != exitOK {
			t.Errorf("serve exited %d:\n%s", code, s.Err.String())
		}
	case <-time.After(testutil.Scale(testutil.Wait)):
		t.Errorf("serve did not stop within %s", testutil.Scale(testutil.Wait))
	}
}

// waitFor polls cond until it holds or the scaled timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.EventuallyWithin(t, timeout, what, cond)
}

// testHTTP is the client of the in-process tests.
var testHTTP = &http.Client{Timeout: 10 * time.Second}
