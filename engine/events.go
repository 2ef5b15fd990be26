package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// handoffTimer is the Timer.Name of a handoff's idle release.
const handoffTimer = "handoff"

// handoff gives the conversation to a human: the bot stays silent until
// released. release is the idle time before the bot takes it back (0: the
// Options default).
func (st *step) handoff(reason *flows.Template, by string, release time.Duration) {
	r := st.text(reason)
	if r == "" {
		r = by
	}
	st.startHandoff(r, by, release)
}

func (st *step) startHandoff(reason, by string, release time.Duration) {
	s := st.s
	if s.State != "" {
		st.count(dmflow.CountHandoff, s.State)
	}
	s.Handoff = &dmflow.Handoff{Since: st.now, Reason: reason, By: by}
	s.Deferred = nil
	st.envM = nil // user.handed_off changed
	if release == 0 {
		release = st.e.opts.HandoffRelease
	}
	if release > 0 {
		st.arm(handoffTimer, release)
	}
	st.notice(dmflow.NoticeHandoffStarted, map[string]any{"by": by, "reason": reason})
	st.tracef("handoff", "", "handed off to a human (", by, ": ", reason, ")")
}

// endHandoff ends the current handoff (by names who ended it). When
// another app owns the thread and the end comes from the bot's side (idle
// release, admin, timeout), the bot takes the thread back first; a pass
// back from the inbox (by "inbox") needs no call.
func (st *step) endHandoff(by string) {
	s := st.s
	if s.Handoff != nil && s.Handoff.Inbox && by != "inbox" {
		st.threadControl(dmflow.ThreadTake, "")
	}
	s.Handoff = nil
	st.envM = nil
	st.disarm(handoffTimer)
	st.notice(dmflow.NoticeHandoffEnded, map[string]any{"by": by})
}

// threadControl queues a thread-control change (conversation routing)
// through the outbox, in order with the turn's messages.
func (st *step) threadControl(action, metadata string) {
	s := st.s
	out := dmflow.Outgoing{Key: s.Key, To: dmflow.Recipient{ID: s.Key.User}, Cause: st.ev.Key,
		Reply: dmflow.Reply{Kind: dmflow.ReplyThreadControl, Action: action, Metadata: metadata}}
	st.turn.Replies = append(st.turn.Replies, out)
	st.tracef("handoff", "", "thread control: ", action)
}

// handover applies a thread-control change Meta reported. Meta sends
// pass_thread_control to the app that receives the thread and
// take_thread_control to the app that lost it: a pass ends a handoff in
// which another app owned the thread (the inbox is done; the session
// continues as on release; a handoff an admin started without the inbox
// stays), a take starts one
// (another app owns the thread: the bot is silent). Anything else (a
// request, a pass outside a handoff) is an ordinary passive event for the
// flow's triggers.
func (st *step) handover() error {
	s, h := st.s, st.ev.Handover
	switch {
	case h == nil:
	case h.Action == dmflow.ThreadPass && s.Handoff != nil && s.Handoff.Inbox:
		st.tracef("handoff", "", "thread passed back by app ", h.PrevOwner)
		return st.release("inbox")
	case h.Action == dmflow.ThreadTake:
		if s.Handoff == nil {
			st.startHandoff("thread taken by app "+h.NewOwner, "inbox", 0)
		} else {
			ho := *s.Handoff // the input session's Handoff is not ours to change
			s.Handoff = &ho
		}
		s.Handoff.Inbox = true
		st.trace("skip", "", "another app owns the thread: the bot stays silent")
		return nil
	}
	return st.user(false)
}

// standby handles an event Meta delivered on the standby channel: another
// app owns the thread, so the bot answers nothing. A message starts a
// handoff (By "inbox") when none is on, else restarts its release timer.
func (st *step) standby() error {
	s := st.s
	st.received()
	switch {
	case s.Handoff != nil:
		st.rearmHandoff()
	case st.cls == classInput:
		st.startHandoff("another app owns the thread", "inbox", 0)
		s.Handoff.Inbox = true
	}
	st.trace("skip", "", "standby: another app owns the thread, the bot stays silent")
	return nil
}

