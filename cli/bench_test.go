package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// benchBinary returns the dmflow binary the bench tests run (the bench
// starts its servers from its own executable, so it cannot run inside the
// test binary): DMFLOW_BIN, else one built into the test's directory.
func benchBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DMFLOW_BIN"); p != "" {
		return p
	}
	bin := filepath.Join(t.TempDir(), "dmflow")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/dmflow").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// benchLine matches a summary line of dmflow bench.
var benchLine = regexp.MustCompile(`^(\S+)\s+(\d+) ev/s .* acked (\d+)/(\d+) lost (\d+) dup (\d+) ooo (\d+) miscount (\d+)  rss (\d+)MB`)

// runBenchCmd runs the dmflow binary's bench with args and returns, per
// configuration, its first summary line's numbers.
func runBenchCmd(t *testing.T, args ...string) map[string][]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(2*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, benchBinary(t), append([]string{"bench"}, args...)...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	t.Logf("dmflow bench %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("dmflow bench: %v", err)
	}
	got := map[string][]int{}
	for line := range strings.SplitSeq(string(out), "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil || got[m[1]] != nil {
			continue
		}
		for _, s := range m[2:] {
			n, _ := strconv.Atoi(s)
			got[m[1]] = append(got[m[1]], n)
		}
	}
	return got
}

// checkBench asserts that every configuration reported a line with every
// event acknowledged and answered once, in order, counted once.
func checkBench(t *testing.T, got map[string][]int, configs []string, events int) {
	t.Helper()
	for _, c := range configs {
		n := got[c]
		if n == nil {
			t.Errorf("%s: no summary line", c)
			continue
		}
		evs, acked, sent, lost, dup, ooo, miscount, rss := n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]
		if acked != events || sent != events {
			t.Errorf("%s: acked %d/%d, want %d/%d", c, acked, sent, events, events)
		}
		if lost+dup+ooo+miscount != 0 {
			t.Errorf("%s: lost %d dup %d ooo %d miscount %d, want all 0", c, lost, dup, ooo, miscount)
		}
		if evs <= 0 || rss <= 0 {
			t.Errorf("%s: %d ev/s, rss %d MB; want both > 0", c, evs, rss)
		}
	}
}

// TestBenchCeilingBolt runs a tiny `dmflow bench` of the ceiling and the
// bbolt server end to end: every event answered once, in order.
func TestBenchCeilingBolt(t *testing.T) {
	configs := []string{"ceiling", "bolt"}
	got := runBenchCmd(t, "--events", "200", "--users", "40", "--accounts", "10",
		"--configs", strings.Join(configs, ","), "--duration", "30s", "--drain", "15s")
	checkBench(t, got, configs, 200)
}

// TestBenchPostgres runs the postgres (1 replica) and postgres2 (2
// replicas) configurations of `dmflow bench` on the server named by
// DMFLOW_TEST_POSTGRES (scripts/pg-test.sh sets it). Without it the test
// fails under CI and is skipped otherwise, saying so.
func TestBenchPostgres(t *testing.T) {
	dsn := pgtest.URL(t)
	configs := []string{"postgres", "postgres2"}
	before := benchSchemas(t, dsn)
	got := runBenchCmd(t, "--events", "200", "--users", "40", "--accounts", "10",
		"--configs", strings.Join(configs, ","), "--store", dsn, "--duration", "30s", "--drain", "15s")
	checkBench(t, got, configs, 200)
	if after := benchSchemas(t, dsn); after != before {
		t.Errorf("bench_ schemas: %d before, %d after; each configuration must drop its own", before, after)
	}
}

// benchSchemas counts the bench_ schemas in the database at dsn.
func benchSchemas(t *testing.T, dsn string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(20*time.Second))
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench\_%'`).Scan(&n); err != nil {
		t.Fatalf("count schemas: %v", err)
	}
	return n
}
