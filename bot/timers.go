package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

// fireBatch is the most timers fired per FireTimers call.
const fireBatch = 256

// runTimers fires due timers into the inbox, sleeping until the next one is
// due (at most Config.Poll) or until a commit sets a timer due before then.
func (b *Bot) runTimers(ctx context.Context) {
	for !b.stopping() {
		b.timerSleep.Store(0) // awake: a commit's timer may be due before the next one read below
		if _, err := b.FireTimersNow(ctx, b.now()); err != nil && ctx.Err() == nil {
			b.log.Error("fire timers", "err", err)
		}
		d := b.untilNextTimer(ctx)
		b.timerSleep.Store(b.now().Add(d).UnixNano())
		if !b.idle(b.timerWake, d) {
			return
		}
	}
}

// wakeTimers wakes the timer loop when one of timers, just committed, is
// due before the loop wakes by itself. Waking it for every commit that
// keeps a timer cost two statements (FireTimers, NextTimer) per few events
// under load (PostgreSQL: 5,600 per 20,000 events in dmflow bench), to
// learn a next due time that had not changed. A commit that finishes while
// the loop is awake wakes it (the signal waits in the channel), so a timer
// committed after the loop read the next due time is never missed.
func (b *Bot) wakeTimers(timers []dmflow.Timer) {
	sleep := b.timerSleep.Load()
	for _, t := range timers {
		if sleep == 0 || t.Due.UnixNano() < sleep {
			wake(b.timerWake)
			return
		}
	}
}

func (b *Bot) untilNextTimer(ctx context.Context) time.Duration {
	due, ok, err := b.store.NextTimer(ctx)
	if err != nil || !ok {
		return b.cfg.Poll
	}
	return max(min(due.Sub(b.now()), b.cfg.Poll), time.Millisecond)
}

// FireTimersNow moves every timer due at or before at into the inbox (as
// KindTimer events) and wakes the workers. The scheduler calls it with the
// clock's time; the sandbox calls it after advancing its fake clock. It
// returns how many timers fired.
func (b *Bot) FireTimersNow(ctx context.Context, at time.Time) (int, error) {
	total := 0
	for {
		n, err := b.store.FireTimers(ctx, at, fireBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("bot: fire timers: %w", err)
		}
		if n < fireBatch {
			break
		}
	}
	if total > 0 {
		b.metrics.timers.Add(float64(total))
		wake(b.inboxWake)
	}
	return total, nil
}
