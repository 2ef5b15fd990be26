package pace

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// maxPaceBatch bounds the send slots one round trip to the shared pacer
// reserves: one per send waiting for a slot of the account and class in
// this process, so a busy account costs one round trip per batch of sends
// and a quiet one a round trip per send.
const maxPaceBatch = 16

// sharedPace paces one account's sends of one class across every process
// sharing a dmflow.Pacer (cluster-wide limits). The slots it reserves are
// spaced by the rate's interval cluster-wide; each send waits for its slot.
type sharedPace struct {
	pacer    dmflow.Pacer
	account  string
	class    string
	interval time.Duration
	burst    int
	clock    func() time.Time

	mu      sync.Mutex
	slots   []slot        // reserved, unused, ascending
	waiting int           // sends waiting for a slot
	taking  chan struct{} // closed when the reservation in flight ends
}

func newSharedPace(p dmflow.Pacer, account, class string, perSec float64, burst int, clock func() time.Time) *sharedPace {
	if perSec < 0 {
		return nil // this class is not paced
	}
	return &sharedPace{pacer: p, account: account, class: class, clock: clock,
		interval: time.Duration(float64(time.Second) / perSec), burst: max(burst, 1)}
}

// stale is how late a reserved slot may be used: a slot used later would
// crowd the slots after it (several sends in one interval), so it is
// dropped and a new one reserved (see slot for the reservation's own
// round trip); the Headroom absorbs the crowding.
func (s *sharedPace) stale() time.Duration {
	return min(max(2*s.interval, 10*time.Millisecond), time.Second)
}

// wait reserves a slot (batched with the other waiting sends of this
// process) and sleeps until it.
func (s *sharedPace) wait(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.waiting++
	for {
		now := s.clock()
		for len(s.slots) > 0 && now.After(s.slots[0].stale) {
			s.slots = s.slots[1:]
		}
		if len(s.slots) > 0 {
			sl := s.slots[0]
			s.slots = s.slots[1:]
			s.mu.Unlock()
			if err := Sleep(ctx, sl.at.Sub(now)); err != nil {
				s.mu.Lock()
				s.waiting--
				s.mu.Unlock()
				return err
			}
			s.mu.Lock()
			// A process starved of CPU wakes late; sending on a stale slot
			// would crowd the slots after it, so it takes a new one.
			if !s.clock().After(sl.stale) {
				s.waiting--
				s.mu.Unlock()
				return nil
			}
			continue
		}
		if s.taking != nil {
			ch := s.taking
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				s.mu.Lock()
				s.waiting--
				s.mu.Unlock()
				return ctx.Err()
			}
			s.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		s.taking = ch
		n := min(s.waiting, maxPaceBatch)
		s.mu.Unlock()
		first, err := s.pacer.Pace(ctx, s.account, s.class, n, s.interval, s.burst, now)
		s.mu.Lock()
		s.taking = nil
		close(ch)
		if err != nil {
			s.waiting--
			s.mu.Unlock()
			return fmt.Errorf("shared pacer: %w", err)
		}
		back := s.clock()
		for k := range n {
			at := first.Add(time.Duration(k) * s.interval)
			if at.Before(now) {
				at = now // within the burst
			}
			ref := at
			if ref.Before(back) {
				ref = back
			}
			s.slots = append(s.slots, slot{at: at, stale: ref.Add(s.stale())})
		}
	}
}

// slot is a reserved send time and the time after which it is stale: its
// time plus stale, or for a slot that was already due when its reservation
// came back, that moment plus stale (the reservation's round trip makes
// every process's first slot a little late alike).
type slot struct{ at, stale time.Time }
