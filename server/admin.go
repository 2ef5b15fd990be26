package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
	"github.com/dmflow/dmflow/store/bolt"
)

// adminOnly guards h with the admin token (constant-time compare); with no
// token it is disabled (404), like the admin API.
func adminOnly(token string, h http.HandlerFunc) http.Handler {
	if token == "" {
		return http.NotFoundHandler()
	}
	want := "Bearer " + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !secure.Equal(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dmflow admin"`)
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}

// backuper is a store that can copy itself while serving (store/bolt).
type backuper interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// BackupHandler serves GET /admin/backup: a consistent copy of the bbolt
// file, behind the admin token. Other stores answer 501.
func BackupHandler(st dmflow.Store, token string, log *slog.Logger) http.Handler {
	return adminOnly(token, func(w http.ResponseWriter, r *http.Request) {
		b, ok := st.(backuper)
		if !ok {
			http.Error(w, `{"error":"this store has no online backup; use the database's own tools"}`, http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="dmflow-`+time.Now().UTC().Format("20060102T150405Z")+`.db"`)
		n, err := b.Backup(r.Context(), w)
		if err != nil {
			log.Error("backup failed", "bytes", n, "err", err)
			return
		}
		log.Info("backup written", "bytes", n)
	})
}

// compacter is a store that can rewrite its file without freed pages
// (store/bolt).
type compacter interface {
	Compact(ctx context.Context) (bolt.CompactStats, error)
}

// CompactHandler serves POST /admin/compact: rewrite the bbolt file with
// only its live records, so deleted data (a forgotten person) leaves the
// disk file. Other stores answer 501.
func CompactHandler(st dmflow.Store, token string, log *slog.Logger) http.Handler {
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
