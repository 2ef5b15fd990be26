package bolt

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// TestLeasesSwept checks that in-memory leases of users whose work is done
// do not accumulate: once the lease bucket doubled, leases idle for more
// than sweepMargin are dropped, and such a user can be claimed again.
func TestLeasesSwept(t *testing.T) {
	ctx := context.Background()
	d, err := Open(filepath.Join(t.TempDir(), "sweep.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := minSweep + 100
	t0 := time.Unix(1_800_000_000, 0)
	process(t, d, "u", n, "w1", t0)
	if got := d.leases.size("inbox.lease"); got != n {
		t.Fatalf("after the first round: %d inbox leases, want %d (all recent)", got, n)
	}
	t1 := t0.Add(sweepMargin + time.Minute)
	process(t, d, "v", n, "w1", t1)
	if got := d.leases.size("inbox.lease"); got > n {
		t.Fatalf("after the second round: %d inbox leases, want <= %d (the first round's swept)", got, n)
	}
	// A swept user is free, as its expired lease was: another owner claims it.
	ev := dmflow.Event{Key: "again", Kind: dmflow.KindMessage, Account: "a", User: "u0", Text: "x"}
	if _, err := d.AppendInbox(ctx, []dmflow.Event{ev}, t1); err != nil {
		t.Fatal(err)
	}
	items, err := d.ClaimInbox(ctx, dmflow.Claim{Owner: "w2", Max: 10, Lease: time.Second, Now: t1})
	if err != nil || len(items) != 1 || items[0].Event.User != "u0" {
		t.Fatalf("claim by another owner: %d items, %v; want u0's event", len(items), err)
	}
}

// process appends one event for each of n users named prefix<i>, claims
// them all as owner (1 s lease) and commits each, at now.
func process(t *testing.T, d *DB, prefix string, n int, owner string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	evs := make([]dmflow.Event, n)
	for i := range evs {
		u := prefix + strconv.Itoa(i)
		evs[i] = dmflow.Event{Key: "m." + u, Kind: dmflow.KindMessage, Account: "a", User: u, Text: "hi"}
	}
	if _, err := d.AppendInbox(ctx, evs, now); err != nil {
		t.Fatal(err)
	}
	items, err := d.ClaimInbox(ctx, dmflow.Claim{Owner: owner, Max: n, Lease: time.Second, Now: now})
	if err != nil || len(items) != n {
		t.Fatalf("claim: %d items, %v; want %d", len(items), err, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(items))
	for w := range 64 { // concurrent commits share group commits
		wg.Go(func() {
			for i := w; i < len(items); i += 64 {
				it := items[i]
				errs <- d.Commit(ctx, dmflow.Commit{Owner: owner, Seq: it.Seq, Key: it.Event.SessionKey(), Now: now})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLeasesSweptInTime checks that a bucket that stops growing is swept
// once sweepEvery passed: leases idle for more than sweepMargin go, while
// a lease with a claimed item and the latest users' live leases stay.
func TestLeasesSweptInTime(t *testing.T) {
	ctx := context.Background()
	d, err := Open(filepath.Join(t.TempDir(), "sweep.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t0 := time.Unix(1_800_000_000, 0)
	// One user's item stays claimed (never committed).
	busy := dmflow.Event{Key: "busy", Kind: dmflow.KindMessage, Account: "a", User: "busy", Text: "x"}
	if _, err := d.AppendInbox(ctx, []dmflow.Event{busy}, t0); err != nil {
		t.Fatal(err)
	}
	claimed, err := d.ClaimInbox(ctx, dmflow.Claim{Owner: "w1", Max: 1, Lease: time.Second, Now: t0})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim busy: %d items, %v", len(claimed), err)
	}
	n := minSweep + 100
	process(t, d, "u", n, "w1", t0)
	// Fewer users later: the bucket does not double, but time passed.
	t1 := t0.Add(sweepMargin + sweepEvery + 2*time.Second)
	process(t, d, "v", 10, "w1", t1)
	if got := d.leases.size("inbox.lease"); got != 11 {
		t.Fatalf("after the second round: %d inbox leases, want 11 (the second round's and the claimed one)", got)
	}
	// The claimed item is still w1's (at a clock before its lease ends):
	// another owner gets nothing, and w1 commits it.
	live := t0.Add(time.Second / 2)
	items, err := d.ClaimInbox(ctx, dmflow.Claim{Owner: "w2", Max: 10, Lease: time.Second, Now: live})
	if err != nil || len(items) != 0 {
		t.Fatalf("claim by another owner while busy's lease is live: %d items, %v; want none", len(items), err)
	}
	if err := d.Commit(ctx, dmflow.Commit{Owner: "w1", Seq: claimed[0].Seq, Key: busy.SessionKey(), Now: live}); err != nil {
		t.Fatalf("commit of the claimed item after the sweep: %v", err)
	}
}
