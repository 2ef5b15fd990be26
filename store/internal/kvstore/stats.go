package kvstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"

	"github.com/dmflow/dmflow"
)

// bStats holds the funnel counters: hour kind NUL flow NUL name → count.
const bStats = "stats"

// addCounts adds a commit's funnel counters to the hour of c.Now.
func addCounts(tx Tx, c *dmflow.Commit) error {
	if len(c.Counts) == 0 {
		return nil
	}
	b := tx.Bucket(bStats)
	hour := be64(uint64(c.Now.Truncate(dmflow.StatsBucket).Unix()))
	for _, n := range c.Counts {
		k := cat(hour, []byte(n.Kind), []byte{0}, []byte(n.Flow), []byte{0}, []byte(n.Name))
		var v uint64
		if old := b.Get(k); len(old) == 8 {
			v = binary.BigEndian.Uint64(old)
		}
		if err := b.Put(k, be64(v+1)); err != nil {
			return err
		}
	}
	return nil
}

// FunnelStats sums the counters of the hours ending after q.Since.
func (s *Store) FunnelStats(ctx context.Context, q dmflow.StatsQuery) ([]dmflow.StatRow, error) {
	type key struct{ kind, flow, name string }
	sums := map[key]int64{}
	var from []byte
	if !q.Since.IsZero() {
		from = be64(uint64(max(q.Since.Truncate(dmflow.StatsBucket).Unix(), 0)))
	}
	err := s.view(ctx, func(tx Tx) error {
		return tx.Bucket(bStats).Scan(from, func(k, v []byte) bool {
			if len(k) < 8 || len(v) != 8 {
				return true
			}
			parts := bytes.SplitN(k[8:], []byte{0}, 3)
			if len(parts) != 3 || (q.Flow != "" && string(parts[1]) != q.Flow) {
				return true
			}
			sums[key{string(parts[0]), string(parts[1]), string(parts[2])}] += int64(binary.BigEndian.Uint64(v))
			return true
		})
	})
	if err != nil {
		return nil, s.errf(err, "funnel stats")
	}
	out := make([]dmflow.StatRow, 0, len(sums))
	for k, n := range sums {
		if n > 0 {
			out = append(out, dmflow.StatRow{Kind: k.kind, Flow: k.flow, Name: k.name, N: n})
		}
	}
	slices.SortFunc(out, func(a, b dmflow.StatRow) int {
		return cmp.Or(cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
