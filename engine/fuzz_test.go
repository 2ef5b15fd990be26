package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

var fuzzKinds = []dmflow.EventKind{dmflow.KindMessage, dmflow.KindPostback, dmflow.KindReaction, dmflow.KindRead,
	dmflow.KindReferral, dmflow.KindEdit, dmflow.KindDelete, dmflow.KindUnsupported, dmflow.KindOptin, dmflow.KindHandover,
	dmflow.KindComment, dmflow.KindEcho, dmflow.KindTimer, dmflow.KindActionResult, dmflow.KindAdmin}

var fuzzPayloads = []string{"", "PRICING", "SUPPORT", "ORDER_STATUS", "SHOP", "A", "B", "BUY_PRO"}
var fuzzOps = []string{dmflow.AdminReset, dmflow.AdminMove, dmflow.AdminRelease, dmflow.AdminHandoff, "bogus"}
var fuzzOutcomes = []string{dmflow.OutcomeOK, dmflow.OutcomeError, dmflow.OutcomeTimeout, dmflow.OutcomeInvalid}

// FuzzStep drives the tour flows with a conversation derived from the input
// bytes: Step must never panic, never mutate its input, and only fail with
// an invalid admin command.
func FuzzStep(f *testing.F) {
	f.Add([]byte("\x00\x00hi\x00\x00Bob\x00\x01\x00\x03"), "hello", "17 bananas")
	f.Add([]byte("\x0d\x00\x0c\x05\x00\x00"), "agent please", "restart")
	f.Add([]byte("\x00\x03\x0a\x00\x0e\x01\x0d\x02"), "x@y.io", `{"status":"ok"}`)
	e := tourEngine(f)
	f.Fuzz(func(t *testing.T, script []byte, text1, text2 string) {
		var s *dmflow.Session
		now := t0
		for i := 0; i+1 < len(script) && i < 64; i += 2 {
			op, arg := script[i], int(script[i+1])
			ev := dmflow.Event{Key: "k", Kind: fuzzKinds[int(op)%len(fuzzKinds)], Account: "a", User: "u", Time: now}
			ev.Text = []string{text1, text2, "Bob", ""}[arg%4]
			ev.Payload = fuzzPayloads[arg%len(fuzzPayloads)]
			ev.MID = "m"
			switch ev.Kind {
			case dmflow.KindComment:
				ev.Comment = &dmflow.Comment{ID: "c"}
			case dmflow.KindTimer:
				ev.Timer = &dmflow.TimerFire{ID: text1}
				if s != nil && len(s.Timers) > 0 {
					ev.Timer.ID = s.Timers[arg%len(s.Timers)].ID
				}
			case dmflow.KindActionResult:
				ev.Action = &dmflow.ActionResult{ID: text1, Outcome: fuzzOutcomes[arg%4], Body: []byte(text2)}
				if s != nil && s.Pending != nil && arg%2 == 0 {
					ev.Action.ID = s.Pending.ID
				}
			case dmflow.KindAdmin:
				ev.Admin = &dmflow.AdminCommand{Op: fuzzOps[arg%len(fuzzOps)], State: []string{"menu", "lookup", text1}[arg%3]}
			case dmflow.KindMessage:
				if arg%5 == 0 {
					ev.Attachments = []dmflow.Attachment{{Type: "image", URL: text2}}
				}
			}
			before := mustJSON(t, s)
			turn, err := e.Step(context.Background(), s, ev, now)
			if mustJSON(t, s) != before {
				t.Fatal("input session mutated")
			}
			if err != nil {
				if ev.Kind != dmflow.KindAdmin {
					t.Fatalf("step %d (%s): %v", i/2, ev.Kind, err)
				}
				continue
			}
			if turn.Session != nil {
				s = turn.Session
				s.Version++
			}
			now = now.Add(time.Duration(arg) * time.Minute)
		}
	})
}
