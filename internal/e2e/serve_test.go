package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// wantReplies is what the v1 flow answers to messages 1..n of a user:
// "ready" for the first (it starts the session), then one reply each.
func wantReplies(version string, n int) []string {
	out := []string{"ready"}
	for i := 2; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s got: %d", version, i))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOrderPerUserUnderConcurrency sends users × msgs messages, users in
// parallel and each user's messages one after the other, redelivers every
// user's first message, and checks that each user got exactly one reply per
// message, in order, with the echoes of every reply delivered back.
func TestOrderPerUserUnderConcurrency(t *testing.T) {
	users, msgs := 50, 20
	if long() {
		users, msgs = 200, 50
	}
	w := newWorld(t, worldOpts{echoes: true})
	w.start()
	start := time.Now()
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			user := fmt.Sprintf("u%03d", u)
			for i := 1; i <= msgs; i++ {
				w.mustPost(w.text(user, fmt.Sprintf("m-%s-%d", user, i), fmt.Sprint(i)))
			}
			w.mustPost(w.text(user, fmt.Sprintf("m-%s-1", user), "1")) // a redelivery
		})
	}
	wg.Wait()
	for u := range users {
		user := fmt.Sprintf("u%03d", u)
		w.waitReplies(user, msgs, 60*time.Second)
	}
	t.Logf("%d users × %d messages answered in %v", users, msgs, time.Since(start).Round(time.Millisecond))
	w.waitIdle(10 * time.Second)
	for u := range users {
		user := fmt.Sprintf("u%03d", u)
		if got := w.replies(user); !equal(got, wantReplies("v1", msgs)) {
			t.Fatalf("user %s replies out of order or duplicated:\n got %q\nwant %q", user, got, wantReplies("v1", msgs))
		}
	}
	if d := w.metric("dmflow_events_duplicate_total"); d < float64(users) {
		t.Fatalf("duplicates counted %v, want at least %d redeliveries", d, users)
	}
	if h := w.metric(`dmflow_engine_reloads_total{result="error"}`); h != 0 {
		t.Fatalf("unexpected reload errors: %v", h)
	}
	_, body := w.admin(http.MethodGet, "/admin/handoffs", "")
	if strings.Contains(body, `"user"`) {
		t.Fatalf("the bot's own echoes must not hand conversations off: %s", body)
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
}

// TestBadInputChangesNothing checks the webhook's answers to forged,
// unsigned, oversized and malformed deliveries, and the verification GET.
func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t, worldOpts{})
	n := w.start("--max-body", "65536")
	good := w.text("bad1", "m-bad-1", "hello")
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, n.url+"/webhook/instagram", strings.NewReader(string(body)))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	big := []byte(`{"object":"instagram","entry":[],"pad":"` + strings.Repeat("x", 70000) + `"}`)
	malformed := []byte(`{"object":"instagram","entry":[{"id":`)
	for _, tc := range []struct {
		name   string
		body   []byte
		sig    string
		status int
	}{
		{"forged signature", good, "sha256=" + strings.Repeat("ab", 32), http.StatusForbidden},
		{"signed with another secret", good, igtest.Webhook{Secret: "other-secret"}.Sign(good), http.StatusForbidden},
		{"no signature", good, "", http.StatusUnauthorized},
		{"oversized", big, w.wh.Sign(big), http.StatusRequestEntityTooLarge},
		{"malformed JSON", malformed, w.wh.Sign(malformed), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.body, tc.sig); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
		})
	}
	if v := w.metric("dmflow_events_ingested_total"); v != 0 {
		t.Fatalf("%v events stored from bad input", v)
	}
	if got := w.graph.Messages(); len(got) != 0 {
		t.Fatalf("bad input produced sends: %v", got)
	}
	for _, tc := range []struct {
		token  string
		status int
		body   string
	}{{verifyToken, 200, "challenge-123"}, {"wrong", 403, ""}} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tc.token}, "hub.challenge": {"challenge-123"}}
		resp, err := w.client.Get(n.url + "/webhook/instagram?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) {
			t.Fatalf("verification with token %q: %d %q", tc.token, resp.StatusCode, b)
		}
	}
	w.mustPost(good) // the same body, correctly signed, is accepted
	if got := w.waitReplies("bad1", 1, 10*time.Second); got[0] != "ready" {
		t.Fatalf("reply %q", got)
	}
}

