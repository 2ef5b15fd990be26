package engine

import (
	"maps"

	"github.com/dmflow/dmflow"
)

// ownVars returns the session's variables, copied on the first write of the
// step. Values are shared with the input: the engine replaces variables and
// never modifies a value in place.
func (st *step) ownVars() map[string]any {
	if !st.own.vars {
		st.s.Vars = maps.Clone(st.s.Vars)
		st.own.vars = true
	}
	return st.s.Vars
}

// writeVar stores a value in JSON form in the session's variables.
func (st *step) writeVar(name string, v any) { st.ownVars()[name] = v }

// ownTimers returns the session's timers, copied (with room for one more)
// on the first write of the step.
func (st *step) ownTimers() []dmflow.Timer {
	if !st.own.timers {
		st.s.Timers = cloneGrow(st.s.Timers)
		st.own.timers = true
	}
	return st.s.Timers
}

// ownStack is ownTimers for the sub-flow stack.
func (st *step) ownStack() []dmflow.Frame {
	if !st.own.stack {
		st.s.Stack = cloneGrow(st.s.Stack)
		st.own.stack = true
	}
	return st.s.Stack
}

// ownDeferred is ownTimers for the events deferred while an action is pending.
func (st *step) ownDeferred() []dmflow.Event {
	if !st.own.deferred {
		st.s.Deferred = cloneGrow(st.s.Deferred)
		st.own.deferred = true
	}
	return st.s.Deferred
}

// ownSettling is ownTimers for the messages held by a settle window.
func (st *step) ownSettling() []dmflow.Event {
	if !st.own.settling {
		st.s.Settling = cloneGrow(st.s.Settling)
		st.own.settling = true
	}
	return st.s.Settling
}

// nilIfEmpty is s, or nil when s is empty (as Session.Clone copies it).
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// cloneGrow copies s with room for one more element; nil stays nil.
func cloneGrow[S ~[]E, E any](s S) S {
	if s == nil {
		return nil
	}
	return append(make(S, 0, len(s)+1), s...)
}

// The kinds received() reports, boxed once for notice data.
var (
	boxedMessage  any = string(dmflow.KindMessage)
	boxedPostback any = string(dmflow.KindPostback)
)

func kindValue(k dmflow.EventKind) any {
	switch k {
	case dmflow.KindMessage:
		return boxedMessage
	case dmflow.KindPostback:
		return boxedPostback
	}
	return string(k)
}
