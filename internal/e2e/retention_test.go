package e2e_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

// Retention: a server started with a tiny --retain-history sweeps the
// history its predecessor wrote (the sweeper runs at start, then every 10
// minutes) and keeps the sessions (their TTL is separate).

var tinyRetention = []string{"--retain-history", "1ms", "--retain-delivered", "1ms", "--retain-dead-letters", "1ms", "--retain-notices", "1ms"}

// waitSwept waits for the first retention sweep of the current server and
// checks what it left.
func (w *world) waitSwept() {
	t := w.t
	t.Helper()
	deadline := time.Now().Add(testutil.Scale(20 * time.Second))
	for w.metric(`dmflow_retention_sweeps_total{result="ok"}`) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no retention sweep within 20s of start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := w.metric(`dmflow_retention_deleted_total{kind="history"}`); n < 4 {
		t.Fatalf("swept %v history items, want the 4 messages at least", n)
	}
	for _, u := range []string{"p1", "p2"} {
		if _, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/"+u+"/history", ""); strings.TrimSpace(body) != "[]" {
			t.Fatalf("history of %s after the sweep: %s", u, body)
		}
		if code, _ := w.admin(http.MethodGet, "/admin/sessions/"+account+"/"+u, ""); code != http.StatusOK {
			t.Fatalf("session of %s: %d, want it kept", u, code)
		}
	}
}

func TestRetentionBolt(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	w.converse()
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	w.start(tinyRetention...)
	w.waitSwept()
}

func TestRetentionPostgres(t *testing.T) {
	w := newWorld(t, worldOpts{})
	c := clusterOn(w, 1, 30*time.Second)
	w.converse()
	if code := c.stop(0); code != 0 {
		t.Fatalf("exit %d", code)
	}
	c.extra = append(c.extra, tinyRetention...)
	c.add()
	w.waitSwept()
	if n := pgCount(t, c.store, "SELECT count(*) FROM inbox"); n != 0 {
		t.Fatalf("%d inbox rows after the sweep", n)
	}
}
