package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a server started by StartProcess.
type Process struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan struct{}
	err    error // Wait's error, valid after done
}

// ProcessSpec says how to start a server: the binary, its arguments and
// its complete environment.
type ProcessSpec struct {
	Path string
	Args []string
	Env  []string
	Dir  string
	// Ready is the path polled until it answers 200 (default "/readyz").
	Ready string
	// Timeout bounds the start (default 30 s).
	Timeout time.Duration
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// StartProcess starts the server, waits for the "listening on http://…"
// line on its stdout and for its Ready path to answer 200.
func StartProcess(spec ProcessSpec) (*Process, error) {
	if spec.Ready == "" {
		spec.Ready = "/readyz"
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 30 * time.Second
	}
	p := &Process{stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(spec.Path, spec.Args...)
	p.cmd.Env, p.cmd.Dir, p.cmd.Stderr = spec.Env, spec.Dir, p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: start %s: %w", spec.Path, err)
	}
	urlc := make(chan string, 1)
	go readURL(out, urlc)
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(spec.Timeout)
	select {
	case p.url = <-urlc:
	case <-p.done:
		return nil, fmt.Errorf("loadtest: %s exited at start (%v): %s", spec.Path, p.err, p.Stderr())
	case <-time.After(spec.Timeout):
		p.Kill()
		return nil, fmt.Errorf("loadtest: %s did not listen within %s: %s", spec.Path, spec.Timeout, p.Stderr())
	}
	if err := p.waitReady(spec.Ready, deadline); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

func readURL(r io.Reader, urlc chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		if m := listenLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
			urlc <- m[1]
			sent = true
		}
	}
}

func (p *Process) waitReady(path string, deadline time.Time) error {
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := c.Get(p.url + path); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("loadtest: server exited (%v): %s", p.err, p.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("loadtest: server not ready at %s%s: %s", p.url, path, p.Stderr())
}

// URL returns the base URL the server announced.
func (p *Process) URL() string { return p.url }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stderr returns what the server wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Done is closed when the process exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// PeakRSS returns the process's peak resident set size in bytes (VmHWM),
// or 0 when it cannot be read.
func (p *Process) PeakRSS() int64 { return procStatus(p.Pid(), "VmHWM:") }

// RSSAnon returns the current anonymous resident memory in bytes (heap,
// stacks; not file mappings such as bbolt's mmap), or 0.
func (p *Process) RSSAnon() int64 { return procStatus(p.Pid(), "RssAnon:") }

// WatchAnon samples the anonymous RSS of procs every interval until the
// returned stop is called; stop returns the highest sample of any one
// process (bytes; 0 where /proc is unavailable). VmHWM, the kernel's peak,
// also counts resident pages of mapped files (bbolt's data file).
func WatchAnon(procs []*Process, every time.Duration) (stop func() int64) {
	var peak int64
	sample := func() {
		for _, p := range procs {
			peak = max(peak, p.RSSAnon())
		}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			sample()
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(quit); <-done; sample(); return peak }
}

// RSS returns the current resident set size in bytes, or 0.
func (p *Process) RSS() int64 { return procStatus(p.Pid(), "VmRSS:") }

// Threads returns the current number of OS threads, or 0.
func (p *Process) Threads() int64 { return procStatus(p.Pid(), "Threads:") / 1024 }

// OpenFiles returns the number of open file descriptors, or -1.
func (p *Process) OpenFiles() int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(p.Pid()) + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// procStatus reads a "Key: value kB" line of /proc/pid/status, in bytes
// (counts are multiplied by 1024 too).
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// Stop sends SIGTERM and waits up to timeout for the exit (then kills). It
// returns the exit code (-1 when killed).
func (p *Process) Stop(timeout time.Duration) int {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 {
		return len(p), nil // keep the start; a runaway log must not eat memory
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
