package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
	"github.com/looplab/fsm"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxAutoSteps   = 32
	DefaultHandoffRelease = 24 * time.Hour
	DefaultMaxDeferred    = 20
	DefaultMaxExprOps     = 100_000
	DefaultMaxExprTime    = 250 * time.Millisecond
)

// ErrLoop reports a step that followed more than Options.MaxAutoSteps
// automatic transitions without waiting for the user (a flow loop).
var ErrLoop = errors.New("engine: too many automatic transitions (loop?)")

// Options tune an Engine. The zero value (or nil) uses the defaults.
type Options struct {
	// HandoffRelease is how long a handed-off conversation may stay idle
	// before the bot takes it back, for handoffs that declare no
	// release_after (flow handoffs without it, agent echoes, admin handoff).
	// Default DefaultHandoffRelease; negative means never.
	HandoffRelease time.Duration
	// MaxAutoSteps bounds the automatic transitions (next, call, return, …)
	// of one step; past it Step fails with ErrLoop. Default DefaultMaxAutoSteps.
	MaxAutoSteps int
	// MaxDeferred bounds Session.Deferred: user events queued while an action
	// is pending. Events past the bound are dropped (trace "skip").
	// Default DefaultMaxDeferred.
	MaxDeferred int
	// MaxExprOps bounds the loop iterations (closure calls of map, filter,
	// reduce, all, …) of all expressions of one step; past it an expression
	// fails with a traced run-time error (flows.ErrBudget), like expr's
	// memory budget. Default DefaultMaxExprOps; negative means no limit.
	MaxExprOps int
	// MaxExprTime bounds the evaluation time of one step's expressions,
	// checked every 64 loop iterations (a step with fewer never reads the
	// clock, so it stays deterministic). Default DefaultMaxExprTime;
	// negative means no limit.
	MaxExprTime time.Duration
	// Clock is the clock MaxExprTime is measured with (nil: time.Now).
	// Tests pass a fake one.
	Clock func() time.Time
	// NoTrace leaves Turn.Trace empty, which makes a step about twice as
	// fast with a third of the allocations (see the package doc). Coverage
	// (Visits), `dmflow test` and `dmflow chat`, replays and the studio need
	// the trace; a production server can do without. WithTrace overrides it
	// for one call. Default false: every step is traced.
	NoTrace bool
	// DropOff, when positive, arms a durable timer after each message or
	// postback while the session waits for the next one; when it fires
	// (no further input within DropOff) the turn counts a drop-off at the
	// session's state (dmflow.CountDroppedOff) and changes nothing else.
	// The timer's due time is rounded up to a whole minute (at most
	// DropOff/64): the inputs of one minute keep one timer, and a drop-off
	// counts at most that late, never early.
	// Default 0: off (serve turns it on; see --dropoff).
	DropOff time.Duration
	// NoNotices leaves Turn.Notices empty. Set it when nothing consumes
	// notices (no outgoing webhook is configured). Default false.
	NoNotices bool
}

// traceKey is the context key of WithTrace.
// WithTrace returns a context under which Step records its trace (on) or
// not (off), whatever Options.NoTrace says. A bot whose engine runs with
// NoTrace uses it for the calls that show a trace, such as a replay.
//
// It is the same switch as dmflow.WithTrace, for callers that only know the
// root package.
func WithTrace(ctx context.Context, on bool) context.Context {
	return dmflow.WithTrace(ctx, on)
}

// tracing reports whether a Step under ctx records its trace.
func (e *Engine) tracing(ctx context.Context) bool {
	if on, ok := dmflow.TraceRequested(ctx); ok {
		return on
	}
	return !e.opts.NoTrace
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.HandoffRelease == 0 {
		c.HandoffRelease = DefaultHandoffRelease
	}
	if c.MaxAutoSteps <= 0 {
		c.MaxAutoSteps = DefaultMaxAutoSteps
	}
	if c.MaxDeferred <= 0 {
		c.MaxDeferred = DefaultMaxDeferred
	}
	switch {
	case c.MaxExprOps == 0:
		c.MaxExprOps = DefaultMaxExprOps
	case c.MaxExprOps < 0:
		c.MaxExprOps = 0
	}
	switch {
	case c.MaxExprTime == 0:
		c.MaxExprTime = DefaultMaxExprTime
	case c.MaxExprTime < 0:
		c.MaxExprTime = 0
	}
	return c
}

// Engine runs the flows of one Bundle. It is immutable after New and safe for
// concurrent use by many goroutines (each Step works on its own copies).
type Engine struct {
	b        *flows.Bundle
	opts     Options
	machines map[string]*machine
	steps    sync.Pool // *step scratch (env map, vm.VM)
	posText  map[flows.Pos]string
}

