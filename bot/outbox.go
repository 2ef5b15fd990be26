package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// deliverFunc delivers one outbox item and returns the platform id, if any.
type deliverFunc func(ctx context.Context, it *dmflow.OutboxItem) (string, error)

// sentFunc runs after an item was delivered and before it is acknowledged.
type sentFunc func(ctx context.Context, it *dmflow.OutboxItem, id string) error

// rememberFunc returns the dedupe key recorded with the acknowledgement of
// an item delivered with platform id id ("" for none).
type rememberFunc func(id string) string

// drainer delivers one outbox queue: one goroutine per user at a time (so
// a user's items go out strictly in order), at most Config.Senders users at
// once, shared fairly between accounts (fairSlots). The goroutines are
// long-lived senders: a user with newly claimed items is handed to the
// sender that went idle last (up to idleSenders wait for work) and a new
// one starts only when none is idle, so a steady stream of replies starts
// no goroutine per event. Handing work out last-in first-out keeps the set
// of senders in use as small as the stream needs (the others time out),
// and the sender handed a user is the one most likely to have kept the
// stack its last send grew.
// Acknowledgements go through one acker goroutine that acknowledges
// everything queued in one AckOutbox call (see acker).
type drainer struct {
	b        *Bot
	queue    string
	deliver  deliverFunc
	onSent   sentFunc
	remember rememberFunc
	wake     chan struct{}
	slots    *fairSlots // Config.Senders, shared fairly between accounts
	wg       sync.WaitGroup
	// claimMu serialises claims with the retry/release of a user, so no
	// item claimed before a release is delivered after it.
	claimMu sync.Mutex
	mu      sync.Mutex
	users   map[dmflow.SessionKey]*userQueue // present while a goroutine runs
	pending int                              // items claimed, not finished
	held    map[string]int                   // pending per account

	idleMu sync.Mutex
	idlers []chan dmflow.SessionKey // idle senders' hand-off channels (capacity 1), the latest idle last
	quit   chan struct{}            // closed when no more users are handed out
	acks   chan *ackReq             // to the acker
}

// ackReq is one delivered item waiting for its acknowledgement. Each
// sender goroutine reuses one.
type ackReq struct {
	key  dmflow.SessionKey
	ack  dmflow.Ack
	lost bool  // acknowledged, but the user's lease was lost
	err  error // the acknowledgement failed (the item will be sent again)
	done chan struct{}
}

// maxAckBatch bounds the acknowledgements of one AckOutbox call.
const maxAckBatch = 256

// userQueue is one user's claimed items not sent yet, and what this
// process knows of the user's lease.
type userQueue struct {
	items []dmflow.OutboxItem
	until time.Time // the lease lasts at least until then (a renewal's start + Lease)
	lost  bool      // a renewal or an acknowledgement found the lease gone
}

func newDrainer(b *Bot, queue string, deliver deliverFunc, onSent sentFunc, remember rememberFunc) *drainer {
	return &drainer{b: b, queue: queue, deliver: deliver, onSent: onSent, remember: remember, wake: make(chan struct{}, 1),
		slots: newFairSlots(b.cfg.Senders), users: map[dmflow.SessionKey]*userQueue{}, held: map[string]int{},
		quit: make(chan struct{}), acks: make(chan *ackReq, maxAckBatch)}
}

func (d *drainer) run(ctx context.Context) {
	stop := make(chan struct{})
	renewing := make(chan struct{})
	acking := make(chan struct{})
	go func() { defer close(renewing); d.b.renewLoop(stop, d.renewAll) }()
	go func() { defer close(acking); d.acker() }()
	for !d.b.stopping() {
		if n, full := d.claim(ctx); full && n > 0 {
			continue
		}
		if !d.b.idle(d.wake, d.b.cfg.Poll) {
			break
		}
	}
	close(d.quit) // claims are over: idle senders exit, busy ones after their user
	d.wg.Wait()
	close(d.acks) // no sender is left to acknowledge
	<-acking
	close(stop)
	<-renewing
}

// idleSenders bounds the sender goroutines kept waiting for work.
func (d *drainer) idleSenders() int { return max(2*d.b.cfg.Senders, 1) }

// start hands the user to the sender that went idle last, or starts one.
func (d *drainer) start(ctx context.Context, key dmflow.SessionKey) {
	d.idleMu.Lock()
	if n := len(d.idlers); n > 0 {
		c := d.idlers[n-1]
		d.idlers[n-1] = nil
		d.idlers = d.idlers[:n-1]
		d.idleMu.Unlock()
		c <- key // capacity 1, and only the popper sends: never blocks
		return
	}
	d.idleMu.Unlock()
	d.wg.Go(func() { d.sender(ctx, key) })
}

