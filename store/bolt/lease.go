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
// lease was taken. A sweep walks the bucket once, so its cost is O(1) per
// write amortised over the doubling, and at most one walk per sweepEvery
// otherwise; the leases kept are those of users active in the last lease
// duration plus sweepMargin plus sweepEvery. Callers' clocks only matter
// through the lease records.
type memLeases struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte
	latest  time.Time              // latest time a lease was taken or renewed
	swept   map[string]sweepRecord // per bucket: when to sweep next
}

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
	return &memLeases{buckets: map[string]map[string][]byte{}, swept: map[string]sweepRecord{}}
}

func (m *memLeases) get(bucket, k string) ([]byte, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.buckets[bucket][k]
	return v, ok
}

// keys returns the bucket's keys.
func (m *memLeases) keys(bucket string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.buckets[bucket]))
	for k := range m.buckets[bucket] {
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
			b = map[string][]byte{}
			m.buckets[name] = b
		}
		for k, v := range writes {
			if v == nil {
				delete(b, k)
				continue
			}
			b[k] = v
			if t, ok := kvstore.LeaseTaken(v); ok && t.After(m.latest) {
				m.latest = t
			}
		}
		if r := m.swept[name]; len(b) >= minSweep && (len(b) >= r.size || !m.latest.Before(r.at)) {
			m.sweep(name, b)
		}
	}
}

// sweep drops b's idle leases (see memLeases). It copies the others into a
// new map rather than deleting from b: a Go map never shrinks, so a bucket
// that once held the leases of a burst of users would keep its table.
func (m *memLeases) sweep(name string, b map[string][]byte) {
	before := m.latest.Add(-sweepMargin)
	idle := 0
	for _, v := range b {
		if kvstore.LeaseIdle(v, before) {
			idle++
		}
	}
	if idle > 0 {
		kept := make(map[string][]byte, len(b)-idle)
		for k, v := range b {
			if !kvstore.LeaseIdle(v, before) {
				kept[k] = v
			}
		}
		m.buckets[name], b = kept, kept
	}
	m.swept[name] = sweepRecord{size: 2 * len(b), at: m.latest.Add(sweepEvery)}
}

// size returns the number of leases held in bucket (for tests).
func (m *memLeases) size(bucket string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.buckets[bucket])
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
