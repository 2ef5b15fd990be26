package kvstore

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
)

// Bucket names. Per-queue outbox buckets append "/<queue>".
const (
	bItems    = "inbox.items"    // seq → InboxItem (pending, done and failed, until pruned)
	bPending  = "inbox.pending"  // seq → userKey
	bByUser   = "inbox.byuser"   // userKey seq → (history index)
	bPendAcct = "inbox.pendacct" // account NUL seq → userKey (pending items by account, for fair claims)
	bRecv     = "inbox.recv"     // time seq → (prune index)
	bDedupe   = "inbox.dedupe"   // event key → seq time (seq 0: remembered, no item)
	bRemember = "inbox.remember" // time event key → (prune index of remembered keys)
	bFailed   = "inbox.failed"   // seq → FailedItem
	bInLease  = "inbox.lease"    // userKey → lease
	bSessions = "sessions"       // userKey → Session
	bSessUpd  = "sessions.upd"   // time userKey → (expiry index)
	bTimers   = "timers"         // time userKey id → timerRec
	bOutIdx   = "outbox.index"   // seq → queue NUL userKey (sequence source)
	bOutItems = "outbox.items/"  // + queue: seq → OutboxItem
	bOutQueue = "outbox.queue/"  // + queue: seq → userKey
	bOutLease = "outbox.lease/"  // + queue: userKey → lease
	bOutAcct  = "outbox.acct/"   // + queue: account NUL seq → userKey (queued items by account, for fair claims)
	bDead     = "outbox.dead"    // seq → DeadLetter
	bActions  = "actions"        // seq → ActionItem
	bActID    = "actions.id"     // call id → seq
	bActLease = "actions.lease"  // seq → lease
	bTokens   = "tokens"         // account → Token
	bMeta     = "meta"           // name → value: which indexes exist (see ensurePendAcct, ensureOutAcct)
)

// IsLeaseBucket reports whether a bucket holds leases only. A single-process
// backend drops these buckets when it opens, since no owner survived.
func IsLeaseBucket(name string) bool {
	return name == bInLease || name == bActLease || strings.HasPrefix(name, bOutLease)
}

// IsAppendBucket reports whether a bucket's keys are written in increasing
// order (sequence numbers, receive or update times first), so that a B+tree
// backend may fill its pages densely instead of splitting them half full.
// The timer index counts: its keys start with the due time, and most timers
// are armed with the same delay after "now" (the drop-off timer every
// message re-arms), so new keys land at its end.
func IsAppendBucket(name string) bool {
	switch name {
	case bItems, bPending, bRecv, bRemember, bSessUpd, bOutIdx, bDead, bActions, bTimers:
		return true
	}
	return strings.HasPrefix(name, bOutItems) || strings.HasPrefix(name, bOutQueue)
}

// be64 encodes n big-endian, so that byte order is numeric order.
func be64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func u64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeKey encodes t as 8 bytes that sort in time order (clamped to the
// UnixNano range, so the zero time sorts first).
func timeKey(t time.Time) []byte {
	switch {
	case t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	return be64(uint64(t.UnixNano()) ^ 1<<63)
}

func keyTime(b []byte) time.Time {
	return time.Unix(0, int64(u64(b)^1<<63)).UTC()
}

// userKey encodes a SessionKey so that keys sort by account, then user, and
// no key is a prefix of another.
func userKey(k dmflow.SessionKey) []byte {
	return []byte(k.Account + "\x00" + k.User + "\x00")
}

func parseUserKey(b []byte) dmflow.SessionKey {
	a, rest, _ := bytes.Cut(b, []byte{0})
	u, _, _ := bytes.Cut(rest, []byte{0})
	return dmflow.SessionKey{Account: string(a), User: string(u)}
}

func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
