package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
	"github.com/expr-lang/expr/vm"
	"github.com/looplab/fsm"
)

// class is how an event kind may move a flow.
type class int

const (
	// classInput events (message, postback) answer asks and take any transition.
	classInput class = iota
	// classActive events (reaction, referral, optin, comment) take triggers
	// and start a session, but never answer an ask and reach a state's on
	// entries only when their condition tests event.kind.
	classActive
	// classPassive events (read, delete, edit, echo, unsupported, handover)
	// only take triggers and on transitions whose condition tests event.kind.
	classPassive
)

func classify(k dmflow.EventKind) class {
	switch k {
	case dmflow.KindMessage, dmflow.KindPostback:
		return classInput
	case dmflow.KindReaction, dmflow.KindReferral, dmflow.KindOptin, dmflow.KindComment:
		return classActive
	default:
		return classPassive
	}
}

// step is the scratch state of one Step call. Steps are pooled: the
// embedded stepCall is zeroed between calls, the scratch buffers are kept.
// Nothing in a step outlives the call except the Turn it fills.
type step struct {
	stepCall
	vm      vm.VM
	env     map[string]any // filled lazily, see envReady and need
	userMap map[string]any // `user` in env, reused
	args    []any          // {step}: the fsm.Event argument, allocated once
	buf     []byte
}

// stepCall is the part of a step that belongs to one Step call.
type stepCall struct {
	e     *Engine
	ctx   context.Context
	now   time.Time
	ev    *dmflow.Event
	evIn  dmflow.Event // Step's event, copied here so that it does not escape
	cls   class
	s     *dmflow.Session
	turn  *dmflow.Turn
	m     *machine
	f     *fsm.FSM
	envM  *machine // machine the env was started for (nil = stale)
	evBox any      // flows.EventEnv of ev, boxed on first use
	autos int
	ids   int
	// tracing and notifying say whether Turn.Trace and Turn.Notices are filled.
	tracing, notifying bool
	own                owned
	// private is set once the comment being handled got its private reply.
	private bool
	cont    cont
	err     error
	// budget bounds the step's expression evaluation (flows.BudgetVar).
	budget flows.Budget
	// merged is the message a closed settle window merged (st.ev points here).
	merged dmflow.Event
	// input is set once the step handled a person's message or postback
	// (not held by a settle window): the drop-off timer restarts.
	sawInput bool
	// updated is the input session's Updated (kept by a drop-off timer).
	updated time.Time
}

// owned says which parts of st.s the step may modify in place. A step
// starts from a shallow copy of its input session and copies a map or slice
// on its first write (copy-on-write), so the input is never mutated and an
// unchanged part costs nothing.
type owned struct{ vars, timers, stack, deferred, settling bool }

// turnSession allocates a Turn and its Session together.
type turnSession struct {
	turn dmflow.Turn
	sess dmflow.Session
}

// cont is what follows an entered state: an fsm event to fire, possibly on
// another flow's machine (sub-flow call and return).
type cont struct {
	m    *machine // switch to this machine first (nil = stay)
	from string   // state to set on the new machine
	ev   string
}

func newStep() *step {
	st := &step{env: make(map[string]any, 8), buf: make([]byte, 0, 256)}
	st.args = []any{st}
	return st
}

// Step handles one event for one session at time now and returns the new
// session, the replies, action calls, notices and trace. s == nil means the
// user has no session yet. Step never mutates s, does no I/O and reads no
// clock: the same inputs always give the same Turn.
func (e *Engine) Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := e.steps.Get().(*step)
	defer e.release(st)
	ts := new(turnSession)
	st.e, st.ctx, st.now, st.ids, st.evIn = e, ctx, now, 0, ev
	st.tracing, st.notifying = e.tracing(ctx), !e.opts.NoNotices
	st.budget = flows.Budget{MaxOps: e.opts.MaxExprOps, MaxTime: e.opts.MaxExprTime, Clock: e.opts.Clock}
	st.turn, st.s = &ts.turn, &ts.sess
	if st.tracing {
		st.turn.Trace = make([]dmflow.TraceEntry, 0, 16)
	}
	if err := st.run(s, &st.evIn); err != nil {
		return nil, fmt.Errorf("engine: %s %s: %w", ev.Kind, ev.Key, err)
	}
	return st.turn, nil
}

func (e *Engine) release(st *step) {
	if st.f != nil {
		st.m.put(st.f)
	}
	clear(st.env)
	st.stepCall = stepCall{}
	st.buf = st.buf[:0]
	e.steps.Put(st)
}

