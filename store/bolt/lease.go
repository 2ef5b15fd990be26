package bolt

import (
	"slices"
	"sync"
	"time"

	"github.com/dmflow/dmflow/store/internal/kvstore"
)

// memLeases holds the lease buckets in memory. bbolt's file lock makes a
// DB the only process using the file, and a restart drops every lease
// anyway, so leases need no durability; keeping them out of the file saves
// a scattered page write per claim, commit and ack. Writes go to a
// per-transaction overlay that is applied only after bbolt committed, so a
// rolled-back transaction leaves the leases as they were.
//
// Leases stay after their user's work is done (until taken again), so the
// maps would grow with every user ever seen; apply sweeps a bucket of at
// least minSweep leases when it doubled since its last sweep or when
// sweepEvery passed (on the callers' clock) since then, deleting leases
// idle (expired, nothing claimed) for sweepMargin before the latest time a
// lease was taken. A sweep walks the bucket twice, so its cost is O(1) per
// write amortised over the doubling, and at most one walk per sweepEvery
// otherwise; the leases kept are those of users active in the last lease
// duration plus sweepMargin plus sweepEvery. Callers' clocks only matter
// through the lease records.
//
// Most leases hold nothing claimed (a commit or acknowledgement renews its
// user's lease and drops the item from it), so a bucket keeps those as a
// fixed-size record with the owner interned (no allocation per lease, 24
// bytes in the map) and renders them on get; leases with claims keep their
// encoded bytes.
type memLeases struct {
	mu      sync.RWMutex
	buckets map[string]*memBucket
	latest  time.Time              // latest time a lease was taken or renewed
	swept   map[string]sweepRecord // per bucket: when to sweep next
	owners  []string               // interned owners of short leases
	ownerID map[string]uint32
}

// memBucket is one lease bucket: every key is in at most one of the maps.
type memBucket struct {
	short map[string]shortLease // leases with nothing claimed
	long  map[string][]byte     // other leases, encoded
}

// shortLease is a lease with nothing claimed (see kvstore.SplitLease).
type shortLease struct {
	until, dur int64  // Unix ns, ns
	owner      uint32 // index in memLeases.owners
}

func (b *memBucket) len() int { return len(b.short) + len(b.long) }

// maxOwners bounds the interned owners; leases of further owners are kept
// encoded.
const maxOwners = 1 << 16

// sweepRecord says when a bucket is swept next: once it holds size leases,
// or once the latest taken time passed at.
type sweepRecord struct {
	size int
	at   time.Time
}

// Sweep parameters: a bucket is swept from minSweep leases on, at least
// every sweepEvery, and a lease idle for sweepMargin before the latest
// taken time is deleted. Deleting an idle lease changes nothing for a
// caller whose clock is at or after its expiry (see kvstore.LeaseIdle);
// the margin absorbs callers whose clocks lag the latest one, e.g. a
// request that took its time before waiting for the group commit.
const (
	minSweep    = 4096
	sweepEvery  = 2 * time.Second
	sweepMargin = 5 * time.Second
)

func newMemLeases() *memLeases {
	return &memLeases{buckets: map[string]*memBucket{}, swept: map[string]sweepRecord{}, ownerID: map[string]uint32{}}
}

func (m *memLeases) get(bucket, k string) ([]byte, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.buckets[bucket]
	if b == nil {
		return nil, false
	}
	if v, ok := b.long[k]; ok {
		return v, true
	}
	if l, ok := b.short[k]; ok {
		return kvstore.AppendLease(nil, l.until, l.dur, m.owners[l.owner]), true
	}
	return nil, false
}

// keys returns the bucket's keys.
func (m *memLeases) keys(bucket string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.buckets[bucket]
	if b == nil {
		return nil
	}
	out := make([]string, 0, b.len())
	for k := range b.short {
		out = append(out, k)
	}
	for k := range b.long {
		out = append(out, k)
	}
	return out
}

// apply makes a committed transaction's lease writes visible.
func (m *memLeases) apply(overlay map[string]map[string][]byte) {
	if len(overlay) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, writes := range overlay {
		b := m.buckets[name]
		if b == nil {
			b = &memBucket{short: map[string]shortLease{}, long: map[string][]byte{}}
			m.buckets[name] = b
		}
		for k, v := range writes {
			m.set(b, k, v)
		}
		if r := m.swept[name]; b.len() >= minSweep && (b.len() >= r.size || !m.latest.Before(r.at)) {
			m.sweep(name, b)
		}
	}
}

