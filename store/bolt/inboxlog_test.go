package bolt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/internal/kvstore"
	"github.com/dmflow/dmflow/store/storetest"
)

// logRecFor builds the log record of events appended at storetest.T0.
func logRecFor(t *testing.T, lsn uint64, events ...dmflow.Event) *logRec {
	t.Helper()
	recs, err := kvstore.EncodeItems(events, storetest.T0)
	if err != nil {
		t.Fatal(err)
	}
	return &logRec{lsn: lsn, events: events, recs: recs, now: storetest.T0}
}

// TestInboxLogReplay writes a segment as a killed process would leave it
// (a record already applied, records not applied yet, a torn tail) and
// checks that Open applies exactly the unapplied records once and removes
// the log.
func TestInboxLogReplay(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "r.db")
	e := func(i int) dmflow.Event { return storetest.Msg("u1", fmt.Sprint("m", i)) }
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendInbox(ctx, []dmflow.Event{e(1)}, storetest.T0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // applies LSN 1 and removes the log
		t.Fatal(err)
	}
	if names, _ := segmentNames(logDir(path)); len(names) != 0 {
		t.Fatalf("segments left after Close: %v", names)
	}
	var seg []byte
	seg = appendRecord(seg, logRecFor(t, 1, e(1)))       // applied before: must not come back
	seg = appendRecord(seg, logRecFor(t, 2, e(2), e(3))) // one call, two events
	seg = appendRecord(seg, logRecFor(t, 3, e(4)))
	torn := appendRecord(nil, logRecFor(t, 4, e(5)))
	seg = append(seg, torn[:len(torn)-3]...) // the unacknowledged batch being written
	if err := os.MkdirAll(logDir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir(path), fmt.Sprintf("%016x.log", 1)), seg, 0o600); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := db.History(ctx, storetest.Key("u1"), 10)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range h {
		keys = append(keys, it.Event.Key)
	}
	if fmt.Sprint(keys) != "[m1 m2 m3 m4]" {
		t.Fatalf("history after replay %v, want [m1 m2 m3 m4] (m1 once, the torn m5 not at all)", keys)
	}
	if names, _ := segmentNames(logDir(path)); len(names) != 0 {
		t.Fatalf("replayed segments not removed: %v", names)
	}
	// LSNs go on above the replayed ones; the replayed keys deduplicate.
	r, err := db.AppendInbox(ctx, []dmflow.Event{e(4), e(5)}, storetest.T0)
	if err != nil || r.Added != 1 || r.Duplicates != 1 {
		t.Fatalf("append after replay = %+v, %v; want m4 duplicate, m5 added", r, err)
	}
	if db.log.next != 5 {
		t.Fatalf("next LSN %d, want 5 (3 replayed, 4 appended)", db.log.next)
	}
}

// TestInboxLogDeduplicates: keys logged and not yet applied, keys in bbolt,
// and repeated keys within one batch are duplicates.
func TestInboxLogDeduplicates(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "d.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := storetest.Msg("u1", "a"), storetest.Msg("u2", "b")
	if r, err := db.AppendInbox(ctx, []dmflow.Event{a, a, b}, storetest.T0); err != nil || r.Added != 2 || r.Duplicates != 1 {
		t.Fatalf("first append %+v, %v", r, err)
	}
	if r, err := db.AppendInbox(ctx, []dmflow.Event{b, a}, storetest.T0); err != nil || r.Added != 0 || r.Duplicates != 2 {
		t.Fatalf("second append %+v, %v", r, err)
	}
	if n, err := db.InboxDepth(ctx); err != nil || n != 2 {
		t.Fatalf("depth %d, %v", n, err)
	}
	if r, err := db.AppendInbox(ctx, []dmflow.Event{b}, storetest.T0); err != nil || r.Duplicates != 1 {
		t.Fatalf("append after apply %+v, %v", r, err)
	}
}

// TestInboxLogRotates: segments rotate at the size limit and applied ones
// are deleted, so the log stays small under steady appends.
func TestInboxLogRotates(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.log.segSize = 512
	for i := range 100 {
		if _, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u", fmt.Sprint("k", i))}, storetest.T0); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.log.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if files := db.log.files(); len(files) != 1 {
		t.Fatalf("%d segments after everything was applied, want the active one only", len(files))
	}
	if n, _ := db.InboxDepth(ctx); n != 100 {
		t.Fatalf("depth %d, want 100", n)
	}
}

// TestForgetPurgesInboxLog: after Forget, no inbox log file holds the
// person's text (issue 20's guarantee extended to the log).
func TestForgetPurgesInboxLog(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "f.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const secret = "pangolin-5521-private"
	ev := storetest.Msg("u1", "m1")
	ev.Text = secret
	if _, err := db.AppendInbox(ctx, []dmflow.Event{ev, storetest.Msg("u2", "other")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !logHas(t, path, secret) {
		t.Fatal("the text is not in the log: the test proves nothing")
	}
	if _, err := db.Forget(ctx, dmflow.Forget{Key: storetest.Key("u1"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if logHas(t, path, secret) {
		t.Fatal("the forgotten text is still in an inbox log file")
	}
	if h, err := db.History(ctx, storetest.Key("u2"), 10); err != nil || len(h) != 1 {
		t.Fatalf("another person's event after forget: %v %v", h, err)
	}
}

func logHas(t *testing.T, path, s string) bool {
	t.Helper()
	names, err := segmentNames(logDir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(logDir(path), n))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(s)) {
			return true
		}
	}
	return false
}
