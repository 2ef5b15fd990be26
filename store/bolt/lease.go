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
// maps would grow with every user ever seen; apply sweeps a bucket when it
// doubled since its last sweep (amortised O(1) per write), deleting leases
// idle (expired, nothing claimed) for sweepMargin before the latest time a
// lease was taken. Callers' clocks only matter through the lease records.
type memLeases struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte
	latest  time.Time      // latest time a lease was taken or renewed
	sweepAt map[string]int // bucket size that triggers its next sweep
}

// Sweep parameters: a bucket is swept from minSweep leases on, and a lease
// idle for sweepMargin before the latest taken time is deleted (the margin
// absorbs callers whose clocks lag the latest one).
const (
	minSweep    = 4096
	sweepMargin = time.Minute
)

func newMemLeases() *memLeases {
	return &memLeases{buckets: map[string]map[string][]byte{}, sweepAt: map[string]int{}}
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
		if len(b) >= max(minSweep, m.sweepAt[name]) {
			m.sweep(name, b)
		}
	}
}

// sweep deletes b's idle leases (see memLeases).
func (m *memLeases) sweep(name string, b map[string][]byte) {
	before := m.latest.Add(-sweepMargin)
	for k, v := range b {
		if kvstore.LeaseIdle(v, before) {
			delete(b, k)
		}
	}
	m.sweepAt[name] = 2 * len(b)
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
