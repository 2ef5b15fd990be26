package engine_test

import (
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

const inboxFlow = `
flow: main
main: true
start: menu
states:
  menu:
    say: [{text: "menu"}]
    on:
      - {when: 'event.text == "agent"', goto: human}
      - {when: 'event.kind == "handover"', say: [{text: "handover seen"}]}
  human:
    say: [{text: "connecting"}]
    handoff: {inbox: true, reason: "asked", metadata: "from {{ event.text }}", release_after: 2h, next: back}
  back:
    say: [{text: "bot is back"}]
    next: menu
`

func thread(turn *dmflow.Turn) []string {
	var out []string
	for _, r := range turn.Replies {
		if r.Reply.Kind == dmflow.ReplyThreadControl {
			out = append(out, r.Reply.Action+":"+r.Reply.Metadata)
		}
	}
	return out
}

// TestInboxHandoff: handoff {inbox: true} passes the thread after the
// state's say; standby messages stay unanswered; the inbox's pass ends the
// handoff without a call, the bot's own release takes the thread back
// first; a take or standby message starts a handoff by "inbox".
func TestInboxHandoff(t *testing.T) {
	e := load(t, inboxFlow)
	start := func(t *testing.T) *conv {
		c := newConv(t, e)
		c.say("hi")
		turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "agent"})
		eq(t, "replies", texts(turn), []string{"connecting", "<thread_control>"})
		eq(t, "pass", thread(turn), []string{"pass:from agent"})
		if c.s.Handoff == nil || !c.s.Handoff.Inbox || c.s.Handoff.By != "flow" {
			t.Fatalf("handoff: %+v", c.s.Handoff)
		}
		return c
	}
	t.Run("standby is silent, the inbox passes back", func(t *testing.T) {
		c := start(t)
		eq(t, "standby", texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hello?", Standby: true})), []string(nil))
		turn := c.step(dmflow.Event{Kind: dmflow.KindHandover, Handover: &dmflow.Handover{Action: dmflow.ThreadPass, PrevOwner: "inbox"}})
		eq(t, "back, no take", texts(turn), []string{"bot is back", "menu"})
		if c.s.Handoff != nil {
			t.Fatalf("still handed off: %+v", c.s.Handoff)
		}
	})
	t.Run("idle release takes the thread back first", func(t *testing.T) {
		c := start(t)
		c.now = c.now.Add(2 * time.Hour)
		turn := c.fire("handoff")
		eq(t, "take then speak", texts(turn), []string{"<thread_control>", "bot is back", "menu"})
		eq(t, "take", thread(turn), []string{"take:"})
	})
	t.Run("a take during the handoff keeps it, admin release takes back", func(t *testing.T) {
		c := start(t)
		eq(t, "take event", texts(c.step(dmflow.Event{Kind: dmflow.KindHandover, Handover: &dmflow.Handover{Action: dmflow.ThreadTake}})), []string(nil))
		eq(t, "by", c.s.Handoff.By, "flow")
		eq(t, "release", thread(c.admin(dmflow.AdminRelease, "")), []string{"take:"})
	})
	t.Run("a take or a standby message hands off by inbox", func(t *testing.T) {
		for _, ev := range []dmflow.Event{
			{Kind: dmflow.KindHandover, Handover: &dmflow.Handover{Action: dmflow.ThreadTake, NewOwner: "inbox"}},
			{Kind: dmflow.KindMessage, Text: "hi there", Standby: true},
		} {
			c := newConv(t, e)
			c.say("hi")
			eq(t, "silent", texts(c.step(ev)), []string(nil))
			if c.s.Handoff == nil || c.s.Handoff.By != "inbox" || !c.s.Handoff.Inbox {
				t.Fatalf("%s: handoff %+v", ev.Kind, c.s.Handoff)
			}
			eq(t, "silent after", c.say("hello"), []string(nil))
			eq(t, "reset takes back", thread(c.admin(dmflow.AdminReset, "")), []string{"take:"})
		}
	})
	t.Run("a pass does not end an admin handoff the inbox had no part in", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		c.admin(dmflow.AdminHandoff, "")
		eq(t, "silent", texts(c.step(dmflow.Event{Kind: dmflow.KindHandover, Handover: &dmflow.Handover{Action: dmflow.ThreadPass}})), []string(nil))
		eq(t, "still", c.s.Handoff.By, "admin")
	})
	t.Run("a pass outside a handoff reaches the flow", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		turn := c.step(dmflow.Event{Kind: dmflow.KindHandover, Handover: &dmflow.Handover{Action: dmflow.ThreadPass}})
		eq(t, "on", texts(turn), []string{"handover seen"})
	})
}