// run starts from the input session: a shallow copy whose maps and slices
// are copied on first write (see owned), or a new session.
func (st *step) run(in *dmflow.Session, ev *dmflow.Event) error {
	st.setEvent(ev)
	if in == nil {
		if st.cls == classPassive && ev.Kind != dmflow.KindEcho && !isAdmin(ev, dmflow.AdminReset, dmflow.AdminMove, dmflow.AdminHandoff) {
			st.trace("skip", "", "no session and nothing to start")
			return nil
		}
		st.e.initSession(st.s, ev.SessionKey(), st.now)
		st.own = owned{vars: true, timers: true, stack: true, deferred: true, settling: true}
	} else {
		*st.s = *in
		st.updated = in.Updated
		if st.s.Vars == nil {
			st.s.Vars = map[string]any{}
			st.own.vars = true
		}
		st.s.Stack, st.s.Timers, st.s.Deferred = nilIfEmpty(in.Stack), nilIfEmpty(in.Timers), nilIfEmpty(in.Deferred)
		st.s.Settling = nilIfEmpty(in.Settling)
	}
	st.s.Updated = st.now
	st.turn.Session = st.s
	if err := st.handle(); err != nil {
		return err
	}
	if err := st.drain(); err != nil {
		return err
	}
	st.dropOffTimer()
	return nil
}

func isAdmin(ev *dmflow.Event, ops ...string) bool {
	if ev.Kind != dmflow.KindAdmin || ev.Admin == nil {
		return false
	}
	for _, op := range ops {
		if ev.Admin.Op == op {
			return true
		}
	}
	return false
}

// setEvent makes ev the event being handled.
func (st *step) setEvent(ev *dmflow.Event) {
	st.ev, st.cls, st.private, st.autos = ev, classify(ev.Kind), false, 0
	st.evBox, st.envM = nil, nil
	st.trace("event", "", string(ev.Kind))
}

// handle dispatches the current event. An event that does not join an
// open settle window closes it first: the held messages are handled as one
// turn, then the event.
func (st *step) handle() error {
	if len(st.s.Settling) > 0 && !st.joinsWindow() {
		if err := st.settled("a " + string(st.ev.Kind) + " event arrived"); err != nil {
			return err
		}
		st.setEvent(&st.evIn)
	}
	switch st.ev.Kind {
	case dmflow.KindAdmin:
		return st.admin()
	case dmflow.KindEcho:
		if st.ev.Standby && st.s.Handoff == nil {
			st.startHandoff("human reply from the inbox", "agent", 0)
			st.s.Handoff.Inbox = true // another app sent it: it owns the thread
			return nil
		}
		return st.echo()
	case dmflow.KindHandover:
		return st.handover()
	case dmflow.KindTimer:
		return st.timer()
	case dmflow.KindActionResult:
		return st.actionResult()
	}
	if st.ev.Standby {
		return st.standby()
	}
	return st.user(false)
}

// user handles an event from the user (replay: a deferred event replayed
// after an action's result, already counted as received).
func (st *step) user(replay bool) error {
	s := st.s
	if !replay {
		st.received()
	}
	if s.Handoff != nil {
		st.rearmHandoff()
		st.trace("skip", "", "handed off to a human: the bot stays silent")
		return nil
	}
	if s.Pending != nil {
		return st.whilePending()
	}
	if !replay && st.ev.Settlable() {
		if w := st.settleWindow(); w > 0 {
			return st.hold(w)
		}
	}
	if st.cls == classInput {
		st.sawInput = true
	}
	if s.State == "" || s.Ended || st.e.machines[s.Flow] == nil {
		return st.begin()
	}
	if m := st.e.machines[s.Flow]; m.states[s.State] == nil {
		return st.redeployed(m)
	}
	if moved, err := st.resolve(); moved || err != nil {
		return err
	}
	return st.input()
}

