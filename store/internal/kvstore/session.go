package kvstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

// Commit applies c atomically.
func (s *Store) Commit(ctx context.Context, c dmflow.Commit) error {
	if err := validCommit(&c); err != nil {
		return s.errf(err, "commit %s", c.Key)
	}
	err := s.update(ctx, func(tx Tx) error { return s.commit(tx, &c) })
	return s.errf(err, "commit %s", c.Key)
}

func validCommit(c *dmflow.Commit) error {
	if !c.Key.Valid() {
		return invalid("bad session key %q", c.Key)
	}
	if c.Session != nil && c.Session.Key != c.Key {
		return invalid("session key %s differs from commit key", c.Session.Key)
	}
	for _, a := range c.Actions {
		if a.ID == "" {
			return invalid("action call %q without id", a.Name)
		}
	}
	return nil
}

// commit checks the lease, the item and the version, then writes. The old
// session is only read.
func (s *Store) commit(tx Tx, c *dmflow.Commit) error {
	uk := userKey(c.Key)
	ls := newLeases(tx.Bucket(bInLease))
	if err := checkItem(tx, ls, c, uk); err != nil {
		return err
	}
	old, err := s.loadShared(tx, uk)
	if err != nil {
		return err
	}
	if err := checkVersion(old, c.Session); err != nil {
		return err
	}
	if err := s.writeSession(tx, uk, old, c); err != nil {
		return err
	}
	if err := enqueueAll(tx, c); err != nil {
		return err
	}
	if err := addCounts(tx, c); err != nil {
		return err
	}
	return finishItem(tx, ls, c, uk)
}

// checkItem verifies that c.Owner holds the lease on the item's user.
func checkItem(tx Tx, ls *leases, c *dmflow.Commit, uk []byte) error {
	if c.Seq == 0 {
		return nil
	}
	l, err := ls.get(uk)
	if err != nil {
		return err
	}
	if !l.heldBy(c.Owner, c.Now) {
		return fmt.Errorf("item %d: %w", c.Seq, dmflow.ErrLeaseLost)
	}
	v := tx.Bucket(bPending).Get(be64(c.Seq))
	if v == nil {
		return fmt.Errorf("item %d is not pending: %w", c.Seq, dmflow.ErrNotFound)
	}
	if string(v) != string(uk) {
		return invalid("item %d belongs to %s", c.Seq, parseUserKey(v))
	}
	return nil
}

func loadSession(tx Tx, uk []byte) (*dmflow.Session, error) {
	var s dmflow.Session
	ok, err := getRec(tx.Bucket(bSessions), uk, &s)
	if err != nil || !ok {
		return nil, err
	}
	return &s, nil
}

func checkVersion(old, s *dmflow.Session) error {
	if s == nil {
		return nil
	}
	var have uint64
	if old != nil {
		have = old.Version
	}
	if s.Version != have {
		return fmt.Errorf("version %d, stored %d: %w", s.Version, have, dmflow.ErrConflict)
	}
	return nil
}

// writeSession deletes or replaces the stored session and its indexes. The
// new session goes into the cache with its record (write-through: the next
// step's GetSession and Commit need not decode it; should this transaction
// roll back, the stored record differs and the entry misses).
func (s *Store) writeSession(tx Tx, uk []byte, old *dmflow.Session, c *dmflow.Commit) error {
	if !c.Delete && c.Session == nil {
		return nil
	}
	if c.Delete {
		if err := unindexSession(tx, uk, old); err != nil {
			return err
		}
		return tx.Bucket(bSessions).Delete(uk)
	}
	ns := c.Session.Clone()
	ns.Version++
	if ns.Updated.IsZero() {
		ns.Updated = c.Now
	}
	raw, err := encRec(ns)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bSessions).Put(uk, raw); err != nil {
		return err
	}
	s.sessions.own(uk, raw, ns)
	return reindexSession(tx, uk, old, ns)
}

