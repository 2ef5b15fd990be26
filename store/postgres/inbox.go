package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// Inbox statuses.
const (
	statusPending = 0
	statusDone    = 1
	statusFailed  = 2
)

const leaseInbox = "inbox"

// sqlAppend inserts a batch of events in one statement, in order. First
// (forget) it releases the keys $1 of finished items received at or before
// $6 (past the dedupe retention), so they count as new again: the insert
// refers to forget, so forget runs to completion first, and the row
// versions it replaced no longer conflict. Then keys seen before (also
// earlier in the batch) and keys remembered after $6 are skipped. It
// returns the keys inserted.
const sqlAppend = `
WITH forget AS (
	UPDATE inbox SET event_key = NULL
	WHERE event_key = ANY($1) AND status <> 0 AND received <= $6
	RETURNING 1)
INSERT INTO inbox (event_key, account, user_id, received, record)
SELECT k, a, u, $5, r
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS e(k, a, u, r, ord)
WHERE (SELECT count(*) FROM forget) >= 0
	AND NOT EXISTS (SELECT 1 FROM remembered m WHERE m.event_key = e.k AND m.at > $6)
ORDER BY ord
ON CONFLICT (event_key) DO NOTHING
RETURNING event_key`

// appendReq is one AppendInbox call waiting in a group.
type appendReq struct {
	cols  eventCols
	now   time.Time
	added int
	err   error
	done  chan struct{}
}

// AppendInbox stores the events whose Key was not seen before (pending, or
// received within the DedupeRetention), in order. Concurrent calls are
// grouped (see grouper): their events go in one statement (sqlAppend), one
// implicit transaction, so many webhooks at once cost one
// round trip and one WAL flush; each call returns once its events are
// committed.
func (db *DB) AppendInbox(ctx context.Context, events []dmflow.Event, now time.Time) (dmflow.AppendResult, error) {
	if len(events) == 0 {
		return dmflow.AppendResult{}, nil
	}
	cols, err := eventColumns(events)
	if err != nil {
		return dmflow.AppendResult{}, fmt.Errorf("store/postgres: append inbox: %w", err)
	}
	if db.closed.Load() {
		return dmflow.AppendResult{}, fmt.Errorf("store/postgres: append inbox: %w", dmflow.ErrClosed)
	}
	r := &appendReq{cols: cols, now: now, done: make(chan struct{})}
	db.apps.add(ctx, r, db.appendBatch)
	select {
	case <-r.done:
	case <-ctx.Done():
		return dmflow.AppendResult{}, fmt.Errorf("store/postgres: append inbox: %w", ctx.Err())
	}
	if r.err != nil {
		return dmflow.AppendResult{}, r.err
	}
	return dmflow.AppendResult{Added: r.added, Duplicates: len(events) - r.added}, nil
}

// appendBatch appends the events of rs in one transaction, received at
// the latest of their times, in call order.
func (db *DB) appendBatch(ctx context.Context, rs []*appendReq) {
	var all eventCols
	now := rs[0].now
	first := map[string]*appendReq{} // the call whose event with this key comes first
	for _, r := range rs {
		if r.now.After(now) {
			now = r.now
		}
		all.keys = append(all.keys, r.cols.keys...)
		all.accounts = append(all.accounts, r.cols.accounts...)
		all.users = append(all.users, r.cols.users...)
		all.records = append(all.records, r.cols.records...)
		for _, k := range r.cols.keys {
			if first[k] == nil {
				first[k] = r
			}
		}
	}
	err := db.run(ctx, "append inbox", func(ctx context.Context) error {
		for _, r := range rs {
			r.added = 0
		}
		// Planned per call (customPlan): a prepared append switched to a
		// generic plan made while the inbox was empty, whose forget step
		// then read the whole table on every append (~400 buffers and 3 ms
		// per call by the end of a 20,000-event bench).
		rows, err := db.pool.Query(ctx, sqlAppend, customPlan, all.keys, all.accounts, all.users, all.records,
			nanos(now), db.appendCutoff(now))
		if err != nil {
			return err
		}
		var k string
		_, err = pgx.ForEachRow(rows, []any{&k}, func() error {
			if r := first[k]; r != nil {
				r.added++
			}
			return nil
		})
		return err
	})
	for _, r := range rs {
		r.err = err
		close(r.done)
	}
}

// queueAppend queues the statement appending cols at now.
func (db *DB) queueAppend(b *pgx.Batch, cols eventCols, now time.Time) *pgx.QueuedQuery {
	return b.Queue(sqlAppend, cols.keys, cols.accounts, cols.users, cols.records, nanos(now), db.appendCutoff(now))
}

