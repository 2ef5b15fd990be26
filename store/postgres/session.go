package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dmflow/dmflow"
)

// sqlFinish checks the owner's live inbox lease (else DF002, lease lost),
// renews it and marks the pending item done or failed (else DF004, not
// found), keeping the turn's replies ($10, NULL for none) with it.
const sqlFinish = `
WITH l AS (
	UPDATE leases SET expires = greatest(expires, $4 + ttl)
	WHERE queue = 'inbox' AND account = $1 AND user_id = $2 AND owner = $3 AND expires > $4
	RETURNING 1),
i AS (
	UPDATE inbox SET status = $6::int2, reason = nullif($7, ''),
		failed_at = CASE WHEN $6::int2 = 2 THEN $4 END, claimed_by = NULL, replies = $10::bytea
	WHERE seq = $5 AND account = $1 AND user_id = $2 AND status = 0 AND EXISTS (SELECT 1 FROM l)
	RETURNING 1)
SELECT dmflow_check(EXISTS (SELECT 1 FROM l), 'DF002', $8), dmflow_check(EXISTS (SELECT 1 FROM i), 'DF004', $9)`

const sqlInsertSession = `
WITH s AS (
	INSERT INTO sessions (account, user_id, version, state, handoff, updated, record)
	VALUES ($1, $2, $3 + 1, $4, $5, $6, $7)
	ON CONFLICT (account, user_id) DO NOTHING
	RETURNING 1)
SELECT dmflow_check(EXISTS (SELECT 1 FROM s), 'DF001', $8)`

const sqlUpdateSession = `
WITH s AS (
	UPDATE sessions SET version = $3 + 1, state = $4, handoff = $5, updated = $6, record = $7
	WHERE account = $1 AND user_id = $2 AND version = $3
	RETURNING 1)
SELECT dmflow_check(EXISTS (SELECT 1 FROM s), 'DF001', $8)`

const sqlInsertTimers = `
INSERT INTO timers (account, user_id, timer_id, due, event_key, record)
SELECT $1, $2, id, due, k, r FROM unnest($3::text[], $4::int8[], $5::text[], $6::bytea[]) AS t(id, due, k, r)
ON CONFLICT DO NOTHING`

const sqlInsertOutbox = `
INSERT INTO outbox (queue, account, user_id, record)
SELECT q, a, u, r FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS o(q, a, u, r, ord)
ORDER BY ord`

const sqlInsertActions = `
INSERT INTO actions (id, account, user_id, record)
SELECT id, a, u, r FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS a(id, a, u, r, ord)
ORDER BY ord
ON CONFLICT (id) DO NOTHING`

// Commit applies c atomically in one round trip: its statements are
// pipelined in one implicit transaction, and a failed check (lease, version)
// raises an error that rolls all of it back. Concurrent commits are grouped
// (see grouper) into one transaction, one WAL flush for the group; a commit
// whose check fails is taken out and the others run again without it.
func (db *DB) Commit(ctx context.Context, c dmflow.Commit) error {
	op := "commit " + c.Key.String()
	if err := validCommit(c); err != nil {
		return fmt.Errorf("store/postgres: %s: %w", op, err)
	}
	b, err := commitBatch(c)
	if err != nil {
		return fmt.Errorf("store/postgres: %s: %w", op, err)
	}
	if b.Len() == 0 {
		return nil
	}
	if db.closed.Load() {
		return fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrClosed)
	}
	r := &commitReq{op: op, key: c.Key, batch: b, done: make(chan struct{})}
	db.commits.add(ctx, r, db.commitGroup)
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("store/postgres: %s: %w", op, ctx.Err())
	}
	return r.err
}

// commitReq is one Commit waiting in a group.
type commitReq struct {
	op    string
	key   dmflow.SessionKey
	batch *pgx.Batch
	err   error
	done  chan struct{}
}

// failedAt is the error of the statement at index i of a combined batch.
type failedAt struct {
	i   int
	err error
}

func (f *failedAt) Error() string { return f.err.Error() }
func (f *failedAt) Unwrap() error { return f.err }

