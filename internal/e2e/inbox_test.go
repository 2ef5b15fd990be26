package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// TestInboxHandoff runs examples/human-inbox through `dmflow serve`
// against the Graph double: asking for a person passes the thread to the
// Instagram inbox (pass_thread_control after the goodbye message); while
// the inbox owns it, messages arrive on standby and the bot says nothing;
// when the inbox passes the thread back (webhook), the bot picks up; an
// agent taking the thread silences the bot again, and an admin release
// takes the thread back (take_thread_control) before the bot speaks
// (from the flow's start: the take did not happen in a handoff state).
func TestInboxHandoff(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/human-inbox/human-inbox.yaml"})
	w.start()
	g := w.graph
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(20*time.Second))
	defer cancel()

	w.mustPost(w.text("u1", "m1", "agent"))
	acts, err := g.WaitThreadActions(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[0]; a.Op != "pass" || a.User != "u1" || a.Target != igtest.InstagramInboxApp || a.Metadata != "someone asked for a person" {
		t.Fatalf("pass: %+v", a)
	}
	if got := w.replies("u1"); len(got) != 1 || !strings.Contains(got[0], "Putting you through") {
		t.Fatalf("before the pass: %q", got)
	}
	if owner := g.ThreadOwner(account, "u1"); owner != igtest.InstagramInboxApp {
		t.Fatalf("thread owner %q", owner)
	}

	// The inbox owns the thread: the user's message comes on standby.
	w.mustPost(w.wh.Standby(account, "u1", "m2", "hello? anyone?"))
	w.waitIdle(20 * time.Second)
	if n := len(w.replies("u1")); n != 1 {
		t.Fatalf("the bot answered a standby message: %q", w.replies("u1"))
	}

	// The agent is done and passes the thread back: the bot picks up.
	g.SetThreadOwner(account, "u1", "")
	w.mustPost(w.wh.Handover(account, "u1", "pass", igtest.InstagramInboxApp, igtest.DefaultAppID))
	got := w.waitReplies("u1", 2, 20*time.Second)
	if got[1] != "I'm back! Anything else I can help with?" {
		t.Fatalf("after the pass back: %q", got)
	}

	// An agent takes the thread in the inbox: silent again.
	g.SetThreadOwner(account, "u1", igtest.InstagramInboxApp)
	w.mustPost(w.wh.Handover(account, "u1", "take", igtest.DefaultAppID, igtest.InstagramInboxApp))
	w.mustPost(w.wh.Standby(account, "u1", "m3", "thanks Sam"))
	w.waitIdle(20 * time.Second)
	if n := len(w.replies("u1")); n != 2 {
		t.Fatalf("the bot answered while the inbox owns the thread: %q", w.replies("u1"))
	}

	// An admin gives the conversation back to the bot: it takes the thread
	// back first, then speaks.
	if code, body := w.admin(http.MethodPost, "/admin/sessions/"+account+"/u1/release", ""); code != http.StatusAccepted {
		t.Fatalf("release: %d %s", code, body)
	}
	acts, err = g.WaitThreadActions(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a := acts[1]; a.Op != "take" || a.User != "u1" {
		t.Fatalf("take: %+v", a)
	}
	got = w.waitReplies("u1", 3, 20*time.Second)
	if !strings.Contains(got[2], "opening hours") { // not a handoff state: back to the start
		t.Fatalf("after the release: %q", got)
	}
	if owner := g.ThreadOwner(account, "u1"); owner != "" {
		t.Fatalf("thread owner after take: %q", owner)
	}
}

// TestStudioInboxTakeover: in sandbox mode the studio simulates the
// Instagram inbox: after "agent" the bot passes the thread (the double
// then refuses the bot's messages), "inbox_pass" gives it back and the bot
// speaks again; "inbox_take" silences it.
func TestStudioInboxTakeover(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/human-inbox/human-inbox.yaml"})
	n := w.startSandbox([]string{"--db", filepath.Join(w.dir, "sandbox.db")}, nil)
	studio := func(body string) {
		t.Helper()
		resp, err := w.client.Post(n.url+"/sandbox/api/send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("send %s: %d", body, resp.StatusCode)
		}
	}
	botTexts := func() []string {
		var out []string
		for _, m := range w.sandboxMessages(n.url, "ann") {
			if m["from"] == "bot" && m["graph"] != nil {
				g, _ := json.Marshal(m["graph"])
				out = append(out, string(g))
			}
		}
		return out
	}
	waitBot := func(want int) []string {
		t.Helper()
		var got []string
		testutil.Eventually(t, "the bot's messages", func() bool { got = botTexts(); return len(got) >= want })
		return got
	}
	studio(`{"user":"ann","kind":"text","text":"agent"}`)
	if got := waitBot(1); !strings.Contains(got[0], "Putting you through") {
		t.Fatalf("handoff: %q", got)
	}
	// The inbox can pass the thread back only once the bot's pass reached
	// the double (the studio answers 409 before, as Meta sends a pass only
	// from the app that owns the thread).
	testutil.Eventually(t, "the inbox to own ann's thread and pass it back", func() bool {
		resp, err := w.client.Post(n.url+"/sandbox/api/send", "application/json", strings.NewReader(`{"user":"ann","kind":"inbox_pass"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusConflict {
			t.Fatalf("inbox pass: %d", resp.StatusCode)
		}
		return resp.StatusCode == http.StatusOK
	})
	if got := waitBot(2); !strings.Contains(got[1], "I'm back") {
		t.Fatalf("after the pass back: %q", got)
	}
	studio(`{"user":"ann","kind":"inbox_take"}`)
	studio(`{"user":"ann","kind":"text","text":"hello?"}`)
	w.waitIdle(20 * time.Second)
	if got := botTexts(); len(got) != 2 {
		t.Fatalf("the bot spoke while the inbox owns the thread: %q", got)
	}
}

// TestInboxHandoffWithoutRouting runs examples/human-inbox through `dmflow
// serve` against a Graph double that serves no thread-control edge (as
// graph.instagram.com may not: Meta documents conversation routing for
// Page tokens only). The handoff still happens on the bot's side: the bot
// says its goodbye and then stays silent, an operator can answer with
// `dmflow admin send`; the refused pass is visible (a dead letter with
// Meta's error, an error log line, dmflow_deliveries_total{result="dead"}),
// never silent and never retried forever. A release ends the handoff even
// though the take is refused too, and the bot speaks again.
func TestInboxHandoffWithoutRouting(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "../../../examples/human-inbox/human-inbox.yaml", noThreadControl: true})
	n := w.start()

	w.mustPost(w.text("u1", "m1", "agent"))
	if got := w.waitReplies("u1", 1, 20*time.Second); !strings.Contains(got[0], "Putting you through") {
		t.Fatalf("before the pass: %q", got)
	}
	testutil.EventuallyWithin(t, 20*time.Second, "the refused pass to be dead-lettered", func() bool {
		_, body := w.admin(http.MethodGet, "/admin/deadletters", "")
		return strings.Contains(body, "thread_control")
	})
	_, body := w.admin(http.MethodGet, "/admin/deadletters", "")
	if !strings.Contains(body, "pass_thread_control: HTTP 400 code 100/33") || strings.Count(body, `"thread_control"`) != 1 {
		t.Fatalf("dead letters: %s", body)
	}
	n.waitLog(t, "delivery failed permanently, dead-lettered", 20*time.Second)
	testutil.EventuallyWithin(t, 20*time.Second, `dmflow_deliveries_total{queue="dm",result="dead"} to be 1`, func() bool {
		return w.metric(`dmflow_deliveries_total{queue="dm",result="dead"}`) == 1
	})
	if acts := w.graph.ThreadActions(); len(acts) != 0 {
		t.Fatalf("the double accepted thread control: %+v", acts)
	}

	// The handoff is on anyway: the user's messages (not on standby, as
	// the thread never moved) get no answer from the bot.
	if code, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/u1", ""); code != http.StatusOK || !strings.Contains(body, `"handoff"`) {
		t.Fatalf("session after the refused pass: %d %s", code, body)
	}
	w.mustPost(w.text("u1", "m2", "hello? anyone?"))
	w.waitIdle(20 * time.Second)
	if got := w.replies("u1"); len(got) != 1 {
		t.Fatalf("the bot answered during the handoff: %q", got)
	}

	// A person answers through the admin API.
	if out, code := w.cli("send", account+"/u1", "Hi, Sam here. How can I help?"); code != 0 {
		t.Fatalf("admin send: exit %d: %s", code, out)
	}
	if got := w.waitReplies("u1", 2, 20*time.Second); got[1] != "Hi, Sam here. How can I help?" {
		t.Fatalf("operator message: %q", got)
	}

	// A release ends the handoff; the take is refused (a second dead
	// letter) and the bot speaks again, at the handoff's next.
	if code, body := w.admin(http.MethodPost, "/admin/sessions/"+account+"/u1/release", ""); code != http.StatusAccepted {
		t.Fatalf("release: %d %s", code, body)
	}
	if got := w.waitReplies("u1", 3, 20*time.Second); got[2] != "I'm back! Anything else I can help with?" {
		t.Fatalf("after the release: %q", got)
	}
	testutil.EventuallyWithin(t, 20*time.Second, "the refused take to be dead-lettered", func() bool {
		_, body := w.admin(http.MethodGet, "/admin/deadletters", "")
		return strings.Contains(body, "take_thread_control: HTTP 400 code 100/33")
	})
}
