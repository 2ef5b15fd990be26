package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

var (
	_ dmflow.Liveness = (*DB)(nil)
	_ dmflow.Pacer    = (*DB)(nil)
)

// sqlDeadOwner is true when the owner of lease row l has a heartbeat that
// expired at $4 (now); owners without a heartbeat row are judged by the
// lease's own expiry only.
const sqlDeadOwner = `EXISTS (SELECT 1 FROM replicas r WHERE r.owner = l.owner AND r.expires <= $4)`

// forgetDeadAfter is how long the heartbeat row of a dead owner is kept:
// longer than any lease, so no lease outlives its owner's row.
const forgetDeadAfter = time.Hour

// sqlHeartbeat records $1 alive until $2 and reports whether its previous
// heartbeat (if any) was still live at $3; it forgets rows dead since $4.
const sqlHeartbeat = `
WITH prev AS (SELECT expires FROM replicas WHERE owner = $1),
up AS (
	INSERT INTO replicas (owner, expires) VALUES ($1, $2)
	ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires
	RETURNING 1),
gc AS (DELETE FROM replicas WHERE expires < $4 AND owner <> $1 RETURNING 1)
SELECT coalesce((SELECT expires > $3 FROM prev), true)`

// Heartbeat records that owner is alive until now+ttl; see dmflow.Liveness.
func (db *DB) Heartbeat(ctx context.Context, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("store/postgres: heartbeat: need an owner and a ttl: %w", dmflow.ErrInvalid)
	}
	var alive bool
	err := db.run(ctx, "heartbeat", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, sqlHeartbeat, owner, nanos(now.Add(ttl)), nanos(now),
			nanos(now.Add(-forgetDeadAfter))).Scan(&alive)
	})
	return alive, err
}

// Depart removes owner's heartbeat.
func (db *DB) Depart(ctx context.Context, owner string) error {
	return db.run(ctx, "depart", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, "DELETE FROM replicas WHERE owner = $1", owner)
		return err
	})
}

// sqlPace reserves $4 slots spaced $5 for account $1 and class $2 at now
// $3 with tolerance $6 ((burst-1)·interval), returning the first slot.
const sqlPace = `
INSERT INTO pace AS p (account, class, tat) VALUES ($1, $2, $3::int8 - $6::int8 + $4::int8 * $5::int8)
ON CONFLICT (account, class) DO UPDATE SET tat = greatest(p.tat, $3::int8 - $6::int8) + $4::int8 * $5::int8
RETURNING tat - $4::int8 * $5::int8`

// Pace reserves n send slots of class for account; see dmflow.Pacer. One
// statement on an unlogged table: one round trip, no WAL flush.
func (db *DB) Pace(ctx context.Context, account, class string, n int, interval time.Duration, burst int, now time.Time) (time.Time, error) {
	if account == "" || class == "" || n < 1 || interval <= 0 {
		return time.Time{}, fmt.Errorf("store/postgres: pace: need an account, a class, n >= 1 and an interval: %w", dmflow.ErrInvalid)
	}
	tol := int64(max(burst-1, 0)) * int64(interval)
	var first int64
	err := db.run(ctx, "pace", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, sqlPace, account, class, nanos(now), int64(n), int64(interval), tol).Scan(&first)
	})
	if err != nil {
		return time.Time{}, err
	}
	return fromNanos(first), nil
}
