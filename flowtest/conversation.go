package flowtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/store/mem"
)

// Stepper is the engine as a conversation uses it (*engine.Engine).
type Stepper interface {
	Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error)
}

// AnswerFunc answers an action call: the result to feed back, or ok=false
// to leave the call pending (chat answers it later with Result).
type AnswerFunc func(ctx context.Context, call dmflow.ActionCall) (m *Mock, ok bool, err error)

// Config starts a Conversation.
type Config struct {
	Engine Stepper
	Key    dmflow.SessionKey
	// Clock is the fake clock's start; only Advance moves it.
	Clock time.Time
	// Store holds the session (nil: a fresh store/mem). Every turn's
	// session goes through its Commit as the bot's worker commits it: the
	// version check and bump, the record codec, the timer index.
	Store dmflow.Store
	// Start, when set, is committed as the session before the first event
	// (a transcript's start:, profile: or flow:). Its Version is ignored.
	Start *dmflow.Session
	// Answer answers action calls (nil: every call stays pending).
	Answer AnswerFunc
	// OnTurn sees every turn (coverage).
	OnTurn func(*dmflow.Turn)
	// Channel is the Event.Channel of the user's events (default
	// DefaultChannel).
	Channel string
	// Platform is what Instagram answers for the user's profile (nil: the
	// lookup fails, e.g. no consent); SetPlatformProfile changes it.
	Platform *dmflow.Profile
}

// Conversation runs one user's session through the real engine with a fake
// clock, the way the bot's worker does: one Step per event, the Turn's
// session committed to the store, each action call answered and its result
// fed back as the next event, due timers fired in due order as the
// server's timer index fires them, and each reply given the 24 h messaging
// window's verdict the sender would give it (dmflow.CheckWindow).
type Conversation struct {
	eng     Stepper
	channel string
	key     dmflow.SessionKey
	store   dmflow.Store
	sess    *dmflow.Session // nil: no session yet
	now     time.Time
	seq     int
	taps    []Tappable // what the user can tap now (see mergeTaps)
	answer  AnswerFunc
	onTurn  func(*dmflow.Turn)
	// platform is what Instagram answers for the user's profile; the
	// session gets it when the bot would fetch it (bot.ProfileDue).
	platform *dmflow.Profile
}

