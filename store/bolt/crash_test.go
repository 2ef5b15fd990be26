package bolt_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/storetest"
)

const crashEnv = "DMFLOW_BOLT_CRASH_CHILD"

// TestMain turns the test binary into the crash test's child when asked.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends and commits from 8 goroutines forever, printing
// "A g i" after AppendInbox of key g-i returned and "C g i" after the
// commit of user g's session version i+1 returned, until it is killed.
func crashChild(path string) {
	db, err := bolt.Open(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := crashLoop(db, g); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}()
	}
	wg.Wait()
}

func crashLoop(db *bolt.DB, g int) error {
	ctx, k := context.Background(), storetest.Key(fmt.Sprint("u", g))
	for i := 0; ; i++ {
		e := storetest.Msg(k.User, fmt.Sprint(g, "-", i))
		if _, err := db.AppendInbox(ctx, []dmflow.Event{e}, storetest.T0); err != nil {
			return err
		}
		fmt.Printf("A %d %d\n", g, i)
		s := &dmflow.Session{Key: k, Vars: map[string]any{"i": i}, Version: uint64(i)}
		if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: s, Now: storetest.T0}); err != nil {
			return err
		}
		fmt.Printf("C %d %d\n", g, i)
	}
}

// TestCrashSafety SIGKILLs a child in the middle of writing and checks that
// every write whose call had returned survived.
func TestCrashSafety(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dmflow.db")
	acked := runAndKill(t, path, 2000)
	db := open(t, path, nil)
	ctx := context.Background()
	for _, a := range acked {
		var g, i int
		fmt.Sscanf(a[2:], "%d %d", &g, &i)
		if a[0] == 'A' {
			r, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg(fmt.Sprint("u", g), fmt.Sprint(g, "-", i))}, storetest.T0)
			if err != nil || r.Duplicates != 1 {
				t.Fatalf("acknowledged append %d-%d lost: %+v %v", g, i, r, err)
			}
			continue
		}
		s, err := db.GetSession(ctx, storetest.Key(fmt.Sprint("u", g)))
		if err != nil || s.Version < uint64(i+1) {
			t.Fatalf("acknowledged commit %d-%d lost: %+v %v", g, i, s, err)
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL", len(acked))
}

// runAndKill runs the child until it acknowledged n writes (or 20s passed),
// kills it with SIGKILL and returns the complete lines it printed.
func runAndKill(t *testing.T, path string, n int) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var lines []string
	r := bufio.NewReader(out)
	for len(lines) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("child stopped after %d lines: %v", len(lines), err)
		}
		lines = append(lines, line[:len(line)-1])
	}
	cmd.Process.Kill()
	lines = append(lines, drain(r)...)
	cmd.Wait()
	return lines
}

// drain returns the complete lines the child printed before it died.
func drain(r *bufio.Reader) []string {
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return lines
		}
		lines = append(lines, line[:len(line)-1])
	}
}
