package engine_test

import (
	"context"
	"testing"

	"github.com/dmflow/dmflow"
)

// BenchmarkStep measures one realistic step on the 13-state tour flow: a
// user in "menu" taps a quick reply whose condition matches after two
// triggers and a regexp, which sets a list variable and enters "support",
// an ask state that renders nothing.
func BenchmarkStep(b *testing.B) {
	e := tourEngine(b)
	c := newConv(b, e)
	c.say("hi")
	c.say("Bob")
	c.state("menu")
	s := c.s
	ev := dmflow.Event{Key: "m", Kind: dmflow.KindMessage, Account: "acct", User: "user1", Text: "Support", Payload: "SUPPORT", Time: t0}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		turn, err := e.Step(ctx, s, ev, t0)
		if err != nil || turn.Session.State != "support" {
			b.Fatal(err, turn.Session.State)
		}
	}
}

// BenchmarkStepReply is a step that renders a templated reply with quick
// replies (menu → menu on an e-mail address).
func BenchmarkStepReply(b *testing.B) {
	e := tourEngine(b)
	c := newConv(b, e)
	c.say("hi")
	c.say("Bob")
	s := c.s
	ev := dmflow.Event{Key: "m", Kind: dmflow.KindMessage, Account: "acct", User: "user1", Text: "bob@example.com", Time: t0}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		turn, err := e.Step(ctx, s, ev, t0)
		if err != nil || len(turn.Replies) != 1 {
			b.Fatal(err, texts(turn))
		}
	}
}
