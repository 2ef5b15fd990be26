package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRecordConversationAsTest talks to the real server (messages and a
// durable timer that fires 2 s later), records the conversation with
// `dmflow admin history --transcript`, and runs the transcript with
// `dmflow test`: it replays exactly against the served flows. After the
// flows change (v2), the same transcript fails, and `dmflow admin replay`
// shows, per turn, what was sent then next to what v2 sends.
func TestRecordConversationAsTest(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	const user = "rec1"
	key := account + "/" + user
	w.say(user, 1, "hi")
	w.say(user, 2, "hello")
	w.say(user, 3, "wait")
	waitFor(t, 25*time.Second, "the timeout to fire", func() bool { return slices.Contains(w.replies(user), "timeout fired") })
	w.say(user, 4, "bye")
	waitFor(t, 25*time.Second, "the reply to bye", func() bool { return slices.Contains(w.replies(user), "v1 got: bye") })
	w.waitIdle(10 * time.Second)

	out, code := w.cli("history", "--transcript", "--name", "recorded", key)
	if code != 0 || !strings.Contains(out, "advance: ") || !strings.Contains(out, "timeout fired") {
		t.Fatalf("history --transcript: exit %d:\n%s", code, out)
	}
	file := filepath.Join(w.flows, "recorded.test.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func() (string, int) {
		cmd := exec.Command(binary, "test", "-v", w.flows)
		cmd.Dir, cmd.Env = w.dir, []string{}
		b, _ := cmd.CombinedOutput()
		return string(b), cmd.ProcessState.ExitCode()
	}
	if got, code := run(); code != 0 || !strings.Contains(got, "--- PASS") {
		t.Fatalf("dmflow test of the recorded conversation: exit %d:\n%s\ntranscript:\n%s", code, got, out)
	}

	w.setFlow("v2.yaml")
	if got, code := run(); code != 1 || !strings.Contains(got, `want "v1 got: hello", got "v2 got: hello"`) {
		t.Fatalf("dmflow test against the edited flows: exit %d, want 1 and the changed reply:\n%s", code, got)
	}
	if got, code := w.cli("reload"); code != 0 {
		t.Fatalf("reload: %d %s", code, got)
	}
	got, code := w.cli("replay", key)
	for _, want := range []string{"turns, 2 differ from what was sent", `then  "v1 got: hello"`, `now   "v2 got: hello"`, `same  "waiting"`} {
		if code != 0 || !strings.Contains(got, want) {
			t.Fatalf("replay: exit %d, want %q in:\n%s", code, want, got)
		}
	}
}
