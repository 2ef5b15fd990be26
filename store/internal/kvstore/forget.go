package kvstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

// This file holds the personal-data operations (Forget, Export, Sweep). They
// are written against the key layout of keys.go and the record helpers, so
// they follow changes of the encoding.

// personPrefix returns the userKey prefix of f.Key: the person's userKey, or
// "account NUL" for a whole account (User empty).
func personPrefix(k dmflow.SessionKey) ([]byte, error) {
	if k.User == "" {
		if k.Account == "" || !(dmflow.SessionKey{Account: k.Account, User: "x"}).Valid() {
			return nil, invalid("bad account %q", k.Account)
		}
		return []byte(k.Account + "\x00"), nil
	}
	if !k.Valid() {
		return nil, invalid("bad session key %q", k)
	}
	return userKey(k), nil
}

// Forget erases every record about f.Key in one transaction.
func (s *Store) Forget(ctx context.Context, f dmflow.Forget) (dmflow.Forgotten, error) {
	prefix, err := personPrefix(f.Key)
	if err == nil && f.Seq != 0 && f.Key.User == "" {
		err = invalid("forget of a whole account takes no seq")
	}
	if err != nil {
		return dmflow.Forgotten{}, s.errf(err, "forget %s", f.Key)
	}
	var out dmflow.Forgotten
	err = s.update(ctx, func(tx Tx) error {
		var err error
		out, err = forgetPerson(tx, prefix, f)
		return err
	})
	if err == nil {
		s.sessions.dropPrefix(prefix) // no decoded copy of the person stays in memory
	}
	return out, s.errf(err, "forget %s", f.Key)
}

func forgetPerson(tx Tx, prefix []byte, f dmflow.Forget) (dmflow.Forgotten, error) {
	var n dmflow.Forgotten
	ls := newLeases(tx.Bucket(bInLease))
	if f.Seq != 0 {
		l, err := ls.get(prefix)
		if err != nil {
			return n, err
		}
		if !l.heldBy(f.Owner, f.Now) {
			return n, fmt.Errorf("item %d: %w", f.Seq, dmflow.ErrLeaseLost)
		}
	}
	var err error
	if n.Sessions, err = forgetSessions(tx, prefix); err != nil {
		return n, err
	}
	if n.Inbox, err = forgetInbox(tx, ls, prefix, f.Seq); err != nil {
		return n, err
	}
	if n.Outbox, err = deleteOutbox(tx, func(_ string, uk []byte, _ []byte) (bool, error) {
		return hasPrefix(prefix)(uk), nil
	}); err != nil {
		return n, err
	}
	if n.DeadLetters, err = deleteDead(tx, func(d *dmflow.DeadLetter) bool { return hasPrefix(prefix)(userKey(d.Item.Key)) }); err != nil {
		return n, err
	}
	n.Actions, err = forgetActions(tx, prefix)
	return n, err
}

// forgetSessions deletes the sessions under prefix with their indexes and
// timers.
func forgetSessions(tx Tx, prefix []byte) (int, error) {
	keys, err := scanKeys(tx.Bucket(bSessions), prefix, 0, hasPrefix(prefix))
	if err != nil {
		return 0, err
	}
	for _, uk := range keys {
		old, err := loadSession(tx, uk)
		if err != nil {
			return 0, err
		}
		if err := unindexSession(tx, uk, old); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bSessions).Delete(uk); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// forgetInbox deletes the inbox items under prefix (pending ones only when
// their seq is at most upTo), with their indexes, dedupe keys and failed
// records.
func forgetInbox(tx Tx, ls *leases, prefix []byte, upTo uint64) (int, error) {
	keys, err := scanKeys(tx.Bucket(bByUser), prefix, 0, hasPrefix(prefix))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		sk, uk := k[len(k)-8:], k[:len(k)-8]
		if tx.Bucket(bPending).Get(sk) != nil {
			if upTo == 0 || u64(sk) > upTo {
				continue
			}
			if err := delPending(tx, sk, uk); err != nil {
				return 0, err
			}
			if l, err := ls.get(uk); err != nil {
				return 0, err
			} else if l != nil {
				l.drop(u64(sk))
				ls.put(uk)
			}
		}
		if err := deleteItem(tx, sk); err != nil {
			return 0, err
		}
		n++
	}
	return n, ls.flush()
}

