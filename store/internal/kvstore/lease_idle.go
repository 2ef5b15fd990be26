package kvstore

import (
	"encoding/binary"
	"time"
)

// LeaseTaken returns when the encoded lease v was taken or last renewed
// (its expiry minus its duration: the caller's clock at that moment).
func LeaseTaken(v []byte) (time.Time, bool) {
	if len(v) < 17 || v[0] != leaseV1 {
		return time.Time{}, false
	}
	until := int64(binary.BigEndian.Uint64(v[1:]))
	return time.Unix(0, until-int64(binary.BigEndian.Uint64(v[9:]))), true
}

// LeaseIdle reports whether the encoded lease v expired at or before t and
// holds no claimed items. Deleting such a lease changes nothing: a missing
// lease and an expired one are both free for any owner, and neither is
// held or has claims.
// It reads the record in place (a sweep calls it for every lease held).
func LeaseIdle(v []byte, t time.Time) bool {
	until, _, _, ok := SplitLease(v)
	return ok && !t.Before(time.Unix(0, until))
}

// SplitLease returns the parts of the encoded lease v when it holds no
// claimed items: its expiry (Unix ns), its duration and its owner (a
// subslice of v). AppendLease(nil, until, dur, owner) renders v again, byte
// for byte. ok is false for a lease with claims or a bad record.
func SplitLease(v []byte) (until, dur int64, owner []byte, ok bool) {
	until, dur, owner, rest, ok := leaseHead(v)
	if !ok || len(rest) != 1 || rest[0] != 0 { // the claim count, 0, as one varint byte
		return 0, 0, nil, false
	}
	return until, dur, owner, true
}

// AppendLease appends the encoded lease of owner until until (Unix ns) for
// dur, with nothing claimed, to b.
func AppendLease(b []byte, until, dur int64, owner string) []byte {
	return append(appendLeaseHead(b, until, dur, owner), 0)
}
