package bot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
)

// TestStalledAccountDoesNotHoldClaimedCapacity: account a's sends stall
// (Meta throttles it: every send waits) while it has more replies queued
// than the sender may hold claimed (16×Senders). Its claimed items wait
// for a send slot, but they take at most its share of the claimed
// capacity, so account b's reply is still claimed, gets the send slot a
// cannot use and is delivered while a is stalled. Without the share, a's
// waiting items held all the room and b's reply waited for a.
func TestStalledAccountDoesNotHoldClaimedCapacity(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		stalled := make(chan struct{})
		s.block = func(ctx context.Context, m dmflow.Outgoing) error {
			if m.Key.Account != "a" {
				return nil
			}
			select {
			case <-stalled:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		cfg := testConfig(s)
		cfg.Store = st
		cfg.Senders = 2 // 32 items claimed at most, 28 of them one account's
		b := start(t, cfg)
		const backlog = 60
		var evs []dmflow.Event
		for i := range backlog {
			e := msg(fmt.Sprint("u", i), fmt.Sprint("a", i), fmt.Sprint("a", i))
			e.Account = "a"
			evs = append(evs, e)
		}
		ingest(t, b, evs...)
		eventually(t, "a's replies queued", func() bool {
			n, err := st.OutboxDepth(ctx, dmflow.QueueDM)
			return err == nil && n == backlog
		})
		e := msg("u1", "b1", "b1")
		e.Account = "b"
		ingest(t, b, e)
		if got := s.waitSent(t); got.Key.Account != "b" || got.Text != "re: b1" {
			t.Fatalf("first delivery %+v, want b's reply while a is stalled", got)
		}
		close(stalled)
		for range backlog {
			if got := testutil.Recv(t, s.notify, "a's replies"); got.Key.Account != "a" {
				t.Fatalf("delivered %+v, want a's", got)
			}
		}
	})
}
