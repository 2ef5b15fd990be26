package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// sqlClaimOutbox leases due items of queue $7 to $1, shared between
// accounts round-robin, like sqlClaimInbox: accts lists the accounts with
// queued items (a loose scan of outbox_user, one index probe per account),
// eligible takes each account's oldest $6 items that $1 may take (not
// claimed by $1, user's lease free, expired or $1's, user's head item due:
// a user waiting for a retry contributes nothing), leaving out the
// accounts in $8, and picked takes the first of every account, then the
// second, and so on (older first within a round), at most $6. It leases
// those items' users and hands out the picked items of the users it got.
// Each account's items are a prefix of its eligible items in Seq order, so
// every user's are too. An account's walk (outbox_account) stops at $6
// eligible items; the items it must skip (users leased by other owners or
// waiting for a retry) are read, as before the claim was fair.
const sqlClaimOutbox = `
WITH RECURSIVE accts AS (
	(SELECT account FROM outbox WHERE queue = $7 ORDER BY account LIMIT 1)
	UNION ALL
	SELECT (SELECT o.account FROM outbox o WHERE o.queue = $7 AND o.account > a.account ORDER BY o.account LIMIT 1)
	FROM accts a WHERE a.account IS NOT NULL),
eligible AS (
	SELECT e.account, e.user_id, e.seq, row_number() OVER (PARTITION BY e.account ORDER BY e.seq) AS rn
	FROM accts a CROSS JOIN LATERAL (
		SELECT o.account, o.user_id, o.seq
		FROM outbox o
		LEFT JOIN leases l ON l.queue = $2 AND l.account = o.account AND l.user_id = o.user_id
		WHERE o.queue = $7 AND o.account = a.account AND o.claimed_by IS DISTINCT FROM $1
			AND (l.owner IS NULL OR l.owner = $1 OR l.expires <= $4 OR ` + sqlDeadOwner + `)
			AND (SELECT h.not_before FROM outbox h WHERE h.queue = $7 AND h.account = o.account
				AND h.user_id = o.user_id ORDER BY h.seq LIMIT 1) <= $4
		ORDER BY o.seq
		LIMIT $6) e
	WHERE a.account IS NOT NULL AND NOT (a.account = ANY($8::text[]))),
picked AS (
	SELECT account, user_id, seq FROM eligible ORDER BY rn, seq LIMIT $6),
cand AS (
	SELECT account, user_id, min(seq) AS first FROM picked GROUP BY account, user_id),` + sqlLeaseUsers + `
UPDATE outbox SET claimed_by = $1
WHERE claimed_by IS DISTINCT FROM $1 AND seq IN (
	SELECT p.seq FROM picked p JOIN ours g ON g.account = p.account AND g.user_id = p.user_id)
RETURNING seq, attempts, not_before, last_error, record`

func leaseOutbox(queue string) string { return "outbox:" + queue }

// ClaimOutbox leases due items of one queue to c.Owner; see dmflow.Outbox.
func (db *DB) ClaimOutbox(ctx context.Context, queue string, c dmflow.Claim) ([]dmflow.OutboxItem, error) {
	if c.Owner == "" || c.Max < 1 {
		return nil, fmt.Errorf("store/postgres: claim outbox %s: need an owner and Max >= 1: %w", queue, dmflow.ErrInvalid)
	}
	var items []dmflow.OutboxItem
	err := db.run(ctx, "claim outbox "+queue, func(ctx context.Context) error {
		ttl := db.leaseTTL(c)
		skip := c.Skip
		if skip == nil {
			skip = []string{} // NULL would leave out every account
		}
		rows, err := db.pool.Query(ctx, sqlClaimOutbox, customPlan, c.Owner, leaseOutbox(queue), nanos(c.Now.Add(ttl)),
			nanos(c.Now), int64(ttl), c.Max, queue, skip)
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, outboxItem)
		return err
	})
	sort.Slice(items, func(i, j int) bool { return items[i].Seq < items[j].Seq })
	return items, err
}

// outboxItem reads one outbox row (pgx.RowToFunc).
func outboxItem(row pgx.CollectableRow) (dmflow.OutboxItem, error) {
	var it dmflow.OutboxItem
	return it, scanOutbox(row, &it)
}

