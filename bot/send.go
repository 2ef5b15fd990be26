package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// sendDM delivers one reply through the Sender, tracking it for echo
// recognition.
func (b *Bot) sendDM(ctx context.Context, it *dmflow.OutboxItem) (string, error) {
	if it.Message == nil {
		return "", fmt.Errorf("bot: outbox item %d has no message: %w", it.Seq, dmflow.ErrInvalid)
	}
	if it.Message.Reply.NotMessage() {
		// A public comment reply, moderation or thread-control change
		// makes no DM echo: nothing to recognise later.
		return b.cfg.Sender.Send(ctx, *it.Message)
	}
	b.echoes.begin(it.Key)
	mid, err := b.cfg.Sender.Send(ctx, *it.Message)
	if err != nil {
		mid = ""
	}
	b.echoes.end(it.Key, mid, replySig(&it.Message.Reply))
	if err == nil {
		if at, ok := b.e2e.get(it.Message.Cause); ok {
			b.metrics.endToEnd.Observe(b.now().Sub(at).Seconds())
		}
	}
	return mid, err
}

// noticeSent queues the reply.sent notice of a delivered reply, when
// notices are on, before the reply is acknowledged (so a crash in between
// repeats the notice rather than losing it).
func (b *Bot) noticeSent(ctx context.Context, it *dmflow.OutboxItem, mid string) error {
	if u, _ := b.noticeTo(it.Key.Account); u == "" || mid == "" {
		return nil
	}
	c := dmflow.Commit{Owner: b.cfg.Owner, Key: it.Key, Now: b.now(), Notices: []dmflow.Notice{b.replySent(it.Key, mid)}}
	if err := b.store.Commit(ctx, c); err != nil {
		return fmt.Errorf("bot: queue reply.sent notice: %w", err)
	}
	wake(b.notices.wake)
	return nil
}

// noticeFailed queues a reply.failed notice for a dead-lettered reply.
func (b *Bot) noticeFailed(ctx context.Context, it *dmflow.OutboxItem, reason string) {
	if u, _ := b.noticeTo(it.Key.Account); u == "" || it.Message == nil {
		return
	}
	n := dmflow.Notice{Type: dmflow.NoticeReplyFailed, Key: it.Key, Time: b.now(), Cause: it.Message.Cause,
		Data: map[string]any{"reason": reason, "seq": int(it.Seq)}}
	c := dmflow.Commit{Owner: b.cfg.Owner, Key: it.Key, Notices: []dmflow.Notice{n}, Now: b.now()}
	if err := b.store.Commit(ctx, c); err != nil {
		b.log.Error("queue reply.failed notice", "account", it.Key.Account, "user", it.Key.String(), "err", err)
		return
	}
	wake(b.notices.wake)
}

// receivedTimes remembers when the events that produced replies were
// received, for the end-to-end latency metric (this process only).
type receivedTimes struct {
	mu    sync.Mutex
	m     map[string]time.Time
	swept time.Time // last sweep (see sweepEvery)
}

func newReceivedTimes() *receivedTimes { return &receivedTimes{m: map[string]time.Time{}} }

func (r *receivedTimes) put(cause string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= 8192 && at.Sub(r.swept) >= sweepEvery {
		r.swept = at
		for k, t := range r.m {
			if at.Sub(t) > recentTTL {
				delete(r.m, k)
			}
		}
	}
	if len(r.m) < 16384 {
		r.m[cause] = at
	}
}

func (r *receivedTimes) get(cause string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.m[cause]
	return t, ok
}
