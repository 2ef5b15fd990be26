package bot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
)

// liveness keeps this process's heartbeat in a shared store
// (dmflow.Liveness), so that other replicas take over its users, outbox
// and action calls within Config.HeartbeatTTL of a crash instead of one
// lease. Because another replica may take this process's leases as soon
// as its heartbeat is older than the TTL, the drainer sends only while the
// last heartbeat is younger than half the TTL (see fresh), and renews
// every user's lease before its next send when a heartbeat finds that the
// TTL had passed (another replica may have taken the user meanwhile).
type liveness struct {
	b    *Bot
	lv   dmflow.Liveness // nil: the store is not shared
	mu   sync.Mutex      // one heartbeat at a time
	last atomic.Int64    // the clock reading (Unix ns) of the last heartbeat that succeeded
}

func newLiveness(b *Bot) *liveness {
	l := &liveness{b: b}
	l.lv, _ = b.store.(dmflow.Liveness)
	return l
}

// run sends a heartbeat every Config.Heartbeat until stop is closed.
func (l *liveness) run(stop <-chan struct{}) {
	if l.lv == nil {
		return
	}
	t := time.NewTicker(l.b.cfg.Heartbeat)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), l.b.cfg.HeartbeatTTL)
		if err := l.beat(ctx); err != nil {
			l.b.log.Warn("heartbeat", "err", err)
		}
		cancel()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// beat records one heartbeat. When the previous one had expired, other
// replicas may have taken any of this process's leases: the drainers must
// renew each user's lease before its next send (they learn the users they
// lost then, and stop sending to them).
func (l *liveness) beat(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.b.now()
	alive, err := l.lv.Heartbeat(ctx, l.b.cfg.Owner, now, l.b.cfg.HeartbeatTTL)
	if err != nil {
		return err
	}
	if !alive {
		l.b.metrics.heartbeatsLate.Inc()
		l.b.log.Warn("heartbeat came after its TTL: other replicas may have taken this replica's users; renewing before sending",
			"ttl", l.b.cfg.HeartbeatTTL)
		l.b.dm.unsure()
		l.b.notices.unsure()
	}
	l.last.Store(now.UnixNano())
	return nil
}

// fresh reports whether this process may rely on its leases for a send:
// no shared store, or a heartbeat younger than half the TTL (one is sent
// now when the last is older).
func (l *liveness) fresh(ctx context.Context) bool {
	if l.lv == nil {
		return true
	}
	young := func() bool {
		return l.b.now().Sub(time.Unix(0, l.last.Load())) < l.b.cfg.HeartbeatTTL/2
	}
	if young() {
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.b.cfg.HeartbeatTTL/2)
	defer cancel()
	l.mu.Lock()
	ok := young()
	l.mu.Unlock()
	if ok {
		return true
	}
	if err := l.beat(ctx); err != nil {
		l.b.log.Warn("heartbeat before a send", "err", err)
		return false
	}
	return young()
}

// depart removes the heartbeat after a graceful stop.
func (l *liveness) depart() {
	if l.lv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.lv.Depart(ctx, l.b.cfg.Owner); err != nil {
		l.b.log.Warn("remove heartbeat", "err", err)
	}
}