// set puts v (nil: deletes) at k in b.
func (m *memLeases) set(b *memBucket, k string, v []byte) {
	if v == nil {
		delete(b.short, k)
		delete(b.long, k)
		return
	}
	if t, ok := kvstore.LeaseTaken(v); ok && t.After(m.latest) {
		m.latest = t
	}
	if until, dur, owner, ok := kvstore.SplitLease(v); ok {
		if id, ok := m.intern(owner); ok {
			b.short[k] = shortLease{until: until, dur: dur, owner: id}
			delete(b.long, k)
			return
		}
	}
	b.long[k] = v
	delete(b.short, k)
}

// intern returns owner's index in m.owners, adding it if there is room.
func (m *memLeases) intern(owner []byte) (uint32, bool) {
	if id, ok := m.ownerID[string(owner)]; ok {
		return id, true
	}
	if len(m.owners) >= maxOwners {
		return 0, false
	}
	id := uint32(len(m.owners))
	m.owners = append(m.owners, string(owner))
	m.ownerID[string(owner)] = id
	return id, true
}

// sweep drops b's idle leases (see memLeases). It copies the others into
// new maps rather than deleting from b's: a Go map never shrinks, so a
// bucket that once held the leases of a burst of users would keep its
// table.
func (m *memLeases) sweep(name string, b *memBucket) {
	before := m.latest.Add(-sweepMargin)
	idleShort := func(l shortLease) bool { return !before.Before(time.Unix(0, l.until)) }
	if n := countFunc(b.short, idleShort); n > 0 {
		kept := make(map[string]shortLease, len(b.short)-n)
		for k, l := range b.short {
			if !idleShort(l) {
				kept[k] = l
			}
		}
		b.short = kept
	}
	idleLong := func(v []byte) bool { return kvstore.LeaseIdle(v, before) }
	if n := countFunc(b.long, idleLong); n > 0 {
		kept := make(map[string][]byte, len(b.long)-n)
		for k, v := range b.long {
			if !idleLong(v) {
				kept[k] = v
			}
		}
		b.long = kept
	}
	m.swept[name] = sweepRecord{size: 2 * b.len(), at: m.latest.Add(sweepEvery)}
}

func countFunc[V any](m map[string]V, f func(V) bool) int {
	n := 0
	for _, v := range m {
		if f(v) {
			n++
		}
	}
	return n
}

// size returns the number of leases held in bucket (for tests).
func (m *memLeases) size(bucket string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if b := m.buckets[bucket]; b != nil {
		return b.len()
	}
	return 0
}

// leaseBucket is a lease bucket as one transaction sees it: the shared
// leases plus the transaction's own writes (nil value: deleted).
type leaseBucket struct {
	tx       *tx
	name     string
	writes   map[string][]byte
	readOnly bool
}

func (b *leaseBucket) Get(k []byte) []byte {
	if v, ok := b.writes[string(k)]; ok {
		return v
	}
	v, _ := b.tx.leases.get(b.name, string(k))
	return v
}

func (b *leaseBucket) Put(k, v []byte) error { return b.set(k, slices.Clone(v)) }

func (b *leaseBucket) Delete(k []byte) error { return b.set(k, nil) }

func (b *leaseBucket) set(k, v []byte) error {
	if b.readOnly {
		return errReadOnly
	}
	b.tx.dirty = true
	if b.writes == nil {
		b.writes = map[string][]byte{}
	}
	b.writes[string(k)] = v
	b.tx.leaseWrites[b.name] = b.writes
	return nil
}

// Scan visits the merged keys in order (leases are few: one per user in
// flight).
func (b *leaseBucket) Scan(from []byte, fn func(k, v []byte) bool) error {
	keys := b.tx.leases.keys(b.name)
	for k := range b.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		if k < string(from) {
			continue
		}
		if v := b.Get([]byte(k)); v != nil && !fn([]byte(k), v) {
			break
		}
	}
	return nil
}

func (b *leaseBucket) Len() int {
	n := 0
	b.Scan(nil, func(_, _ []byte) bool { n++; return true })
	return n
}

func (b *leaseBucket) NextSequence() (uint64, error) {
	return 0, errReadOnly // lease buckets have no sequence
}

var _ kvstore.Bucket = (*leaseBucket)(nil)
