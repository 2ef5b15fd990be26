package engine

import (
	"time"

	"github.com/dmflow/dmflow"
)

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
		due := dropOffDue(st.now, st.e.opts.DropOff)
		if !hasTimerAt(st.s.Timers, dropOffTimer, due) {
			st.armAt(dropOffTimer, due)
		}
	case st.s.Ended || st.s.Handoff != nil:
		st.disarm(dropOffTimer)
	}
}

// dropOffDue is when the drop-off timer armed at now fires: now + d,
// rounded up to a whole dropOffGrain (at most d/64), so that the messages
// of one grain keep the timer armed by the first of them (same ID and due)
// and a store rewrites no timer index entry for the others. A drop-off is
// counted at most one grain late, never early.
func dropOffDue(now time.Time, d time.Duration) time.Time {
	due := now.Add(d)
	g := min(dropOffGrain, d/64)
	if g <= 0 {
		return due
	}
	t := due.Truncate(g)
	if t.Before(due) {
		t = t.Add(g)
	}
	return t
}

// dropOffGrain bounds how late dropOffDue lets a drop-off fire.
const dropOffGrain = time.Minute

// hasTimerAt reports whether ts holds the named timer, due at due.
func hasTimerAt(ts []dmflow.Timer, name string, due time.Time) bool {
	for _, t := range ts {
		if t.Name == name {
			return t.Due.Equal(due)
		}
	}
	return false
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
