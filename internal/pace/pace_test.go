package pace

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// memPacer is an in-memory dmflow.Pacer (the same cell rate algorithm as
// store/postgres) that counts its reservations. Each takes a little time,
// like a round trip to the database.
type memPacer struct {
	mu    sync.Mutex
	tat   map[string]time.Time
	calls int
	slots int
}

func (p *memPacer) Pace(_ context.Context, account, class string, n int, interval time.Duration, burst int, now time.Time) (time.Time, error) {
	time.Sleep(2 * time.Millisecond) // a round trip, during which more sends queue
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.slots += n
	k := account + "/" + class
	start := now.Add(-time.Duration(burst-1) * interval)
	if t := p.tat[k]; t.After(start) {
		start = t
	}
	p.tat[k] = start.Add(time.Duration(n) * interval)
	return start, nil
}

// TestSharedPaceSpacesAndBatches: sends of one account from three pacers
// sharing a Pacer each get a slot of their own from it (the Pacer spaces
// the slots), and the sends waiting in one process share reservations.
func TestSharedPaceSpacesAndBatches(t *testing.T) {
	p := &memPacer{tat: map[string]time.Time{}}
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	const clients, sends = 3, 40
	for range clients {
		c := New(Rates{Text: 1000}, p, nil)
		for range sends {
			wg.Go(func() {
				if err := c.Wait(context.Background(), "acct", Text); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if len(at) != clients*sends {
		t.Fatalf("%d sends paced, want %d", len(at), clients*sends)
	}
	if p.slots < clients*sends {
		t.Fatalf("%d slots reserved for %d sends", p.slots, clients*sends)
	}
	if p.calls >= clients*sends {
		t.Errorf("%d reservations for %d concurrent sends: waiting sends were not batched", p.calls, clients*sends)
	}
	t.Logf("%d sends, %d reservations, %d slots", len(at), p.calls, p.slots)
	var _ dmflow.Pacer = p
}

// TestSharedPaceRetakesSlotAfterLateWakeup: a send that wakes up after its
// slot went stale (the process was starved of CPU) does not use it — it
// would crowd the slots after it — but reserves a new one.
func TestSharedPaceRetakesSlotAfterLateWakeup(t *testing.T) {
	p := &memPacer{tat: map[string]time.Time{}}
	base := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now, calls := base, 0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 4 { // the check after the first sleep: woke 1 s late
			now = now.Add(time.Second)
		}
		return now
	}
	s := newSharedPace(p, "acct", "text", 100, 1, clock)
	if err := s.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.calls != 2 {
		t.Fatalf("%d reservations, want 2 (the stale slot replaced)", p.calls)
	}
	if len(s.slots) != 0 || s.waiting != 0 {
		t.Fatalf("left %d slots, %d waiting", len(s.slots), s.waiting)
	}
}

// TestLocalRates: in one process, a class goes in a burst of one second's
// worth and then at its rate; a negative rate is unpaced; accounts and
// classes have budgets of their own.
func TestLocalRates(t *testing.T) {
	p := New(Rates{Text: 5, Media: -1, Private: 1.0 / 3600, PrivateBurst: 2}, nil, nil)
	t0 := time.Now() // every send at the same instant: no refill
	try := func(account string, c Class) bool { return p.localFor(account)[c].AllowN(t0, 1) }
	for i := range 5 {
		if !try("a", Text) {
			t.Fatalf("text send %d of the burst waited", i+1)
		}
	}
	if try("a", Text) {
		t.Error("6th text send in the same instant did not wait")
	}
	if !try("b", Text) {
		t.Error("another account's text waited for a's budget")
	}
	for i := range 100 {
		if !try("a", Media) {
			t.Fatalf("unpaced media send %d waited", i+1)
		}
	}
	if !try("a", Private) || !try("a", Private) || try("a", Private) {
		t.Error("private replies: want a burst of 2, then a wait")
	}
}
