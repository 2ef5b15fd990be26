package history_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/mem"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

// newEngine builds an engine from one flow file's source, loaded as
// "shop.yaml" so positions in traces are stable.
func newEngine(t *testing.T, src string) *engine.Engine {
	t.Helper()
	b, err := flows.LoadFS(fstest.MapFS{"shop.yaml": {Data: []byte(src)}}, "shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sender accepts every reply and counts them.
type sender struct {
	mu   sync.Mutex
	sent []dmflow.Outgoing
}

func (s *sender) Send(_ context.Context, m dmflow.Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return "mid.reply", nil
}

func (s *sender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

const acct, user = "acct", "ann"

// live is a bot running the real pipeline (mem store, real engine) with a
// fake clock.
type live struct {
	t     *testing.T
	b     *bot.Bot
	store dmflow.Store
	snd   *sender
	clk   *clock
	n     int
}

func startLive(t *testing.T, flow string) *live {
	t.Helper()
	l := &live{t: t, store: mem.New(nil), snd: &sender{}, clk: &clock{t: t0}}
	b, err := bot.New(bot.Config{Store: l.store, Sender: l.snd, Engine: newEngine(t, flow), Actions: actions{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: l.clk.Now,
		Workers: 2, Poll: 10 * time.Millisecond, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		Lease: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l.b = b
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return l
}

// send delivers ev at time at and waits until the bot sent want more
// replies and finished the event.
func (l *live) send(at time.Time, ev dmflow.Event, want int) {
	l.t.Helper()
	l.clk.set(at)
	l.n++
	ev.Account, ev.User, ev.Time, ev.Channel = acct, user, at, "instagram"
	if ev.Key == "" {
		ev.Key = fmt.Sprintf("%s:%d", ev.Kind, l.n)
	}
	before := l.snd.count()
	if err := l.b.Ingest(context.Background(), []dmflow.Event{ev}); err != nil {
		l.t.Fatal(err)
	}
	l.idle(before + want)
}

// idle waits until sent replies were sent and no inbox item is pending.
func (l *live) idle(sent int) {
	l.t.Helper()
	testutil.Eventually(l.t, "the bot to finish", func() bool {
		n, err := l.store.InboxDepth(context.Background())
		return err == nil && n == 0 && l.snd.count() >= sent
	})
}

func (l *live) history() []dmflow.InboxItem {
	l.t.Helper()
	items, err := l.store.History(context.Background(), dmflow.SessionKey{Account: acct, User: user}, 0)
	if err != nil {
		l.t.Fatal(err)
	}
	return items
}

func text(s string) dmflow.Event { return dmflow.Event{Kind: dmflow.KindMessage, Text: s} }

// actions answers every call as an order API would: {"status": "shipped"}.
type actions struct{}

func (actions) Run(_ context.Context, call dmflow.ActionCall) dmflow.ActionResult {
	return dmflow.ActionResult{ID: call.ID, Name: call.Name, Outcome: dmflow.OutcomeOK, Status: 200, Body: []byte(`{"status":"shipped"}`)}
}
