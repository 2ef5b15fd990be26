package kvstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/dmflow/dmflow"
)

// AppendInbox stores the events whose Key was not seen before. Keys must be
// set, as must Account and User (dmflow.ErrInvalid otherwise, and nothing is
// stored). The records are encoded before the transaction (itemRecs): a
// webhook waits for it, and so does every write queued behind it.
func (s *Store) AppendInbox(ctx context.Context, events []dmflow.Event, now time.Time) (dmflow.AppendResult, error) {
	if err := validEvents(events); err != nil {
		return dmflow.AppendResult{}, s.errf(err, "append inbox")
	}
	recs := itemRecs(events, now)
	var res dmflow.AppendResult
	err := s.update(ctx, func(tx Tx) error {
		r, err := s.appendEvents(tx, events, recs, now)
		res = r
		return err
	})
	if err != nil {
		return dmflow.AppendResult{}, s.errf(err, "append inbox")
	}
	return res, nil
}

func validEvents(events []dmflow.Event) error {
	for i := range events {
		if err := events[i].Check(); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// appendEvents stores new events in tx and counts duplicates. recs are the
// events' records from itemRecs, or nil to encode them here.
func (s *Store) appendEvents(tx Tx, events []dmflow.Event, recs [][]byte, now time.Time) (dmflow.AppendResult, error) {
	var res dmflow.AppendResult
	seen := make(map[string]bool, len(events))
	for i := range events {
		dup, err := s.isDuplicate(tx, events[i].Key, now)
		if err != nil {
			return res, err
		}
		if dup || seen[events[i].Key] {
			res.Duplicates++
			continue
		}
		seen[events[i].Key] = true
		var rec []byte
		if recs != nil {
			rec = recs[i]
		}
		if err := appendEvent(tx, &events[i], rec, now); err != nil {
			return res, err
		}
		res.Added++
	}
	return res, nil
}

// isDuplicate reports whether key belongs to a pending item or to an item
// received within the dedupe retention.
func (s *Store) isDuplicate(tx Tx, key string, now time.Time) (bool, error) {
	v := tx.Bucket(bDedupe).Get([]byte(key))
	if v == nil {
		return false, nil
	}
	if tx.Bucket(bPending).Get(v[:8]) != nil {
		return true, nil
	}
	return now.Sub(keyTime(v[8:])) < s.keep, nil
}

// appendEvent stores e as a pending item; rec is its record from itemRecs,
// or nil to encode it here.
func appendEvent(tx Tx, e *dmflow.Event, rec []byte, now time.Time) error {
	items := tx.Bucket(bItems)
	seq, err := items.NextSequence()
	if err != nil {
		return err
	}
	sk, uk := be64(seq), userKey(e.SessionKey())
	if rec != nil {
		err = items.Put(sk, withSeq(rec, seq))
	} else {
		err = putRec(items, sk, dmflow.InboxItem{Seq: seq, Event: *e, Received: now})
	}
	if err != nil {
		return err
	}
	return putAll(
		put{tx.Bucket(bPending), sk, uk},
		put{tx.Bucket(bPendAcct), pendAcctKey(uk, sk), uk},
		put{tx.Bucket(bByUser), cat(uk, sk), nil},
		put{tx.Bucket(bRecv), cat(timeKey(now), sk), nil},
		put{tx.Bucket(bDedupe), []byte(e.Key), cat(sk, timeKey(now))},
	)
}

// remember records key as a dedupe key without an inbox item (seq 0),
// received at now, unless it is remembered within the retention already.
// A pending or done item with that Key loses its dedupe entry to the
// remembered key (which deduplicates for as long), so that Remembered
// reports it: the platform's echo of a reply may reach the inbox before
// the reply is acknowledged.
func (s *Store) remember(tx Tx, key string, now time.Time) error {
	if key == "" {
		return nil
	}
	if s.isRemembered(tx, key, now) {
		return nil
	}
	dd := tx.Bucket(bDedupe)
	return putAll(
		put{dd, []byte(key), cat(be64(0), timeKey(now))},
		put{tx.Bucket(bRemember), cat(timeKey(now), []byte(key)), nil},
	)
}

// isRemembered reports whether key was remembered (seq 0) within the
// dedupe retention before now.
func (s *Store) isRemembered(tx Tx, key string, now time.Time) bool {
	v := tx.Bucket(bDedupe).Get([]byte(key))
	return len(v) == 16 && u64(v[:8]) == 0 && now.Sub(keyTime(v[8:])) < s.keep
}

// Remembered reports whether AckOutbox remembered key within the dedupe
// retention before now.
func (s *Store) Remembered(ctx context.Context, key string, now time.Time) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx Tx) error {
		ok = s.isRemembered(tx, key, now)
		return nil
	})
	return ok, s.errf(err, "remembered %q", key)
}

