package bot

import "sync"

// fairSlots bounds the sends in flight (Config.Senders) and shares them
// fairly between accounts, so that one account whose sends are slow (Meta
// throttles it, its backlog is long) does not hold every slot while another
// account's users wait:
//
//   - one account holds at most cap − cap/8 slots (at least one slot is
//     always left to the other accounts when cap ≥ 2);
//   - a freed slot goes to the waiting account with the fewest slots held
//     (ties: the one that waited longest), and a user's waiting goroutines
//     of one account are served in arrival order.
//
// A lone account therefore uses up to 7/8 of the slots, and as soon as a
// second account has work its first send waits for at most one slot to
// free, not for the first account's backlog.
type fairSlots struct {
	mu    sync.Mutex
	cap   int
	max   int // per account
	used  int
	held  map[string]int
	queue map[string][]chan struct{} // account → waiters, FIFO
	since map[string]uint64          // account → arrival number of its first waiter
	n     uint64
}

func newFairSlots(capacity int) *fairSlots {
	capacity = max(1, capacity)
	return &fairSlots{cap: capacity, max: accountShare(capacity), held: map[string]int{},
		queue: map[string][]chan struct{}{}, since: map[string]uint64{}}
}

// acquire blocks until account may send.
func (f *fairSlots) acquire(account string) {
	f.mu.Lock()
	if len(f.queue[account]) == 0 && f.used < f.cap && f.held[account] < f.max {
		f.take(account)
		f.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	if len(f.queue[account]) == 0 {
		f.n++
		f.since[account] = f.n
	}
	f.queue[account] = append(f.queue[account], ch)
	f.mu.Unlock()
	<-ch
}

func (f *fairSlots) take(account string) {
	f.used++
	f.held[account]++
}

// release gives account's slot back and hands free slots to waiters.
func (f *fairSlots) release(account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used--
	if f.held[account]--; f.held[account] <= 0 {
		delete(f.held, account)
	}
	for f.used < f.cap {
		next, ok := f.pick()
		if !ok {
			return
		}
		q := f.queue[next]
		ch := q[0]
		if len(q) == 1 {
			delete(f.queue, next)
			delete(f.since, next)
		} else {
			f.queue[next] = q[1:]
		}
		f.take(next)
		close(ch)
	}
}

// pick chooses the waiting account below its limit with the fewest slots
// held, then the longest waiting.
func (f *fairSlots) pick() (string, bool) {
	best, found := "", false
	for acct := range f.queue {
		h := f.held[acct]
		if h >= f.max {
			continue
		}
		if !found || h < f.held[best] || (h == f.held[best] && f.since[acct] < f.since[best]) {
			best, found = acct, true
		}
	}
	return best, found
}

// accountShare is the most of capacity (send slots, claimed replies,
// running actions) one account may hold: capacity − capacity/8, and at
// least one left to the other accounts when capacity ≥ 2.
func accountShare(capacity int) int {
	share := capacity - capacity/8
	if capacity >= 2 && share == capacity {
		share = capacity - 1
	}
	return share
}

// shareRoom returns how many more units (of capacity, used of them now)
// the next claim may take, and the accounts it must leave out: those at
// their accountShare. A claim takes no more than the accounts not left out
// may still hold, so the units one account cannot use yet never hold the
// room another account needs. held is the units each account holds.
func shareRoom(capacity, used int, held map[string]int) (int, []string) {
	share := accountShare(capacity)
	var skip []string
	most := 0 // the most units an account not left out holds
	for acct, h := range held {
		if h >= share {
			skip = append(skip, acct)
		} else {
			most = max(most, h)
		}
	}
	return min(capacity-used, share-most), skip
}
