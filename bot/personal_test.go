package bot_test

import (
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

// TestForgetQueuedBehindMessages: the forget command runs after the user's
// earlier messages (which are answered) and erases them; a message after it
// is processed normally and stays.
func TestForgetQueuedBehindMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		sender := newSender()
		cfg := testConfig(sender)
		cfg.Store = st
		b, err := bot.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ingest(t, b, msg("u1", "1", "hello private words"), msg("u2", "21", "hello other"))
		if _, err := b.Forget(ctx, key("u1"), "test"); err != nil {
			t.Fatal(err)
		}
		ingest(t, b, msg("u1", "2", "after"))
		run := runBot(b)
		defer stop(t, b, run)
		eventually(t, "u1's items processed", func() bool {
			x, err := b.Export(ctx, key("u1"))
			d, _ := st.InboxDepth(ctx)
			return err == nil && d == 0 && len(x.Inbox) == 1
		})
		x, _ := b.Export(ctx, key("u1"))
		if x.Inbox[0].Event.Text != "after" || x.Session == nil {
			t.Fatalf("after forget: %+v", x)
		}
		// The reply to the first message may be erased before it is sent
		// (forget cancels undelivered replies); the later one is sent.
		eventually(t, "u1's reply after the forget", func() bool {
			got := sender.texts(key("u1"))
			return len(got) > 0 && got[len(got)-1] == "re: after"
		})
		if h, _ := st.History(ctx, key("u2"), 10); len(h) != 1 {
			t.Fatalf("u2 history: %v", h)
		}
		if n := metric(t, b.Metrics(), "dmflow_forgotten_total", "scope", "person"); n != 1 {
			t.Fatalf("dmflow_forgotten_total = %v", n)
		}
	})
}

// TestSweepNow: the retention cut-offs apply per kind, negative keeps.
func TestSweepNow(t *testing.T) {
	clock := newClock()
	sender := newSender()
	cfg := testConfig(sender)
	cfg.Clock = clock.Now
	cfg.Retention = bot.Retention{History: time.Hour, Delivered: -1}
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "hello"))
	eventually(t, "the reply", func() bool { return sender.count() == 1 })
	eventually(t, "the ack", func() bool {
		n, _ := cfg.Store.OutboxDepth(ctx, dmflow.QueueDM)
		return n == 0
	})
	n, err := b.SweepNow(ctx, clock.Now().Add(30*time.Minute))
	if err != nil || n != (dmflow.Swept{}) {
		t.Fatalf("sweep within the retention = %+v, %v", n, err)
	}
	n, err = b.SweepNow(ctx, clock.Now().Add(2*time.Hour))
	if err != nil || n.History != 1 || n.Delivered != 0 {
		t.Fatalf("sweep after an hour = %+v, %v", n, err)
	}
	if v := metric(t, b.Metrics(), "dmflow_retention_deleted_total", "kind", "history"); v != 1 {
		t.Fatalf("dmflow_retention_deleted_total{history} = %v", v)
	}
}
