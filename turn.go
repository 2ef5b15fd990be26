package dmflow

import "context"

// Turn is the outcome of one engine step for one session and one event. The
// bot commits it atomically: the new session, its replies in the outbox, its
// notices and its action calls.
type Turn struct {
	// Session is the new session. It is a fresh copy; the input is never mutated.
	Session *Session `json:"session"`
	// Delete asks the store to remove the session (an admin reset before the
	// flow starts again is expressed as a fresh Session instead).
	Delete  bool         `json:"delete,omitempty"`
	Replies []Outgoing   `json:"replies,omitempty"`
	Actions []ActionCall `json:"actions,omitempty"`
	Notices []Notice     `json:"notices,omitempty"`
	// Counts are the funnel counters of the step (states entered,
	// transitions taken, handoffs, failed asks, drop-offs).
	Counts []Count `json:"counts,omitempty"`
	// Trace explains the step: which trigger or transition matched, which
	// expressions were evaluated with what result.
	Trace []TraceEntry `json:"trace,omitempty"`
}

// TraceEntry is one line of a step's explanation.
type TraceEntry struct {
	// What kind of step: "event", "trigger", "transition", "ask", "set",
	// "enter", "say", "timer", "action", "handoff", "skip", "error".
	What string `json:"what"`
	// Where in the flow file ("flows/lead.yaml:12:9"), when known.
	Pos string `json:"pos,omitempty"`
	// Expr is the source of the evaluated expression, Result its value.
	Expr   string `json:"expr,omitempty"`
	Result any    `json:"result,omitempty"`
	// Detail is a human-readable explanation.
	Detail string `json:"detail,omitempty"`
}

type traceKey struct{}

// WithTrace returns a context under which an engine step records its trace
// (on) or not (off), whatever the engine's default is. Callers that show a
// trace (a replay, a debugger) use it without depending on the engine.
func WithTrace(ctx context.Context, on bool) context.Context {
	return context.WithValue(ctx, traceKey{}, on)
}

// TraceRequested reports whether ctx asks for a trace (ok=false: no preference).
func TraceRequested(ctx context.Context) (on, ok bool) {
	on, ok = ctx.Value(traceKey{}).(bool)
	return on, ok
}
