package bolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

func open(t testing.TB, path string, opts *bolt.Options) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) dmflow.Store {
		return open(t, filepath.Join(t.TempDir(), "dmflow.db"), nil)
	})
}

// TestConformanceNoInboxLog: appends straight into bbolt (the layout
// before the inbox log) keep the contract too.
func TestConformanceNoInboxLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T) dmflow.Store {
		return open(t, filepath.Join(t.TempDir(), "dmflow.db"), &bolt.Options{NoInboxLog: true})
	})
}

func TestReopenKeepsDataAndDropsLeases(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "dmflow.db")
	db := open(t, path, nil)
	if _, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u1", "a")}, storetest.T0); err != nil {
		t.Fatal(err)
	}
	if items, _ := db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 1, Lease: time.Hour, Now: storetest.T0}); len(items) != 1 {
		t.Fatalf("claimed %d", len(items))
	}
	db.Close()
	db = open(t, path, nil)
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "B", Max: 1, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(items) != 1 || items[0].Attempts != 2 {
		t.Fatalf("after reopen: %+v, %v; want the item claimable at once, attempts 2", items, err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dmflow.db")
	open(t, path, nil)
	start := time.Now()
	_, err := bolt.Open(path, &bolt.Options{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "another process has the file open") {
		t.Fatalf("second Open: %v, want a lock error", err)
	}
	if time.Since(start) > testutil.Scale(10*time.Second) { // 100 times the timeout: it did not give up
		t.Fatal("Open waited far beyond its timeout")
	}
}

func TestGroupCommit(t *testing.T) {
	for _, noLog := range []bool{false, true} {
		t.Run(fmt.Sprint("NoInboxLog=", noLog), func(t *testing.T) { testGroupCommit(t, noLog) })
	}
}

// testGroupCommit: concurrent appends share the inbox log's syncs, or
// without the log bbolt's commits.
func testGroupCommit(t *testing.T, noLog bool) {
	db := open(t, filepath.Join(t.TempDir(), "dmflow.db"), &bolt.Options{NoInboxLog: noLog})
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				e := storetest.Msg(fmt.Sprint("u", g), fmt.Sprint(g, "-", i))
				if _, err := db.AppendInbox(context.Background(), []dmflow.Event{e}, storetest.T0); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	st := db.Stats()
	if noLog && (st.Requests < 640 || st.Commits >= st.Requests) {
		t.Fatalf("stats %+v: want 640 requests shared by fewer commits", st)
	}
	if !noLog && (st.LogAppends != 640 || st.LogBatches >= st.LogAppends) {
		t.Fatalf("stats %+v: want 640 appends shared by fewer log syncs", st)
	}
	if n, _ := db.InboxDepth(context.Background()); n != 640 {
		t.Fatalf("depth %d, want 640", n)
	}
}

// TestFailingRequestInBatch checks that requests failing inside a batch
// (conflicts, after other requests wrote) fail alone.
func TestFailingRequestInBatch(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "dmflow.db"), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string]int{}
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprint("u", g%4) // 8 writers race for each user's version 0
			err := db.Commit(ctx, dmflow.Commit{Key: storetest.Key(u), Session: &dmflow.Session{Key: storetest.Key(u)}, Now: storetest.T0,
				Outbox: []dmflow.Outgoing{{Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: u}}}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins[u]++
			case !errors.Is(err, dmflow.ErrConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for u := range 4 {
		if wins[fmt.Sprint("u", u)] != 1 {
			t.Fatalf("wins %v: want exactly one per user", wins)
		}
	}
	if n, _ := db.OutboxDepth(ctx, dmflow.QueueDM); n != 4 {
		t.Fatalf("outbox depth %d, want 4 (losers left nothing)", n)
	}
}

func TestCorruptRecords(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "dmflow.db")
	db := open(t, path, nil)
	s := &dmflow.Session{Key: storetest.Key("u1")}
	if err := db.Commit(ctx, dmflow.Commit{Key: s.Key, Session: s, Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u1", "a")}, storetest.T0)
	db.PutToken(ctx, dmflow.Token{Account: "a", AccessToken: "x"})
	db.Close()
	garble(t, path, map[string][]byte{
		"sessions":    {2, '{', '}'},      // unknown version
		"inbox.items": {1, '{', '"', 'x'}, // truncated JSON
		"tokens":      {},                 // empty
	})
	db = open(t, path, nil)
	calls := map[string]func() error{
		"GetSession":   func() error { _, err := db.GetSession(ctx, s.Key); return err },
		"ListSessions": func() error { _, err := db.ListSessions(ctx, dmflow.SessionFilter{}); return err },
		"Commit":       func() error { return db.Commit(ctx, dmflow.Commit{Key: s.Key, Session: s, Now: storetest.T0}) },
		"ClaimInbox": func() error {
			_, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 1, Lease: time.Minute, Now: storetest.T0})
			return err
		},
		"History":    func() error { _, err := db.History(ctx, s.Key, 10); return err },
		"GetToken":   func() error { _, err := db.GetToken(ctx, "a"); return err },
		"ListTokens": func() error { _, err := db.ListTokens(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, dmflow.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// garble overwrites every value of the named buckets.
func garble(t *testing.T, path string, vals map[string][]byte) {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bbolt.Tx) error {
		for name, v := range vals {
			b := tx.Bucket([]byte(name))
			if b == nil {
				return fmt.Errorf("no bucket %s", name)
			}
			var keys [][]byte
			b.ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
			for _, k := range keys {
				if err := b.Put(k, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCompactErasesFreedPages: a deleted record stays in the file's freed
// pages until Compact rewrites it; the store keeps working across it.
func TestCompactErasesFreedPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const secret = "okapi-9183-private"
	k := dmflow.SessionKey{Account: "a", User: "u"}
	ev := dmflow.Event{Key: "m1", Kind: dmflow.KindMessage, Account: "a", User: "u", Text: secret}
	if _, err := db.AppendInbox(ctx, []dmflow.Event{ev}, time.Now()); err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "o", Max: 1, Lease: time.Hour, Now: time.Now()})
	if err != nil || len(items) != 1 {
		t.Fatalf("claim: %v %v", items, err)
	}
	if _, err := db.Forget(ctx, dmflow.Forget{Key: k, Owner: "o", Seq: items[0].Seq, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the deleted text is not in the freed pages: the test proves nothing")
	}
	if _, err := db.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the forgotten text is still in the file after Compact")
	}
	// The store goes on: write and read after the swap.
	ev.Key, ev.Text = "m2", "after"
	if _, err := db.AppendInbox(ctx, []dmflow.Event{ev}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if h, err := db.History(ctx, k, 10); err != nil || len(h) != 1 || h[0].Event.Text != "after" {
		t.Fatalf("history after compact: %v %v", h, err)
	}
}

// TestCompactWhileWriting: writers and readers running during Compact
// neither fail nor lose acknowledged writes.
func TestCompactWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+10)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := dmflow.Event{Key: fmt.Sprintf("w%d-%d", w, i), Kind: dmflow.KindMessage, Account: "a", User: fmt.Sprint("u", w), Text: "x"}
				if _, err := db.AppendInbox(ctx, []dmflow.Event{ev}, time.Now()); err != nil {
					errs <- err
				}
				if _, err := db.InboxDepth(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	for range 3 {
		if _, err := db.Compact(ctx); err != nil {
			errs <- err
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := db.InboxDepth(ctx); err != nil || n != writers*each {
		t.Fatalf("depth %d, %v; want %d", n, err, writers*each)
	}
	// The compacted file is the store's file from now on.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if n, err := db.InboxDepth(ctx); err != nil || n != writers*each {
		t.Fatalf("after reopening: depth %d, %v; want %d", n, err, writers*each)
	}
}

// TestSessionCache checks that cached sessions are never stale and never
// shared with callers: each step's GetSession sees the last commit, a
// caller's changes to a returned session do not reach the store, and the
// version check still refuses a stale commit. A cache of one entry with
// two users also exercises eviction.
func TestSessionCache(t *testing.T) {
	for _, size := range []int{-1, 1, 0} {
		t.Run(fmt.Sprint("cache=", size), func(t *testing.T) {
			ctx := context.Background()
			db := open(t, filepath.Join(t.TempDir(), "dmflow.db"), &bolt.Options{SessionCache: size})
			keys := []dmflow.SessionKey{{Account: "a", User: "u1"}, {Account: "a", User: "u2"}}
			get := func(k dmflow.SessionKey) *dmflow.Session {
				t.Helper()
				s, err := db.GetSession(ctx, k)
				if err != nil {
					t.Fatalf("get %s: %v", k, err)
				}
				return s
			}
			for _, k := range keys {
				s := &dmflow.Session{Key: k, State: "start", Vars: map[string]any{"n": 0, "m": map[string]any{"x": 1}}}
				if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: s, Now: storetest.T0}); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i <= 3; i++ {
				for _, k := range keys {
					s := get(k)
					if s.Version != uint64(i) || s.Vars["n"] != i-1 {
						t.Fatalf("%s step %d: version %d n %v", k, i, s.Version, s.Vars["n"])
					}
					s.Vars["m"].(map[string]any)["x"] = 99 // a caller's change
					s.State = "changed"
					if again := get(k); again.State != "start" || again.Vars["m"].(map[string]any)["x"] != 1 {
						t.Fatalf("%s: a caller's change reached the store: %+v", k, again)
					}
					next := get(k)
					next.Vars["n"] = i
					if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: next, Now: storetest.T0}); err != nil {
						t.Fatal(err)
					}
					stale := get(k)
					stale.Version--
					if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: stale, Now: storetest.T0}); !errors.Is(err, dmflow.ErrConflict) {
						t.Fatalf("stale commit: %v, want ErrConflict", err)
					}
				}
			}
			if err := db.Commit(ctx, dmflow.Commit{Key: keys[0], Delete: true, Now: storetest.T0}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetSession(ctx, keys[0]); !errors.Is(err, dmflow.ErrNotFound) {
				t.Fatalf("after delete: %v, want ErrNotFound", err)
			}
			if err := db.Commit(ctx, dmflow.Commit{Key: keys[0], Session: &dmflow.Session{Key: keys[0], State: "again"}, Now: storetest.T0}); err != nil {
				t.Fatal(err)
			}
			if s := get(keys[0]); s.Version != 1 || s.State != "again" {
				t.Fatalf("recreated: %+v", s)
			}
		})
	}
}

// TestFairClaimsOnAnOldFile: a file whose pending items were appended
// before the by-account index existed gets the index at its first claim,
// and the claim is shared between the accounts.
func TestFairClaimsOnAnOldFile(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "dmflow.db")
	db := open(t, path, &bolt.Options{NoInboxLog: true})
	var evs []dmflow.Event
	for i, acct := range []string{"a", "a", "a", "b"} {
		e := storetest.Msg(fmt.Sprint("u", i), fmt.Sprint(acct, i))
		e.Account = acct
		evs = append(evs, e)
	}
	if _, err := db.AppendInbox(ctx, evs, storetest.T0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("meta")) != nil {
			return errors.New("the meta bucket exists before the first claim")
		}
		return tx.DeleteBucket([]byte("inbox.pendacct"))
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db = open(t, path, &bolt.Options{NoInboxLog: true})
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 2, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(items) != 2 || items[0].Event.Key != "a0" || items[1].Event.Key != "b3" {
		t.Fatalf("claim: %+v, %v; want a0 and b3", items, err)
	}
	items, err = db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 5, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(items) != 2 {
		t.Fatalf("second claim: %+v, %v; want a1 and a2", items, err)
	}
}

// TestFairOutboxClaimsOnAnOldFile: a file whose replies were queued before
// the outbox's by-account index existed gets the index at its first
// claim, and the claim is shared between the accounts.
func TestFairOutboxClaimsOnAnOldFile(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "dmflow.db")
	db := open(t, path, &bolt.Options{NoInboxLog: true})
	for i, acct := range []string{"a", "a", "a", "b"} {
		k := dmflow.SessionKey{Account: acct, User: fmt.Sprint("u", i)}
		out := dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: k.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: fmt.Sprint(acct, i)}}
		if err := db.Commit(ctx, dmflow.Commit{Key: k, Outbox: []dmflow.Outgoing{out}, Now: storetest.T0}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		if m := tx.Bucket([]byte("meta")); m != nil && m.Get([]byte("outbox.acct/dm")) != nil {
			return errors.New("the outbox index is marked built before the first claim")
		}
		return tx.DeleteBucket([]byte("outbox.acct/dm"))
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db = open(t, path, &bolt.Options{NoInboxLog: true})
	texts := func(items []dmflow.OutboxItem) (s []string) {
		for _, it := range items {
			s = append(s, it.Message.Reply.Text)
		}
		return s
	}
	items, err := db.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "A", Max: 2, Lease: time.Hour, Now: storetest.T0})
	if got := texts(items); err != nil || fmt.Sprint(got) != "[a0 b3]" {
		t.Fatalf("claim: %v, %v; want a0 and b3", got, err)
	}
	items, err = db.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "A", Max: 5, Lease: time.Hour, Now: storetest.T0})
	if got := texts(items); err != nil || fmt.Sprint(got) != "[a1 a2]" {
		t.Fatalf("second claim: %v, %v; want a1 and a2", got, err)
	}
}

