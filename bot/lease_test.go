package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/mem"
)

// TestOutboxLeaseOutlivesDrain: two bots share one store; the one that
// claims a user's replies takes far longer than the lease to send them,
// and some single sends take longer than the lease. It renews the user's
// outbox lease while it works through them, so the other bot never sends
// them too.
//
// The lease is a scaled second (renewed every third of it), so that a busy
// machine delaying the renewal goroutine does not lose it; the slow sends
// are derived from it.
func TestOutboxLeaseOutlivesDrain(t *testing.T) {
	lease := testutil.Scale(time.Second)
	s := newSender()
	s.block = func(ctx context.Context, m dmflow.Outgoing) error {
		d := 5 * time.Millisecond
		if strings.HasSuffix(m.Reply.Text, "5") {
			d = 2*lease + lease/4 // more than 2 leases
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	st := mem.New(nil)
	var bots []interface {
		Ingest(context.Context, []dmflow.Event) error
	}
	for _, owner := range []string{"a", "b"} {
		cfg := testConfig(s)
		cfg.Store, cfg.Owner, cfg.Lease = st, owner, lease
		bots = append(bots, start(t, cfg))
	}
	const n = 20 // two slow ones: 5 and 15
	var evs []dmflow.Event
	for i := range n {
		evs = append(evs, msg("u1", fmt.Sprint(i), fmt.Sprint(i)))
	}
	if err := bots[0].Ingest(ctx, evs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every reply sent", func() bool { return s.count() >= n })
	eventually(t, "outbox drained", func() bool {
		d, err := st.OutboxDepth(ctx, dmflow.QueueDM)
		return err == nil && d == 0
	})
	got := s.texts(key("u1"))
	for i, text := range got {
		if want := fmt.Sprintf("re: %d", i); text != want {
			t.Fatalf("send %d is %q, want %q (sent twice or out of order): %q", i, text, want, got)
		}
	}
	if len(got) != n || s.overlaps != 0 {
		t.Fatalf("%d sends (want %d), %d overlapping sends to the user", len(got), n, s.overlaps)
	}
}

// slowEngine steps its fakeEngine after a delay, a long one for texts
// ending in 5.
type slowEngine struct {
	fakeEngine
	delay, long time.Duration
}

func (e *slowEngine) Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error) {
	if strings.HasSuffix(ev.Text, "5") {
		time.Sleep(e.long)
	} else {
		time.Sleep(e.delay)
	}
	return e.fakeEngine.Step(ctx, s, ev, now)
}

// TestInboxLeaseOutlivesQueue: a bot claims a user's items at once and
// works through them for longer than the lease, some items taking longer
// than the lease each; it renews the user's inbox lease meanwhile, so the
// other bot sharing the store never steps them too. As above, the lease is
// a scaled second and the slow steps are derived from it.
func TestInboxLeaseOutlivesQueue(t *testing.T) {
	lease := testutil.Scale(time.Second)
	s := newSender()
	st := mem.New(nil)
	eng := &slowEngine{delay: 2 * time.Millisecond, long: 2*lease + lease/2}
	var first interface {
		Ingest(context.Context, []dmflow.Event) error
	}
	for _, owner := range []string{"a", "b"} {
		cfg := testConfig(s)
		cfg.Store, cfg.Owner, cfg.Lease, cfg.Engine = st, owner, lease, eng
		b := start(t, cfg)
		if first == nil {
			first = b
		}
	}
	const n = 20 // two slow ones: 5 and 15
	var evs []dmflow.Event
	for i := range n {
		evs = append(evs, msg("u1", fmt.Sprint(i), fmt.Sprint(i)))
	}
	if err := first.Ingest(ctx, evs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every reply sent", func() bool { return s.count() >= n })
	if steps := eng.steps.Load(); steps != n {
		t.Fatalf("%d engine steps for %d events: a user's items were taken over while queued", steps, n)
	}
}
