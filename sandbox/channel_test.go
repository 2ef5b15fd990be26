package sandbox_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/sandbox"
	"github.com/dmflow/dmflow/sandbox/internal/harness"
	"github.com/dmflow/dmflow/server"
)

const channelFlow = `flow: desk
channels: [instagram, messenger]
start: hello
vars:
  name: string
states:
  hello:
    say: [{text: "Hi on {{ event.channel }}! Your name?"}]
    ask: {var: name}
    next: menu
  menu:
    say:
      - text: "Thanks {{ name }}. Pick one:"
        quick_replies: [{title: Hours, payload: HOURS}]
    on:
      - when: 'event.payload == "HOURS"'
        say: [{text: "9-17 on {{ event.channel }}"}]
        goto: menu
      - goto: menu
`

// TestStudioSimulatesMessenger: the channel switch sends the studio user's
// input through the Messenger webhook as the Page's events
// (event.channel messenger), the bot's replies come back through the
// Messenger Send API double, and the same user id on both channels is two
// conversations, each kept when switching back.
func TestStudioSimulatesMessenger(t *testing.T) {
	env := harness.Start(t, harness.LoadFS(fstest.MapFS{"desk/bot.yaml": {Data: []byte(channelFlow)}}, "desk"))
	sb := env.Sandbox
	var cfg struct {
		Account  string   `json:"account"`
		Channel  string   `json:"channel"`
		Channels []string `json:"channels"`
	}
	if code := call(t, env, "GET", "api/config", "", &cfg); code != 200 || cfg.Channel != "instagram" ||
		!slices.Equal(cfg.Channels, []string{"instagram", "messenger"}) {
		t.Fatalf("config: %d %+v", code, cfg)
	}
	call(t, env, "POST", "api/send", `{"user":"u1","kind":"text","text":"hi"}`, nil)
	ig := waitFor(t, sb, "u1", 0, func(m sandbox.Message) bool { return m.From == sandbox.FromBot })
	if !strings.Contains(string(ig.Graph), "Hi on instagram!") || ig.Account != harness.Account {
		t.Fatalf("instagram reply: account %s %s", ig.Account, ig.Graph)
	}

	if code := call(t, env, "POST", "api/channel", `{"channel":"telegram"}`, nil); code != 400 {
		t.Fatalf("unknown channel: %d, want 400", code)
	}
	if code := call(t, env, "POST", "api/channel", `{"channel":"messenger"}`, &cfg); code != 200 || cfg.Channel != "messenger" || cfg.Account != server.SandboxPage {
		t.Fatalf("switch: %d %+v", code, cfg)
	}
	if msgs := sb.Messages("u1", 0); len(msgs) != 0 {
		t.Fatalf("u1 on Messenger is another conversation, got %d messages", len(msgs))
	}
	var sent struct {
		Status int `json:"status"`
	}
	if code := call(t, env, "POST", "api/send", `{"user":"u1","kind":"text","text":"hi"}`, &sent); code != 200 || sent.Status != 200 {
		t.Fatalf("send on messenger: %d, webhook %d", code, sent.Status)
	}
	step := waitFor(t, sb, "u1", 0, func(m sandbox.Message) bool { return m.From == sandbox.FromEngine })
	if step.Account != server.SandboxPage || step.Step.Event.Channel != "messenger" || step.Step.State != "hello" {
		t.Fatalf("messenger step: account %s %+v", step.Account, step.Step)
	}
	m := waitFor(t, sb, "u1", 0, func(m sandbox.Message) bool { return m.From == sandbox.FromBot })
	if !strings.Contains(string(m.Graph), "Hi on messenger!") || m.Account != server.SandboxPage {
		t.Fatalf("messenger reply: account %s %s", m.Account, m.Graph)
	}
	call(t, env, "POST", "api/send", `{"user":"u1","kind":"text","text":"Ann"}`, nil)
	m = waitFor(t, sb, "u1", m.Seq, func(m sandbox.Message) bool { return m.From == sandbox.FromBot })
	var chips struct {
		Message struct {
			QuickReplies []struct{ Title, Payload string } `json:"quick_replies"`
		} `json:"message"`
	}
	if err := json.Unmarshal(m.Graph, &chips); err != nil || len(chips.Message.QuickReplies) != 1 {
		t.Fatalf("menu on messenger: %s", m.Graph)
	}
	call(t, env, "POST", "api/send", `{"user":"u1","kind":"quick_reply","text":"Hours","payload":"HOURS"}`, nil)
	m = waitFor(t, sb, "u1", m.Seq, func(m sandbox.Message) bool { return m.From == sandbox.FromBot })
	if !strings.Contains(string(m.Graph), "9-17 on messenger") {
		t.Fatalf("quick reply on messenger: %s", m.Graph)
	}
	if code := call(t, env, "POST", "api/send", `{"user":"u1","kind":"referral","ref":"spring"}`, &sent); code != 200 || sent.Status != 200 {
		t.Errorf("an m.me link on Messenger: %d, webhook %d", code, sent.Status)
	}
	if code := call(t, env, "POST", "api/send", `{"user":"u1","kind":"story_mention","url":"https://x/y.jpg"}`, nil); code != 400 {
		t.Errorf("a story mention on Messenger: %d, want 400", code)
	}
	var sess struct {
		Session struct {
			State string         `json:"state"`
			Vars  map[string]any `json:"vars"`
		} `json:"session"`
	}
	if call(t, env, "GET", "api/session?user=u1", "", &sess); sess.Session.Vars["name"] != "Ann" {
		t.Errorf("messenger session: %+v", sess.Session)
	}

	call(t, env, "POST", "api/channel", `{"channel":"instagram"}`, &cfg)
	if cfg.Account != harness.Account {
		t.Fatalf("back on instagram: account %s", cfg.Account)
	}
	sess.Session.Vars = nil // json fills a map it is given
	if call(t, env, "GET", "api/session?user=u1", "", &sess); sess.Session.State != "hello" || sess.Session.Vars["name"] != nil {
		t.Errorf("instagram session of u1 (still asking the name): %+v", sess.Session)
	}
	for _, m := range sb.Messages("u1", 0) {
		if m.Account != harness.Account {
			t.Fatalf("back on instagram, a message of %s", m.Account)
		}
	}
}
