package e2e_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/internal/testutil"
)

// TestOperatorSendHumanAgent (issue 13, item 2): through the real binary in
// sandbox mode (its advanceable clock; the Graph API double enforces the
// 24-hour window and the 7-day HUMAN_AGENT window), an operator's message
// sent with `dmflow admin send` to a handed-off conversation 25 h after the
// user's last message goes out tagged HUMAN_AGENT; the same message to a
// conversation that is not handed off is refused with 409, and 8 days
// after the user's last message even a handed-off one is refused with 422.
// Inside the 24-hour window the message goes out untagged, and it is in
// the user's history as an operator's message.
func TestOperatorSendHumanAgent(t *testing.T) {
	w := newWorld(t, worldOpts{})
	n := w.startSandbox([]string{"--db", filepath.Join(w.dir, "sandbox.db"), "--handoff-release", "0"},
		[]string{"DMFLOW_ADMIN_TOKEN=" + adminToken})
	var cfg struct {
		Account string `json:"account"`
	}
	w.sandboxJSON(n.url+"/sandbox/api/config", &cfg)
	studio := func(path, body string) {
		t.Helper()
		resp, err := w.client.Post(n.url+"/sandbox/api/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d", path, body, resp.StatusCode)
		}
	}
	// sent returns the Send API bodies the double accepted for user.
	sent := func(user string) []string {
		var out []string
		for _, m := range w.sandboxMessages(n.url, user) {
			if m["from"] == "bot" && m["graph"] != nil {
				g, _ := json.Marshal(m["graph"])
				out = append(out, string(g))
			}
		}
		return out
	}
	waitSent := func(user string, want int) []string {
		t.Helper()
		var got []string
		testutil.Eventually(t, "the double to accept the messages", func() bool {
			got = sent(user)
			return len(got) >= want
		})
		return got
	}
	send := func(user, text string) (string, int) {
		return w.cli("send", cfg.Account+"/"+user, text)
	}

	studio("send", `{"user":"ann","kind":"text","text":"hi"}`)
	studio("send", `{"user":"bob","kind":"text","text":"hi"}`)
	waitSent("ann", 1)
	waitSent("bob", 1)

	// Inside the 24-hour window: untagged, handed off or not.
	if out, code := send("bob", "Hello from a person"); code != 0 || !strings.Contains(out, `"queued": "send"`) {
		t.Fatalf("send inside the window: exit %d: %s", code, out)
	}
	if g := waitSent("bob", 2)[1]; !strings.Contains(g, "Hello from a person") || strings.Contains(g, "HUMAN_AGENT") {
		t.Fatalf("operator message inside the window: %s", g)
	}

	if out, code := w.cli("handoff", cfg.Account+"/ann"); code != 0 {
		t.Fatalf("handoff: exit %d: %s", code, out)
	}
	testutil.Eventually(t, "ann to be handed off", func() bool {
		_, body := w.admin(http.MethodGet, "/admin/sessions/"+cfg.Account+"/ann", "")
		return strings.Contains(body, `"handoff"`)
	})
	studio("clock", `{"advance":"25h"}`)

	// 25 h later: handed off goes out tagged HUMAN_AGENT; not handed off is refused.
	if out, code := w.cli("--quick", "Yes,No", "send", cfg.Account+"/ann", "Sorry for the wait. Still interested?"); code != 0 {
		t.Fatalf("send to the handed-off conversation after 25 h: exit %d: %s", code, out)
	}
	g := waitSent("ann", 2)[1]
	for _, want := range []string{`"tag":"HUMAN_AGENT"`, `"messaging_type":"MESSAGE_TAG"`, "Still interested?", `"title":"Yes"`} {
		if !strings.Contains(g, want) {
			t.Fatalf("operator message after 25 h lacks %s: %s", want, g)
		}
	}
	out, code := send("bob", "too late")
	if code != 1 || !strings.Contains(out, "409") || !strings.Contains(out, "not handed off") {
		t.Fatalf("send to a conversation not handed off after 25 h: exit %d: %s", code, out)
	}
	status, body := w.admin(http.MethodPost, "/admin/sessions/"+cfg.Account+"/bob/send", `{"text":""}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "text is required") {
		t.Fatalf("empty text: %d %s", status, body)
	}

	// 8 days after the user's last message: refused, handed off or not.
	studio("clock", `{"advance":"167h"}`)
	out, code = send("ann", "too late")
	if code != 1 || !strings.Contains(out, "422") || !strings.Contains(out, "HUMAN_AGENT replies are allowed for 7 days") {
		t.Fatalf("send after 8 days: exit %d: %s", code, out)
	}
	if got := sent("ann"); len(got) != 2 {
		t.Fatalf("refused messages reached the double: %q", got)
	}

	// The history shows the operator's messages.
	out, code = w.cli("history", cfg.Account+"/ann")
	if code != 0 || !strings.Contains(out, `"op": "send"`) || !strings.Contains(out, "Still interested?") {
		t.Fatalf("history: exit %d: %s", code, out)
	}
}

// sandboxJSON GETs url and decodes the JSON answer into v.
func (w *world) sandboxJSON(url string, v any) {
	w.t.Helper()
	resp, err := w.client.Get(url)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		w.t.Fatal(err)
	}
}
