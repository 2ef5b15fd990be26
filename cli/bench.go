package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/dmflow/dmflow/loadtest"
)

// benchOpts are the flags of dmflow bench.
type benchOpts struct {
	users, events, batch, conc, accounts int
	rate                                 float64
	duration, drain                      time.Duration
	configs, store, dir                  string
	cpuProfile, memProfile, trace        string
	child                                string
	childAddr, childGraph                string
}

func benchCmd() *Command {
	o := &benchOpts{}
	return &Command{
		Name:    "bench",
		Summary: "end-to-end load benchmark: a bare ceiling vs dmflow with bbolt, with and without fsync",
		Usage: `Usage: dmflow bench [flags]

Starts each configuration as its own process on 127.0.0.1, sends it signed
Instagram webhooks for --users users (--batch events per POST, --concurrency
POSTs in flight, optionally paced at --rate events/s) and counts the replies
at a Graph API double. Configurations (--configs, in order):

  ceiling   a bare net/http handler: verify, parse, ack, send one reply; no persistence
  bolt      dmflow serve with its bbolt file (fsync on every group commit)
  nosync    the same server with fsync disabled (what durability costs)
  postgres  dmflow serve --store <--store URL> (only with --store)
  postgres2 two such replicas on one schema, POSTs round robin over both

Each postgres configuration runs in a fresh schema of the --store database
(search_path bench_<random>, created by dmflow migrate, dropped afterwards).

One summary line per configuration: events/s end to end (webhook sent to
reply received) and its share of the ceiling, webhook ack latency, end-to-end
latency, lost / duplicated / out-of-order / miscounted replies, peak RSS of
the server and the size of its data file, then the server's CPU time per
event (user + system, from /proc), the generator's (this process: load
generator and Graph double; a generator using most of a core means the run
is generator-bound), PostgreSQL's (db: when the --store server runs on
this machine, all its processes) and the 1-minute load average at start → end. A last
table gives events/s and CPU per event as multiples of the ceiling's. The
generator pre-signs every POST and writes it on a persistent connection.
Bounded by --duration per configuration plus --drain for the last replies.
See docs/performance.md.`,
		Flags: func(fs *flag.FlagSet) { o.declare(fs) },
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			if o.child != "" {
				return runBenchChild(ctx, o, fs.Args(), stdio)
			}
			return runBench(ctx, o, stdio)
		},
	}
}

func (o *benchOpts) declare(fs *flag.FlagSet) {
	fs.IntVar(&o.users, "users", 1000, "distinct users")
	fs.IntVar(&o.events, "events", 20000, "events per configuration (rounded up to whole rounds per user)")
	fs.IntVar(&o.batch, "batch", 1, "events per webhook POST (Meta batches up to 1000)")
	fs.IntVar(&o.conc, "concurrency", 32, "webhook POSTs in flight")
	fs.IntVar(&o.accounts, "accounts", 100, "business accounts the users are spread over (replies are paced at 100/s per account)")
	fs.Float64Var(&o.rate, "rate", 0, "events per second (0: as fast as the server acknowledges)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "stop sending after this long")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "how long to wait for the last replies")
	fs.StringVar(&o.configs, "configs", "ceiling,bolt,nosync", "comma-separated configurations to run")
	fs.StringVar(&o.store, "store", "", "PostgreSQL URL for the postgres configuration")
	fs.StringVar(&o.dir, "dir", "", "work directory for data files (default: a temporary directory, removed)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write each dmflow configuration's CPU profile to <this>.<config>")
	fs.StringVar(&o.memProfile, "memprofile", "", "write each dmflow configuration's heap profile, taken after the last reply, to <this>.<config>")
	fs.StringVar(&o.trace, "trace", "", "write each dmflow configuration's execution trace (go tool trace; blocking profiles with -pprof=sync) to <this>.<config>")
	fs.StringVar(&o.child, "child", "", "internal: run as a benchmark server (ceiling, or serve under the CPU profiler)")
	fs.StringVar(&o.childAddr, "child-addr", "127.0.0.1:0", "internal: the child's listen address")
	fs.StringVar(&o.childGraph, "child-graph", "", "internal: the ceiling's Graph API URL")
}

// Credentials of the benchmark servers (fake; loopback only).
const (
	benchSecret = "bench-app-secret"
	benchVerify = "bench-verify-token"
	benchToken  = "IGAAbenchtoken"
)

func runBench(ctx context.Context, o *benchOpts, stdio IO) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitFail
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "dmflow-bench-"); err != nil {
			fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
	}
	flowsDir, err := loadtest.WriteFlows(dir)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitFail
	}
	env := benchEnv{exe: exe, dir: dir, flows: flowsDir, store: o.store, cpuProfile: o.cpuProfile, memProfile: o.memProfile, trace: o.trace, errw: stdio.Err}
	cfgs, err := benchConfigs(o.configs, env)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitUsage
	}
	printBenchHeader(stdio.Out, o)
	var results []loadtest.Result
	for _, c := range cfgs {
		r, err := benchOne(ctx, o, c)
		if err != nil {
			if r.Name != "" {
				fmt.Fprintln(stdio.Out, r.Summary(0))
			}
			fmt.Fprintf(stdio.Err, "dmflow bench: %s: %v\n", c.name, err)
			return exitFail
		}
		results = append(results, r)
		fmt.Fprintln(stdio.Out, r.Summary(0))
	}
	printBenchSummary(stdio.Out, results)
	return benchExit(results)
}

