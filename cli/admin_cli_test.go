package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminCommands drives every `dmflow admin` command through run
// against a server running in this process (the same CLI entry point
// users call), with the sessions of seedSessions in its bbolt file.
func TestAdminCommands(t *testing.T) {
	db := seededBolt(t)
	srv := startServe(t, envMap{"DMFLOW_ADMIN_TOKEN": testAdminToken}, "--db", db, "--flows", writeFile(t, "shop.yaml", flowV1))
	env := envMap{"DMFLOW_URL": srv.URL, "DMFLOW_ADMIN_TOKEN": testAdminToken}
	key := testAccount + "/u-shop-waiting"
	backup := filepath.Join(t.TempDir(), "copy.db")
	for _, tc := range []struct {
		args []string
		code int
		out  []string // each must be in stdout (stderr for failures)
	}{
		{[]string{"sessions"}, exitOK, []string{"SESSION", key, "u-shop-listen", "u-retired-ask"}},
		{[]string{"--state", "listen", "sessions"}, exitOK, []string{"u-shop-listen"}},
		{[]string{"--json", "--account", testAccount, "--limit", "1", "sessions"}, exitOK, []string{`"state"`}},
		{[]string{"session", key}, exitOK, []string{`"state": "waiting"`}},
		{[]string{"history", key}, exitOK, []string{"["}},
		{[]string{"handoffs"}, exitOK, []string{"SESSION"}},
		{[]string{"deadletters"}, exitOK, []string{"SEQ"}},
		{[]string{"failed"}, exitOK, []string{"SEQ"}},
		{[]string{"reload"}, exitOK, []string{"reloaded"}},
		{[]string{"replay", key}, exitOK, []string{"replay " + key + ": "}},
		{[]string{"--json", "replay", key}, exitOK, []string{`"differs"`}},
		{[]string{"history", "--transcript", key}, exitFail, []string{"nothing to record"}},
		{[]string{"history", key, "--transcript"}, exitFail, []string{"nothing to record"}},
		{[]string{"history", "--bogus", key}, exitUsage, []string{"flag provided but not defined"}},
		{[]string{"history", key, key}, exitUsage, []string{"history takes 1 argument"}},
		{[]string{"handoff", key}, exitOK, []string{`"queued": "handoff"`}},
		{[]string{"release", key}, exitOK, []string{`"queued": "release"`}},
		{[]string{"move", key, "listen"}, exitOK, []string{`"queued": "move"`}},
		{[]string{"reset", key}, exitOK, []string{`"queued": "reset"`}},
		{[]string{"backup", backup}, exitOK, []string{"wrote " + backup}},
		{[]string{"retry", "999"}, exitFail, []string{"404"}},
		{[]string{"drop", "999"}, exitFail, []string{"404"}},
		{[]string{"session", "nokey"}, exitUsage, []string{"want ACCOUNT/USER"}},
		{[]string{"replay", "nokey"}, exitUsage, []string{"want ACCOUNT/USER"}},
		{[]string{"move", key}, exitUsage, []string{"move takes 2 argument(s), got 1"}},
		{[]string{"bogus"}, exitUsage, []string{`unknown command "bogus"`}},
		{[]string{}, exitUsage, []string{"missing command"}},
		{[]string{"--nope"}, exitUsage, []string{"flag provided but not defined"}},
		{[]string{"--token", "wrong", "sessions"}, exitFail, []string{"401"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCmd(t, env, append([]string{"admin"}, tc.args...)...)
			got := out
			if tc.code != exitOK {
				got = errs
			}
			for _, want := range tc.out {
				if code != tc.code || !strings.Contains(got, want) {
					t.Fatalf("exit %d (want %d), want %q in:\n%s\nstderr:\n%s", code, tc.code, want, out, errs)
				}
			}
		})
	}
	if fi, err := os.Stat(backup); err != nil || fi.Size() == 0 {
		t.Fatalf("backup file: %v", err)
	}
	// Without a token anywhere the command refuses before any request.
	if code, _, errs := runCmd(t, envMap{"DMFLOW_URL": srv.URL}, "admin", "sessions"); code != exitUsage || !strings.Contains(errs, "no admin token") {
		t.Fatalf("no token: exit %d: %s", code, errs)
	}
}

// TestHelp: `dmflow`, `dmflow help` and `dmflow help CMD` print the
// command list or one command's usage; unknown commands are usage errors.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage: dmflow <command>"},
		{[]string{"help"}, exitOK, "Exit codes: 0 ok"},
		{[]string{"--help"}, exitOK, "admin "},
		{[]string{"help", "admin"}, exitOK, "Usage: dmflow admin"},
		{[]string{"help", "migrate"}, exitOK, "migrate"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
	} {
		code, out, errs := runCmd(t, envMap{}, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("dmflow %q: exit %d, want %d and %q in:\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}
