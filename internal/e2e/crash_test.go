package e2e_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"
)

// load sends msgs messages for each of users users in the background:
// users in parallel, each user's messages in order, every message
// redelivered until the server acknowledges it with 200, as Meta does. The
// returned channel is closed when every message was acknowledged.
func (w *world) load(prefix string, users, msgs int) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			user := fmt.Sprintf("%s%03d", prefix, u)
			for i := 1; i <= msgs; i++ {
				w.deliver(w.text(user, fmt.Sprintf("m-%s-%d", user, i), fmt.Sprint(i)))
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

// deliver posts body until it is acknowledged (or a minute passed).
func (w *world) deliver(body []byte) {
	deadline := time.Now().Add(time.Minute)
	for w.post(body) != http.StatusOK {
		if time.Now().After(deadline) {
			w.t.Error("a webhook was never acknowledged within a minute")
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replay checks got against want under at-least-once delivery: after a
// crash the sender may resend replies it had sent but not yet recorded, so
// a reply may repeat an earlier one, but a new reply must be the next one
// wanted. It returns how many of want arrived in order, how many sends were
// repeats, and an error for a reply out of order.
func replay(got, want []string) (next, dups int, err error) {
	seen := map[string]bool{}
	for _, s := range got {
		switch {
		case next < len(want) && s == want[next]:
			seen[s] = true
			next++
		case seen[s]:
			dups++
		default:
			return next, dups, fmt.Errorf("reply %q out of order (next wanted %d of %d)", s, next+1, len(want))
		}
	}
	return next, dups, nil
}

// checkAllAnswered waits until every user got every reply, in order, and
// returns the number of repeated sends.
func (w *world) checkAllAnswered(prefix string, users, msgs int) int {
	w.t.Helper()
	total := 0
	want := wantReplies("v1", msgs)
	for u := range users {
		user := fmt.Sprintf("%s%03d", prefix, u)
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := w.replies(user)
			next, dups, err := replay(got, want)
			if err != nil {
				w.t.Fatalf("user %s: %v\n got %q", user, err, got)
			}
			if next == len(want) {
				total += dups
				break
			}
			if time.Now().After(deadline) {
				w.t.Fatalf("user %s: only %d of %d replies after a minute: %q", user, next, len(want), got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return total
}

// TestGracefulShutdownMidLoad: SIGTERM while webhooks arrive; the server
// exits 0 after draining, and after a restart every acknowledged message
// is answered exactly once, in order.
func TestGracefulShutdownMidLoad(t *testing.T) {
	users, msgs := 20, 30
	w := newWorld(t, worldOpts{})
	w.start()
	done := w.load("g", users, msgs)
	w.waitReplies("g000", 3, 20*time.Second) // the load is flowing
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if len(w.graph.Messages()) >= users*msgs {
		t.Fatal("the load finished before the shutdown; the test proves nothing")
	}
	w.start()
	<-done
	if dups := w.checkAllAnswered("g", users, msgs); dups != 0 {
		t.Fatalf("%d duplicated sends after a graceful shutdown, want 0", dups)
	}
}

// TestCrashRecovery kills the server (SIGKILL) several times mid-load and
// restarts it: every acknowledged message is processed and every reply
// delivered, in order per user; duplicated sends (at-least-once delivery
// after a crash) are reported and bounded.
func TestCrashRecovery(t *testing.T) {
	users, msgs, crashes := 20, 40, 3
	if long() {
		users, msgs, crashes = 50, 100, 10
	}
	w := newWorld(t, worldOpts{})
	w.start()
	done := w.load("c", users, msgs)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range crashes {
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond) // let work pile up mid-flight
		w.stop(syscall.SIGKILL)
		t.Logf("crash %d: %d replies sent so far", i+1, len(w.graph.Messages()))
		w.start()
	}
	<-done
	dups := w.checkAllAnswered("c", users, msgs)
	total := users * msgs
	t.Logf("%d crashes, %d messages: %d duplicated sends (%.2f%%)", crashes, total, dups, 100*float64(dups)/float64(total))
	// A crash repeats at most what was sent but not yet acknowledged: each
	// reply is acknowledged before the user's next send, so at most the one
	// send in flight per user. More means the outbox forgets acknowledgements.
	if limit := crashes * users; dups > limit {
		t.Fatalf("%d duplicated sends, more than %d (1 per user per crash)", dups, limit)
	}
	w.waitIdle(10 * time.Second)
}