// redeployed handles a message for a session whose state a reload removed.
// With a migration the session moves to the new state and the message is
// processed there: triggers first, then, when the new state waits for
// input, its ask and on (the session is placed there as if it had been
// waiting: its set and say are not repeated, its timeout is armed); a new
// state that does not wait is entered, and the message is consumed.
// Without a migration the message is the first message of a new session.
func (st *step) redeployed(m *machine) error {
	s := st.s
	s.FlowVersion = m.flow.Version
	to, ok := m.flow.Migrate[s.State]
	if !ok || m.states[to] == nil {
		st.tracef("version", "", "state ", s.State, " no longer exists: the message starts a new session")
		return st.begin()
	}
	st.tracef("version", "", "state ", s.State, " migrated to ", to)
	st.use(m, to)
	s.State, s.Attempts = to, 0
	si := m.states[to]
	st.disarmPrefix("timeout:")
	if matched, err := st.triggers(); matched || err != nil {
		return err
	}
	if x := si.st; x.Action != nil || x.Call != nil || x.Handoff != nil || x.End || x.Return || (x.Ask == nil && len(x.On) == 0) {
		return st.jump(to, "migrate")
	}
	st.edge("migrate → " + to)
	if t := si.st.Timeout; t != nil {
		st.arm(si.timer, t.After)
	}
	return st.stateInput(si)
}

// received records an inbound user event: the messaging window and the
// message.received notice.
func (st *step) received() {
	ev := st.ev
	if ev.Kind != dmflow.KindMessage && ev.Kind != dmflow.KindPostback {
		return
	}
	t := ev.Time
	if t.IsZero() {
		t = st.now
	}
	if t.After(st.s.LastInbound) {
		st.s.LastInbound = t
	}
	if !st.notifying {
		return
	}
	data := make(map[string]any, 3)
	data["kind"] = kindValue(ev.Kind)
	if ev.Text != "" {
		data["text"] = ev.Text
	}
	if ev.Payload != "" {
		data["payload"] = ev.Payload
	}
	st.notice(dmflow.NoticeMessageReceived, data)
}

// begin starts the flow for a new or ended session: triggers are checked
// against the event; if none moves the session, it enters start. The event
// is not consumed as an answer.
func (st *step) begin() error {
	s := st.s
	if st.cls == classPassive && s.State != "" {
		st.trace("skip", "", "session ended: only a message starts it again")
		return nil
	}
	if s.State != "" {
		st.trace("restart", "", "previous session ended or its flow is gone: starting again")
	}
	st.dropStack()
	s.Ended, s.State, s.Attempts = false, "", 0
	st.use(st.e.machines[st.e.b.Main], "")
	matched, err := st.triggers()
	if err != nil || st.s.State != "" || st.s.Handoff != nil {
		return err
	}
	if !matched && st.cls == classPassive {
		st.trace("skip", "", "passive event does not start a session")
		st.turn.Session = nil
		return nil
	}
	return st.fire(st.m.startEv)
}

// resolve reconciles the session with the flow's current version: a state
// that still exists continues, a migrated state moves, anything else
// restarts. It reports whether the session moved (the event is consumed).
// User events take redeployed instead; resolve serves timers and action
// results.
func (st *step) resolve() (bool, error) {
	s := st.s
	m := st.e.machines[s.Flow]
	st.use(m, s.State)
	if m.states[s.State] != nil {
		if s.FlowVersion != m.flow.Version {
			st.trace("version", "", "flow version changed; state still exists: continuing")
			s.FlowVersion = m.flow.Version
		}
		return false, nil
	}
	s.FlowVersion = m.flow.Version
	if to, ok := m.flow.Migrate[s.State]; ok && m.states[to] != nil {
		st.tracef("version", "", "state ", s.State, " migrated to ", to)
		return true, st.jump(to, "migrate")
	}
	st.tracef("version", "", "state ", s.State, " no longer exists: restarting at start")
	st.f.SetState("")
	return true, st.fire(m.startEv)
}

// input handles a user event in a waiting state: triggers, then the ask,
// then on transitions, then next.
func (st *step) input() error {
	if matched, err := st.triggers(); matched || err != nil {
		return err
	}
	return st.stateInput(st.m.states[st.s.State])
}

// stateInput handles a user event in a waiting state after the triggers:
// the ask, then on transitions, then next.
func (st *step) stateInput(si *stateInfo) error {
	if si.st.Ask != nil {
		if st.cls == classInput {
			return st.capture(si)
		}
		return st.on(si, false)
	}
	return st.on(si, true)
}

// use makes m the current machine with its fsm instance in state.
func (st *step) use(m *machine, state string) {
	if st.m != m {
		if st.f != nil {
			st.m.put(st.f)
		}
		st.m, st.f, st.envM = m, m.get(state), nil
	} else {
		st.f.SetState(m.fsmState(state))
	}
	st.s.Flow, st.s.FlowVersion = m.flow.Name, m.flow.Version
}

// fire takes a declared transition through fsm and follows automatic ones.
func (st *step) fire(ev string) error {
	st.cont = cont{ev: ev}
	return st.follow()
}

