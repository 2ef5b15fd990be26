package kvstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

// enqueue appends it to its queue with a new Seq.
func enqueue(tx Tx, it dmflow.OutboxItem) error {
	idx := tx.Bucket(bOutIdx)
	seq, err := idx.NextSequence()
	if err != nil {
		return err
	}
	it.Seq = seq
	sk, uk := be64(seq), userKey(it.Key)
	if err := putRec(tx.Bucket(bOutItems+it.Queue), sk, it); err != nil {
		return err
	}
	return putAll(
		put{tx.Bucket(bOutQueue + it.Queue), sk, uk},
		put{tx.Bucket(bOutAcct + it.Queue), pendAcctKey(uk, sk), uk},
		put{idx, sk, cat([]byte(it.Queue+"\x00"), uk)},
	)
}

// outRef locates an outbox item.
type outRef struct {
	seq   []byte
	queue string
	uk    []byte
}

func findOut(tx Tx, seq uint64) (outRef, bool) {
	v := tx.Bucket(bOutIdx).Get(be64(seq))
	if v == nil {
		return outRef{}, false
	}
	i := 0
	for i < len(v) && v[i] != 0 {
		i++
	}
	return outRef{seq: be64(seq), queue: string(v[:i]), uk: append([]byte(nil), v[i+1:]...)}, true
}

// ClaimOutbox leases due items of one queue to c.Owner, FIFO per user,
// shared between accounts round-robin (see outfair.go).
func (s *Store) ClaimOutbox(ctx context.Context, queue string, c dmflow.Claim) ([]dmflow.OutboxItem, error) {
	return claim(ctx, s, c, "outbox "+queue, func(tx Tx, c dmflow.Claim) ([]dmflow.OutboxItem, error) {
		return claimOutbox(tx, queue, c)
	})
}

