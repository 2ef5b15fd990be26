package bot_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/testutil"
)

var errTransient = errors.New("graph: 500 internal error")

type retryAfterErr struct{ d time.Duration }

func (e retryAfterErr) Error() string             { return "graph: rate limited" }
func (e retryAfterErr) RetryAfter() time.Duration { return e.d }

func TestSendRetriesThenDelivers(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		s.fail = func(m dmflow.Outgoing, attempt int) error {
			if m.Reply.Text == "re: first" && attempt <= 2 {
				return errTransient
			}
			return nil
		}
		cfg := testConfig(s)
		cfg.Store = st
		b := start(t, cfg)
		ingest(t, b, msg("u1", "1", "first"), msg("u1", "2", "second"))
		eventually(t, "two replies", func() bool { return len(s.texts(key("u1"))) == 2 })
		if got := s.texts(key("u1")); !slices.Equal(got, []string{"re: first", "re: second"}) {
			t.Fatalf("replies %q: the retried message must stay first", got)
		}
		if n := metric(t, b.Metrics(), "dmflow_deliveries_total", "queue", "dm", "result", "retried"); n != 2 {
			t.Fatalf("retried = %v, want 2", n)
		}
	})
}

func TestSendFailuresAreDeadLettered(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		reason string
	}{
		{"permanent", fmt.Errorf("graph: 551 user unavailable: %w", dmflow.ErrPermanent), "551"},
		{"outside window", fmt.Errorf("graph: 10/2018278: %w", dmflow.ErrOutsideWindow), "messaging window"},
		{"ambiguous", fmt.Errorf("graph: 1/1357046: %w", dmflow.ErrAmbiguous), "ambiguous"},
		{"attempts exhausted", errTransient, "gave up after 3 attempts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSender()
			s.fail = func(m dmflow.Outgoing, _ int) error {
				if m.Reply.Text == "re: bad" {
					return tc.err
				}
				return nil
			}
			cfg := testConfig(s)
			cfg.MaxSendAttempts = 3
			b := start(t, cfg)
			ingest(t, b, msg("u1", "1", "bad"), msg("u1", "2", "good"))
			if got := s.waitSent(t); got.Text != "re: good" {
				t.Fatalf("sent %q", got.Text)
			}
			var dl []dmflow.DeadLetter
			eventually(t, "dead letter", func() bool {
				dl, _ = cfg.Store.DeadLetters(ctx, 10)
				return len(dl) == 1
			})
			if dl[0].Item.Message.Reply.Text != "re: bad" || !strings.Contains(dl[0].Reason, tc.reason) {
				t.Fatalf("dead letter %+v, want reason containing %q", dl[0], tc.reason)
			}
			if n := metric(t, b.Metrics(), "dmflow_deliveries_total", "queue", "dm", "result", "dead"); n != 1 {
				t.Fatalf("dead = %v", n)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s := newSender()
	s.fail = func(dmflow.Outgoing, int) error { return retryAfterErr{time.Hour} }
	clock := newClock()
	cfg := testConfig(s)
	cfg.Clock = clock.Now
	b := start(t, cfg)
	t0 := clock.Now()
	ingest(t, b, msg("u1", "1", "hi"))
	eventually(t, "the retry", func() bool {
		return metric(t, b.Metrics(), "dmflow_deliveries_total", "queue", "dm", "result", "retried") == 1
	})
	probe := func(at time.Time) int {
		items, err := cfg.Store.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "probe", Max: 10, Lease: time.Minute, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	if n := probe(t0.Add(59 * time.Minute)); n != 0 {
		t.Fatalf("item due before its Retry-After: %d claimed", n)
	}
	if n := probe(t0.Add(61 * time.Minute)); n != 1 {
		t.Fatalf("item not due after its Retry-After: %d claimed", n)
	}
}

func TestOwnEchoesAreIgnoredHumanEchoesHandOff(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "hi"))
	own := s.waitSent(t)
	// The platform's echo of our own message comes later: a duplicate of the remembered id.
	ingest(t, b, echo("u1", own.MID))
	ingest(t, b, msg("u1", "2", "still bot"))
	if got := s.waitSent(t); got.Text != "re: still bot" {
		t.Fatalf("after own echo sent %q", got.Text)
	}
	// A person answers from the Instagram inbox.
	ingest(t, b, echo("u1", "mid.human"))
	eventually(t, "handoff", func() bool {
		sess, err := cfg.Store.GetSession(ctx, key("u1"))
		return err == nil && sess.Handoff != nil
	})
	sess, _ := cfg.Store.GetSession(ctx, key("u1"))
	if sess.Handoff.By != "agent" {
		t.Fatalf("handoff %+v", sess.Handoff)
	}
	ingest(t, b, msg("u1", "3", "anyone?"))
	if _, err := b.Command(ctx, key("u1"), dmflow.AdminCommand{Op: dmflow.AdminRelease}); err != nil {
		t.Fatal(err)
	}
	ingest(t, b, msg("u1", "4", "back"))
	if got := s.waitSent(t); got.Text != "re: back" {
		t.Fatalf("during handoff the bot answered %q", got.Text)
	}
}

// TestEachReplyIsAcknowledgedBeforeTheNextSend: a user's delivered reply
// is acknowledged before the next reply to that user is sent, so a crash
// repeats at most the send in flight. With five replies queued at once,
// the n-th send finds 5-n of them still in the outbox.
func TestEachReplyIsAcknowledgedBeforeTheNextSend(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	var depths []int
	s.block = func(ctx context.Context, m dmflow.Outgoing) error {
		if len(depths) == 0 { // sends to u1 never overlap (checked by the sender)
			eventually(t, "all replies queued", func() bool {
				n, err := cfg.Store.OutboxDepth(ctx, dmflow.QueueDM)
				return err == nil && n == 5
			})
		}
		n, err := cfg.Store.OutboxDepth(ctx, dmflow.QueueDM)
		depths = append(depths, n)
		return err
	}
	b := start(t, cfg)
	var evs []dmflow.Event
	for i := range 5 {
		evs = append(evs, msg("u1", fmt.Sprint(i), fmt.Sprint(i)))
	}
	ingest(t, b, evs...)
	for range 5 {
		s.waitSent(t)
	}
	if !slices.Equal(depths, []int{5, 4, 3, 2, 1}) {
		t.Fatalf("outbox depth at each send %v, want [5 4 3 2 1] (each earlier reply acknowledged)", depths)
	}
}

// TestOwnEchoAfterAckIsADuplicate: the acknowledgement of a delivered reply
// remembers "echo:<mid>", so the platform's echo is dropped at ingest and
// never becomes an inbox item.
func TestOwnEchoAfterAckIsADuplicate(t *testing.T) {
	s := newSender()
	cfg := testConfig(s)
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "hi"))
	own := s.waitSent(t)
	eventually(t, "reply acknowledged", func() bool {
		n, err := cfg.Store.OutboxDepth(ctx, dmflow.QueueDM)
		return err == nil && n == 0
	})
	eventually(t, "inbox drained", func() bool {
		n, err := cfg.Store.InboxDepth(ctx)
		return err == nil && n == 0
	})
	ingest(t, b, echo("u1", own.MID))
	if n := metric(t, b.Metrics(), "dmflow_events_duplicate_total"); n != 1 {
		t.Fatalf("duplicates %v, want the echo counted as 1", n)
	}
	if n, err := cfg.Store.InboxDepth(ctx); err != nil || n != 0 {
		t.Fatalf("inbox depth %d (%v) after the echo, want 0", n, err)
	}
	hist, err := cfg.Store.History(ctx, key("u1"), 0)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %+v (%v), want only the message (no own-echo marker)", hist, err)
	}
}

