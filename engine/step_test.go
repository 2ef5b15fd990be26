package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

const basic = `
flow: basic
start: greet
vars:
  name: string
  n: {type: int, default: 0}
  tags: "[]string"
triggers:
  - keywords: [restart]
    say: [{text: restarting}]
    goto: greet
  - when: 'event.kind == "read" && name == "read-me"'
    goto: seen
states:
  greet:
    set: {n: 'n + 1'}
    say: [{text: "Hi {{ user.username ?? 'there' }} #{{ n }}, your name?"}]
    ask:
      var: name
      type: text
      validate: 'len(input) >= 2'
      retry: [{text: "again 1"}, {text: "again 2"}]
      max_attempts: 3
      on_fail: failed
    next: menu
  menu:
    say: [{text: "menu for {{ name }}"}]
    on:
      - when: 'event.payload == "A"'
        set: {tags: 'tags + ["a"]'}
        goto: a
      - when: 'event.text == "again"'
        goto: menu
      - when: 'event.text == "note"'
        say: [{text: noted}]
      - say: [{text: "pick A"}]
  a:
    say: [{text: "A! tags={{ tags }}"}]
    next: done
  failed:
    say: [{text: failed}]
    next: done
  seen:
    say: [{text: "seen it"}]
    next: done
  done: {end: true}
`

func TestNewSessionAndAsk(t *testing.T) {
	e := load(t, basic)
	c := newConv(t, e)
	eq(t, "first", c.say("hello"), []string{"Hi there #1, your name?"}) // not consumed as the answer
	c.state("greet")
	eq(t, "short", c.say("x"), []string{"again 1"})
	eq(t, "attempts", c.s.Attempts, 1)
	eq(t, "valid", c.say("Bob"), []string{"menu for Bob"})
	c.state("menu")
	eq(t, "attempts reset", c.s.Attempts, 0)
	eq(t, "notices", notices(c.last), []string{"message.received", "variable.captured", "state.entered"})
	eq(t, "vars", c.s.Vars, map[string]any{"n": 1, "name": "Bob"})
}

func TestRetryLadderAndOnFail(t *testing.T) {
	c := newConv(t, load(t, basic))
	c.say("hi")
	eq(t, "1", c.say("x"), []string{"again 1"})
	eq(t, "2", c.say("y"), []string{"again 2"})
	eq(t, "3", c.say("z"), []string{"failed"}) // max_attempts 3 → on_fail, no reprompt
	c.state("done")
	if !c.s.Ended {
		t.Fatal("done is an end state")
	}
}

func TestOnTransitions(t *testing.T) {
	tests := []struct {
		name      string
		ev        dmflow.Event
		want      []string
		wantState string
	}{
		{"first match with set", dmflow.Event{Kind: dmflow.KindMessage, Payload: "A", Text: "A"}, []string{"A! tags=a"}, "done"},
		{"goto self re-enters", dmflow.Event{Kind: dmflow.KindMessage, Text: "again"}, []string{"menu for Bob"}, "menu"},
		{"no goto stays", dmflow.Event{Kind: dmflow.KindMessage, Text: "note"}, []string{"noted"}, "menu"},
		{"fallback", dmflow.Event{Kind: dmflow.KindMessage, Text: "???"}, []string{"pick A"}, "menu"},
		{"read receipt does not move", dmflow.Event{Kind: dmflow.KindRead, MID: "m1"}, nil, "menu"},
		{"edit does not move", dmflow.Event{Kind: dmflow.KindEdit, Text: "again"}, nil, "menu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConv(t, load(t, basic))
			c.say("hi")
			c.say("Bob")
			eq(t, "replies", texts(c.step(tt.ev)), tt.want)
			c.state(tt.wantState)
		})
	}
}

func TestTriggers(t *testing.T) {
	t.Run("while an ask waits", func(t *testing.T) {
		c := newConv(t, load(t, basic))
		c.say("hi")
		eq(t, "restart", c.say(" RESTART "), []string{"restarting", "Hi there #2, your name?"})
		eq(t, "attempts not counted", c.s.Attempts, 0)
	})
	t.Run("explicit kind matches a read receipt", func(t *testing.T) {
		c := newConv(t, load(t, basic))
		c.say("hi")
		c.say("read-me")
		eq(t, "read", texts(c.step(dmflow.Event{Kind: dmflow.KindRead})), []string{"seen it"})
		c.state("done")
	})
	t.Run("trigger on the first event", func(t *testing.T) {
		c := newConv(t, load(t, basic))
		eq(t, "replies", c.say("restart"), []string{"restarting", "Hi there #1, your name?"})
	})
}

