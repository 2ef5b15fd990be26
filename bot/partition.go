package bot

import "sync"

// partition is one inbox worker's queue of claimed items. It takes the
// items of each account in order and hands them out round-robin between
// accounts, so that a user of one account waits for at most one item of
// each other account queued in the same partition, not for another
// account's whole backlog there. Each user's items (one account, one
// partition) keep their order.
type partition struct {
	mu     sync.Mutex
	queues map[string][]claimed // account → items, FIFO
	ring   []string             // accounts with items, in turn order
	closed bool
	ready  chan struct{} // capacity 1: items were added or the queue closed
}

func newPartition() *partition {
	return &partition{queues: map[string][]claimed{}, ready: make(chan struct{}, 1)}
}

// push adds an item to its account's queue.
func (p *partition) push(c claimed) {
	acct := c.item.Event.Account
	p.mu.Lock()
	if len(p.queues[acct]) == 0 {
		p.ring = append(p.ring, acct)
	}
	p.queues[acct] = append(p.queues[acct], c)
	p.mu.Unlock()
	wake(p.ready)
}

// close lets pop return false once the queue is empty.
func (p *partition) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	wake(p.ready)
}

// pop waits for the next item: the oldest of the account whose turn it is.
// It returns false when the partition is closed and empty.
func (p *partition) pop() (claimed, bool) {
	for {
		p.mu.Lock()
		if len(p.ring) > 0 {
			acct := p.ring[0]
			q := p.queues[acct]
			c := q[0]
			q[0] = claimed{}
			p.ring = p.ring[1:]
			if len(q) == 1 {
				delete(p.queues, acct)
			} else {
				p.queues[acct] = q[1:]
				p.ring = append(p.ring, acct) // its next item waits for the others' turns
			}
			p.mu.Unlock()
			return c, true
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return claimed{}, false
		}
		<-p.ready
	}
}