// appendCutoff is the received time at or before which an append forgets
// a done item's key (the DedupeRetention before now).
func (db *DB) appendCutoff(now time.Time) int64 {
	return nanos(now.Add(-db.opts.DedupeRetention))
}

// eventCols are the columns of events to append.
type eventCols struct {
	keys, accounts, users []string
	records               [][]byte
}

func eventColumns(events []dmflow.Event) (eventCols, error) {
	var c eventCols
	for i := range events {
		e := &events[i]
		if err := e.Check(); err != nil {
			return c, fmt.Errorf("event %d: %w", i, err)
		}
		rec, err := dmflow.MarshalRecord(e)
		if err != nil {
			return c, err
		}
		c.keys = append(c.keys, e.Key)
		c.accounts = append(c.accounts, e.Account)
		c.users = append(c.users, e.User)
		c.records = append(c.records, rec)
	}
	return c, nil
}

// sqlLeaseUsers is the shared tail of the claim statements: it takes the
// lease of each candidate user (cand: account, user_id, first) whose lease
// is free, expired ($4 = now), held by $1 or by a dead owner (its heartbeat
// expired, see Heartbeat), renewing it to $3 with ttl $5 (never shortening
// $1's own lease), and yields the users claimed as ours.
//
// Users whose lease $1 holds with more than half of it left, while $1's
// own heartbeat has more than claimMargin left (mine), are handed out as
// they are in the statement's snapshot, without touching their lease rows:
// no other owner may take them before then (it would have to see the lease
// expired or $1 dead), so the claim neither writes nor waits for the rows
// that commits in flight hold (a claim that locked its own busy users
// queued behind their grouped commits and they behind it). Their leases are
// renewed by commits, renewals and, once half is gone, by the next claim.
//
// ON CONFLICT DO UPDATE locks the lease row and re-checks the condition
// against the latest committed lease, so two owners never both win a user.
// The rows are locked in key order (bytewise, like Go's string order): every
// statement that locks several lease rows in one transaction (claims,
// grouped commits and acknowledgements) takes them in that order, so they
// may wait for each other but never deadlock (a deadlock costs PostgreSQL's
// deadlock_timeout, 1 s, for every transaction in the cycle).
const sqlLeaseUsers = `
mine AS (
	SELECT c.account, c.user_id FROM cand c
	JOIN leases l ON l.queue = $2 AND l.account = c.account AND l.user_id = c.user_id
	WHERE l.owner = $1 AND l.expires > $4 + l.ttl / 2
		AND EXISTS (SELECT 1 FROM replicas r WHERE r.owner = $1 AND r.expires > $4 + ` + claimMargin + `)),
got AS (
	INSERT INTO leases AS l (queue, account, user_id, owner, expires, ttl)
	SELECT $2, c.account, c.user_id, $1, $3, $5 FROM cand c
	WHERE NOT EXISTS (SELECT 1 FROM mine m WHERE m.account = c.account AND m.user_id = c.user_id)
	ORDER BY c.account COLLATE "C", c.user_id COLLATE "C"
	ON CONFLICT (queue, account, user_id) DO UPDATE
		SET owner = excluded.owner, ttl = excluded.ttl, expires = CASE WHEN l.owner = excluded.owner
			THEN greatest(l.expires, excluded.expires) ELSE excluded.expires END
		WHERE l.owner = excluded.owner OR l.expires <= $4 OR ` + sqlDeadOwner + `
	RETURNING account, user_id),
ours AS (SELECT account, user_id FROM mine UNION ALL SELECT account, user_id FROM got)`

// claimMargin is how long (in Unix nanoseconds, SQL text) the claiming
// owner's heartbeat must still be valid for its held users to be handed
// out without locking their leases: far longer than a claim statement runs.
const claimMargin = "500000000"