// deleteItem deletes the inbox item sk (done, failed or no longer pending)
// with its indexes, its dedupe key and its failed record.
func deleteItem(tx Tx, sk []byte) error {
	var it dmflow.InboxItem
	ok, err := getRec(tx.Bucket(bItems), sk, &it)
	if err != nil {
		return err
	}
	if !ok {
		return tx.Bucket(bFailed).Delete(sk)
	}
	if err := forget(tx, cat(timeKey(it.Received), sk), sk); err != nil {
		return err
	}
	return tx.Bucket(bFailed).Delete(sk)
}

// deleteOutbox deletes the pending outbox items for which match returns
// true; match sees the queue, the userKey and the item's seq key.
func deleteOutbox(tx Tx, match func(queue string, uk, sk []byte) (bool, error)) (int, error) {
	var refs []outRef
	var merr error
	err := tx.Bucket(bOutIdx).Scan(nil, func(k, _ []byte) bool {
		r, _ := findOut(tx, u64(k))
		ok, err := match(r.queue, r.uk, r.seq)
		if merr = err; err != nil {
			return false
		}
		if ok {
			refs = append(refs, r)
		}
		return true
	})
	if err == nil {
		err = merr
	}
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		if err := deleteAll(
			del{tx.Bucket(bOutItems + r.queue), r.seq},
			del{tx.Bucket(bOutQueue + r.queue), r.seq},
			del{tx.Bucket(bOutAcct + r.queue), pendAcctKey(r.uk, r.seq)},
			del{tx.Bucket(bOutIdx), r.seq},
		); err != nil {
			return 0, err
		}
	}
	return len(refs), nil
}

