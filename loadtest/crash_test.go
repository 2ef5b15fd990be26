package loadtest_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/loadtest"
)

// TestCrashExactlyOnceInState SIGKILLs `dmflow serve` at random moments
// under load and restarts it on the same file, while the generator
// redelivers every POST that was not answered 200 (as Meta does). Then:
// every acknowledged event was processed exactly once in the session state
// (the counter flow's n equals the number of events for every user, and
// the first reply to event i carries n == i), every event was answered,
// the replies of each user arrived in order, and duplicated sends (the
// outbox's at-least-once window at each kill: the send in flight per user)
// are reported and bounded.
// internal/e2e's TestCrashRecovery checks the replies of a crash run; this
// test adds the session state and random kill points.
func TestCrashExactlyOnceInState(t *testing.T) {
	users, perUser, crashes := 40, 25, 3
	if long() {
		users, perUser, crashes = 200, 50, 10
	}
	g, err := loadtest.StartGraph()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s := newSite(t, g.URL)
	p := s.start()
	const accounts = 4
	l, err := loadtest.NewLoad(loadtest.Options{URL: s.webhook(), Secret: secret, Users: users, Accounts: accounts,
		Events: users * perUser, Concurrency: 8, Rate: 300, Duration: testutil.Scale(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan struct{})
	go func() { l.Send(context.Background()); close(sent) }()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("kill points seeded with %d", seed)
	for i := range crashes {
		time.Sleep(time.Duration(150+rng.IntN(500)) * time.Millisecond)
		p.Kill()
		t.Logf("crash %d: %d of %d events acknowledged, %d replies", i+1, l.Acked(), users*perUser, g.Total())
		p = s.start()
	}
	<-sent
	if !l.WaitReplies(g.Recorder, testutil.Scale(2*time.Minute)) {
		t.Fatalf("not every acknowledged event was answered within %s (%d of %d)", testutil.Scale(2*time.Minute), g.Unique(), l.Acked())
	}
	waitIdle(t, p.URL(), 30*time.Second)
	r := l.Result("crash", g.Recorder)
	t.Log(r.Summary(0))
	switch {
	case r.Acked != r.Events:
		t.Fatalf("%d of %d events acknowledged", r.Acked, r.Events)
	case r.Lost != 0 || r.OutOfOrder != 0 || r.Miscounted != 0:
		t.Fatalf("lost %d, out of order %d, miscounted %d; want none", r.Lost, r.OutOfOrder, r.Miscounted)
	case r.Duplicates > crashes*users: // at most the one send in flight per user per kill
		t.Fatalf("%d duplicated sends after %d kills, more than one per user per kill", r.Duplicates, crashes)
	}
	t.Logf("%d duplicated sends after %d kills (at-least-once delivery)", r.Duplicates, crashes)
	if code := p.Stop(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	db := s.open()
	for u := range users {
		if n := sessionCount(t, db, u, accounts); n != perUser {
			t.Fatalf("user %d: counter %d after %d events: an event was processed %s", u, n, perUser,
				map[bool]string{true: "twice", false: "not at all"}[n > perUser])
		}
	}
}
