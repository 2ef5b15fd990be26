package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// Credentials every test server runs with. They are fake but treated as
// secrets: TestSecretsNeverLogged checks that none of them is printed.
const (
	appSecret   = "e2e-app-secret-9f8e7d"
	verifyToken = "e2e-verify-token-6c5b4a"
	accessToken = "IGAAe2eaccesstoken3a2b1c"
	adminToken  = "e2e-admin-token-0d9e8f"
	account     = igtest.DefaultAccount
)

// binary is the dmflow binary under test.
var binary string

func TestMain(m *testing.M) {
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	if binary = os.Getenv("DMFLOW_BIN"); binary != "" {
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "dmflow-e2e-bin")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "dmflow")
	build := exec.Command("go", "build", "-o", binary, "github.com/dmflow/dmflow/cmd/dmflow")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return m.Run(), nil
}

// long reports whether the long variants run (DMFLOW_LONG=1).
func long() bool { return os.Getenv("DMFLOW_LONG") == "1" }

// world is what outlives a server process: the data directory, the flows
// and the Graph API double. Tests start, stop and kill servers in it.
type world struct {
	t      *testing.T
	dir    string
	db     string
	flows  string // flow directory
	graph  *igtest.Server
	wh     igtest.Webhook
	client *http.Client

	mu   sync.Mutex
	node *node // the running server, if any
	env  []string
}

// worldOpts configure newWorld.
type worldOpts struct {
	flow   string // testdata file copied to flows/e2e.yaml (default v1.yaml)
	echoes bool   // deliver the double's echo webhooks to the server
	// noThreadControl makes the double refuse every thread-control edge
	// (igtest.Config.NoThreadControl).
	noThreadControl bool
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{
		t: t, dir: dir, db: filepath.Join(dir, "dmflow.db"), flows: filepath.Join(dir, "flows"),
		wh:     igtest.Webhook{Secret: appSecret},
		client: &http.Client{Timeout: 10 * time.Second},
	}
	cfg := igtest.Config{AccessTokens: map[string]string{accessToken: account}, WebhookSecret: appSecret}
	if o.echoes {
		cfg.OnEcho = w.deliverEcho
	}
	cfg.NoThreadControl = o.noThreadControl
	w.graph = igtest.NewServer(cfg)
	t.Cleanup(w.graph.Close)
	if err := os.Mkdir(w.flows, 0o755); err != nil {
		t.Fatal(err)
	}
	if o.flow == "" {
		o.flow = "v1.yaml"
	}
	w.setFlow(o.flow)
	w.env = []string{
		"INSTAGRAM_CLIENT_SECRET=" + appSecret,
		"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=" + verifyToken,
		"INSTAGRAM_ACCESS_TOKEN=" + accessToken,
		"DMFLOW_ADMIN_TOKEN=" + adminToken,
		"DMFLOW_GRAPH_URL=" + w.graph.URL,
	}
	t.Cleanup(w.stopAll)
	return w
}

// setFlow installs testdata/name as the flow the server (re)loads.
func (w *world) setFlow(name string) {
	w.t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.flows, "e2e.yaml"), src, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// deliverEcho posts the double's echo to the running server, as Instagram
// would after each accepted message. A down server misses it.
func (w *world) deliverEcho(body []byte, signature string) {
	n := w.current()
	if n == nil {
		return
	}
	req, _ := http.NewRequest(http.MethodPost, n.url+"/webhook/instagram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", signature)
	if resp, err := w.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

func (w *world) current() *node {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.node
}

// node is one server process.
type node struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process exited
	err    error         // Wait's error, valid after done
}

// start runs `dmflow serve` in the world and waits until it is ready.
func (w *world) start(args ...string) *node {
	w.t.Helper()
	n := w.spawn(append([]string{"serve",
		"--addr", "127.0.0.1:0", "--db", w.db, "--flows", w.flows,
		"--log-format", "json", "--shutdown-timeout", "15s"}, args...), w.env)
	w.mu.Lock()
	w.node = n
	w.mu.Unlock()
	n.waitReady(w.t, w.client)
	return n
}

