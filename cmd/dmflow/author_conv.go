package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

// stepper is the engine as the authoring tools use it.
type stepper interface {
	Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error)
}

// conversation runs one user's session through the real engine in memory,
// with a fake clock, the way the bot's worker does: one Step per event, the
// session replaced by the Turn's, Version bumped as a store commit would.
type conversation struct {
	eng  stepper
	key  dmflow.SessionKey
	sess *dmflow.Session // nil: no session yet
	now  time.Time
	seq  int
	taps []tappable // what the user can tap now (see mergeTaps)
	// answer returns the mocked result of an action call; ok=false leaves
	// the call pending (chat answers it later with result).
	answer func(call dmflow.ActionCall) (m *mockSpec, ok bool, err error)
	// save persists a turn's session (nil: delete it) and returns it as
	// stored; without save the session lives in memory only.
	save func(ctx context.Context, s *dmflow.Session) (*dmflow.Session, error)
	// onTurn sees every turn (coverage).
	onTurn func(*dmflow.Turn)
	// platform is what Instagram answers for the user's profile (nil: the
	// lookup fails, e.g. no consent); the session gets it when the bot
	// would fetch it (bot.ProfileDue).
	platform *dmflow.Profile
}

// withProfile gives the session the platform's profile before ev is
// stepped, by the bot's rule (bot.ProfileDue, bot.DefaultProfileTTL).
func (c *conversation) withProfile(ev *dmflow.Event) {
	if c.platform == nil {
		return
	}
	refresh := false
	if r, ok := c.eng.(bot.ProfileRefresher); ok && c.sess != nil {
		refresh = r.RefreshesProfile(c.sess.Flow, c.sess.State)
	}
	if !bot.ProfileDue(c.sess, ev, c.now, bot.DefaultProfileTTL, refresh) {
		return
	}
	p := c.platform.Clone()
	p.Fetched = c.now
	if c.sess == nil {
		c.sess = &dmflow.Session{Key: c.key, Created: c.now}
	}
	c.sess.Profile = &p
}

// outcome is what one input produced, over all the steps it took (the
// event itself, answered actions, fired timers).
type outcome struct {
	Replies []dmflow.Outgoing
	// Windows holds, per reply, the messaging-window verdict at the fake
	// clock's time of the step that made it (dmflow.CheckWindow, as the
	// sender decides): a reply it refuses is dead-lettered by serve.
	Windows []dmflow.Window
	Actions []dmflow.ActionCall
	Pending []dmflow.ActionCall // calls left unanswered
	Trace   []dmflow.TraceEntry
}

// maxChain bounds the events one input may cause (action results, timers).
const maxChain = 64

// send handles one input.
func (c *conversation) send(ctx context.Context, in *input) (*outcome, error) {
	if in.Kind == "advance" {
		return c.advance(ctx, in.After)
	}
	c.seq++
	ev, err := eventFor(in, c.key, c.now, fmt.Sprintf("mid-%d", c.seq), c.taps)
	if err != nil {
		return nil, err
	}
	out := &outcome{}
	return out, c.step(ctx, ev, out)
}

// step runs one event and answers the action calls it makes.
func (c *conversation) step(ctx context.Context, ev dmflow.Event, out *outcome) error {
	c.withProfile(&ev)
	queue := []dmflow.Event{ev}
	for n := 0; len(queue) > 0; n++ {
		if n == maxChain {
			return fmt.Errorf("more than %d chained events (action results); is a flow looping through actions?", maxChain)
		}
		ev, queue = queue[0], queue[1:]
		turn, err := c.eng.Step(ctx, c.sess, ev, c.now)
		if err != nil {
			return err
		}
		if err := c.apply(ctx, turn, out); err != nil {
			return err
		}
		next, err := c.answerCalls(turn.Actions, out)
		if err != nil {
			return err
		}
		queue = append(queue, next...)
	}
	if len(out.Replies) > 0 {
		c.taps = mergeTaps(replyTaps(out.Replies), c.taps)
	}
	return nil
}

// mergeTaps is what the user can tap after new replies: their quick replies
// and buttons, then the postback buttons of earlier replies (Instagram keeps
// template buttons tappable; quick replies vanish with the next message).
func mergeTaps(latest, earlier []tappable) []tappable {
	out := append([]tappable(nil), latest...)
	for _, t := range earlier {
		if t.Postback && !hasTitle(out, t.Title) {
			out = append(out, t)
		}
	}
	return out
}

