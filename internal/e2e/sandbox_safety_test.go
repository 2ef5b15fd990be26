package e2e_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSandbox runs `dmflow serve` in sandbox mode (no credentials) with
// the world's flows and extra args/env, and waits until it is ready.
func (w *world) startSandbox(args []string, env []string) *node {
	w.t.Helper()
	n := w.spawn(append([]string{"serve", "--addr", "127.0.0.1:0", "--flows", w.flows, "--log-format", "json"}, args...), env)
	w.mu.Lock()
	w.node = n
	w.mu.Unlock()
	n.waitReady(w.t, w.client)
	return n
}

// studio sends one request to the sandbox API with the given Host and
// headers and returns the status.
func (w *world) studio(method, url, host, body string, headers map[string]string) int {
	w.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := *w.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestSandboxStudioRefusesCrossSiteRequests (issue 12, item 5): through the
// real binary, requests another web page or a rebound DNS name could make
// are refused and change nothing; the studio's own requests and curl work.
func TestSandboxStudioRefusesCrossSiteRequests(t *testing.T) {
	w := newWorld(t, worldOpts{})
	n := w.startSandbox([]string{"--db", filepath.Join(w.dir, "sandbox.db")}, nil)
	send := func(user string) string { return `{"user":"` + user + `","kind":"text","text":"hi"}` }
	json := map[string]string{"Content-Type": "application/json"}
	hostOnly := strings.TrimPrefix(n.url, "http://")
	for _, tc := range []struct {
		name, method, path, host, body string
		headers                        map[string]string
		want                           int
	}{
		{"foreign origin", "POST", "/sandbox/api/send", "", send("evil1"), map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"text/plain", "POST", "/sandbox/api/send", "", send("evil2"), map[string]string{"Content-Type": "text/plain"}, 415},
		{"cross-site fetch", "POST", "/sandbox/api/reset", "", `{"user":"web"}`, map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"foreign host reads messages", "GET", "/sandbox/api/messages?user=web", "rebind.evil.example:80", "", nil, 403},
		{"foreign host reads a session", "GET", "/sandbox/api/session?user=web", "rebind.evil.example", "", nil, 403},
		{"foreign host posts", "POST", "/sandbox/api/send", "evil.example", send("evil3"), json, 403},
		{"curl without origin", "POST", "/sandbox/api/send", "", send("web"), json, 200},
		{"the studio's fetch", "POST", "/sandbox/api/send", "", send("web"), map[string]string{
			"Content-Type": "application/json", "Origin": n.url, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, 200},
		{"localhost host", "GET", "/sandbox/api/session?user=web", "localhost:" + hostOnly[strings.LastIndex(hostOnly, ":")+1:], "", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.studio(tc.method, n.url+tc.path, tc.host, tc.body, tc.headers); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	for _, u := range []string{"evil1", "evil2", "evil3"} {
		if msgs := w.sandboxMessages(n.url, u); len(msgs) != 0 {
			t.Errorf("a refused request reached the bot: %v", msgs)
		}
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestSandboxPublicAddress (issue 12, item 6): a sandbox on a non-loopback
// address refuses to start without --sandbox-public-token; with it every
// studio request needs the token.
func TestSandboxPublicAddress(t *testing.T) {
	w := newWorld(t, worldOpts{})
	db := filepath.Join(w.dir, "sandbox.db")
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		out, code := w.run(nil, "serve", "--addr", addr, "--db", db, "--flows", w.flows)
		if code != 2 || !strings.Contains(out, "not a loopback address") || !strings.Contains(out, "--sandbox-public-token") {
			t.Fatalf("--addr %s: exit %d:\n%s", addr, code, out)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatal("a refused start created the data file")
	}
	// With the token (on 127.0.0.1 here: tests bind loopback only) the token is required.
	const token = "e2e-sandbox-public-token-1a2b3c"
	n := w.startSandbox([]string{"--db", db}, []string{"DMFLOW_SANDBOX_PUBLIC_TOKEN=" + token})
	if strings.Contains(n.stdout.String()+n.stderr.String(), token) {
		t.Fatal("the public token is printed")
	}
	json := map[string]string{"Content-Type": "application/json"}
	body := `{"user":"web","kind":"text","text":"hi"}`
	if got := w.studio("POST", n.url+"/sandbox/api/send", "", body, json); got != 403 {
		t.Fatalf("without the token: %d, want 403", got)
	}
	if got := w.studio("GET", n.url+"/sandbox/api/messages?user=web", "", "", map[string]string{"Authorization": "Bearer wrong"}); got != 403 {
		t.Fatalf("wrong token: %d, want 403", got)
	}
	if got := w.studio("POST", n.url+"/sandbox/api/send", "public.example:8080", body,
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}); got != 200 {
		t.Fatalf("with the token: %d, want 200", got)
	}
	if got := w.studio("GET", n.url+"/sandbox/?token="+token, "", "", nil); got != http.StatusSeeOther {
		t.Fatalf("page with ?token: %d, want 303 (cookie set, token dropped from the URL)", got)
	}
	if got := w.studio("GET", n.url+"/sandbox/", "", "", map[string]string{"Cookie": "dmflow_sandbox_token=" + token}); got != 200 {
		t.Fatalf("page with the cookie: %d, want 200", got)
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestPartialCredentialsExit2 (issue 12, item 7): any credential setting
// alone is a configuration error naming what is missing, never sandbox mode.
func TestPartialCredentialsExit2(t *testing.T) {
	w := newWorld(t, worldOpts{})
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"only META_APP_SECRET", []string{"META_APP_SECRET=m"}, nil, []string{"set: META_APP_SECRET", "INSTAGRAM_CLIENT_SECRET", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN"}},
		{"only DMFLOW_DATABASE_URL", []string{"DMFLOW_DATABASE_URL=postgres://127.0.0.1:1/none"}, nil, []string{"set: DMFLOW_DATABASE_URL", "INSTAGRAM_CLIENT_SECRET", "--sandbox"}},
		{"only INSTAGRAM_ACCOUNT_ID", []string{"INSTAGRAM_ACCOUNT_ID=17841400000000001"}, nil, []string{"set: INSTAGRAM_ACCOUNT_ID", "INSTAGRAM_WEBHOOK_VERIFY_TOKEN"}},
		{"only the verify token", []string{"INSTAGRAM_WEBHOOK_VERIFY_TOKEN=v"}, nil, []string{"INSTAGRAM_CLIENT_SECRET (verifies webhook signatures)"}},
		{"--sandbox with a credential", []string{"INSTAGRAM_ACCESS_TOKEN=x"}, []string{"--sandbox"}, []string{"--sandbox is set together with Instagram credentials (INSTAGRAM_ACCESS_TOKEN)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := w.run(tc.env, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db, "--flows", w.flows}, tc.args...)...)
			if code != 2 || strings.Contains(out, "sandbox mode (no Instagram") {
				t.Fatalf("exit %d, want 2:\n%s", code, out)
			}
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// TestSandboxRefusesProductionData (issue 12, item 8): the sandbox does
// not open a store holding production sessions or replies; it uses its own
// file by default, and production does not open the sandbox's file.
func TestSandboxRefusesProductionData(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	w.mustPost(w.text("real-user", "m-real-1", "hello"))
	w.waitReplies("real-user", 1, 20*time.Second)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out, code := w.run(nil, "serve", "--addr", "127.0.0.1:0", "--db", w.db, "--flows", w.flows)
	if code != 2 || !strings.Contains(out, "sandbox mode refuses to open bbolt") || !strings.Contains(out, "sessions") {
		t.Fatalf("sandbox on production data: exit %d:\n%s", code, out)
	}
	// The default sandbox file is not the production default (w.db is ./dmflow.db).
	n := w.startSandbox(nil, nil)
	if w.studio("POST", n.url+"/sandbox/api/send", "", `{"user":"web","kind":"text","text":"hi"}`, map[string]string{"Content-Type": "application/json"}) != 200 {
		t.Fatal("sandbox send refused")
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	sandboxDB := filepath.Join(w.dir, "dmflow-sandbox.db")
	if _, err := os.Stat(sandboxDB); err != nil {
		t.Fatalf("sandbox mode did not use ./dmflow-sandbox.db: %v", err)
	}
	// Its own file, with its sessions, opens again.
	w.startSandbox(nil, nil)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("restart exit %d", code)
	}
	// Production refuses the sandbox's file.
	out, code = w.run(w.env, "serve", "--addr", "127.0.0.1:0", "--db", sandboxDB, "--flows", w.flows)
	if code != 2 || !strings.Contains(out, "is a sandbox store") {
		t.Fatalf("production on the sandbox file: exit %d:\n%s", code, out)
	}
	// The production file was left as it was: production serves it again
	// (it would refuse a file the sandbox had marked) with its session.
	w.start()
	w.mustPost(w.text("real-user", "m-real-2", "again"))
	if got := w.waitReplies("real-user", 2, 20*time.Second); got[1] != "v1 got: again" {
		t.Fatalf("production after the refused sandbox: %q", got)
	}
}

// TestWebhookBatchKeepsValidEvents (issue 12, item 9): a signed batch with
// invalid events (a user id with NUL, an entry with no id and no recipient)
// is answered 200, its valid event is stored and answered, and the invalid
// ones are counted.
func TestWebhookBatchKeepsValidEvents(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	body := []byte(`{"object":"instagram","entry":[
 {"id":"` + account + `","time":1,"messaging":[
  {"sender":{"id":"batch-ok"},"recipient":{"id":"` + account + `"},"timestamp":` + ts + `,"message":{"mid":"m-batch-ok","text":"hi"}},
  {"sender":{"id":"bad\u00002"},"recipient":{"id":"` + account + `"},"timestamp":` + ts + `,"message":{"mid":"m-batch-nul","text":"x"}}]},
 {"time":1,"messaging":[{"sender":{"id":"batch-noacct"},"timestamp":` + ts + `,"message":{"mid":"m-batch-noacct","text":"y"}}]}]}`)
	if s := w.post(body); s != http.StatusOK {
		t.Fatalf("mixed batch answered %d, want 200", s)
	}
	w.waitReplies("batch-ok", 1, 20*time.Second)
	if got := w.metric("dmflow_events_invalid_total"); got != 2 {
		t.Fatalf("dmflow_events_invalid_total = %v, want 2", got)
	}
	if s := w.post(body); s != http.StatusOK { // a redelivery is a duplicate, still 200
		t.Fatalf("redelivery answered %d", s)
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
