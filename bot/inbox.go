package bot

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/warmstack"
)

// dispatcher claims inbox items and routes each user to one worker.
type dispatcher struct {
	b        *Bot
	seed     maphash.Seed
	queues   []*partition
	inflight atomic.Int64
	users    inboxUsers  // users with items in flight, for lease renewal
	waiting  atomic.Bool // the dispatcher waits for capacity
	// claimMu serialises claims with the release of a failed user, so a
	// worker can tell stale items (claimed before the release) from fresh.
	claimMu sync.Mutex
	epoch   uint64 // claims done so far; guarded by claimMu
}

// claimed is an inbox item with the number of the claim that returned it
// and, once a worker started on it, its platform lookups.
type claimed struct {
	item  *dmflow.InboxItem
	epoch uint64
	look  *lookups
}

func (b *Bot) runInbox(ctx context.Context) {
	d := &dispatcher{b: b, seed: maphash.MakeSeed(), queues: make([]*partition, b.cfg.Workers)}
	var wg sync.WaitGroup
	for i := range d.queues {
		d.queues[i] = newPartition()
		// A worker waits between items at a shallow depth: unpadded, every
		// GC shrinks its stack and its next item grows it back.
		wg.Go(func() { warmstack.Run(func() { d.work(ctx, d.queues[i]) }) })
	}
	stop := make(chan struct{})
	renewing := make(chan struct{})
	go func() { defer close(renewing); b.renewLoop(stop, d.renewInbox) }()
	d.loop(ctx)
	for _, q := range d.queues {
		q.close()
	}
	wg.Wait()
	close(stop)
	<-renewing
}

func (d *dispatcher) loop(ctx context.Context) {
	for !d.b.stopping() {
		n, full := d.claim(ctx)
		if full && n > 0 {
			continue // more may be waiting
		}
		if !d.b.idle(d.b.inboxWake, d.b.cfg.Poll) {
			return
		}
	}
}

// claim asks the store for as many items as there is room for and routes
// them. It reports how many it got and whether it asked for a full batch.
func (d *dispatcher) claim(ctx context.Context) (int, bool) {
	room := int64(d.b.cfg.MaxInflight) - d.inflight.Load()
	if room <= 0 || d.b.Engine() == nil {
		d.waiting.Store(room <= 0)
		return 0, false
	}
	max := min(int(room), d.b.cfg.ClaimBatch)
	d.claimMu.Lock()
	items, err := d.b.store.ClaimInbox(ctx, dmflow.Claim{Owner: d.b.cfg.Owner, Max: max, Lease: d.b.cfg.Lease, Now: d.b.now()})
	d.epoch++
	epoch := d.epoch
	d.claimMu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			d.b.log.Error("claim inbox", "err", err)
		}
		return 0, false
	}
	d.inflight.Add(int64(len(items)))
	for i := range items {
		d.users.add(items[i].Event.SessionKey())
	}
	for i := range items {
		d.route(claimed{item: &items[i], epoch: epoch})
	}
	return len(items), len(items) == max
}

func (d *dispatcher) route(c claimed) {
	k := c.item.Event.SessionKey()
	h := maphash.String(d.seed, k.Account+"\x00"+k.User)
	d.queues[h%uint64(len(d.queues))].push(c)
}

// finished records that an item of user key left the pipeline.
func (d *dispatcher) finished(key dmflow.SessionKey) {
	d.users.done(key)
	if d.inflight.Add(-1) < int64(d.b.cfg.MaxInflight)/2 && d.waiting.CompareAndSwap(true, false) {
		wake(d.b.inboxWake)
	}
}

// work processes one partition's items, each user's in order, the
// accounts' in turns (see partition). An item whose platform lookup takes
// long is parked until it ended, and the worker goes on with other users
// (see lookups). After a failure that is not the item's fault (store
// error, lost lease), the user is released and its items already queued
// are dropped until the next claim brings them back.
func (d *dispatcher) work(ctx context.Context, q *partition) {
	blocked := map[dmflow.SessionKey]uint64{} // user → epoch of its release
	for {
		c, ok := q.pop()
		if !ok {
			return
		}
		key := c.item.Event.SessionKey()
		if e, ok := blocked[key]; ok && c.epoch <= e {
			d.finished(key)
			continue
		}
		delete(blocked, key)
		if c.look == nil {
			c.look = &lookups{}
		}
		err := d.b.handle(ctx, c.item, c.look)
		if errors.Is(err, errParked) {
			q.park(c, c.look.wait)
			continue
		}
		if err != nil {
			blocked[key] = d.release(key, err)
		}
		d.finished(key)
	}
}

// release gives the user back to the store after a failed item and returns
// the claim epoch at the time of release.
func (d *dispatcher) release(key dmflow.SessionKey, cause error) uint64 {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	if !errors.Is(cause, context.Canceled) {
		d.b.log.Warn("item not processed, user released for a later claim", "account", key.Account, "user", key.String(), "err", cause)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.b.cfg.Lease)
	defer cancel()
	if err := d.b.store.ReleaseInbox(ctx, d.b.cfg.Owner, key); err != nil {
		d.b.log.Warn("release inbox", "account", key.Account, "user", key.String(), "err", err)
	}
	return d.epoch
}