func TestPassiveEventWithoutSession(t *testing.T) {
	e := load(t, basic)
	turn, err := e.Step(context.Background(), nil, dmflow.Event{Key: "r", Kind: dmflow.KindRead, Account: "a", User: "u"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if turn.Session != nil || len(turn.Replies) != 0 {
		t.Fatalf("a read receipt started a session: %+v", turn)
	}
}

func TestEndRestarts(t *testing.T) {
	c := newConv(t, load(t, basic))
	c.say("hi")
	c.say("Bob")
	c.tap("A", "A")
	c.state("done")
	eq(t, "read after end", texts(c.step(dmflow.Event{Kind: dmflow.KindRead})), []string(nil))
	eq(t, "restart", c.say("hello again"), []string{"Hi there #2, your name?"})
	c.state("greet")
	eq(t, "vars kept", c.s.Vars["name"], "Bob")
}

func TestProfileAndLastInbound(t *testing.T) {
	e := load(t, basic)
	s := &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Profile: &dmflow.Profile{Username: "ann"}}
	c := newConv(t, e)
	c.s = s
	eq(t, "greeting", c.say("hi"), []string{"Hi ann #1, your name?"})
	eq(t, "last inbound", c.s.LastInbound, t0)
	c.now = t0.Add(time.Hour)
	c.step(dmflow.Event{Kind: dmflow.KindRead, Time: c.now})
	eq(t, "read does not touch last inbound", c.s.LastInbound, t0)
	c.say("Bob")
	eq(t, "message does", c.s.LastInbound, t0.Add(time.Hour))
	eq(t, "reply carries it", c.last.Replies[0].LastInbound, t0.Add(time.Hour))
}

const askTypes = `
flow: asks
start: pick
vars:
  kind: string
  i: int
  f: float
  s: string
  d: time
states:
  pick:
    ask: {var: kind, type: text}
    on:
      - {when: 'kind == "int"', goto: int}
      - {when: 'kind == "float"', goto: float}
      - {when: 'kind == "email"', goto: email}
      - {when: 'kind == "phone"', goto: phone}
      - {when: 'kind == "url"', goto: url}
      - {when: 'kind == "date"', goto: date}
      - {when: 'kind == "choice"', goto: choice}
      - {when: 'kind == "attachment"', goto: attachment}
  int: {ask: {var: i, type: number, validate: 'input > 0', retry: [{text: bad}]}, next: ok}
  float: {ask: {var: f, type: number, retry: [{text: bad}]}, next: ok}
  email: {ask: {var: s, type: email, retry: [{text: bad}]}, next: ok}
  phone: {ask: {var: s, type: phone, retry: [{text: bad}]}, next: ok}
  url: {ask: {var: s, type: url, retry: [{text: bad}]}, next: ok}
  date: {ask: {var: d, type: date, retry: [{text: bad}]}, next: ok}
  choice: {ask: {var: s, type: choice, choices: [Red, Blue], retry: [{text: bad}]}, next: ok}
  attachment: {ask: {var: s, type: attachment, retry: [{text: bad}]}, next: ok}
  ok: {say: [{text: "ok"}], end: true}
`

func TestAskTypes(t *testing.T) {
	msg := func(text, payload string) dmflow.Event {
		return dmflow.Event{Kind: dmflow.KindMessage, Text: text, Payload: payload}
	}
	img := dmflow.Event{Kind: dmflow.KindMessage, Attachments: []dmflow.Attachment{{Type: "image", URL: "https://cdn/x.jpg"}}}
	tests := []struct {
		kind    string
		ev      dmflow.Event
		valid   bool
		v       string
		want    any
		isFloat bool
	}{
		{"int", msg("42", ""), true, "i", 42, false},
		{"int", msg("2.5", ""), false, "i", nil, false},
		{"int", msg("-3", ""), false, "i", nil, false}, // validate input > 0
		{"int", msg("abc", ""), false, "i", nil, false},
		{"float", msg("2,5", ""), true, "f", 2.5, true},
		{"email", msg("Ann@Example.COM", ""), true, "s", "ann@example.com", false},
		{"email", msg("tap", "x@y.io"), true, "s", "x@y.io", false}, // user_email quick reply
		{"email", msg("not an email", ""), false, "s", nil, false},
		{"phone", msg("+1 (555) 123-4567", ""), true, "s", "+1 (555) 123-4567", false},
		{"phone", msg("12", ""), false, "s", nil, false},
		{"url", msg("example.com/a", ""), true, "s", "https://example.com/a", false},
		{"url", msg("ftp://x.y", ""), false, "s", nil, false},
		{"date", msg("2026-05-04", ""), true, "d", "2026-05-04T00:00:00Z", false},
		{"date", msg("tomorrow", ""), true, "d", "2026-03-02T00:00:00Z", false},
		{"date", msg("someday", ""), false, "d", nil, false},
		{"choice", msg("Blue", "BLUE"), true, "s", "Blue", false},
		{"choice", msg(" red ", ""), true, "s", "Red", false},
		{"choice", msg("green", ""), false, "s", nil, false},
		{"attachment", img, true, "s", "https://cdn/x.jpg", false},
		{"attachment", msg("no file", ""), false, "s", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.ev.Text, func(t *testing.T) {
			c := newConv(t, load(t, askTypes))
			c.say("start")
			c.say(tt.kind)
			c.state(tt.kind)
			got := texts(c.step(tt.ev))
			if !tt.valid {
				eq(t, "replies", got, []string{"bad"})
				c.state(tt.kind)
				eq(t, "attempts", c.s.Attempts, 1)
				return
			}
			eq(t, "replies", got, []string{"ok"})
			eq(t, tt.v, c.s.Vars[tt.v], tt.want)
		})
	}
	t.Run("reaction is not an answer", func(t *testing.T) {
		c := newConv(t, load(t, askTypes))
		c.say("start")
		c.say("int")
		c.step(dmflow.Event{Kind: dmflow.KindReaction, Reaction: &dmflow.Reaction{MID: "m", Action: "react", Reaction: "love"}})
		eq(t, "attempts", c.s.Attempts, 0)
	})
}

const replies = `
flow: replies
start: show
vars:
  tags: "[]string"
  post: {type: string, default: "1789"}
states:
  show:
    say:
      - text: "pick"
        quick_replies: [{title: Yes, payload: Y}, No, {type: user_email}]
      - cards:
          - title: Pro
            subtitle: "$49"
            image: https://e.com/p.png
            url: https://e.com/p
            buttons: [{title: Buy, payload: BUY}, {title: Info, url: "https://e.com/i"}]
      - buttons: {text: "Or", buttons: [{title: Call, payload: CALL}]}
      - image: https://e.com/a.png
      - video: {attachment_id: "123"}
      - images: [https://e.com/1.png, https://e.com/2.png]
      - heart: true
      - share: "{{ post }}"
      - typing: on
      - typing: off
      - seen: true
      - react: love
      - text: "VIP"
        when: '"vip" in tags'
    on:
      - {when: 'event.text == "vip"', set: {tags: '["vip"]'}, goto: show}
`

func TestReplyKinds(t *testing.T) {
	c := newConv(t, load(t, replies))
	turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hi", MID: "mid1"})
	var got []dmflow.Reply
	for _, o := range turn.Replies {
		got = append(got, o.Reply)
		if o.To.ID != "user1" || o.Cause != turn.Trace[0].Detail && o.Cause == "" {
			t.Errorf("bad address %+v", o)
		}
	}
	want := []dmflow.Reply{
		{Kind: dmflow.ReplyText, Text: "pick", QuickReplies: []dmflow.QuickReply{{Type: "text", Title: "Yes", Payload: "Y"}, {Type: "text", Title: "No", Payload: "NO"}, {Type: "user_email"}}},
		{Kind: dmflow.ReplyGeneric, Elements: []dmflow.Element{{Title: "Pro", Subtitle: "$49", ImageURL: "https://e.com/p.png", DefaultURL: "https://e.com/p",
			Buttons: []dmflow.Button{{Type: "postback", Title: "Buy", Payload: "BUY"}, {Type: "web_url", Title: "Info", URL: "https://e.com/i"}}}}},
		{Kind: dmflow.ReplyButtons, Text: "Or", Buttons: []dmflow.Button{{Type: "postback", Title: "Call", Payload: "CALL"}}},
		{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image", URL: "https://e.com/a.png"}}},
		{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "video", AttachmentID: "123"}}},
		{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image", URL: "https://e.com/1.png"}, {Type: "image", URL: "https://e.com/2.png"}}},
		{Kind: dmflow.ReplyLikeHeart},
		{Kind: dmflow.ReplyMediaShare, PostID: "1789"},
		{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOn},
		{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOff},
		{Kind: dmflow.ReplyAction, Action: dmflow.ActionMarkSeen},
		{Kind: dmflow.ReplyReact, MID: "mid1", Reaction: "love"},
	}
	eq(t, "replies", got, want)
	if n := len(texts(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "vip", MID: "mid2"}))); n != len(want)+1 {
		t.Fatalf("conditional reply: got %d replies, want %d", n, len(want)+1)
	}
}

func TestComment(t *testing.T) {
	e := load(t, `
flow: c
start: s
triggers:
  - when: 'event.kind == "comment"'
    goto: thanks
states:
  s: {say: [{text: hi}], on: [{say: [{text: "?"}]}]}
  thanks:
    say: [{text: "thanks for the comment"}, {typing: on}, {text: "second"}]
    next: s
`)
	c := newConv(t, e)
	ct := t0.Add(-time.Minute)
	turn := c.step(dmflow.Event{Kind: dmflow.KindComment, Text: "nice", Time: ct, Comment: &dmflow.Comment{ID: "c1", MediaID: "p1"}})
	eq(t, "replies", texts(turn), []string{"thanks for the comment"})
	eq(t, "to", turn.Replies[0].To, dmflow.Recipient{CommentID: "c1"})
	eq(t, "window", turn.Replies[0].LastInbound, ct)
	if !hasTrace(turn, "skip", "one private reply") {
		t.Errorf("dropped replies not traced:%s", traceText(turn))
	}
	eq(t, "no window from a comment", c.s.LastInbound, time.Time{})
}