// New compiles a Bundle's flows into fsm tables and checks that every target
// state and sub-flow exists. State names are mapped to internal fsm names,
// so no flow name collides with fsm's callback keys.
func New(b *flows.Bundle, opts *Options) (*Engine, error) {
	if b == nil || len(b.Flows) == 0 {
		return nil, errors.New("engine: empty bundle")
	}
	if b.Flows[b.Main] == nil {
		return nil, fmt.Errorf("engine: main flow %q not in bundle", b.Main)
	}
	if l := b.Locales; l != nil && b.Flows[b.Main].Var(l.Var) == nil {
		return nil, fmt.Errorf("engine: locales: var %q is not a variable of the main flow %s", l.Var, b.Main)
	}
	e := &Engine{b: b, opts: opts.withDefaults(), machines: make(map[string]*machine, len(b.Flows))}
	for _, name := range slices.Sorted(maps.Keys(b.Flows)) {
		m, err := compile(b, b.Flows[name])
		if err != nil {
			return nil, err
		}
		e.machines[name] = m
	}
	e.posText = map[flows.Pos]string{}
	positions(b, e.posText)
	e.steps.New = func() any { return newStep() }
	return e, nil
}

// Bundle returns the flows the engine runs.
func (e *Engine) Bundle() *flows.Bundle { return e.b }

// Flow returns the named flow ("" = the main flow), or nil.
func (e *Engine) Flow(name string) *flows.Flow {
	if name == "" {
		name = e.b.Main
	}
	return e.b.Flows[name]
}

// RefreshesProfile reports whether input arriving in the state is to be
// stepped with a freshly fetched profile (`refresh_profile: true`); the
// bot, which fetches profiles, asks before stepping.
func (e *Engine) RefreshesProfile(flow, state string) bool {
	f := e.Flow(flow)
	if f == nil {
		return false
	}
	st := f.States[state]
	return st != nil && st.RefreshProfile
}

// LooksUpMedia reports whether a flow of the bundle asks for the commented
// media's caption and permalink (`lookup_media: true`); the bot, which
// looks them up, asks before stepping a comment event.
func (e *Engine) LooksUpMedia() bool {
	for _, f := range e.b.Flows {
		if f.LookupMedia {
			return true
		}
	}
	return false
}

// Edge is one transition of a flow's state machine, as the engine feeds it to
// looplab/fsm. Triggers have From "*" (any state).
type Edge struct {
	Name  string // fsm event name, unique in the flow: "menu#on0", "@trigger1", …
	From  string
	To    string
	Label string // what takes it: "on: <when>", "next", "timeout 24h0m0s", …
	Pos   string // position of the declaration
}

// Edges returns the transitions of a flow in a deterministic order (states in
// file order, then triggers), or nil for an unknown flow. Together with
// Visits it lets a test runner compute state and transition coverage.
func (e *Engine) Edges(flow string) []Edge {
	m := e.machines[e.flowName(flow)]
	if m == nil {
		return nil
	}
	return append([]Edge(nil), m.edges...)
}

func (e *Engine) flowName(name string) string {
	if name == "" {
		return e.b.Main
	}
	return name
}

// machine is one flow compiled for fsm: its event table, generic callbacks
// and a pool of fsm instances whose state is always set from the session.
type machine struct {
	flow     *flows.Flow
	events   fsm.Events
	edges    []Edge
	states   map[string]*stateInfo
	triggers []*transInfo
	vars     map[string]*varInfo
	varList  []*varInfo
	startEv  string
	visits   map[string]string // fsm event → "flow/event", the Detail of its "edge" trace entry
	pool     sync.Pool         // *fsm.FSM
	// boxedName is the flow's name as notice data, boxed once.
	boxedName any
}

// stateInfo is a state with its precomputed fsm event names and trace text.
type stateInfo struct {
	st      *flows.State
	fsm     string // internal fsm name (fsmState)
	pos     string
	visit   string // "flow/state", Detail of the "enter" trace entry
	on      []*transInfo
	next    string // fsm event names ("" = none)
	fail    string
	timeout string
	ok      string
	err     string
	atime   string
	release string
	ret     string
	timer   string   // Timer.Name of the state's timeout
	split   []string // fsm event of each split variant, in declared order
	// boxedName is the state's name as notice data, boxed once.
	boxedName any
}

