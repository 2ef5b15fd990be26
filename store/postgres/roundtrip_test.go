package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/postgres"
	"github.com/dmflow/dmflow/store/storetest"
)

// Upper bounds of TestRoundTripsPerEvent, per event processed.
const (
	maxTripsPerEvent      = 3.25
	maxStatementsPerEvent = 3.25 // 3.125: the append is one statement (4.125 before)
)

// TestRoundTripsPerEvent processes events through the Store contract the
// way bot does (one webhook per event, claims of up to 32 items, load the
// session, one commit with a session, a timer and a reply, a timer poll
// per claim, outbox claims, one acknowledgement per reply remembering its
// echo id), one call at a time, and bounds the round trips and SQL
// statements per event. Calls run one after another, so none is grouped
// with another: the counts are deterministic (statement preparation on a
// connection's first use is left out by a warm-up and not counted).
func TestRoundTripsPerEvent(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	p := &pipeline{t: t, db: db, owner: "replica-1", now: storetest.T0}
	p.run(ctx, 64) // warm-up: every statement prepared on the connection
	before := db.Traffic()
	const events = 320
	p.run(ctx, events)
	after := db.Traffic()
	trips := float64(after.RoundTrips-before.RoundTrips) / events
	stmts := float64(after.Statements-before.Statements) / events
	t.Logf("per event: %.3f round trips, %.3f statements (%d events, %d users)", trips, stmts, events, pipelineUsers)
	if trips > maxTripsPerEvent {
		t.Errorf("%.3f round trips per event, want at most %.2f", trips, maxTripsPerEvent)
	}
	if stmts > maxStatementsPerEvent {
		t.Errorf("%.3f statements per event, want at most %.2f", stmts, maxStatementsPerEvent)
	}
	p.check(ctx)
}

const (
	pipelineUsers = 16
	pipelineBatch = 32
)

// pipeline is one replica's worker loop on a store, run one call at a time.
type pipeline struct {
	t     *testing.T
	db    *postgres.DB
	owner string
	now   time.Time
	n     int            // events appended so far
	sent  map[string]int // user → replies acknowledged
}

func (p *pipeline) run(ctx context.Context, events int) {
	t := p.t
	for range events {
		u := fmt.Sprint("u", p.n%pipelineUsers)
		if _, err := p.db.AppendInbox(ctx, []dmflow.Event{storetest.Msg(u, fmt.Sprint("m", p.n))}, p.now); err != nil {
			t.Fatal(err)
		}
		p.n++
	}
	claim := dmflow.Claim{Owner: p.owner, Max: pipelineBatch, Lease: time.Minute, Now: p.now}
	for done := 0; done < events; {
		items, err := p.db.ClaimInbox(ctx, claim)
		if err != nil || len(items) == 0 {
			t.Fatalf("claim inbox after %d of %d events: %d items, %v", done, events, len(items), err)
		}
		for _, it := range items {
			p.process(ctx, it)
		}
		done += len(items)
		if _, err := p.db.FireTimers(ctx, p.now, 256); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.db.NextTimer(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for acked := 0; acked < events; {
		items, err := p.db.ClaimOutbox(ctx, dmflow.QueueDM, claim)
		if err != nil || len(items) == 0 {
			t.Fatalf("claim outbox after %d of %d replies: %d items, %v", acked, events, len(items), err)
		}
		for _, it := range items {
			a := dmflow.Ack{Seq: it.Seq, Remember: "echo:" + it.Message.Reply.Text}
			if err := p.db.AckOutbox(ctx, p.owner, p.now, a); err != nil {
				t.Fatal(err)
			}
			if p.sent == nil {
				p.sent = map[string]int{}
			}
			p.sent[it.Key.User]++
		}
		acked += len(items)
	}
}

// process loads the item's session, counts the message in it, sets a
// timer and replies, as a step would.
func (p *pipeline) process(ctx context.Context, it dmflow.InboxItem) {
	key := it.Event.SessionKey()
	s, err := p.db.WorkSession(ctx, p.owner, key) // as bot loads it
	switch {
	case errors.Is(err, dmflow.ErrNotFound):
		s = &dmflow.Session{Key: key, Flow: "count", State: "0"}
	case err != nil:
		p.t.Fatal(err)
	}
	n, err := strconv.Atoi(s.State)
	if err != nil {
		p.t.Fatal(err)
	}
	n++
	s.State = strconv.Itoa(n)
	s.Timers = []dmflow.Timer{{ID: fmt.Sprint(key.User, "-", n), Name: "idle", Due: p.now.Add(time.Hour)}}
	reply := dmflow.Outgoing{Key: key, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: fmt.Sprint(it.Event.Key, "/", n)}}
	err = p.db.Commit(ctx, dmflow.Commit{Owner: p.owner, Seq: it.Seq, Key: key, Session: s, Outbox: []dmflow.Outgoing{reply}, Now: p.now})
	if err != nil {
		p.t.Fatal(err)
	}
}

// check verifies that every event was counted in its session, once.
func (p *pipeline) check(ctx context.Context) {
	for i := range pipelineUsers {
		key := dmflow.SessionKey{Account: storetest.Msg("u", "x").Account, User: fmt.Sprint("u", i)}
		s, err := p.db.GetSession(ctx, key)
		if err != nil {
			p.t.Fatal(err)
		}
		if got, want := s.State, strconv.Itoa(p.sent[key.User]); got != want {
			p.t.Errorf("%s counted %v events, %v replies acknowledged", key, got, want)
		}
	}
	if n, err := p.db.InboxDepth(ctx); err != nil || n != 0 {
		p.t.Errorf("inbox depth %d, %v; want 0", n, err)
	}
	if n, err := p.db.OutboxDepth(ctx, dmflow.QueueDM); err != nil || n != 0 {
		p.t.Errorf("outbox depth %d, %v; want 0", n, err)
	}
}

// TestCommitGroupsDoNotDeadlockOnCounters commits turns with funnel
// counters for many users from many goroutines, so that commits are
// grouped and groups add to the same counter rows: no transaction may be
// aborted as deadlocked (each such abort waits deadlock_timeout).
func TestCommitGroupsDoNotDeadlockOnCounters(t *testing.T) {
	db := openSchema(t, newSchema(t), 16)
	ctx := context.Background()
	const goroutines, commits = 48, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range commits {
				k := storetest.Key(fmt.Sprint("u", (g*7+i*13)%97))
				c := dmflow.Commit{Key: k, Now: storetest.T0, Counts: []dmflow.Count{
					{Kind: "entered", Flow: "f", Name: fmt.Sprint("s", i%3)},
					{Kind: "edge", Flow: "f", Name: fmt.Sprint("s", (i+1)%3)},
				}}
				if err := db.Commit(ctx, c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := db.Traffic().Deadlocks; n != 0 {
		t.Errorf("%d transactions aborted as deadlocked, want 0", n)
	}
}