type put struct {
	b    Bucket
	k, v []byte
}

func putAll(ps ...put) error {
	for _, p := range ps {
		v := p.v
		if v == nil {
			v = []byte{}
		}
		if err := p.b.Put(p.k, v); err != nil {
			return err
		}
	}
	return nil
}

// ClaimInbox leases pending items of free users to c.Owner, in Seq order.
func (s *Store) ClaimInbox(ctx context.Context, c dmflow.Claim) ([]dmflow.InboxItem, error) {
	return claim(ctx, s, c, "inbox", claimInbox)
}

// claim validates c and runs fn in a write transaction.
func claim[T any](ctx context.Context, s *Store, c dmflow.Claim, what string, fn func(Tx, dmflow.Claim) ([]T, error)) ([]T, error) {
	if c.Max < 1 || c.Owner == "" {
		return nil, s.errf(invalid("claim needs an owner and max >= 1"), "claim %s", what)
	}
	var out []T
	err := s.update(ctx, func(tx Tx) error {
		items, err := fn(tx, c)
		out = items
		return err
	})
	return out, s.errf(err, "claim %s", what)
}

func claimInbox(tx Tx, c dmflow.Claim) ([]dmflow.InboxItem, error) {
	if err := ensurePendAcct(tx); err != nil {
		return nil, err
	}
	ls := newLeases(tx.Bucket(bInLease))
	picked, err := pickFair(tx, ls, c)
	if err != nil {
		return nil, err
	}
	seqs := make([][]byte, len(picked))
	for i, p := range picked {
		ls.take(p.uk, c.Owner, c.Now, c.Lease, u64(p.sk))
		seqs[i] = p.sk
	}
	if err := ls.flush(); err != nil {
		return nil, err
	}
	return bumpItems(tx.Bucket(bItems), seqs)
}

