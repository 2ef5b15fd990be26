package sandbox

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
)

// Bot is what the studio needs from the running pipeline; *bot.Bot
// implements it.
type Bot interface {
	Command(ctx context.Context, key dmflow.SessionKey, cmd dmflow.AdminCommand) (string, error)
	// Send queues an operator's message (tagged HUMAN_AGENT in a handed-off
	// conversation), refusing what the messaging window no longer allows.
	Send(ctx context.Context, key dmflow.SessionKey, m bot.OperatorMessage) (string, error)
	FireTimersNow(ctx context.Context, at time.Time) (int, error)
	Reload(ctx context.Context) error
	Engine() bot.Engine
	OnStep(fn func(bot.Step)) (remove func())
}

// Sessions reads stored sessions and their history; dmflow.Store
// implements it.
type Sessions interface {
	GetSession(ctx context.Context, key dmflow.SessionKey) (*dmflow.Session, error)
	// History is the user's stored events with the replies each turn sent
	// (the studio's "Export as test").
	History(ctx context.Context, key dmflow.SessionKey, limit int) ([]dmflow.InboxItem, error)
}

// Step is one engine step as the flow pane shows it: what came in, where
// the session was and went, the trace, and the session afterwards.
type Step struct {
	Event StepEvent `json:"event"`
	// Before is the state the step started in ("" for a new session).
	Before string `json:"before,omitempty"`
	// Flow and State are where the session is after the step.
	Flow  string `json:"flow,omitempty"`
	State string `json:"state,omitempty"`
	// Visits are the states entered and transitions taken, in order.
	Visits []Visit             `json:"visits,omitempty"`
	Trace  []dmflow.TraceEntry `json:"trace,omitempty"`
	// Session is the session after the step (nil once deleted).
	Session *dmflow.Session `json:"session,omitempty"`
	// Locale is the locale the session's texts render in ("" when the
	// flows declare no locales).
	Locale  string `json:"locale,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	Replies int    `json:"replies"`
	Error   string `json:"error,omitempty"`
}

// StepEvent is the gist of the event a step handled.
type StepEvent struct {
	Kind    dmflow.EventKind `json:"kind"`
	Channel string           `json:"channel,omitempty"` // event.channel
	Summary string           `json:"summary"`
}

// Visit is a state entered ("enter") or a transition taken ("edge"); Name
// is the state or the engine's Edge.Name.
type Visit struct {
	What string `json:"what"`
	Flow string `json:"flow"`
	Name string `json:"name"`
}

// observe records a step of one of the sandbox accounts' users (or the
// Messenger Page's) in the feed.
func (s *Sandbox) observe(st bot.Step) {
	if !slices.Contains(s.Accounts(), st.Event.Account) && (s.cfg.Messenger == nil || st.Event.Account != s.cfg.Messenger.Page) {
		return
	}
	v := newStep(st)
	v.Locale = s.locale(v.Session)
	s.order.Lock() // after the Say that delivered the event has recorded it
	defer s.order.Unlock()
	s.feed.add(Message{User: st.Event.User, Account: st.Event.Account, From: FromEngine, Time: st.Now.UTC(), Step: &v})
	if st.Turn == nil || st.Err != nil {
		return
	}
	// The sender applies the same rule with the same clock and dead-letters
	// these, so they never reach the Graph API double: mark them here.
	for _, r := range st.Turn.Replies {
		if w := dmflow.CheckWindow(r, st.Now); !w.OK {
			rep := r.Reply
			s.feed.add(Message{User: st.Event.User, Account: st.Event.Account, From: FromBot, Time: st.Now.UTC(), Undelivered: w.Text(), Reply: &rep})
		}
	}
}

func newStep(st bot.Step) Step {
	// The bot goes on to update the Turn's session when it commits: keep copies.
	v := Step{Event: StepEvent{Kind: st.Event.Kind, Channel: st.Event.Channel, Summary: summary(&st.Event)}, Session: st.Before.Clone()}
	if st.Before != nil {
		v.Before = st.Before.State
	}
	if st.Err != nil {
		v.Error = st.Err.Error()
	}
	if t := st.Turn; t != nil {
		v.Trace, v.Replies, v.Deleted = t.Trace, len(t.Replies), t.Delete
		if t.Session != nil {
			v.Session = t.Session.Clone()
		}
		if t.Delete {
			v.Session = nil
		}
		for _, x := range engine.Visits(t.Trace) {
			v.Visits = append(v.Visits, Visit{What: x.What, Flow: x.Flow, Name: x.Name})
		}
	}
	if v.Session != nil {
		v.Flow, v.State = v.Session.Flow, v.Session.State
	}
	return v
}

// summary is a one-line description of ev for the trace list.
func summary(ev *dmflow.Event) string {
	parts := []string{string(ev.Kind)}
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+v)
		}
	}
	add("", quoteShort(ev.Text))
	add("payload ", ev.Payload)
	if ev.Timer != nil {
		add("timer ", ev.Timer.Name)
	}
	if ev.Admin != nil {
		add("", ev.Admin.Op+" "+ev.Admin.State)
	}
	if ev.Reaction != nil {
		add("", ev.Reaction.Action+" "+ev.Reaction.Reaction)
	}
	if ev.Referral != nil {
		add("ref ", ev.Referral.Ref)
	}
	for _, a := range ev.Attachments {
		add("", a.Type)
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

func quoteShort(s string) string {
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return `"` + s + `"`
}
