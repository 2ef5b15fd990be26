package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
)

// cli runs `dmflow admin` against the running server and returns its
// output and exit code.
func (w *world) cli(args ...string) (string, int) {
	w.t.Helper()
	cmd := exec.Command(binary, append([]string{"admin", "--url", w.current().url}, args...)...)
	cmd.Dir, cmd.Env = w.dir, []string{"DMFLOW_ADMIN_TOKEN=" + adminToken}
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

// TestAdminCLI drives the admin commands against a running server.
func TestAdminCLI(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	w.mustPost(w.text("ad1", "m-ad1-1", "hi"))
	w.mustPost(w.text("ad1", "m-ad1-2", "wait"))
	w.waitReplies("ad1", 2, 10*time.Second)
	key := account + "/ad1"
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sessions"}, 0, key + "  e2e   1        waiting"},
		{[]string{"session", key}, 0, `"state": "waiting"`},
		{[]string{"--json", "handoffs"}, 0, "[]"},
		{[]string{"--json", "replay", key}, 0, `"what": "enter"`}, // traced although serve runs the engine untraced
		{[]string{"replay", key}, 0, "replay " + key + ": 2 turns, 0 differ from what was sent"},
		{[]string{"deadletters"}, 0, "SEQ  QUEUE"},
		{[]string{"failed"}, 0, "SEQ  SESSION"},
		{[]string{"reload"}, 0, "reloaded"},
		{[]string{"stranded", filepath.Join(testdata, "v1.yaml")}, 0, "1 sessions checked, 0 stranded"},
		{[]string{"stranded", filepath.Join(testdata, "stranded.yaml")}, 1, `state "waiting" is gone`},
		{[]string{"move", key, "listen"}, 0, `"queued": "move"`},
		{[]string{"retry", "999"}, 1, "404"},
		{[]string{"session", "nokey"}, 2, "want ACCOUNT/USER"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"--token", "wrong", "sessions"}, 1, "401"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, code := w.cli(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tc.code, tc.want)
			}
		})
	}

	backup := filepath.Join(t.TempDir(), "copy.db")
	if out, code := w.cli("backup", backup); code != 0 || !strings.Contains(out, "wrote "+backup) {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	db, err := bolt.Open(backup, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.GetSession(context.Background(), dmflow.SessionKey{Account: account, User: "ad1"})
	if err != nil || s.Flow != "e2e" {
		t.Fatalf("session in the backup: %+v, %v", s, err)
	}
	if _, err := os.Stat(backup + ".partial"); !os.IsNotExist(err) {
		t.Fatal("the partial file was left behind")
	}
}
