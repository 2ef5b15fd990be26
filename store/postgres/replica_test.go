package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/postgres"
	"github.com/dmflow/dmflow/store/storetest"
)

const (
	replUsers   = 12
	replPerUser = 15
)

// replicaRun is the shared state of workers on two replicas.
type replicaRun struct {
	mu        sync.Mutex
	holder    map[string]string   // user -> owner processing it
	order     map[string][]uint64 // user -> seqs in processing order
	processed atomic.Int64
}

// TestReplicasClaimConcurrently runs workers on two stores with separate
// pools (two replicas) against one schema: every event is processed exactly
// once, each user's events in Seq order, never by two owners at once.
func TestReplicasClaimConcurrently(t *testing.T) {
	schema := newSchema(t)
	replicas := []*postgres.DB{openSchema(t, schema, 8), openSchema(t, schema, 8)}
	appendAll(t, replicas[0])
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(60*time.Second))
	defer cancel()
	run := &replicaRun{holder: map[string]string{}, order: map[string][]uint64{}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r, db := range replicas {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- run.work(ctx, db, fmt.Sprintf("replica%d-w%d", r, w))
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	run.check(t, replicas[1])
}

// appendAll appends replPerUser events per user, interleaving users.
func appendAll(t *testing.T, db *postgres.DB) {
	for i := range replPerUser {
		var evs []dmflow.Event
		for u := range replUsers {
			evs = append(evs, storetest.Msg(fmt.Sprint("u", u), fmt.Sprint(u, "-", i)))
		}
		if _, err := db.AppendInbox(context.Background(), evs, storetest.T0); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *replicaRun) work(ctx context.Context, db *postgres.DB, owner string) error {
	for r.processed.Load() < replUsers*replPerUser {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w after %d items", owner, err, r.processed.Load())
		}
		items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: owner, Max: 4, Lease: time.Hour, Now: storetest.T0})
		if err != nil {
			return err
		}
		if err := r.hold(owner, items); err != nil {
			return err
		}
		if err := r.process(ctx, db, owner, items); err != nil {
			return err
		}
	}
	return nil
}

// hold records owner as the processor of the items' users, failing if
// another owner is processing one of them.
func (r *replicaRun) hold(owner string, items []dmflow.InboxItem) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range items {
		u := it.Event.User
		if h := r.holder[u]; h != "" && h != owner {
			return fmt.Errorf("user %s handed to %s while %s processes it", u, owner, h)
		}
		r.holder[u] = owner
	}
	return nil
}

// process commits each item (a CAS on the session counting events), then
// releases the users so the other replica may take them.
func (r *replicaRun) process(ctx context.Context, db *postgres.DB, owner string, items []dmflow.InboxItem) error {
	var keys []dmflow.SessionKey
	for _, it := range items {
		k := it.Event.SessionKey()
		s, err := db.WorkSession(ctx, owner, k) // as bot loads it
		if errors.Is(err, dmflow.ErrNotFound) {
			s, err = &dmflow.Session{Key: k, Vars: map[string]any{"n": 0}}, nil
		}
		if err != nil {
			return err
		}
		s.Vars["n"] = s.Vars["n"].(int) + 1
		if err := db.Commit(ctx, dmflow.Commit{Owner: owner, Seq: it.Seq, Key: k, Session: s, Now: storetest.T0}); err != nil {
			return err
		}
		r.mu.Lock()
		r.order[k.User] = append(r.order[k.User], it.Seq)
		r.mu.Unlock()
		r.processed.Add(1)
		keys = append(keys, k)
	}
	r.mu.Lock()
	for _, k := range keys {
		delete(r.holder, k.User)
	}
	r.mu.Unlock()
	return db.ReleaseInbox(ctx, owner, keys...)
}

func (r *replicaRun) check(t *testing.T, db *postgres.DB) {
	ctx := context.Background()
	for u := range replUsers {
		user := fmt.Sprint("u", u)
		seqs := r.order[user]
		if len(seqs) != replPerUser {
			t.Fatalf("user %s: processed %d items, want %d", user, len(seqs), replPerUser)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("user %s: processed out of order: %v", user, seqs)
			}
		}
		s, err := db.GetSession(ctx, storetest.Key(user))
		if err != nil {
			t.Fatal(err)
		}
		if s.Version != replPerUser || s.Vars["n"] != replPerUser {
			t.Fatalf("user %s: version %d n %v, want %d", user, s.Version, s.Vars["n"], replPerUser)
		}
	}
	if n, err := db.InboxDepth(ctx); err != nil || n != 0 {
		t.Fatalf("InboxDepth = %d, %v; want 0", n, err)
	}
}