// benchExit fails the command when a dmflow configuration lost replies.
func benchExit(results []loadtest.Result) int {
	for _, r := range results {
		if r.Name != "ceiling" && (r.Lost > 0 || r.Acked < r.Events) {
			return exitFail
		}
	}
	return exitOK
}

func printBenchHeader(w io.Writer, o *benchOpts) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "dmflow bench: %s, %s/%s, %d CPUs, %s\n", host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	rate := "unpaced"
	if o.rate > 0 {
		rate = fmt.Sprintf("%.0f ev/s", o.rate)
	}
	fmt.Fprintf(w, "load: %d events, %d users over %d accounts, %d per POST, %d POSTs in flight, %s\n\n",
		o.events, o.users, o.accounts, o.batch, o.conc, rate)
}

// printBenchSummary prints the configurations side by side: events/s and
// server CPU per event as multiples of the ceiling's.
func printBenchSummary(w io.Writer, results []loadtest.Result) {
	var ceiling loadtest.Result
	for _, r := range results {
		if r.Name == "ceiling" {
			ceiling = r
		}
	}
	if ceiling.EventsPerSec == 0 || len(results) < 2 {
		return
	}
	fmt.Fprintln(w, "\nrelative to the ceiling (events/s; server CPU per event, generator CPU per event):")
	for _, r := range results {
		fmt.Fprintln(w, r.Compare(ceiling))
	}
}

// benchOne starts a configuration, runs the load against it and stops it.
func benchOne(ctx context.Context, o *benchOpts, c benchConfig) (loadtest.Result, error) {
	g, err := loadtest.StartGraph()
	if err != nil {
		return loadtest.Result{}, err
	}
	defer g.Close()
	if c.close != nil {
		defer c.close()
	}
	procs, err := c.start(g.URL)
	defer func() {
		for _, p := range procs {
			p.Stop(20 * time.Second)
		}
	}()
	if err != nil {
		return loadtest.Result{}, err
	}
	var urls []string
	for _, p := range procs {
		urls = append(urls, p.URL()+"/webhook/instagram")
	}
	l, err := loadtest.NewLoad(loadtest.Options{
		URL: urls[0], URLs: urls[1:], Secret: benchSecret,
		Users: o.users, Accounts: o.accounts, Events: o.events, Batch: o.batch,
		Concurrency: o.conc, Rate: o.rate, Duration: o.duration, Lean: true,
	})
	if err != nil {
		return loadtest.Result{}, err
	}
	stopWatch := loadtest.WatchAnon(procs, 250*time.Millisecond)
	l.Prepare()
	cpu := loadtest.StartCPU(procs)
	var db0 time.Duration
	if c.dbCPU != nil {
		db0 = c.dbCPU()
	}
	l.Send(ctx)
	l.WaitReplies(g.Recorder, o.drain)
	r := l.Result(c.name, g.Recorder)
	cpu.Stop(&r)
	if c.dbCPU != nil && db0 > 0 {
		r.DBCPU = c.dbCPU() - db0
	}
	r.PeakAnon = stopWatch()
	for _, p := range procs {
		r.PeakRSS = max(r.PeakRSS, p.PeakRSS())
	}
	if c.size != nil {
		r.DBSize = c.size()
	}
	if err := exited(procs); err != nil {
		return r, err
	}
	if err := c.heapProfiles(); err != nil {
		return r, err
	}
	return r, nil
}

// exited reports a server that exited during the run, with the end of
// what it wrote to stderr.
func exited(procs []*loadtest.Process) error {
	for i, p := range procs {
		select {
		case <-p.Done():
			out := p.Stderr()
			out = out[max(0, len(out)-2000):]
			return fmt.Errorf("server %d of %d exited during the run:\n%s", i+1, len(procs), out)
		default:
		}
	}
	return nil
}

// benchEnv is what every configuration is started with.
type benchEnv struct {
	exe, dir, flows, store, cpuProfile, memProfile, trace string
	errw                                                  io.Writer // the bench's stderr
}

// benchConfig is one configuration: how to start its server(s), how big
// its data is after the run and what to remove afterwards.
type benchConfig struct {
	name  string
	start func(graphURL string) ([]*loadtest.Process, error)
	size  func() int64         // data size in bytes (nil: none)
	dbCPU func() time.Duration // the database server's CPU time so far (nil: none)
	close func()               // removes what start created (nil: nothing)
	heaps []string             // heap profiles to take after the run
}

