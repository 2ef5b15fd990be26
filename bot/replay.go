package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/dmflow/dmflow"
)

// maxReplay bounds how much history a replay reads.
const maxReplay = 10000

// Replay is the dry run of a user's stored history against the current
// engine, from an empty session, next to what the bot said then.
type Replay struct {
	Key   dmflow.SessionKey `json:"key"`
	Steps []ReplayStep      `json:"steps"`
	// Differs counts the steps whose replies differ from what was sent then.
	Differs int `json:"differs"`
	// Session is the session the replay ends with.
	Session *dmflow.Session `json:"session"`
}

// ReplayStep is one event of a replay: what the bot said for it then and
// what the current flows say.
type ReplayStep struct {
	Seq   uint64              `json:"seq"`
	Event dmflow.Event        `json:"event"`
	Trace []dmflow.TraceEntry `json:"trace,omitempty"`
	// Sent are the replies the bot enqueued for the event when it was
	// processed (dmflow.InboxItem.Replies), what it said then.
	Sent []dmflow.Outgoing `json:"sent,omitempty"`
	// Replies are what the current flows say.
	Replies []dmflow.Outgoing `json:"replies,omitempty"`
	Error   string            `json:"error,omitempty"`
	// Differs is set when Replies are not the replies sent then (see
	// SameReplies) or the current flows fail on the event.
	Differs bool `json:"differs,omitempty"`
}

// Replay re-runs the user's stored inbox history (as kept by the retention)
// against the current engine, starting from no session, and returns every
// step's trace and replies next to the replies sent then. It commits
// nothing and sends nothing.
//
// The replayed session advances its Version as a store would, so timers and
// action calls get the ids they got live; a recorded timer or action result
// whose id the replayed session does not know is matched to the replayed
// session's timer of the same name, or its pending call of the same action
// (history cut by the retention starts mid-conversation).
func (b *Bot) Replay(ctx context.Context, key dmflow.SessionKey) (*Replay, error) {
	items, err := b.store.History(ctx, key, maxReplay)
	if err != nil {
		return nil, fmt.Errorf("bot: replay %s: %w", key, err)
	}
	rep := &Replay{Key: key, Steps: []ReplayStep{}}
	ctx = dmflow.WithTrace(ctx, true) // a replay exists to explain itself
	var s *dmflow.Session
	for _, it := range items {
		turn, err := b.step(ctx, s, replayEvent(s, it.Event), it.Received)
		st := ReplayStep{Seq: it.Seq, Event: it.Event, Sent: it.Replies}
		if err != nil {
			if err == errNoEngine {
				return nil, err
			}
			st.Error = err.Error()
		} else {
			st.Trace, st.Replies = turn.Trace, turn.Replies
			s = nextSession(s, turn)
		}
		st.Differs = st.Error != "" || !SameReplies(st.Sent, st.Replies)
		if st.Differs {
			rep.Differs++
		}
		rep.Steps = append(rep.Steps, st)
	}
	rep.Session = s
	return rep, nil
}

// replayEvent adapts a recorded timer or action result to the replayed
// session when its id is unknown there (see Replay).
func replayEvent(s *dmflow.Session, ev dmflow.Event) dmflow.Event {
	if s == nil {
		return ev
	}
	switch {
	case ev.Kind == dmflow.KindTimer && ev.Timer != nil:
		var byName *dmflow.Timer
		for i := range s.Timers {
			if s.Timers[i].ID == ev.Timer.ID {
				return ev
			}
			if s.Timers[i].Name == ev.Timer.Name && byName == nil {
				byName = &s.Timers[i]
			}
		}
		if byName != nil {
			tf := *ev.Timer
			tf.ID = byName.ID
			ev.Timer = &tf
		}
	case ev.Kind == dmflow.KindActionResult && ev.Action != nil && s.Pending != nil:
		if s.Pending.ID != ev.Action.ID && s.Pending.Name == ev.Action.Name {
			r := *ev.Action
			r.ID = s.Pending.ID
			ev.Action = &r
		}
	}
	return ev
}

// SameReplies reports whether two reply lists say the same: the same
// messages (content, recipient and tag) in the same order. Bookkeeping
// (cause, window times) is ignored.
func SameReplies(a, b []dmflow.Outgoing) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(replyID(a[i]), replyID(b[i])) {
			return false
		}
	}
	return true
}

func replyID(o dmflow.Outgoing) []byte {
	b, _ := json.Marshal(struct {
		To    dmflow.Recipient
		Reply dmflow.Reply
		Tag   string
	}{o.To, o.Reply, o.Tag})
	return b
}

// nextSession is the session a committed turn would leave, with the
// Version a store would give it.
func nextSession(s *dmflow.Session, turn *dmflow.Turn) *dmflow.Session {
	switch {
	case turn.Delete:
		return nil
	case turn.Session != nil:
		n := turn.Session.Clone()
		n.Version++
		return n
	}
	return s
}
