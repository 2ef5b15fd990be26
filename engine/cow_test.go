package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dmflow/dmflow"
)

// TestStepSharesNothingWritable steps many goroutines concurrently from one
// input session whose slices have spare capacity, with events that set
// variables, re-arm timers, push the sub-flow stack, queue deferred events
// and restart. Steps copy what they change (copy-on-write), so the race
// detector sees no write to the shared input, the input stays as it was
// and every step of an event has the same outcome.
func TestStepSharesNothingWritable(t *testing.T) {
	e := tourEngine(t)
	c := newConv(t, e)
	c.say("hi")
	c.say("Bob")
	c.state("menu")
	menu := *c.s
	menu.Timers = append(make([]dmflow.Timer, 0, 8), menu.Timers...)
	menu.Stack = append(make([]dmflow.Frame, 0, 8), dmflow.Frame{Flow: "lead-capture", State: "shop"})
	pending := menu
	pending.State = "lookup"
	pending.Pending = &dmflow.ActionCall{ID: "a:1", Name: "lookup", Key: menu.Key}
	pending.Deferred = append(make([]dmflow.Event, 0, 8), dmflow.Event{Key: "d1", Kind: dmflow.KindMessage, Text: "first"})
	for _, tc := range []struct {
		name  string
		in    *dmflow.Session
		texts []string
	}{
		// set email and re-arm the timeout; tags + ["pricing"]; call catalog
		// (args, stack push); trigger to greet (set tags, seen_at); handoff
		// trigger (arms a timer, no state entered); fallback
		{"menu", &menu, []string{"bob@example.com", "Pricing", "Shop", "restart", "stop", "anything"}},
		{"pending", &pending, []string{"queued"}},
	} {
		t.Run(tc.name, func(t *testing.T) { stepConcurrently(t, c, tc.in, tc.texts) })
	}
}

func stepConcurrently(t *testing.T, c *conv, in *dmflow.Session, texts []string) {
	before := mustJSON(t, in)
	const n = 8
	got := make([][n]string, len(texts))
	var wg sync.WaitGroup
	for i, text := range texts {
		ev := dmflow.Event{Key: "m", Kind: dmflow.KindMessage, Account: "acct", User: "user1", Time: t0, Text: text}
		if text == "Pricing" || text == "Shop" {
			ev.Payload = strings.ToUpper(text)
		}
		for j := range n {
			wg.Go(func() {
				turn, err := c.e.Step(context.Background(), in, ev, t0)
				if err != nil {
					t.Error(err)
					return
				}
				got[i][j] = mustJSON(t, turn)
			})
		}
	}
	wg.Wait()
	if after := mustJSON(t, in); after != before {
		t.Fatalf("input session changed:\nbefore %s\nafter  %s", before, after)
	}
	for i := range texts {
		for j := 1; j < n; j++ {
			if got[i][j] != got[i][0] {
				t.Fatalf("%q: concurrent steps differ:\n%s\n%s", texts[i], got[i][j], got[i][0])
			}
		}
	}
}