// sender delivers key's items, then waits for the next user handed out by
// start, until the claims are over, enough other senders are idle, or none
// came for senderIdle.
func (d *drainer) sender(ctx context.Context, key dmflow.SessionKey) {
	r := &ackReq{done: make(chan struct{}, 1)}
	handoff := make(chan dmflow.SessionKey, 1)
	var idle *time.Timer
	for {
		d.runUser(ctx, key, r)
		d.idleMu.Lock()
		if len(d.idlers) >= d.idleSenders() {
			d.idleMu.Unlock()
			return
		}
		d.idlers = append(d.idlers, handoff)
		d.idleMu.Unlock()
		if idle == nil {
			idle = time.NewTimer(senderIdle)
		} else {
			idle.Reset(senderIdle)
		}
		select {
		case key = <-handoff:
			idle.Stop()
			continue
		case <-d.quit:
		case <-idle.C: // quiet: the pool shrinks back (a burst's senders do not stay forever)
		}
		// Leaving: out of the pool, unless start took this sender already
		// and hands it a user, which it then serves.
		d.idleMu.Lock()
		if i := slices.Index(d.idlers, handoff); i >= 0 {
			d.idlers = slices.Delete(d.idlers, i, i+1)
			d.idleMu.Unlock()
			idle.Stop()
			return
		}
		d.idleMu.Unlock()
		key = <-handoff
	}
}

// senderIdle is how long an idle sender waits for another user before it
// exits: long enough to carry a steady stream without a goroutine per
// event, short enough that the pool shrinks back after a burst.
const senderIdle = 2 * time.Second

// room returns how many items the next claim may ask for and the accounts
// it must leave out. The items claimed and not finished are bounded by
// 16×Senders, shared between accounts like the send slots: one account
// holds at most 7/8 of them (see shareRoom). An account at its share is
// left out of claims (Claim.Skip), and a claim asks for no more than the
// others may still take, so the items one account cannot send yet
// (throttled by Meta, paced, behind its own backlog) never hold the room
// another account's replies need: those are claimed by the next claim.
func (d *drainer) room() (int, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, skip := shareRoom(16*max(d.b.cfg.Senders, 1), d.pending, d.held)
	return min(n, d.b.cfg.ClaimBatch), skip
}

// claim leases due items and hands them to their user's goroutine.
func (d *drainer) claim(ctx context.Context) (int, bool) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	max, skip := d.room()
	if max <= 0 {
		return 0, false
	}
	now := d.b.now()
	items, err := d.b.store.ClaimOutbox(ctx, d.queue, dmflow.Claim{Owner: d.b.cfg.Owner, Max: max, Lease: d.b.cfg.Lease, Now: now, Skip: skip})
	if err != nil {
		if ctx.Err() == nil {
			d.b.log.Error("claim outbox", "queue", d.queue, "err", err)
		}
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending += len(items)
	for _, it := range items {
		d.held[it.Key.Account]++
		q := d.users[it.Key]
		if q == nil {
			q = &userQueue{}
			d.users[it.Key] = q
			d.start(ctx, it.Key)
		}
		q.items = append(q.items, it)
		q.until = now.Add(d.b.cfg.Lease) // the claim renewed the user's lease
	}
	return len(items), len(items) == max
}

// next pops the user's next item, if any.
func (d *drainer) next(key dmflow.SessionKey) (dmflow.OutboxItem, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.users[key]
	if q == nil || len(q.items) == 0 {
		return dmflow.OutboxItem{}, false
	}
	it := q.items[0]
	q.items = q.items[1:]
	return it, true
}

// finish ends the user's goroutine unless a claim queued more items for
// it meanwhile (then it reports false and the goroutine goes on).
func (d *drainer) finish(key dmflow.SessionKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if q := d.users[key]; q != nil && len(q.items) > 0 {
		return false
	}
	delete(d.users, key)
	return true
}

// forget drops the user's queued items (they stay claimed until released).
func (d *drainer) forget(key dmflow.SessionKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if q := d.users[key]; q != nil {
		d.finished(key.Account, len(q.items))
		delete(d.users, key)
	}
}

// done counts one of the user's claimed items as finished.
func (d *drainer) done(key dmflow.SessionKey) {
	d.mu.Lock()
	d.finished(key.Account, 1)
	d.mu.Unlock()
}

// finished counts n of account's claimed items as finished; d.mu is held.
func (d *drainer) finished(account string, n int) {
	d.pending -= n
	if d.held[account] -= n; d.held[account] <= 0 {
		delete(d.held, account)
	}
}

