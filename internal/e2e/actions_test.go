package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

// Action secrets the server gets as DMFLOW_SECRET_API_KEY (sent in the URL)
// and DMFLOW_SECRET_API_TOKEN (sent in a header); neither may be logged or
// stored.
const (
	apiKey   = "e2e-url-key-4d3c2b1a"
	apiToken = "e2e-bearer-5e6f7a8b"
)

// apiRequest is one request the test API received.
type apiRequest struct {
	path, key, auth, idempotencyKey, accept string
	gaveUp                                  bool // the client cancelled it (timeout)
}

// testAPI stands in for the business's API on 127.0.0.1. The path picks
// the behaviour: /ok answers {"status":"shipped"}, /fail500 a 500, /hang
// nothing until the client gives up, /big 200 with more than 1 MiB of
// JSON, /badjson 200 with broken JSON, and /block-* waits until the test
// releases that path (or the client goes away) and then answers
// {"status":"released"}.
type testAPI struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []apiRequest
	gates map[string]chan struct{}
	away  string // /redirect-away answers 307 to away + "/stolen"
}

func newTestAPI(t *testing.T) *testAPI {
	a := &testAPI{gates: map[string]chan struct{}{}}
	a.Server = httptest.NewServer(a) // httptest binds 127.0.0.1
	t.Cleanup(a.Close)
	t.Cleanup(a.releaseAll) // before Close: blocked handlers must return
	return a
}