// sqlClaimInbox leases pending items to $1, shared between accounts
// round-robin: accts lists the accounts with pending items (a loose scan of
// inbox_pending_account, one index probe per account), eligible takes each
// account's oldest $6 items that $1 may take (not claimed by $1, user's
// lease free, expired or $1's), and picked takes the first of every
// account, then the second, and so on (older first within a round), at
// most $6. It leases those items' users and hands out the picked items of
// the users it got. Each account's items are a prefix of its eligible
// items in Seq order, so every user's are too. Its cost grows with the
// accounts and with the items it must skip (users leased by other owners),
// not with one account's backlog.
// With each user's first item it returns the user's stored session (version
// and record, NULL when none), kept for WorkSession: the worker's session
// read rides on the claim.
const sqlClaimInbox = `
WITH RECURSIVE accts AS (
	(SELECT account FROM inbox WHERE status = 0 ORDER BY account LIMIT 1)
	UNION ALL
	SELECT (SELECT i.account FROM inbox i WHERE i.status = 0 AND i.account > a.account ORDER BY i.account LIMIT 1)
	FROM accts a WHERE a.account IS NOT NULL),
eligible AS (
	SELECT e.account, e.user_id, e.seq, row_number() OVER (PARTITION BY e.account ORDER BY e.seq) AS rn
	FROM accts a CROSS JOIN LATERAL (
		SELECT i.account, i.user_id, i.seq
		FROM inbox i
		LEFT JOIN leases l ON l.queue = $2 AND l.account = i.account AND l.user_id = i.user_id
		WHERE i.account = a.account AND i.status = 0 AND i.claimed_by IS DISTINCT FROM $1
			AND (l.owner IS NULL OR l.owner = $1 OR l.expires <= $4 OR ` + sqlDeadOwner + `)
		ORDER BY i.seq
		LIMIT $6) e
	WHERE a.account IS NOT NULL),
picked AS (
	SELECT account, user_id, seq FROM eligible ORDER BY rn, seq LIMIT $6),
cand AS (
	SELECT account, user_id, min(seq) AS first FROM picked GROUP BY account, user_id),` + sqlLeaseUsers + `,
claimed AS (
	UPDATE inbox SET claimed_by = $1, attempts = attempts + 1
	WHERE status = 0 AND seq IN (
		SELECT p.seq FROM picked p JOIN ours g ON g.account = p.account AND g.user_id = p.user_id)
	RETURNING seq, attempts, received, record, account, user_id),
firsts AS (SELECT account, user_id, min(seq) AS seq FROM claimed GROUP BY account, user_id)
SELECT c.seq, c.attempts, c.received, c.record, f.seq IS NOT NULL, s.version, s.record
FROM claimed c
LEFT JOIN firsts f ON f.seq = c.seq
LEFT JOIN sessions s ON f.seq IS NOT NULL AND s.account = c.account AND s.user_id = c.user_id`

// ClaimInbox leases pending items to c.Owner; see dmflow.Inbox.
func (db *DB) ClaimInbox(ctx context.Context, c dmflow.Claim) ([]dmflow.InboxItem, error) {
	if c.Owner == "" || c.Max < 1 {
		return nil, fmt.Errorf("store/postgres: claim inbox: need an owner and Max >= 1: %w", dmflow.ErrInvalid)
	}
	var items []dmflow.InboxItem
	err := db.run(ctx, "claim inbox", func(ctx context.Context) error {
		ttl := db.leaseTTL(c)
		rows, err := db.pool.Query(ctx, sqlClaimInbox, customPlan, c.Owner, leaseInbox, nanos(c.Now.Add(ttl)), nanos(c.Now), int64(ttl), c.Max)
		if err != nil {
			return err
		}
		items, err = db.collectClaimed(rows, c.Owner)
		return err
	})
	sort.Slice(items, func(i, j int) bool { return items[i].Seq < items[j].Seq })
	return items, err
}

// collectClaimed scans the rows of sqlClaimInbox and keeps the sessions
// they carry as owner's (see workCache).
func (db *DB) collectClaimed(rows pgx.Rows, owner string) ([]dmflow.InboxItem, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.InboxItem, error) {
		var it dmflow.InboxItem
		var first bool
		var version *int64
		var sess []byte
		if err := scanInbox(row, &it, &first, &version, &sess); err != nil {
			return it, err
		}
		if first {
			v := uint64(0)
			if version != nil {
				v = uint64(*version)
			}
			db.work.fetched(owner, it.Event.SessionKey(), v, sess)
		}
		return it, nil
	})
}

// collectHistory scans rows of (seq, attempts, received, record, replies).
func collectHistory(rows pgx.Rows) ([]dmflow.InboxItem, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.InboxItem, error) {
		var it dmflow.InboxItem
		var replies []byte
		if err := scanInbox(row, &it, &replies); err != nil {
			return it, err
		}
		if replies != nil {
			if err := decode(replies, &it.Replies, fmt.Sprintf("replies of inbox item %d", it.Seq)); err != nil {
				return it, err
			}
		}
		return it, nil
	})
}