// bumpItems increments the attempt counter of the inbox items at keys and
// returns them. A binary record gets its counter patched in place (no
// re-encoding); a JSON one is decoded and written again.
func bumpItems(b Bucket, keys [][]byte) ([]dmflow.InboxItem, error) {
	out := make([]dmflow.InboxItem, len(keys))
	for i, k := range keys {
		raw := b.Get(k)
		if len(raw) < itemFixedEnd || raw[0] != recordBin {
			if _, err := getRec(b, k, &out[i]); err != nil {
				return nil, err
			}
			out[i].Attempts++
			if err := putRec(b, k, out[i]); err != nil {
				return nil, err
			}
			continue
		}
		n := binary.BigEndian.Uint32(raw[itemAttemptsAt:])
		if n == math.MaxUint32 {
			return nil, fmt.Errorf("key %x: attempts overflow: %w", k, dmflow.ErrCorrupt)
		}
		rec := bytes.Clone(raw)
		binary.BigEndian.PutUint32(rec[itemAttemptsAt:], n+1)
		if err := decRec(rec, &out[i]); err != nil {
			return nil, fmt.Errorf("key %x: %w", k, err)
		}
		if err := b.Put(k, rec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pickLeased scans b and returns copies of up to max keys for which pick
// returns true; pick sees the lease stored under leaseKey(k, v).
func pickLeased(b Bucket, ls *leases, max int, leaseKey func(k, v []byte) []byte, pick func(k, lk []byte, l *lease) bool) ([][]byte, error) {
	var keys [][]byte
	var lerr error
	err := b.Scan(nil, func(k, v []byte) bool {
		lk := leaseKey(k, v)
		l, err := ls.get(lk)
		if lerr = err; err != nil {
			return false
		}
		if pick(k, lk, l) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return len(keys) < max
	})
	if err == nil {
		err = lerr
	}
	return keys, err
}

// bump increments the attempt counter of the records at keys and returns
// them.
func bump[T any](b Bucket, keys [][]byte, attempts func(*T) *int) ([]T, error) {
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		var r T
		if _, err := getRec(b, k, &r); err != nil {
			return nil, err
		}
		*attempts(&r)++
		if err := putRec(b, k, r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ReleaseInbox gives up the owner's leases on keys (all when empty).
func (s *Store) ReleaseInbox(ctx context.Context, owner string, keys ...dmflow.SessionKey) error {
	err := s.update(ctx, func(tx Tx) error {
		return release(tx.Bucket(bInLease), owner, userKeys(keys))
	})
	return s.errf(err, "release inbox of %s", owner)
}

// RenewInbox extends the owner's live inbox leases on keys.
func (s *Store) RenewInbox(ctx context.Context, owner string, now time.Time, keys ...dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	var lost []dmflow.SessionKey
	err := s.update(ctx, func(tx Tx) error {
		var err error
		lost, err = renewAll(tx.Bucket(bInLease), owner, now, keys)
		return err
	})
	return lost, s.errf(err, "renew inbox leases of %s", owner)
}

func userKeys(keys []dmflow.SessionKey) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = userKey(k)
	}
	return out
}

// InboxDepth returns how many items are not done yet.
func (s *Store) InboxDepth(ctx context.Context) (int, error) {
	if err := s.syncInbox(ctx); err != nil {
		return 0, s.errf(err, "inbox depth")
	}
	var n int
	err := s.view(ctx, func(tx Tx) error {
		n = tx.Bucket(bPending).Len()
		return nil
	})
	return n, s.errf(err, "inbox depth")
}

// History returns the user's newest limit retained items, oldest first.
func (s *Store) History(ctx context.Context, key dmflow.SessionKey, limit int) ([]dmflow.InboxItem, error) {
	limit = limitOr(limit)
	if err := s.syncInbox(ctx); err != nil {
		return nil, s.errf(err, "history of %s", key)
	}
	var out []dmflow.InboxItem
	err := s.view(ctx, func(tx Tx) error {
		uk := userKey(key)
		keys, err := scanKeys(tx.Bucket(bByUser), uk, 0, hasPrefix(uk))
		if err != nil {
			return err
		}
		if len(keys) > limit {
			keys = keys[len(keys)-limit:]
		}
		out, err = loadItems(tx.Bucket(bItems), keys, len(uk))
		return err
	})
	return out, s.errf(err, "history of %s", key)
}

func hasPrefix(p []byte) func([]byte) bool {
	return func(k []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }
}

// loadItems decodes the items whose seq follows skip bytes of each key.
func loadItems(items Bucket, keys [][]byte, skip int) ([]dmflow.InboxItem, error) {
	out := make([]dmflow.InboxItem, 0, len(keys))
	for _, k := range keys {
		var it dmflow.InboxItem
		ok, err := getRec(items, k[skip:], &it)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// FailedInbox lists failed items, oldest first.
func (s *Store) FailedInbox(ctx context.Context, limit int) ([]dmflow.FailedItem, error) {
	var out []dmflow.FailedItem
	err := s.view(ctx, func(tx Tx) error {
		var err error
		out, err = scanRecs[dmflow.FailedItem](tx.Bucket(bFailed), limitOr(limit))
		return err
	})
	return out, s.errf(err, "failed inbox")
}

// scanRecs decodes the first max records of b.
func scanRecs[T any](b Bucket, max int) ([]T, error) {
	var out []T
	var derr error
	err := b.Scan(nil, func(k, v []byte) bool {
		var r T
		if derr = decRec(v, &r); derr != nil {
			return false
		}
		out = append(out, r)
		return len(out) < max
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// PruneInbox forgets done items (and their dedupe keys) received before.
func (s *Store) PruneInbox(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.update(ctx, func(tx Tx) error {
		var err error
		n, err = prune(tx, before)
		return err
	})
	return n, s.errf(err, "prune inbox")
}

func prune(tx Tx, before time.Time) (int, error) {
	end := timeKey(before)
	keys, err := scanKeys(tx.Bucket(bRecv), nil, 0, func(k []byte) bool { return string(k[:8]) < string(end) })
	if err != nil {
		return 0, err
	}
	n, err := pruneRemembered(tx, end)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		sk := k[8:]
		if tx.Bucket(bPending).Get(sk) != nil {
			continue
		}
		if err := forget(tx, k, sk); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// pruneRemembered forgets the keys remembered before end (a timeKey).
func pruneRemembered(tx Tx, end []byte) (int, error) {
	idx, dd := tx.Bucket(bRemember), tx.Bucket(bDedupe)
	keys, err := scanKeys(idx, nil, 0, func(k []byte) bool { return string(k[:8]) < string(end) })
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		v := dd.Get(k[8:])
		if v != nil && u64(v[:8]) == 0 && string(v[8:]) == string(k[:8]) {
			if err := dd.Delete(k[8:]); err != nil {
				return 0, err
			}
		}
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// forget deletes a done item, its indexes and its dedupe key.
func forget(tx Tx, recvKey, sk []byte) error {
	var it dmflow.InboxItem
	if _, err := getRec(tx.Bucket(bItems), sk, &it); err != nil {
		return err
	}
	dd := tx.Bucket(bDedupe)
	if v := dd.Get([]byte(it.Event.Key)); v != nil && string(v[:8]) == string(sk) {
		if err := dd.Delete([]byte(it.Event.Key)); err != nil {
			return err
		}
	}
	return deleteAll(
		del{tx.Bucket(bItems), sk},
		del{tx.Bucket(bByUser), cat(userKey(it.Event.SessionKey()), sk)},
		del{tx.Bucket(bRecv), recvKey},
	)
}

type del struct {
	b Bucket
	k []byte
}

func deleteAll(ds ...del) error {
	for _, d := range ds {
		if err := d.b.Delete(d.k); err != nil {
			return err
		}
	}
	return nil
}