func TestEchoBeforeAckIsRecognised(t *testing.T) {
	s := newSender()
	release := make(chan struct{})
	inSend := make(chan struct{}, 1)
	s.block = func(ctx context.Context, m dmflow.Outgoing) error {
		if m.Reply.Text != "re: hi" {
			return nil
		}
		inSend <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cfg := testConfig(s)
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "hi"))
	<-inSend
	// Instagram delivers the echo webhook before the Send API call returned.
	ingest(t, b, echo("u1", "mid.u1.re: hi"))
	close(release)
	s.waitSent(t)
	ingest(t, b, msg("u1", "2", "next"))
	if got := s.waitSent(t); got.Text != "re: next" {
		t.Fatalf("sent %q", got.Text)
	}
	sess, err := cfg.Store.GetSession(ctx, key("u1"))
	if err != nil || sess.Handoff != nil {
		t.Fatalf("own echo handed off: %+v %v", sess, err)
	}
}

// TestUnknownEchoMatchingOurContentIsOurs: an echo whose mid this process
// never saw (the first send of a reply resent after a crash, or a reply
// another replica sent) is recognised by its content, against the replies
// this process delivered recently and the user's replies still pending in
// the outbox; a different text is a person and hands off.
func TestUnknownEchoMatchingOurContentIsOurs(t *testing.T) {
	s := newSender()
	release := make(chan struct{})
	s.block = func(ctx context.Context, m dmflow.Outgoing) error {
		if m.Reply.Text == "re: pending" {
			<-release
		}
		return nil
	}
	cfg := testConfig(s)
	cfg.EchoGrace = time.Millisecond // do not wait for the blocked send
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "hi"))
	s.waitSent(t)
	handedOff := func(user string) bool {
		sess, err := cfg.Store.GetSession(ctx, key(user))
		return err == nil && sess.Handoff != nil
	}
	drained := func() bool {
		n, err := cfg.Store.InboxDepth(ctx)
		return err == nil && n == 0
	}
	ingest(t, b, echoOf("u1", "mid.before-crash", "re: hi")) // delivered recently
	eventually(t, "echo processed", drained)
	if handedOff("u1") {
		t.Fatal("an echo of u1's delivered reply was taken for a person")
	}
	ingest(t, b, msg("u2", "2", "pending"))
	eventually(t, "u2's reply pending", func() bool {
		n, err := cfg.Store.OutboxDepth(ctx, dmflow.QueueDM)
		return err == nil && n == 1
	})
	ingest(t, b, echoOf("u2", "mid.other-replica", "re: pending")) // still in the outbox
	ingest(t, b, echoOf("u1", "mid.person", "re: hi!"))            // a person
	eventually(t, "the person's echo handed u1 off", func() bool { return handedOff("u1") })
	close(release)
	s.waitSent(t)
	eventually(t, "inbox drained", drained)
	if handedOff("u2") {
		t.Fatal("an echo of u2's pending reply was taken for a person")
	}
}

