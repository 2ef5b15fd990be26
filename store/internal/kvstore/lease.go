package kvstore

import (
	"slices"
	"time"
)

// lease is a claim of one user (or one action call) by one owner.
type lease struct {
	Owner   string        `json:"o"`
	Until   time.Time     `json:"u"`
	Dur     time.Duration `json:"d,omitempty"`
	Claimed []uint64      `json:"c,omitempty"` // items handed to Owner and not finished
}

// free reports whether owner may take the lease at now.
func (l *lease) free(owner string, now time.Time) bool {
	return l == nil || l.Owner == owner || !now.Before(l.Until)
}

// heldBy reports whether owner holds a live lease at now.
func (l *lease) heldBy(owner string, now time.Time) bool {
	return l != nil && l.Owner == owner && now.Before(l.Until)
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
	var l lease
	ok, err := getRec(ls.b, k, &l)
	if err != nil || !ok {
		ls.m[string(k)] = nil
		return nil, err
	}
	ls.m[string(k)] = &l
	return &l, nil
}

// take leases k to owner until now+dur (keeping the claims when owner
// already had it) and records seq as claimed.
func (ls *leases) take(k []byte, owner string, now time.Time, dur time.Duration, seq uint64) {
	l := ls.m[string(k)]
	if l == nil || l.Owner != owner {
		l = &lease{Owner: owner}
		ls.m[string(k)] = l
	}
	l.Until, l.Dur = now.Add(dur), dur
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
			err = putRec(ls.b, []byte(k), l)
		}
		if err != nil {
			return err
		}
	}
	return nil
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