// rearmHandoff restarts the idle release timer after activity.
func (st *step) rearmHandoff() {
	for _, t := range st.s.Timers {
		if t.Name == handoffTimer {
			st.arm(handoffTimer, st.releaseAfter())
			return
		}
	}
}

// releaseAfter is the idle time after which the current handoff ends: the
// handoff state's release_after for flow handoffs, else the default.
func (st *step) releaseAfter() time.Duration {
	if si := st.m0().states[st.s.State]; si != nil && si.st.Handoff != nil && st.s.Handoff.By == "flow" && si.st.Handoff.ReleaseAfter > 0 {
		return si.st.Handoff.ReleaseAfter
	}
	return st.e.opts.HandoffRelease
}

// release ends a handoff; the session continues at the handoff state's
// next, or at the flow's start.
func (st *step) release(by string) error {
	s := st.s
	st.endHandoff(by)
	st.tracef("handoff", "", "released by ", by)
	m := st.m0()
	st.use(m, s.State)
	if si := m.states[s.State]; si != nil && si.release != "" {
		return st.fire(si.release)
	}
	return st.fire(m.startEv)
}

// handoffTimeout fires the timeout of a handoff state no agent answered
// in time ("no agent answered within 2 h"): the handoff ends, the
// timeout's say is sent, and the session goes to its goto — or, without
// one, continues as a release does (the handoff's next, else start).
func (st *step) handoffTimeout(si *stateInfo) error {
	s, to := st.s, si.st.Timeout
	st.endHandoff("timeout")
	st.tracef("timer", st.pos(to.Pos), "timeout of handoff state ", s.State, ": no agent answered, the bot takes over")
	st.use(st.m0(), s.State)
	st.say(to.Say)
	switch {
	case si.timeout != "":
		return st.fire(si.timeout)
	case si.release != "":
		return st.fire(si.release)
	}
	return st.fire(st.m.startEv)
}

// echo handles a message the account sent from elsewhere: a human replied,
// so the session is handed off (By "agent"), or its idle timer restarts.
// An agent's reply during a flow handoff cancels the handoff state's
// timeout: an agent answered. An echo is never answered: the turn has no
// replies, not even those of messages an open settle window held (handled
// before the echo), since the person who replied answered them.
func (st *step) echo() error {
	if len(st.turn.Replies) > 0 {
		st.turn.Replies = nil
		st.trace("skip", "", "replies dropped: a human replied from the inbox")
	}
	if st.s.Handoff != nil {
		if st.s.Handoff.By == "flow" {
			st.disarmPrefix("timeout:")
		}
		st.rearmHandoff()
		st.trace("skip", "", "echo while handed off: release timer restarted")
		return nil
	}
	st.startHandoff("human reply from the inbox", "agent", 0)
	return nil
}

// timer handles a durable timeout that came due. Only the session's current
// timers count; anything else is stale.
func (st *step) timer() error {
	s, tf := st.s, st.ev.Timer
	idx := -1
	for i := range s.Timers {
		if tf != nil && s.Timers[i].ID == tf.ID {
			idx = i
		}
	}
	if idx < 0 {
		st.trace("skip", "", "stale timer ignored")
		return nil
	}
	t := s.Timers[idx]
	s.Timers = append(s.Timers[:idx:idx], s.Timers[idx+1:]...)
	if len(s.Timers) == 0 {
		s.Timers = nil
	}
	if t.Name == dropOffTimer {
		return st.droppedOff()
	}
	if t.Name == dmflow.SettleTimer {
		if len(s.Settling) == 0 {
			return nil
		}
		return st.settled("the settle window is over")
	}
	if t.Name == handoffTimer {
		if s.Handoff == nil {
			return nil
		}
		return st.release("timeout")
	}
	if s.Handoff != nil {
		if si := st.m0().states[s.State]; si != nil && si.st.Handoff != nil && s.Handoff.By == "flow" && si.timer == t.Name && si.st.Timeout != nil {
			return st.handoffTimeout(si)
		}
		st.tracef("skip", "", "timer ", t.Name, " while handed off: ignored")
		return nil
	}
	if moved, err := st.resolve(); moved || err != nil || s.State == "" {
		return err
	}
	si := st.m.states[s.State]
	if si.timer != t.Name || si.st.Timeout == nil {
		st.tracef("skip", "", "timer ", t.Name, " does not belong to state ", s.State)
		return nil
	}
	to := si.st.Timeout
	st.tracef("timer", st.pos(to.Pos), "timeout of ", s.State)
	st.say(to.Say)
	if si.timeout != "" {
		return st.fire(si.timeout)
	}
	return nil
}

