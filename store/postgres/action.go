package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
)

// sqlClaimActions leases calls whose lease is free or expired, or held by
// a dead owner (its heartbeat expired), of accounts not in $5, oldest
// first; SKIP LOCKED lets replicas claim disjoint calls concurrently.
const sqlClaimActions = `
UPDATE actions SET owner = $1, expires = $2, attempts = attempts + 1
WHERE id IN (
	SELECT id FROM actions a WHERE (a.owner IS NULL OR a.expires <= $3
		OR EXISTS (SELECT 1 FROM replicas r WHERE r.owner = a.owner AND r.expires <= $3))
		AND NOT (a.account = ANY($5::text[]))
	ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
RETURNING seq, attempts, record`

// ClaimActions leases up to c.Max recorded calls to c.Owner.
func (db *DB) ClaimActions(ctx context.Context, c dmflow.Claim) ([]dmflow.ActionItem, error) {
	if c.Owner == "" || c.Max < 1 {
		return nil, fmt.Errorf("store/postgres: claim actions: need an owner and Max >= 1: %w", dmflow.ErrInvalid)
	}
	type row struct {
		seq  int64
		item dmflow.ActionItem
	}
	var rows []row
	err := db.run(ctx, "claim actions", func(ctx context.Context) error {
		skip := c.Skip
		if skip == nil {
			skip = []string{} // NULL would leave out every account
		}
		rs, err := db.pool.Query(ctx, sqlClaimActions, customPlan, c.Owner, nanos(c.Now.Add(db.leaseTTL(c))), nanos(c.Now), c.Max, skip)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var x row
			var attempts int32
			var rec []byte
			if err := r.Scan(&x.seq, &attempts, &rec); err != nil {
				return x, err
			}
			x.item.Attempts = int(attempts)
			return x, decode(rec, &x.item.Call, "action call")
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	out := make([]dmflow.ActionItem, len(rows))
	for i, r := range rows {
		out[i] = r.item
	}
	return out, nil
}

// sqlReleaseActions drops $1's leases on the calls $2 (all its calls when
// $2 is NULL).
const sqlReleaseActions = `
UPDATE actions SET owner = NULL, expires = 0
WHERE owner = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))`

// ReleaseActions gives up owner's leases on the calls ids (all of owner's
// calls when ids is empty) without changing them, so that any owner's next
// claim takes them.
func (db *DB) ReleaseActions(ctx context.Context, owner string, ids ...string) error {
	var arg []string
	if len(ids) > 0 {
		arg = ids
	}
	return db.run(ctx, "release actions of "+owner, func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, sqlReleaseActions, owner, arg)
		return err
	})
}

// CompleteAction appends result to the inbox and forgets the call, in one
// transaction. Result fields left empty are filled in: Kind
// KindActionResult, Key "action:<id>", Account and User from the call.
// Completing an unknown call is a no-op.
func (db *DB) CompleteAction(ctx context.Context, owner, id string, result dmflow.Event, now time.Time) error {
	return db.run(ctx, "complete action "+id, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var account, user string
			err := tx.QueryRow(ctx, "DELETE FROM actions WHERE id = $1 RETURNING account, user_id", id).Scan(&account, &user)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			cols, err := eventColumns([]dmflow.Event{fillResult(result, id, account, user)})
			if err != nil {
				return err
			}
			b := &pgx.Batch{}
			db.queueAppend(b, cols, now)
			return tx.SendBatch(ctx, b).Close()
		})
	})
}

func fillResult(e dmflow.Event, id, account, user string) dmflow.Event {
	if e.Kind == "" {
		e.Kind = dmflow.KindActionResult
	}
	if e.Key == "" {
		e.Key = "action:" + id
	}
	if e.Account == "" && e.User == "" {
		e.Account, e.User = account, user
	}
	return e
}

// PutToken stores the account's token, replacing any earlier one.
func (db *DB) PutToken(ctx context.Context, t dmflow.Token) error {
	if t.Account == "" {
		return fmt.Errorf("store/postgres: put token: no account: %w", dmflow.ErrInvalid)
	}
	rec, err := dmflow.MarshalRecord(t)
	if err != nil {
		return fmt.Errorf("store/postgres: put token %s: %w", t.Account, err)
	}
	return db.run(ctx, "put token "+t.Account, func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `INSERT INTO tokens (account, record) VALUES ($1, $2)
			ON CONFLICT (account) DO UPDATE SET record = excluded.record`, t.Account, rec)
		return err
	})
}

// GetToken returns the account's token or an error wrapping ErrNotFound.
func (db *DB) GetToken(ctx context.Context, account string) (*dmflow.Token, error) {
	return getRecord[dmflow.Token](ctx, db, "get token "+account, "SELECT record FROM tokens WHERE account = $1", account)
}

// ListTokens returns all tokens in account order.
func (db *DB) ListTokens(ctx context.Context) ([]dmflow.Token, error) {
	ts, err := listRecords[dmflow.Token](ctx, db, "list tokens", `SELECT record FROM tokens ORDER BY account COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	out := make([]dmflow.Token, len(ts))
	for i, t := range ts {
		out[i] = *t
	}
	return out, nil
}
