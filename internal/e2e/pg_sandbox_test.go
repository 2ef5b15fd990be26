package e2e_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/pgtest"
)

// TestPGSandboxRefusesProductionData (issue 12, item 8, PostgreSQL): a
// --sandbox serve refuses a schema holding production data, takes an empty
// one as its own, and production refuses the sandbox's schema.
func TestPGSandboxRefusesProductionData(t *testing.T) {
	w := newWorld(t, worldOpts{})
	prod, _ := pgtest.Schema(t, "dmflow_e2e_")
	if out, code := w.run(nil, "migrate", "--store", prod); code != 0 {
		t.Fatalf("migrate: exit %d:\n%s", code, out)
	}
	w.start("--store", prod)
	w.mustPost(w.text("real-user", "m-pgreal-1", "hello"))
	w.waitReplies("real-user", 1, 20*time.Second)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out, code := w.run(nil, "serve", "--sandbox", "--store", prod, "--addr", "127.0.0.1:0", "--flows", w.flows)
	if code != 2 || !strings.Contains(out, "sandbox mode refuses to open postgres schema") {
		t.Fatalf("sandbox on production data: exit %d:\n%s", code, out)
	}

	sb, _ := pgtest.Schema(t, "dmflow_e2e_")
	if out, code := w.run(nil, "migrate", "--store", sb); code != 0 {
		t.Fatalf("migrate: exit %d:\n%s", code, out)
	}
	n := w.startSandbox([]string{"--sandbox", "--store", sb}, nil)
	if w.studio("POST", n.url+"/sandbox/api/send", "", `{"user":"web","kind":"text","text":"hi"}`, map[string]string{"Content-Type": "application/json"}) != 200 {
		t.Fatal("sandbox send refused")
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	w.startSandbox([]string{"--sandbox", "--store", sb}, nil) // its own schema opens again
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("restart exit %d", code)
	}
	out, code = w.run(w.env, "serve", "--store", sb, "--addr", "127.0.0.1:0", "--flows", w.flows)
	if code != 2 || !strings.Contains(out, "is a sandbox store") {
		t.Fatalf("production on the sandbox schema: exit %d:\n%s", code, out)
	}
}
