package kvstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// TestWithSeq checks that a record encoded before the transaction, with its
// Seq put in, is byte for byte the record encRec gives for the item.
func TestWithSeq(t *testing.T) {
	now := time.Date(2026, 11, 25, 21, 0, 0, 123456789, time.UTC)
	events := []dmflow.Event{
		{Key: "m1", Account: "a", User: "u", Kind: "message", Text: "hi"},
		{Key: "m2", Account: "a", User: "u", Kind: "message", Text: "<b>&\"é</b>\n", Payload: "P"},
		{Key: "m3", Account: "a", User: "u2"},
	}
	recs := itemRecs(events, now)
	for i, seq := range []uint64{1, 10, 1 << 40} {
		t.Run(events[i].Key, func(t *testing.T) {
			if recs[i] == nil {
				t.Fatal("not pre-encoded")
			}
			want, err := encRec(dmflow.InboxItem{Seq: seq, Event: events[i], Received: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := withSeq(recs[i], seq); !bytes.Equal(got, want) {
				t.Fatalf("withSeq = %q, want %q", got, want)
			}
			var it dmflow.InboxItem
			if err := decRec(withSeq(recs[i], seq), &it); err != nil || it.Seq != seq {
				t.Fatalf("decoded seq %d, err %v; want %d", it.Seq, err, seq)
			}
		})
	}
	// An event without a binary form is left to the transaction.
	bad := itemRecs([]dmflow.Event{{Key: "m4", Account: "a", User: "u", Text: "\xff"}}, now)
	if bad[0] != nil {
		t.Fatalf("invalid UTF-8 pre-encoded in binary: %q", bad[0])
	}
}
