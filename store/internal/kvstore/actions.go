package kvstore

import (
	"context"
	"time"

	"github.com/dmflow/dmflow"
)

// recordAction stores a call unless its ID is already recorded.
func recordAction(tx Tx, a dmflow.ActionCall) error {
	ids := tx.Bucket(bActID)
	if ids.Get([]byte(a.ID)) != nil {
		return nil
	}
	acts := tx.Bucket(bActions)
	seq, err := acts.NextSequence()
	if err != nil {
		return err
	}
	if err := putRec(acts, be64(seq), dmflow.ActionItem{Call: a}); err != nil {
		return err
	}
	return ids.Put([]byte(a.ID), be64(seq))
}

// ClaimActions leases up to c.Max calls that no live lease holds (another
// owner's or c.Owner's own), oldest first, incrementing Attempts.
func (s *Store) ClaimActions(ctx context.Context, c dmflow.Claim) ([]dmflow.ActionItem, error) {
	if c.Max < 1 || c.Owner == "" {
		return nil, s.errf(invalid("claim needs an owner and max >= 1"), "claim actions")
	}
	var out []dmflow.ActionItem
	err := s.update(ctx, func(tx Tx) error {
		items, err := claimActions(tx, c)
		out = items
		return err
	})
	return out, s.errf(err, "claim actions")
}

func claimActions(tx Tx, c dmflow.Claim) ([]dmflow.ActionItem, error) {
	ls := newLeases(tx.Bucket(bActLease))
	var seqs [][]byte
	var lerr error
	err := tx.Bucket(bActions).Scan(nil, func(k, _ []byte) bool {
		l, err := ls.get(k)
		if lerr = err; err != nil {
			return false
		}
		if l == nil || !c.Now.Before(l.Until) {
			ls.m[string(k)] = nil
			ls.take(k, c.Owner, c.Now, c.Lease, 0)
			seqs = append(seqs, append([]byte(nil), k...))
		}
		return len(seqs) < c.Max
	})
	if err == nil {
		err = lerr
	}
	if err != nil {
		return nil, err
	}
	if err := ls.flush(); err != nil {
		return nil, err
	}
	return bumpActions(tx.Bucket(bActions), seqs)
}

func bumpActions(acts Bucket, seqs [][]byte) ([]dmflow.ActionItem, error) {
	out := make([]dmflow.ActionItem, 0, len(seqs))
	for _, k := range seqs {
		var it dmflow.ActionItem
		if _, err := getRec(acts, k, &it); err != nil {
			return nil, err
		}
		it.Attempts++
		if err := putRec(acts, k, it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// CompleteAction appends result to the inbox and forgets the call, in one
// transaction. Result fields left empty are filled in: Kind
// KindActionResult, Key "action:<id>", Account and User from the call.
// Completing an unknown call is a no-op.
func (s *Store) CompleteAction(ctx context.Context, owner, id string, result dmflow.Event, now time.Time) error {
	err := s.update(ctx, func(tx Tx) error { return s.complete(tx, id, result, now) })
	return s.errf(err, "complete action %s", id)
}

func (s *Store) complete(tx Tx, id string, result dmflow.Event, now time.Time) error {
	sk := tx.Bucket(bActID).Get([]byte(id))
	if sk == nil {
		return nil
	}
	sk = append([]byte(nil), sk...)
	var it dmflow.ActionItem
	if _, err := getRec(tx.Bucket(bActions), sk, &it); err != nil {
		return err
	}
	fillResult(&result, it.Call)
	if err := validEvents([]dmflow.Event{result}); err != nil {
		return err
	}
	if _, err := s.appendEvents(tx, []dmflow.Event{result}, now); err != nil {
		return err
	}
	return deleteAll(del{tx.Bucket(bActID), []byte(id)}, del{tx.Bucket(bActions), sk}, del{tx.Bucket(bActLease), sk})
}

func fillResult(e *dmflow.Event, call dmflow.ActionCall) {
	if e.Kind == "" {
		e.Kind = dmflow.KindActionResult
	}
	if e.Key == "" {
		e.Key = "action:" + call.ID
	}
	if e.Account == "" && e.User == "" {
		e.Account, e.User = call.Key.Account, call.Key.User
	}
}