// commitGroup runs the commits rs in one transaction. A commit whose
// statement fails in the server (a lease or version check) gets that error
// and the rest run again without it; any other error (the connection, the
// context) is every commit's. Deadlocks and serialization failures retry
// the group, like run.
func (db *DB) commitGroup(ctx context.Context, rs []*commitReq) {
	// Each commit locks its user's lease row first: in key order, like the
	// claims (see sqlLeaseUsers), so groups and claims never deadlock.
	slices.SortFunc(rs, func(a, b *commitReq) int { return compareKeys(a.key, b.key) })
	for len(rs) > 0 {
		owner := make([]int, 0, len(rs)*4) // statement index -> commit index
		for i, r := range rs {
			for range r.batch.Len() {
				owner = append(owner, i)
			}
		}
		var err error
		for range maxRetries {
			err = func() error {
				// Fresh queued queries each time: pgx keeps a statement
				// description in each, which a failed batch invalidates.
				b := &pgx.Batch{}
				for _, r := range rs {
					for _, q := range r.batch.QueuedQueries {
						b.Queue(q.SQL, q.Arguments...)
					}
				}
				br := db.pool.SendBatch(ctx, b)
				for j := range b.Len() {
					if _, err := br.Exec(); err != nil {
						br.Close()
						return &failedAt{j, err}
					}
				}
				return br.Close()
			}()
			if !retryable(err) {
				break
			}
		}
		var f *failedAt
		var pe *pgconn.PgError
		if errors.As(err, &f) && errors.As(f.err, &pe) && len(rs) > 1 && !retryable(f.err) {
			bad := rs[owner[f.i]]
			bad.err = wrap(bad.op, f.err)
			close(bad.done)
			rs = append(rs[:owner[f.i]:owner[f.i]], rs[owner[f.i]+1:]...)
			continue
		}
		for _, r := range rs {
			r.err = nil
			if err != nil {
				r.err = wrap(r.op, err)
			}
			close(r.done)
		}
		return
	}
}

func validCommit(c dmflow.Commit) error {
	switch {
	case c.Key.Account == "" || c.Key.User == "":
		return fmt.Errorf("bad session key %q: %w", c.Key, dmflow.ErrInvalid)
	case c.Seq != 0 && c.Owner == "":
		return fmt.Errorf("item %d without an owner: %w", c.Seq, dmflow.ErrInvalid)
	case c.Session != nil && c.Session.Key != c.Key:
		return fmt.Errorf("session key %s differs from commit key: %w", c.Session.Key, dmflow.ErrInvalid)
	}
	for _, a := range c.Actions {
		if a.ID == "" {
			return fmt.Errorf("action call %q without id: %w", a.Name, dmflow.ErrInvalid)
		}
	}
	return nil
}

func commitBatch(c dmflow.Commit) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	k := c.Key
	if c.Seq != 0 {
		status := statusDone
		if c.Failed != "" {
			status = statusFailed
		}
		lost := fmt.Sprintf("%s is not leased to %s", k, c.Owner)
		gone := fmt.Sprintf("inbox item %d of %s is not pending", c.Seq, k)
		var replies []byte
		if len(c.Outbox) > 0 {
			var err error
			if replies, err = dmflow.MarshalRecord(c.Outbox); err != nil {
				return nil, err
			}
		}
		b.Queue(sqlFinish, k.Account, k.User, c.Owner, nanos(c.Now), int64(c.Seq), status, c.Failed, lost, gone, replies)
	}
	switch {
	case c.Delete:
		b.Queue("DELETE FROM sessions WHERE account = $1 AND user_id = $2", k.Account, k.User)
		b.Queue("DELETE FROM timers WHERE account = $1 AND user_id = $2", k.Account, k.User)
	case c.Session != nil:
		if err := queueSession(b, k, c.Session, c.Now); err != nil {
			return nil, err
		}
	}
	if err := queueOutbox(b, c); err != nil {
		return nil, err
	}
	queueCounts(b, c)
	return b, queueActions(b, c)
}

// queueSession queues the compare-and-swap write of s and its timers.
func queueSession(b *pgx.Batch, k dmflow.SessionKey, s *dmflow.Session, now time.Time) error {
	stored := s.Clone()
	stored.Key, stored.Version = k, s.Version+1
	if stored.Updated.IsZero() {
		stored.Updated = now
	}
	rec, err := dmflow.MarshalRecord(stored)
	if err != nil {
		return err
	}
	sql := sqlUpdateSession
	if s.Version == 0 {
		sql = sqlInsertSession
	}
	msg := fmt.Sprintf("session %s is not at version %d", k, s.Version)
	b.Queue(sql, k.Account, k.User, int64(s.Version), s.State, s.Handoff != nil, nanos(stored.Updated), rec, msg)
	b.Queue("DELETE FROM timers WHERE account = $1 AND user_id = $2", k.Account, k.User)
	return queueTimers(b, k, s.Timers)
}

func queueTimers(b *pgx.Batch, k dmflow.SessionKey, timers []dmflow.Timer) error {
	if len(timers) == 0 {
		return nil
	}
	var ids, keys []string
	var dues []int64
	var recs [][]byte
	for _, t := range timers {
		ev := timerEvent(k, t)
		rec, err := dmflow.MarshalRecord(ev)
		if err != nil {
			return err
		}
		ids, dues, keys, recs = append(ids, t.ID), append(dues, nanos(t.Due)), append(keys, ev.Key), append(recs, rec)
	}
	b.Queue(sqlInsertTimers, k.Account, k.User, ids, dues, keys, recs)
	return nil
}

