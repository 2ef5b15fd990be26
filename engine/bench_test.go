package engine_test

import (
	"context"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
)

// lean are the options of a production server without outgoing webhooks.
var lean = &engine.Options{NoTrace: true, NoNotices: true}

// The events of the benchmarks, sent to a user in "menu".
var (
	tapSupport = dmflow.Event{Key: "m", Kind: dmflow.KindMessage, Account: "acct", User: "user1", Text: "Support", Payload: "SUPPORT", Time: t0}
	sendEmail  = dmflow.Event{Key: "m", Kind: dmflow.KindMessage, Account: "acct", User: "user1", Text: "bob@example.com", Time: t0}
)

// BenchmarkStep measures one realistic step on the 13-state tour flow,
// untraced and without notices (a production server): a user in "menu"
// taps a quick reply whose condition matches after two triggers and a
// regexp, which enters "support", an ask state that renders nothing.
func BenchmarkStep(b *testing.B) { benchMenu(b, lean, tapSupport, "support", 0) }

// BenchmarkStepTraced is BenchmarkStep with the trace and notices that
// `dmflow test`, `dmflow chat`, replays and the studio use (the defaults).
func BenchmarkStepTraced(b *testing.B) { benchMenu(b, nil, tapSupport, "support", 0) }

// BenchmarkStepNotices is BenchmarkStep with notices (a server with an
// outgoing webhook) but no trace.
func BenchmarkStepNotices(b *testing.B) {
	benchMenu(b, &engine.Options{NoTrace: true}, tapSupport, "support", 0)
}

// BenchmarkStepReply is an untraced step that sets a variable, re-enters
// "menu" (arming its timeout) and renders its templated reply with quick
// replies.
func BenchmarkStepReply(b *testing.B) { benchMenu(b, lean, sendEmail, "menu", 1) }

// BenchmarkStepReplyTraced is BenchmarkStepReply traced, with notices.
func BenchmarkStepReplyTraced(b *testing.B) { benchMenu(b, nil, sendEmail, "menu", 1) }

// benchMenu steps a user in "menu" with ev on an engine of the tour flow
// with opts, checking the state and the number of replies it leads to.
func benchMenu(b *testing.B, opts *engine.Options, ev dmflow.Event, state string, replies int) {
	e := tourEngineWith(b, opts)
	c := newConv(b, tourEngine(b))
	c.say("hi")
	c.say("Bob")
	c.state("menu")
	s := c.s
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		turn, err := e.Step(ctx, s, ev, t0)
		if err != nil || turn.Session.State != state || len(turn.Replies) != replies {
			b.Fatal(err, turn.Session.State, texts(turn))
		}
	}
}
