package kvstore

import (
	"encoding/binary"
	"time"

	"github.com/dmflow/dmflow"
)

// itemRecs encodes the records of events received at now with Seq 0, before
// the transaction that assigns the Seq (withSeq puts it in). A nil element
// means: encode in the transaction (the item has no binary form).
func itemRecs(events []dmflow.Event, now time.Time) [][]byte {
	recs := make([][]byte, len(events))
	for i := range events {
		raw, err := encRec(dmflow.InboxItem{Event: events[i], Received: now})
		if err == nil && len(raw) >= itemFixedEnd && raw[0] == recordBin {
			recs[i] = raw
		}
	}
	return recs
}

// withSeq returns rec, a binary record from itemRecs, with seq in place of
// its 0: the bytes encRec gives for the item with that Seq. rec is not
// modified (a request function may run again).
func withSeq(rec []byte, seq uint64) []byte {
	out := make([]byte, len(rec))
	copy(out, rec)
	binary.BigEndian.PutUint64(out[itemSeqAt:], seq)
	return out
}
