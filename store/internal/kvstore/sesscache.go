package kvstore

import (
	"bytes"
	"strings"
	"sync"

	"github.com/dmflow/dmflow"
)

// DefaultSessionCache is how many decoded sessions a Store keeps when
// Options.SessionCache is 0.
const DefaultSessionCache = 1024

// sessCache keeps decoded sessions with the record bytes they were decoded
// from (or encoded to). An entry is used only when the stored record is byte
// for byte that one, so the cache can never return a stale session: a write
// by another process, a rolled-back write, a delete or expiry, a backup
// restore — anything that changes the record — makes the entry miss. It
// only saves the decoding (the session is decoded by GetSession before a
// step and again by the step's Commit to check the version and unindex the
// old timers). A commit writes its new session through (own), so a user's
// next step decodes nothing. Entries are shared and read-only: callers that
// hand a session out clone it. At most max entries; a full cache drops an
// arbitrary one.
type sessCache struct {
	mu  sync.Mutex
	max int
	m   map[string]sessEntry
}

type sessEntry struct {
	raw []byte
	s   *dmflow.Session
}

// newSessCache returns a cache of up to max sessions, nil (no caching) for
// max < 0.
func newSessCache(max int) *sessCache {
	if max < 0 {
		return nil
	}
	if max == 0 {
		max = DefaultSessionCache
	}
	return &sessCache{max: max, m: make(map[string]sessEntry)}
}

// get returns the session decoded from raw, the record stored at uk, if
// cached.
func (c *sessCache) get(uk, raw []byte) *dmflow.Session {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(uk)]
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil
	}
	return e.s
}

// put remembers s, decoded from raw (copied), for uk.
func (c *sessCache) put(uk, raw []byte, s *dmflow.Session) {
	if c != nil {
		c.own(uk, bytes.Clone(raw), s)
	}
}

// own remembers s, encoded as raw, for uk; raw and s must never be
// modified afterwards.
func (c *sessCache) own(uk, raw []byte, s *dmflow.Session) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(uk)]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(uk)] = sessEntry{raw: raw, s: s}
}

// dropPrefix forgets the entries whose key starts with prefix (Forget: no
// decoded copy of a forgotten person stays in memory).
func (c *sessCache) dropPrefix(prefix []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := string(prefix)
	for k := range c.m {
		if strings.HasPrefix(k, p) {
			delete(c.m, k)
		}
	}
}

// loadShared returns the stored session at uk, shared with the cache: the
// caller must not modify it (clone it to hand it out). nil when there is
// none.
func (s *Store) loadShared(tx Tx, uk []byte) (*dmflow.Session, error) {
	raw := tx.Bucket(bSessions).Get(uk)
	if raw == nil {
		return nil, nil
	}
	if sess := s.sessions.get(uk, raw); sess != nil {
		return sess, nil
	}
	var sess dmflow.Session
	if err := decRec(raw, &sess); err != nil {
		return nil, err
	}
	s.sessions.put(uk, raw, &sess)
	return &sess, nil
}
