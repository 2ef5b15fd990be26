package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/mem"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeEngine is a tiny deterministic engine:
//
//	text "boom"        → error
//	text "panic"       → panic
//	text "timer <d>"   → sets a timer due now+d, replies "timer set"
//	text "act <name>"  → emits an action call, replies "calling"
//	text "handoff"     → hands off
//	any other text     → replies "re: <text>" (silent while handed off)
//	timer              → replies "timeout <id>" if the timer is still pending
//	action result      → replies "action <outcome> <body>"
//	admin              → reset / move / release / handoff (By "admin")
//	echo               → hands off (By "agent"), silently
type fakeEngine struct{ steps atomic.Int64 }

func (e *fakeEngine) Step(_ context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error) {
	e.steps.Add(1)
	n := s.Clone()
	if n == nil {
		n = &dmflow.Session{Key: ev.SessionKey(), Flow: "fake", State: "start", Created: now}
	}
	n.Updated = now
	t := &dmflow.Turn{Session: n, Trace: []dmflow.TraceEntry{{What: "event", Detail: string(ev.Kind) + " " + ev.Text}}}
	switch ev.Kind {
	case dmflow.KindMessage:
		return e.message(n, ev, now, t)
	case dmflow.KindTimer:
		for i, tm := range n.Timers {
			if tm.ID == ev.Timer.ID {
				n.Timers = append(n.Timers[:i:i], n.Timers[i+1:]...)
				say(t, ev, "timeout "+tm.ID)
			}
		}
	case dmflow.KindActionResult:
		n.Pending = nil
		say(t, ev, fmt.Sprintf("action %s %s", ev.Action.Outcome, ev.Action.Body))
	case dmflow.KindAdmin:
		switch ev.Admin.Op {
		case dmflow.AdminReset:
			return &dmflow.Turn{Delete: true}, nil
		case dmflow.AdminMove:
			n.State = ev.Admin.State
		case dmflow.AdminRelease:
			n.Handoff = nil
		case dmflow.AdminHandoff:
			handoff(t, n, ev, now, "admin")
		}
	case dmflow.KindEcho:
		handoff(t, n, ev, now, "agent")
	}
	return t, nil
}

func (e *fakeEngine) message(n *dmflow.Session, ev dmflow.Event, now time.Time, t *dmflow.Turn) (*dmflow.Turn, error) {
	n.LastInbound = ev.Time
	t.Notices = append(t.Notices, dmflow.Notice{Type: dmflow.NoticeMessageReceived, Key: n.Key, Time: now, Cause: ev.Key,
		Data: map[string]any{"text": ev.Text}})
	cmd, arg, _ := strings.Cut(ev.Text, " ")
	switch {
	case cmd == "boom":
		return nil, errors.New("boom")
	case cmd == "panic":
		panic("engine exploded")
	case n.Handoff != nil:
		return t, nil
	case cmd == "timer":
		d, _ := time.ParseDuration(arg)
		n.Timers = append(n.Timers, dmflow.Timer{ID: ev.Key, Name: "t", Due: now.Add(d)})
		say(t, ev, "timer set")
	case cmd == "act":
		call := dmflow.ActionCall{ID: "call-" + ev.Key, Name: arg, Kind: "go", Key: n.Key, Created: now}
		n.Pending = &call
		t.Actions = append(t.Actions, call)
		say(t, ev, "calling")
	case cmd == "handoff":
		n.Handoff = &dmflow.Handoff{Since: now, By: "flow"}
	default:
		n.Vars = map[string]any{"last": ev.Text}
		say(t, ev, "re: "+ev.Text)
	}
	return t, nil
}

// handoff hands the session off, as the engine does, unless it is already.
func handoff(t *dmflow.Turn, n *dmflow.Session, ev dmflow.Event, now time.Time, by string) {
	if n.Handoff != nil {
		return
	}
	n.Handoff = &dmflow.Handoff{Since: now, By: by}
	t.Notices = append(t.Notices, dmflow.Notice{Type: dmflow.NoticeHandoffStarted, Key: n.Key, Time: now, Cause: ev.Key,
		Data: map[string]any{"by": by}})
}

func say(t *dmflow.Turn, ev dmflow.Event, text string) {
	t.Replies = append(t.Replies, dmflow.Outgoing{Key: ev.SessionKey(), To: dmflow.Recipient{ID: ev.User},
		Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: text}, Cause: ev.Key})
}

