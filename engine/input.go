package engine

import (
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// triggers checks the global triggers of the current flow, then of each
// calling flow outwards; a match in a caller unwinds the sub-flow stack to
// it. It reports whether a trigger matched.
func (st *step) triggers() (bool, error) {
	s := st.s
	for depth := len(s.Stack); depth >= 0; depth-- {
		m, state, vars := st.m, s.State, s.Vars
		if depth < len(s.Stack) {
			fr := s.Stack[depth]
			if m = st.e.machines[fr.Flow]; m == nil || m == st.m {
				continue
			}
			state = fr.State
			if fr.Scoped {
				vars = fr.Vars // a caller's triggers see the caller's variables
			}
		}
		for _, ti := range m.triggers {
			if !st.matchesIn(m, vars, ti, "trigger") {
				continue
			}
			if depth < len(s.Stack) {
				st.tracef("unwind", "", "trigger of calling flow ", m.flow.Name)
				st.unwind(depth)
				st.use(m, state)
			}
			return true, st.take(ti, "trigger")
		}
	}
	return false, nil
}

// matchesIn evaluates a transition's condition against m's env with the
// variables vars (a calling flow's, kept in its frame).
func (st *step) matchesIn(m *machine, vars map[string]any, ti *transInfo, what string) bool {
	if st.m != m {
		saved, savedVars := st.m, st.s.Vars
		st.m, st.s.Vars = m, vars
		defer func() { st.m, st.s.Vars, st.envM = saved, savedVars, nil }()
	}
	return st.matches(ti, what)
}

// matches reports whether a transition applies to the current event and
// traces the evaluation.
func (st *step) matches(ti *transInfo, what string) bool {
	t := ti.t
	if st.cls == classPassive && !ti.explicit {
		return false
	}
	if len(t.Keywords) > 0 {
		ok := st.keyword(t.Keywords)
		if st.tracing {
			st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: what, Pos: ti.pos, Expr: "keywords", Result: ok})
		}
		if !ok {
			return false
		}
	}
	if t.When == nil {
		if len(t.Keywords) == 0 {
			st.trace(what, ti.pos, "fallback")
		}
		return true
	}
	ok := st.cond(t.When, what, ti.pos)
	return ok
}

// keyword is the keywords sugar: lower(trim(text)) equals one of them.
func (st *step) keyword(kws []string) bool {
	text := strings.TrimSpace(st.ev.Text)
	if text == "" {
		return false
	}
	for _, k := range kws {
		if strings.EqualFold(text, strings.TrimSpace(k)) {
			return true
		}
	}
	return false
}

// take runs a matched transition: set, say, then goto (or stay), then the
// handoff sugar.
func (st *step) take(ti *transInfo, what string) error {
	t := ti.t
	st.set(t.Set)
	st.say(t.Say)
	if ti.ev != "" {
		if err := st.fire(ti.ev); err != nil {
			return err
		}
	} else if st.s.State != "" {
		st.tracef(what, ti.pos, "no goto: staying in ", st.s.State)
	}
	if t.Handoff && st.s.Handoff == nil {
		st.handoff(nil, "flow", 0)
	}
	return nil
}

// on evaluates a state's on transitions in order, then next (when allowed),
// else stays. Only what a person sends (message, postback) reaches every
// entry and next; other kinds (reaction, referral, comment, read, edit, …)
// reach only entries whose condition tests event.kind, so a catch-all
// fallback never answers a reaction.
func (st *step) on(si *stateInfo, allowNext bool) error {
	for _, ti := range si.on {
		if st.cls != classInput && !ti.explicit {
			continue
		}
		if st.matches(ti, "transition") {
			return st.take(ti, "transition")
		}
	}
	if allowNext && si.next != "" && st.cls == classInput {
		st.trace("transition", si.pos, "next")
		return st.fire(si.next)
	}
	st.tracef("stay", si.pos, "nothing matched: staying in ", si.st.Name)
	return nil
}

// capture handles an answer to the state's ask.
func (st *step) capture(si *stateInfo) error {
	a := si.st.Ask
	in, ok := parseInput(a, st.ev, st.now)
	if vi := st.m.vars[a.Var]; ok && vi != nil && vi.v.Type != flows.TypeAny {
		var err error
		if in, err = coerce(in, vi.v.Type); err != nil {
			ok = false // e.g. 2.5 for an int variable
		}
	}
	pos := ""
	if st.tracing {
		pos = st.e.pos(a.Pos)
		st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: "ask", Pos: pos, Expr: string(a.Type), Result: ok})
	}
	if ok && a.Validate != nil {
		st.envReady()
		st.env["input"] = in
		ok = st.cond(a.Validate, "ask", pos)
	}
	if !ok {
		return st.invalid(si)
	}
	st.setVar(a.Var, in)
	st.s.Attempts = 0
	if st.notifying {
		st.notice(dmflow.NoticeVarCaptured, map[string]any{"var": a.Var, "value": st.s.Vars[a.Var], "state": si.boxedName})
	}
	return st.on(si, true)
}

// invalid counts a failed answer. The n-th failure says its reprompt:
// retry[n-1] (the last entry repeats; without retry, the state's say). After
// the max_attempts-th failure, which says retry[max_attempts-1] when the
// ladder has that entry (and nothing else), the session goes to on_fail.
func (st *step) invalid(si *stateInfo) error {
	a := si.st.Ask
	s := st.s
	s.Attempts++
	n := s.Attempts
	st.count(dmflow.CountAskFailed, si.st.Name)
	if a.MaxAttempts > 0 && n >= a.MaxAttempts && si.fail != "" {
		if n <= len(a.Retry) {
			st.say(a.Retry[n-1 : n])
		}
		if st.tracing {
			st.trace("ask", st.pos(a.Pos), "max attempts reached")
		}
		return st.fire(si.fail)
	}
	if a.MaxAttempts > 0 && n >= a.MaxAttempts {
		s.Attempts = 0 // no on_fail (hand-built flows): the ladder starts over
	}
	if r := len(a.Retry); r > 0 {
		i := min(n, r) - 1
		st.say(a.Retry[i : i+1])
	} else {
		st.say(si.st.Say)
	}
	return nil
}
