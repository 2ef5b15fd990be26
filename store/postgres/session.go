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
	var base []byte // the record an item's session was handed out with (WorkSession)
	if c.Seq != 0 && c.Session != nil && c.Session.Version > 0 && !c.Delete {
		base = db.work.base(c.Owner, c.Key, c.Session.Version)
	}
	b, w, err := commitBatch(c, base)
	if err != nil {
		return fmt.Errorf("store/postgres: %s: %w", op, err)
	}
	counts := countRows(c)
	if b.Len() == 0 && len(counts) == 0 {
		return nil
	}
	if db.closed.Load() {
		return fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrClosed)
	}
	r := &commitReq{op: op, key: c.Key, batch: b, counts: counts, done: make(chan struct{})}
	db.commits.add(ctx, r, db.commitGroup)
	select {
	case <-r.done:
	case <-ctx.Done():
		db.work.drop(c.Key)
		return fmt.Errorf("store/postgres: %s: %w", op, ctx.Err())
	}
	db.keepWritten(c, r.err, w)
	return r.err
}

// keepWritten updates the WorkSession copies after a commit: the session an
// item's commit wrote (or deleted) is its owner's copy; a failed commit or
// another write of the session (an operator's) drops the copy.
func (db *DB) keepWritten(c dmflow.Commit, err error, w written) {
	switch {
	case err != nil:
		db.work.drop(c.Key)
	case c.Seq != 0 && c.Delete:
		db.work.wrote(c.Owner, c.Key, nil, nil)
	case c.Seq != 0 && c.Session != nil:
		db.work.wrote(c.Owner, c.Key, w.session, w.rec)
	case c.Delete || c.Session != nil:
		db.work.drop(c.Key)
	}
}

// written is the session a commit writes, as stored.
type written struct {
	session *dmflow.Session
	rec     []byte
}

// commitReq is one Commit waiting in a group.
type commitReq struct {
	op     string
	key    dmflow.SessionKey
	batch  *pgx.Batch
	counts []countRow // added by the group (see queueCounts)
	err    error
	done   chan struct{}
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
				var counts []countRow
				for _, r := range rs {
					for _, q := range r.batch.QueuedQueries {
						b.Queue(q.SQL, q.Arguments...)
					}
					counts = append(counts, r.counts...)
				}
				queueCounts(b, counts)
				br := db.pool.SendBatch(ctx, b)
				for j := range b.Len() {
					if _, err := br.Exec(); err != nil {
						br.Close()
						return &failedAt{j, err}
					}
				}
				return br.Close()
			}()
			if !db.retryable(err) {
				break
			}
		}
		var f *failedAt
		var pe *pgconn.PgError
		if errors.As(err, &f) && f.i < len(owner) && errors.As(f.err, &pe) && len(rs) > 1 && !retryable(f.err) {
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
	n, err := db.count(ctx, "expire sessions", sqlExpireSessions, nanos(before))
	if n > 0 || err != nil {
		db.work.dropWhere(func(dmflow.SessionKey, *workEntry) bool { return true })
	}
	return n, err
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