// outcome is what became of one delivery attempt.
type outcome int

const (
	delivered outcome = iota
	deadLettered
	retryLater
	aborted
)

// runUser delivers the user's claimed items in order, acknowledging each
// delivered item before the next send, so that a crash repeats at most the
// one send in flight per user. The Senders slot is held only while a send
// is in flight, not during the acknowledgement (a store commit, which the
// store groups with the other users' acknowledgements), so slow commits do
// not idle the senders. Items claimed meanwhile for the user are queued
// here, never to a second goroutine that could retry (and release) while
// an earlier item is unacknowledged. Before each send the user's lease is
// checked (see hold); once it is lost the remaining items are dropped.
func (d *drainer) runUser(ctx context.Context, key dmflow.SessionKey, r *ackReq) {
	for {
		it, more := d.next(key)
		if !more {
			if d.finish(key) {
				return
			}
			continue
		}
		d.slots.acquire(key.Account)
		if !d.hold(ctx, key) {
			d.slots.release(key.Account)
			d.done(key)
			d.drop(ctx, key)
			return
		}
		id, res, delay, reason := d.attempt(ctx, &it)
		d.slots.release(key.Account)
		d.done(key)
		switch res {
		case delivered:
			d.ack(ctx, &it, id, r)
		case deadLettered:
			d.dead(ctx, &it, reason)
		case retryLater:
			d.retry(ctx, &it, delay, reason)
			return
		case aborted:
			d.forget(key) // released by Run's final release
			return
		}
	}
}

// attempt delivers one item and classifies the result.
func (d *drainer) attempt(ctx context.Context, it *dmflow.OutboxItem) (string, outcome, time.Duration, string) {
	sctx, cancel := context.WithTimeout(ctx, d.b.cfg.SendTimeout)
	id, err := d.deliver(sctx, it)
	cancel()
	switch {
	case err == nil:
		d.b.metrics.deliveries.WithLabelValues(d.queue, "ok").Inc()
		d.b.metrics.accountDeliveries.WithLabelValues(it.Key.Account, d.queue, "ok").Inc()
		return id, delivered, 0, ""
	case ctx.Err() != nil:
		return "", aborted, 0, ""
	case isPermanent(err):
		return "", deadLettered, 0, err.Error()
	case it.Attempts+1 >= d.b.cfg.MaxSendAttempts:
		return "", deadLettered, 0, fmt.Sprintf("gave up after %d attempts: %v", it.Attempts+1, err)
	}
	return "", retryLater, d.b.backoff(it.Attempts+1, err), err.Error()
}

func isPermanent(err error) bool {
	return errors.Is(err, dmflow.ErrPermanent) || errors.Is(err, dmflow.ErrOutsideWindow) ||
		errors.Is(err, dmflow.ErrAmbiguous) || errors.Is(err, dmflow.ErrInvalid)
}

// backoff is the delay before attempt n+1: exponential from RetryBase,
// capped at RetryMax, with jitter, and at least what the error asks for.
func (b *Bot) backoff(n int, err error) time.Duration {
	d := b.cfg.RetryBase << min(n-1, 30)
	if d <= 0 || d > b.cfg.RetryMax {
		d = b.cfg.RetryMax
	}
	d = d/2 + rand.N(d/2+1)
	var ra dmflow.RetryAfterer
	if errors.As(err, &ra) && ra.RetryAfter() > d {
		d = ra.RetryAfter()
	}
	return d
}

// ack acknowledges a delivered item, remembering its dedupe key (the
// own-echo id) in the same transaction, and returns once the
// acknowledgement is durable (or failed), so that the user's next item is
// sent only after this one left the outbox. The acker groups it with the
// other senders' acknowledgements; it uses its own deadline, so that an
// item delivered just before shutdown is still acknowledged.
func (d *drainer) ack(ctx context.Context, it *dmflow.OutboxItem, id string, r *ackReq) {
	if d.onSent != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := d.onSent(ctx, it, id); err != nil {
			d.b.log.Error("record sent message", "queue", d.queue, "account", it.Key.Account, "seq", it.Seq, "err", err)
		}
		cancel()
	}
	r.key, r.ack, r.lost, r.err = it.Key, dmflow.Ack{Seq: it.Seq}, false, nil
	if d.remember != nil {
		r.ack.Remember = d.remember(id)
	}
	d.acks <- r
	<-r.done
	switch {
	case r.lost:
		d.markLost(it.Key) // acknowledged; the user's next items are not ours any more
	case r.err != nil:
		d.b.log.Error("ack outbox (the item will be delivered again)", "queue", d.queue, "account", it.Key.Account, "seq", it.Seq, "err", r.err)
	}
}

