package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// The bench tests never look at speed: they check exit codes, the
// summary's counts (every event answered once, in order) and the files a
// run writes. TestMain makes the test binary the executable bench starts
// its servers from, so the whole run happens in this package's coverage.

// TestBenchUsage: bench refuses what it cannot run, before starting any
// server.
func TestBenchUsage(t *testing.T) {
	notDir := writeFile(t, "plain-file", "x")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--nope"}, exitUsage, "flag provided but not defined: -nope"},
		{"help", []string{"--help"}, exitOK, "Usage: dmflow bench"},
		{"unknown configuration", []string{"--configs", "ceiling,bogus"}, exitUsage, `unknown configuration "bogus"`},
		{"postgres without a store", []string{"--configs", "postgres"}, exitUsage, "the postgres configuration needs --store postgres://"},
		{"postgres2 without a store", []string{"--configs", "postgres2"}, exitUsage, "the postgres2 configuration needs --store postgres://"},
		{"work directory is a file", []string{"--dir", notDir}, exitFail, "dmflow bench: "},
		{"store URL that does not parse", []string{"--configs", "postgres", "--store", "postgres://u:s3cr3tpw@127.0.0.1:notaport/db"},
			exitFail, `dmflow bench: postgres: --store: not a URL: invalid port ":notaport" after host`},
		{"store that refuses connections", []string{"--configs", "postgres2", "--store", "postgres://u:s3cr3tpw@127.0.0.1:1/db"},
			exitFail, "dmflow bench: postgres2: [migrate]: exit status 1: dmflow migrate: "},
		{"unknown child", []string{"--child", "bogus"}, exitUsage, `unknown child "bogus"`},
		{"child cannot listen", []string{"--child", "ceiling", "--child-addr", "127.0.0.1:99999"}, exitFail, "dmflow bench: listen tcp"},
		{"child cannot write its profile", []string{"--child", "ceiling", "--cpuprofile", filepath.Join(notDir, "cpu")}, exitFail, "dmflow bench: open "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, envMap{}, append([]string{"bench"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s%s", code, tc.code, tc.want, out, errs)
			}
			if strings.Contains(out+errs, "s3cr3tpw") {
				t.Fatalf("the store's password is printed:\n%s%s", out, errs)
			}
		})
	}
}

// TestBenchInProcess runs a tiny bench of the ceiling and the nosync
// server, the latter under both profilers: every event is answered once,
// the profiles and the data file are written where the flags say.
func TestBenchInProcess(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu"), filepath.Join(dir, "mem")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait*4))
	defer cancel()
	out, errb := &syncBuffer{}, &syncBuffer{}
	code := run(ctx, []string{"bench", "--configs", "ceiling, nosync", "--events", "20", "--users", "4", "--accounts", "2",
		"--concurrency", "4", "--duration", "2m", "--drain", "2m", "--dir", dir, "--cpuprofile", cpu, "--memprofile", mem},
		IO{In: strings.NewReader(""), Out: out, Err: errb, Env: envMap{}.lookup})
	t.Logf("dmflow bench:\n%s%s", out, errb)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	got := map[string][]int{}
	for line := range strings.SplitSeq(out.String(), "\n") {
		if m := benchLine.FindStringSubmatch(line); m != nil && got[m[1]] == nil {
			for _, s := range m[2:] {
				n, _ := strconv.Atoi(s)
				got[m[1]] = append(got[m[1]], n)
			}
		}
	}
	checkBench(t, got, []string{"ceiling", "nosync"}, 20)
	for _, want := range []string{"load: 20 events, 4 users over 2 accounts, 1 per POST, 4 POSTs in flight, unpaced",
		"relative to the ceiling", "× the ceiling's"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("want %q in the output", want)
		}
	}
	for _, f := range []string{cpu + ".nosync", mem + ".nosync", filepath.Join(dir, "nosync.db")} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: want a non-empty file (%v)", f, err)
		}
	}
	for _, f := range []string{cpu + ".ceiling", mem + ".ceiling", mem + ".nosync.want"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s exists; the ceiling is never profiled and the heap request is consumed", f)
		}
	}
}

