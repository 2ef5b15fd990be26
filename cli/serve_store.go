package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	srv "github.com/dmflow/dmflow/server"
)

// tidyEvery is how often serve expires idle sessions and prunes the inbox.
const tidyEvery = 10 * time.Minute

// openStore opens the PostgreSQL store when --store is set, else the bbolt
// file (server.OpenStore). It returns the store and a description for logs
// (no credentials).
func openStore(ctx context.Context, cfg *serveConfig) (dmflow.Store, string, error) {
	sc := srv.StoreConfig{Path: cfg.DB, NoSync: cfg.DBNoSync}
	if cfg.StoreURL != "" {
		sc = srv.StoreConfig{URL: cfg.StoreURL, Lease: cfg.Lease, Migrate: cfg.Migrate}
	}
	st, desc, err := srv.OpenStore(ctx, sc)
	switch {
	case err != nil && cfg.StoreURL != "" && !cfg.Migrate:
		return nil, "", fmt.Errorf("%s (run 'dmflow migrate' first for a new database, or serve --migrate)", redactURL(err.Error(), cfg))
	case err != nil && cfg.StoreURL != "":
		return nil, "", errors.New(redactURL(err.Error(), cfg))
	case err != nil:
		return nil, "", err
	}
	return st, desc, nil
}

// tidy expires sessions idle longer than the session TTL. The bot's
// retention sweeper deletes old history, delivery records, dead letters and
// notices (--retain-*).
func tidy(ctx context.Context, st dmflow.Store, ttl time.Duration, now time.Time, log *slog.Logger) {
	if ttl > 0 {
		n, err := st.ExpireSessions(ctx, now.Add(-ttl))
		logTidy(log, "expire sessions", n, err)
	}
}

// retention is the bot's retention from the --retain-* settings (0: keep
// forever, which the bot spells negative).
func (c *serveConfig) retention() bot.Retention {
	keep := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	return bot.Retention{History: keep(c.RetainHistory), Delivered: keep(c.RetainDelivered),
		DeadLetters: keep(c.RetainDead), Notices: keep(c.RetainNotices)}
}

func logTidy(log *slog.Logger, what string, n int, err error) {
	switch {
	case err != nil:
		log.Error(what, "err", err)
	case n > 0:
		log.Info(what, "removed", n)
	}
}

// runTidy calls tidy now and every tidyEvery until ctx is done.
func runTidy(ctx context.Context, st dmflow.Store, ttl time.Duration, log *slog.Logger) {
	t := time.NewTicker(tidyEvery)
	defer t.Stop()
	for {
		tidy(ctx, st, ttl, time.Now(), log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
