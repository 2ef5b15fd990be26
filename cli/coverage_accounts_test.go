package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// sayFlow is a one-state flow answering every message with text.
func sayFlow(text string) string {
	return "flow: main\nversion: 1\nmain: true\nstart: hello\nstates:\n  hello:\n    say: [{text: \"" + text + "\"}]\n    on: [{goto: hello}]\n"
}

func writeBundle(t *testing.T, dir, sub, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sub, "main.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServePerAccountBundles: a flows directory with a bundle per account
// answers each account with its own flows (default/ for the rest), sends
// with an account's own access token from the config file, and reloads
// one account, all accounts, added and removed bundles and a broken one
// (rejected, the old bundle keeps answering), by admin reload and SIGHUP.
func TestServePerAccountBundles(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{AccessTokens: map[string]string{
		testAccessToken: igtest.DefaultAccount, "IGAAothertoken": otherAccount}})
	t.Cleanup(graph.Close)
	dir := filepath.Join(t.TempDir(), "flows")
	writeBundle(t, dir, "default", sayFlow("default v1"))
	writeBundle(t, dir, igtest.DefaultAccount, sayFlow("acme v1"))
	cfg := writeFile(t, "dmflow.yaml", "accounts:\n  \""+otherAccount+"\":\n    access_token: IGAAothertoken\n")
	srv := startServe(t, instagramEnv(graph), "--config", cfg, "--db", filepath.Join(t.TempDir(), "d.db"), "--flows", dir)
	admin := envMap{"DMFLOW_URL": srv.URL, "DMFLOW_ADMIN_TOKEN": testAdminToken}
	wh := igtest.Webhook{Secret: testAppSecret}
	n := 0
	// say posts a message from user to account and waits for the reply.
	say := func(account, user, want string) {
		t.Helper()
		n++
		mid := "m-" + user + "-" + string(rune('a'+n))
		if code, err := wh.Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram", wh.Text(account, user, mid, "hi")); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
		defer cancel()
		msgs, err := graph.WaitMessages(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if m := msgs[n-1]; m.Account != account || m.RecipientID != user || m.Text() != want {
			t.Fatalf("reply from %s to %s: %q, want %s to %s: %q", m.Account, m.RecipientID, m.Text(), account, user, want)
		}
	}
	reload := func(code int, want string, args ...string) {
		t.Helper()
		got, out, errs := runCmd(t, admin, append([]string{"admin"}, append(args, "reload")...)...)
		if got != code || !strings.Contains(out+errs, want) {
			t.Fatalf("admin %v reload: exit %d (want %d), want %q in:\n%s%s", args, got, code, want, out, errs)
		}
	}
	say(igtest.DefaultAccount, "u-1", "acme v1")
	say(otherAccount, "u-2", "default v1") // sent with the account's own token

	writeBundle(t, dir, igtest.DefaultAccount, sayFlow("acme v2"))
	writeBundle(t, dir, "default", sayFlow("default v2"))
	reload(exitOK, igtest.DefaultAccount, "--account", igtest.DefaultAccount)
	say(igtest.DefaultAccount, "u-1", "acme v2")
	say(otherAccount, "u-2", "default v1") // only the one account was reloaded

	const newAccount = "17841400000000088"
	writeBundle(t, dir, otherAccount, sayFlow("other v1"))
	writeBundle(t, dir, newAccount, sayFlow("new v1"))
	reload(exitOK, "reloaded")
	say(otherAccount, "u-2", "other v1")
	if !strings.Contains(srv.Err.String(), `"msg":"account added","account":"`+newAccount+`"`) {
		t.Errorf("no account added log line:\n%s", srv.Err)
	}

	writeBundle(t, dir, igtest.DefaultAccount, "flow: main\nstates: 3\n")
	reload(exitFail, "422 Unprocessable Entity")
	say(igtest.DefaultAccount, "u-1", "acme v2") // the old bundle keeps running
	if !strings.Contains(srv.Err.String(), "account reload rejected, its old bundle keeps running") {
		t.Errorf("no rejected reload in the log:\n%s", srv.Err)
	}

	// SIGHUP reloads everything: the fixed bundle; newAccount's bundle is
	// gone.
	writeBundle(t, dir, igtest.DefaultAccount, sayFlow("acme v3"))
	if err := os.RemoveAll(filepath.Join(dir, newAccount)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testutil.Wait, "the SIGHUP reload", func() bool { return strings.Contains(srv.Err.String(), `"msg":"flows reloaded"`) })
	say(igtest.DefaultAccount, "u-1", "acme v3")
	say(otherAccount, "u-2", "other v1")
	if !strings.Contains(srv.Err.String(), `"msg":"account removed: its bundle is gone, its users get the default bundle (if any)","account":"`+newAccount+`"`) {
		t.Errorf("no account removed log line:\n%s", srv.Err)
	}
}
