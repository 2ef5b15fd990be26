package bot

import (
	"context"
	"net/http"
	"time"
)

// OpsHandler serves GET /healthz (the process is up), GET /readyz (the
// store answers and an engine is loaded; 503 otherwise) and GET /metrics.
func (b *Bot) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Ready(r.Context()); err != nil {
			writeText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
	mux.Handle("GET /metrics", b.MetricsHandler())
	return mux
}

// Ready reports why the bot cannot serve traffic, or nil: an engine must be
// loaded, the store must answer, and Shutdown must not have begun.
func (b *Bot) Ready(ctx context.Context) error {
	if b.Engine() == nil {
		return errNoEngine
	}
	if b.stopping() {
		return errShuttingDown
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := b.store.InboxDepth(ctx); err != nil {
		return err
	}
	return nil
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}