func echoOf(user, mid, text string) dmflow.Event {
	ev := echo(user, mid)
	ev.Text = text
	return ev
}

func echo(user, mid string) dmflow.Event {
	return dmflow.Event{Key: "echo:" + mid, Kind: dmflow.KindEcho, Channel: "instagram", Account: "acct", User: user,
		Time: time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC), MID: mid, Text: "from the inbox"}
}

func TestTimersFireThroughTheUserQueue(t *testing.T) {
	s := newSender()
	clock := newClock()
	cfg := testConfig(s)
	cfg.Clock = clock.Now
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "timer 5m"))
	s.waitSent(t)
	if n, err := b.FireTimersNow(ctx, clock.Now().Add(4*time.Minute)); err != nil || n != 0 {
		t.Fatalf("fired %d early (%v)", n, err)
	}
	// The bot's own timer loop reads the same clock: left where it is, only
	// this call can find the timer due.
	if n, err := b.FireTimersNow(ctx, clock.Now().Add(6*time.Minute)); err != nil || n != 1 {
		t.Fatalf("fired %d, want 1 (%v)", n, err)
	}
	if got := s.waitSent(t); got.Text != "timeout m:1" {
		t.Fatalf("sent %q", got.Text)
	}
}

func TestTimerDueDuringDowntimeFiresOnceAfterRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		s := newSender()
		clock := newClock()
		cfg := testConfig(s)
		cfg.Store = st
		cfg.Clock = clock.Now
		b1, err := newBot(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run := runBot(b1)
		ingest(t, b1, msg("u1", "1", "timer 1m"))
		s.waitSent(t)
		stop(t, b1, run)
		clock.Add(time.Hour) // downtime
		cfg.Owner = "after-restart"
		start(t, cfg) // its scheduler fires the overdue timer
		if got := s.waitSent(t); got.Text != "timeout m:1" {
			t.Fatalf("sent %q", got.Text)
		}
		eventually(t, "no pending timer", func() bool {
			_, ok, err := cfg.Store.NextTimer(ctx)
			return err == nil && !ok
		})
		if got := s.texts(key("u1")); !slices.Equal(got, []string{"timer set", "timeout m:1"}) {
			t.Fatalf("replies %q", got)
		}
	})
}

// TestEchoWaitDoesNotDelayOthers: a person answers account a's user from
// the Instagram inbox while the bot's reply to that user is stuck in
// flight (Meta throttles account a). The echo waits for that send (up to
// EchoGrace) to tell whether it is the bot's own, but off the only inbox
// worker: account b's user is answered meanwhile, and the echo hands the
// conversation off once the send ended.
func TestEchoWaitDoesNotDelayOthers(t *testing.T) {
	s := newSender()
	release := make(chan struct{})
	inSend := make(chan struct{}, 1)
	s.block = func(ctx context.Context, m dmflow.Outgoing) error {
		if m.Key.Account != "a" {
			return nil
		}
		inSend <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cfg := testConfig(s)
	cfg.Workers, cfg.EchoGrace = 1, time.Hour
	b := start(t, cfg)
	ev := func(e dmflow.Event, account string) dmflow.Event {
		e.Account = account
		return e
	}
	ingest(t, b, ev(msg("u1", "1", "hi"), "a"))
	testutil.Recv(t, inSend, "a's send in flight")
	ingest(t, b, ev(echo("u1", "mid.human"), "a"), ev(msg("u2", "2", "hello"), "b"))
	if got := s.waitSent(t); got.Key.Account != "b" || got.Text != "re: hello" {
		t.Fatalf("sent %+v while a's echo waits, want b's reply", got)
	}
	close(release)
	if got := s.waitSent(t); got.Key.Account != "a" || got.Text != "re: hi" {
		t.Fatalf("sent %+v, want a's reply", got)
	}
	a := dmflow.SessionKey{Account: "a", User: "u1"}
	eventually(t, "handoff", func() bool {
		sess, err := cfg.Store.GetSession(ctx, a)
		return err == nil && sess.Handoff != nil
	})
}