// transInfo is a trigger or on transition with its fsm event name.
type transInfo struct {
	t        *flows.Transition
	ev       string // "" when it has no goto
	pos      string
	explicit bool // its condition tests event.kind: it may match passive events
}

// varInfo is a declared variable with its default in the typed env form.
type varInfo struct {
	v   *flows.Var
	def any
}

// fsmPrefix starts every state name the engine gives looplab/fsm. fsm reads
// callback keys such as before_<event>, enter_<state>, after_event by
// name; a flow's state names are mapped to internal names ("s:after_hours")
// that can never collide with those keys, so any name flows accepts
// (after_hours, enter_code, state) just works. Event names ("menu#on0",
// "@start") are internal already. The empty state ("no state yet") maps to "".
const fsmPrefix = "s:"

// fsmState is the internal fsm name of a flow state.
func fsmState(name string) string {
	if name == "" {
		return ""
	}
	return fsmPrefix + name
}

// flowState is the flow state of an internal fsm name.
func flowState(internal string) string { return strings.TrimPrefix(internal, fsmPrefix) }

func compile(b *flows.Bundle, f *flows.Flow) (*machine, error) {
	m := &machine{flow: f, states: make(map[string]*stateInfo, len(f.States)), vars: make(map[string]*varInfo, len(f.Vars)), boxedName: f.Name}
	if err := m.compileVars(); err != nil {
		return nil, err
	}
	if f.States[f.Start] == nil {
		return nil, fmt.Errorf("engine: flow %s: start state %q not found", f.Name, f.Start)
	}
	names := stateOrder(f)
	all := append([]string{""}, names...)
	m.startEv = "@start"
	m.addEdge(all, "@start", "*", f.Start, "start", f.StartPos)
	for _, name := range names {
		if err := m.compileState(b, f.States[name]); err != nil {
			return nil, err
		}
	}
	for i, t := range f.Triggers {
		ti := &transInfo{t: t, pos: t.Pos.String(), explicit: explicit(t.When)}
		if t.Goto != nil {
			if err := m.check(t.Goto, "trigger"); err != nil {
				return nil, err
			}
			ti.ev = "@trigger" + itoa(i)
			m.addEdge(all, ti.ev, "*", t.Goto.State, "trigger: "+describe(t), t.Pos)
		}
		m.triggers = append(m.triggers, ti)
	}
	cbs := fsm.Callbacks{"after_event": afterEvent}
	m.pool.New = func() any { return fsm.NewFSM("", m.events, cbs) }
	return m, nil
}

