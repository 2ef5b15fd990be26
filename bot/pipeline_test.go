package bot_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

func TestOrderPerUserUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		cfg := testConfig(s)
		cfg.Store = st
		b := start(t, cfg)
		conversations(t, s, 40, 15, b)
		eventually(t, "inbox drained", func() bool {
			n, err := cfg.Store.InboxDepth(ctx)
			return err == nil && n == 0
		})
	})
}

func TestTwoReplicasShareOneStore(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		cfg := testConfig(s)
		cfg.Store = st
		b1 := start(t, cfg)
		cfg.Owner, cfg.Engine = "replica-2", &fakeEngine{}
		b2 := start(t, cfg)
		conversations(t, s, 20, 10, b1, b2)
	})
}

// conversations has users send perUser messages each, concurrently across
// users, spreading a user's messages over the given bots (replicas), and
// checks that every user got every reply in order, never two at once.
func conversations(t *testing.T, s *recordingSender, users, perUser int, bots ...*bot.Bot) {
	t.Helper()
	var wg sync.WaitGroup
	for u := range users {
		wg.Go(func() {
			for i := range perUser {
				user := fmt.Sprintf("u%d", u)
				ingest(t, bots[i%len(bots)], msg(user, fmt.Sprintf("%s-%d", user, i), fmt.Sprint(i)))
			}
		})
	}
	wg.Wait()
	eventually(t, "all replies", func() bool { return s.count() == users*perUser })
	want := make([]string, perUser)
	for i := range want {
		want[i] = fmt.Sprintf("re: %d", i)
	}
	for u := range users {
		if got := s.texts(key(fmt.Sprintf("u%d", u))); !slices.Equal(got, want) {
			t.Fatalf("user u%d got replies %q, want %q", u, got, want)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overlaps != 0 {
		t.Fatalf("%d sends to one user overlapped in time", s.overlaps)
	}
}

func TestDuplicatesAreDroppedAndCounted(t *testing.T) {
	s := newSender()
	b := start(t, testConfig(s))
	ingest(t, b, msg("u1", "a", "hello"), msg("u1", "a", "hello"))
	ingest(t, b, msg("u1", "a", "hello"), msg("u1", "b", "again"))
	s.waitSent(t)
	s.waitSent(t)
	if got := s.texts(key("u1")); !slices.Equal(got, []string{"re: hello", "re: again"}) {
		t.Fatalf("replies %q", got)
	}
	if d := metric(t, b.Metrics(), "dmflow_events_duplicate_total"); d != 2 {
		t.Fatalf("duplicates metric = %v, want 2", d)
	}
}

func TestEngineErrorsAndPanicsFailTheItemOnly(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "boom"), msg("u1", "2", "panic"), msg("u1", "3", "still here"))
	if got := s.waitSent(t); got.Text != "re: still here" {
		t.Fatalf("sent %q", got.Text)
	}
	failed, err := cfg.Store.FailedInbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 || !strings.Contains(failed[0].Reason, "boom") || !strings.Contains(failed[1].Reason, "panic: engine exploded") {
		t.Fatalf("failed items: %+v", failed)
	}
}

func TestCommitConflictAndStoreErrorsAreRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		cfg := testConfig(s)
		cfg.Store = st
		fs := &flakyStore{Store: cfg.Store, fail: map[int]error{0: dmflow.ErrConflict, 2: errors.New("disk hiccup")}}
		cfg.Store = fs
		b := start(t, cfg)
		ingest(t, b, msg("u1", "1", "one"), msg("u1", "2", "two"), msg("u1", "3", "three"))
		eventually(t, "three replies", func() bool { return len(s.texts(key("u1"))) == 3 })
		if got := s.texts(key("u1")); !slices.Equal(got, []string{"re: one", "re: two", "re: three"}) {
			t.Fatalf("replies %q", got)
		}
		sess, err := cfg.Store.GetSession(ctx, key("u1"))
		if err != nil || sess.Vars["last"] != "three" {
			t.Fatalf("session %+v, %v", sess, err)
		}
	})
}

// flakyStore fails the n-th Commit with the given error.
type flakyStore struct {
	dmflow.Store
	mu   sync.Mutex
	n    int
	fail map[int]error
}

func (f *flakyStore) Commit(ctx2 context.Context, c dmflow.Commit) error {
	f.mu.Lock()
	err := f.fail[f.n]
	f.n++
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.Commit(ctx2, c)
}
