package kvstore

import (
	"context"
	"slices"
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
	return claim(ctx, s, c, "actions", claimActions)
}

func claimActions(tx Tx, c dmflow.Claim) ([]dmflow.ActionItem, error) {
	ls := newLeases(tx.Bucket(bActLease))
	self := func(k, _ []byte) []byte { return k }
	var gerr error
	seqs, err := pickLeased(tx.Bucket(bActions), ls, c.Max, self, func(k, _ []byte, l *lease) bool {
		if l != nil && c.Now.Before(l.Until) {
			return false
		}
		if len(c.Skip) > 0 {
			var it dmflow.ActionItem
			if _, gerr = getRec(tx.Bucket(bActions), k, &it); gerr != nil || slices.Contains(c.Skip, it.Call.Key.Account) {
				return false
			}
		}
		ls.m[string(k)] = nil
		ls.take(k, c.Owner, c.Now, c.Lease, 0)
		return true
	})
	if err == nil {
		err = gerr
	}
	if err == nil {
		err = ls.flush()
	}
	if err != nil {
		return nil, err
	}
	return bump(tx.Bucket(bActions), seqs, func(it *dmflow.ActionItem) *int { return &it.Attempts })
}

// ReleaseActions gives up owner's leases on the calls ids (all of owner's
// calls when ids is empty) without changing them, so that any owner's next
// claim takes them. Unknown ids and calls leased by others are skipped.
func (s *Store) ReleaseActions(ctx context.Context, owner string, ids ...string) error {
	err := s.update(ctx, func(tx Tx) error {
		if len(ids) == 0 {
			return release(tx.Bucket(bActLease), owner, nil)
		}
		byID, seqs := tx.Bucket(bActID), make([][]byte, 0, len(ids))
		for _, id := range ids {
			if sk := byID.Get([]byte(id)); sk != nil {
				seqs = append(seqs, append([]byte(nil), sk...))
			}
		}
		if len(seqs) == 0 {
			return nil
		}
		return release(tx.Bucket(bActLease), owner, seqs)
	})
	return s.errf(err, "release actions of %s", owner)
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
	if _, err := s.appendEvents(tx, []dmflow.Event{result}, nil, now); err != nil {
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