// spawn starts the binary with args and env (and nothing else in the
// environment) and returns once it printed its URL or exited.
func (w *world) spawn(args, env []string) *node {
	w.t.Helper()
	n := &node{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	n.cmd = exec.Command(binary, args...)
	n.cmd.Dir = w.dir
	n.cmd.Env = env
	n.cmd.Stderr = n.stderr
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go n.readStdout(out, urlc)
	go func() { n.err = n.cmd.Wait(); close(n.done) }()
	select {
	case n.url = <-urlc:
	case <-n.done:
	case <-time.After(testutil.Scale(20 * time.Second)):
		n.cmd.Process.Kill()
		w.t.Fatalf("server did not start in 20s; stderr:\n%s", n.stderr)
	}
	return n
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

func (n *node) readStdout(r io.Reader, urlc chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		n.stdout.Write([]byte(line + "\n"))
		if m := listenLine.FindStringSubmatch(line); m != nil && !sent {
			urlc <- m[1]
			sent = true
		}
	}
}

func (n *node) waitReady(t *testing.T, c *http.Client) {
	t.Helper()
	if n.url == "" {
		<-n.done
		t.Fatalf("server exited at start (%v); stderr:\n%s", n.err, n.stderr)
	}
	ready := testutil.Poll(testutil.Scale(testutil.Wait), func() bool {
		resp, err := c.Get(n.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !ready {
		t.Fatalf("server not ready in %s; stderr:\n%s", testutil.Scale(testutil.Wait), n.stderr)
	}
}

// stop sends sig and waits for the exit; it returns the exit code.
func (w *world) stop(sig syscall.Signal) int {
	w.t.Helper()
	n := w.current()
	if n == nil {
		w.t.Fatal("no server running")
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(testutil.Scale(30 * time.Second)):
		n.cmd.Process.Kill()
		w.t.Fatalf("server did not exit 30s after %v; stderr:\n%s", sig, n.stderr)
	}
	w.mu.Lock()
	w.node = nil
	w.mu.Unlock()
	return n.cmd.ProcessState.ExitCode()
}

func (w *world) stopAll() {
	if n := w.current(); n != nil {
		n.cmd.Process.Kill()
		<-n.done
	}
}

// post delivers a signed webhook body to the running server; it returns
// the status, or 0 when the server could not be reached.
func (w *world) post(body []byte) int {
	n := w.current()
	if n == nil {
		return 0
	}
	status, err := w.wh.Post(context.Background(), w.client, n.url+"/webhook/instagram", body)
	if err != nil {
		return 0
	}
	return status
}

// mustPost delivers body and fails the test unless the server answers 200.
func (w *world) mustPost(body []byte) {
	w.t.Helper()
	if s := w.post(body); s != http.StatusOK {
		w.t.Fatalf("webhook answered %d, want 200", s)
	}
}

// text is a signed text message body from user.
func (w *world) text(user, mid, text string) []byte { return w.wh.Text(account, user, mid, text) }

// replies returns the texts the double accepted for user, in order.
func (w *world) replies(user string) []string {
	var out []string
	for _, m := range w.graph.Messages() {
		if m.RecipientID == user {
			out = append(out, m.Text())
		}
	}
	return out
}

// waitReplies waits (up to the scaled timeout) until user got at least n
// replies and returns them.
func (w *world) waitReplies(user string, n int, timeout time.Duration) []string {
	w.t.Helper()
	var got []string
	if !testutil.Poll(testutil.Scale(timeout), func() bool { got = w.replies(user); return len(got) >= n }) {
		w.t.Fatalf("user %s: %d replies after %v, want %d: %q", user, len(got), testutil.Scale(timeout), n, got)
	}
	return got
}

// metric returns the value of a metric line ("name" or `name{labels}`),
// or 0 when absent.
func (w *world) metric(name string) float64 {
	w.t.Helper()
	v, _ := w.metricOK(name)
	return v
}

// metricOK is metric, and whether the server reported it at all (a
// counter with labels appears only once counted; a gauge always).
func (w *world) metricOK(name string) (float64, bool) {
	w.t.Helper()
	n := w.current()
	resp, err := w.client.Get(n.url + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// idle reports whether both depth gauges are present and zero (a missing
// one, e.g. from a failed scrape, must not read as an empty queue).
func idle(depth func(name string) (float64, bool)) bool {
	in, ok1 := depth("dmflow_inbox_depth")
	out, ok2 := depth("dmflow_outbox_depth_dm")
	return ok1 && ok2 && in == 0 && out == 0
}

// waitIdle waits (up to the scaled timeout) until the server has no
// pending inbox or outbox work.
func (w *world) waitIdle(timeout time.Duration) {
	w.t.Helper()
	testutil.EventuallyWithin(w.t, timeout, "the server's inbox and outbox to drain", func() bool {
		return idle(w.metricOK)
	})
}

// admin calls the admin API and returns the status and body.
func (w *world) admin(method, path, body string) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.current().url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the server's stderr contains s.
func (n *node) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	if !testutil.Poll(testutil.Scale(timeout), func() bool { return strings.Contains(n.stderr.String(), s) }) {
		t.Fatalf("log never said %q; stderr:\n%s", s, n.stderr)
	}
}
