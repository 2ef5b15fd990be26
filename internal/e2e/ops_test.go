package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
)

// TestSecretsNeverLogged runs the server at debug level with every secret
// configured, exercises good and bad webhooks, the admin API with right and
// wrong tokens, a reload and a shutdown, and checks that no secret appears
// in anything it printed.
func TestSecretsNeverLogged(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			w := newWorld(t, worldOpts{echoes: true})
			w.env = append(w.env, "DMFLOW_NOTIFY_URL=http://127.0.0.1:9/hooks", "DMFLOW_NOTIFY_SECRET=e2e-notify-secret-777",
				"META_APP_SECRET=e2e-meta-secret-555")
			n := w.start("--log-level", "debug", "--log-format", format)
			w.mustPost(w.text("s1", "m-s1-1", "hi"))
			w.post([]byte(`{"forged":true}`))
			w.waitReplies("s1", 1, 10*time.Second)
			w.admin(http.MethodGet, "/admin/sessions", "")
			req, _ := http.NewRequest(http.MethodGet, n.url+"/admin/sessions", nil)
			req.Header.Set("Authorization", "Bearer wrong-"+adminToken)
			if resp, err := w.client.Do(req); err == nil {
				resp.Body.Close()
			}
			n.cmd.Process.Signal(syscall.SIGHUP)
			n.waitLog(t, "flows reloaded", 10*time.Second)
			if code := w.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("exit %d", code)
			}
			out := n.stdout.String() + n.stderr.String()
			if !strings.Contains(out, "dmflow serving") {
				t.Fatalf("no logs captured:\n%s", out)
			}
			for _, s := range []string{appSecret, verifyToken, accessToken, adminToken, "e2e-notify-secret-777", "e2e-meta-secret-555"} {
				if strings.Contains(out, s) {
					t.Errorf("secret %q appears in the output:\n%s", s, out)
				}
			}
		})
	}
}

// TestInvalidConfigurationExits2 checks that serve refuses bad settings
// with a clear message and exit code 2, before binding anything.
func TestInvalidConfigurationExits2(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.setFlow("broken.yaml")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"log format", []string{"--log-format", "xml"}, nil, `log_format "xml"`},
		{"partial credentials", nil, []string{"INSTAGRAM_ACCESS_TOKEN=x"}, "INSTAGRAM_CLIENT_SECRET"},
		{"duration", []string{"--session-ttl", "forever"}, nil, "--session-ttl: invalid duration"},
		{"store url", []string{"--store", "mysql://x"}, nil, "postgres://"},
		{"missing flows", []string{"--flows", "/nonexistent"}, nil, "flows:"},
		{"broken flows", []string{"--flows", w.flows}, nil, `start: unknown state "nowhere"`},
		{"stray argument", []string{"extra"}, nil, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db}, tc.args...)...)
			cmd.Dir, cmd.Env = w.dir, tc.env
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("err %v, output:\n%s\nwant exit 2 and %q", err, out, tc.want)
			}
		})
	}
}

// TestSandboxMode starts serve with no credentials and no flows: the
// embedded lead-capture example answers through the in-process Graph API double,
// and the chat page and its API work.
func TestSandboxMode(t *testing.T) {
	w := newWorld(t, worldOpts{})
	if err := os.RemoveAll(w.flows); err != nil { // no ./flows: the embedded flow runs
		t.Fatal(err)
	}
	n := w.spawn([]string{"serve", "--addr", "127.0.0.1:0", "--db", w.db}, nil)
	w.mu.Lock()
	w.node = n
	w.mu.Unlock()
	n.waitReady(t, w.client)
	// The URL is printed after the listening line; the server may be ready
	// before the line reached the reader of its stdout.
	if !testutil.Poll(testutil.Scale(testutil.Wait), func() bool { return strings.Contains(n.stdout.String(), "/sandbox/") }) {
		t.Fatalf("the sandbox URL is not printed:\n%s", n.stdout)
	}
	resp, err := w.client.Get(n.url + "/sandbox/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "dmflow sandbox") {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	say := func(body string) {
		resp, err := w.client.Post(n.url+"/sandbox/api/send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("send %s: %d", body, resp.StatusCode)
		}
	}
	say(`{"user":"web1","kind":"text","text":"hello"}`)
	waitBot := func(n0 int) []map[string]any {
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs := w.sandboxMessages(n.url, "web1")
			var bot []map[string]any
			for _, m := range msgs {
				if m["from"] == "bot" {
					bot = append(bot, m)
				}
			}
			if len(bot) >= n0 {
				return bot
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d bot messages, want %d: %v", len(bot), n0, msgs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitBot(1)
	say(`{"user":"web1","kind":"text","text":"Ann"}`) // the echo of the first reply did not hand off
	bot := waitBot(2)
	if g, _ := json.Marshal(bot[1]["graph"]); !strings.Contains(string(g), "Nice to meet you, Ann") || !strings.Contains(string(g), "user_email") {
		t.Fatalf("second reply of the embedded lead-capture flow: %s", g)
	}
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func (w *world) sandboxMessages(base, user string) []map[string]any {
	w.t.Helper()
	resp, err := w.client.Get(base + "/sandbox/api/messages?user=" + user)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		w.t.Fatal(err)
	}
	return msgs
}
