package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
)

func countText(turn *dmflow.Turn) []string {
	var out []string
	for _, c := range turn.Counts {
		out = append(out, c.Kind+" "+c.Flow+"/"+c.Name)
	}
	return out
}

// TestFunnelCounts checks the counters each turn carries: states entered,
// edges taken, failed asks, handoffs and (with Options.DropOff) drop-offs.
func TestFunnelCounts(t *testing.T) {
	e := load(t, `
flow: f
start: ask
vars: {email: string}
triggers:
  - keywords: [human]
    handoff: true
states:
  ask:
    say: [{text: "e-mail?"}]
    ask: {var: email, type: email}
    next: done
  done: {say: [{text: ok}], end: true}
`)
	withDrop, err := engine.New(e.Bundle(), &engine.Options{DropOff: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := newConv(t, e)
	tests := []struct {
		in   string
		want []string
	}{
		{"hi", []string{"edge f/@start", "entered f/ask"}},
		{"nope", []string{"ask_failed f/ask"}},
		{"a@b.co", []string{"edge f/ask#next", "entered f/done"}},
	}
	for _, tt := range tests {
		eq(t, tt.in, countText(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: tt.in})), tt.want)
	}
	c = newConv(t, e)
	c.say("hi")
	eq(t, "handoff", countText(c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "human"})), []string{"handoff f/ask"})

	// With DropOff (as serve runs): the timer restarts after each input.
	ctx := context.Background()
	step := func(sess *dmflow.Session, ev dmflow.Event, now time.Time) *dmflow.Turn {
		t.Helper()
		ev.Account, ev.User, ev.Key = "acct", "user1", ev.Text+now.String()
		turn, err := withDrop.Step(ctx, sess, ev, now)
		if err != nil {
			t.Fatal(err)
		}
		turn.Session.Version++
		return turn
	}
	s := step(nil, dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"}, t0).Session
	if len(s.Timers) != 1 || s.Timers[0].Name != "dropoff" || !s.Timers[0].Due.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("timers = %+v, want the drop-off timer in 24h", s.Timers)
	}
	tm := s.Timers[0]
	turn := step(s, dmflow.Event{Kind: dmflow.KindTimer, Timer: &dmflow.TimerFire{ID: tm.ID, Name: tm.Name, Due: tm.Due}}, tm.Due)
	eq(t, "dropoff", countText(turn), []string{"dropped_off f/ask"})
	eq(t, "replies", len(turn.Replies), 0)
	if !turn.Session.Updated.Equal(s.Updated) || turn.Session.State != "ask" || len(turn.Session.Timers) != 0 {
		t.Errorf("a drop-off changed the session: %+v", turn.Session)
	}
	s = step(turn.Session, dmflow.Event{Kind: dmflow.KindMessage, Text: "a@b.co"}, tm.Due.Add(time.Hour)).Session
	eq(t, "timers after the end", len(s.Timers), 0)
}
