package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/prometheus/client_golang/prometheus"
)

// Retention says how long the bot keeps what it stored about people, apart
// from sessions (whose idle TTL the server applies). Zero selects the
// default; a negative duration keeps that kind forever.
type Retention struct {
	// History: done and failed inbox items (the conversation history that
	// /admin/.../history and replay read). Default 30 days.
	History time.Duration
	// Delivered: the record of each delivered reply (its "echo:<mid>"
	// dedupe key). Default 7 days, the dedupe retention.
	Delivered time.Duration
	// DeadLetters: replies that failed permanently. Default 30 days.
	DeadLetters time.Duration
	// Notices: outgoing webhooks not delivered (pending or dead). Default
	// 30 days.
	Notices time.Duration
	// Every is how often the sweeper runs. Default 10 minutes.
	Every time.Duration
}

// Retention defaults.
const (
	DefaultRetainHistory     = 30 * 24 * time.Hour
	DefaultRetainDelivered   = 7 * 24 * time.Hour
	DefaultRetainDeadLetters = 30 * 24 * time.Hour
	DefaultRetainNotices     = 30 * 24 * time.Hour
	DefaultSweepEvery        = 10 * time.Minute
)

func (r *Retention) setDefaults() {
	setDur0(&r.History, DefaultRetainHistory)
	setDur0(&r.Delivered, DefaultRetainDelivered)
	setDur0(&r.DeadLetters, DefaultRetainDeadLetters)
	setDur0(&r.Notices, DefaultRetainNotices)
	setDur(&r.Every, DefaultSweepEvery)
}