// TestCommentPublicReplyAndModeration: public replies and moderation go to
// the comment being handled, do not use up its one private reply, and are
// dropped (traced) where there is no comment or Instagram would refuse.
func TestCommentPublicReplyAndModeration(t *testing.T) {
	e := load(t, `
flow: c
start: s
triggers:
  - when: 'event.kind == "comment"'
    goto: thanks
states:
  s:
    on: [{say: [{public_reply: "not on a message"}, {moderate: hide}, {text: "?"}]}]
  thanks:
    say:
      - public_reply: "Sent you a DM, {{ event.text }}"
      - text: "here is the link"
      - moderate: hide
    next: s
`)
	c := newConv(t, e)
	turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hello", Time: t0})
	turn = c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "again", Time: t0})
	eq(t, "message replies", texts(turn), []string{"?"})
	if !hasTrace(turn, "skip", "needs a comment event") {
		t.Errorf("dropped comment replies not traced:%s", traceText(turn))
	}
	ct := t0.Add(-time.Minute)
	turn = c.step(dmflow.Event{Kind: dmflow.KindComment, Text: "PRICE", Time: ct, Comment: &dmflow.Comment{ID: "c1", MediaID: "p1"}})
	var kinds []string
	for _, o := range turn.Replies {
		kinds = append(kinds, string(o.Reply.Kind)+":"+o.Reply.Comment+":"+o.To.CommentID)
	}
	eq(t, "kinds", kinds, []string{"comment_reply:c1:", "text::c1", "moderate:c1:"})
	eq(t, "public text", turn.Replies[0].Reply.Text, "Sent you a DM, PRICE")
	eq(t, "public to", turn.Replies[0].To, dmflow.Recipient{ID: "user1"})
	eq(t, "action", turn.Replies[2].Reply.Action, dmflow.ModerateHide)

	turn = c.step(dmflow.Event{Kind: dmflow.KindComment, Text: "live", Time: ct, Comment: &dmflow.Comment{ID: "c2", Live: true}})
	kinds = nil
	for _, o := range turn.Replies {
		kinds = append(kinds, string(o.Reply.Kind))
	}
	eq(t, "live kinds", kinds, []string{"text", "moderate"})
	if !hasTrace(turn, "skip", "live comments take no public reply") {
		t.Errorf("live public reply not traced:%s", traceText(turn))
	}
}

func TestTimeouts(t *testing.T) {
	e := load(t, `
flow: t
start: wait
states:
  wait:
    say: [{text: "waiting"}]
    on: [{when: 'event.text == "go"', goto: other}, {say: [{text: "?"}]}]
    timeout: {after: 1h, say: [{text: "still there?"}], goto: later}
  other:
    timeout: {after: 2h, goto: later}
    on: [{say: [{text: "other"}]}]
  later: {say: [{text: later}], end: true}
`)
	t.Run("fires", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		eq(t, "timers", c.s.Timers, []dmflow.Timer{{ID: "t:acct/user1:0.1", Name: "timeout:wait", Due: t0.Add(time.Hour)}})
		eq(t, "fire", texts(c.fire("timeout:wait")), []string{"still there?", "later"})
		c.state("later")
		eq(t, "timers", len(c.s.Timers), 0)
	})
	t.Run("stale and replaced", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		old := c.s.Timers[0]
		c.say("go")
		c.state("other")
		eq(t, "replaced", len(c.s.Timers), 1)
		if c.s.Timers[0].ID == old.ID || c.s.Timers[0].Name != "timeout:other" {
			t.Fatalf("timer not replaced: %+v", c.s.Timers)
		}
		turn := c.step(dmflow.Event{Kind: dmflow.KindTimer, Timer: &dmflow.TimerFire{ID: old.ID, Name: old.Name}})
		if len(turn.Replies) != 0 || !hasTrace(turn, "skip", "stale") {
			t.Fatalf("stale timer acted:%s", traceText(turn))
		}
		c.state("other")
	})
}

const handoffFlow = `
flow: h
start: menu
triggers:
  - keywords: [agent]
    goto: human
states:
  menu:
    say: [{text: menu}]
    on: [{say: [{text: "?"}]}]
  human:
    say: [{text: "connecting"}]
    handoff: {reason: "asked for {{ 'a human' }}", release_after: 2h, next: back}
  back: {say: [{text: "bot is back"}], next: menu}
`

func TestHandoff(t *testing.T) {
	e := load(t, handoffFlow)
	start := func(t *testing.T) *conv {
		c := newConv(t, e)
		c.say("hi")
		eq(t, "handoff", c.say("agent"), []string{"connecting"})
		eq(t, "by", c.s.Handoff, &dmflow.Handoff{Since: t0, Reason: "asked for a human", By: "flow"})
		eq(t, "notices", notices(c.last)[len(notices(c.last))-1], dmflow.NoticeHandoffStarted)
		return c
	}
	t.Run("silent then admin release", func(t *testing.T) {
		c := start(t)
		eq(t, "silent", c.say("hello?"), []string(nil))
		turn := c.admin(dmflow.AdminRelease, "")
		eq(t, "released", texts(turn), []string{"bot is back", "menu"})
		eq(t, "no tag after release", turn.Replies[0].Tag, "")
		c.state("menu")
		if c.s.Handoff != nil || len(c.s.Timers) != 0 {
			t.Fatalf("handoff not cleared: %+v", c.s)
		}
	})
	t.Run("idle release restarts on activity", func(t *testing.T) {
		c := start(t)
		first := c.s.Timers[0]
		eq(t, "due", first.Due, t0.Add(2*time.Hour))
		c.now = t0.Add(time.Hour)
		c.say("anyone?")
		eq(t, "re-armed", c.s.Timers[0].Due, t0.Add(3*time.Hour))
		stale := c.step(dmflow.Event{Kind: dmflow.KindTimer, Timer: &dmflow.TimerFire{ID: first.ID}})
		eq(t, "stale", texts(stale), []string(nil))
		eq(t, "release", texts(c.fire("handoff")), []string{"bot is back", "menu"})
	})
	t.Run("agent echo", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		c.step(dmflow.Event{Kind: dmflow.KindEcho, Text: "Hi, Ann here", MID: "e1"})
		if c.s.Handoff == nil || c.s.Handoff.By != "agent" {
			t.Fatalf("echo did not hand off: %+v", c.s.Handoff)
		}
		eq(t, "silent", c.say("hello"), []string(nil))
		eq(t, "default release timer", c.s.Timers[0].Due, t0.Add(engine.DefaultHandoffRelease))
		eq(t, "release to start", texts(c.admin(dmflow.AdminRelease, "")), []string{"menu"})
	})
	t.Run("admin handoff", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		turn := c.admin(dmflow.AdminHandoff, "")
		eq(t, "by", c.s.Handoff, &dmflow.Handoff{Since: t0, Reason: "admin", By: "admin"})
		eq(t, "notice", notices(turn), []string{dmflow.NoticeHandoffStarted})
		turn = c.admin(dmflow.AdminHandoff, "")
		eq(t, "again: no second notice", notices(turn), []string(nil))
		eq(t, "again: kept", c.s.Handoff, &dmflow.Handoff{Since: t0, Reason: "admin", By: "admin"})
	})
	t.Run("echo before any session", func(t *testing.T) {
		c := newConv(t, e)
		turn := c.step(dmflow.Event{Kind: dmflow.KindEcho, Text: "Hi, Ann here", MID: "e1"})
		eq(t, "silent", texts(turn), []string(nil))
		if c.s == nil || c.s.Handoff == nil || c.s.Handoff.By != "agent" {
			t.Fatalf("echo did not start a handed-off session: %+v", c.s)
		}
		eq(t, "notice", notices(turn), []string{dmflow.NoticeHandoffStarted})
		eq(t, "silent after", c.say("hello"), []string(nil))
	})
	t.Run("echo while handed off", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		c.admin(dmflow.AdminHandoff, "")
		turn := c.step(dmflow.Event{Kind: dmflow.KindEcho, Text: "Ann here", MID: "e1"})
		eq(t, "kept", c.s.Handoff.By, "admin")
		eq(t, "no notice", notices(turn), []string(nil))
	})
	t.Run("admin without a session", func(t *testing.T) {
		c := newConv(t, e)
		turn := c.admin(dmflow.AdminRelease, "")
		if turn.Session != nil || turn.Delete || len(turn.Replies)+len(turn.Notices) > 0 {
			t.Fatalf("release without a session: %+v", turn)
		}
		turn = c.admin(dmflow.AdminHandoff, "")
		if c.s == nil || c.s.Handoff == nil || c.s.Handoff.By != "admin" || len(turn.Replies) > 0 {
			t.Fatalf("handoff without a session: %+v", turn)
		}
	})
	t.Run("release into another handoff", func(t *testing.T) {
		// The released session goes on to a handoff state: that new
		// handoff stands (the release does not clear it afterwards).
		c := newConv(t, load(t, `
flow: h2
start: menu
triggers: [{keywords: [agent], goto: human}]
states:
  menu: {say: [{text: menu}], on: [{say: [{text: "?"}]}]}
  human:
    handoff: {reason: first, next: queue}
  queue:
    say: [{text: "still in the queue"}]
    handoff: {reason: queue}
`))
		c.say("hi")
		c.say("agent")
		eq(t, "first", c.s.Handoff.Reason, "first")
		turn := c.admin(dmflow.AdminRelease, "")
		eq(t, "replies", texts(turn), []string{"still in the queue"})
		eq(t, "notices", notices(turn), []string{dmflow.NoticeHandoffEnded, dmflow.NoticeStateEntered, dmflow.NoticeHandoffStarted})
		c.state("queue")
		if c.s.Handoff == nil || c.s.Handoff.By != "flow" || c.s.Handoff.Reason != "queue" {
			t.Fatalf("handoff after release into a handoff state: %+v", c.s.Handoff)
		}
	})
}

