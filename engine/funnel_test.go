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

// TestDropOffTimerGrain: the drop-off timer is due DropOff after the last
// input rounded up to a whole minute (at most DropOff/64), so the inputs of
// one minute keep the timer the first armed (same ID and due) and a later
// one moves it; a drop-off is counted at most that late, never early.
func TestDropOffTimerGrain(t *testing.T) {
	e := load(t, `
flow: f
start: ask
vars: {name: string}
states:
  ask:
    say: [{text: "name?"}]
    ask: {var: name}
    next: ask
`)
	ctx := context.Background()
	tests := []struct {
		dropOff time.Duration
		at      []time.Duration // inputs, after t0
		due     []time.Duration // the timer's due after each, after t0
		same    []bool          // whether the input kept the timer's ID
	}{
		{24 * time.Hour, []time.Duration{0, 10 * time.Second, 59 * time.Second, 61 * time.Second},
			[]time.Duration{24 * time.Hour, 24*time.Hour + time.Minute, 24*time.Hour + time.Minute, 24*time.Hour + 2*time.Minute},
			[]bool{false, false, true, false}},
		{64 * time.Second, []time.Duration{500 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond},
			[]time.Duration{65 * time.Second, 65 * time.Second, 66 * time.Second},
			[]bool{false, true, false}},
		{time.Nanosecond * 10, []time.Duration{1, 2}, []time.Duration{11, 12}, []bool{false, false}},
	}
	for _, tt := range tests {
		eng, err := engine.New(e.Bundle(), &engine.Options{DropOff: tt.dropOff})
		if err != nil {
			t.Fatal(err)
		}
		var s *dmflow.Session
		var id string
		for i, at := range tt.at {
			now := t0.Add(at)
			ev := dmflow.Event{Kind: dmflow.KindMessage, Text: "x", Account: "acct", User: "u", Key: now.String()}
			turn, err := eng.Step(ctx, s, ev, now)
			if err != nil {
				t.Fatal(err)
			}
			s = turn.Session
			s.Version++
			if len(s.Timers) != 1 || !s.Timers[0].Due.Equal(t0.Add(tt.due[i])) {
				t.Fatalf("dropoff %v, input %d at +%v: timers %+v, want one due at +%v", tt.dropOff, i, at, s.Timers, tt.due[i])
			}
			if got := s.Timers[0].ID == id; got != tt.same[i] {
				t.Errorf("dropoff %v, input %d at +%v: kept the timer %v, want %v", tt.dropOff, i, at, got, tt.same[i])
			}
			id = s.Timers[0].ID
		}
	}
}