// jump enters a state without a declared transition (admin move, migrate).
func (st *step) jump(state, via string) error {
	st.f.SetState(st.m.fsmState(state))
	st.cont = cont{}
	st.edge(via + " → " + state)
	st.enter(state)
	if st.err != nil {
		return st.err
	}
	return st.follow()
}

func (st *step) follow() error {
	for st.cont.ev != "" {
		if err := st.ctx.Err(); err != nil {
			return err
		}
		if st.autos++; st.autos > st.e.opts.MaxAutoSteps {
			if st.tracing {
				st.tracef("error", "", "more than ", itoa(st.e.opts.MaxAutoSteps), " automatic transitions")
			}
			return fmt.Errorf("%w (at %s/%s)", ErrLoop, st.m.flow.Name, st.s.State)
		}
		c := st.cont
		st.cont = cont{}
		if c.m != nil {
			st.use(c.m, c.from)
		}
		st.edge(c.ev)
		st.count(dmflow.CountEdge, c.ev)
		err := st.f.Event(st.ctx, c.ev, st.args...)
		if _, same := err.(fsm.NoTransitionError); err != nil && !same {
			return fmt.Errorf("fsm %s: %w", st.m.flow.Name, err)
		}
		if st.err != nil {
			return st.err
		}
	}
	return nil
}

// afterEvent is the only fsm callback: it enters the destination state. It
// captures nothing; the step arrives in e.Args. after_event (not
// enter_state) also runs for transitions to the same state, which re-enter.
func afterEvent(_ context.Context, e *fsm.Event) {
	if len(e.Args) == 0 {
		return
	}
	if st, ok := e.Args[0].(*step); ok {
		st.enter(flowState(e.Dst))
	}
}

// edge records an fsm transition taken ("flow/event") for coverage.
func (st *step) edge(ev string) {
	if !st.tracing {
		return
	}
	d, ok := st.m.visits[ev]
	if !ok {
		d = st.m.flow.Name + "/" + ev
	}
	st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: "edge", Detail: d})
}

// drain replays events deferred while an action was pending, once the
// session no longer waits for it.
func (st *step) drain() error {
	for st.s != nil && st.s.Pending == nil && st.s.Handoff == nil && len(st.s.Deferred) > 0 {
		ev := st.s.Deferred[0]
		st.s.Deferred = st.s.Deferred[1:]
		if len(st.s.Deferred) == 0 {
			st.s.Deferred = nil
		}
		st.setEvent(&ev)
		st.tracef("replay", "", "deferred event ", ev.Key)
		if err := st.user(true); err != nil {
			return err
		}
	}
	return nil
}

func (st *step) whilePending() error {
	s := st.s
	policy := ""
	if si := st.m0().states[s.State]; si != nil && si.st.Action != nil {
		policy = si.st.Action.WhilePending
	}
	switch {
	case policy == "ignore":
		st.trace("skip", "", "action pending (while_pending: ignore): event dropped")
	case len(s.Deferred) >= st.e.opts.MaxDeferred:
		st.trace("skip", "", "action pending and the queue is full: event dropped")
	default:
		ev := *st.ev
		ev.Raw = nil
		s.Deferred = append(st.ownDeferred(), ev)
		st.trace("defer", "", "action pending: event queued until its result")
	}
	return nil
}

// m0 is the session's flow machine, falling back to main.
func (st *step) m0() *machine {
	if m := st.e.machines[st.s.Flow]; m != nil {
		return m
	}
	return st.e.machines[st.e.b.Main]
}

// trace records a step of the explanation when the step is traced. Callers
// that build detail with concatenation check st.tracing first.
func (st *step) trace(what, pos, detail string) {
	if !st.tracing {
		return
	}
	st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: what, Pos: pos, Detail: detail})
}

// notice records a notice when notices are wanted. Callers that build data
// check st.notifying first.
func (st *step) notice(typ string, data map[string]any) {
	if !st.notifying {
		return
	}
	if st.turn.Notices == nil {
		st.turn.Notices = make([]dmflow.Notice, 0, 4)
	}
	st.turn.Notices = append(st.turn.Notices, dmflow.Notice{Type: typ, Key: st.s.Key, Time: st.now, Cause: st.ev.Key, Data: data})
}

// tracef records a trace entry whose detail is the concatenation of parts,
// built only when the step is traced.
func (st *step) tracef(what, pos string, parts ...string) {
	if st.tracing {
		st.trace(what, pos, strings.Join(parts, ""))
	}
}
