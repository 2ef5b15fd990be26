package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

var authorizeLine = regexp.MustCompile(`(http://\S+/oauth/authorize\?\S+)`)

// authEnv is the environment of `dmflow auth` against the world's double.
func (w *world) authEnv(redirect string) []string {
	return []string{
		"INSTAGRAM_CLIENT_ID=" + igtest.DefaultAppID,
		"INSTAGRAM_CLIENT_SECRET=" + igtest.DefaultAppSecret,
		"INSTAGRAM_REDIRECT_URI=" + redirect,
		"DMFLOW_GRAPH_URL=" + w.graph.URL,
	}
}

// runAuth runs `dmflow auth`, plays the browser with approve (given the
// consent URL and the command's stdin), and returns the command's output.
func (w *world) runAuth(redirect string, approve func(authURL string, stdin io.Writer), args ...string) string {
	w.t.Helper()
	cmd := exec.Command(binary, append([]string{"auth", "--db", w.db, "--timeout", "30s"}, args...)...)
	cmd.Dir, cmd.Env = w.dir, w.authEnv(redirect)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := authorizeLine.FindStringSubmatch(sc.Text()); m != nil {
			go approve(m[1], stdin)
		}
	}
	if err := cmd.Wait(); err != nil {
		w.t.Fatalf("dmflow auth: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	return out.String()
}

// TestAuthPasteThenServe connects an account by pasting the redirect
// address, then serves with the stored token (no INSTAGRAM_ACCESS_TOKEN).
func TestAuthPasteThenServe(t *testing.T) {
	w := newWorld(t, worldOpts{})
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	out := w.runAuth("https://bot.example.com/oauth/callback", func(authURL string, stdin io.Writer) {
		resp, err := noFollow.Get(authURL)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		fmt.Fprintln(stdin, resp.Header.Get("Location")) // what the user copies from the address bar
	})
	if !strings.Contains(out, "connected @"+igtest.DefaultUsername+" (account "+account+")") || !strings.Contains(out, "subscribed account") {
		t.Fatalf("auth output:\n%s", out)
	}
	if f := w.graph.SubscribedFields(account); len(f) == 0 {
		t.Fatal("the account was not subscribed to webhooks")
	}
	var env []string
	for _, e := range w.env {
		if !strings.HasPrefix(e, "INSTAGRAM_ACCESS_TOKEN=") {
			env = append(env, e)
		}
	}
	w.env = env
	w.start()
	w.mustPost(w.text("a1", "m-a1-1", "hi"))
	if got := w.waitReplies("a1", 1, 10*time.Second); got[0] != "ready" {
		t.Fatalf("reply with the stored token: %q", got)
	}
}

// TestAuthLocalCallback: with a loopback redirect URI, auth receives the
// browser's redirect itself.
func TestAuthLocalCallback(t *testing.T) {
	w := newWorld(t, worldOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	out := w.runAuth(redirect, func(authURL string, _ io.Writer) {
		accepted := testutil.Poll(testutil.Scale(testutil.Wait), func() bool { // the listener may need a moment
			resp, err := w.client.Get(authURL) // follows the redirect to auth's listener
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		if !accepted {
			t.Error("the local callback never accepted the redirect")
		}
	}, "--no-subscribe")
	if !strings.Contains(out, "connected @"+igtest.DefaultUsername) || strings.Contains(out, "subscribed account") {
		t.Fatalf("auth output:\n%s", out)
	}
}

// TestAuthRejectsForeignState: a pasted address whose state is not this
// run's is refused, and no token is stored.
func TestAuthRejectsForeignState(t *testing.T) {
	w := newWorld(t, worldOpts{})
	cmd := exec.Command(binary, "auth", "--db", w.db, "--paste", "--timeout", "20s")
	cmd.Dir, cmd.Env = w.dir, w.authEnv("https://bot.example.com/cb")
	cmd.Stdin = strings.NewReader("https://bot.example.com/cb?code=AQBforged&state=not-ours#_\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "state does not match") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
