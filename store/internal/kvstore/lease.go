package kvstore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/dmflow/dmflow"
)

// lease is a claim of one user (or one action call) by one owner.
type lease struct {
	Owner   string
	Until   time.Time
	Dur     time.Duration
	Claimed []uint64 // items handed to Owner and not finished
}

// free reports whether owner may take the lease at now.
func (l *lease) free(owner string, now time.Time) bool {
	return l == nil || l.Owner == owner || !now.Before(l.Until)
}

// heldBy reports whether owner holds a live lease at now.
func (l *lease) heldBy(owner string, now time.Time) bool {
	return l != nil && l.Owner == owner && now.Before(l.Until)
}

// renew extends owner's live lease by its duration from now and reports
// whether owner held it.
func (l *lease) renew(owner string, now time.Time) bool {
	if !l.heldBy(owner, now) {
		return false
	}
	l.extend(now)
	return true
}

// extend moves the lease's end to now plus its duration, unless it ends
// later already: a commit or acknowledgement whose now was taken before a
// long step or send must not shorten a lease renewed meanwhile.
func (l *lease) extend(now time.Time) {
	if until := now.Add(l.Dur); until.After(l.Until) {
		l.Until = until
	}
}

func (l *lease) has(seq uint64) bool { return l != nil && slices.Contains(l.Claimed, seq) }

func (l *lease) drop(seq uint64) {
	l.Claimed = slices.DeleteFunc(l.Claimed, func(s uint64) bool { return s == seq })
}

// leases caches the lease records of one bucket during a transaction.
type leases struct {
	b     Bucket
	m     map[string]*lease
	dirty map[string]bool
}

func newLeases(b Bucket) *leases {
	return &leases{b: b, m: map[string]*lease{}, dirty: map[string]bool{}}
}

// get returns the lease of k, or nil.
func (ls *leases) get(k []byte) (*lease, error) {
	if l, ok := ls.m[string(k)]; ok {
		return l, nil
	}
	raw := ls.b.Get(k)
	if raw == nil {
		ls.m[string(k)] = nil
		return nil, nil
	}
	l, err := decodeLease(raw)
	if err != nil {
		return nil, fmt.Errorf("lease %x: %w", k, err)
	}
	ls.m[string(k)] = l
	return l, nil
}

// take leases k to owner until now+dur (keeping the claims when owner
// already had it) and records seq as claimed.
func (ls *leases) take(k []byte, owner string, now time.Time, dur time.Duration, seq uint64) {
	l := ls.m[string(k)]
	if l == nil || l.Owner != owner {
		l = &lease{Owner: owner}
		ls.m[string(k)] = l
	}
	l.Dur = dur
	l.extend(now)
	if seq != 0 && !l.has(seq) {
		l.Claimed = append(l.Claimed, seq)
	}
	ls.dirty[string(k)] = true
}

// put marks a lease changed by the caller.
func (ls *leases) put(k []byte) { ls.dirty[string(k)] = true }

// flush writes the changed leases.
func (ls *leases) flush() error {
	for k := range ls.dirty {
		var err error
		if l := ls.m[k]; l == nil {
			err = ls.b.Delete([]byte(k))
		} else {
			err = ls.b.Put([]byte(k), l.encode())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// renewAll renews owner's live leases on keys in b and returns the keys
// whose lease owner does not hold.
func renewAll(b Bucket, owner string, now time.Time, keys []dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	ls := newLeases(b)
	var lost []dmflow.SessionKey
	for _, k := range keys {
		uk := userKey(k)
		l, err := ls.get(uk)
		if err != nil {
			return nil, err
		}
		if !l.renew(owner, now) {
			lost = append(lost, k)
			continue
		}
		ls.put(uk)
	}
	return lost, ls.flush()
}

// release deletes the owner's leases on keys (all when keys is empty).
func release(b Bucket, owner string, keys [][]byte) error {
	if len(keys) == 0 {
		all, err := scanKeys(b, nil, 0, nil)
		if err != nil {
			return err
		}
		keys = all
	}
	ls := newLeases(b)
	for _, k := range keys {
		l, err := ls.get(k)
		if err != nil {
			return err
		}
		if l != nil && l.Owner == owner {
			ls.m[string(k)] = nil
			ls.put(k)
		}
	}
	return ls.flush()
}

// leaseV1 starts a binary lease record. Leases are read and written on
// every claim and commit, so they skip the JSON record codec; they never
// outlive a process of a single-process backend (dropped on open), so the
// format is free to change.
const leaseV1 = 0x4c

// encode renders l as leaseV1, until and dur (8 bytes each, big-endian),
// the owner's length and bytes, the claim count and the claimed seqs.
func (l *lease) encode() []byte {
	b := make([]byte, 0, 1+16+2*binary.MaxVarintLen64+len(l.Owner)+8*len(l.Claimed))
	b = appendLeaseHead(b, l.Until.UnixNano(), int64(l.Dur), l.Owner)
	b = binary.AppendUvarint(b, uint64(len(l.Claimed)))
	for _, s := range l.Claimed {
		b = binary.BigEndian.AppendUint64(b, s)
	}
	return b
}

var errBadLease = fmt.Errorf("bad lease record: %w", dmflow.ErrCorrupt)

// appendLeaseHead appends a lease record's head (leaseV1, until, dur,
// owner) to b; the claim count and the claims follow it.
func appendLeaseHead(b []byte, until, dur int64, owner string) []byte {
	b = append(b, leaseV1)
	b = binary.BigEndian.AppendUint64(b, uint64(until))
	b = binary.BigEndian.AppendUint64(b, uint64(dur))
	b = binary.AppendUvarint(b, uint64(len(owner)))
	return append(b, owner...)
}

// leaseHead splits the encoded lease v into its head (see appendLeaseHead;
// owner is a subslice of v) and the rest: the claim count and the claims.
func leaseHead(v []byte) (until, dur int64, owner, rest []byte, ok bool) {
	if len(v) < 17 || v[0] != leaseV1 {
		return 0, 0, nil, nil, false
	}
	rest = v[17:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || uint64(len(rest)-k) < n {
		return 0, 0, nil, nil, false
	}
	return int64(binary.BigEndian.Uint64(v[1:])), int64(binary.BigEndian.Uint64(v[9:])), rest[k : k+int(n)], rest[k+int(n):], true
}

func decodeLease(b []byte) (*lease, error) {
	until, dur, owner, b, ok := leaseHead(b)
	if !ok {
		return nil, errBadLease
	}
	l := &lease{Until: time.Unix(0, until), Dur: time.Duration(dur), Owner: string(owner)}
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != 8*n {
		return nil, errBadLease
	}
	b = b[k:]
	if n > 0 {
		l.Claimed = make([]uint64, n)
		for i := range l.Claimed {
			l.Claimed[i] = binary.BigEndian.Uint64(b[8*i:])
		}
	}
	return l, nil
}