func setDur0(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

// cutoffs turns the retention into the store's cut-offs at now.
func (r *Retention) cutoffs(now time.Time) dmflow.Sweep {
	cut := func(d time.Duration) time.Time {
		if d < 0 {
			return time.Time{}
		}
		return now.Add(-d)
	}
	return dmflow.Sweep{History: cut(r.History), Delivered: cut(r.Delivered), DeadLetters: cut(r.DeadLetters), Notices: cut(r.Notices)}
}

// personalMetrics count erasures and retention sweeps.
type personalMetrics struct {
	swept     *prometheus.CounterVec
	sweeps    *prometheus.CounterVec
	lastSweep prometheus.Gauge
	forgotten *prometheus.CounterVec
}

func newPersonalMetrics(f factory) *personalMetrics {
	m := &personalMetrics{
		swept:     f.counterVec("dmflow_retention_deleted_total", "Records deleted by the retention sweeper, by kind (history, delivered, dead_letters, notices).", "kind"),
		sweeps:    f.counterVec("dmflow_retention_sweeps_total", "Retention sweeps by result (ok, error).", "result"),
		forgotten: f.counterVec("dmflow_forgotten_total", "People (scope person) and business accounts (scope account) whose data was erased.", "scope"),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dmflow_retention_last_sweep_timestamp_seconds", Help: "When the last successful retention sweep ended (Unix time)."}),
	}
	f.reg.MustRegister(m.lastSweep)
	return m
}

// SweepNow deletes what is older than the retention at now and returns
// what it deleted. The sweeper calls it every Retention.Every.
func (b *Bot) SweepNow(ctx context.Context, now time.Time) (dmflow.Swept, error) {
	n, err := b.store.Sweep(ctx, b.cfg.Retention.cutoffs(now))
	m := b.metrics.personal
	if err != nil {
		m.sweeps.WithLabelValues("error").Inc()
		return n, fmt.Errorf("bot: retention sweep: %w", err)
	}
	m.sweeps.WithLabelValues("ok").Inc()
	m.lastSweep.Set(float64(time.Now().Unix()))
	for kind, c := range map[string]int{"history": n.History, "delivered": n.Delivered, "dead_letters": n.DeadLetters, "notices": n.Notices} {
		m.swept.WithLabelValues(kind).Add(float64(c))
	}
	if n != (dmflow.Swept{}) {
		b.log.Info("retention sweep", "history", n.History, "delivered", n.Delivered, "dead_letters", n.DeadLetters, "notices", n.Notices)
	}
	return n, nil
}

// runRetention sweeps now and every Retention.Every until the bot stops.
func (b *Bot) runRetention(ctx context.Context) {
	for !b.stopping() {
		if _, err := b.SweepNow(ctx, b.now()); err != nil && ctx.Err() == nil {
			b.log.Error("retention sweep", "err", err)
		}
		if !b.idle(nil, b.cfg.Retention.Every) {
			return
		}
	}
}

// isForget reports whether ev is a queued forget command.
func isForget(ev *dmflow.Event) bool {
	return ev.Kind == dmflow.KindAdmin && ev.Admin != nil && ev.Admin.Op == dmflow.AdminForget
}

// ProfileForgetter is implemented by Profiles that cache profiles (the
// Instagram client): Forget drops the cached profile of one person.
type ProfileForgetter interface {
	ForgetProfile(account, user string)
}

// forget runs a claimed forget command: the store erases the user's data,
// the command itself included, in one transaction; later items of the user
// stay queued. Nothing is committed afterwards (the item is gone).
func (b *Bot) forget(ctx context.Context, it *dmflow.InboxItem) error {
	key := it.Event.SessionKey()
	n, err := b.store.Forget(ctx, dmflow.Forget{Key: key, Owner: b.cfg.Owner, Seq: it.Seq, Now: b.now()})
	if err != nil {
		return fmt.Errorf("bot: forget %s: %w", key, err)
	}
	b.forgetCaches(key)
	b.metrics.personal.forgotten.WithLabelValues("person").Inc()
	b.log.Info("forgot a person", "account", key.Account, "user", key.String(), "records", n.Total(), "by", it.Event.Admin.By)
	return nil
}

func (b *Bot) forgetCaches(key dmflow.SessionKey) {
	if pf, ok := b.cfg.Profiles.(ProfileForgetter); ok {
		pf.ForgetProfile(key.Account, key.User)
	}
	b.profileFails.mu.Lock()
	delete(b.profileFails.at, key)
	b.profileFails.mu.Unlock()
}

// Forget queues the erasure of everything stored about one person behind
// the person's pending work, like other admin commands, and returns the
// command's event key.
func (b *Bot) Forget(ctx context.Context, key dmflow.SessionKey, by string) (string, error) {
	return b.Command(ctx, key, dmflow.AdminCommand{Op: dmflow.AdminForget, By: by})
}

// ForgetAccount erases everything stored about the people of one business
// account at once (not queued: used when the business removed the app).
// Inbox items still pending are kept and processed; their sends stop with
// the account's token.
func (b *Bot) ForgetAccount(ctx context.Context, account string) (dmflow.Forgotten, error) {
	n, err := b.store.Forget(ctx, dmflow.Forget{Key: dmflow.SessionKey{Account: account}, Now: b.now()})
	if err != nil {
		return n, fmt.Errorf("bot: forget account %s: %w", account, err)
	}
	b.metrics.personal.forgotten.WithLabelValues("account").Inc()
	b.log.Info("forgot a business account's conversations", "account", account, "records", n.Total())
	return n, nil
}

// Export returns everything stored about one person.
func (b *Bot) Export(ctx context.Context, key dmflow.SessionKey) (*dmflow.PersonalExport, error) {
	if key.Account == "" || key.User == "" {
		return nil, fmt.Errorf("bot: export: empty session key: %w", dmflow.ErrInvalid)
	}
	x, err := b.store.Export(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("bot: export %s: %w", key, err)
	}
	return x, nil
}

func (b *Bot) adminExport(w http.ResponseWriter, r *http.Request) {
	x, err := b.Export(r.Context(), pathKey(r))
	if err != nil && !errors.Is(err, dmflow.ErrInvalid) && !errors.Is(err, dmflow.ErrNotFound) {
		b.log.Error("export", "err", err)
	}
	respond(w, x, err)
}
