package postgres

import (
	"context"

	"github.com/dmflow/dmflow"
	"github.com/jackc/pgx/v5"
)

// statsShards spreads each counter over this many rows (see 0005_funnel_stats.sql).
const statsShards = 16

// FunnelStats sums the counters of the hours ending after q.Since.
func (db *DB) FunnelStats(ctx context.Context, q dmflow.StatsQuery) ([]dmflow.StatRow, error) {
	from := int64(0)
	if !q.Since.IsZero() {
		from = max(q.Since.Truncate(dmflow.StatsBucket).Unix(), 0)
	}
	rows, err := db.pool.Query(ctx, `SELECT kind, flow, name, sum(n)::int8 FROM funnel_stats
WHERE hour >= $1 AND ($2 = '' OR flow = $2) GROUP BY kind, flow, name HAVING sum(n) > 0 ORDER BY flow, kind, name`, from, q.Flow)
	if err != nil {
		return nil, wrap("funnel stats", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dmflow.StatRow, error) {
		var s dmflow.StatRow
		err := r.Scan(&s.Kind, &s.Flow, &s.Name, &s.N)
		return s, err
	})
	if err != nil {
		return nil, wrap("funnel stats", err)
	}
	if out == nil {
		out = []dmflow.StatRow{}
	}
	return out, nil
}
