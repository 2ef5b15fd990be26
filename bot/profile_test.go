package bot_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/internal/testutil"
)

const greetFlow = `
flow: greet
start: hello
states:
  hello:
    say:
      - text: "Hi {{ user.username ?? 'there' }}!"
    next: chat
  chat:
    on:
      - say:
          - text: "still {{ user.username ?? 'nobody' }}"
`

// fakeProfiles answers from a map, counts lookups, and fails or hangs for
// the users it is told to.
type fakeProfiles struct {
	mu      sync.Mutex
	names   map[string]string
	fail    map[string]bool
	hang    map[string]bool
	lookups map[string]int
}

func (f *fakeProfiles) Profile(ctx context.Context, account, user string) (dmflow.Profile, error) {
	f.mu.Lock()
	f.lookups[user]++
	name, fail, hang := f.names[user], f.fail[user], f.hang[user]
	f.mu.Unlock()
	switch {
	case hang:
		<-ctx.Done()
		return dmflow.Profile{}, ctx.Err()
	case fail || account != "acct":
		return dmflow.Profile{}, errors.New("graph error 230")
	}
	return dmflow.Profile{Username: name}, nil // Fetched left to the bot
}

func (f *fakeProfiles) count(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups[user]
}

func greetEngine(t *testing.T) *engine.Engine { return greetEngineWith(t, nil) }