// TestExpiryIndexOfAnOldFile: a file whose expiry index (sessions.upd) has
// entries at the exact update time, as written before the index became
// coarse, expires its sessions exactly, and ExpireSessions moves or drops
// the old entries so that none is left behind.
func TestExpiryIndexOfAnOldFile(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "dmflow.db")
	sec := func(n int) time.Time { return storetest.T0.Add(time.Duration(n) * time.Second) }
	db := open(t, path, &bolt.Options{NoInboxLog: true})
	for _, u := range []string{"a", "b"} {
		s := &dmflow.Session{Key: storetest.Key(u), Updated: sec(7)}
		if err := db.Commit(ctx, dmflow.Commit{Key: s.Key, Session: s, Now: sec(7)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	exact := func(u string, at time.Time) []byte { // the old key: exact time, userKey
		k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())^1<<63)
		return append(k, "acct\x00"+u+"\x00"...)
	}
	entries := func() int {
		raw, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		n := 0
		raw.View(func(tx *bbolt.Tx) error {
			n = tx.Bucket([]byte("sessions.upd")).Stats().KeyN
			return nil
		})
		return n
	}
	raw, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("sessions.upd"))
		var old [][]byte
		b.ForEach(func(k, _ []byte) error { old = append(old, bytes.Clone(k)); return nil })
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, u := range []string{"a", "b"} {
			if err := b.Put(exact(u, sec(7)), []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db = open(t, path, &bolt.Options{NoInboxLog: true})
	s, err := db.GetSession(ctx, storetest.Key("b"))
	if err != nil {
		t.Fatal(err)
	}
	s.Updated = sec(20)
	if err := db.Commit(ctx, dmflow.Commit{Key: s.Key, Session: s, Now: sec(20)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ before, want int }{{7, 0}, {8, 1}, {20, 0}, {21, 1}} {
		n, err := db.ExpireSessions(ctx, sec(tc.before))
		if err != nil || n != tc.want {
			t.Fatalf("expire before %ds: %d, %v; want %d", tc.before, n, err, tc.want)
		}
	}
	db.Close()
	if n := entries(); n != 0 {
		t.Fatalf("%d expiry index entries left", n)
	}
}
