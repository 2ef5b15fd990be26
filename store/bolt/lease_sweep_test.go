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