// scanInbox scans (seq, attempts, received, record, dest...) into it.
func scanInbox(row pgx.CollectableRow, it *dmflow.InboxItem, dest ...any) error {
	var seq, received int64
	var attempts int32
	var rec []byte
	if err := row.Scan(append([]any{&seq, &attempts, &received, &rec}, dest...)...); err != nil {
		return err
	}
	if err := decode(rec, &it.Event, fmt.Sprintf("inbox item %d", seq)); err != nil {
		return err
	}
	it.Seq, it.Attempts, it.Received = uint64(seq), int(attempts), fromNanos(received)
	return nil
}

// sqlRelease drops $2's leases of queue $1 (users $3/$4 when given) and
// unclaims its items in table %s.
const sqlRelease = `
WITH rel AS (
	DELETE FROM leases WHERE queue = $1 AND owner = $2
		AND ($3::text[] IS NULL OR (account, user_id) IN (SELECT * FROM unnest($3::text[], $4::text[])))
	RETURNING 1)
UPDATE %s SET claimed_by = NULL
WHERE claimed_by = $2 %s
	AND ($3::text[] IS NULL OR (account, user_id) IN (SELECT * FROM unnest($3::text[], $4::text[])))`

var (
	sqlReleaseInbox  = fmt.Sprintf(sqlRelease, "inbox", "AND status = 0")
	sqlReleaseOutbox = fmt.Sprintf(sqlRelease, "outbox", "AND queue = $5")
)

// ReleaseInbox gives up owner's leases on the users (all when none given).
func (db *DB) ReleaseInbox(ctx context.Context, owner string, keys ...dmflow.SessionKey) error {
	if len(keys) == 0 {
		db.work.dropWhere(func(_ dmflow.SessionKey, e *workEntry) bool { return e.owner == owner })
	}
	db.work.drop(keys...)
	accounts, users := keyColumns(keys)
	return db.run(ctx, "release inbox", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, sqlReleaseInbox, leaseInbox, owner, accounts, users)
		return err
	})
}

// RenewInbox extends owner's live inbox leases on keys.
func (db *DB) RenewInbox(ctx context.Context, owner string, now time.Time, keys ...dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	lost, err := db.renew(ctx, "renew inbox", leaseInbox, owner, now, keys)
	db.work.drop(lost...)
	return lost, err
}

// sqlRenew extends $2's live leases ($3 = now) of queue $1 on the users
// $4/$5 by their ttl and returns the users $2 holds. Rows locked by another
// transaction are not waited for: a renewal of hundreds of users must not
// queue behind (and hold up) the commits and claims in flight, and the
// lease of a user being committed is renewed by that commit. Such a user
// counts as held (by the snapshot), so it is not reported lost; a takeover
// in flight is learnt at the next renewal or commit.
const sqlRenew = `
WITH held AS (
	SELECT account, user_id FROM leases
	WHERE queue = $1 AND owner = $2 AND expires > $3
		AND (account, user_id) IN (SELECT * FROM unnest($4::text[], $5::text[]))),
lk AS (
	SELECT l.queue, l.account, l.user_id FROM leases l JOIN held h ON h.account = l.account AND h.user_id = l.user_id
	WHERE l.queue = $1 AND l.owner = $2 AND l.expires > $3
	ORDER BY l.account, l.user_id
	FOR UPDATE OF l SKIP LOCKED),
upd AS (
	UPDATE leases l SET expires = greatest(l.expires, $3 + l.ttl) FROM lk
	WHERE l.queue = lk.queue AND l.account = lk.account AND l.user_id = lk.user_id
	RETURNING 1)
SELECT account, user_id FROM held WHERE (SELECT count(*) FROM upd) >= 0`

// renew renews owner's leases of queue on keys and returns the keys it
// does not hold.
func (db *DB) renew(ctx context.Context, op, queue, owner string, now time.Time, keys []dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	accounts, users := keyColumns(keys)
	var held map[dmflow.SessionKey]bool
	err := db.run(ctx, op, func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, sqlRenew, customPlan, queue, owner, nanos(now), accounts, users)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.SessionKey, error) {
			var k dmflow.SessionKey
			return k, row.Scan(&k.Account, &k.User)
		})
		held = make(map[dmflow.SessionKey]bool, len(got))
		for _, k := range got {
			held[k] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var lost []dmflow.SessionKey
	for _, k := range keys {
		if !held[k] {
			lost = append(lost, k)
		}
	}
	return lost, nil
}

// Remembered reports whether AckOutbox remembered key within the
// DedupeRetention before now.
func (db *DB) Remembered(ctx context.Context, key string, now time.Time) (bool, error) {
	var ok bool
	err := db.run(ctx, "remembered", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM remembered WHERE event_key = $1 AND at > $2)",
			key, nanos(now.Add(-db.opts.DedupeRetention))).Scan(&ok)
	})
	return ok, err
}

