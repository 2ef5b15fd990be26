package postgres

import (
	"context"
	"hash/fnv"

	"github.com/dmflow/dmflow"
	"github.com/jackc/pgx/v5"
)

// statsShards spreads each counter over this many rows (see 0005_funnel_stats.sql).
const statsShards = 16

// sqlAddCounts adds one commit's counts; rows are locked in key order, so
// concurrent groups never deadlock on them.
const sqlAddCounts = `INSERT INTO funnel_stats (hour, shard, kind, flow, name, n)
SELECT $1, $2, k, f, nm, count(*) FROM unnest($3::text[], $4::text[], $5::text[]) AS t(k, f, nm)
GROUP BY k, f, nm ORDER BY k, f, nm
ON CONFLICT (hour, shard, kind, flow, name) DO UPDATE SET n = funnel_stats.n + excluded.n`

// queueCounts queues the commit's funnel counters.
func queueCounts(b *pgx.Batch, c dmflow.Commit) {
	if len(c.Counts) == 0 {
		return
	}
	kinds, flows, names := make([]string, len(c.Counts)), make([]string, len(c.Counts)), make([]string, len(c.Counts))
	for i, n := range c.Counts {
		kinds[i], flows[i], names[i] = n.Kind, n.Flow, n.Name
	}
	h := fnv.New32a()
	h.Write([]byte(c.Key.Account + "\x00" + c.Key.User))
	b.Queue(sqlAddCounts, c.Now.Truncate(dmflow.StatsBucket).Unix(), int16(h.Sum32()%statsShards), kinds, flows, names)
}

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
