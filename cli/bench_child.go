package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/dmflow/dmflow/loadtest"
)

// runBenchChild is `dmflow bench --child …`: one benchmark server.
func runBenchChild(ctx context.Context, o *benchOpts, rest []string, stdio IO) int {
	if o.cpuProfile != "" {
		stop, err := startProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
			return exitFail
		}
		defer stop()
	}
	if o.trace != "" {
		stop, err := startTrace(o.trace)
		if err != nil {
			fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
			return exitFail
		}
		defer stop()
	}
	if o.memProfile != "" {
		hctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go heapOnDemand(hctx, o.memProfile, stdio)
	}
	switch o.child {
	case "ceiling":
		return runCeiling(ctx, o, stdio)
	case "serve":
		return runBenchServe(ctx, rest, stdio)
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

// startTrace starts the execution tracer, writing to path.
func startTrace(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { trace.Stop(); f.Close() }, nil
}

// heapOnDemand writes a heap profile to path whenever path.want appears
// (dmflow bench creates it after the last reply), then removes path.want.
func heapOnDemand(ctx context.Context, path string, stdio IO) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := os.Stat(path + ".want"); err != nil {
			continue
		}
		if err := writeHeap(path); err != nil {
			fmt.Fprintf(stdio.Err, "dmflow bench: %v\n", err)
		}
		os.Remove(path + ".want")
	}
}

// writeHeap writes the heap profile as of a fresh GC to path (atomically).
func writeHeap(path string) error {
	runtime.GC()
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
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

// runBenchServe is dmflow serve itself (its flags in args), run by the
// bench child so that the profilers cover it.
func runBenchServe(ctx context.Context, args []string, stdio IO) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	declareFlags(fs)
	return runServe(ctx, fs, args, stdio, &Options{})
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