// scanOutbox scans (seq, attempts, not_before, last_error, record, dest...).
func scanOutbox(row pgx.CollectableRow, it *dmflow.OutboxItem, dest ...any) error {
	var seq, notBefore int64
	var attempts int32
	var rec []byte
	if err := row.Scan(append([]any{&seq, &attempts, &notBefore, &it.LastError, &rec}, dest...)...); err != nil {
		return err
	}
	lastError := it.LastError
	if err := decode(rec, it, fmt.Sprintf("outbox item %d", seq)); err != nil {
		return err
	}
	it.Seq, it.Attempts, it.NotBefore, it.LastError = uint64(seq), int(attempts), fromNanos(notBefore), lastError
	return nil
}

// sqlAck renews owner $2's live leases ($3 = now) on the users of the
// outbox items $1, locking the lease rows in key order (see
// sqlLeaseUsers), then deletes the items (the one-time filter on renewed
// runs the renewal first: lease rows before outbox rows, like the claims)
// and remembers the keys $4 at $3 (refreshing a key remembered at or
// before $5, past the dedupe retention), all in one statement. It returns
// each deleted item with its lease and whether owner's lease was renewed.
const sqlAck = `
WITH u AS (SELECT DISTINCT 'outbox:' || queue AS queue, account, user_id FROM outbox WHERE seq = ANY($1)),
lk AS (
	SELECT l.queue, l.account, l.user_id FROM leases l
	JOIN u ON l.queue = u.queue AND l.account = u.account AND l.user_id = u.user_id
	WHERE l.owner = $2 AND l.expires > $3
	ORDER BY l.account COLLATE "C", l.user_id COLLATE "C", l.queue COLLATE "C"
	FOR UPDATE OF l),
renewed AS (
	UPDATE leases l SET expires = greatest(l.expires, $3 + l.ttl) FROM lk
	WHERE l.queue = lk.queue AND l.account = lk.account AND l.user_id = lk.user_id AND l.owner = $2 AND l.expires > $3
	RETURNING l.queue, l.account, l.user_id),
acked AS (
	DELETE FROM outbox WHERE seq = ANY($1) AND (SELECT count(*) FROM renewed) >= 0
	RETURNING seq, 'outbox:' || queue AS queue, account, user_id),
rem AS (
	INSERT INTO remembered AS m (event_key, at) SELECT DISTINCT k, $3::int8 FROM unnest($4::text[]) AS k
	ON CONFLICT (event_key) DO UPDATE SET at = excluded.at WHERE m.at <= $5)
SELECT a.seq, a.account, a.user_id,
	EXISTS (SELECT 1 FROM renewed r WHERE r.queue = a.queue AND r.account = a.account AND r.user_id = a.user_id)
FROM acked a`

// AckOutbox removes delivered items, renews owner's leases on their users
// and remembers the acks' keys, in one implicit transaction (the
// statements are pipelined: one round trip). Concurrent acknowledgements
// of one owner are grouped into one transaction (see grouper), so a
// drainer acknowledging each reply separately, for many users at once,
// costs one round trip and one WAL flush per group. The items are removed
// whoever holds their user now (they were delivered); a user owner does
// not hold is reported as ErrLeaseLost after the transaction committed.
func (db *DB) AckOutbox(ctx context.Context, owner string, now time.Time, acks ...dmflow.Ack) error {
	if len(acks) == 0 {
		return nil
	}
	if db.closed.Load() {
		return fmt.Errorf("store/postgres: ack outbox: %w", dmflow.ErrClosed)
	}
	return db.ackGrouped(ctx, &ackReq{owner: owner, now: now, acks: acks, done: make(chan struct{})})
}

// ackReq is one AckOutbox call waiting in an ackGroup.
type ackReq struct {
	owner string
	now   time.Time
	acks  []dmflow.Ack
	lost  []string // users of this call's items the owner does not hold
	err   error
	done  chan struct{}
}

// ackGrouped runs r in a group (see grouper) and waits for its result.
func (db *DB) ackGrouped(ctx context.Context, r *ackReq) error {
	db.acks.add(ctx, r, db.ackBatch)
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("store/postgres: ack outbox: %w", ctx.Err())
	}
	if r.err == nil && len(r.lost) > 0 {
		r.err = fmt.Errorf("store/postgres: ack outbox: acknowledged, but %v no longer leased to %s: %w", r.lost, r.owner, dmflow.ErrLeaseLost)
	}
	return r.err
}

