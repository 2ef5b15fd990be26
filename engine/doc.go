// Package engine runs dmflow flows: given a session, an event and the time,
// Step computes the next session, the replies to send, the action calls to
// make, the notices to stream and a trace that explains the decision.
//
// Step is pure and deterministic. It does no I/O, never reads the wall
// clock (now is a parameter), never mutates its input session, and derives
// every id it makes (timers, action calls) from the session key, the
// session's stored Version and a per-step counter. The bot can therefore
// retry a step after a lost compare-and-swap and get the same Turn.
//
// The state machine of each flow is a github.com/looplab/fsm table built
// once by New: one fsm event per declared transition and source state
// ("menu#on0", "menu#next", "ask#fail", "lookup#ok", "@trigger2", "@start",
// …). Conditions are evaluated by the engine, which then fires the one
// synthetic event for the branch that matched, since fsm allows a single
// destination per (event, source). The only callback is the generic
// after_event hook, which enters the destination state; it reads the step
// from the event's arguments and captures nothing. fsm instances are pooled
// per flow and their state is always set from the session, so the store
// stays the only source of truth.
//
// # Semantics
//
// The flow language and its run-time semantics are specified in
// docs/flow-reference.md; the choices this package makes where the
// specification leaves room are:
//
//   - Variables live in Session.Vars in JSON form, one scope per flow of
//     the call stack: Session.Vars are the current flow's, each
//     Session.Stack frame keeps its caller's. A call starts the sub-flow's
//     scope with its params (args evaluated in the caller); its return
//     restores the caller's scope and copies the call's save mappings into
//     it, coerced to the caller's types. Frames stored before scopes (not
//     Frame.Scoped) keep the old shared variables until they return. Each
//     flow's expressions see its declared variables coerced to their
//     declared types (an unusable stored value reads as the default).
//   - Event classes: message and postback answer asks and take any
//     transition; reaction, referral, optin and comment take triggers and
//     on transitions (fallbacks included) but never answer an ask; read,
//     delete, edit, echo, unsupported and handover only take triggers and
//     on transitions whose condition mentions event.kind. A passive event
//     never creates a session (Turn.Session is nil).
//   - Triggers of the calling flows also apply inside a sub-flow, with
//     their flow's variables; a match there unwinds the call stack (the
//     sub-flows' variables are dropped, nothing is saved).
//   - An invalid ask answer says retry[attempt-1] (the last one repeats),
//     or repeats the state's say when there is no retry ladder. After
//     max_attempts the session takes on_fail without a reprompt; without
//     on_fail the ladder starts over.
//   - An action's save runs for every outcome, with response.outcome,
//     response.status and response.error bound, so a flow can tell a 404
//     from a timeout. For outcome "ok", a response that is not JSON or a
//     failing save turns the outcome into "invalid", which takes on_error;
//     for other outcomes a failing assignment is skipped. on_error defaults
//     to next; on_timeout to on_error.
//   - While an action is pending, user events are queued in
//     Session.Deferred (while_pending: queue, at most Options.MaxDeferred)
//     and replayed, in order and in the same Step, right after the result
//     moved the session; with while_pending: ignore they are dropped.
//     Entering any state cancels a pending action (its result is stale).
//   - Handoff: the bot is silent; user messages and agent echoes restart
//     the idle release timer (release_after, else Options.HandoffRelease).
//     Release (admin, timer or flow) continues at the handoff state's next,
//     else at the current flow's start. Admin move also ends a handoff.
//   - Admin reset replaces the session with a fresh one (profile, last
//     inbound and version kept) that enters the main flow's start.
//   - End states: the next message (not a read receipt) starts the main
//     flow again like a new session; variables are kept.
//   - Run-time expression errors never fail a step: a failing condition is
//     false, a failing assignment is skipped, a failing template part
//     renders empty; each is traced with What "error". Step fails only for
//     a cancelled context, a loop (ErrLoop) or an invalid admin command
//     (wrapping dmflow.ErrInvalid).
//
// # Trace
//
// Turn.Trace explains a step: "event" first, then each evaluated condition
// ("trigger", "transition", "ask", "say") with its source, YAML position
// and result, and the states entered ("enter", Detail "flow/state") and
// fsm transitions fired ("edge", Detail "flow/event"). Visits and Edges
// turn this into coverage.
//
// The trace is on by default, and `dmflow test`, `dmflow chat`, replays and
// the studio rely on it. Together with the notices it is nearly half the
// cost of a step. Options.NoTrace turns it off for an engine, which suits
// a production server, and WithTrace turns it on or off for a single call.
// Options.NoNotices drops Turn.Notices when nothing consumes them. Neither
// switch changes the session, replies or actions a step produces. What each
// configuration costs per step is measured by the benchmarks in
// bench_test.go (on testdata/tour.yaml); docs/performance.md has the
// numbers.
//
// What a step still allocates is its Turn and Session (one allocation),
// the `event` value for expressions, looplab/fsm's Event (five per
// transition: its event, context and closures), and whatever expressions,
// replies, timers and changed variables need.
//
// # Cost model
//
// A step starts from a shallow copy of its input session and copies the
// variables, timers, sub-flow stack or deferred events only when it
// changes them (copy-on-write). The expression environment is filled
// lazily: each expression's names (flows.Expr.Refs) get their value on
// first use in the step, so a variable no expression reads is never
// coerced, and `user` and `now` cost nothing unless mentioned. Steps and
// fsm instances are pooled.
//
// # Caveats
//
// Turn.Session is a new Session, but it shares with the input session
// whatever the step left unchanged: the Vars map when no variable was set,
// variable values, the Stack, Timers and Deferred slices, and the Handoff,
// Pending and Profile pointers. The engine never modifies them in place;
// code that edits a session's maps, slices or pointed-to structs in place
// must Clone it first.
//
// A comment event gets one private reply per step; further replies and
// sender actions are dropped (traced). Flow replies are never tagged
// HUMAN_AGENT (the tag is for a person's messages: an operator's, sent
// through the bot's admin API); dmflow.CheckWindow decides which replies
// the messaging window still allows. The engine trusts flows.Load for static
// checks (loops, dead ends, limits); New only re-checks what it needs to
// build the fsm tables (targets, sub-flows, reserved names).
package engine
