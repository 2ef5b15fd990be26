package bot

import (
	"slices"
	"sync"

	"github.com/dmflow/dmflow"
)

// partition is one inbox worker's queue of claimed items. It takes the
// items of each account in order and hands them out round-robin between
// accounts, so that a user of one account waits for at most one item of
// each other account queued in the same partition, not for another
// account's whole backlog there. Each user's items (one account, one
// partition) keep their order. A parked user (its first item waits for a
// platform lookup, see lookups) is skipped until its lookup ended: the
// account's other users and the other accounts go on.
type partition struct {
	mu     sync.Mutex
	queues map[string][]claimed // account → items, FIFO
	ring   []string             // accounts with items, in turn order
	parked map[dmflow.SessionKey]bool
	closed bool
	ready  chan struct{} // capacity 1: items were added or unparked, or the queue closed
}

func newPartition() *partition {
	return &partition{queues: map[string][]claimed{}, parked: map[dmflow.SessionKey]bool{}, ready: make(chan struct{}, 1)}
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

// park puts c, its user's first item, back at the head of its account's
// queue and skips the user until done is closed.
func (p *partition) park(c claimed, done <-chan struct{}) {
	key := c.item.Event.SessionKey()
	p.mu.Lock()
	if len(p.queues[key.Account]) == 0 {
		p.ring = append(p.ring, key.Account)
	}
	p.queues[key.Account] = append([]claimed{c}, p.queues[key.Account]...)
	p.parked[key] = true
	p.mu.Unlock()
	go func() {
		<-done
		p.mu.Lock()
		delete(p.parked, key)
		p.mu.Unlock()
		wake(p.ready)
	}()
}

// close lets pop return false once the queue is empty.
func (p *partition) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	wake(p.ready)
}

// pop waits for the next item: the oldest of the account whose turn it is
// that is not a parked user's (an account with only parked users' items
// keeps its turn for later). It returns false when the partition is closed
// and empty.
func (p *partition) pop() (claimed, bool) {
	for {
		p.mu.Lock()
		for i, acct := range p.ring {
			q := p.queues[acct]
			j := p.first(q)
			if j < 0 {
				continue
			}
			c := q[j]
			if j == 0 {
				q[0] = claimed{}
				q = q[1:]
			} else {
				q = slices.Delete(q, j, j+1)
			}
			p.ring = slices.Delete(p.ring, i, i+1)
			if len(q) == 0 {
				delete(p.queues, acct)
			} else {
				p.queues[acct] = q
				p.ring = append(p.ring, acct) // its next item waits for the others' turns
			}
			p.mu.Unlock()
			return c, true
		}
		done := p.closed && len(p.ring) == 0
		p.mu.Unlock()
		if done {
			return claimed{}, false
		}
		<-p.ready
	}
}

// first returns the index of q's first item of a user not parked, or -1.
func (p *partition) first(q []claimed) int {
	if len(p.parked) == 0 {
		return 0
	}
	return slices.IndexFunc(q, func(c claimed) bool { return !p.parked[c.item.Event.SessionKey()] })
}