// ackBatch acknowledges the calls of batch, one transaction per owner.
func (db *DB) ackBatch(ctx context.Context, batch []*ackReq) {
	byOwner := map[string][]*ackReq{}
	for _, r := range batch {
		byOwner[r.owner] = append(byOwner[r.owner], r)
	}
	for owner, rs := range byOwner {
		err := db.ackOwner(ctx, owner, rs)
		for _, r := range rs {
			r.err = err
			close(r.done)
		}
	}
}

// ackOwner runs one transaction for owner's calls rs at the latest of
// their times, and records each call's lost users.
func (db *DB) ackOwner(ctx context.Context, owner string, rs []*ackReq) error {
	var ids []int64
	var keys []string
	bySeq := map[int64]*ackReq{}
	now := rs[0].now
	for _, r := range rs {
		if r.now.After(now) {
			now = r.now
		}
		for _, a := range r.acks {
			ids = append(ids, int64(a.Seq))
			bySeq[int64(a.Seq)] = r
			if a.Remember != "" {
				keys = append(keys, a.Remember)
			}
		}
	}
	return db.run(ctx, "ack outbox", func(ctx context.Context) error {
		for _, r := range rs {
			r.lost = nil
		}
		rows, err := db.pool.Query(ctx, sqlAck, ids, owner, nanos(now), keys, nanos(now.Add(-db.opts.DedupeRetention)))
		if err != nil {
			return err
		}
		var seq int64
		var key dmflow.SessionKey
		var held bool
		_, err = pgx.ForEachRow(rows, []any{&seq, &key.Account, &key.User, &held}, func() error {
			if r := bySeq[seq]; r != nil && !held && !slices.Contains(r.lost, key.String()) {
				r.lost = append(r.lost, key.String())
			}
			return nil
		})
		return err
	})
}

// RenewOutbox extends owner's live leases on the queue of keys.
func (db *DB) RenewOutbox(ctx context.Context, queue, owner string, now time.Time, keys ...dmflow.SessionKey) ([]dmflow.SessionKey, error) {
	return db.renew(ctx, "renew outbox "+queue, leaseOutbox(queue), owner, now, keys)
}

// sqlRetry delays item $1 until $2 with Attempts+1 and LastError $3, and
// unclaims it together with owner $4's later items of the user, which must
// wait for their head.
const sqlRetry = `
UPDATE outbox o SET claimed_by = NULL,
	attempts = CASE WHEN o.seq = $1 THEN o.attempts + 1 ELSE o.attempts END,
	not_before = CASE WHEN o.seq = $1 THEN $2 ELSE o.not_before END,
	last_error = CASE WHEN o.seq = $1 THEN $3 ELSE o.last_error END
FROM outbox t
WHERE t.seq = $1 AND o.queue = t.queue AND o.account = t.account AND o.user_id = t.user_id
	AND (o.seq = $1 OR o.claimed_by = $4)`

// RetryOutbox keeps the item at the head of its user's queue, unclaimed,
// delayed until next. It fails with ErrLeaseLost when another owner holds
// the user's queue lease and ErrNotFound for an unknown seq.
func (db *DB) RetryOutbox(ctx context.Context, owner string, seq uint64, next time.Time, reason string) error {
	return db.withOwnedOut(ctx, fmt.Sprintf("retry outbox %d", seq), owner, seq, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sqlRetry, int64(seq), nanos(next), reason, owner)
		return err
	})
}

const sqlDeadLetter = `
WITH d AS (DELETE FROM outbox WHERE seq = $1 RETURNING *)
INSERT INTO dead_letters (seq, queue, account, user_id, attempts, not_before, last_error, record, reason, dead_at)
SELECT seq, queue, account, user_id, attempts, not_before, last_error, record, $2, $3 FROM d`

// sqlRenewOf renews owner $2's live lease ($3 = now) on the user of item $1.
const sqlRenewOf = `
UPDATE leases l SET expires = greatest(l.expires, $3 + l.ttl) FROM outbox o
WHERE o.seq = $1 AND l.queue = 'outbox:' || o.queue AND l.account = o.account AND l.user_id = o.user_id
	AND l.owner = $2 AND l.expires > $3`

// DeadLetter moves the item to the dead-letter list, with the same checks
// as RetryOutbox, and renews owner's live lease on its user.
func (db *DB) DeadLetter(ctx context.Context, owner string, seq uint64, reason string, now time.Time) error {
	return db.withOwnedOut(ctx, fmt.Sprintf("dead-letter outbox %d", seq), owner, seq, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlRenewOf, int64(seq), owner, nanos(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlDeadLetter, int64(seq), reason, nanos(now))
		return err
	})
}