// keyColumns splits keys into parallel arrays; no keys gives nil arrays
// (SQL NULL, meaning all users).
func keyColumns(keys []dmflow.SessionKey) (accounts, users []string) {
	for _, k := range keys {
		accounts = append(accounts, k.Account)
		users = append(users, k.User)
	}
	return accounts, users
}

// InboxDepth returns how many items are not done yet.
func (db *DB) InboxDepth(ctx context.Context) (int, error) {
	return db.count(ctx, "inbox depth", "SELECT count(*) FROM inbox WHERE status = 0")
}

// count runs a query returning one number.
func (db *DB) count(ctx context.Context, op, sql string, args ...any) (int, error) {
	var n int64
	err := db.run(ctx, op, func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, sql, args...).Scan(&n)
	})
	return int(n), err
}

// History returns the user's latest limit items (done, failed and pending),
// oldest first.
func (db *DB) History(ctx context.Context, key dmflow.SessionKey, limit int) ([]dmflow.InboxItem, error) {
	var items []dmflow.InboxItem
	err := db.run(ctx, "history "+key.String(), func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT seq, attempts, received, record, replies FROM (
			SELECT seq, attempts, received, record, replies FROM inbox WHERE account = $1 AND user_id = $2
			ORDER BY seq DESC LIMIT $3) h ORDER BY seq`, key.Account, key.User, pageSize(limit))
		if err != nil {
			return err
		}
		items, err = collectHistory(rows)
		return err
	})
	return items, err
}

// FailedInbox lists failed items, oldest first.
func (db *DB) FailedInbox(ctx context.Context, limit int) ([]dmflow.FailedItem, error) {
	var out []dmflow.FailedItem
	err := db.run(ctx, "failed inbox", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT seq, attempts, received, record, reason, failed_at FROM inbox
			WHERE status = 2 ORDER BY seq LIMIT $1`, pageSize(limit))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanFailed)
		return err
	})
	return out, err
}

func scanFailed(row pgx.CollectableRow) (dmflow.FailedItem, error) {
	var f dmflow.FailedItem
	var at int64
	if err := scanInbox(row, &f.Item, &f.Reason, &at); err != nil {
		return f, err
	}
	f.At = fromNanos(at)
	return f, nil
}

// sqlFireTimers moves due timers into the inbox in one statement. SKIP
// LOCKED lets replicas fire disjoint timers concurrently; each fires once.
// Commit stored each timer's KindTimer event record ahead.
const sqlFireTimers = `
WITH due AS (
	SELECT account, user_id, timer_id FROM timers WHERE due <= $1
	ORDER BY due, timer_id LIMIT $2 FOR UPDATE SKIP LOCKED),
fired AS (
	DELETE FROM timers t USING due
	WHERE t.account = due.account AND t.user_id = due.user_id AND t.timer_id = due.timer_id
	RETURNING t.account, t.user_id, t.due, t.timer_id, t.event_key, t.record),
ins AS (
	INSERT INTO inbox (event_key, account, user_id, received, record)
	SELECT event_key, account, user_id, $1, record FROM fired ORDER BY due, timer_id
	ON CONFLICT (event_key) DO NOTHING)
SELECT count(*) FROM fired`

// FireTimers moves timers due at or before now into the inbox.
func (db *DB) FireTimers(ctx context.Context, now time.Time, max int) (int, error) {
	if max <= 0 {
		max = 1 << 30
	}
	return db.count(ctx, "fire timers", sqlFireTimers, nanos(now), max)
}

// NextTimer returns the earliest pending timer's due time.
func (db *DB) NextTimer(ctx context.Context) (time.Time, bool, error) {
	var due *int64
	err := db.run(ctx, "next timer", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, "SELECT min(due) FROM timers").Scan(&due)
	})
	if err != nil || due == nil {
		return time.Time{}, false, err
	}
	return fromNanos(*due), true, nil
}

// PruneInbox forgets done items (and so their keys) received before
// before, and the keys remembered before it.
func (db *DB) PruneInbox(ctx context.Context, before time.Time) (int, error) {
	return db.count(ctx, "prune inbox", `WITH d AS (DELETE FROM inbox WHERE status = 1 AND received < $1 RETURNING 1),
		r AS (DELETE FROM remembered WHERE at < $1 RETURNING 1)
		SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM r)`, nanos(before))
}
