package bot

import (
	"context"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// renewEvery is how often the leases of users with claimed, unfinished
// work are renewed: a third of the lease, so that one late or failed
// renewal still leaves time for the next.
func (b *Bot) renewEvery() time.Duration { return max(b.cfg.Lease/3, time.Millisecond) }

// renewLoop calls renew every renewEvery until stop is closed.
func (b *Bot) renewLoop(stop <-chan struct{}, renew func()) {
	t := time.NewTicker(b.renewEvery())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			renew()
		}
	}
}

// renewCtx bounds one renewal call: it must not outlast the leases it
// renews, and it must run during a graceful shutdown too.
func (b *Bot) renewCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.renewEvery())
}

// inboxUsers counts the claimed, unfinished inbox items per user, so that
// the dispatcher can renew the leases of users whose items wait in a slow
// worker queue.
type inboxUsers struct {
	mu sync.Mutex
	n  map[dmflow.SessionKey]int
}

func (u *inboxUsers) add(k dmflow.SessionKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n == nil {
		u.n = map[dmflow.SessionKey]int{}
	}
	u.n[k]++
}

func (u *inboxUsers) done(k dmflow.SessionKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[k]--; u.n[k] <= 0 {
		delete(u.n, k)
	}
}

func (u *inboxUsers) keys() []dmflow.SessionKey {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]dmflow.SessionKey, 0, len(u.n))
	for k := range u.n {
		out = append(out, k)
	}
	return out
}

// renewInbox renews the inbox leases of the users with items in flight. A
// lost user's items fail to commit (ErrLeaseLost) and are released then.
func (d *dispatcher) renewInbox() {
	keys := d.users.keys()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := d.b.renewCtx()
	defer cancel()
	lost, err := d.b.store.RenewInbox(ctx, d.b.cfg.Owner, d.b.now(), keys...)
	if err != nil {
		d.b.log.Warn("renew inbox leases", "users", len(keys), "err", err)
		return
	}
	for _, k := range lost {
		d.b.log.Warn("inbox lease lost while items were queued; they will not be committed here", "account", k.Account, "user", k.String())
	}
}

// renewAll renews the outbox leases of the users whose lease estimate is
// not fresh (older than a third of the lease), and marks the users whose
// lease is lost, so their goroutines stop sending.
func (d *drainer) renewAll() {
	now := d.b.now()
	qs := d.stale(now.Add(d.b.cfg.Lease - d.b.renewEvery()))
	if len(qs) == 0 {
		return
	}
	keys := make([]dmflow.SessionKey, 0, len(qs))
	for k := range qs {
		keys = append(keys, k)
	}
	ctx, cancel := d.b.renewCtx()
	defer cancel()
	lost, err := d.b.store.RenewOutbox(ctx, d.queue, d.b.cfg.Owner, now, keys...)
	if err != nil {
		d.b.log.Warn("renew outbox leases", "queue", d.queue, "users", len(keys), "err", err)
		return
	}
	d.renewed(qs, lost, now.Add(d.b.cfg.Lease))
}

// stale returns the users being delivered whose lease estimate ends
// before t.
func (d *drainer) stale(t time.Time) map[dmflow.SessionKey]*userQueue {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[dmflow.SessionKey]*userQueue{}
	for k, q := range d.users {
		if !q.lost && q.until.Before(t) {
			out[k] = q
		}
	}
	return out
}

// renewed records a renewal of the users qs: the lost ones are marked,
// the others' lease estimate becomes until. A user whose goroutine ended
// meanwhile (its queue replaced) is left alone.
func (d *drainer) renewed(qs map[dmflow.SessionKey]*userQueue, lost []dmflow.SessionKey, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range lost {
		if q := qs[k]; q != nil && d.users[k] == q {
			q.lost = true
		}
		delete(qs, k)
	}
	for k, q := range qs {
		if d.users[k] == q && q.until.Before(until) {
			q.until = until
		}
	}
}

// hold reports whether this process may send the user's next item: its
// heartbeat is fresh (shared stores, see liveness), its lease is not known
// lost, and more than half of it is left (else it is renewed first).
func (d *drainer) hold(ctx context.Context, key dmflow.SessionKey) bool {
	if !d.b.live.fresh(ctx) {
		return false
	}
	now := d.b.now()
	d.mu.Lock()
	q := d.users[key]
	lost, fresh := q == nil || q.lost, q != nil && now.Add(d.b.cfg.Lease/2).Before(q.until)
	d.mu.Unlock()
	if lost || fresh {
		return !lost
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.b.renewEvery())
	defer cancel()
	lostKeys, err := d.b.store.RenewOutbox(ctx, d.queue, d.b.cfg.Owner, now, key)
	if err != nil {
		d.b.log.Warn("renew outbox lease before a send", "queue", d.queue, "account", key.Account, "user", key.String(), "err", err)
		return false
	}
	d.renewed(map[dmflow.SessionKey]*userQueue{key: q}, lostKeys, now.Add(d.b.cfg.Lease))
	return len(lostKeys) == 0
}

// unsure forgets the lease estimates of every user being delivered to, so
// that each is renewed before its next send (a late heartbeat: another
// replica may have taken any of them).
func (d *drainer) unsure() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.users {
		q.until = time.Time{}
	}
}

// markLost records that the user's lease is gone (an acknowledgement
// reported ErrLeaseLost).
func (d *drainer) markLost(key dmflow.SessionKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if q := d.users[key]; q != nil {
		q.lost = true
	}
}

// drop gives up the user's remaining claimed items after its lease was
// lost (or could not be renewed): they are not sent here, and they are
// released, so that the lease's new owner, or a later claim, delivers them.
func (d *drainer) drop(ctx context.Context, key dmflow.SessionKey) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	d.forget(key)
	d.b.metrics.leaseLost.WithLabelValues(d.queue).Inc()
	d.b.log.Warn("outbox lease lost or not renewed; leaving the user's remaining items to the next claim",
		"queue", d.queue, "account", key.Account, "user", key.String())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.b.store.ReleaseOutbox(ctx, d.queue, d.b.cfg.Owner, key); err != nil {
		d.b.log.Error("release outbox", "queue", d.queue, "account", key.Account, "user", key.String(), "err", err)
	}
}