// sqlOwnedOut locks item $1 and returns the owner of its user's lease.
const sqlOwnedOut = `
SELECT l.owner FROM outbox o
LEFT JOIN leases l ON l.queue = 'outbox:' || o.queue AND l.account = o.account AND l.user_id = o.user_id
WHERE o.seq = $1 FOR UPDATE OF o`

// withOwnedOut runs fn in a transaction after checking that item seq exists
// and that no owner other than owner holds its user's queue lease.
func (db *DB) withOwnedOut(ctx context.Context, op, owner string, seq uint64, fn func(pgx.Tx) error) error {
	return db.run(ctx, op, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var holder *string
			err := tx.QueryRow(ctx, sqlOwnedOut, int64(seq)).Scan(&holder)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return dmflow.ErrNotFound
			case err != nil:
				return err
			case holder != nil && *holder != owner:
				return fmt.Errorf("held by %s: %w", *holder, dmflow.ErrLeaseLost)
			}
			return fn(tx)
		})
	})
}

// execOne runs a statement that must change one row; none is ErrNotFound.
func (db *DB) execOne(ctx context.Context, op, sql string, args ...any) error {
	return db.run(ctx, op, func(ctx context.Context) error {
		tag, err := db.pool.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			return dmflow.ErrNotFound
		}
		return err
	})
}

// ReleaseOutbox gives up owner's leases and claims on the queue.
func (db *DB) ReleaseOutbox(ctx context.Context, queue, owner string, keys ...dmflow.SessionKey) error {
	accounts, users := keyColumns(keys)
	return db.run(ctx, "release outbox "+queue, func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, sqlReleaseOutbox, leaseOutbox(queue), owner, accounts, users, queue)
		return err
	})
}

// OutboxDepth returns how many items of the queue are pending.
func (db *DB) OutboxDepth(ctx context.Context, queue string) (int, error) {
	return db.count(ctx, "outbox depth "+queue, "SELECT count(*) FROM outbox WHERE queue = $1", queue)
}

// PendingOutbox lists up to limit of the user's pending items of the queue,
// oldest first, without claiming them.
func (db *DB) PendingOutbox(ctx context.Context, queue string, key dmflow.SessionKey, limit int) ([]dmflow.OutboxItem, error) {
	var items []dmflow.OutboxItem
	err := db.run(ctx, "pending outbox "+queue, func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT seq, attempts, not_before, last_error, record FROM outbox
			WHERE queue = $1 AND account = $2 AND user_id = $3 ORDER BY seq LIMIT $4`,
			queue, key.Account, key.User, pageSize(limit))
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, outboxItem)
		return err
	})
	return items, err
}

// DeadLetters lists dead letters, oldest first.
func (db *DB) DeadLetters(ctx context.Context, limit int) ([]dmflow.DeadLetter, error) {
	var out []dmflow.DeadLetter
	err := db.run(ctx, "dead letters", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT seq, attempts, not_before, last_error, record, reason, dead_at
			FROM dead_letters ORDER BY dead_at, seq LIMIT $1`, pageSize(limit))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (dmflow.DeadLetter, error) {
			var d dmflow.DeadLetter
			var at int64
			err := scanOutbox(row, &d.Item, &d.Reason, &at)
			d.At = fromNanos(at)
			return d, err
		})
		return err
	})
	return out, err
}

// RequeueDead moves a dead letter to the end of its user's queue.
func (db *DB) RequeueDead(ctx context.Context, seq uint64) error {
	return db.execOne(ctx, fmt.Sprintf("requeue dead letter %d", seq), `
		WITH d AS (DELETE FROM dead_letters WHERE seq = $1 RETURNING queue, account, user_id, last_error, record)
		INSERT INTO outbox (queue, account, user_id, last_error, record)
		SELECT queue, account, user_id, last_error, record FROM d`,
		int64(seq))
}

// DeleteDead removes a dead letter.
func (db *DB) DeleteDead(ctx context.Context, seq uint64) error {
	return db.execOne(ctx, fmt.Sprintf("delete dead letter %d", seq), "DELETE FROM dead_letters WHERE seq = $1", int64(seq))
}