// TestTimerFiresAfterRestart arms a 2 s flow timeout, stops the server
// before it is due, and checks that the next process fires it.
func TestTimerFiresAfterRestart(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	w.mustPost(w.text("t1", "m-t1-1", "hi"))
	w.mustPost(w.text("t1", "m-t1-2", "wait"))
	w.waitReplies("t1", 2, 10*time.Second)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if got := w.replies("t1"); len(got) != 2 {
		t.Fatalf("the first server fired the timer before it stopped (shutdown took > 2 s?): %q", got)
	}
	w.start()
	got := w.waitReplies("t1", 4, 15*time.Second)
	if !equal(got[:4], []string{"ready", "waiting", "timeout fired", "ready"}) {
		t.Fatalf("replies %q", got)
	}
}

// TestHumanEchoPausesBot: a person answering from the Instagram inbox (an
// echo not sent by dmflow) hands the conversation off; the bot stays silent
// until the admin API releases it.
func TestHumanEchoPausesBot(t *testing.T) {
	w := newWorld(t, worldOpts{echoes: true})
	w.start()
	w.mustPost(w.text("h1", "m-h1-1", "hi"))
	w.waitReplies("h1", 1, 10*time.Second)
	w.mustPost(w.wh.Echo(account, "h1", "m-agent-1", "Hi, Sam from support here", ""))
	w.mustPost(w.text("h1", "m-h1-2", "are you a bot?"))
	w.waitIdle(10 * time.Second)
	if got := w.replies("h1"); len(got) != 1 {
		t.Fatalf("the bot answered during a handoff: %q", got)
	}
	status, body := w.admin(http.MethodGet, "/admin/handoffs", "")
	if status != 200 || !strings.Contains(body, `"h1"`) {
		t.Fatalf("handoffs: %d %s", status, body)
	}
	if status, body := w.admin(http.MethodPost, "/admin/sessions/"+account+"/h1/release", ""); status != http.StatusAccepted {
		t.Fatalf("release: %d %s", status, body)
	}
	w.waitIdle(10 * time.Second)
	w.mustPost(w.text("h1", "m-h1-3", "3"))
	// Released, the conversation re-enters the flow ("ready"), then answers.
	if got := w.waitReplies("h1", 3, 10*time.Second); !equal(got, []string{"ready", "ready", "v1 got: 3"}) {
		t.Fatalf("after release: %q", got)
	}
}

// TestReloadOnSIGHUP: a broken flow is rejected and the old one keeps
// answering; a good one replaces it.
func TestReloadOnSIGHUP(t *testing.T) {
	w := newWorld(t, worldOpts{})
	n := w.start()
	w.mustPost(w.text("r1", "m-r1-1", "1"))
	w.waitReplies("r1", 1, 10*time.Second)

	w.setFlow("broken.yaml")
	n.cmd.Process.Signal(syscall.SIGHUP)
	n.waitLog(t, "reload rejected", 10*time.Second)
	if !strings.Contains(n.stderr.String(), `unknown state \"nowhere\"`) {
		t.Fatalf("the rejection must say why; stderr:\n%s", n.stderr)
	}
	w.mustPost(w.text("r1", "m-r1-2", "2"))
	if got := w.waitReplies("r1", 2, 10*time.Second); got[1] != "v1 got: 2" {
		t.Fatalf("after a broken reload: %q", got)
	}

	w.setFlow("v2.yaml")
	n.cmd.Process.Signal(syscall.SIGHUP)
	n.waitLog(t, "flows reloaded", 10*time.Second)
	w.mustPost(w.text("r1", "m-r1-3", "3"))
	if got := w.waitReplies("r1", 3, 10*time.Second); got[2] != "v2 got: 3" {
		t.Fatalf("after a good reload: %q", got)
	}
	if v := w.metric(`dmflow_engine_reloads_total{result="error"}`); v != 1 {
		t.Fatalf("reload errors %v, want 1", v)
	}
}