// actionResult handles the outcome of the pending action: save on success,
// then next / on_error / on_timeout.
func (st *step) actionResult() error {
	s, r := st.s, st.ev.Action
	if r == nil || s.Pending == nil || r.ID != s.Pending.ID {
		st.trace("skip", "", "stale action result ignored")
		return nil
	}
	s.Pending = nil
	if s.State == "" || st.e.machines[s.Flow] == nil {
		return nil
	}
	if moved, err := st.resolve(); moved || err != nil {
		return err
	}
	si := st.m.states[s.State]
	a := si.st.Action
	if a == nil {
		st.tracef("skip", "", "state ", s.State, " has no action")
		return nil
	}
	outcome := r.Outcome
	if !st.save(a, r) && outcome == dmflow.OutcomeOK {
		outcome = dmflow.OutcomeInvalid
	}
	st.tracef("action", st.pos(a.Pos), "result ", outcome, " for ", r.ID)
	if s.Handoff != nil {
		return nil
	}
	ev := si.err
	switch outcome {
	case dmflow.OutcomeOK:
		ev = si.ok
	case dmflow.OutcomeTimeout:
		ev = si.atime
	}
	if ev == "" {
		st.tracef("stay", si.pos, "no transition for outcome ", outcome)
		return nil
	}
	return st.fire(ev)
}

// save runs the action's save assignments with `response` bound, for every
// outcome (response.outcome tells which), so a flow can keep the status or
// error of a failed call. It reports false when the response body is not
// JSON or an assignment fails: it stops there for outcome ok (which then
// becomes invalid) and skips the failing assignment otherwise.
func (st *step) save(a *flows.ActionSpec, r *dmflow.ActionResult) bool {
	ok := r.Outcome == dmflow.OutcomeOK
	if !ok && len(a.Save) == 0 {
		return true
	}
	resp := flows.ResponseEnv{Outcome: r.Outcome, Status: r.Status, Error: r.Error}
	if len(bytes.TrimSpace(r.Body)) > 0 {
		body, err := decodeBody(r.Body)
		if err != nil {
			st.tracef("error", st.pos(a.Pos), "action response is not JSON: ", err.Error())
			if ok {
				return false
			}
		}
		resp.Body = body
	}
	st.envReady()
	st.env["response"] = resp
	defer func() { st.env["response"] = noResponse }()
	all := true
	for _, as := range a.Save {
		v, evaluated := st.eval(as.Value, "save")
		if !evaluated || !st.setVar(as.Var, v) {
			if ok {
				return false
			}
			all = false
		}
	}
	return all
}

// decodeBody decodes an action response body as the `response.body` map
// ({"value": x} for a JSON value that is not an object).
func decodeBody(b []byte) (map[string]any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v = dmflow.NormalizeValue(v)
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return map[string]any{"value": v}, nil
}

