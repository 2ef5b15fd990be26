package kvstore

import (
	"bytes"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
)

// seqZero is how a record of an InboxItem with Seq 0 begins (version byte,
// `{"seq":0,`), nil if the codec does not start it so: then itemRecs leaves
// the encoding to the transaction.
var seqZero = func() []byte {
	raw, err := dmflow.MarshalRecord(dmflow.InboxItem{})
	const field = `"seq":0,`
	i := bytes.Index(raw, []byte(field))
	if err != nil || i < 0 || i > 2 {
		return nil
	}
	return raw[:i+len(field)]
}()

// itemRecs encodes the records of events received at now with Seq 0, before
// the transaction that assigns the Seq (withSeq splices it in). A nil
// result (or element) means: encode in the transaction.
func itemRecs(events []dmflow.Event, now time.Time) [][]byte {
	if seqZero == nil {
		return nil
	}
	recs := make([][]byte, len(events))
	for i := range events {
		raw, err := dmflow.MarshalRecord(dmflow.InboxItem{Event: events[i], Received: now})
		if err == nil && bytes.HasPrefix(raw, seqZero) {
			recs[i] = raw
		}
	}
	return recs
}

// withSeq returns rec, a record from itemRecs, with seq in place of its 0:
// the bytes MarshalRecord gives for the item with that Seq.
func withSeq(rec []byte, seq uint64) []byte {
	at := len(seqZero) - len("0,")
	out := make([]byte, 0, len(rec)+20)
	out = append(out, rec[:at]...)
	out = strconv.AppendUint(out, seq, 10)
	return append(out, rec[at+1:]...)
}