const subFlowMain = `
flow: main
main: true
start: menu
vars: {total: int, pick: string, who: string, email: int, got: string}
triggers:
  - keywords: [menu]
    goto: menu
  - keywords: [status]
    when: 'email > 0'
    say: [{text: "who={{ who }} pick={{ pick }}"}]
    goto: menu
states:
  menu:
    say: [{text: "menu"}]
    on:
      - {when: 'event.text == "shop"', goto: shop}
      - {when: 'event.text == "me"', set: {who: '"caller"', email: '7'}, say: [{text: "ok"}]}
      - {when: 'event.text == "nosave"', goto: nosave}
  shop:
    call: {flow: catalog, args: {category: '"shoes"', budget: 'total + 50', who: '"callee"'}, save: {pick: pick, got: email}, return: after}
  nosave:
    call: {flow: catalog, args: {category: '"hats"', budget: '1', who: 'who'}, return: after}
  after: {say: [{text: "you picked {{ pick }} who={{ who }} email={{ email }} got={{ got }}"}], next: menu}
`

const subFlowCatalog = `
flow: catalog
start: browse
params: [category, budget, who]
vars: {category: string, budget: int, pick: string, who: string, email: string, total: int}
states:
  browse:
    say: [{text: "{{ category }} under {{ budget }} for {{ who }} total={{ total }}"}]
    set: {email: '"a@b.c"', who: 'who + "!"'}
    ask: {var: pick, type: choice, choices: [A, B]}
    next: finish
  finish:
    on:
      - {when: 'event.text == "quit"', goto: quit}
      - {goto: done}
  quit: {end: true}
  done: {return: true}
`

// TestSubFlow (issue 13, item 6): each flow of a session has its own
// variables. A call passes params in (a param named like a caller variable
// does not overwrite it), the sub-flow's variables start at their defaults
// (it does not see the caller's), save maps results back (coerced to the
// caller's types; a caller int email is not the sub-flow's string email),
// a caller's trigger sees the caller's variables and unwinding drops the
// sub-flow's, and an end inside the sub-flow leaves the main flow's.
func TestSubFlow(t *testing.T) {
	e := load(t, subFlowMain, subFlowCatalog)
	shop := func(t *testing.T) *conv {
		c := newConv(t, e)
		c.say("hi")
		eq(t, "set", c.say("me"), []string{"ok"})
		eq(t, "call", c.say("shop"), []string{"shoes under 50 for callee! total=0"})
		eq(t, "in sub-flow", c.s.Flow+"/"+c.s.State, "catalog/browse")
		eq(t, "sub-flow scope", c.s.Vars, map[string]any{"category": "shoes", "budget": 50, "who": "callee!", "email": "a@b.c"})
		eq(t, "stack", c.s.Stack, []dmflow.Frame{{Flow: "main", State: "shop", Scoped: true,
			Vars: map[string]any{"who": "caller", "email": 7}}})
		c.say("b")
		return c
	}
	tests := []struct {
		name  string
		say   string
		want  []string
		where string
		vars  map[string]any
	}{
		{"return saves the results", "next", []string{"you picked B who=caller email=7 got=a@b.c", "menu"}, "main/menu",
			map[string]any{"who": "caller", "email": 7, "pick": "B", "got": "a@b.c"}},
		{"caller trigger sees the caller's variables and unwinds", "status", []string{"who=caller pick=", "menu"}, "main/menu",
			map[string]any{"who": "caller", "email": 7}},
		{"end in the sub-flow leaves the main flow's variables", "quit", nil, "catalog/quit",
			map[string]any{"who": "caller", "email": 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := shop(t)
			eq(t, "replies", c.say(tt.say), tt.want)
			eq(t, "where", c.s.Flow+"/"+c.s.State, tt.where)
			eq(t, "vars", c.s.Vars, tt.vars)
			eq(t, "stack", len(c.s.Stack), 0)
		})
	}
	t.Run("without save nothing comes back", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		c.say("nosave")
		c.say("a")
		eq(t, "return", c.say("next"), []string{"you picked  who= email=0 got=", "menu"})
		eq(t, "vars", c.s.Vars, map[string]any{})
	})
}

