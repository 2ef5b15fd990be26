package bot

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/dmflow/dmflow"
)

// runActions claims recorded action calls and runs them, at most
// Config.ActionWorkers at once, shared between accounts like the send
// slots (see shareRoom: an account whose action endpoint is slow never
// holds every worker), outside any per-user transaction. When the
// bot stops it cancels the running calls at once instead of waiting for
// them: they are not completed and run again, with the same
// Idempotency-Key, after releaseAll gave up their leases.
func (b *Bot) runActions(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	running := map[string]bool{} // call ids running in this process
	held := map[string]int{}     // calls running per account
	var mu sync.Mutex
	var wg sync.WaitGroup
	for !b.stopping() {
		mu.Lock()
		room, skip := shareRoom(b.cfg.ActionWorkers, len(running), held)
		mu.Unlock()
		if room > 0 {
			n := b.claimActions(ctx, room, skip, func(it dmflow.ActionItem) {
				mu.Lock()
				defer mu.Unlock()
				if running[it.Call.ID] {
					return
				}
				running[it.Call.ID] = true
				acct := it.Call.Key.Account
				held[acct]++
				wg.Go(func() {
					b.runAction(ctx, it)
					mu.Lock()
					delete(running, it.Call.ID)
					if held[acct]--; held[acct] <= 0 {
						delete(held, acct)
					}
					mu.Unlock()
					wake(b.actionWake)
				})
			})
			if n == room {
				continue // more may be waiting (another account's, now that this one may be at its share)
			}
		}
		if !b.idle(b.actionWake, b.cfg.Poll) {
			break
		}
	}
	wg.Wait()
}

// claimActions claims up to max calls, leaving out the accounts in skip,
// starts them and returns how many it claimed.
func (b *Bot) claimActions(ctx context.Context, max int, skip []string, start func(dmflow.ActionItem)) int {
	items, err := b.store.ClaimActions(ctx, dmflow.Claim{Owner: b.cfg.Owner, Max: max, Lease: b.cfg.ActionLease, Now: b.now(), Skip: skip})
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("claim actions", "err", err)
		}
		return 0
	}
	for _, it := range items {
		start(it)
	}
	return len(items)
}

// runAction runs one call and feeds its result back into the user's inbox.
// A call cut short by shutdown is not completed: it runs again later.
func (b *Bot) runAction(ctx context.Context, it dmflow.ActionItem) {
	res := b.callAction(ctx, it)
	if ctx.Err() != nil {
		b.log.Info("action interrupted by shutdown; it runs again on the next claim", "action", it.Call.Name, "id", it.Call.ID, "account", it.Call.Key.Account, "user", it.Call.Key.String())
		return
	}
	b.metrics.actions.WithLabelValues(res.Outcome).Inc()
	call := it.Call
	ev := dmflow.Event{Key: "action:" + call.ID, Kind: dmflow.KindActionResult, Channel: ChannelDmflow,
		Account: call.Key.Account, User: call.Key.User, Time: b.now(), Action: &res}
	if err := b.store.CompleteAction(ctx, b.cfg.Owner, call.ID, ev, b.now()); err != nil {
		b.log.Error("complete action", "account", call.Key.Account, "action", call.Name, "id", call.ID, "err", err)
		return
	}
	b.log.Info("action done", "action", call.Name, "id", call.ID, "account", call.Key.Account, "user", call.Key.String(), "outcome", res.Outcome, "status", res.Status)
	wake(b.inboxWake)
}

func (b *Bot) callAction(ctx context.Context, it dmflow.ActionItem) (res dmflow.ActionResult) {
	call := it.Call
	res = dmflow.ActionResult{ID: call.ID, Name: call.Name, Outcome: dmflow.OutcomeError}
	switch {
	case it.Attempts > b.cfg.MaxItemAttempts:
		res.Error = fmt.Sprintf("given up after %d attempts", it.Attempts)
		return res
	case b.cfg.Actions == nil:
		res.Error = "no action runner configured"
		return res
	}
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("action panic", "account", call.Key.Account, "action", call.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res = dmflow.ActionResult{ID: call.ID, Name: call.Name, Outcome: dmflow.OutcomeError, Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, b.cfg.actionDeadline())
	defer cancel()
	res = b.cfg.Actions.Run(ctx, call)
	res.ID, res.Name = call.ID, call.Name
	return res
}
