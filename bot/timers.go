package bot

import (
	"context"
	"fmt"
	"time"
)

// fireBatch is the most timers fired per FireTimers call.
const fireBatch = 256

// runTimers fires due timers into the inbox, sleeping until the next one is
// due (at most Config.Poll) or until a commit sets a timer.
func (b *Bot) runTimers(ctx context.Context) {
	for !b.stopping() {
		if _, err := b.FireTimersNow(ctx, b.now()); err != nil && ctx.Err() == nil {
			b.log.Error("fire timers", "err", err)
		}
		if !b.idle(b.timerWake, b.untilNextTimer(ctx)) {
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
