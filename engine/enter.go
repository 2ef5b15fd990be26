package engine

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// enter runs a state's enter phase: set → say → arm timeout → then exactly
// one of action, call, handoff, end, return; or wait (ask/on); or follow
// next. The follow-up transition is left in st.cont.
func (st *step) enter(name string) {
	si := st.m.states[name]
	s := st.s
	s.State, s.Attempts, s.Ended, s.Pending = name, 0, false, nil
	st.trace("enter", si.pos, si.visit)
	st.count(dmflow.CountEntered, name)
	if st.notifying {
		data := make(map[string]any, 2)
		data["flow"], data["state"] = st.m.boxedName, si.boxedName
		st.notice(dmflow.NoticeStateEntered, data)
	}
	st.set(si.st.Set)
	st.say(si.st.Say)
	st.disarmPrefix("timeout:")
	if t := si.st.Timeout; t != nil {
		st.arm(si.timer, t.After)
	}
	switch x := si.st; {
	case x.Action != nil:
		st.startAction(si)
	case x.Call != nil:
		st.call(si)
	case x.Handoff != nil:
		st.handoff(x.Handoff.Reason, "flow", x.Handoff.ReleaseAfter)
		if x.Handoff.Inbox {
			st.s.Handoff.Inbox = true
			st.threadControl(dmflow.ThreadPass, st.text(x.Handoff.Metadata))
		}
	case x.End:
		st.end()
	case x.Return:
		st.ret()
	case x.Split != nil:
		st.split(si)
	case x.Ask != nil || len(x.On) > 0:
		// wait for the next event
	default:
		st.cont.ev = si.next // "" = wait (a timeout-only state)
	}
}

// split assigns the user a variant of the state's experiment (the one
// recorded in the session if it is still a variant of this split, else
// flows.SplitSpec.Pick) and goes to the variant's state.
func (st *step) split(si *stateInfo) {
	sp, s := si.st.Split, st.s
	v := sp.Variant(s.Variants[sp.Experiment])
	if v == nil {
		if v = sp.Pick(s.Key.User); v == nil {
			return // no variant has a weight: flows rejects such a split
		}
		vs := make(map[string]string, len(s.Variants)+1)
		for k, x := range s.Variants {
			vs[k] = x
		}
		vs[sp.Experiment] = v.Name
		s.Variants = vs
		if _, ok := st.env["user"]; ok && st.envM != nil {
			st.env["user"] = st.userEnv()
		}
		if st.notifying {
			data := make(map[string]any, 4)
			data["experiment"], data["variant"] = sp.Experiment, v.Name
			data["flow"], data["state"] = st.m.boxedName, si.boxedName
			st.notice(dmflow.NoticeExperimentAssigned, data)
		}
		st.tracef("split", st.pos(v.Pos), "experiment ", sp.Experiment, ": assigned variant ", v.Name)
	} else {
		st.tracef("split", st.pos(v.Pos), "experiment ", sp.Experiment, ": variant ", v.Name, " (assigned before)")
	}
	for i, x := range sp.Variants {
		if x == v {
			st.cont.ev = si.split[i]
		}
	}
}

func (st *step) end() {
	st.dropStack()
	st.s.Ended = true
	st.trace("end", "", "end state: the next message starts again")
}

// dropStack empties the sub-flow stack; the session's variables become the
// main flow's again (those of the outermost frame).
func (st *step) dropStack() { st.unwind(0) }

// unwind pops the sub-flow stack down to depth frames without returning:
// the flow that frame depth called from (the main flow for 0) continues
// with its own variables; the sub-flows' variables are dropped. A frame
// stored before variable scopes (not Scoped) keeps the shared variables.
func (st *step) unwind(depth int) {
	s := st.s
	if depth >= len(s.Stack) {
		return
	}
	if fr := s.Stack[depth]; fr.Scoped {
		st.restoreVars(fr.Vars)
	}
	s.Stack = s.Stack[:depth:depth]
	if depth == 0 {
		s.Stack = nil
	}
}

// restoreVars makes vars (a caller's saved scope, shared with the input
// session) the session's variables again; they are copied on write.
func (st *step) restoreVars(vars map[string]any) {
	st.s.Vars, st.own.vars, st.envM = vars, false, nil
	if st.s.Vars == nil {
		st.s.Vars, st.own.vars = map[string]any{}, true
	}
}