func (a *testAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := apiRequest{path: r.URL.Path, key: r.URL.Query().Get("key"), auth: r.Header.Get("Authorization"),
		idempotencyKey: r.Header.Get("Idempotency-Key"), accept: r.Header.Get("Accept")}
	i := a.record(req)
	w.Header().Set("Content-Type", "application/json")
	switch path := r.URL.Path; {
	case path == "/ok":
		w.Write([]byte(`{"status":"shipped"}`))
	case path == "/fail500":
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"error":"database down"}`))
	case path == "/hang":
		select {
		case <-r.Context().Done():
			a.mu.Lock()
			a.reqs[i].gaveUp = true
			a.mu.Unlock()
		case <-time.After(20 * time.Second): // far longer than the action's 1 s
		}
	case path == "/big":
		w.Write([]byte(`{"status":"shipped","pad":"` + strings.Repeat("x", 1<<20) + `"}`))
	case path == "/redirect-away":
		http.Redirect(w, r, a.away+"/stolen", http.StatusTemporaryRedirect)
	case path == "/badjson":
		w.Write([]byte(`{"status": "shipped"`))
	case strings.HasPrefix(path, "/block-"):
		select {
		case <-a.gate(path):
			w.Write([]byte(`{"status":"released"}`))
		case <-r.Context().Done():
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (a *testAPI) record(req apiRequest) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, req)
	return len(a.reqs) - 1
}

func (a *testAPI) gate(path string) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.gates[path]
	if g == nil {
		g = make(chan struct{})
		a.gates[path] = g
	}
	return g
}

// release lets the requests to path (present and future) answer.
func (a *testAPI) release(path string) { close(a.gate(path)) }

func (a *testAPI) releaseAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, g := range a.gates {
		select {
		case <-g:
		default:
			close(g)
		}
		delete(a.gates, p)
	}
}

// requests returns the requests received for path.
func (a *testAPI) requests(path string) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiRequest
	for _, r := range a.reqs {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// waitRequests waits until path received n requests and returns them.
func (a *testAPI) waitRequests(t *testing.T, path string, n int) []apiRequest {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d requests to %s", n, path), func() bool { return len(a.requests(path)) >= n })
	return a.requests(path)
}

// waitFor polls cond until it holds or the scaled timeout passes (then it
// fails t).
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.EventuallyWithin(t, timeout, what, cond)
}

// actionWorld is a world running testdata/actions.yaml against a test API,
// with the action secrets in the server's environment.
func actionWorld(t *testing.T) (*world, *testAPI) {
	w := newWorld(t, worldOpts{flow: "actions.yaml"})
	api := newTestAPI(t)
	w.env = append(w.env, "DMFLOW_SECRET_API="+api.URL, "DMFLOW_SECRET_API_KEY="+apiKey, "DMFLOW_SECRET_API_TOKEN="+apiToken)
	return w, api
}

// say posts user's n-th message (mid m-USER-n) and waits for the 200.
func (w *world) say(user string, n int, text string) {
	w.t.Helper()
	w.mustPost(w.text(user, fmt.Sprintf("m-%s-%d", user, n), text))
}

// exactReplies waits until user got len(want) replies and checks that they
// are want, then that nothing else arrives once the server is idle.
func (w *world) exactReplies(t *testing.T, user string, want ...string) {
	t.Helper()
	waitFor(t, 25*time.Second, fmt.Sprintf("%d replies to %s (have %q)", len(want), user, w.replies(user)),
		func() bool { return len(w.replies(user)) >= len(want) })
	w.waitIdle(10 * time.Second)
	if got := w.replies(user); !slices.Equal(got, want) {
		t.Fatalf("user %s replies:\n got %q\nwant %q", user, got, want)
	}
}

// as makes the world's helpers report to t (a subtest) until the returned
// func restores the parent; subtests that use it must not run in parallel.
func (w *world) as(t *testing.T) (restore func()) {
	parent := w.t
	w.t = t
	return func() { w.t = parent }
}

// pendingSession is the part of a stored session the admin API shows
// that the pending-call tests look at.
type pendingSession struct {
	State   string `json:"state"`
	Pending *struct {
		ID string `json:"id"`
	} `json:"pending"`
	Deferred []struct {
		Text string `json:"text"`
	} `json:"deferred"`
}

func (w *world) session(t *testing.T, user string) pendingSession {
	t.Helper()
	status, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/"+user, "")
	var s pendingSession
	if err := json.Unmarshal([]byte(body), &s); status != http.StatusOK || err != nil {
		t.Fatalf("GET session %s: %d %v\n%s", user, status, err, body)
	}
	return s
}

// TestActionOutcomes runs an HTTP action through the server for each
// outcome, one user per case, all at once: ok (the response saved and
// used in the reply), 5xx after the retries, a timeout after the retries,
// a body over 1 MiB and broken JSON (both invalid). Every attempt of a
// call carries the same Idempotency-Key, and the secrets reach the API in
// the URL and a header but never the logs or the data file.
func TestActionOutcomes(t *testing.T) {
	cases := []struct {
		user, cmd, path, reply string
		attempts               int
	}{
		{"a-ok", "call", "/ok", "ok: shipped", 1},
		{"a-500", "call", "/fail500", "failed error 500: status 500", 3},
		{"a-hang", "hurry", "/hang", "slow timeout: timed out", 3}, // 1 s per attempt
		{"a-big", "call", "/big", "failed invalid 200: response larger than 1048576 bytes", 1},
		{"a-bad", "call", "/badjson", "failed invalid 200: response is not JSON", 1},
	}
	w, api := actionWorld(t)
	n := w.start("--log-level", "debug")
	for _, tc := range cases {
		w.say(tc.user, 1, "hi")
		w.say(tc.user, 2, tc.cmd+" "+strings.TrimPrefix(tc.path, "/"))
	}
	// While a call is pending, its durable record (with the secret
	// references) is in the file that checkSecretsKept searches.
	w.say("a-pending", 1, "hi")
	w.say("a-pending", 2, "call block-outcomes")
	api.waitRequests(t, "/block-outcomes", 1)
	checkSecretsKept(t, w, n, true)
	api.release("/block-outcomes")
	keys := map[string]string{}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			defer w.as(t)()
			w.exactReplies(t, tc.user, "hello", "calling "+strings.TrimPrefix(tc.path, "/"), tc.reply)
			reqs := api.requests(tc.path)
			if len(reqs) != tc.attempts {
				t.Fatalf("%d requests to %s, want %d: %+v", len(reqs), tc.path, tc.attempts, reqs)
			}
			for _, r := range reqs {
				if r.key != apiKey || r.auth != "Bearer "+apiToken || r.accept != "application/json" {
					t.Errorf("request %+v: secrets or Accept not as configured", r)
				}
				if r.idempotencyKey == "" || r.idempotencyKey != reqs[0].idempotencyKey {
					t.Errorf("Idempotency-Key %q, want the same non-empty key on every attempt (first %q)", r.idempotencyKey, reqs[0].idempotencyKey)
				}
				if tc.path == "/hang" && !r.gaveUp {
					t.Errorf("the server did not give up on a hanging attempt: %+v", r)
				}
			}
			if other, dup := keys[reqs[0].idempotencyKey]; dup {
				t.Errorf("calls %s and %s share Idempotency-Key %q", other, tc.path, reqs[0].idempotencyKey)
			}
			keys[reqs[0].idempotencyKey] = tc.path
		})
	}
	w.exactReplies(t, "a-pending", "hello", "calling block-outcomes", "ok: released")
	for outcome, want := range map[string]float64{"ok": 2, "error": 1, "timeout": 1, "invalid": 2} {
		if got := w.metric(`dmflow_actions_total{outcome="` + outcome + `"}`); got != want {
			t.Errorf("dmflow_actions_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	checkSecretsKept(t, w, n, false)
}

// checkSecretsKept checks that the action secrets appear neither in what
// the server printed nor anywhere in the bbolt file. With pending (a call
// is in flight) the file must hold the call's secret references, so the
// search looks in the right place.
func checkSecretsKept(t *testing.T, w *world, n *node, pending bool) {
	t.Helper()
	db, err := os.ReadFile(w.db)
	if err != nil {
		t.Fatal(err)
	}
	logs := n.stdout.String() + n.stderr.String()
	if !pending && !strings.Contains(logs, `"action done"`) {
		t.Fatalf("no action logs captured:\n%s", logs)
	}
	for _, ref := range []string{`{"secret":"API_KEY"}`, `{"secret":"API_TOKEN"}`} {
		if pending && !strings.Contains(string(db), ref) {
			t.Errorf("the data file does not hold the pending call's secret reference %s", ref)
		}
	}
	for _, s := range []string{apiKey, apiToken} {
		if strings.Contains(logs, s) {
			t.Errorf("secret %q appears in the server's output", s)
		}
		if strings.Contains(string(db), s) {
			t.Errorf("secret %q appears in the data file %s", s, w.db)
		}
	}
}

// TestMessagesWhileActionPending blocks the API, sends three messages
// while the call is pending and releases it: with while_pending: queue
// they are answered after the action's reply, in order; with ignore they
// are dropped. A message after the call is answered normally either way.
func TestMessagesWhileActionPending(t *testing.T) {
	w, api := actionWorld(t)
	w.start()
	for _, tc := range []struct {
		mode, user, cmd string
		deferred        int
		after           []string
	}{
		{"queue", "p-queue", "call", 3, []string{"echo: q1", "echo: q2", "echo: q3"}},
		{"ignore", "p-ignore", "drop", 0, nil},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			defer w.as(t)()
			path := "/block-" + tc.mode
			w.say(tc.user, 1, "hi")
			w.say(tc.user, 2, tc.cmd+" "+path[1:])
			first := api.waitRequests(t, path, 1)[0]
			for i := 1; i <= 3; i++ {
				w.say(tc.user, 2+i, fmt.Sprintf("q%d", i))
			}
			w.waitIdle(10 * time.Second) // the three are processed: deferred or dropped
			s := w.session(t, tc.user)
			if s.Pending == nil || s.Pending.ID != first.idempotencyKey || len(s.Deferred) != tc.deferred {
				t.Fatalf("session while pending: %+v, want the call %q pending and %d deferred", s, first.idempotencyKey, tc.deferred)
			}
			if got, want := w.replies(tc.user), []string{"hello", "calling " + path[1:]}; !slices.Equal(got, want) {
				t.Fatalf("replies while pending %q, want %q", got, want)
			}
			api.release(path)
			want := append([]string{"hello", "calling " + path[1:], "ok: released"}, tc.after...)
			w.exactReplies(t, tc.user, want...)
			w.say(tc.user, 6, "after")
			w.exactReplies(t, tc.user, append(want, "echo: after")...)
			if s := w.session(t, tc.user); s.Pending != nil || len(s.Deferred) != 0 || s.State != "listen" {
				t.Fatalf("session after the call: %+v", s)
			}
			if n := len(api.requests(path)); n != 1 {
				t.Fatalf("%d requests to %s, want 1", n, path)
			}
		})
	}
}

// TestActionCrashBetweenCallAndResult kills the server (SIGKILL) while an
// action call is in flight, with a user message queued behind it, and
// restarts it on the same file: the call is made again with the same
// Idempotency-Key, its result is processed once (one reply), and the queued
// message is answered after it.
func TestActionCrashBetweenCallAndResult(t *testing.T) {
	w, api := actionWorld(t)
	w.start()
	const user, path = "k1", "/block-crash"
	w.say(user, 1, "hi")
	w.say(user, 2, "call block-crash")
	first := api.waitRequests(t, path, 1)[0]
	w.say(user, 3, "before the crash")
	w.waitIdle(10 * time.Second)
	if s := w.session(t, user); s.Pending == nil || len(s.Deferred) != 1 {
		t.Fatalf("session before the crash: %+v, want a pending call and 1 deferred message", s)
	}
	w.exactReplies(t, user, "hello", "calling block-crash")
	w.stop(syscall.SIGKILL)
	api.release(path) // the re-run answers
	w.start()
	reqs := api.waitRequests(t, path, 2)
	if reqs[1].idempotencyKey != first.idempotencyKey || first.idempotencyKey == "" {
		t.Fatalf("Idempotency-Key after the restart %q, before %q: want the same", reqs[1].idempotencyKey, first.idempotencyKey)
	}
	w.exactReplies(t, user, "hello", "calling block-crash", "ok: released", "echo: before the crash")
	w.say(user, 4, "after")
	w.exactReplies(t, user, "hello", "calling block-crash", "ok: released", "echo: before the crash", "echo: after")
	if n := len(api.requests(path)); n != 2 {
		t.Fatalf("%d requests to %s, want 2 (one per process)", n, path)
	}
	if got := w.metric(`dmflow_actions_total{outcome="ok"}`); got != 1 {
		t.Fatalf("the restarted server completed %v calls, want 1", got)
	}
}

// TestActionInputIsData: what the user types goes into the action's path
// as one percent-encoded segment: "${API_TOKEN}" (or a "$" and "{…}" that
// meet) is sent as text and never resolved, "../ok?x=1#f" stays one
// segment; a redirect to another host:port is not followed (outcome error
// with the 307) and the other server never sees the secrets.
func TestActionInputIsData(t *testing.T) {
	w, api := actionWorld(t)
	other := newTestAPI(t)
	api.away = other.URL
	w.start()
	cases := []struct{ user, typed, path, reply string }{
		{"d-ref", "${API_TOKEN}", "/${API_TOKEN}", "failed error 404: status 404"},
		{"d-dollar", "$", "/$", "failed error 404: status 404"},
		{"d-climb", "../ok?x=1#f", "/../ok?x=1#f", "failed error 404: status 404"},
		{"d-away", "redirect-away", "/redirect-away", "failed error 307: status 307"},
	}
	for _, tc := range cases {
		w.say(tc.user, 1, "hi")
		w.say(tc.user, 2, "call "+tc.typed)
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			defer w.as(t)()
			w.exactReplies(t, tc.user, "hello", "calling "+tc.typed, tc.reply)
			reqs := api.requests(tc.path)
			if len(reqs) != 1 || reqs[0].key != apiKey || reqs[0].auth != "Bearer "+apiToken {
				t.Fatalf("requests to %q: %+v", tc.path, reqs)
			}
		})
	}
	if n := len(api.requests("/ok")); n != 0 {
		t.Errorf("the input climbed to /ok (%d requests)", n)
	}
	other.mu.Lock()
	defer other.mu.Unlock()
	if len(other.reqs) != 0 {
		t.Fatalf("the other host got %+v", other.reqs)
	}
}
