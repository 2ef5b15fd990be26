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
	if len(v) < 17 || v[0] != leaseV1 || t.Before(time.Unix(0, int64(binary.BigEndian.Uint64(v[1:])))) {
		return false
	}
	rest := v[17:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) < n {
		return false
	}
	rest = rest[k+int(n):]
	claims, k := binary.Uvarint(rest)
	return k > 0 && claims == 0 && len(rest) == k
}
