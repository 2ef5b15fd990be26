package bot

import (
	"context"
	"fmt"

	"github.com/dmflow/dmflow"
)

// maxReplay bounds how much history a replay reads.
const maxReplay = 10000

// Replay is the dry run of a user's stored history against the current
// engine, from an empty session.
type Replay struct {
	Key   dmflow.SessionKey `json:"key"`
	Steps []ReplayStep      `json:"steps"`
	// Session is the session the replay ends with.
	Session *dmflow.Session `json:"session"`
}

// ReplayStep is one event of a replay and what the engine made of it.
type ReplayStep struct {
	Seq     uint64              `json:"seq"`
	Event   dmflow.Event        `json:"event"`
	Trace   []dmflow.TraceEntry `json:"trace,omitempty"`
	Replies []dmflow.Outgoing   `json:"replies,omitempty"`
	Error   string              `json:"error,omitempty"`
}

// Replay re-runs the user's stored inbox history (as kept by the retention)
// against the current engine, starting from no session, and returns every
// step's trace and replies. It commits nothing and sends nothing. Own-echo
// markers are skipped, as in live processing.
func (b *Bot) Replay(ctx context.Context, key dmflow.SessionKey) (*Replay, error) {
	items, err := b.store.History(ctx, key, maxReplay)
	if err != nil {
		return nil, fmt.Errorf("bot: replay %s: %w", key, err)
	}
	rep := &Replay{Key: key, Steps: []ReplayStep{}}
	ctx = dmflow.WithTrace(ctx, true) // a replay exists to explain itself
	var s *dmflow.Session
	for _, it := range items {
		if it.Event.Kind == dmflow.KindEcho && it.Event.Channel == ChannelDmflow {
			continue
		}
		turn, err := b.step(ctx, s, it.Event, it.Received)
		st := ReplayStep{Seq: it.Seq, Event: it.Event}
		if err != nil {
			if err == errNoEngine {
				return nil, err
			}
			st.Error = err.Error()
		} else {
			st.Trace, st.Replies = turn.Trace, turn.Replies
			s = nextSession(s, turn)
		}
		rep.Steps = append(rep.Steps, st)
	}
	rep.Session = s
	return rep, nil
}

// nextSession is the session a committed turn would leave.
func nextSession(s *dmflow.Session, turn *dmflow.Turn) *dmflow.Session {
	switch {
	case turn.Delete:
		return nil
	case turn.Session != nil:
		return turn.Session
	}
	return s
}
