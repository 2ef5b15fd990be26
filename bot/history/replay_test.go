package history_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/history"
)

const shopV1 = `flow: shop
version: 1
main: true
start: greet
vars:
  name: string
states:
  greet:
    say: [{text: "Hi! What's your name?"}]
    ask: {var: name}
    next: menu
  menu:
    say:
      - text: "Nice to meet you, {{ name }}! Pick one:"
        quick_replies: [Pricing, Support]
    on:
      - when: event.payload == "PRICING"
        say: [{text: "Starter is $19/month."}]
      - say: [{text: "Please pick one of the buttons."}]
`

// shopV2 is shopV1 edited: another greeting and another price.
const shopV2 = `flow: shop
version: 2
main: true
start: greet
vars:
  name: string
states:
  greet:
    say: [{text: "Hi! What's your name?"}]
    ask: {var: name}
    next: menu
  menu:
    say:
      - text: "Hello {{ name }}! What can I do for you?"
        quick_replies: [Pricing, Support]
    on:
      - when: event.payload == "PRICING"
        say: [{text: "Starter is $29/month."}, {text: "Pro is $49/month."}]
      - say: [{text: "Please pick one of the buttons."}]
`

// TestReplayShowsTheDifference records a conversation through the real
// pipeline with flows v1, edits the flows (v2) and replays: each turn
// shows what was sent then next to what v2 says, the differing turns
// marked, as text and as the admin API's JSON (golden files).
func TestReplayShowsTheDifference(t *testing.T) {
	l := startLive(t, shopV1)
	l.send(t0, text("hi"), 1)
	l.send(t0.Add(5*time.Second), text("Ann"), 1)
	l.send(t0.Add(9*time.Second), dmflow.Event{Kind: dmflow.KindMessage, Text: "Pricing", Payload: "PRICING"}, 1)
	l.send(t0.Add(20*time.Second), text("what?"), 1)

	l.b.SetEngine(newEngine(t, shopV2))
	rep, err := l.b.Replay(context.Background(), dmflow.SessionKey{Account: acct, User: user})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 4 || rep.Differs != 2 {
		t.Fatalf("replay: %d steps, %d differ; want 4 and 2", len(rep.Steps), rep.Differs)
	}
	for i, want := range []bool{false, true, true, false} {
		if rep.Steps[i].Differs != want {
			t.Errorf("step %d differs = %v, want %v", i, rep.Steps[i].Differs, want)
		}
	}

	var txt bytes.Buffer
	if err := history.WriteReplay(&txt, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "replay.txt", txt.Bytes())

	// --json prints the admin API's answer: the Replay as bot encodes it.
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "replay.json", js.Bytes())

	// Against the flows it was recorded with, nothing differs.
	l.b.SetEngine(newEngine(t, shopV1))
	same, err := l.b.Replay(context.Background(), dmflow.SessionKey{Account: acct, User: user})
	if err != nil {
		t.Fatal(err)
	}
	if same.Differs != 0 {
		var b bytes.Buffer
		history.WriteReplay(&b, same)
		t.Fatalf("replay against the recorded flows differs:\n%s", b.String())
	}
}