// sent is one message accepted by the recordingSender.
type sent struct {
	Key  dmflow.SessionKey
	Text string
	MID  string
}

// recordingSender records accepted messages, detects overlapping sends to
// one user, and fails or blocks as its hooks say.
type recordingSender struct {
	mu       sync.Mutex
	byUser   map[dmflow.SessionKey][]string
	all      []sent
	active   map[dmflow.SessionKey]bool
	overlaps int
	n        int
	notify   chan sent
	// fail, when set, decides the error of an attempt (nil = accept).
	fail func(m dmflow.Outgoing, attempt int) error
	// block, when set, is called before accepting (outside the lock).
	block    func(ctx context.Context, m dmflow.Outgoing) error
	attempts map[string]int
}

func newSender() *recordingSender {
	return &recordingSender{byUser: map[dmflow.SessionKey][]string{}, active: map[dmflow.SessionKey]bool{},
		attempts: map[string]int{}, notify: make(chan sent, 100000)}
}

func (r *recordingSender) Send(ctx context.Context, m dmflow.Outgoing) (string, error) {
	r.mu.Lock()
	if r.active[m.Key] {
		r.overlaps++
	}
	r.active[m.Key] = true
	r.attempts[m.Reply.Text]++
	attempt := r.attempts[m.Reply.Text]
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.active[m.Key] = false; r.mu.Unlock() }()
	if r.block != nil {
		if err := r.block(ctx, m); err != nil {
			return "", err
		}
	}
	if r.fail != nil {
		if err := r.fail(m, attempt); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	s := sent{Key: m.Key, Text: m.Reply.Text, MID: fmt.Sprintf("mid.%s.%s", m.Key.User, m.Reply.Text)}
	r.byUser[m.Key] = append(r.byUser[m.Key], m.Reply.Text)
	r.all = append(r.all, s)
	r.notify <- s
	return s.MID, nil
}

func (r *recordingSender) texts(k dmflow.SessionKey) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.byUser[k]...)
}

func (r *recordingSender) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// waitSent waits for the next accepted message.
func (r *recordingSender) waitSent(t *testing.T) sent {
	t.Helper()
	return testutil.Recv(t, r.notify, "a message to be sent")
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig is a fast configuration around a fresh mem store.
func testConfig(sender dmflow.Sender) bot.Config {
	return bot.Config{
		Store: mem.New(nil), Sender: sender, Engine: &fakeEngine{}, Logger: quiet,
		Workers: 8, Poll: 20 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		EchoGrace: 5 * time.Second, Lease: 10 * time.Second,
	}
}

// start builds a bot, runs it and stops it at the end of the test.
func start(t testing.TB, cfg bot.Config) *bot.Bot {
	t.Helper()
	b, err := bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run := runBot(b)
	t.Cleanup(func() { stop(t, b, run) })
	return b
}

var ctx = context.Background()

func key(user string) dmflow.SessionKey { return dmflow.SessionKey{Account: "acct", User: user} }

func msg(user, id, text string) dmflow.Event {
	return dmflow.Event{Key: "m:" + id, Kind: dmflow.KindMessage, Channel: "test", Account: "acct", User: user,
		Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), MID: id, Text: text}
}

func ingest(t testing.TB, b *bot.Bot, evs ...dmflow.Event) {
	t.Helper()
	if err := b.Ingest(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or the scaled deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, what, cond)
}

// metric returns the value of a counter or gauge with the given labels.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func newBot(cfg bot.Config) (*bot.Bot, error) { return bot.New(cfg) }

func runBot(b *bot.Bot) chan error {
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	return done
}

func stop(t testing.TB, b *bot.Bot, run chan error) {
	t.Helper()
	sctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	if err := b.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-run; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// eachStore runs f against every store backend the pipeline must work with.
func eachStore(t *testing.T, f func(t *testing.T, st dmflow.Store)) {
	for name, open := range map[string]func(t *testing.T) dmflow.Store{
		"mem":  func(*testing.T) dmflow.Store { return mem.New(nil) },
		"bolt": openBolt,
	} {
		t.Run(name, func(t *testing.T) { f(t, open(t)) })
	}
}

func boltOpen(dir string) (*bolt.DB, error) { return bolt.Open(filepath.Join(dir, "dmflow.db"), nil) }

func openBolt(t *testing.T) dmflow.Store {
	db, err := boltOpen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