// deleteDead deletes the dead letters for which match returns true.
func deleteDead(tx Tx, match func(*dmflow.DeadLetter) bool) (int, error) {
	keys, _, err := matching(tx.Bucket(bDead), match)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := tx.Bucket(bDead).Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// matching decodes every record of b and returns the keys and records for
// which match returns true.
func matching[T any](b Bucket, match func(*T) bool) ([][]byte, []T, error) {
	var keys [][]byte
	var recs []T
	var derr error
	err := b.Scan(nil, func(k, v []byte) bool {
		var r T
		if derr = decRec(v, &r); derr != nil {
			return false
		}
		if match(&r) {
			keys, recs = append(keys, append([]byte(nil), k...)), append(recs, r)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	return keys, recs, err
}

// forgetActions deletes the recorded action calls of the people under
// prefix.
func forgetActions(tx Tx, prefix []byte) (int, error) {
	keys, items, err := matching(tx.Bucket(bActions), func(it *dmflow.ActionItem) bool {
		return hasPrefix(prefix)(userKey(it.Call.Key))
	})
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := deleteAll(del{tx.Bucket(bActions), k}, del{tx.Bucket(bActID), []byte(items[i].Call.ID)}, del{tx.Bucket(bActLease), k}); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Export returns everything stored about the person key.
func (s *Store) Export(ctx context.Context, key dmflow.SessionKey) (*dmflow.PersonalExport, error) {
	if !key.Valid() {
		return nil, s.errf(invalid("bad session key %q", key), "export")
	}
	out := &dmflow.PersonalExport{Key: key, Inbox: []dmflow.InboxItem{}, Failed: []dmflow.FailedItem{},
		Outbox: []dmflow.OutboxItem{}, DeadLetters: []dmflow.DeadLetter{}, Actions: []dmflow.ActionItem{}}
	if err := s.syncInbox(ctx); err != nil {
		return nil, s.errf(err, "export %s", key)
	}
	err := s.view(ctx, func(tx Tx) error { return export(tx, userKey(key), out) })
	if err != nil {
		return nil, s.errf(err, "export %s", key)
	}
	return out, nil
}

func export(tx Tx, uk []byte, out *dmflow.PersonalExport) error {
	var err error
	if out.Session, err = loadSession(tx, uk); err != nil {
		return err
	}
	keys, err := scanKeys(tx.Bucket(bByUser), uk, 0, hasPrefix(uk))
	if err != nil {
		return err
	}
	if out.Inbox, err = loadItems(tx.Bucket(bItems), keys, len(uk)); err != nil {
		return err
	}
	for _, k := range keys {
		var f dmflow.FailedItem
		if ok, err := getRec(tx.Bucket(bFailed), k[len(uk):], &f); err != nil {
			return err
		} else if ok {
			out.Failed = append(out.Failed, f)
		}
	}
	var derr error
	err = tx.Bucket(bOutIdx).Scan(nil, func(k, _ []byte) bool {
		r, _ := findOut(tx, u64(k))
		if string(r.uk) != string(uk) {
			return true
		}
		var it dmflow.OutboxItem
		_, derr = getRec(tx.Bucket(bOutItems+r.queue), r.seq, &it)
		out.Outbox = append(out.Outbox, it)
		return derr == nil
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return err
	}
	_, dead, err := matching(tx.Bucket(bDead), func(d *dmflow.DeadLetter) bool { return string(userKey(d.Item.Key)) == string(uk) })
	if err != nil {
		return err
	}
	_, acts, err := matching(tx.Bucket(bActions), func(a *dmflow.ActionItem) bool { return string(userKey(a.Call.Key)) == string(uk) })
	out.DeadLetters, out.Actions = append(out.DeadLetters, dead...), append(out.Actions, acts...)
	return err
}

// Sweep deletes what is older than the retention cut-offs.
func (s *Store) Sweep(ctx context.Context, c dmflow.Sweep) (dmflow.Swept, error) {
	var out dmflow.Swept
	err := s.update(ctx, func(tx Tx) error {
		var err error
		out, err = sweep(tx, c)
		return err
	})
	return out, s.errf(err, "sweep")
}

func sweep(tx Tx, c dmflow.Sweep) (dmflow.Swept, error) {
	var n dmflow.Swept
	var err error
	if !c.History.IsZero() {
		if n.History, err = sweepHistory(tx, timeKey(c.History)); err != nil {
			return n, err
		}
	}
	if !c.Delivered.IsZero() {
		if n.Delivered, err = pruneRemembered(tx, timeKey(c.Delivered)); err != nil {
			return n, err
		}
	}
	older := func(t, cut time.Time) bool { return !cut.IsZero() && t.Before(cut) }
	dead, err := deleteDead(tx, func(d *dmflow.DeadLetter) bool {
		if d.Item.Queue == dmflow.QueueNotices {
			return older(d.At, c.Notices)
		}
		return older(d.At, c.DeadLetters)
	})
	if err != nil {
		return n, err
	}
	n.Notices, err = deleteOutbox(tx, func(q string, _, sk []byte) (bool, error) {
		if q != dmflow.QueueNotices || c.Notices.IsZero() {
			return false, nil
		}
		var it dmflow.OutboxItem
		_, err := getRec(tx.Bucket(bOutItems+q), sk, &it)
		return err == nil && older(it.Created, c.Notices), err
	})
	n.DeadLetters = dead
	return n, err
}

// sweepHistory deletes done and failed inbox items received before end (a
// timeKey), with their dedupe keys.
func sweepHistory(tx Tx, end []byte) (int, error) {
	keys, err := scanKeys(tx.Bucket(bRecv), nil, 0, func(k []byte) bool { return string(k[:8]) < string(end) })
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		sk := k[8:]
		if tx.Bucket(bPending).Get(sk) != nil {
			continue
		}
		if err := deleteItem(tx, sk); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
