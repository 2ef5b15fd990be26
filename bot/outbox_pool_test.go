package bot

import (
	"context"
	"testing"

	"github.com/dmflow/dmflow"
)

// TestStartHandsToTheLatestIdleSender: a user goes to the sender that went
// idle last (last in, first out), so the senders in use stay few and warm;
// the others stay in the pool, in order, and time out.
func TestStartHandsToTheLatestIdleSender(t *testing.T) {
	d := &drainer{quit: make(chan struct{})}
	first, latest := make(chan dmflow.SessionKey, 1), make(chan dmflow.SessionKey, 1)
	d.idlers = []chan dmflow.SessionKey{first, latest}
	k := dmflow.SessionKey{Account: "acct", User: "u1"}
	d.start(context.Background(), k)
	select {
	case got := <-latest:
		if got != k {
			t.Fatalf("handed %v, want %v", got, k)
		}
	default:
		t.Fatal("the sender that went idle last was handed nothing")
	}
	if len(first) != 0 || len(d.idlers) != 1 || d.idlers[0] != first {
		t.Fatalf("pool after the hand-off: %d idle, first sender has %d", len(d.idlers), len(first))
	}
}
