package engine

import "github.com/dmflow/dmflow"

// dropOffTimer is the Timer.Name of the drop-off timer (Options.DropOff).
const dropOffTimer = "dropoff"

// count records a funnel counter of the session's current flow: a state
// entered, an edge taken (its fsm event name), a handoff or a failed ask.
// Names are precomputed strings: counting costs one append.
func (st *step) count(kind, name string) {
	st.turn.Counts = append(st.turn.Counts, dmflow.Count{Kind: kind, Flow: st.s.Flow, Name: name})
}

// waiting reports whether the session waits for a person's next message.
func waiting(s *dmflow.Session) bool {
	return s != nil && s.State != "" && !s.Ended && s.Handoff == nil && s.Pending == nil
}

// dropOffTimer restarts the drop-off timer after a person's input while the
// session waits, and cancels it when the session ended or was handed off.
func (st *step) dropOffTimer() {
	if st.e.opts.DropOff <= 0 || st.turn.Session == nil {
		return
	}
	switch {
	case st.sawInput && waiting(st.s):
		st.arm(dropOffTimer, st.e.opts.DropOff)
	case st.s.Ended || st.s.Handoff != nil:
		st.disarm(dropOffTimer)
	}
}

// droppedOff counts a drop-off at the state the session still waits in,
// leaving the session as it was (its Updated included).
func (st *step) droppedOff() error {
	s := st.s
	if waiting(s) {
		st.count(dmflow.CountDroppedOff, s.State)
		st.tracef("dropoff", "", "no input within ", st.e.opts.DropOff.String(), " in ", s.State, ": counted as a drop-off")
	}
	if !st.updated.IsZero() {
		s.Updated = st.updated
	}
	return nil
}
