package bot_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/mem"
)

// countingSender accepts everything and signals when n messages went out.
type countingSender struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *countingSender) Send(_ context.Context, m dmflow.Outgoing) (string, error) {
	n := c.n.Add(1)
	if n == c.want {
		close(c.done)
	}
	return fmt.Sprintf("mid.%s.%d", m.Key.User, n), nil
}

// BenchmarkPipeline measures events per second from Ingest to the reply
// accepted by the Sender (and acknowledged with its own-echo id), with 64 users
// sending concurrently in webhook-sized batches of 4 events.
func BenchmarkPipeline(b *testing.B) {
	b.Run("mem", func(b *testing.B) { benchPipeline(b, mem.New(nil)) })
	b.Run("bolt", func(b *testing.B) { benchPipeline(b, openBoltB(b)) })
}

func openBoltB(b *testing.B) dmflow.Store {
	db, err := boltOpen(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func benchPipeline(b *testing.B, st dmflow.Store) {
	const users, batch = 64, 4
	s := &countingSender{want: int64(b.N), done: make(chan struct{})}
	cfg := testConfig(s)
	cfg.Store, cfg.Poll = st, time.Second
	bt := start(b, cfg)
	b.ResetTimer()
	var wg sync.WaitGroup
	var next atomic.Int64
	for u := range users {
		wg.Go(func() {
			for {
				first := next.Add(batch) - batch
				if first >= int64(b.N) {
					return
				}
				evs := make([]dmflow.Event, 0, batch)
				for i := first; i < min(first+batch, int64(b.N)); i++ {
					evs = append(evs, msg(fmt.Sprintf("u%d", u), fmt.Sprint(i), "x"))
				}
				ingest(b, bt, evs...)
			}
		})
	}
	wg.Wait()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d replies sent", s.n.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