// TestSubFlowLegacySession: a session stored before variable scopes (its
// frames without Scoped, all flows sharing Vars) finishes its call with the
// shared variables: the sub-flow's values stay visible after the return,
// and save still applies. The next call gets its own scope.
func TestSubFlowLegacySession(t *testing.T) {
	e := load(t, subFlowMain, subFlowCatalog)
	c := newConv(t, e)
	c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "catalog", FlowVersion: 1,
		State: "finish", Stack: []dmflow.Frame{{Flow: "main", State: "shop"}}, Version: 3,
		Vars: map[string]any{"who": "callee!", "email": "a@b.c", "pick": "A", "category": "shoes", "budget": 50}}
	eq(t, "return", c.say("next"), []string{"you picked A who=callee! email=0 got=a@b.c", "menu"})
	eq(t, "shared vars kept", c.s.Vars, map[string]any{"who": "callee!", "email": "a@b.c", "pick": "A", "category": "shoes",
		"budget": 50, "got": "a@b.c"})
	eq(t, "stack", len(c.s.Stack), 0)
	c.say("shop")
	if len(c.s.Stack) != 1 || !c.s.Stack[0].Scoped || c.s.Vars["pick"] != nil {
		t.Fatalf("a new call is scoped: %+v", c.s)
	}
	// A JSON round trip (what stores do) keeps scopes.
	var back dmflow.Session
	if err := dmflow.UnmarshalRecord(mustRecord(t, c.s), &back); err != nil {
		t.Fatal(err)
	}
	eq(t, "round trip", back.Stack, c.s.Stack)
}

func mustRecord(t *testing.T, v any) []byte {
	t.Helper()
	b, err := dmflow.MarshalRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSelfCallRejected: recursion (a flow calling itself) is a load error
// (issue 13: it grows the stack forever), so no engine runs it.
func TestSelfCallRejected(t *testing.T) {
	_, err := flows.LoadFS(fstest.MapFS{"rec.yaml": {Data: []byte(`
flow: rec
start: a
states:
  a:
    on:
      - when: 'event.text == "go"'
        goto: c
      - say: [{text: "?"}]
  c:
    call: {flow: rec, return: a}
`)}}, "rec.yaml")
	if err == nil || !strings.Contains(err.Error(), "rec.yaml:11:11: call: flow rec calls itself") {
		t.Fatalf("err = %v", err)
	}
}

const actionFlow = `
flow: act
start: ask
vars: {order: string, status: string, raw: map}
states:
  ask:
    ask: {var: order, type: text}
    next: lookup
  lookup:
    say: [{text: "looking up {{ order }}"}]
    action:
      http:
        method: POST
        url: "https://api.example.com/orders/{{ order }}"
        headers: {Authorization: "Bearer ${TOKEN}"}
        body: '{"id": order}'
      timeout: 5s
      save: {status: 'response.body.status ?? "unknown"', raw: 'response.body'}
      next: show
      on_error: sorry
      on_timeout: slow
  show: {say: [{text: "status {{ status }}"}], on: [{say: [{text: "got {{ event.text }}"}]}]}
  sorry: {say: [{text: sorry}], end: true}
  slow: {say: [{text: slow}], end: true}
`

func TestAction(t *testing.T) {
	e := load(t, actionFlow)
	start := func(t *testing.T) (*conv, dmflow.ActionCall) {
		c := newConv(t, e)
		c.say("hi")
		turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "A1"})
		eq(t, "say", texts(turn), []string{"looking up A1"})
		if len(turn.Actions) != 1 {
			t.Fatalf("actions = %+v", turn.Actions)
		}
		a := turn.Actions[0]
		eq(t, "call", a, dmflow.ActionCall{ID: "a:acct/user1:1.1", Name: "lookup", Kind: "http", Key: c.s.Key, Timeout: 5 * time.Second, Created: t0,
			HTTP: &dmflow.HTTPRequest{Method: "POST", URL: dmflow.Text{{Lit: "https://api.example.com/orders/"}, {Value: "A1"}},
				Headers: map[string]dmflow.Text{"Authorization": {{Lit: "Bearer "}, {Secret: "TOKEN"}}}, Body: []byte(`{"id":"A1"}`)}})
		eq(t, "pending", c.s.Pending, &a)
		return c, a
	}
	result := func(a dmflow.ActionCall, outcome, body string) dmflow.Event {
		return dmflow.Event{Kind: dmflow.KindActionResult, Action: &dmflow.ActionResult{ID: a.ID, Name: a.Name, Outcome: outcome, Status: 200, Body: []byte(body)}}
	}
	t.Run("ok with queued messages", func(t *testing.T) {
		c, a := start(t)
		eq(t, "queued", c.say("first"), []string(nil))
		c.say("second")
		eq(t, "deferred", len(c.s.Deferred), 2)
		turn := c.step(result(a, "ok", `{"status":"shipped","n":3}`))
		eq(t, "replies", texts(turn), []string{"status shipped", "got first", "got second"})
		eq(t, "saved", c.s.Vars["raw"], map[string]any{"status": "shipped", "n": 3})
		eq(t, "drained", len(c.s.Deferred), 0)
		eq(t, "pending", c.s.Pending == nil, true)
	})
	t.Run("stale result", func(t *testing.T) {
		c, a := start(t)
		a.ID = "other"
		eq(t, "ignored", texts(c.step(result(a, "ok", `{}`))), []string(nil))
		c.state("lookup")
	})
	for _, tt := range []struct{ outcome, body, want string }{
		{"error", "", "sorry"}, {"timeout", "", "slow"}, {"invalid", "", "sorry"}, {"ok", "not json", "sorry"},
	} {
		t.Run(tt.outcome+"/"+tt.body, func(t *testing.T) {
			c, a := start(t)
			eq(t, "replies", texts(c.step(result(a, tt.outcome, tt.body))), []string{tt.want})
		})
	}
}

func TestWhilePendingIgnore(t *testing.T) {
	e := load(t, `
flow: g
start: run
states:
  run:
    action: {go: compute, args: {x: '1 + 2'}, next: done, while_pending: ignore}
  done: {say: [{text: "done"}], end: true}
`)
	c := newConv(t, e)
	turn := c.say("hi")
	_ = turn
	a := c.last.Actions[0]
	eq(t, "go call", a.Args, map[string]any{"x": 3})
	eq(t, "kind", a.Kind, "go")
	c.say("are you there?")
	eq(t, "dropped", len(c.s.Deferred), 0)
	if !hasTrace(c.last, "skip", "ignore") {
		t.Errorf("not traced:%s", traceText(c.last))
	}
}

func TestAdmin(t *testing.T) {
	e := load(t, basic)
	c := newConv(t, e)
	c.say("hi")
	c.say("Bob")
	eq(t, "move", texts(c.admin(dmflow.AdminMove, "a")), []string{"A! tags="})
	c.state("done")
	eq(t, "reset", texts(c.admin(dmflow.AdminReset, "")), []string{"Hi there #1, your name?"})
	eq(t, "fresh vars", c.s.Vars, map[string]any{"n": 1})
	if _, err := c.try(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminMove, State: "nope"}}); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("move to unknown state: %v", err)
	}
	if _, err := c.try(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: "explode"}}); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("unknown op: %v", err)
	}
}