// timerEvent is the inbox event a timer becomes when it fires.
func timerEvent(k dmflow.SessionKey, t dmflow.Timer) dmflow.Event {
	return dmflow.Event{
		Key:     "timer:" + t.ID,
		Kind:    dmflow.KindTimer,
		Account: k.Account,
		User:    k.User,
		Time:    t.Due,
		Timer:   &dmflow.TimerFire{ID: t.ID, Name: t.Name, Due: t.Due},
	}
}

// queueOutbox queues c's messages then its notices, in order.
func queueOutbox(b *pgx.Batch, c dmflow.Commit) error {
	var cols outboxCols
	for i := range c.Outbox {
		m := c.Outbox[i]
		if err := cols.add(dmflow.OutboxItem{Queue: dmflow.QueueDM, Key: keyOr(m.Key, c.Key), Message: &m, Created: c.Now}); err != nil {
			return err
		}
	}
	for i := range c.Notices {
		n := c.Notices[i]
		if err := cols.add(dmflow.OutboxItem{Queue: dmflow.QueueNotices, Key: keyOr(n.Key, c.Key), Notice: &n, Created: c.Now}); err != nil {
			return err
		}
	}
	if len(cols.records) > 0 {
		b.Queue(sqlInsertOutbox, cols.queues, cols.accounts, cols.users, cols.records)
	}
	return nil
}

// outboxCols are the columns of outbox rows to insert.
type outboxCols struct {
	queues, accounts, users []string
	records                 [][]byte
}

func (c *outboxCols) add(it dmflow.OutboxItem) error {
	rec, err := dmflow.MarshalRecord(it)
	if err != nil {
		return err
	}
	c.queues = append(c.queues, it.Queue)
	c.accounts = append(c.accounts, it.Key.Account)
	c.users = append(c.users, it.Key.User)
	c.records = append(c.records, rec)
	return nil
}

func keyOr(k, def dmflow.SessionKey) dmflow.SessionKey {
	if k == (dmflow.SessionKey{}) {
		return def
	}
	return k
}

func queueActions(b *pgx.Batch, c dmflow.Commit) error {
	if len(c.Actions) == 0 {
		return nil
	}
	var ids, accounts, users []string
	var recs [][]byte
	for _, a := range c.Actions {
		a.Key = keyOr(a.Key, c.Key)
		if a.Created.IsZero() {
			a.Created = c.Now
		}
		rec, err := dmflow.MarshalRecord(a)
		if err != nil {
			return err
		}
		ids, recs = append(ids, a.ID), append(recs, rec)
		accounts, users = append(accounts, a.Key.Account), append(users, a.Key.User)
	}
	b.Queue(sqlInsertActions, ids, accounts, users, recs)
	return nil
}

// GetSession returns the stored session or an error wrapping ErrNotFound.
func (db *DB) GetSession(ctx context.Context, key dmflow.SessionKey) (*dmflow.Session, error) {
	return getRecord[dmflow.Session](ctx, db, "get session "+key.String(),
		"SELECT record FROM sessions WHERE account = $1 AND user_id = $2", key.Account, key.User)
}

const sqlListSessions = `
SELECT record FROM sessions
WHERE ($1 = '' OR account = $1) AND ($2 = '' OR state = $2) AND (NOT $3 OR handoff)
	AND (account, user_id) > ($4, $5)
ORDER BY account, user_id LIMIT $6`

// ListSessions returns sessions matching f in key order (bytewise).
func (db *DB) ListSessions(ctx context.Context, f dmflow.SessionFilter) ([]*dmflow.Session, error) {
	return listRecords[dmflow.Session](ctx, db, "list sessions", sqlListSessions,
		f.Account, f.State, f.Handoff, f.After.Account, f.After.User, pageSize(f.Limit))
}

const sqlExpireSessions = `
WITH d AS (DELETE FROM sessions WHERE updated < $1 RETURNING account, user_id),
t AS (DELETE FROM timers t USING d WHERE t.account = d.account AND t.user_id = d.user_id)
SELECT count(*) FROM d`

// ExpireSessions deletes sessions not updated since before, with their timers.
func (db *DB) ExpireSessions(ctx context.Context, before time.Time) (int, error) {
	return db.count(ctx, "expire sessions", sqlExpireSessions, nanos(before))
}

// compareKeys orders session keys bytewise by account, then user: the
// order in which transactions lock several users' lease rows (COLLATE "C"
// in SQL).
func compareKeys(a, b dmflow.SessionKey) int {
	if c := strings.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	return strings.Compare(a.User, b.User)
}
