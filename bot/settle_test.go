package bot_test

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

const settleBotFlow = `
flow: burst
start: listen
settle: 3s
states:
  listen:
    say: [{text: "heard: {{ event.text }}"}]
    on: [{say: [{text: "then: {{ event.text }}"}]}]
`

// TestSettleSurvivesRestart holds a burst in a settle window, stops the bot
// and closes the store mid-window, reopens both, and lets the fake clock
// close the window: the burst is one turn, in order, answered once. The
// window lives in the durable session and timer index, not in memory.
func TestSettleSurvivesRestart(t *testing.T) {
	fl, err := flows.LoadFS(fstest.MapFS{"burst.yaml": {Data: []byte(settleBotFlow)}}, "burst.yaml")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(fl, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	clock := newClock()
	s := newSender()
	open := func() (dmflow.Store, *bot.Bot, chan error) {
		db, err := boltOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(s)
		cfg.Store, cfg.Engine, cfg.Clock = db, eng, clock.Now
		b, err := bot.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return db, b, runBot(b)
	}

	db, b, run := open()
	held := func(n int) {
		t.Helper()
		eventually(t, "messages held", func() bool {
			sess, err := db.GetSession(ctx, key("ann"))
			return err == nil && len(sess.Settling) == n
		})
	}
	ingest(t, b, msg("ann", "1", "hi"), msg("ann", "2", "I need help"))
	held(2)
	clock.Add(time.Second)
	ingest(t, b, msg("ann", "3", "with my order"))
	held(3)
	stop(t, b, run)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.count(); n != 0 {
		t.Fatalf("%d replies before the window closed", n)
	}

	db, b, run = open()
	defer func() { stop(t, b, run); _ = db.Close() }()
	clock.Add(2 * time.Second) // the window's end: 3 s after the first message
	// The bot's own timer loop reads the same clock and may fire the settle
	// timer before this call does: either way it fires once, and the one
	// reply below (and the count of 2 at the end) is the proof.
	if n, err := b.FireTimersNow(ctx, clock.Now()); err != nil || n > 1 {
		t.Fatalf("fired %d timers (%v), want at most the settle timer", n, err)
	}
	if got := s.waitSent(t); got.Text != "heard: hi\nI need help\nwith my order" {
		t.Fatalf("sent %q, want the burst as one message", got.Text)
	}
	ingest(t, b, msg("ann", "4", "thanks"))
	held(1)
	clock.Add(3 * time.Second)
	if _, err := b.FireTimersNow(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := s.waitSent(t); got.Text != "then: thanks" {
		t.Fatalf("sent %q, want the next burst", got.Text)
	}
	if n := s.count(); n != 2 {
		t.Fatalf("%d replies, want 2", n)
	}
}
