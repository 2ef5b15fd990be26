package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/loadtest"
)

// TestSoak runs two equal phases of steady load against one server and
// compares what the server holds after each once it is idle again:
// goroutines, heap in use, RSS and open files must not grow from the
// first to the second (a leak grows with the work done). Short: 2 × 10 s
// at 300 ev/s; DMFLOW_LONG=1: 2 × 2 min at 1000 ev/s. The rate is a
// target, not a check: a busy machine sends more slowly, and each phase
// sends all of its events however long that takes (phase 2 continues the
// users' sequences, so a phase cut short would miscount the next).
func TestSoak(t *testing.T) {
	phase, rate, users := 10*time.Second, 300.0, 200
	if long() {
		phase, rate, users = 2*time.Minute, 1000, 2000
	}
	g, err := loadtest.StartGraph()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := newSite(t, g.URL)
	p := s.start()
	var after [2]snapshot
	client := &http.Client{Timeout: 10 * time.Second}
	events := int(rate * phase.Seconds())
	for i := range after {
		// Phase 2 continues every user's sequence, so the counter's n still
		// equals the sequence number.
		l, err := loadtest.NewLoad(loadtest.Options{URL: s.webhook(), Secret: secret, Users: users, Accounts: 10,
			Events: events, Rate: rate, Concurrency: 16, Duration: testutil.Scale(10 * phase), Client: client,
			Run: fmt.Sprint("soak", i), FirstSeq: 1 + i*events/users})
		if err != nil {
			t.Fatal(err)
		}
		l.Send(context.Background())
		if n := l.Acked(); n != events {
			t.Fatalf("phase %d: %d of %d events acknowledged within %s", i+1, n, events, testutil.Scale(10*phase))
		}
		if !l.WaitReplies(g.Recorder, testutil.Scale(2*time.Minute)) {
			t.Fatalf("phase %d: not every event answered", i+1)
		}
		waitIdle(t, p.URL(), time.Minute)
		client.CloseIdleConnections()
		g.CloseIdleConnections() // the server's pool of idle Graph connections is bounded, not a leak
		// Closed connections and timers wind down asynchronously: the first
		// phase's baseline is its lowest goroutine count over a few
		// snapshots; the second phase is polled until it is back within
		// the bounds (a leak never is).
		if i == 0 {
			after[0] = takeSnapshot(t, p)
			for range 5 {
				if snap := takeSnapshot(t, p); snap.goroutines < after[0].goroutines {
					after[0] = snap
				}
			}
		} else {
			testutil.Poll(testutil.Scale(30*time.Second), func() bool {
				after[1] = takeSnapshot(t, p)
				return grown(after[0], after[1]) == ""
			})
		}
		r := l.Result(fmt.Sprint("soak ", i+1), g.Recorder)
		t.Logf("%s; after: %+v", r.Summary(0), after[i])
		if r.Lost != 0 || r.Duplicates != 0 || r.OutOfOrder != 0 || r.Miscounted != 0 {
			t.Fatalf("phase %d: lost %d dup %d out of order %d miscounted %d", i+1, r.Lost, r.Duplicates, r.OutOfOrder, r.Miscounted)
		}
	}
	if msg := grown(after[0], after[1]); msg != "" {
		t.Fatal(msg)
	}
}

// grown says how b, the server after the second phase, grew beyond a, after
// the first, or "" when it stays within bounds.
func grown(a, b snapshot) string {
	switch {
	case b.goroutines > a.goroutines+10:
		return fmt.Sprintf("goroutines grew from %v to %v", a.goroutines, b.goroutines)
	case b.files > a.files+5:
		return fmt.Sprintf("open files grew from %d to %d", a.files, b.files)
	case b.heap > 1.5*a.heap+8<<20:
		return fmt.Sprintf("heap in use grew from %.0f to %.0f bytes", a.heap, b.heap)
	case float64(b.rss) > 1.5*float64(a.rss)+32<<20:
		return fmt.Sprintf("RSS grew from %d to %d bytes", a.rss, b.rss)
	}
	return ""
}

type snapshot struct {
	goroutines, heap float64
	files            int
	rss              int64
}

func takeSnapshot(t *testing.T, p *loadtest.Process) snapshot {
	m := metrics(t, p.URL())
	return snapshot{goroutines: m["go_goroutines"], heap: m["go_memstats_heap_inuse_bytes"], files: p.OpenFiles(), rss: p.RSS()}
}