// updGrain is the resolution of the expiry index (sessions.upd): a session
// is indexed under its Updated time truncated to updGrain, so a session
// updated again within the same grain keeps its entry, and a commit writes
// nothing to the index. Entries may therefore be older than the session's
// Updated, never newer; expire checks each candidate's Updated itself.
const updGrain = 10 * time.Minute

// updKey is the session's expiry index key.
func updKey(uk []byte, updated time.Time) []byte {
	return cat(timeKey(updated.Truncate(updGrain)), uk)
}

func unindexSession(tx Tx, uk []byte, s *dmflow.Session) error {
	if s == nil {
		return nil
	}
	tb := tx.Bucket(bTimers)
	for _, t := range s.Timers {
		if err := tb.Delete(timerKey(uk, t)); err != nil {
			return err
		}
	}
	return tx.Bucket(bSessUpd).Delete(updKey(uk, s.Updated))
}

// reindexSession moves the session's index entries from old's (nil: none)
// to ns's, leaving alone the entries both have: a timer kept with its ID
// and due, and the expiry entry while Updated stays within one updGrain.
func reindexSession(tx Tx, uk []byte, old, ns *dmflow.Session) error {
	tb := tx.Bucket(bTimers)
	var oldTimers []dmflow.Timer
	if old != nil {
		oldTimers = old.Timers
	}
	for _, t := range oldTimers {
		if !hasTimer(ns.Timers, t) {
			if err := tb.Delete(timerKey(uk, t)); err != nil {
				return err
			}
		}
	}
	for _, t := range ns.Timers {
		if !hasTimer(oldTimers, t) {
			if err := putRec(tb, timerKey(uk, t), timerRec{Key: ns.Key, Timer: t}); err != nil {
				return err
			}
		}
	}
	upd := tx.Bucket(bSessUpd)
	nk := updKey(uk, ns.Updated)
	if old != nil {
		ok := updKey(uk, old.Updated)
		if string(ok) == string(nk) {
			return nil
		}
		if err := upd.Delete(ok); err != nil {
			return err
		}
	}
	return upd.Put(nk, []byte{})
}

// hasTimer reports whether ts holds t (same ID, name and due: the same
// index entry).
func hasTimer(ts []dmflow.Timer, t dmflow.Timer) bool {
	for _, x := range ts {
		if x.ID == t.ID && x.Name == t.Name && x.Due.Equal(t.Due) {
			return true
		}
	}
	return false
}

// enqueueAll records the commit's outbox messages, notices and actions.
func enqueueAll(tx Tx, c *dmflow.Commit) error {
	for i := range c.Outbox {
		m := c.Outbox[i]
		if err := enqueue(tx, dmflow.OutboxItem{Queue: dmflow.QueueDM, Key: keyOr(m.Key, c.Key), Message: &m, Created: c.Now}); err != nil {
			return err
		}
	}
	for i := range c.Notices {
		n := c.Notices[i]
		if err := enqueue(tx, dmflow.OutboxItem{Queue: dmflow.QueueNotices, Key: keyOr(n.Key, c.Key), Notice: &n, Created: c.Now}); err != nil {
			return err
		}
	}
	for _, a := range c.Actions {
		if err := recordAction(tx, a); err != nil {
			return err
		}
	}
	return nil
}

func keyOr(k, def dmflow.SessionKey) dmflow.SessionKey {
	if k.Valid() {
		return k
	}
	return def
}

// finishItem marks the item done or failed and renews the lease.
func finishItem(tx Tx, ls *leases, c *dmflow.Commit, uk []byte) error {
	if c.Seq == 0 {
		return nil
	}
	sk := be64(c.Seq)
	if c.Failed != "" || len(c.Outbox) > 0 {
		var it dmflow.InboxItem
		ok, err := getRec(tx.Bucket(bItems), sk, &it)
		if err != nil {
			return err
		}
		if ok && len(c.Outbox) > 0 {
			// The item remembers what its turn said (InboxItem.Replies).
			it.Replies = c.Outbox
			if err := putRec(tx.Bucket(bItems), sk, it); err != nil {
				return err
			}
		}
		if c.Failed != "" {
			if err := putRec(tx.Bucket(bFailed), sk, dmflow.FailedItem{Item: it, Reason: c.Failed, At: c.Now}); err != nil {
				return err
			}
		}
	}
	l, _ := ls.get(uk)
	l.drop(c.Seq)
	l.extend(c.Now)
	ls.put(uk)
	if err := ls.flush(); err != nil {
		return err
	}
	return delPending(tx, sk, uk)
}