// stateOrder is the flow's states in file order; states missing from Order
// (hand-built flows) follow sorted by name.
func stateOrder(f *flows.Flow) []string {
	seen := make(map[string]bool, len(f.States))
	var out []string
	for _, n := range f.Order {
		if f.States[n] != nil && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(f.States)) {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

func (m *machine) compileState(b *flows.Bundle, st *flows.State) error {
	si := &stateInfo{st: st, fsm: fsmState(st.Name), pos: st.Pos.String(), visit: m.flow.Name + "/" + st.Name, timer: "timeout:" + st.Name, boxedName: st.Name}
	m.states[st.Name] = si
	src := []string{st.Name}
	edge := func(suffix string, t *flows.Target, label string, pos flows.Pos) (string, error) {
		if t == nil {
			return "", nil
		}
		if err := m.check(t, st.Name); err != nil {
			return "", err
		}
		ev := st.Name + "#" + suffix
		m.addEdge(src, ev, st.Name, t.State, label, pos)
		return ev, nil
	}
	var err error
	for i, t := range st.On {
		ti := &transInfo{t: t, pos: t.Pos.String(), explicit: explicit(t.When)}
		if ti.ev, err = edge("on"+itoa(i), t.Goto, "on: "+describe(t), t.Pos); err != nil {
			return err
		}
		si.on = append(si.on, ti)
	}
	if st.Ask != nil && st.Ask.OnFail != nil {
		if si.fail, err = edge("fail", st.Ask.OnFail, "ask failed", st.Ask.Pos); err != nil {
			return err
		}
	}
	if t := st.Timeout; t != nil && t.Goto != nil {
		if si.timeout, err = edge("timeout", t.Goto, "timeout "+t.After.String(), t.Pos); err != nil {
			return err
		}
	}
	if a := st.Action; a != nil {
		if err := m.compileAction(si, a, edge); err != nil {
			return err
		}
	}
	if c := st.Call; c != nil {
		if b.Flows[c.Flow] == nil {
			return fmt.Errorf("engine: %s: state %s calls unknown flow %q", c.Pos, st.Name, c.Flow)
		}
		if si.ret, err = edge("return", c.Return, "return from "+c.Flow, c.Pos); err != nil {
			return err
		}
	}
	if h := st.Handoff; h != nil && h.Next != nil {
		if si.release, err = edge("release", h.Next, "handoff released", h.Pos); err != nil {
			return err
		}
	}
	if sp := st.Split; sp != nil {
		total := 0
		for _, v := range sp.Variants {
			total += max(v.Weight, 0)
		}
		for _, v := range sp.Variants {
			label := "split " + sp.Experiment + ": " + v.Name
			if total > 0 {
				label += " (" + strconv.FormatFloat(100*float64(max(v.Weight, 0))/float64(total), 'f', -1, 64) + "%)"
			}
			ev, err := edge("split:"+v.Name, v.Goto, label, v.Pos)
			if err != nil {
				return err
			}
			si.split = append(si.split, ev)
		}
	}
	if st.Next != nil {
		if si.next, err = edge("next", st.Next, "next", st.Next.Pos); err != nil {
			return err
		}
	}
	return nil
}

type edgeFunc func(suffix string, t *flows.Target, label string, pos flows.Pos) (string, error)

func (m *machine) compileAction(si *stateInfo, a *flows.ActionSpec, edge edgeFunc) error {
	var err error
	ok := a.Next
	if ok == nil {
		ok = si.st.Next
	}
	onErr := firstTarget(a.OnError, ok)
	if si.ok, err = edge("ok", ok, "action ok", a.Pos); err != nil {
		return err
	}
	if si.err, err = edge("error", onErr, "action error", a.Pos); err != nil {
		return err
	}
	si.atime, err = edge("action-timeout", firstTarget(a.OnTimeout, onErr), "action timeout", a.Pos)
	return err
}

func firstTarget(ts ...*flows.Target) *flows.Target {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

func (m *machine) check(t *flows.Target, from string) error {
	if m.flow.States[t.State] == nil {
		return fmt.Errorf("engine: %s: flow %s: %s goes to unknown state %q", t.Pos, m.flow.Name, from, t.State)
	}
	return nil
}

func (m *machine) addEdge(src []string, ev, from, to, label string, pos flows.Pos) {
	if m.visits == nil {
		m.visits = map[string]string{}
	}
	m.visits[ev] = m.flow.Name + "/" + ev
	in := make([]string, len(src))
	for i, n := range src {
		in[i] = fsmState(n)
	}
	m.events = append(m.events, fsm.EventDesc{Name: ev, Src: in, Dst: fsmState(to)})
	m.edges = append(m.edges, Edge{Name: ev, From: from, To: to, Label: label, Pos: pos.String()})
}

// explicit reports whether a condition names event.kind, which lets it
// match events (read receipts, edits, echoes, …) that never move a flow
// otherwise.
func explicit(x *flows.Expr) bool { return x != nil && strings.Contains(x.Src, "event.kind") }

func describe(t *flows.Transition) string {
	var parts []string
	if len(t.Keywords) > 0 {
		parts = append(parts, "keywords "+strings.Join(t.Keywords, ", "))
	}
	if t.When != nil {
		parts = append(parts, t.When.Src)
	}
	if len(parts) == 0 {
		return "otherwise"
	}
	return strings.Join(parts, " && ")
}

func (m *machine) compileVars() error {
	for _, v := range m.flow.Vars {
		def, err := coerce(v.Initial(), v.Type)
		if err != nil {
			return fmt.Errorf("engine: %s: default of %s: %w", v.Pos, v.Name, err)
		}
		vi := &varInfo{v: v, def: def}
		m.vars[v.Name] = vi
		m.varList = append(m.varList, vi)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// get takes an fsm instance from the pool and sets its state from the
// session; the pool is never trusted for state.
func (m *machine) get(state string) *fsm.FSM {
	f := m.pool.Get().(*fsm.FSM)
	f.SetState(m.fsmState(state))
	return f
}

// fsmState is the internal fsm name of state, precomputed for the flow's
// own states.
func (m *machine) fsmState(state string) string {
	if si := m.states[state]; si != nil {
		return si.fsm
	}
	return fsmState(state)
}

func (m *machine) put(f *fsm.FSM) { m.pool.Put(f) }

// initSession makes *s the session of a user the engine has not seen.
func (e *Engine) initSession(s *dmflow.Session, key dmflow.SessionKey, now time.Time) {
	m := e.machines[e.b.Main]
	*s = dmflow.Session{Key: key, Flow: m.flow.Name, FlowVersion: m.flow.Version, Vars: map[string]any{}, Created: now}
}