// call enters a sub-flow with its own variables: the caller's args are
// evaluated in the caller's env, become the sub-flow's params (its other
// variables start at their defaults), and the caller's variables are kept
// in the frame pushed for the return.
func (st *step) call(si *stateInfo) {
	c := si.st.Call
	sub := st.e.machines[c.Flow]
	scope := make(map[string]any, len(c.Args))
	for _, a := range c.Args {
		if v, ok := st.eval(a.Value, "call"); ok {
			scope[a.Var] = stored(v)
		}
	}
	s := st.s
	s.Stack = append(st.ownStack(), dmflow.Frame{Flow: st.m.flow.Name, State: si.st.Name, Vars: s.Vars, Scoped: true})
	s.Vars, st.own.vars, st.envM = scope, true, nil // the caller's map is the frame's now
	st.tracef("call", st.pos(c.Pos), "calling flow ", c.Flow)
	st.cont = cont{m: sub, from: "", ev: sub.startEv}
}

// ret returns from a sub-flow to its caller's call state, which takes its
// return transition: the caller's variables come back, and the call's save
// copies the sub-flow's results into them. Without a caller, return ends
// the session.
func (st *step) ret() {
	s := st.s
	n := len(s.Stack)
	if n == 0 {
		st.end()
		return
	}
	fr := s.Stack[n-1]
	m := st.e.machines[fr.Flow]
	var si *stateInfo
	if m != nil {
		si = m.states[fr.State]
	}
	if si == nil || si.ret == "" {
		st.tracef("error", "", "caller ", fr.Flow, "/", fr.State, " is gone: restarting the main flow")
		st.dropStack()
		m = st.e.machines[st.e.b.Main]
		st.cont = cont{m: m, from: "", ev: m.startEv}
		return
	}
	var saved []any
	if c := si.st.Call; c != nil && len(c.Save) > 0 {
		saved = make([]any, len(c.Save))
		for i, sv := range c.Save {
			if vi := st.m.vars[sv.From]; vi != nil { // st.m is the returning sub-flow
				saved[i] = st.varValue(vi)
			}
		}
	}
	st.unwind(n - 1)
	if c := si.st.Call; c != nil {
		for i, sv := range c.Save {
			st.saveVar(m, sv.Var, saved[i])
		}
	}
	st.tracef("return", "", "returning to ", fr.Flow, "/", fr.State)
	st.cont = cont{m: m, from: fr.State, ev: si.ret}
}

// saveVar stores a sub-flow's result v in the caller m's variable name,
// coerced to its declared type.
func (st *step) saveVar(m *machine, name string, v any) {
	typ := flows.TypeAny
	if vi := m.vars[name]; vi != nil {
		typ = vi.v.Type
	}
	tv, err := coerce(v, typ)
	if err != nil {
		st.tracef("error", "", "save ", name, ": ", err.Error())
		return
	}
	st.writeVar(name, stored(tv))
	st.envM = nil
}

// set runs assignments in order.
func (st *step) set(as []*flows.Assign) {
	for _, a := range as {
		v, ok := st.eval(a.Value, "set")
		if ok {
			st.setVar(a.Var, v)
		}
	}
}

// setVar stores v in the session (JSON form) and the env (typed form).
func (st *step) setVar(name string, v any) bool {
	typ := flows.TypeAny
	vi := st.m.vars[name]
	if vi != nil {
		typ = vi.v.Type
	}
	tv, err := coerce(v, typ)
	if err != nil {
		st.tracef("error", "", "set ", name, ": ", err.Error())
		return false
	}
	st.writeVar(name, stored(tv))
	if st.envM == st.m {
		st.env[name] = tv
		if st.isLocaleVar(name) {
			delete(st.env, "user") // user.locale follows the variable
		}
	}
	return true
}

// arm (re)arms the named timer to fire after d.
func (st *step) arm(name string, d time.Duration) { st.armAt(name, st.now.Add(d)) }

// armAt (re)arms the named timer to fire at due.
func (st *step) armAt(name string, due time.Time) {
	st.disarm(name)
	t := dmflow.Timer{ID: st.id("t:"), Name: name, Due: due}
	st.s.Timers = append(st.ownTimers(), t)
	if st.tracing {
		st.tracef("timer", "", "armed ", name, " for ", t.Due.Format(time.RFC3339))
	}
}

func (st *step) disarm(name string) {
	st.filterTimers(func(t *dmflow.Timer) bool { return t.Name != name })
}

