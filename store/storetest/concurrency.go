package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
)

var concurrencyTests = []test{{"AppendClaimCommit", testConcurrency}}

const (
	concUsers   = 16
	concPerUser = 20
	concWorkers = 4
)

// testConcurrency appends concPerUser events for each of concUsers users
// from one goroutine per user while concWorkers workers claim, commit and
// release. Each commit counts in the session and enqueues a reply naming the
// event, so order and completeness are checked at the end.
func testConcurrency(h *H) {
	ctx, cancel := context.WithTimeout(h.Ctx, 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var processed atomic.Int64
	errs := make(chan error, concUsers+concWorkers)
	for u := range concUsers {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- appendUser(ctx, h.S, u) }()
	}
	for w := range concWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- work(ctx, h.S, fmt.Sprint("w", w), &processed) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.check(err, "goroutine")
	}
	h.checkConcurrentResult()
}

func appendUser(ctx context.Context, s dmflow.Store, u int) error {
	for i := 0; i < concPerUser; i += 2 {
		evs := []dmflow.Event{Msg(fmt.Sprint("u", u), fmt.Sprint(u, "-", i)), Msg(fmt.Sprint("u", u), fmt.Sprint(u, "-", i+1))}
		if _, err := s.AppendInbox(ctx, evs, T0); err != nil {
			return err
		}
	}
	return nil
}

// work claims and commits until every event was processed.
func work(ctx context.Context, s dmflow.Store, owner string, processed *atomic.Int64) error {
	for processed.Load() < concUsers*concPerUser {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %d of %d processed: %w", owner, processed.Load(), concUsers*concPerUser, err)
		}
		items, err := s.ClaimInbox(ctx, dmflow.Claim{Owner: owner, Max: 8, Lease: time.Hour, Now: T0})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := step(ctx, s, owner, it); err != nil {
				return err
			}
			processed.Add(1)
		}
		if err := s.ReleaseInbox(ctx, owner); err != nil {
			return err
		}
	}
	return nil
}

// step counts the event in the session and replies with its key.
func step(ctx context.Context, s dmflow.Store, owner string, it dmflow.InboxItem) error {
	k := it.Event.SessionKey()
	sess, err := s.GetSession(ctx, k)
	if errors.Is(err, dmflow.ErrNotFound) {
		sess, err = &dmflow.Session{Key: k, Vars: map[string]any{"n": 0}}, nil
	}
	if err != nil {
		return err
	}
	sess.Vars["n"] = sess.Vars["n"].(int) + 1
	out := dmflow.Outgoing{Key: k, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: it.Event.Key}}
	return s.Commit(ctx, dmflow.Commit{Owner: owner, Seq: it.Seq, Key: k, Session: sess, Outbox: []dmflow.Outgoing{out}, Now: T0})
}

func (h *H) checkConcurrentResult() {
	if n := h.depth(); n != 0 {
		h.Fatalf("inbox depth %d after processing", n)
	}
	next := map[string]int{}
	for {
		items := h.claimOut("check", 100)
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			u := it.Key.User
			if want := fmt.Sprint(u[1:], "-", next[u]); it.Message.Reply.Text != want {
				h.Fatalf("user %s: reply %q, want %q (order broken)", u, it.Message.Reply.Text, want)
			}
			next[u]++
			h.check(h.S.AckOutbox(h.Ctx, "check", T0, dmflow.Ack{Seq: it.Seq}), "AckOutbox")
		}
	}
	for u := range concUsers {
		key := fmt.Sprint("u", u)
		if next[key] != concPerUser || h.session(key).Vars["n"] != concPerUser {
			h.Fatalf("user %s: %d replies, n=%v, want %d", key, next[key], h.session(key).Vars["n"], concPerUser)
		}
	}
}