// admin runs an operator command.
func (st *step) admin() error {
	s, cmd := st.s, st.ev.Admin
	if cmd == nil {
		return fmt.Errorf("admin event without a command: %w", dmflow.ErrInvalid)
	}
	by := "admin"
	if cmd.By != "" {
		by = cmd.By
	}
	st.tracef("admin", "", cmd.Op, " by ", by)
	switch cmd.Op {
	case dmflow.AdminReset:
		return st.reset()
	case dmflow.AdminMove:
		m := st.m0()
		if m.states[cmd.State] == nil {
			return fmt.Errorf("admin move: flow %s has no state %q: %w", m.flow.Name, cmd.State, dmflow.ErrInvalid)
		}
		if s.Handoff != nil {
			st.endHandoff(by)
		}
		st.use(m, s.State)
		return st.jump(cmd.State, "move")
	case dmflow.AdminRelease:
		if s.Handoff == nil {
			st.trace("skip", "", "not handed off")
			return nil
		}
		return st.release(by)
	case dmflow.AdminHandoff:
		if s.Handoff != nil {
			st.trace("skip", "", "already handed off")
			return nil
		}
		st.startHandoff("admin", "admin", 0)
		return nil
	case dmflow.AdminSend:
		return st.operatorSend(by)
	case dmflow.AdminLocale:
		return st.setLocale(cmd.Locale, by)
	}
	return fmt.Errorf("admin: unknown op %q: %w", cmd.Op, dmflow.ErrInvalid)
}

// setLocale sets the user's locale for an operator (or the studio): it
// stores a supported locale in the main flow's locale variable, the same
// variable the flow's own language choice sets, so user.locale and the
// texts follow from the next reply on. Nothing is said. The variable
// belongs to the main flow: while the session is in a sub-flow the
// command is refused (set it once the sub-flow returned).
func (st *step) setLocale(want, by string) error {
	l, main := st.e.b.Locales, st.e.b.Main
	if err := l.Supports(want); err != nil {
		return fmt.Errorf("admin locale: %w", err)
	}
	if st.s.Flow != main {
		return fmt.Errorf("admin locale: the session is in sub-flow %s, the locale is a variable of the main flow %s: %w", st.s.Flow, main, dmflow.ErrInvalid)
	}
	st.use(st.e.machines[main], st.s.State)
	if !st.setVar(l.Var, want) {
		return fmt.Errorf("admin locale: variable %s refused %q: %w", l.Var, want, dmflow.ErrInvalid)
	}
	st.tracef("set", "", "locale ", want, " (", l.Var, ") by ", by)
	return nil
}

// operatorSend sends an operator's message: tagged HUMAN_AGENT while the
// conversation is handed off (dmflow.OperatorTag; the sender checks it with
// dmflow.CheckWindow and dead-letters it with the reason when the window is
// closed). In a handoff it counts as the agent's answer, like a reply from
// the Instagram inbox: the handoff state's timeout no longer fires and the
// idle release timer restarts. It does not start a handoff.
func (st *step) operatorSend(by string) error {
	s, rep := st.s, st.ev.Admin.Reply
	if rep == nil {
		return fmt.Errorf("admin send: no message: %w", dmflow.ErrInvalid)
	}
	if s.Handoff != nil {
		if s.Handoff.By == "flow" {
			st.disarmPrefix("timeout:")
		}
		st.rearmHandoff()
	}
	if st.turn.Replies == nil {
		st.turn.Replies = make([]dmflow.Outgoing, 0, 1)
	}
	st.turn.Replies = append(st.turn.Replies, dmflow.OperatorOutgoing(s, *rep, st.ev.Key))
	st.tracef("say", "", "operator message by ", by)
	return nil
}

// reset replaces the session with a fresh one (vars at their defaults, no
// timers, stack, handoff or pending action) that enters the main flow's start.
func (st *step) reset() error {
	old := st.s
	if old.Handoff != nil {
		st.notice(dmflow.NoticeHandoffEnded, map[string]any{"by": "reset"})
		if old.Handoff.Inbox {
			st.threadControl(dmflow.ThreadTake, "")
		}
	}
	s := new(dmflow.Session)
	st.e.initSession(s, old.Key, old.Created)
	s.Profile, s.LastInbound, s.Version, s.Updated = old.Profile, old.LastInbound, old.Version, st.now
	if s.Created.IsZero() {
		s.Created = st.now
	}
	st.s, st.turn.Session, st.envM = s, s, nil
	st.own = owned{vars: true, timers: true, stack: true, deferred: true}
	m := st.e.machines[st.e.b.Main]
	st.use(m, "")
	return st.fire(m.startEv)
}
