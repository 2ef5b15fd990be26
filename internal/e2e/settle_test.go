package e2e_test

import (
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSettleSurvivesCrash sends a burst through the real server, kills it
// (SIGKILL) while the settle window is open and restarts it: the burst is
// still answered as one turn, in order, exactly once. Then a quick-reply tap
// closes a window early, and the held message goes first.
func TestSettleSurvivesCrash(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "settle.yaml"})
	w.start()
	const user = "settle-user"
	w.mustPost(w.text(user, "s1", "hi"))
	w.mustPost(w.text(user, "s2", "I need help"))
	w.mustPost(w.text(user, "s3", "with my order"))
	// The window is 5 s from the first message: unless the machine stalled
	// for that long, nothing is answered yet and the burst sits in the
	// session. (A stall would only mean the crash happens after the window.)
	if got := w.replies(user); len(got) > 0 {
		t.Logf("replies before the crash: %q (the machine is slow; the window closed early)", got)
	}
	w.stop(syscall.SIGKILL)
	w.start()
	got := w.waitReplies(user, 1, 30*time.Second)
	want := []string{"ready: hi\nI need help\nwith my order"}
	if !slices.Equal(got, want) {
		t.Fatalf("after the crash the burst got %q, want %q", got, want)
	}

	// A tap is a complete answer: it closes the window, after the held text.
	w.mustPost(w.text(user, "s4", "also"))
	w.mustPost(w.wh.QuickReply(account, user, "s5", "Yes", "YES"))
	got = w.waitReplies(user, 3, 30*time.Second)
	want = append(want, "got: also", "tapped YES")
	if !slices.Equal(got, want) {
		t.Fatalf("replies %q, want %q", got, want)
	}
	w.waitIdle(10 * time.Second)
	if got := w.replies(user); len(got) != 3 {
		t.Fatalf("extra replies after the burst: %q", got)
	}

	// The funnel of this traffic, from the counters committed with each
	// turn, through the admin API: the burst started one session.
	out, code := w.cli("stats", "--since", "1d")
	if code != 0 || !regexp.MustCompile(`(?m)^listen\s+1\s+0\s+0\s+0\s+0$`).MatchString(out) {
		t.Fatalf("dmflow admin stats: exit %d\n%s", code, out)
	}
	if out, code := w.cli("stats", "--graph"); code != 0 || !strings.Contains(out, "listen : listen (entered 1)") {
		t.Fatalf("dmflow admin stats --graph: exit %d\n%s", code, out)
	}
}