// TestReplicaKilledLeaseTakeover simulates a replica killed with SIGKILL
// holding leases: its pool vanishes without releasing anything. The other
// replica gets the user only once the lease expired, and the dead owner's
// late commit (from a restarted process) fails with ErrLeaseLost.
func TestReplicaKilledLeaseTakeover(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	a, b := openSchema(t, schema, 2), openSchema(t, schema, 2)
	appendAll(t, a)
	claim := func(db *postgres.DB, owner string, now time.Time) []dmflow.InboxItem {
		t.Helper()
		items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: owner, Max: 100, Lease: 30 * time.Second, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	held := claim(a, "A", storetest.T0)
	if len(held) != 100 {
		t.Fatalf("A claimed %d items, want 100", len(held))
	}
	a.Close() // "kill -9": no release
	before := storetest.T0.Add(29 * time.Second)
	for _, it := range claim(b, "B", before) {
		if heldBy(held, it.Event.User) {
			t.Fatalf("B got %s's item %d before A's lease expired", it.Event.User, it.Seq)
		}
	}
	after := storetest.T0.Add(30 * time.Second)
	taken := claim(b, "B", after)
	if len(taken) == 0 || !heldBy(held, taken[0].Event.User) || taken[0].Attempts != 2 {
		t.Fatalf("after expiry B got %d items (first %+v), want A's with Attempts 2", len(taken), taken)
	}
	restarted := openSchema(t, schema, 2)
	err := restarted.Commit(ctx, dmflow.Commit{Owner: "A", Seq: held[0].Seq, Key: held[0].Event.SessionKey(), Now: after})
	if !errors.Is(err, dmflow.ErrLeaseLost) {
		t.Fatalf("A's late commit: %v, want ErrLeaseLost", err)
	}
}

func heldBy(items []dmflow.InboxItem, user string) bool {
	for _, it := range items {
		if it.Event.User == user {
			return true
		}
	}
	return false
}

// TestReplicasFireTimersOnce fires timers from two replicas at once: every
// timer becomes exactly one inbox event.
func TestReplicasFireTimersOnce(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	a, b := openSchema(t, schema, 4), openSchema(t, schema, 4)
	const n = 200
	for i := range n {
		k := storetest.Key(fmt.Sprint("u", i))
		s := &dmflow.Session{Key: k, Timers: []dmflow.Timer{{ID: fmt.Sprint("t", i), Due: storetest.Min(i % 7)}}}
		if err := a.Commit(ctx, dmflow.Commit{Key: k, Session: s, Now: storetest.T0}); err != nil {
			t.Fatal(err)
		}
	}
	var fired atomic.Int64
	var wg sync.WaitGroup
	for _, db := range []*postgres.DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := db.FireTimers(ctx, storetest.Min(10), 7)
				if err != nil || k == 0 {
					return
				}
				fired.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	depth, err := b.InboxDepth(ctx)
	if fired.Load() != n || depth != n || err != nil {
		t.Fatalf("fired %d, inbox depth %d (%v); want %d each", fired.Load(), depth, err, n)
	}
}

// TestClaimSkipsLocksOfHeldUsers: a claim hands out the next item of a user
// its owner holds (more than half the lease left, heartbeat live) without
// waiting for the user's lease row, which a commit in flight holds locked
// (claims that locked their own busy users queued behind such commits, and
// the commits behind them).
func TestClaimSkipsLocksOfHeldUsers(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	db := openSchema(t, schema, 4)
	if _, err := db.Heartbeat(ctx, "a", storetest.T0, time.Hour); err != nil {
		t.Fatal(err)
	}
	claim := func(now time.Time) []dmflow.InboxItem {
		items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "a", Max: 10, Lease: time.Hour, Now: now})
		if err != nil {
			t.Error(err)
		}
		return items
	}
	if _, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u", "m1")}, storetest.T0); err != nil {
		t.Fatal(err)
	}
	if got := claim(storetest.T0); len(got) != 1 {
		t.Fatalf("first claim: %d items, want 1", len(got))
	}
	if _, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u", "m2")}, storetest.T0); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+pgx.Identifier{schema, "leases"}.Sanitize()+
		" WHERE queue = 'inbox' AND owner = 'a' FOR UPDATE) l").Scan(&n); err != nil || n != 1 {
		t.Fatalf("locking the lease row: %d rows, %v", n, err)
	}

	got := make(chan []dmflow.InboxItem, 1)
	go func() { got <- claim(storetest.T0.Add(time.Minute)) }()
	items := testutil.Recv(t, got, "the claim while a commit holds the user's lease row")
	if len(items) != 1 || items[0].Event.Key != "m2" {
		t.Fatalf("second claim: %+v, want the item m2", items)
	}
}