func hasTitle(ts []tappable, title string) bool {
	for _, t := range ts {
		if t.Title == title {
			return true
		}
	}
	return false
}

// apply makes the turn's session current and collects its effects.
func (c *conversation) apply(ctx context.Context, turn *dmflow.Turn, out *outcome) error {
	if turn.Session != nil || turn.Delete {
		var s *dmflow.Session
		if !turn.Delete {
			s = turn.Session.Clone()
		}
		if c.save != nil {
			var err error
			if s, err = c.save(ctx, s); err != nil {
				return err
			}
		} else if s != nil {
			s.Version++ // as a store's commit does; the engine derives ids from it
		}
		c.sess = s
	}
	out.Replies = append(out.Replies, turn.Replies...)
	for _, r := range turn.Replies {
		out.Windows = append(out.Windows, dmflow.CheckWindow(r, c.now))
	}
	out.Actions = append(out.Actions, turn.Actions...)
	out.Trace = append(out.Trace, turn.Trace...)
	if c.onTurn != nil {
		c.onTurn(turn)
	}
	return nil
}

func (c *conversation) answerCalls(calls []dmflow.ActionCall, out *outcome) ([]dmflow.Event, error) {
	var evs []dmflow.Event
	for _, call := range calls {
		m, ok, err := c.answerFor(call)
		if err != nil {
			return nil, err
		}
		if !ok {
			out.Pending = append(out.Pending, call)
			continue
		}
		ev, err := resultEvent(c.key, call, m, c.now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func (c *conversation) answerFor(call dmflow.ActionCall) (*mockSpec, bool, error) {
	if c.answer == nil {
		return nil, false, nil
	}
	return c.answer(call)
}

// result feeds the outcome of a pending action call (chat's /result).
func (c *conversation) result(ctx context.Context, call dmflow.ActionCall, m *mockSpec) (*outcome, error) {
	ev, err := resultEvent(c.key, call, m, c.now)
	if err != nil {
		return nil, err
	}
	out := &outcome{}
	return out, c.step(ctx, ev, out)
}

// advance moves the clock by d, firing each session timer that comes due on
// the way at its due time, in due order, as the server's timer index does.
func (c *conversation) advance(ctx context.Context, d time.Duration) (*outcome, error) {
	outs, err := advanceAll(ctx, []*conversation{c}, d)
	return outs[0], err
}

// advanceAll moves the shared clock of several users' conversations (all at
// the same time) by d, firing every session timer that comes due on the
// way, across users, in due order, each at its due time. outs[i] is what
// convs[i]'s timers produced.
func advanceAll(ctx context.Context, convs []*conversation, d time.Duration) ([]*outcome, error) {
	end := convs[0].now.Add(d)
	outs := make([]*outcome, len(convs))
	for i := range outs {
		outs[i] = &outcome{}
	}
	for n := 0; ; n++ {
		i, t, ok := nextDue(convs, end)
		if !ok {
			break
		}
		if n == maxChain*len(convs) {
			return outs, fmt.Errorf("more than %d timers fired within %s; is a timeout re-arming itself with a tiny delay?", maxChain, d)
		}
		for _, c := range convs {
			if t.Due.After(c.now) {
				c.now = t.Due
			}
		}
		if err := convs[i].step(ctx, timerEvent(convs[i].key, t), outs[i]); err != nil {
			return outs, err
		}
	}
	for _, c := range convs {
		c.now = end
	}
	return outs, nil
}

// nextDue returns the earliest timer due at or before end over convs (the
// first conversation's on a tie) and whose it is.
func nextDue(convs []*conversation, end time.Time) (int, dmflow.Timer, bool) {
	best, bt, found := -1, dmflow.Timer{}, false
	for i, c := range convs {
		if t, ok := c.nextTimer(end); ok && (!found || t.Due.Before(bt.Due)) {
			best, bt, found = i, t, true
		}
	}
	return best, bt, found
}

// nextTimer returns the session's earliest timer due at or before end.
func (c *conversation) nextTimer(end time.Time) (dmflow.Timer, bool) {
	if c.sess == nil || len(c.sess.Timers) == 0 {
		return dmflow.Timer{}, false
	}
	ts := append([]dmflow.Timer(nil), c.sess.Timers...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Due.Before(ts[j].Due) })
	if ts[0].Due.After(end) {
		return dmflow.Timer{}, false
	}
	return ts[0], true
}