// AckOutbox removes delivered items (unknown seqs are ignored), remembers
// their Remember keys and renews owner's leases on the items' users. The
// acknowledgement is kept even when owner lost a lease (ErrLeaseLost).
func (s *Store) AckOutbox(ctx context.Context, owner string, now time.Time, acks ...dmflow.Ack) error {
	var lost []string
	err := s.update(ctx, func(tx Tx) error {
		lost = nil
		for _, a := range acks {
			if r, ok := findOut(tx, a.Seq); ok {
				held, err := removeOut(tx, r, owner, now)
				if err != nil {
					return err
				}
				if !held {
					lost = append(lost, parseUserKey(r.uk).String())
				}
			}
			if err := s.remember(tx, a.Remember, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && len(lost) > 0 {
		err = fmt.Errorf("acknowledged, but %v no longer leased to %s: %w", lost, owner, dmflow.ErrLeaseLost)
	}
	return s.errf(err, "ack outbox")
}

// RenewOutbox extends owner's live leases on the queue of keys.
func (s *Store) RenewOutbox(ctx context.Context, queue, owner string, now time.Time, keys ...dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	var lost []dmflow.SessionKey
	err := s.update(ctx, func(tx Tx) error {
		var err error
		lost, err = renewAll(tx.Bucket(bOutLease+queue), owner, now, keys)
		return err
	})
	return lost, s.errf(err, "renew outbox %s leases of %s", queue, owner)
}

// removeOut deletes an item from its queue and from its owner's claims,
// renews owner's lease on the item's user when owner holds it at now, and
// reports whether it does.
func removeOut(tx Tx, r outRef, owner string, now time.Time) (bool, error) {
	ls := newLeases(tx.Bucket(bOutLease + r.queue))
	l, err := ls.get(r.uk)
	if err != nil {
		return false, err
	}
	held := l.renew(owner, now)
	if l != nil {
		l.drop(u64(r.seq))
		ls.put(r.uk)
	}
	if err := ls.flush(); err != nil {
		return false, err
	}
	return held, deleteAll(
		del{tx.Bucket(bOutItems + r.queue), r.seq},
		del{tx.Bucket(bOutQueue + r.queue), r.seq},
		del{tx.Bucket(bOutAcct + r.queue), pendAcctKey(r.uk, r.seq)},
		del{tx.Bucket(bOutIdx), r.seq},
	)
}

// ownedOut finds seq and checks that no other owner holds its user.
func ownedOut(tx Tx, owner string, seq uint64) (outRef, *dmflow.OutboxItem, *leases, error) {
	r, ok := findOut(tx, seq)
	if !ok {
		return r, nil, nil, fmt.Errorf("outbox item %d: %w", seq, dmflow.ErrNotFound)
	}
	ls := newLeases(tx.Bucket(bOutLease + r.queue))
	l, err := ls.get(r.uk)
	if err != nil {
		return r, nil, nil, err
	}
	if l != nil && l.Owner != owner {
		return r, nil, nil, fmt.Errorf("outbox item %d held by %s: %w", seq, l.Owner, dmflow.ErrLeaseLost)
	}
	var it dmflow.OutboxItem
	if _, err := getRec(tx.Bucket(bOutItems+r.queue), r.seq, &it); err != nil {
		return r, nil, nil, err
	}
	return r, &it, ls, nil
}

// RetryOutbox keeps the item at its user's head, unclaimed, delayed until
// next. The owner's claims on the user's later items are released too, since
// they must wait for the head.
func (s *Store) RetryOutbox(ctx context.Context, owner string, seq uint64, next time.Time, reason string) error {
	err := s.update(ctx, func(tx Tx) error {
		r, it, ls, err := ownedOut(tx, owner, seq)
		if err != nil {
			return err
		}
		it.Attempts++
		it.NotBefore, it.LastError = next, reason
		if l, _ := ls.get(r.uk); l != nil {
			l.Claimed = nil
			ls.put(r.uk)
		}
		if err := ls.flush(); err != nil {
			return err
		}
		return putRec(tx.Bucket(bOutItems+r.queue), r.seq, it)
	})
	return s.errf(err, "retry outbox %d", seq)
}

// DeadLetter moves a permanently failed item to the dead-letter list.
func (s *Store) DeadLetter(ctx context.Context, owner string, seq uint64, reason string, now time.Time) error {
	err := s.update(ctx, func(tx Tx) error {
		r, it, _, err := ownedOut(tx, owner, seq)
		if err != nil {
			return err
		}
		if _, err := removeOut(tx, r, owner, now); err != nil {
			return err
		}
		return putRec(tx.Bucket(bDead), r.seq, dmflow.DeadLetter{Item: *it, Reason: reason, At: now})
	})
	return s.errf(err, "dead-letter outbox %d", seq)
}

// ReleaseOutbox gives up the owner's claims on the queue.
func (s *Store) ReleaseOutbox(ctx context.Context, queue, owner string, keys ...dmflow.SessionKey) error {
	err := s.update(ctx, func(tx Tx) error {
		return release(tx.Bucket(bOutLease+queue), owner, userKeys(keys))
	})
	return s.errf(err, "release outbox %s of %s", queue, owner)
}

// OutboxDepth returns how many items of the queue are pending.
func (s *Store) OutboxDepth(ctx context.Context, queue string) (int, error) {
	var n int
	err := s.view(ctx, func(tx Tx) error {
		n = tx.Bucket(bOutQueue + queue).Len()
		return nil
	})
	return n, s.errf(err, "outbox depth %s", queue)
}

// PendingOutbox lists up to limit of the user's pending items of the queue,
// oldest first, without claiming them. It scans the queue.
func (s *Store) PendingOutbox(ctx context.Context, queue string, key dmflow.SessionKey, limit int) ([]dmflow.OutboxItem, error) {
	limit = limitOr(limit)
	var out []dmflow.OutboxItem
	err := s.view(ctx, func(tx Tx) error {
		items, uk := tx.Bucket(bOutItems+queue), string(userKey(key))
		var derr error
		err := tx.Bucket(bOutQueue+queue).Scan(nil, func(k, v []byte) bool {
			if string(v) != uk {
				return true
			}
			var it dmflow.OutboxItem
			_, derr = getRec(items, k, &it)
			out = append(out, it)
			return derr == nil && len(out) < limit
		})
		if err == nil {
			err = derr
		}
		return err
	})
	return out, s.errf(err, "pending outbox %s of %s", queue, key)
}

// DeadLetters lists dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]dmflow.DeadLetter, error) {
	var out []dmflow.DeadLetter
	err := s.view(ctx, func(tx Tx) error {
		var err error
		out, err = scanRecs[dmflow.DeadLetter](tx.Bucket(bDead), limitOr(limit))
		return err
	})
	return out, s.errf(err, "dead letters")
}

// RequeueDead moves a dead letter to the end of its user's queue.
func (s *Store) RequeueDead(ctx context.Context, seq uint64) error {
	err := s.update(ctx, func(tx Tx) error {
		d, err := loadDead(tx, seq)
		if err != nil {
			return err
		}
		it := d.Item
		it.Attempts, it.NotBefore = 0, time.Time{}
		if err := enqueue(tx, it); err != nil {
			return err
		}
		return tx.Bucket(bDead).Delete(be64(seq))
	})
	return s.errf(err, "requeue dead letter %d", seq)
}

func loadDead(tx Tx, seq uint64) (*dmflow.DeadLetter, error) {
	var d dmflow.DeadLetter
	ok, err := getRec(tx.Bucket(bDead), be64(seq), &d)
	if err == nil && !ok {
		err = dmflow.ErrNotFound
	}
	return &d, err
}

// DeleteDead removes a dead letter.
func (s *Store) DeleteDead(ctx context.Context, seq uint64) error {
	err := s.update(ctx, func(tx Tx) error {
		if _, err := loadDead(tx, seq); err != nil {
			return err
		}
		return tx.Bucket(bDead).Delete(be64(seq))
	})
	return s.errf(err, "delete dead letter %d", seq)
}