// NewConversation starts a conversation; the session already in cfg.Store
// (chat --store FILE.db) or cfg.Start is where it resumes.
func NewConversation(ctx context.Context, cfg Config) (*Conversation, error) {
	c := &Conversation{eng: cfg.Engine, channel: cmp.Or(cfg.Channel, DefaultChannel), key: cfg.Key, store: cfg.Store, now: cfg.Clock, answer: cfg.Answer, onTurn: cfg.OnTurn, platform: cfg.Platform}
	if c.store == nil {
		c.store = mem.New(nil)
	}
	if cfg.Start != nil {
		s := cfg.Start.Clone()
		s.Key, s.Version = cfg.Key, 0
		if err := c.store.Commit(ctx, dmflow.Commit{Owner: commitOwner, Key: cfg.Key, Session: s, Now: c.now}); err != nil {
			return nil, fmt.Errorf("start session: %w", err)
		}
	}
	s, err := c.store.GetSession(ctx, cfg.Key)
	switch {
	case errors.Is(err, dmflow.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		c.sess = s
	}
	return c, nil
}

// commitOwner names the conversation's commits (no inbox lease is held).
const commitOwner = "dmflow-flowtest"

// Session is the current session (nil: none yet, or reset).
func (c *Conversation) Session() *dmflow.Session { return c.sess }

// Now is the fake clock's time.
func (c *Conversation) Now() time.Time { return c.now }

// Channel is the Event.Channel of the user's events.
func (c *Conversation) Channel() string { return c.channel }

// Key is the conversation's session key.
func (c *Conversation) Key() dmflow.SessionKey { return c.key }

// Taps lists what the user can tap now: the chips and buttons of the last
// replies, then postback buttons of earlier ones.
func (c *Conversation) Taps() []Tappable { return c.taps }

// Say sends a text message from the user.
func (c *Conversation) Say(ctx context.Context, text string) (*Outcome, error) {
	return c.Send(ctx, &Input{Kind: "user", Text: text})
}

// Tap taps the chip or button titled title (case-insensitive).
func (c *Conversation) Tap(ctx context.Context, title string) (*Outcome, error) {
	return c.Send(ctx, &Input{Kind: "tap", Title: title})
}

// Outcome is what one input produced, over all the steps it took (the
// event itself, answered actions, fired timers).
type Outcome struct {
	Replies []dmflow.Outgoing
	// Windows holds, per reply, the messaging-window verdict at the fake
	// clock's time of the step that made it (dmflow.CheckWindow, as the
	// sender decides): a reply it refuses is dead-lettered by serve.
	Windows []dmflow.Window
	Actions []dmflow.ActionCall
	Pending []dmflow.ActionCall // calls left unanswered
	Trace   []dmflow.TraceEntry
}

// Texts returns the text of each reply (cards and media as chat prints them).
func (o *Outcome) Texts() []string {
	out := make([]string, len(o.Replies))
	for i, r := range o.Replies {
		var b strings.Builder
		(&ReplyPrinter{W: &b}).Print(r)
		out[i] = strings.TrimRight(b.String(), "\n")
	}
	return out
}

// maxChain bounds the events one input may cause (action results, timers).
const maxChain = 64

// Send handles one input (a transcript step's input).
func (c *Conversation) Send(ctx context.Context, in *Input) (*Outcome, error) {
	if in.Kind == "advance" {
		return c.Advance(ctx, in.After)
	}
	c.seq++
	ev, err := eventFor(in, c.channel, c.key, c.now, fmt.Sprintf("mid-%d", c.seq), c.taps)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	return out, c.step(ctx, ev, out)
}

// SetPlatformProfile changes what Instagram answers for the user's profile
// from now on (a transcript step's profile:, e.g. the user followed).
func (c *Conversation) SetPlatformProfile(p *dmflow.Profile) { c.platform = p }

// withProfile gives the session the platform's profile before ev is
// stepped, by the bot's rule (bot.ProfileDue, bot.DefaultProfileTTL).
func (c *Conversation) withProfile(ev *dmflow.Event) {
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

// withMedia keeps a comment's caption and permalink (what the platform
// would answer, from the transcript) only when a flow asks for them, as
// the bot looks them up only then (bot.MediaAsker).
func (c *Conversation) withMedia(ev *dmflow.Event) {
	if ev.Comment == nil || ev.Comment.Caption == "" && ev.Comment.Permalink == "" {
		return
	}
	if a, ok := c.eng.(bot.MediaAsker); ok && a.LooksUpMedia() {
		return
	}
	cm := *ev.Comment
	cm.Caption, cm.Permalink = "", ""
	ev.Comment = &cm
}

// step runs one event and answers the action calls it makes.
func (c *Conversation) step(ctx context.Context, ev dmflow.Event, out *Outcome) error {
	c.withProfile(&ev)
	c.withMedia(&ev)
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
		next, err := c.answerCalls(ctx, turn.Actions, out)
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
// template buttons Tappable; quick replies vanish with the next message).
func mergeTaps(latest, earlier []Tappable) []Tappable {
	out := append([]Tappable(nil), latest...)
	for _, t := range earlier {
		if t.Postback && !hasTitle(out, t.Title) {
			out = append(out, t)
		}
	}
	return out
}

func hasTitle(ts []Tappable, title string) bool {
	for _, t := range ts {
		if t.Title == title {
			return true
		}
	}
	return false
}

// apply makes the turn's session current and collects its effects.
func (c *Conversation) apply(ctx context.Context, turn *dmflow.Turn, out *Outcome) error {
	if turn.Session != nil || turn.Delete {
		if err := c.commit(ctx, turn); err != nil {
			return err
		}
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

// commit writes the turn's session as the bot's worker does (without an
// inbox item and without outbox messages: the outcome holds the replies)
// and reads it back as stored: its Version bumped, through the codec.
func (c *Conversation) commit(ctx context.Context, turn *dmflow.Turn) error {
	cm := dmflow.Commit{Owner: commitOwner, Key: c.key, Session: turn.Session, Delete: turn.Delete, Now: c.now}
	if turn.Delete {
		cm.Session = nil
	}
	if err := c.store.Commit(ctx, cm); err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	if turn.Delete {
		c.sess = nil
		return nil
	}
	s, err := c.store.GetSession(ctx, c.key)
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	c.sess = s
	return nil
}

func (c *Conversation) answerCalls(ctx context.Context, calls []dmflow.ActionCall, out *Outcome) ([]dmflow.Event, error) {
	var evs []dmflow.Event
	for _, call := range calls {
		m, ok, err := c.answerFor(ctx, call)
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

func (c *Conversation) answerFor(ctx context.Context, call dmflow.ActionCall) (*Mock, bool, error) {
	if c.answer == nil {
		return nil, false, nil
	}
	return c.answer(ctx, call)
}

// Result feeds the result of a pending action call (chat's /result).
func (c *Conversation) Result(ctx context.Context, call dmflow.ActionCall, m *Mock) (*Outcome, error) {
	ev, err := resultEvent(c.key, call, m, c.now)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}
	return out, c.step(ctx, ev, out)
}

// Advance moves the clock by d, firing each session timer that comes due on
// the way at its due time, in due order, as the server's timer index does.
func (c *Conversation) Advance(ctx context.Context, d time.Duration) (*Outcome, error) {
	outs, err := advanceAll(ctx, []*Conversation{c}, d)
	return outs[0], err
}

// advanceAll moves the shared clock of several users' conversations (all at
// the same time) by d, firing every session timer that comes due on the
// way, across users, in due order, each at its due time. outs[i] is what
// convs[i]'s timers produced.
func advanceAll(ctx context.Context, convs []*Conversation, d time.Duration) ([]*Outcome, error) {
	end := convs[0].now.Add(d)
	outs := make([]*Outcome, len(convs))
	for i := range outs {
		outs[i] = &Outcome{}
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
func nextDue(convs []*Conversation, end time.Time) (int, dmflow.Timer, bool) {
	best, bt, found := -1, dmflow.Timer{}, false
	for i, c := range convs {
		if t, ok := c.nextTimer(end); ok && (!found || t.Due.Before(bt.Due)) {
			best, bt, found = i, t, true
		}
	}
	return best, bt, found
}

// nextTimer returns the session's earliest timer due at or before end.
func (c *Conversation) nextTimer(end time.Time) (dmflow.Timer, bool) {
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
