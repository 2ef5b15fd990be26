package e2e_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// TestPGReplicasShareLoad runs two and three replicas on one schema behind
// a round-robin balancer and sends users × msgs messages (users in
// parallel, each user's messages in order, webhooks spread over the
// replicas): every message is answered exactly once, in order per user.
//
// The one documented exception (docs/scaling.md, "Heartbeats and busy
// machines"): a replica stalled longer than its heartbeat's lifetime on an
// overloaded machine is declared dead and its users are taken over; a
// reply it was sending at that moment may go out twice, at most one per
// user. The test allows that only when a replica reports a late heartbeat
// (dmflow_heartbeats_late_total), and then only within that bound.
func TestPGReplicasShareLoad(t *testing.T) {
	users, msgs := 40, 20
	if long() {
		users, msgs = 100, 30 // < 30 s of replies at 100/s per replica (the lease)
	}
	for _, replicas := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			c := newCluster(t, worldOpts{}, replicas, 30*time.Second)
			start := time.Now()
			<-c.w.load("s", users, msgs)
			dups := c.w.checkAllAnswered("s", users, msgs)
			t.Logf("%d replicas: %d users × %d messages answered in %v, %d duplicated sends",
				replicas, users, msgs, time.Since(start).Round(time.Millisecond), dups)
			late := c.metric("dmflow_heartbeats_late_total")
			switch {
			case dups != 0 && late == 0:
				t.Fatalf("%d duplicated sends without any crash or late heartbeat, want 0", dups)
			case dups > users:
				t.Fatalf("%d duplicated sends after %v late heartbeats, want at most one per user (%d)", dups, late, users)
			case dups != 0:
				t.Logf("%d duplicated sends after %v late heartbeats (a replica stalled and was taken over)", dups, late)
			}
			c.waitIdle(10 * time.Second)
			c.checkShared(users * msgs)
		})
	}
}

// checkShared checks that every replica received webhooks and that
// together the replicas processed every event, and logs how the work was
// shared. (Who processes a user is whoever claims it first; a replica may
// keep all users while it keeps up, so processing shares are not asserted.)
func (c *cluster) checkShared(events int) {
	c.w.t.Helper()
	var parts []string
	processed := 0.0
	for i, n := range c.live() {
		m := c.scrape(n)
		in, done := m["dmflow_events_ingested_total"], m["dmflow_processing_seconds_count"]
		sent := m[`dmflow_deliveries_total{queue="dm",result="ok"}`]
		parts = append(parts, fmt.Sprintf("replica %d: %v ingested, %v processed, %v sent", i, in, done, sent))
		if in == 0 {
			c.w.t.Errorf("replica %d received no webhooks", i)
		}
		processed += done
	}
	c.w.t.Log(strings.Join(parts, "; "))
	if int(processed) < events {
		c.w.t.Errorf("replicas processed %v events, want at least the %d sent", processed, events)
	}
}

// TestPGTimersFireOnce arms one flow timeout per user on three replicas:
// each fires exactly once across the replicas.
func TestPGTimersFireOnce(t *testing.T) {
	const n = 30
	c := newCluster(t, worldOpts{}, 3, 30*time.Second)
	for _, u := range users("t", n) {
		c.w.mustPost(c.w.text(u, "m-"+u+"-1", "hi"))
		c.w.mustPost(c.w.text(u, "m-"+u+"-2", "wait"))
	}
	want := []string{"ready", "waiting", "timeout fired", "ready"} // the timeout goes back to listen
	for _, u := range users("t", n) {
		c.w.waitReplies(u, len(want), 20*time.Second)
	}
	time.Sleep(time.Second) // a second firing would come right after the first
	c.waitIdle(10 * time.Second)
	for _, u := range users("t", n) {
		if got := c.w.replies(u); !equal(got, want) {
			t.Fatalf("user %s: replies %q, want %q", u, got, want)
		}
	}
	if fired := c.metric("dmflow_timers_fired_total"); fired != n {
		t.Fatalf("replicas fired %v timers together, want %d", fired, n)
	}
}