func benchConfigs(list string, env benchEnv) ([]benchConfig, error) {
	var out []benchConfig
	for _, name := range strings.Split(list, ",") {
		switch name = strings.TrimSpace(name); name {
		case "ceiling":
			out = append(out, benchConfig{name: name, start: env.ceiling})
		case "bolt", "nosync":
			out = append(out, env.bolt(name))
		case "postgres", "postgres2":
			if env.store == "" {
				return nil, fmt.Errorf("the %s configuration needs --store postgres://…", name)
			}
			out = append(out, env.postgres(name, map[string]int{"postgres": 1, "postgres2": 2}[name]))
		default:
			return nil, fmt.Errorf("unknown configuration %q (want ceiling, bolt, nosync, postgres or postgres2)", name)
		}
	}
	return out, nil
}

func (env benchEnv) ceiling(graphURL string) ([]*loadtest.Process, error) {
	p, err := loadtest.StartProcess(loadtest.ProcessSpec{Path: env.exe,
		Args: []string{"bench", "--child", "ceiling", "--child-graph", graphURL}, Env: benchBaseEnv()})
	return []*loadtest.Process{p}, err
}

// bolt is `dmflow serve` on a bbolt file (with --db-nosync for nosync).
func (env benchEnv) bolt(name string) benchConfig {
	db := filepath.Join(env.dir, name+".db")
	c := benchConfig{name: name, size: func() int64 { return fileSize(db) }}
	c.heaps = env.heapPaths(name, 1)
	c.start = func(graphURL string) ([]*loadtest.Process, error) {
		serve := []string{"--db", db}
		if name == "nosync" {
			serve = append(serve, "--db-nosync")
		}
		p, err := env.serve(name, 0, serve, benchServeEnv(graphURL))
		return []*loadtest.Process{p}, err
	}
	return c
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// serve starts replica i of configuration name: `dmflow serve` with the
// bench's flags and extra; a profiled run goes through the bench child,
// which runs the same serve command under the profilers.
func (env benchEnv) serve(name string, i int, extra, e []string) (*loadtest.Process, error) {
	args := append([]string{"serve"}, benchServeArgs(env, extra...)...)
	if env.cpuProfile != "" || env.memProfile != "" || env.trace != "" {
		child := []string{"bench", "--child", "serve"}
		if env.trace != "" {
			child = append(child, "--trace", profilePath(env.trace, name, i))
		}
		if env.cpuProfile != "" {
			child = append(child, "--cpuprofile", profilePath(env.cpuProfile, name, i))
		}
		if env.memProfile != "" {
			child = append(child, "--memprofile", profilePath(env.memProfile, name, i))
		}
		args = append(append(child, "--"), args[1:]...)
	}
	return loadtest.StartProcess(loadtest.ProcessSpec{Path: env.exe, Args: args, Env: e})
}

// profilePath is <prefix>.<config> (.<replica> from the second replica on).
func profilePath(prefix, name string, i int) string {
	if i > 0 {
		return fmt.Sprintf("%s.%s.%d", prefix, name, i)
	}
	return prefix + "." + name
}

// heapPaths lists the heap profiles of a configuration's n replicas.
func (env benchEnv) heapPaths(name string, n int) []string {
	if env.memProfile == "" {
		return nil
	}
	var out []string
	for i := range n {
		out = append(out, profilePath(env.memProfile, name, i))
	}
	return out
}

// heapProfiles asks each replica's bench child for its heap profile (it
// writes it when <path>.want appears) and waits up to 10 s for each.
func (c benchConfig) heapProfiles() error {
	for _, path := range c.heaps {
		os.Remove(path)
		if err := os.WriteFile(path+".want", nil, 0o644); err != nil {
			return err
		}
		deadline := time.Now().Add(10 * time.Second)
		for exists(path+".want") || !exists(path) {
			if time.Now().After(deadline) {
				return fmt.Errorf("no heap profile %s within 10s", path)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func benchServeArgs(env benchEnv, extra ...string) []string {
	return append([]string{"--addr", "127.0.0.1:0", "--flows", env.flows, "--log-level", "warn", "--session-ttl", "0"}, extra...)
}

// benchBaseEnv is the environment of every child: no inherited settings.
func benchBaseEnv() []string {
	env := []string{"HOME=" + os.TempDir()}
	for _, k := range []string{"PATH", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "DMFLOW_GC_HEADROOM", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func benchServeEnv(graphURL string) []string {
	return append(benchBaseEnv(),
		"INSTAGRAM_CLIENT_SECRET="+benchSecret, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN="+benchVerify,
		"INSTAGRAM_ACCESS_TOKEN="+benchToken, "DMFLOW_GRAPH_URL="+graphURL)
}