func greetEngineWith(t *testing.T, opts *engine.Options) *engine.Engine {
	t.Helper()
	b, err := flows.LoadFS(fstest.MapFS{"greet.yaml": {Data: []byte(greetFlow)}}, "greet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestProfileGreetsByName(t *testing.T) {
	clock := newClock()
	prof := &fakeProfiles{names: map[string]string{"ann": "ann.ig", "bob": "bob.ig"}, fail: map[string]bool{"eve": true},
		hang: map[string]bool{"slow": true}, lookups: map[string]int{}}
	s := newSender()
	cfg := testConfig(s)
	cfg.Engine, cfg.Profiles, cfg.Clock = greetEngine(t), prof, clock.Now
	cfg.ProfileTimeout = 20 * time.Millisecond
	b := start(t, cfg)

	converse := func(user, id string, want ...string) {
		t.Helper()
		ingest(t, b, msg(user, id, "hi"))
		for _, w := range want {
			if got := s.waitSent(t); got.Key != key(user) || got.Text != w {
				t.Fatalf("sent %+v, want %q to %s", got, w, user)
			}
		}
	}
	converse("ann", "a1", "Hi ann.ig!")
	converse("eve", "e1", "Hi there!")    // lookup fails: the flow's default
	converse("slow", "s1", "Hi there!")   // lookup hangs: bounded by ProfileTimeout
	converse("eve", "e2", "still nobody") // not asked again so soon
	if n := prof.count("eve"); n != 1 {
		t.Fatalf("eve looked up %d times, want 1 (failure remembered)", n)
	}

	// An existing session without a profile gets one on its next message.
	converse("ann", "a2", "still ann.ig")
	if n := prof.count("ann"); n != 1 {
		t.Fatalf("ann looked up %d times, want 1 (profile kept in the session)", n)
	}
	sess, err := cfg.Store.GetSession(ctx, key("ann"))
	if err != nil || sess.Profile == nil || sess.Profile.Username != "ann.ig" || !sess.Profile.Fetched.Equal(clock.Now()) {
		t.Fatalf("stored session %+v, %v", sess, err)
	}

	// After the TTL the profile is fetched again and the new name shows.
	prof.mu.Lock()
	prof.names["ann"] = "ann.renamed"
	prof.mu.Unlock()
	clock.Add(25 * time.Hour)
	converse("ann", "a3", "still ann.renamed")
	if n := prof.count("ann"); n != 2 {
		t.Fatalf("ann looked up %d times, want 2", n)
	}
	// eve's failure is old now: asked again.
	converse("eve", "e3", "still nobody")
	if n := prof.count("eve"); n != 2 {
		t.Fatalf("eve looked up %d times, want 2", n)
	}
}

func TestProfileOnlyForMessagesAndPostbacks(t *testing.T) {
	prof := &fakeProfiles{names: map[string]string{"bob": "bob.ig"}, lookups: map[string]int{}}
	s := newSender()
	cfg := testConfig(s)
	cfg.Engine, cfg.Profiles = greetEngine(t), prof
	b := start(t, cfg)
	read := dmflow.Event{Key: "read:1", Kind: dmflow.KindRead, Account: "acct", User: "bob", Time: time.Now()}
	ingest(t, b, read, dmflow.Event{Key: "pb:1", Kind: dmflow.KindPostback, Account: "acct", User: "bob",
		Time: time.Now(), Payload: "GET_STARTED"})
	if got := s.waitSent(t); got.Text != "Hi bob.ig!" {
		t.Fatalf("sent %q", got.Text)
	}
	if n := prof.count("bob"); n != 1 {
		t.Fatalf("looked up %d times, want 1 (postback only)", n)
	}
}

// The Instagram client is what serve plugs into Config.Profiles.
var _ bot.Profiles = (*instagram.Client)(nil)

// TestProfileRefreshState: input arriving in a refresh_profile state is
// stepped with a freshly fetched profile, however young the cached one.
func TestProfileRefreshState(t *testing.T) {
	const src = `
flow: gate
start: hello
states:
  hello:
    say: [{text: "hi {{ user.username }}"}]
    next: check
  check:
    refresh_profile: true
    on:
      - say: [{text: "now {{ user.username }}"}]
`
	bf, err := flows.LoadFS(fstest.MapFS{"gate.yaml": {Data: []byte(src)}}, "gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(bf, nil)
	if err != nil {
		t.Fatal(err)
	}
	prof := &fakeProfiles{names: map[string]string{"ann": "ann.v1"}, lookups: map[string]int{}}
	s := newSender()
	cfg := testConfig(s)
	cfg.Engine, cfg.Profiles = e, prof
	b := start(t, cfg)
	ingest(t, b, msg("ann", "a1", "hi"))
	if got := s.waitSent(t); got.Text != "hi ann.v1" {
		t.Fatalf("sent %q", got.Text)
	}
	prof.mu.Lock()
	prof.names["ann"] = "ann.v2" // changed on the platform a moment later
	prof.mu.Unlock()
	ingest(t, b, msg("ann", "a2", "check again"))
	if got := s.waitSent(t); got.Text != "now ann.v2" {
		t.Fatalf("sent %q, want the refreshed profile", got.Text)
	}
	if n := prof.count("ann"); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
}

// stallingProfiles stalls the lookups of the users in stall until release
// is closed (as when the Graph API stalls for one account), telling
// started about each, and answers the others at once.
type stallingProfiles struct {
	stall   map[dmflow.SessionKey]bool
	started chan dmflow.SessionKey
	release chan struct{}
}

func (p *stallingProfiles) Profile(ctx context.Context, account, user string) (dmflow.Profile, error) {
	k := dmflow.SessionKey{Account: account, User: user}
	if p.stall[k] {
		p.started <- k
		select {
		case <-p.release:
		case <-ctx.Done():
			return dmflow.Profile{}, ctx.Err()
		}
	}
	return dmflow.Profile{Username: user + ".ig"}, nil
}

// TestStalledProfileLookupDoesNotDelayOthers: one inbox worker serves two
// accounts; the profile lookup of account a's user "stuck" stalls (bounded
// only by a long ProfileTimeout). The worker does not wait for it: account
// b's user and account a's other user get their replies while the lookup
// stalls, and stuck's two messages are answered in order once it ends.
// (With the lookup inline in the worker, every reply waited for it.)
func TestStalledProfileLookupDoesNotDelayOthers(t *testing.T) {
	in := func(acct, user, id string) dmflow.Event {
		e := msg(user, id, id)
		e.Account = acct
		return e
	}
	stuck := dmflow.SessionKey{Account: "a", User: "stuck"}
	prof := &stallingProfiles{stall: map[dmflow.SessionKey]bool{stuck: true},
		started: make(chan dmflow.SessionKey, 1), release: make(chan struct{})}
	s := newSender()
	cfg := testConfig(s)
	cfg.Workers, cfg.Profiles, cfg.ProfileTimeout = 1, prof, time.Hour
	b := start(t, cfg)
	ingest(t, b, in("a", "stuck", "s1"), in("a", "stuck", "s2"))
	if got := testutil.Recv(t, prof.started, "stuck's lookup"); got != stuck {
		t.Fatalf("lookup of %v", got)
	}
	ingest(t, b, in("b", "bea", "b1"), in("a", "ann", "a1"))
	got := map[string]bool{}
	for range 2 {
		m := s.waitSent(t)
		got[m.Key.Account+"/"+m.Key.User+": "+m.Text] = true
	}
	if !got["b/bea: re: b1"] || !got["a/ann: re: a1"] {
		t.Fatalf("sent %v while stuck's lookup stalls, want bea's and ann's replies", got)
	}
	close(prof.release)
	for _, want := range []string{"re: s1", "re: s2"} {
		if m := s.waitSent(t); m.Key != stuck || m.Text != want {
			t.Fatalf("sent %+v, want %q to stuck", m, want)
		}
	}
}
