package cli

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
)

// compacter is a store that can rewrite its file without freed pages
// (store/bolt).
type compacter interface {
	Compact(ctx context.Context) (bolt.CompactStats, error)
}

// compactHandler serves POST /admin/compact: rewrite the bbolt file with
// only its live records, so deleted data (a forgotten person) leaves the
// disk file. Other stores answer 501.
func compactHandler(st dmflow.Store, token string, log *slog.Logger) http.Handler {
	return adminOnly(token, func(w http.ResponseWriter, r *http.Request) {
		c, ok := st.(compacter)
		if !ok {
			http.Error(w, `{"error":"this store has no compaction; on PostgreSQL run VACUUM (see docs/operations.md, Personal data)"}`, http.StatusNotImplemented)
			return
		}
		stats, err := c.Compact(r.Context())
		if err != nil {
			log.Error("compact failed", "err", err)
			http.Error(w, `{"error":"compaction failed; see the server log"}`, http.StatusInternalServerError)
			return
		}
		log.Info("store compacted", "before_bytes", stats.Before, "after_bytes", stats.After)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"before_bytes":` + itoa(stats.Before) + `,"after_bytes":` + itoa(stats.After) + "}\n"))
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