// TestBenchChildCeiling runs the reference server (bench --child ceiling)
// in-process: it acknowledges a signed webhook and answers it at the
// Graph API it was given.
func TestBenchChildCeiling(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{AccessTokens: map[string]string{benchToken: igtest.DefaultAccount}})
	t.Cleanup(graph.Close)
	srv := startChild(t, "bench", "--child", "ceiling", "--child-addr", "127.0.0.1:0", "--child-graph", graph.URL)
	wh := igtest.Webhook{Secret: benchSecret}
	if code, err := wh.Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram",
		wh.Text(igtest.DefaultAccount, "u-ceiling", "m-1", "hi")); err != nil || code != http.StatusOK {
		t.Fatalf("signed webhook: %d %v", code, err)
	}
	if code, err := (igtest.Webhook{Secret: "wrong"}).Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram",
		wh.Text(igtest.DefaultAccount, "u-ceiling", "m-2", "hi")); err != nil || code != http.StatusForbidden {
		t.Fatalf("forged webhook: %d %v, want 403", code, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	msgs, err := graph.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].RecipientID != "u-ceiling" {
		t.Fatalf("reply to %q, want u-ceiling", msgs[0].RecipientID)
	}
	if code := srv.stopCode(t); code != exitOK {
		t.Fatalf("ceiling exited %d", code)
	}
}

// TestBenchChildServeProfiles runs serve under the bench child's
// profilers in-process: creating <memprofile>.want makes it write the heap
// profile (and remove the request); the CPU profile is complete at exit.
func TestBenchChildServeProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu"), filepath.Join(dir, "mem")
	srv := startChild(t, "bench", "--child", "serve", "--cpuprofile", cpu, "--memprofile", mem, "--",
		"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "d.db"), "--flows", writeFile(t, "greet.yaml", greetFlow))
	if err := os.WriteFile(mem+".want", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testutil.Wait, "the heap profile", func() bool {
		_, want := os.Stat(mem + ".want")
		fi, err := os.Stat(mem)
		return os.IsNotExist(want) && err == nil && fi.Size() > 0
	})
	if code := srv.stopCode(t); code != exitOK {
		t.Fatalf("bench child exited %d:\n%s", code, srv.Err)
	}
	if fi, err := os.Stat(cpu); err != nil || fi.Size() == 0 {
		t.Fatalf("cpu profile: %v", err)
	}
}

// startChild runs a long-running dmflow command in-process until it
// prints where it listens; stopCode ends it.
func startChild(t *testing.T, args ...string) *inProcessServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	s := &inProcessServer{Out: &syncBuffer{url: urls}, Err: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, args, IO{In: strings.NewReader(""), Out: s.Out, Err: s.Err, Env: envMap{}.lookup})
	}()
	t.Cleanup(cancel)
	select {
	case s.URL = <-urls:
	case code := <-s.done:
		t.Fatalf("%s exited %d before listening:\n%s", args, code, s.Err)
	case <-time.After(testutil.Scale(testutil.Wait)):
		t.Fatalf("%s did not listen within %s:\n%s", args, testutil.Scale(testutil.Wait), s.Err)
	}
	return s
}

// stopCode cancels the command and returns its exit code.
func (s *inProcessServer) stopCode(t *testing.T) int {
	t.Helper()
	s.cancel()
	return testutil.Recv(t, s.done, "the command to exit")
}

// TestBenchInProcessPostgres runs a tiny bench of one PostgreSQL replica
// in-process (scripts/pg-test.sh sets DMFLOW_TEST_POSTGRES; without it the
// test fails under CI and is skipped otherwise): every event answered
// once, the schema's size reported, the schema dropped afterwards.
func TestBenchInProcessPostgres(t *testing.T) {
	dsn := pgtest.URL(t)
	before := benchSchemas(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait*4))
	defer cancel()
	out, errb := &syncBuffer{}, &syncBuffer{}
	code := run(ctx, []string{"bench", "--configs", "postgres", "--store", dsn, "--events", "20", "--users", "4", "--accounts", "2",
		"--concurrency", "4", "--duration", "2m", "--drain", "2m"},
		IO{In: strings.NewReader(""), Out: out, Err: errb, Env: envMap{}.lookup})
	t.Logf("dmflow bench:\n%s%s", out, errb)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var line string
	for l := range strings.SplitSeq(out.String(), "\n") {
		if strings.HasPrefix(l, "postgres ") {
			line = l
			break
		}
	}
	if !strings.Contains(line, "acked 20/20 lost 0 dup 0 ooo 0 miscount 0") || !strings.Contains(line, " db ") {
		t.Fatalf("summary line %q: want every event answered once and the schema's size", line)
	}
	if after := benchSchemas(t, dsn); after != before {
		t.Fatalf("bench_ schemas: %d before, %d after", before, after)
	}
}
