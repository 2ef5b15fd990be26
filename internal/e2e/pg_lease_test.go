package e2e_test

import (
	"testing"
	"time"
)

// TestPGOutboxLeaseOutlivesDrain: a replica whose outbox backlog for a user
// takes longer to send than the lease (here: the 100 replies/s per account
// pacing of each process, a 3 s lease: a user's 30 replies take longer at
// the account's pace shared by 40 users) must not let another replica send
// the same replies. The drainer renews the outbox leases of the users it
// delivers to (every Lease/3, before a send when less than half is left,
// and with each acknowledgement) and stops sending a user's items once it
// learns that the lease is gone.
func TestPGOutboxLeaseOutlivesDrain(t *testing.T) {
	users, msgs := 40, 30
	// Not shorter: a replica starved of CPU for a whole lease (a 1 s lease
	// on a machine at load 20) loses it while a send is in flight.
	c := newCluster(t, worldOpts{}, 2, 3*time.Second)
	<-c.w.load("d", users, msgs)
	dups := c.w.checkAllAnswered("d", users, msgs)
	t.Logf("%d duplicated sends of %d without any crash (users whose outbox lease was lost mid-drain: %v)",
		dups, users*msgs, c.metric(`dmflow_outbox_leases_lost_total{queue="dm"}`))
	if dups != 0 {
		t.Fatalf("%d replies sent twice by two live replicas", dups)
	}
}
