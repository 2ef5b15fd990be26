package engine_test

import (
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

const settleFlow = `
flow: s
start: greet
settle: 3s
vars:
  name: string
triggers:
  - keywords: [agent]
    goto: human
states:
  greet:
    say: [{text: "Hi! What's your name?"}]
    ask: {var: name}
    next: menu
  menu:
    settle: 0s
    say:
      - text: "Hello {{ name }}. Pick one."
        quick_replies: [Yes, No]
    on:
      - when: 'event.payload == "YES"'
        goto: yes
      - say: [{text: "got: {{ event.text }}"}]
  yes:
    say: [{text: "you said: {{ event.text }}"}]
    on: [{say: [{text: "again: {{ event.text }}"}]}]
  human:
    handoff: true
`

// TestSettle checks that a burst within the settle window is one turn, in
// order, and what opens, joins and closes a window.
func TestSettle(t *testing.T) {
	e := load(t, settleFlow)
	msg := func(text string) dmflow.Event { return dmflow.Event{Kind: dmflow.KindMessage, Text: text} }
	t.Run("burst starting a session", func(t *testing.T) {
		c := newConv(t, e)
		eq(t, "hi", c.say("hi"), []string(nil))
		eq(t, "timers", c.s.Timers, []dmflow.Timer{{ID: "t:acct/user1:0.1", Name: dmflow.SettleTimer, Due: t0.Add(3 * time.Second)}})
		c.now = c.now.Add(time.Second)
		eq(t, "more", c.say("I need help"), []string(nil))
		c.now = c.now.Add(time.Second)
		c.step(dmflow.Event{Kind: dmflow.KindRead}) // passive: neither joins nor closes
		eq(t, "held", len(c.s.Settling), 2)
		eq(t, "fire", texts(c.fire(dmflow.SettleTimer)), []string{"Hi! What's your name?"})
		c.state("greet")
		eq(t, "after fire", len(c.s.Settling)+len(c.s.Timers), 0)
		// The ask's answer, typed in two messages, is captured merged.
		c.say("Ann")
		c.say("Smith")
		eq(t, "answer", texts(c.fire(dmflow.SettleTimer)), []string{"Hello Ann\nSmith. Pick one."})
		c.state("menu")
		// settle: 0s in menu: every message is its own turn.
		eq(t, "menu", c.say("what"), []string{"got: what"})
	})
	t.Run("a tap closes the window first, order kept", func(t *testing.T) {
		c := newConv(t, e)
		c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "s", State: "yes", FlowVersion: 1, Version: 1}
		c.say("one")
		c.say("two")
		turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "Yes", Payload: "YES"})
		eq(t, "replies", texts(turn), []string{"again: one\ntwo", "again: Yes"})
		eq(t, "left", len(c.s.Settling)+len(c.s.Timers), 0)
		if !hasTrace(turn, "settle", "a message event arrived") {
			t.Errorf("no settle trace:%s", traceText(turn))
		}
	})
	t.Run("a trigger word inside a burst is part of the burst", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hello")
		c.say("agent")
		eq(t, "merged", texts(c.fire(dmflow.SettleTimer)), []string{"Hi! What's your name?"})
		c.state("greet")
	})
	t.Run("a full burst closes at once", func(t *testing.T) {
		c := newConv(t, e)
		var last *dmflow.Turn
		for range engineMaxDeferred {
			last = c.step(msg("x"))
		}
		eq(t, "full", texts(last), []string{"Hi! What's your name?"})
		eq(t, "left", len(c.s.Settling)+len(c.s.Timers), 0)
	})
	t.Run("another timer closes the window", func(t *testing.T) {
		e := load(t, `
flow: s
start: wait
settle: 10s
states:
  wait:
    on: [{say: [{text: "heard: {{ event.text }}"}]}]
    timeout: {after: 5s, say: [{text: "still there?"}]}
`)
		c := newConv(t, e)
		c.step(dmflow.Event{Kind: dmflow.KindPostback, Payload: "GO"}) // not settled: starts the session
		c.now = c.now.Add(4 * time.Second)
		c.say("a")
		// The state's timeout comes due inside the window: the held message
		// is handled first, which re-enters nothing (on without goto stays)
		// and the timeout still fires.
		eq(t, "timeout", texts(c.fire("timeout:wait")), []string{"heard: a", "still there?"})
		eq(t, "left", len(c.s.Settling), 0)
		for _, tm := range c.s.Timers {
			if tm.Name == dmflow.SettleTimer {
				t.Errorf("settle timer left: %+v", c.s.Timers)
			}
		}
	})
	t.Run("off by default", func(t *testing.T) {
		c := newConv(t, load(t, `
flow: s
start: a
states:
  a:
    on: [{say: [{text: "{{ event.text }}"}]}]
`))
		eq(t, "one", c.say("one"), []string(nil))
		eq(t, "two", c.say("two"), []string{"two"})
		eq(t, "nothing held", len(c.s.Settling)+len(c.s.Timers), 0)
	})
	t.Run("an echo closes the window unanswered", func(t *testing.T) {
		// A human replied from the inbox while the burst was held: the
		// burst is handled (the session moves on), the human's reply hands
		// the session off, and the bot sends nothing.
		c := newConv(t, e)
		c.say("hi")
		c.say("anyone?")
		turn := c.step(dmflow.Event{Kind: dmflow.KindEcho, Text: "Hi, Ann here", MID: "e1"})
		eq(t, "replies", texts(turn), []string(nil))
		c.state("greet")
		if c.s.Handoff == nil || c.s.Handoff.By != "agent" {
			t.Fatalf("echo did not hand off: %+v", c.s.Handoff)
		}
		eq(t, "left", len(c.s.Settling), 0)
		if !hasTrace(turn, "skip", "replies dropped") {
			t.Errorf("not traced:%s", traceText(turn))
		}
	})
	t.Run("handoff: nothing held", func(t *testing.T) {
		c := newConv(t, e)
		c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "s", State: "human", FlowVersion: 1, Version: 1,
			Handoff: &dmflow.Handoff{By: "flow"}}
		c.say("hello?")
		eq(t, "nothing held", len(c.s.Settling), 0)
	})
}

// engineMaxDeferred is engine.DefaultMaxDeferred, the bound of a burst.
const engineMaxDeferred = 20