// TestVersions: after a reload, a message for a state that still exists is
// handled there; for a migrated state it is processed after the move
// (triggers first, then the new state's ask/on); for a removed state
// without migration it is the first message of a new session.
func TestVersions(t *testing.T) {
	v2 := `
flow: basic
version: 2
start: greet
vars: {name: string}
migrate: {old: menu2, old_ask: ask2, old_info: info}
triggers:
  - keywords: [agent]
    say: [{text: "agent trigger"}]
    goto: greet
states:
  greet: {say: [{text: "v2 hi"}], on: [{say: [{text: "v2 greet"}]}]}
  menu2: {say: [{text: "v2 menu"}], on: [{say: [{text: "v2 menu on {{ event.text }}"}]}], timeout: {after: 1h, goto: greet}}
  ask2: {say: [{text: "name?"}], ask: {var: name, type: text}, next: thanks}
  thanks: {say: [{text: "thanks {{ name }}"}], end: true}
  info: {say: [{text: "info"}], next: greet}
`
	e := load(t, v2)
	for _, tt := range []struct {
		state, text string
		want        []string
		end         string
	}{
		{"greet", "hi", []string{"v2 greet"}, "greet"},                // state exists: continue, event handled
		{"old", "hi", []string{"v2 menu on hi"}, "menu2"},             // migrated: the message is handled in the new state
		{"old", "agent", []string{"agent trigger", "v2 hi"}, "greet"}, // migrated: triggers first
		{"old_ask", "Ann", []string{"thanks Ann"}, "thanks"},          // migrated into an ask: the message answers it
		{"old_info", "hi", []string{"info", "v2 hi"}, "greet"},        // migrated to a state that does not wait: entered
		{"gone", "hi", []string{"v2 hi"}, "greet"},                    // removed: a new session starts
		{"gone", "agent", []string{"agent trigger", "v2 hi"}, "greet"},
	} {
		t.Run(tt.state+"/"+tt.text, func(t *testing.T) {
			c := newConv(t, e)
			c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "basic", FlowVersion: 1, State: tt.state,
				Timers: []dmflow.Timer{{ID: "t0", Name: "timeout:" + tt.state, Due: t0.Add(time.Hour)}}}
			eq(t, "replies", c.say(tt.text), tt.want)
			c.state(tt.end)
			eq(t, "version", c.s.FlowVersion, 2)
			if tt.end == "menu2" {
				eq(t, "timers", len(c.s.Timers), 1)
				eq(t, "timer", c.s.Timers[0].Name, "timeout:menu2")
			}
		})
	}
}

func TestVarCoercion(t *testing.T) {
	e := load(t, `
flow: v
start: s
vars: {n: int, f: float, l: "[]string", when: time, ok: bool}
states:
  s:
    on:
      - when: 'n + 1 == 3 && f > 1.0 && "x" in l && when.Year() == 2025 && ok'
        say: [{text: "typed {{ n }} {{ f }} {{ l }}"}]
      - say: [{text: "untyped"}]
`)
	c := newConv(t, e)
	// Values as a store returns them: JSON numbers normalized to int/float64, lists as []any, times as text.
	c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "user1"}, Flow: "v", FlowVersion: 1, State: "s",
		Vars: map[string]any{"n": 2, "f": 1.5, "l": []any{"x", "y"}, "when": "2025-06-01T00:00:00Z", "ok": true}}
	eq(t, "replies", c.say("?"), []string{"typed 2 1.5 x, y"})
	c.s.Vars["n"] = 2.0 // float-typed JSON integer
	eq(t, "float as int", c.say("?"), []string{"typed 2 1.5 x, y"})
}

func TestLoopGuard(t *testing.T) {
	e := load(t, `
flow: l
start: a
states:
  a: {say: [{text: a}], on: [{goto: b}]}
  b: {say: [{text: b}], on: [{goto: a}]}
`)
	// Make b follow next back to a without waiting: a loop the loader would reject.
	f := e.Flow("l")
	f.States["a"].Next, f.States["a"].On = f.States["a"].On[0].Goto, nil
	f.States["b"].Next, f.States["b"].On = f.States["b"].On[0].Goto, nil
	e2, err := engine.New(e.Bundle(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e2.Step(context.Background(), nil, dmflow.Event{Key: "k", Kind: dmflow.KindMessage, Account: "a", User: "u", Text: "x"}, t0)
	if !errors.Is(err, engine.ErrLoop) {
		t.Fatalf("err = %v, want ErrLoop", err)
	}
}

func TestTraceExplains(t *testing.T) {
	c := newConv(t, load(t, basic))
	c.say("hi")
	c.say("Bob")
	turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Payload: "A"})
	var saw bool
	for _, e := range turn.Trace {
		if e.What == "transition" && e.Expr == `event.payload == "A"` && e.Result == true && e.Pos == "f0.yaml:29:9" {
			saw = true
		}
	}
	if !saw {
		t.Fatalf("matched condition not traced with its position:%s", traceText(turn))
	}
	var visits []string
	for _, v := range engine.Visits(turn.Trace) {
		visits = append(visits, v.What+":"+v.Flow+"/"+v.Name)
	}
	eq(t, "visits", visits, []string{"edge:basic/menu#on0", "enter:basic/a", "edge:basic/a#next", "enter:basic/done"})
	names := map[string]bool{}
	for _, ed := range c.e.Edges("") {
		names[ed.Name] = true
	}
	for _, v := range engine.Visits(turn.Trace) {
		if v.What == "edge" && !names[v.Name] {
			t.Errorf("visited edge %s is not in Edges", v.Name)
		}
	}
}

func TestNewRejects(t *testing.T) {
	e := load(t, basic)
	b := e.Bundle()
	b.Flows["basic"].States["menu"].On[0].Goto.State = "nowhere"
	if _, err := engine.New(b, nil); err == nil {
		t.Fatal("unknown target accepted")
	}
	if _, err := engine.New(nil, nil); err == nil {
		t.Fatal("nil bundle accepted")
	}
}

// TestHookLikeStateNames: state names that look like looplab/fsm callback
// keys (before_*, after_*, enter_*, leave_*, state, event) just work.
func TestHookLikeStateNames(t *testing.T) {
	e := load(t, `
flow: shop
start: after_hours
states:
  after_hours:
    say: [{text: "closed"}]
    on:
      - keywords: [go]
        goto: enter_code
  enter_code:
    ask: {var: code, type: text}
    next: before_noon
  before_noon:
    say: [{text: "code {{ code }}"}]
    next: leave_now
  leave_now:
    say: [{text: "bye"}]
    next: state
  state:
    on:
      - goto: event
  event:
    say: [{text: "event state"}]
    end: true
vars: {code: string}
`)
	c := newConv(t, e)
	c.say("hi")
	c.state("after_hours")
	c.say("go")
	c.state("enter_code")
	got := c.say("42")
	c.state("state")
	eq(t, "replies", got, []string{"code 42", "bye"})
	c.say("x")
	c.state("event")
}