// acker acknowledges the queued deliveries: it takes every request
// waiting, acknowledges them in one AckOutbox call (one store request and
// transaction instead of one each) and answers them; requests arriving
// meanwhile form the next call. It returns when acks is closed.
func (d *drainer) acker() {
	batch := make([]*ackReq, 0, maxAckBatch)
	acks := make([]dmflow.Ack, 0, maxAckBatch)
	for r := range d.acks {
		batch = append(batch[:0], r)
	more:
		for len(batch) < maxAckBatch {
			select {
			case r, ok := <-d.acks:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		acks = d.ackAll(batch, acks[:0])
		for i, r := range batch {
			batch[i] = nil
			r.done <- struct{}{}
		}
	}
}

// ackAll acknowledges batch in one call and sets each request's outcome.
// When the store reports a lost lease (the acknowledgements took effect
// anyway), a renewal of the batch's users finds out whose.
func (d *drainer) ackAll(batch []*ackReq, acks []dmflow.Ack) []dmflow.Ack {
	for _, r := range batch {
		acks = append(acks, r.ack)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := d.b.now()
	err := d.b.store.AckOutbox(ctx, d.b.cfg.Owner, now, acks...)
	if !errors.Is(err, dmflow.ErrLeaseLost) {
		for _, r := range batch {
			r.err = err
		}
		return acks
	}
	if len(batch) == 1 {
		batch[0].lost = true
		return acks
	}
	keys := make([]dmflow.SessionKey, 0, len(batch))
	for _, r := range batch {
		if !slices.Contains(keys, r.key) {
			keys = append(keys, r.key)
		}
	}
	lost, rerr := d.b.store.RenewOutbox(ctx, d.queue, d.b.cfg.Owner, now, keys...)
	for _, r := range batch {
		// Not knowing whose lease is gone, every user of the batch counts
		// as lost: its remaining items are released, never sent twice.
		r.lost = rerr != nil || slices.Contains(lost, r.key)
	}
	return acks
}

// retry puts the item back with a delay and releases the user's other
// claimed items, which must wait behind it.
func (d *drainer) retry(ctx context.Context, it *dmflow.OutboxItem, delay time.Duration, reason string) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	d.forget(it.Key)
	// Counted once the retry is recorded: whoever sees the counter sees the
	// item's new due time in the store.
	defer d.b.metrics.accountDeliveries.WithLabelValues(it.Key.Account, d.queue, "retried").Inc()
	defer d.b.metrics.deliveries.WithLabelValues(d.queue, "retried").Inc()
	d.b.log.Warn("delivery failed, will retry", "queue", d.queue, "account", it.Key.Account, "user", it.Key.String(), "seq", it.Seq,
		"attempt", it.Attempts+1, "in", delay, "err", reason)
	if err := d.b.store.RetryOutbox(ctx, d.b.cfg.Owner, it.Seq, d.b.now().Add(delay), reason); err != nil {
		d.b.log.Error("retry outbox", "queue", d.queue, "account", it.Key.Account, "seq", it.Seq, "err", err)
	}
	if err := d.b.store.ReleaseOutbox(ctx, d.queue, d.b.cfg.Owner, it.Key); err != nil {
		d.b.log.Error("release outbox", "queue", d.queue, "account", it.Key.Account, "user", it.Key.String(), "err", err)
	}
}

func (d *drainer) dead(ctx context.Context, it *dmflow.OutboxItem, reason string) {
	d.b.log.Error("delivery failed permanently, dead-lettered", "queue", d.queue, "account", it.Key.Account, "user", it.Key.String(),
		"seq", it.Seq, "attempts", it.Attempts+1, "err", reason)
	if err := d.b.store.DeadLetter(ctx, d.b.cfg.Owner, it.Seq, reason, d.b.now()); err != nil {
		if errors.Is(err, dmflow.ErrLeaseLost) {
			d.markLost(it.Key)
		}
		d.b.log.Error("dead letter", "queue", d.queue, "account", it.Key.Account, "seq", it.Seq, "err", err)
		return
	}
	// Counted once recorded: whoever sees the counter finds the dead letter.
	d.b.metrics.deliveries.WithLabelValues(d.queue, "dead").Inc()
	d.b.metrics.accountDeliveries.WithLabelValues(it.Key.Account, d.queue, "dead").Inc()
	if d.queue == dmflow.QueueDM {
		d.b.noticeFailed(ctx, it, reason)
	}
}
