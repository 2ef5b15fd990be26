package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/dmflow/dmflow"
)

// maxConflicts bounds step retries after a lost compare-and-swap.
const maxConflicts = 5

var errNoEngine = errors.New("bot: no engine loaded")

// handle processes one claimed inbox item: load, step, one Commit. It
// returns errParked when the item waits for a platform lookup (the caller
// calls handle again with the same l once l.wait is closed, see lookups),
// and another error only when the item was not committed for a reason that
// is not the item's fault (store error, lost lease, shutdown); the caller
// then releases the user so the item is claimed again.
func (b *Bot) handle(ctx context.Context, it *dmflow.InboxItem, l *lookups) error {
	start := time.Now()
	if it.Attempts > b.cfg.MaxItemAttempts {
		reason := fmt.Sprintf("given up after %d claims (crash loop?)", it.Attempts)
		return b.commit(ctx, it, nil, dmflow.Commit{Failed: reason}, start)
	}
	if isForget(&it.Event) {
		return b.forget(ctx, it)
	}
	if it.Event.Kind == dmflow.KindEcho {
		own, err := b.isOwnEcho(ctx, &it.Event, l)
		if err != nil {
			return err
		}
		if own {
			return b.commit(ctx, it, nil, dmflow.Commit{}, start) // reply.sent was queued at delivery
		}
	}
	for range maxConflicts {
		s, err := b.loadSession(ctx, it.Event.SessionKey())
		if err != nil {
			return err
		}
		ev, err := b.withMedia(ctx, &it.Event, l)
		if err != nil {
			return err
		}
		from, err := b.withProfile(ctx, s, ev, l)
		if err != nil {
			return err
		}
		c := b.commitFor(ctx, from, ev)
		err = b.commit(ctx, it, s, c, start)
		if !errors.Is(err, dmflow.ErrConflict) {
			return err
		}
		b.log.Debug("session changed meanwhile, stepping again", "account", it.Event.SessionKey().Account, "user", it.Event.SessionKey().String())
	}
	return fmt.Errorf("bot: %s: session keeps changing: %w", it.Event.Key, dmflow.ErrConflict)
}

// loadSession loads the session to step, from the store's copy of its
// claim or last commit when it keeps one (dmflow.WorkSessions).
func (b *Bot) loadSession(ctx context.Context, key dmflow.SessionKey) (*dmflow.Session, error) {
	var s *dmflow.Session
	var err error
	if ws, ok := b.store.(dmflow.WorkSessions); ok {
		s, err = ws.WorkSession(ctx, b.cfg.Owner, key)
	} else {
		s, err = b.store.GetSession(ctx, key)
	}
	if errors.Is(err, dmflow.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bot: load session %s: %w", key, err)
	}
	return s, nil
}

// commitFor runs the engine and turns its outcome into a Commit (without
// the item's identity, which commit fills in).
func (b *Bot) commitFor(ctx context.Context, s *dmflow.Session, ev *dmflow.Event) dmflow.Commit {
	now := b.now()
	turn, err := b.step(ctx, s, *ev, now)
	b.observers.observe(s, ev, turn, err, now)
	if err != nil {
		b.metrics.failed.Inc()
		b.log.Error("event failed", "account", ev.Account, "user", ev.SessionKey().String(), "event", ev.Key, "kind", ev.Kind, "err", err)
		return dmflow.Commit{Failed: err.Error(), Now: now}
	}
	c := dmflow.Commit{Session: turn.Session, Delete: turn.Delete, Outbox: turn.Replies, Actions: turn.Actions, Counts: turn.Counts, Now: now}
	if u, _ := b.noticeTo(ev.Account); u != "" {
		c.Notices = turn.Notices
	}
	return c
}

// commit completes c with the item's identity and stores it.
func (b *Bot) commit(ctx context.Context, it *dmflow.InboxItem, s *dmflow.Session, c dmflow.Commit, start time.Time) error {
	c.Owner, c.Seq, c.Key = b.cfg.Owner, it.Seq, it.Event.SessionKey()
	if c.Now.IsZero() {
		c.Now = b.now()
	}
	if c.Session != nil {
		c.Session.Key = c.Key
		c.Session.Version = 0
		if s != nil {
			c.Session.Version = s.Version
		}
	}
	if err := b.store.Commit(ctx, c); err != nil {
		return fmt.Errorf("bot: commit %s %s: %w", c.Key, it.Event.Key, err)
	}
	b.metrics.processing.Observe(time.Since(start).Seconds())
	b.metrics.countAssignments(s, c.Session)
	b.metrics.countFunnel(c.Counts)
	result := "ok"
	if c.Failed != "" {
		result = "failed"
	}
	b.metrics.accountEvents.WithLabelValues(c.Key.Account, result).Inc()
	b.afterCommit(it, &c)
	return nil
}

// afterCommit wakes the loops that have new work.
func (b *Bot) afterCommit(it *dmflow.InboxItem, c *dmflow.Commit) {
	if len(c.Outbox) > 0 {
		b.e2e.put(it.Event.Key, it.Received)
		wake(b.dm.wake)
	}
	if len(c.Notices) > 0 {
		wake(b.notices.wake)
	}
	if len(c.Actions) > 0 {
		wake(b.actionWake)
	}
	if c.Session != nil && len(c.Session.Timers) > 0 {
		b.wakeTimers(c.Session.Timers)
	}
}

// step runs the engine, turning a panic into an error. The rules for
// echoes and admin commands (handoff, release, reset) are the engine's.
func (b *Bot) step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (turn *dmflow.Turn, err error) {
	eng := b.Engine()
	if eng == nil {
		return nil, errNoEngine
	}
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("engine panic", "account", ev.Account, "event", ev.Key, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			turn, err = nil, fmt.Errorf("engine panic: %v", r)
		}
	}()
	turn, err = eng.Step(ctx, s, ev, now)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if turn == nil {
		turn = &dmflow.Turn{}
	}
	return turn, nil
}