// TestFallbackKinds: catch-all on entries (and next) answer what a person
// sends; reactions, referrals, comments, reads and edits reach an on entry
// only when its condition tests event.kind.
func TestFallbackKinds(t *testing.T) {
	const src = `
flow: fb
start: menu
states:
  menu:
    say: [{text: "pick one"}]
    on:
      - keywords: [a]
        goto: a
      - when: 'event.kind == "edit"'
        say: [{text: "you edited"}]
      - say: [{text: "Please pick one of the buttons"}]
  a:
    say: [{text: "A"}]
    on:
      - when: 'event.kind == "reaction"'
        say: [{text: "thanks for the heart"}]
    next: menu
`
	love := &dmflow.Reaction{MID: "m", Action: "react", Reaction: "love"}
	for _, tt := range []struct {
		name string
		ev   dmflow.Event
		want []string
	}{
		{"text", dmflow.Event{Kind: dmflow.KindMessage, Text: "hm"}, []string{"Please pick one of the buttons"}},
		{"attachment", dmflow.Event{Kind: dmflow.KindMessage, Attachments: []dmflow.Attachment{{Type: "image", URL: "https://x/y.jpg"}}}, []string{"Please pick one of the buttons"}},
		{"quick reply", dmflow.Event{Kind: dmflow.KindMessage, Text: "Other", Payload: "OTHER"}, []string{"Please pick one of the buttons"}},
		{"postback", dmflow.Event{Kind: dmflow.KindPostback, Payload: "P", Title: "P"}, []string{"Please pick one of the buttons"}},
		{"reaction", dmflow.Event{Kind: dmflow.KindReaction, Reaction: love}, nil},
		{"referral", dmflow.Event{Kind: dmflow.KindReferral, Referral: &dmflow.Referral{Ref: "promo"}}, nil},
		{"comment", dmflow.Event{Kind: dmflow.KindComment, Text: "nice", Comment: &dmflow.Comment{ID: "c1"}}, nil},
		{"read", dmflow.Event{Kind: dmflow.KindRead}, nil},
		{"delete", dmflow.Event{Kind: dmflow.KindDelete}, nil},
		{"edit (explicit entry)", dmflow.Event{Kind: dmflow.KindEdit, Text: "hm"}, []string{"you edited"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newConv(t, load(t, src))
			c.say("hi")
			eq(t, "replies", texts(c.step(tt.ev)), tt.want)
			c.state("menu")
		})
	}
	t.Run("explicit reaction entry; reaction does not take next", func(t *testing.T) {
		c := newConv(t, load(t, src))
		c.say("hi")
		c.say("a")
		c.state("a")
		eq(t, "replies", texts(c.step(dmflow.Event{Kind: dmflow.KindReaction, Reaction: love})), []string{"thanks for the heart"})
		c.state("a")
		eq(t, "replies", texts(c.step(dmflow.Event{Kind: dmflow.KindReferral, Referral: &dmflow.Referral{Ref: "promo"}})), []string(nil))
		c.state("a")
		eq(t, "replies", c.say("ok"), []string{"pick one"})
	})
}

// TestRetryLadder: the n-th failure says retry[n-1]; the max_attempts-th
// says its entry and goes to on_fail; the last entry repeats before that.
func TestRetryLadder(t *testing.T) {
	const src = `
flow: ladder
start: ask
vars: {age: int}
states:
  ask:
    say: [{text: "age?"}]
    ask:
      var: age
      type: number
      retry: %s
      max_attempts: 3
      on_fail: skip
    next: done
  skip:
    say: [{text: "skipped"}]
    end: true
  done: {end: true}
`
	for _, tt := range []struct {
		name, retry string
		want        [][]string
	}{
		{"three entries", `[{text: r1}, {text: r2}, {text: r3}]`, [][]string{{"r1"}, {"r2"}, {"r3", "skipped"}}},
		{"two entries", `[{text: r1}, {text: r2}]`, [][]string{{"r1"}, {"r2"}, {"skipped"}}},
		{"one entry repeats", `[{text: r1}]`, [][]string{{"r1"}, {"r1"}, {"skipped"}}},
		{"no ladder: the question again", `[]`, [][]string{{"age?"}, {"age?"}, {"skipped"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newConv(t, load(t, fmt.Sprintf(src, tt.retry)))
			c.say("hi")
			for i, want := range tt.want {
				eq(t, fmt.Sprintf("failure %d", i+1), c.say("no"), want)
			}
			c.state("skip")
		})
	}
}

// TestNumbers: how ask type number reads what people type, into int and
// float variables. nil = rejected with the reprompt.
func TestNumbers(t *testing.T) {
	const src = `
flow: nums
start: pick
vars: {i: int, f: float}
states:
  pick:
    on:
      - keywords: [int]
        goto: int
      - goto: float
  int:
    ask: {var: i, type: number, retry: [{text: again}]}
    next: pick
  float:
    ask: {var: f, type: number, retry: [{text: again}]}
    next: pick
`
	e := load(t, src)
	for _, tt := range []struct {
		in       string
		int, flt any // nil: rejected
	}{
		{"42", 42, 42.0},
		{"-5", -5, -5.0},
		{"+7", 7, 7.0},
		{"−3", -3, -3.0}, // U+2212 minus sign
		{"12,000", 12000, 12000.0},
		{"1,234,567", 1234567, 1234567.0},
		{"1.234.567", 1234567, 1234567.0},
		{"12 000", 12000, 12000.0},
		{"12\u00a0000", 12000, 12000.0},
		{"12\u2009000", 12000, 12000.0},
		{"12\u202f000", 12000, 12000.0},
		{"12.000", nil, nil}, // 12 or 12000: ambiguous, asked again
		{"12.0", 12, 12.0},
		{"12.5", nil, 12.5}, // fractional: never truncated into an int
		{"3,14", nil, 3.14},
		{"0,500", nil, 0.5},
		{"0.500", nil, 0.5},
		{".5", nil, 0.5},
		{"1,234.56", nil, 1234.56},
		{"1.234,56", nil, 1234.56},
		{"1 234,5", nil, 1234.5},
		{"12,000.00", 12000, 12000.0},
		{"1e4", 10000, 10000.0},
		{"2.5e-1", nil, 0.25},
		{"12k", nil, nil},
		{"$5", nil, nil},
		{"1 2", nil, nil},
		{"1,23,456", nil, nil},
		{"1,234.567.8", nil, nil},
		{"12.", nil, nil},
		{"--5", nil, nil},
		{"", nil, nil},
		{"٣", 3, 3.0},
		{"٤٢", 42, 42.0},
		{"٣٫٥", nil, 3.5},
		{"١٢٬٠٠٠", 12000, 12000.0},
		{"۱۲", 12, 12.0}, // Eastern Arabic-Indic (Persian)
		{"NaN", nil, nil},
		{"1e999", nil, nil},
		{"99999999999999999999", nil, 1e20}, // beyond an int
	} {
		for _, target := range []struct {
			kw, v string
			want  any
		}{{"int", "i", tt.int}, {"float", "f", tt.flt}} {
			t.Run(target.kw+"/"+tt.in, func(t *testing.T) {
				c := newConv(t, e)
				c.say("hi")
				c.say(target.kw)
				c.state(target.kw)
				got := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: tt.in, Attachments: nil})
				if target.want == nil {
					c.state(target.kw)
					eq(t, "replies", texts(got), []string{"again"})
					return
				}
				c.state("pick")
				eq(t, target.v, c.s.Vars[target.v], target.want)
			})
		}
	}
}