// TestPGReplicaKilledMidLoad SIGKILLs one of three replicas while webhooks
// arrive: its users' leases expire (--lease 5s) and the other replicas take
// its unfinished work over. Every acknowledged message is answered, in order
// per user; duplicated sends (the killed replica's sends not yet recorded)
// are reported and bounded.
func TestPGReplicaKilledMidLoad(t *testing.T) {
	// The lease must outlast the longest outbox drain of a live replica
	// (TestPGOutboxLeaseOutlivesDrain): at most ~300 replies at 100/s.
	users, msgs, lease := 30, 20, 5*time.Second
	if long() {
		users, msgs, lease = 100, 30, 30*time.Second
	}
	c := newCluster(t, worldOpts{}, 3, lease)
	start := time.Now()
	done := c.w.load("k", users, msgs)
	for len(c.w.graph.Messages()) < users*msgs/4 {
		time.Sleep(5 * time.Millisecond)
	}
	owner := c.owner(0)
	c.kill(0)
	unacked, worst := c.sentUnacked(owner)
	killedAt := len(c.w.graph.Messages())
	t.Logf("replica 0 killed after %d of %d replies, holding %d replies it had sent but not yet acknowledged (up to %d for one user)",
		killedAt, users*msgs, unacked, worst)
	<-done
	dups := c.w.checkAllAnswered("k", users, msgs)
	t.Logf("%d messages answered in %v; %d duplicated sends (%.2f%%); %d inbox items claimed more than once",
		users*msgs, time.Since(start).Round(time.Millisecond), dups, 100*float64(dups)/float64(users*msgs),
		pgCount(t, c.store, "SELECT count(*) FROM inbox WHERE attempts > 1"))
	if killedAt >= users*msgs {
		t.Fatal("the load finished before the kill; the test proves nothing")
	}
	// Only what the killed replica had sent but not recorded may go out
	// twice; the other replicas must not repeat anything.
	if dups > unacked {
		t.Fatalf("%d duplicated sends, more than the %d the killed replica left unacknowledged", dups, unacked)
	}
	c.waitIdle(10 * time.Second)
}

// owner returns the lease owner id replica i logged at start.
func (c *cluster) owner(i int) string {
	c.w.t.Helper()
	c.mu.Lock()
	n := c.replicas[i]
	c.mu.Unlock()
	n.waitLog(c.w.t, `"msg":"bot running"`, 10*time.Second)
	for line := range strings.Lines(n.stderr.String()) {
		var l struct{ Msg, Owner string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "bot running" && l.Owner != "" {
			return l.Owner
		}
	}
	c.w.t.Fatalf("replica %d logged no owner; stderr:\n%s", i, n.stderr)
	return ""
}

// sentUnacked counts the DM outbox items still claimed by owner whose
// reply the Graph API double already accepted: sent, but not acknowledged
// in the store. It also returns the largest such count of one user.
func (c *cluster) sentUnacked(owner string) (total, worst int) {
	c.w.t.Helper()
	ctx, conn, done := pgConnect(c.w.t, c.store)
	defer done()
	rows, err := conn.Query(ctx, "SELECT record FROM outbox WHERE queue = 'dm' AND claimed_by = $1", owner)
	if err != nil {
		c.w.t.Fatal(err)
	}
	recs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		c.w.t.Fatal(err)
	}
	perUser := map[string]int{}
	for _, rec := range recs {
		var it dmflow.OutboxItem
		if err := dmflow.UnmarshalRecord(rec, &it); err != nil || it.Message == nil {
			c.w.t.Fatalf("outbox record: %v", err)
		}
		if slices.Contains(c.w.replies(it.Key.User), it.Message.Reply.Text) {
			total++
			perUser[it.Key.User]++
			worst = max(worst, perUser[it.Key.User])
		}
	}
	return total, worst
}
