package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// TestGroupedCommitsFailAlone: many commits at once are grouped into
// shared transactions; the ones whose check fails (a stale session
// version, an item not leased to the owner) fail alone, with their own
// error, and change nothing, while every other commit of their group is
// applied.
func TestGroupedCommitsFailAlone(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	const n = 60
	var evs []dmflow.Event
	for i := range n {
		evs = append(evs, dmflow.Event{Key: fmt.Sprint("k", i), Kind: dmflow.KindMessage, Account: "a", User: fmt.Sprint("u", i), Text: "hi"})
	}
	if _, err := db.AppendInbox(ctx, evs, now); err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: n, Lease: time.Minute, Now: now})
	if err != nil || len(items) != n {
		t.Fatalf("claimed %d: %v", len(items), err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			k := dmflow.SessionKey{Account: "a", User: it.Event.User}
			c := dmflow.Commit{Owner: "A", Seq: it.Seq, Key: k, Now: now,
				Session: &dmflow.Session{Key: k, State: "s"},
				Outbox:  []dmflow.Outgoing{{Key: k, Reply: dmflow.Reply{Text: "re"}}}}
			switch i % 10 {
			case 3:
				c.Session.Version = 7 // no stored session: conflict
			case 6:
				c.Owner = "B" // not B's lease
			}
			errs[i] = db.Commit(ctx, c)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch i % 10 {
		case 3:
			if !errors.Is(err, dmflow.ErrConflict) {
				t.Errorf("commit %d: %v, want ErrConflict", i, err)
			}
		case 6:
			if !errors.Is(err, dmflow.ErrLeaseLost) {
				t.Errorf("commit %d: %v, want ErrLeaseLost", i, err)
			}
		default:
			if err != nil {
				t.Errorf("commit %d: %v", i, err)
			}
			ok++
		}
	}
	if d, _ := db.InboxDepth(ctx); d != n-ok {
		t.Errorf("inbox depth %d, want %d (the failed commits' items)", d, n-ok)
	}
	if d, _ := db.OutboxDepth(ctx, dmflow.QueueDM); d != ok {
		t.Errorf("outbox depth %d, want %d (only the applied commits' replies)", d, ok)
	}
}
