package loadtest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/loadtest"
	"github.com/dmflow/dmflow/store/bolt"
)

// binary is the dmflow binary under test: DMFLOW_BIN, else built once.
var binary string

func TestMain(m *testing.M) {
	if binary = os.Getenv("DMFLOW_BIN"); binary != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "dmflow-loadtest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dmflow")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/dmflow/dmflow/cmd/dmflow").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// long reports whether the long variants run (DMFLOW_LONG=1).
func long() bool { return os.Getenv("DMFLOW_LONG") == "1" }

// Fake credentials of the servers under test (loopback only).
const (
	secret = "loadtest-app-secret"
	token  = "IGAAloadtesttoken"
)

// site is a data directory with the counter flow, and the port every
// server started in it listens on, so that restarts keep the URL.
type site struct {
	t     *testing.T
	dir   string
	db    string
	flows string
	addr  string
	graph string // Graph API base URL
}

func newSite(t *testing.T, graphURL string) *site {
	t.Helper()
	dir := t.TempDir()
	flows, err := loadtest.WriteFlows(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, dir: dir, db: filepath.Join(dir, "dmflow.db"), flows: flows, addr: freeAddr(t), graph: graphURL}
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs dmflow serve on the site and waits until it is ready.
func (s *site) start(args ...string) *loadtest.Process {
	s.t.Helper()
	p, err := loadtest.StartProcess(loadtest.ProcessSpec{Path: binary, Dir: s.dir,
		Args: append([]string{"serve", "--addr", s.addr, "--db", s.db, "--flows", s.flows, "--log-level", "warn"}, args...),
		Env: []string{"HOME=" + s.dir, "INSTAGRAM_CLIENT_SECRET=" + secret, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN=verify",
			"INSTAGRAM_ACCESS_TOKEN=" + token, "DMFLOW_GRAPH_URL=" + s.graph}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		select {
		case <-p.Done():
		default:
			p.Kill()
		}
	})
	return p
}

func (s *site) webhook() string { return "http://" + s.addr + "/webhook/instagram" }

// open opens the site's bbolt file (the server must be stopped).
func (s *site) open() *bolt.DB {
	s.t.Helper()
	db, err := bolt.Open(s.db, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { db.Close() })
	return db
}

// sessionCount returns the counter flow's n for user u.
func sessionCount(t *testing.T, db *bolt.DB, u, accounts int) int {
	t.Helper()
	key := dmflow.SessionKey{Account: loadtest.Account(u, accounts), User: loadtest.User(u)}
	s, err := db.GetSession(context.Background(), key)
	if err != nil {
		t.Fatalf("session %s: %v", key, err)
	}
	n, _ := s.Vars["n"].(int)
	return n
}

// metrics returns the server's Prometheus metrics by name (with labels).
func metrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET /metrics: %s: %s", resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			out[line[:i]] = v
		}
	}
	return out
}

// waitIdle waits (up to the scaled timeout) until the server's inbox and
// DM outbox are empty.
func waitIdle(t *testing.T, base string, timeout time.Duration) {
	t.Helper()
	testutil.EventuallyWithin(t, timeout, "the server's inbox and outbox to drain", func() bool {
		m := metrics(t, base)
		// Both gauges must be there: a missing one would read as 0.
		in, ok1 := m["dmflow_inbox_depth"]
		out, ok2 := m["dmflow_outbox_depth_dm"]
		return ok1 && ok2 && in == 0 && out == 0
	})
}