// GetSession returns the stored session or an error wrapping ErrNotFound.
func (s *Store) GetSession(ctx context.Context, key dmflow.SessionKey) (*dmflow.Session, error) {
	var out *dmflow.Session
	err := s.view(ctx, func(tx Tx) error {
		var err error
		out, err = s.loadShared(tx, userKey(key))
		if err == nil && out == nil {
			err = dmflow.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.errf(err, "get session %s", key)
	}
	return out.Clone(), nil
}

// ListSessions returns sessions matching f in key order.
func (s *Store) ListSessions(ctx context.Context, f dmflow.SessionFilter) ([]*dmflow.Session, error) {
	var out []*dmflow.Session
	err := s.view(ctx, func(tx Tx) error {
		var err error
		out, err = listSessions(tx, f)
		return err
	})
	return out, s.errf(err, "list sessions")
}

func listSessions(tx Tx, f dmflow.SessionFilter) ([]*dmflow.Session, error) {
	var prefix, from []byte
	if f.Account != "" {
		prefix = []byte(f.Account + "\x00")
		from = prefix
	}
	after := []byte(nil)
	if f.After != (dmflow.SessionKey{}) {
		after = userKey(f.After)
		if string(after) > string(from) {
			from = after
		}
	}
	limit := limitOr(f.Limit)
	var out []*dmflow.Session
	var derr error
	err := tx.Bucket(bSessions).Scan(from, func(k, v []byte) bool {
		if !hasPrefix(prefix)(k) {
			return false
		}
		if string(k) == string(after) {
			return true
		}
		var s dmflow.Session
		if derr = decRec(v, &s); derr != nil {
			return false
		}
		if matches(&s, f) {
			out = append(out, &s)
		}
		return len(out) < limit
	})
	if err == nil {
		err = derr
	}
	return out, err
}

func matches(s *dmflow.Session, f dmflow.SessionFilter) bool {
	return (f.State == "" || s.State == f.State) && (!f.Handoff || s.Handoff != nil)
}

// ExpireSessions deletes sessions not updated since before, with their timers.
func (s *Store) ExpireSessions(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.update(ctx, func(tx Tx) error {
		var err error
		n, err = expire(tx, before)
		return err
	})
	return n, s.errf(err, "expire sessions")
}

// expire deletes the sessions whose Updated is before before. The index
// entries it scans may be older than their session's Updated (updGrain);
// such a session stays, and an entry that is not its session's current one
// (the session is gone, or the entry was written under another key by an
// older version) is deleted, the current one put.
func expire(tx Tx, before time.Time) (int, error) {
	end := timeKey(before)
	upd := tx.Bucket(bSessUpd)
	keys, err := scanKeys(upd, nil, 0, func(k []byte) bool { return string(k[:8]) < string(end) })
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		uk := k[8:]
		old, err := loadSession(tx, uk)
		if err != nil {
			return 0, err
		}
		switch {
		case old == nil:
			err = upd.Delete(k)
		case !old.Updated.Before(before):
			if cur := updKey(uk, old.Updated); string(cur) != string(k) {
				err = putAll(put{upd, cur, nil})
				if err == nil {
					err = upd.Delete(k)
				}
			}
		default:
			n++
			if err = unindexSession(tx, uk, old); err == nil {
				err = deleteAll(del{tx.Bucket(bSessions), uk}, del{upd, k})
			}
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}