func (st *step) disarmPrefix(prefix string) {
	st.filterTimers(func(t *dmflow.Timer) bool { return !strings.HasPrefix(t.Name, prefix) })
}

// filterTimers drops the timers keep rejects into a new slice (nil when
// none is left); the timers stay untouched when keep rejects none.
func (st *step) filterTimers(keep func(*dmflow.Timer) bool) {
	ts := st.s.Timers
	n := 0
	for i := range ts {
		if keep(&ts[i]) {
			n++
		}
	}
	if n == len(ts) && len(ts) > 0 {
		return
	}
	var out []dmflow.Timer
	if n > 0 {
		out = make([]dmflow.Timer, 0, n+1)
		for i := range ts {
			if keep(&ts[i]) {
				out = append(out, ts[i])
			}
		}
	}
	st.s.Timers = out
	st.own.timers = true
}

// id returns a deterministic id: prefix, session key, stored version and a
// per-step counter. The store bumps Version on every commit, so ids never
// repeat for a session, and a retried step produces the same ids.
func (st *step) id(prefix string) string {
	st.ids++
	b := st.buf[:0]
	b = append(b, prefix...)
	b = append(b, st.s.Key.Account...)
	b = append(b, '/')
	b = append(b, st.s.Key.User...)
	b = append(b, ':')
	b = strconv.AppendUint(b, st.s.Version, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(st.ids), 10)
	st.buf = b
	return string(b)
}

// startAction emits the state's action call and makes the session wait for
// its result.
func (st *step) startAction(si *stateInfo) {
	a := si.st.Action
	call := dmflow.ActionCall{ID: st.id("a:"), Name: a.Name, Kind: a.Kind, Key: st.s.Key,
		Timeout: a.Timeout, Retries: a.Retries, Created: st.now}
	if call.Name == "" {
		call.Name = si.st.Name
	}
	if call.Kind == "" {
		call.Kind = "go"
		if a.URL != nil {
			call.Kind = "http"
		}
	}
	if call.Kind == "http" {
		call.HTTP = st.httpRequest(a)
	}
	if len(a.Args) > 0 {
		call.Args = make(map[string]any, len(a.Args))
		for _, x := range a.Args {
			if v, ok := st.eval(x.Value, "action"); ok {
				call.Args[x.Var] = stored(v)
			}
		}
	}
	p := call
	p.Args = cloneArgs(call.Args)
	st.s.Pending = &p
	st.turn.Actions = append(st.turn.Actions, call)
	st.tracef("action", st.pos(a.Pos), "started ", call.Kind, " action ", call.Name, " (", call.ID, ")")
}

// requestText renders an HTTP action's URL or header value as segments:
// the flow's literal text, the ${SECRET} references written there (the
// runner resolves those, and only those, when the call runs) and the
// values expressions insert, encoded for their place (flows.Escape) and
// never resolved, whatever they hold.
func (st *step) requestText(t *flows.Template) dmflow.Text {
	if t == nil {
		return nil
	}
	out := make(dmflow.Text, 0, len(t.Parts))
	for _, p := range t.Parts {
		switch {
		case p.Secret != "":
			out = append(out, dmflow.Segment{Secret: p.Secret})
		case p.Expr == nil:
			out = append(out, dmflow.Segment{Lit: p.Lit})
		default:
			v, _ := st.eval(p.Expr, "template")
			out = append(out, dmflow.Segment{Value: p.Esc.Apply(string(appendValue(nil, v)))})
		}
	}
	return out
}

func cloneArgs(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := (&dmflow.Session{Vars: m}).Clone()
	return c.Vars
}

func (st *step) httpRequest(a *flows.ActionSpec) *dmflow.HTTPRequest {
	r := &dmflow.HTTPRequest{Method: a.Method, URL: st.requestText(a.URL)}
	if r.Method == "" {
		r.Method = "GET"
	}
	if len(a.Headers) > 0 {
		r.Headers = make(map[string]dmflow.Text, len(a.Headers))
		for _, k := range slices.Sorted(maps.Keys(a.Headers)) {
			r.Headers[k] = st.requestText(a.Headers[k])
		}
	}
	if a.Body != nil {
		if v, ok := st.eval(a.Body, "action"); ok {
			b, err := json.Marshal(stored(v))
			if err != nil {
				st.tracef("error", st.pos(a.Body.Pos), "action body: ", err.Error())
			} else {
				r.Body = b
			}
		}
	}
	return r
}
