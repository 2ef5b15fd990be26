package engine

import (
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
)

// Settling: a flow (or state) with `settle: 3s` holds a burst of messages
// ("hi" / "I need help" / "with my order") and handles them as one turn.
// The first settlable message (dmflow.Event.Settlable) opens the window: it
// is kept in Session.Settling and a durable timer (dmflow.SettleTimer) is
// armed for the window. Messages arriving before the timer fires join the
// window. The window closes, and dmflow.MergeMessages' message runs
// through triggers, ask and on as one input, when
//
//   - its timer fires (the window is measured from the first message, so a
//     chatty user waits at most one window),
//   - an event that does not join it arrives (a tap, a postback, a
//     reaction, an echo, an admin command, another timer): the merged
//     message is handled first, then that event, so order is kept,
//   - or it holds Options.MaxDeferred messages.
//
// Passive events (read, edit, delete, unsupported) neither join nor close
// it. Everything lives in the session and its timers, which the bot commits
// with each turn, so a restart mid-window loses nothing and the window
// closes when its timer fires on whichever replica holds the user.

// settleWindow is the settle window that applies to a message for the
// session now: the state's own `settle`, else its flow's; for a message
// that starts a session (none yet, ended, flow gone), the main flow's.
func (st *step) settleWindow() time.Duration {
	s := st.s
	m := st.e.machines[s.Flow]
	if s.State == "" || s.Ended || m == nil {
		return st.e.machines[st.e.b.Main].flow.Settle
	}
	if x := m.flow.States[s.State]; x != nil && x.Settle != nil {
		return *x.Settle
	}
	return m.flow.Settle
}

// joinsWindow reports whether the current event may arrive while a settle
// window is open without closing it.
func (st *step) joinsWindow() bool {
	ev, s := st.ev, st.s
	switch ev.Kind {
	case dmflow.KindRead, dmflow.KindEdit, dmflow.KindDelete, dmflow.KindUnsupported:
		return true
	case dmflow.KindTimer:
		return ev.Timer != nil && ev.Timer.Name == dmflow.SettleTimer
	}
	return ev.Settlable() && s.Handoff == nil && s.Pending == nil && st.settleWindow() > 0
}

// hold keeps the message in the settle window, opening it (arming its
// timer) for the first one.
func (st *step) hold(w time.Duration) error {
	s := st.s
	if len(s.Settling) == 0 {
		st.arm(dmflow.SettleTimer, w)
	}
	ev := *st.ev
	ev.Raw = nil
	s.Settling = append(st.ownSettling(), ev)
	if st.tracing {
		st.trace("settle", "", "message held ("+strconv.Itoa(len(s.Settling))+" in the burst): the flow sees the burst as one message when the settle window closes")
	}
	if len(s.Settling) >= st.e.opts.MaxDeferred {
		return st.settled("the burst holds " + strconv.Itoa(len(s.Settling)) + " messages")
	}
	return nil
}

// settled closes the settle window: its messages are merged and handled as
// one message (already counted as received when each arrived).
func (st *step) settled(why string) error {
	s := st.s
	evs := s.Settling
	s.Settling = nil
	st.own.settling = true
	st.disarm(dmflow.SettleTimer)
	st.merged = dmflow.MergeMessages(evs)
	st.setEvent(&st.merged)
	if st.tracing {
		st.trace("settle", "", "window closed ("+why+"): "+strconv.Itoa(len(evs))+" messages handled as one")
	}
	return st.user(true)
}