// TestHandoffTimeout: a handoff state's timeout fires while handed off when
// no agent answered: the handoff ends, the say goes out untagged, the
// session goes to the timeout's goto (else the handoff's next). An agent's
// echo cancels it; user messages do not.
func TestHandoffTimeout(t *testing.T) {
	const src = `
flow: h
start: menu
triggers:
  - keywords: [agent]
    goto: human
states:
  menu:
    say: [{text: menu}]
    on: [{say: [{text: "?"}]}]
  human:
    say: [{text: "connecting"}]
    handoff: {next: back}
    timeout:
      after: 2h
      say: [{text: "No agent answered within 2 h, sorry."}]
      %s
  back: {say: [{text: "bot is back"}], next: menu}
  sorry: {say: [{text: "leave a message"}], on: [{goto: menu}]}
`
	t.Run("say and goto", func(t *testing.T) {
		c := newConv(t, load(t, fmt.Sprintf(src, "goto: sorry")))
		c.say("hi")
		c.say("agent")
		c.now = t0.Add(time.Hour)
		eq(t, "silent", c.say("hello?"), []string(nil))
		turn := c.fire("timeout:human")
		eq(t, "replies", texts(turn), []string{"No agent answered within 2 h, sorry.", "leave a message"})
		eq(t, "untagged", turn.Replies[0].Tag, "")
		if c.s.Handoff != nil {
			t.Fatalf("still handed off: %+v", c.s.Handoff)
		}
		c.state("sorry")
		eq(t, "notices", notices(turn)[0], dmflow.NoticeHandoffEnded)
		for _, tm := range c.s.Timers {
			if tm.Name == "handoff" {
				t.Fatalf("release timer left: %+v", c.s.Timers)
			}
		}
	})
	t.Run("without goto: as a release", func(t *testing.T) {
		c := newConv(t, load(t, fmt.Sprintf(src, "")))
		c.say("hi")
		c.say("agent")
		eq(t, "replies", texts(c.fire("timeout:human")), []string{"No agent answered within 2 h, sorry.", "bot is back", "menu"})
		c.state("menu")
	})
	t.Run("an agent answered", func(t *testing.T) {
		c := newConv(t, load(t, fmt.Sprintf(src, "goto: sorry")))
		c.say("hi")
		c.say("agent")
		c.step(dmflow.Event{Kind: dmflow.KindEcho, Text: "Hi, Ann here", MID: "e1"})
		for _, tm := range c.s.Timers {
			if tm.Name == "timeout:human" {
				t.Fatalf("timeout still armed after the agent answered: %+v", c.s.Timers)
			}
		}
		if c.s.Handoff == nil {
			t.Fatal("handoff ended")
		}
	})
}

// TestExprBudget: a step's expressions share a loop budget (deterministic)
// and a time budget (checked every 64 iterations with Options.Clock); past
// either, the expression fails with a traced run-time error and the step
// goes on.
func TestExprBudget(t *testing.T) {
	const src = `
flow: b
start: s
vars: {out: string, n: int}
states:
  s:
    on:
      - keywords: [ops]
        set: {n: 'reduce(1..200000, #acc + 1, 0)'}
        say: [{text: "n={{ n }}"}]
      - keywords: [small]
        set: {n: 'reduce(1..50, #acc + 1, 0)'}
        say: [{text: "n={{ n }}"}]
      - set: {out: 'reduce(1..90000, #acc + event.text, "")'}
        say: [{text: "len={{ len(out) }}"}]
`
	b := load(t, src).Bundle()
	var reads int
	fake := func() time.Time { reads++; return t0.Add(time.Duration(reads) * time.Second) }
	e, err := engine.New(b, &engine.Options{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	noTime, err := engine.New(b, &engine.Options{MaxExprTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	stepOn := func(e *engine.Engine, text string) *dmflow.Turn {
		turn, err := e.Step(context.Background(), &dmflow.Session{Key: dmflow.SessionKey{Account: "a", User: "u"}, Flow: "b", FlowVersion: 1, State: "s"},
			dmflow.Event{Kind: dmflow.KindMessage, Key: "k", Account: "a", User: "u", Text: text}, t0)
		if err != nil {
			t.Fatal(err)
		}
		return turn
	}
	step := func(text string) *dmflow.Turn { return stepOn(e, text) }
	turn := step(strings.Repeat("x", 1000)) // ~1 MB per iteration late in the loop: stopped by time
	eq(t, "replies", texts(turn), []string{"len=0"})
	if !hasTrace(turn, "error", "expression budget exceeded: more than 250ms") {
		t.Fatalf("budget error not traced:%s", traceText(turn))
	}
	turn = stepOn(noTime, "ops")
	eq(t, "replies", texts(turn), []string{"n=0"})
	if !hasTrace(turn, "error", "more than 100000 loop iterations") {
		t.Fatalf("op budget not traced:%s", traceText(turn))
	}
	reads = 0
	eq(t, "replies", texts(step("small")), []string{"n=50"})
	eq(t, "clock reads under 64 iterations", reads, 0)
}

// TestTextPartsCap: rendered text that would split into more than
// dmflow.MaxTextParts messages is cut (traced); shorter text is untouched.
func TestTextPartsCap(t *testing.T) {
	e := load(t, `
flow: t
start: s
states:
  s:
    on:
      - say: [{text: "You said: {{ event.text }}"}]
`)
	for _, n := range []int{10, 900, 4000, 20000} {
		c := newConv(t, e)
		c.say("hi")
		in := strings.Repeat("word ", n/5)
		turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: in})
		got := turn.Replies[0].Reply.Text
		parts := dmflow.SplitText(got, dmflow.MaxTextBytes)
		if len(parts) > dmflow.MaxTextParts {
			t.Fatalf("%d bytes: %d parts", n, len(parts))
		}
		cut := hasTrace(turn, "truncated", "cut to")
		if want := len(dmflow.SplitText("You said: "+in, dmflow.MaxTextBytes)) > dmflow.MaxTextParts; cut != want {
			t.Fatalf("%d bytes: truncated %v, want %v:%s", n, cut, want, traceText(turn))
		}
		if !cut && got != "You said: "+in {
			t.Fatalf("%d bytes: text changed", n)
		}
	}
}

// TestOperatorSend (issue 13, item 2): an operator's message (admin send)
// is one reply tagged HUMAN_AGENT exactly while the conversation is handed
// off (dmflow.OperatorTag), keeps the user's last message time for the
// sender's window check, counts as the agent's answer in a handoff (the
// idle release timer restarts) and changes neither state nor handoff.
func TestOperatorSend(t *testing.T) {
	e := load(t, handoffFlow)
	send := func(c *conv, text string) *dmflow.Turn {
		t.Helper()
		return c.step(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminSend, By: "anna",
			Reply: &dmflow.Reply{Kind: dmflow.ReplyText, Text: text}}})
	}
	tests := []struct {
		name      string
		handedOff bool
		tag       string
	}{
		{"not handed off: untagged", false, ""},
		{"handed off: HUMAN_AGENT", true, dmflow.TagHumanAgent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConv(t, e)
			c.say("hi")
			if tt.handedOff {
				c.say("agent")
			}
			state, handoff := c.s.State, c.s.Handoff
			c.now = t0.Add(time.Hour)
			turn := send(c, "Anna here")
			if len(turn.Replies) != 1 {
				t.Fatalf("replies: %+v", turn.Replies)
			}
			r := turn.Replies[0]
			eq(t, "text", r.Reply.Text, "Anna here")
			eq(t, "tag", r.Tag, tt.tag)
			eq(t, "last inbound", r.LastInbound, t0)
			eq(t, "state", c.s.State, state)
			eq(t, "handoff", c.s.Handoff, handoff)
			if tt.handedOff {
				eq(t, "release timer restarted", c.s.Timers[0].Due, t0.Add(3*time.Hour))
			}
		})
	}
	t.Run("no message", func(t *testing.T) {
		c := newConv(t, e)
		c.say("hi")
		if _, err := c.try(dmflow.Event{Kind: dmflow.KindAdmin, Admin: &dmflow.AdminCommand{Op: dmflow.AdminSend}}); !errors.Is(err, dmflow.ErrInvalid) {
			t.Fatalf("send without a message: %v", err)
		}
	})
	t.Run("no session: nothing sent", func(t *testing.T) {
		c := newConv(t, e)
		eq(t, "replies", texts(send(c, "hello?")), []string(nil))
	})
}
