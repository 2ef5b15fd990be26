package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// The PostgreSQL end-to-end tests run several `dmflow serve` replicas on one
// database. They need a server: scripts/pg-test.sh sets DMFLOW_TEST_POSTGRES.

// pgConnect connects to the database at dsn; done closes the connection.
func pgConnect(t *testing.T, dsn string) (ctx context.Context, conn *pgx.Conn, done func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(20*time.Second))
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		cancel()
		t.Fatalf("connect: %v", err)
	}
	return ctx, conn, func() { conn.Close(ctx); cancel() }
}

// pgCount runs a counting query on the database at dsn.
func pgCount(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	ctx, conn, done := pgConnect(t, dsn)
	defer done()
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// cluster is several `dmflow serve` replicas sharing one PostgreSQL schema
// behind a round-robin load balancer, all sending to the world's single
// Graph API double. The balancer stands in as the world's current node, so
// the world's helpers (post, load, replies, echo delivery) go through it.
type cluster struct {
	w     *world
	store string // the schema's URL
	lease time.Duration
	extra []string // more serve flags
	lb    *httptest.Server
	next  atomic.Uint64

	mu       sync.Mutex
	replicas []*node // nil once killed or stopped
}

// newCluster migrates a fresh schema and starts n replicas with the given
// lease.
func newCluster(t *testing.T, o worldOpts, n int, lease time.Duration) *cluster {
	t.Helper()
	return clusterOn(newWorld(t, o), n, lease)
}

// clusterOn is newCluster in an existing world, whose env and flows the
// replicas use; extra flags go to every replica.
func clusterOn(w *world, n int, lease time.Duration, extra ...string) *cluster {
	t := w.t
	t.Helper()
	c := &cluster{w: w, lease: lease, extra: extra}
	c.store, _ = pgtest.Schema(t, "dmflow_e2e_")
	if out, code := c.w.run(nil, "migrate", "--store", c.store); code != 0 {
		t.Fatalf("dmflow migrate exited %d:\n%s", code, out)
	}
	c.lb = httptest.NewServer(http.HandlerFunc(c.balance))
	t.Cleanup(c.lb.Close)
	c.w.mu.Lock()
	c.w.node = &node{url: c.lb.URL}
	c.w.mu.Unlock()
	t.Cleanup(c.killAll) // runs before the world's stopAll, which must not see the balancer
	for range n {
		c.add()
	}
	return c
}

// add starts one more replica and returns its index.
func (c *cluster) add() int {
	c.w.t.Helper()
	n := c.w.spawn(append([]string{"serve", "--addr", "127.0.0.1:0", "--store", c.store, "--flows", c.w.flows,
		"--lease", c.lease.String(), "--log-format", "json", "--shutdown-timeout", "15s"}, c.extra...), c.w.env)
	n.waitReady(c.w.t, c.w.client)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replicas = append(c.replicas, n)
	return len(c.replicas) - 1
}

// live returns the replicas still running.
func (c *cluster) live() []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node
	for _, n := range c.replicas {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// balance forwards a request to the next live replica, round robin; 502
// when it cannot be reached (the sender redelivers, as Meta does).
func (c *cluster) balance(w http.ResponseWriter, r *http.Request) {
	live := c.live()
	if len(live) == 0 {
		http.Error(w, "no replica", http.StatusBadGateway)
		return
	}
	n := live[c.next.Add(1)%uint64(len(live))]
	target, _ := url.Parse(n.url)
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = lbTransport
	p.ErrorLog = nil
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	p.ServeHTTP(w, r)
}

var lbTransport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}

// kill SIGKILLs replica i.
func (c *cluster) kill(i int) {
	c.mu.Lock()
	n := c.replicas[i]
	c.replicas[i] = nil
	c.mu.Unlock()
	n.cmd.Process.Kill()
	<-n.done
}

// stop sends SIGTERM to replica i and returns its exit code.
func (c *cluster) stop(i int) int {
	c.w.t.Helper()
	c.mu.Lock()
	n := c.replicas[i]
	c.replicas[i] = nil
	c.mu.Unlock()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(testutil.Scale(30 * time.Second)):
		n.cmd.Process.Kill()
		c.w.t.Fatalf("replica %d did not exit 30s after SIGTERM; stderr:\n%s", i, n.stderr)
	}
	return n.cmd.ProcessState.ExitCode()
}

func (c *cluster) killAll() {
	c.w.mu.Lock()
	c.w.node = nil
	c.w.mu.Unlock()
	for i, n := range c.replicas {
		if n != nil {
			c.kill(i)
		}
	}
}

// metric sums a metric over the live replicas.
func (c *cluster) metric(name string) float64 {
	sum := 0.0
	for _, n := range c.live() {
		sum += c.scrape(n)[name]
	}
	return sum
}

// scrape reads every sample of a replica's /metrics, keyed by the sample's
// name and labels as printed (`name{labels}`).
func (c *cluster) scrape(n *node) map[string]float64 {
	c.w.t.Helper()
	resp, err := c.w.client.Get(n.url + "/metrics")
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(name, "#") {
			out[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}

// waitIdle waits until the shared store has no pending inbox or outbox work
// (every replica reports the depth of the shared tables).
func (c *cluster) waitIdle(timeout time.Duration) {
	c.w.t.Helper()
	testutil.EventuallyWithin(c.w.t, timeout, "the cluster's inbox and outbox to drain", func() bool {
		m := c.scrape(c.live()[0])
		return idle(func(name string) (float64, bool) { v, ok := m[name]; return v, ok })
	})
}

// run runs the binary with args and env and returns its combined output
// and exit code.
func (w *world) run(env []string, args ...string) (string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(30*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir, cmd.Env = w.dir, env
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		w.t.Fatalf("dmflow %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// users names n users with prefix.
func users(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
