package history_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/history"
	"github.com/dmflow/dmflow/internal/schemacheck"
)

// TestRecordTranscript records a conversation through the real pipeline
// (mem store, real engine, action runner, timers on a fake clock) and
// writes it as a transcript: testdata/recorded/shop.test.yaml, a golden
// file that cmd/dmflow's TestRecordedTranscriptPasses runs with
// `dmflow test` against testdata/recorded/shop.yaml.
func TestRecordTranscript(t *testing.T) {
	src, err := os.ReadFile("testdata/recorded/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := startLive(t, string(src))
	l.send(t0, text("hi"), 1)
	l.send(t0.Add(4*time.Second), text("Ann"), 1)
	l.send(t0.Add(9*time.Second), dmflow.Event{Kind: dmflow.KindMessage, Text: "Pricing", Payload: "PRICING"}, 1)
	// The menu's 2 h timeout fires: nudge, then the menu again.
	before := l.snd.count()
	l.clk.set(t0.Add(9*time.Second + 2*time.Hour + 300*time.Millisecond))
	l.idle(before + 2)
	// The order lookup calls a Go action; its result arrives as an event.
	l.send(t0.Add(2*time.Hour+time.Minute), dmflow.Event{Kind: dmflow.KindMessage, Text: "Order status", Payload: "ORDER_STATUS"}, 3)
	l.send(t0.Add(2*time.Hour+2*time.Minute), dmflow.Event{Kind: dmflow.KindPostback, Payload: "MENU", Title: "Menu"}, 1)

	items := l.history()
	kinds := map[dmflow.EventKind]int{}
	for _, it := range items {
		kinds[it.Event.Kind]++
	}
	if kinds[dmflow.KindTimer] != 1 || kinds[dmflow.KindActionResult] != 1 {
		t.Fatalf("history kinds %v: want a timer and an action result", kinds)
	}
	out, err := history.Transcript(items, history.TranscriptOptions{Name: "recorded shop conversation",
		Profile: &dmflow.Profile{Username: "ann.designs", Name: "Ann"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "recorded/shop.test.yaml", out)
	sch, err := schemacheck.Compile("transcript")
	if err != nil {
		t.Fatal(err)
	}
	if err := schemacheck.Validate(sch, out); err != nil {
		t.Errorf("the recorded transcript does not match the transcript schema: %v", err)
	}
	for _, want := range []string{"advance: 1h59m55s", "order_status:", "outcome: ok", "no_reply: true", "user_id: user-1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
}

// TestTranscriptInputs: each kind of recorded event becomes the step a
// person would write; the clock follows the recorded times.
func TestTranscriptInputs(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	reply := func(text string) []dmflow.Outgoing {
		return []dmflow.Outgoing{{Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: text}, LastInbound: t0}}
	}
	items := []dmflow.InboxItem{
		{Seq: 1, Received: at(0), Event: dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"}, Replies: reply("hello")},
		{Seq: 2, Received: at(0), Event: dmflow.Event{Kind: dmflow.KindPostback, Payload: "P", Title: "Pick"}},
		{Seq: 3, Received: at(60), Event: dmflow.Event{Kind: dmflow.KindEcho, Text: "an agent here"}},
		{Seq: 4, Received: at(61), Event: dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: "move", State: "menu", By: "admin"}}},
		{Seq: 6, Received: at(61), Event: dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminLocale, Locale: "es", By: "sandbox"}}},
		{Seq: 5, Received: at(62), Event: dmflow.Event{Kind: dmflow.KindReaction, MID: "m1", Reaction: &dmflow.Reaction{MID: "m1", Action: "react", Reaction: "love"}}},
		{Seq: 7, Received: at(64), Event: dmflow.Event{Kind: dmflow.KindMessage, Text: "late"}, Replies: []dmflow.Outgoing{{Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "x"}, LastInbound: t0.Add(-25 * time.Hour)}}},
	}
	out, err := history.Transcript(items, history.TranscriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "inputs.test.yaml", out)
	if _, err := history.Transcript(nil, history.TranscriptOptions{}); err == nil {
		t.Fatal("an empty history: want an error")
	}
}

// TestTranscriptChannel: the transcript names the channel of the user's
// events (not the bot's own timer, action and admin events), so a
// Messenger conversation replays on Messenger.
func TestTranscriptChannel(t *testing.T) {
	items := []dmflow.InboxItem{
		{Seq: 1, Received: t0, Event: dmflow.Event{Kind: dmflow.KindAdmin, Channel: "dmflow", Admin: &dmflow.AdminCommand{Op: "move", State: "menu", By: "admin"}}},
		{Seq: 2, Received: t0, Event: dmflow.Event{Kind: dmflow.KindMessage, Channel: "messenger", Text: "hi"}},
	}
	out, err := history.Transcript(items, history.TranscriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "\nchannel: messenger\n") {
		t.Errorf("transcript does not name its channel:\n%s", out)
	}
}
