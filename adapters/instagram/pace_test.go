package instagram

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

// TestSharedPaceSpacesAndBatches: sends of one account from three clients
// sharing a Pacer each get a slot of their own from it (the Pacer spaces
// the slots), and the sends waiting in one client share reservations.
func TestSharedPaceSpacesAndBatches(t *testing.T) {
	p := &memPacer{tat: map[string]time.Time{}}
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	const clients, sends = 3, 40
	for range clients {
		c := NewClient(ClientConfig{Tokens: StaticToken("t"), Pacer: p, RateLimits: RateLimits{Text: 1000, Headroom: -1}})
		for range sends {
			wg.Go(func() {
				if err := c.pace(context.Background(), "acct", limitText); err != nil {
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
