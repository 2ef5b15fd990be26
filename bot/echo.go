package bot

import (
	"context"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// echoTTL is how long this process remembers the ids of messages it sent.
const echoTTL = 10 * time.Minute

// echoTracker remembers the message ids this process sent recently and the
// users a send is in flight to, so an echo that arrives before its marker
// is still recognised as ours.
type echoTracker struct {
	mu       sync.Mutex
	sent     map[string]time.Time                 // mid → when
	inflight map[dmflow.SessionKey]*inflightSends // user → sends in flight
	swept    time.Time                            // last sweep of sent
}

// sweepEvery bounds how often the recent-id maps are swept for expired
// entries, so that a map holding many live entries is not walked on every
// send.
const sweepEvery = time.Second

type inflightSends struct {
	n    int
	done chan struct{} // closed when n drops to 0
}

func newEchoTracker() *echoTracker {
	return &echoTracker{sent: map[string]time.Time{}, inflight: map[dmflow.SessionKey]*inflightSends{}}
}

// begin records a send to key in flight.
func (t *echoTracker) begin(key dmflow.SessionKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.inflight[key]
	if f == nil {
		f = &inflightSends{done: make(chan struct{})}
		t.inflight[key] = f
	}
	f.n++
}

// end records the outcome of a send begun with begin; mid is "" on failure.
func (t *echoTracker) end(key dmflow.SessionKey, mid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if mid != "" {
		t.sent[mid] = now
	}
	if f := t.inflight[key]; f != nil {
		if f.n--; f.n == 0 {
			close(f.done)
			delete(t.inflight, key)
		}
	}
	if len(t.sent) > 4096 && now.Sub(t.swept) >= sweepEvery {
		t.swept = now
		for m, at := range t.sent {
			if now.Sub(at) > echoTTL {
				delete(t.sent, m)
			}
		}
	}
}

// isOurs reports whether mid was sent by this process, waiting up to grace
// for sends to key that are still in flight.
func (t *echoTracker) isOurs(ctx context.Context, key dmflow.SessionKey, mid string, grace time.Duration) bool {
	t.mu.Lock()
	_, ok := t.sent[mid]
	f := t.inflight[key]
	t.mu.Unlock()
	if ok || f == nil || mid == "" {
		return ok
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok = t.sent[mid]
	return ok
}

// ownEcho reports whether an echo event is one of dmflow's own sends.
func (b *Bot) ownEcho(ctx context.Context, ev *dmflow.Event) bool {
	return ev.Channel == ChannelDmflow || b.echoes.isOurs(ctx, ev.SessionKey(), ev.MID, b.cfg.EchoGrace)
}

// replySent is the reply.sent notice of a delivered reply.
func (b *Bot) replySent(key dmflow.SessionKey, mid string) dmflow.Notice {
	return dmflow.Notice{Type: dmflow.NoticeReplySent, Key: key, Time: b.now(), Cause: echoKey(mid),
		Data: map[string]any{"mid": mid}}
}

// echoKey is the dedupe key of the platform's echo of message mid (the
// Instagram adapter keys echoes "echo:<mid>"), remembered when the reply
// is acknowledged so that the echo is dropped at ingest.
func echoKey(mid string) string {
	if mid == "" {
		return ""
	}
	return "echo:" + mid
}

// fixTurn applies the bot's rules the engine may have left out: an echo
// from a person is never answered and hands the session off; admin
// release/handoff/reset take effect.
func (b *Bot) fixTurn(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, now time.Time) {
	switch {
	case ev.Kind == dmflow.KindEcho:
		turn.Replies = nil
		if !b.cfg.NoEchoHandoff {
			setHandoff(s, ev, turn, now, &dmflow.Handoff{Since: now, By: "agent", Reason: "human reply from the Instagram inbox"})
		}
	case ev.Kind == dmflow.KindAdmin && ev.Admin != nil:
		fixAdmin(s, ev, turn, now)
	}
}

func fixAdmin(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, now time.Time) {
	switch ev.Admin.Op {
	case dmflow.AdminHandoff:
		setHandoff(s, ev, turn, now, &dmflow.Handoff{Since: now, By: "admin", Reason: "admin"})
	case dmflow.AdminRelease:
		clearHandoff(s, ev, turn, now)
	case dmflow.AdminReset:
		if turn.Session == nil && !turn.Delete {
			turn.Delete = true
		}
	}
}

// result returns the session the turn leaves, creating an editable copy.
func result(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, now time.Time) *dmflow.Session {
	if turn.Session == nil && !turn.Delete {
		if s != nil {
			turn.Session = s.Clone()
		} else {
			turn.Session = &dmflow.Session{Key: ev.SessionKey(), Created: now}
		}
		turn.Session.Updated = now
	}
	return turn.Session
}

func setHandoff(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, now time.Time, h *dmflow.Handoff) {
	if turn.Delete || (turn.Session == nil && s != nil && s.Handoff != nil) || (turn.Session != nil && turn.Session.Handoff != nil) {
		return
	}
	result(s, ev, turn, now).Handoff = h
	turn.Notices = append(turn.Notices, dmflow.Notice{Type: dmflow.NoticeHandoffStarted, Key: ev.SessionKey(),
		Time: now, Cause: ev.Key, Data: map[string]any{"by": h.By}})
	turn.Trace = append(turn.Trace, dmflow.TraceEntry{What: "handoff", Detail: "bot: handed off (" + h.Reason + ")"})
}

func clearHandoff(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, now time.Time) {
	cur := turn.Session
	if cur == nil && !turn.Delete {
		cur = s
	}
	if cur == nil || cur.Handoff == nil {
		return
	}
	result(s, ev, turn, now).Handoff = nil
	turn.Notices = append(turn.Notices, dmflow.Notice{Type: dmflow.NoticeHandoffEnded, Key: ev.SessionKey(),
		Time: now, Cause: ev.Key, Data: map[string]any{"by": "admin"}})
	turn.Trace = append(turn.Trace, dmflow.TraceEntry{What: "handoff", Detail: "bot: handoff released"})
}
