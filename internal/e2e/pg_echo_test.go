package e2e_test

import (
	"fmt"
	"testing"
	"time"
)

// TestPGEchoesAcrossReplicas delivers the platform's echo of every reply
// through the balancer, so it often reaches a replica other than the one
// that sent the reply, and the double delivers each echo before it answers
// the send, so the echo always beats the sender's "echo:<mid>" marker. No
// conversation may be handed off by the bot's own echoes: the replica that
// processes an echo finds the reply still in the outbox (by content), or
// its id remembered by the sender's acknowledgement (Store.Remembered), or
// waits while the user has replies in the outbox. Every user gets every
// reply, in order, once.
func TestPGEchoesAcrossReplicas(t *testing.T) {
	nusers, msgs := 20, 5
	c := newCluster(t, worldOpts{echoes: true}, 2, 30*time.Second)
	for _, u := range users("e", nusers) {
		for i := 1; i <= msgs; i++ {
			c.w.mustPost(c.w.text(u, fmt.Sprintf("m-%s-%d", u, i), fmt.Sprint(i)))
		}
	}
	c.waitIdle(30 * time.Second)
	want := wantReplies("v1", msgs)
	for _, u := range users("e", nusers) {
		got := c.w.replies(u)
		next, dups, err := replay(got, want)
		off := pgCount(t, c.store, "SELECT count(*) FROM sessions WHERE user_id = $1 AND handoff", u)
		switch {
		case off != 0:
			t.Errorf("user %s: falsely handed off by the bot's own echoes after replies %q", u, got)
		case err != nil || dups > 0:
			t.Errorf("user %s: replies %q (%v, %d repeated)", u, got, err, dups)
		case next != len(want):
			t.Errorf("user %s: %d of %d replies: %q", u, next, len(want), got)
		}
	}
}
