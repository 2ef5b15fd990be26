package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"time"

	"github.com/dmflow/dmflow/loadtest"
	"github.com/dmflow/dmflow/store/bolt"
)

// runBenchChild is `dmflow bench --child …`: one benchmark server.
func runBenchChild(ctx context.Context, o *benchOpts, rest []string, stdio IO) int {
	if o.profile != "" {
		stop, err := startProfile(o.profile)
		if err != nil {
			fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
			return exitFail
		}
		defer stop()
	}
	switch o.child {
	case "ceiling":
		return runCeiling(ctx, o, stdio)
	case "dmflow", "dmflow-nosync":
		return runBenchServe(ctx, rest, o.child == "dmflow-nosync", stdio)
	}
	fmt.Fprintf(stdio.Err, "dmflow bench: unknown child %q\n", o.child)
	return exitUsage
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runCeiling serves the reference handler until ctx ends.
func runCeiling(ctx context.Context, o *benchOpts, stdio IO) int {
	ln, err := net.Listen("tcp", o.childAddr)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitFail
	}
	srv := &http.Server{Handler: loadtest.NewCeiling(loadtest.CeilingConfig{
		Secret: benchSecret, GraphURL: o.childGraph, Token: benchToken,
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stdio.Out, "dmflow: listening on http://%s\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return exitOK
}

// runBenchServe is dmflow serve with a bbolt file opened with benchmark
// options (fsync off for nosync). Everything else is serve's own code.
func runBenchServe(ctx context.Context, args []string, noSync bool, stdio IO) int {
	fs := flag.NewFlagSet("dmflow bench serve", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	declareFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := loadConfig(fs, stdio.Env)
	if err == nil {
		err = cfg.validateServe()
	}
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitUsage
	}
	log, err := newLogger(stdio.Err, cfg.LogFormat, cfg.LogLevel, cfg.secretValues())
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitUsage
	}
	s, err := newBenchServer(ctx, cfg, stdio, noSync)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		return exitFail
	}
	s.log = log
	return s.run(ctx)
}

// newBenchServer mirrors newServer with the store opened by the bench.
func newBenchServer(ctx context.Context, cfg *serveConfig, stdio IO, noSync bool) (s *server, err error) {
	log, _ := newLogger(stdio.Err, cfg.LogFormat, cfg.LogLevel, cfg.secretValues())
	s = &server{cfg: cfg, log: log, out: stdio.Out}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.flows, err = resolveFlows(cfg); err != nil {
		return nil, err
	}
	eng, err := s.flows.load(engineOptions(cfg), log)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(cfg.DB, &bolt.Options{NoSync: noSync})
	if err != nil {
		return nil, err
	}
	s.store = db
	s.closers = append(s.closers, s.closeStore)
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, err
	}
	sender, err := s.sender(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.newBot(eng, sender); err != nil {
		return nil, err
	}
	return s, s.routes()
}

// runToEnd runs a command to completion (dmflow migrate) within a minute.
func runToEnd(spec loadtest.ProcessSpec) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, spec.Path, spec.Args...)
	cmd.Env = spec.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New(fmt.Sprint(spec.Args, ": ", err, ": ", string(out)))
	}
	return nil
}
