package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

var _ dmflow.WorkSessions = (*DB)(nil)

// workCacheMax bounds the sessions a DB keeps for WorkSession; a full
// cache drops an arbitrary eighth of its entries.
const workCacheMax = 8192

// workCache keeps, per user, the session record an owner last saw of it:
// fetched with the owner's inbox claim (the claim statement reads the
// sessions of the users it hands out) or written by the owner's commit of
// an inbox item. It saves the session read of each event. An entry may be
// stale (someone else wrote the session since); correctness does not rest
// on it: a commit based on an entry compares the stored record with the
// entry's bytes as well as the version (see sqlUpdateSession), so a stale
// entry fails the commit with ErrConflict and is dropped.
type workCache struct {
	mu sync.Mutex
	m  map[dmflow.SessionKey]*workEntry
}

// workEntry is one user's session as an owner last saw it.
type workEntry struct {
	owner   string
	version uint64          // 0: no session stored
	rec     []byte          // the stored record; nil: none stored
	sess    *dmflow.Session // rec decoded, or nil until needed; never handed out
}

// get returns a copy of owner's entry of key: (nil, true) when it says no
// session is stored, (nil, false) when there is no usable entry.
func (c *workCache) get(owner string, key dmflow.SessionKey) (*dmflow.Session, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e == nil || e.owner != owner {
		return nil, false, nil
	}
	if e.rec == nil {
		return nil, true, nil
	}
	if e.sess == nil {
		var s dmflow.Session
		if err := decode(e.rec, &s, "session "+key.String()); err != nil {
			delete(c.m, key)
			return nil, false, err
		}
		e.sess = &s
	}
	return e.sess.Clone(), true, nil
}

// base returns the record owner's commit of key at version must find
// stored: the entry's, when owner's entry is at that version; nil (check
// the version only) otherwise.
func (c *workCache) base(owner string, key dmflow.SessionKey, version uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil && e.owner == owner && e.version == version {
		return e.rec
	}
	return nil
}

// fetched records what owner's claim (or read) found stored for key. An
// entry of owner at a later version is kept (a commit of owner's that the
// claim's snapshot did not see yet); one at the same version with other
// bytes is dropped (someone reset and rewrote the session: read it again).
func (c *workCache) fetched(owner string, key dmflow.SessionKey, version uint64, rec []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil && e.owner == owner {
		switch {
		case e.version > version:
			return
		case e.version == version && bytes.Equal(e.rec, rec):
			return
		case e.version == version:
			delete(c.m, key)
			return
		}
	}
	c.put(key, &workEntry{owner: owner, version: version, rec: rec})
}

// wrote records owner's committed session of key (nil: deleted).
func (c *workCache) wrote(owner string, key dmflow.SessionKey, s *dmflow.Session, rec []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &workEntry{owner: owner}
	if s != nil {
		e.version, e.rec, e.sess = s.Version, rec, s
	}
	c.put(key, e)
}

// put stores e (c.mu held), making room when the cache is full.
func (c *workCache) put(key dmflow.SessionKey, e *workEntry) {
	if c.m == nil {
		c.m = make(map[dmflow.SessionKey]*workEntry)
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= workCacheMax {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= workCacheMax/8 {
				break
			}
		}
	}
	c.m[key] = e
}

// drop forgets the entries of keys (of any owner).
func (c *workCache) drop(keys ...dmflow.SessionKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
}

// dropWhere forgets the entries for which match is true.
func (c *workCache) dropWhere(match func(dmflow.SessionKey, *workEntry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if match(k, e) {
			delete(c.m, k)
		}
	}
}

// WorkSession returns the session to step for an item owner claimed: the
// copy fetched with owner's claim or written by owner's last commit of key
// when there is one, else the stored session (then kept as owner's copy).
// See dmflow.WorkSessions.
func (db *DB) WorkSession(ctx context.Context, owner string, key dmflow.SessionKey) (*dmflow.Session, error) {
	op := "work session " + key.String()
	s, ok, err := db.work.get(owner, key)
	switch {
	case err != nil:
		return nil, fmt.Errorf("store/postgres: %s: %w", op, err)
	case ok && s == nil:
		return nil, fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrNotFound)
	case ok:
		return s, nil
	}
	var version int64
	var rec []byte
	err = db.run(ctx, op, func(ctx context.Context) error {
		err := db.pool.QueryRow(ctx, "SELECT version, record FROM sessions WHERE account = $1 AND user_id = $2",
			key.Account, key.User).Scan(&version, &rec)
		if errors.Is(err, pgx.ErrNoRows) {
			version, rec = 0, nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	db.work.fetched(owner, key, uint64(version), rec)
	if rec == nil {
		return nil, fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrNotFound)
	}
	var out dmflow.Session
	if err := decode(rec, &out, "store/postgres: "+op); err != nil {
		return nil, err
	}
	return &out, nil
}
