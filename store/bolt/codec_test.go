package bolt_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

// TestJSONRecordsStillOpen: a data file written before the binary record
// codec holds JSON records (dmflow.MarshalRecord). The test stores an inbox
// item, a session and an outbox item, rewrites their records as JSON (as an
// older dmflow wrote them), and checks that the store reads them, claims
// and commits over them, and writes its new records in binary.
func TestJSONRecordsStillOpen(t *testing.T) {
	ctx, path := context.Background(), filepath.Join(t.TempDir(), "old.db")
	k := storetest.Key("u1")
	db := open(t, path, nil)
	ev := storetest.Msg("u1", "hello")
	if _, err := db.AppendInbox(ctx, []dmflow.Event{ev}, storetest.T0); err != nil {
		t.Fatal(err)
	}
	sess := &dmflow.Session{Key: k, Flow: "f", State: "s", Vars: map[string]any{"n": 1, "l": []any{"x", 0.5}}}
	reply := dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: k.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}}
	if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: sess, Outbox: []dmflow.Outgoing{reply}, Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetSession(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(ctx, k, 10)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %v, %v", hist, err)
	}
	out, err := db.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "A", Max: 10, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(out) != 1 {
		t.Fatalf("outbox %v, %v", out, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Rewrite the three records as JSON.
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bbolt.Tx) error {
		for bucket, v := range map[string]any{"inbox.items": hist[0], "sessions": stored, "outbox.items/dm": out[0]} {
			b := tx.Bucket([]byte(bucket))
			key, old := b.Cursor().First()
			if len(old) == 0 || old[0] != 2 {
				t.Errorf("%s: record %q is not binary", bucket, old)
			}
			raw, err := dmflow.MarshalRecord(v)
			if err != nil {
				return err
			}
			if err := b.Put(append([]byte(nil), key...), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	db = open(t, path, nil)
	got, err := db.GetSession(ctx, k)
	if err != nil || !reflect.DeepEqual(got, stored) {
		t.Fatalf("session from a JSON record: %#v, %v; want %#v", got, err, stored)
	}
	if h, err := db.History(ctx, k, 10); err != nil || !reflect.DeepEqual(h, hist) {
		t.Fatalf("history from a JSON record: %#v, %v; want %#v", h, err, hist)
	}
	o, err := db.ClaimOutbox(ctx, dmflow.QueueDM, dmflow.Claim{Owner: "B", Max: 10, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(o) != 1 || !reflect.DeepEqual(o[0], out[0]) {
		t.Fatalf("outbox from a JSON record: %#v, %v; want %#v", o, err, out)
	}
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "B", Max: 1, Lease: time.Hour, Now: storetest.T0})
	if err != nil || len(items) != 1 || items[0].Attempts != 1 || !reflect.DeepEqual(items[0].Event, ev) {
		t.Fatalf("claimed from a JSON record: %#v, %v", items, err)
	}
	next := got.Clone()
	next.State = "t"
	if err := db.Commit(ctx, dmflow.Commit{Key: k, Owner: "B", Seq: items[0].Seq, Session: next, Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.GetSession(ctx, k); err != nil || s.State != "t" || s.Version != stored.Version+1 {
		t.Fatalf("after commit over a JSON record: %+v, %v", s, err)
	}
}
