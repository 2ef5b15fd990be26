package postgres

import (
	"context"
	"sync"
	"time"
)

// maxGroupCalls bounds the calls in one group: a group holds the row locks
// of all its calls until it commits, and other transactions touching those
// rows (claims renewing leases) wait for it.
const maxGroupCalls = 32

// maxGroups bounds the grouped transactions of one kind in flight at once
// (per DB); calls arriving meanwhile wait and go together in the next.
const maxGroups = 4

// grouper group-commits concurrent calls of one kind (AppendInbox,
// AckOutbox): a call runs a transaction itself when fewer than maxGroups
// are in flight, taking every call queued until then along, and goes on
// with the calls queued meanwhile until none is left; otherwise it waits
// for a running one to take it. Each transaction is one round trip and
// one WAL flush for the whole group, and a batch of rows per statement.
type grouper[R any] struct {
	mu      sync.Mutex
	queue   []R
	running int
}

// add queues r and, when it may, runs exec on the queued calls (its own
// among them). exec must settle every call it is given; the caller waits
// for r to be settled. A caller runs at most one group: calls queued
// meanwhile go on in a goroutine of their own, so no caller keeps serving
// others under a steady stream. The transactions run to the end even when
// ctx ends first.
func (g *grouper[R]) add(ctx context.Context, r R, exec func(context.Context, []R)) {
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.running >= maxGroups {
		g.mu.Unlock()
		return
	}
	g.running++
	batch := g.take()
	g.mu.Unlock()
	g.run(context.WithoutCancel(ctx), batch, exec)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.running--
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go g.drain(context.WithoutCancel(ctx), exec)
}

// drain runs groups until no call is queued.
func (g *grouper[R]) drain(ctx context.Context, exec func(context.Context, []R)) {
	for {
		g.mu.Lock()
		batch := g.take()
		if len(batch) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.run(ctx, batch, exec)
	}
}

// take removes up to maxGroupCalls queued calls (g.mu held).
func (g *grouper[R]) take() []R {
	batch := g.queue[:min(len(g.queue), maxGroupCalls)]
	g.queue = g.queue[len(batch):]
	if len(g.queue) == 0 {
		g.queue = nil
	}
	return batch
}

// run runs one group with a deadline of its own.
func (g *grouper[R]) run(ctx context.Context, batch []R, exec func(context.Context, []R)) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	exec(ctx, batch)
}
