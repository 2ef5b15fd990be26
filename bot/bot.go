package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
)

// ChannelDmflow is the Channel of events the bot produces itself: action
// results and admin commands.
const ChannelDmflow = "dmflow"

// Bot is the running pipeline. Create it with New, start it with Run, stop
// it with Shutdown. All methods are safe for concurrent use.
type Bot struct {
	cfg     Config
	store   dmflow.Store
	log     *slog.Logger
	engine  atomic.Pointer[engineBox]
	metrics *metrics
	echoes  *echoTracker
	e2e     *receivedTimes

	profileFails profileFailures // recent failed profile lookups

	observers observers // OnStep functions

	inboxWake, timerWake, actionWake chan struct{}
	dm, notices                      *drainer
	noticeClient                     *http.Client // Config.HTTPClient, no redirects to another host
	live                             *liveness

	// timerSleep is when the timer loop wakes by itself (Unix nanoseconds
	// of the clock), 0 while it is awake: only a timer due before then
	// needs to wake it (see wakeTimers).
	timerSleep atomic.Int64

	running  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{} // closed: stop claiming new work
	done     chan struct{} // closed: Run has returned
	workCtx  context.Context
	cancel   context.CancelFunc
}

type engineBox struct{ e Engine }

// New checks cfg, fills in defaults and returns a Bot that is not running yet.
func New(cfg Config) (*Bot, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := &Bot{
		cfg: cfg, store: cfg.Store, log: cfg.Logger.With("owner", cfg.Owner),
		echoes: newEchoTracker(), e2e: newReceivedTimes(),
		inboxWake: make(chan struct{}, 1), timerWake: make(chan struct{}, 1), actionWake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	b.workCtx, b.cancel = context.WithCancel(context.Background())
	b.metrics = newMetrics(b)
	b.dm = newDrainer(b, dmflow.QueueDM, b.sendDM, b.noticeSent, echoKey)
	b.notices = newDrainer(b, dmflow.QueueNotices, b.postNotice, nil, nil)
	b.noticeClient = secure.Client(cfg.HTTPClient)
	b.live = newLiveness(b)
	if cfg.Engine != nil {
		b.SetEngine(cfg.Engine)
	}
	return b, nil
}

// SetEngine atomically replaces the engine; items already running finish
// with the old one.
func (b *Bot) SetEngine(e Engine) {
	if e == nil {
		b.engine.Store(nil)
		return
	}
	b.engine.Store(&engineBox{e})
	wake(b.inboxWake)
}

// Engine returns the current engine, or nil before one is installed.
func (b *Bot) Engine() Engine {
	if box := b.engine.Load(); box != nil {
		return box.e
	}
	return nil
}

// Reload builds a new engine with Config.Reload and installs it. On error
// (e.g. flow validation errors) the old engine stays and the error is
// returned unchanged so callers can show it. With Config.ReloadAccounts it
// reloads every account's bundle instead (ReloadAccounts).
func (b *Bot) Reload(ctx context.Context) error {
	if b.cfg.ReloadAccounts != nil {
		_, err := b.ReloadAccounts(ctx)
		return err
	}
	if b.cfg.Reload == nil {
		b.metrics.reloads.WithLabelValues("error").Inc()
		return errors.New("bot: reload: no Reload function configured")
	}
	e, err := b.cfg.Reload(ctx)
	if err == nil && e == nil {
		err = errors.New("bot: reload: Reload returned no engine")
	}
	if err != nil {
		b.metrics.reloads.WithLabelValues("error").Inc()
		b.log.Warn("reload failed, keeping the old engine", "err", err)
		return err
	}
	b.SetEngine(e)
	b.metrics.reloads.WithLabelValues("ok").Inc()
	b.log.Info("engine reloaded")
	return nil
}

// ReloadAccounts reloads the bundles of the given accounts (all when none)
// with Config.ReloadAccounts: each account that loads is replaced, each
// that fails keeps its old bundle and is named in the error. It returns
// the accounts reloaded. Without Config.ReloadAccounts, naming no account
// is Reload and naming one is an error.
func (b *Bot) ReloadAccounts(ctx context.Context, accounts ...string) ([]string, error) {
	if b.cfg.ReloadAccounts == nil {
		if len(accounts) > 0 {
			return nil, fmt.Errorf("bot: reload: one bundle serves every account; reload all of it (accounts %v): %w", accounts, dmflow.ErrInvalid)
		}
		return nil, b.Reload(ctx)
	}
	done, err := b.cfg.ReloadAccounts(ctx, accounts...)
	for _, a := range done {
		b.metrics.accountReloads.WithLabelValues(a, "ok").Inc()
	}
	if len(done) > 0 || err == nil {
		b.metrics.reloads.WithLabelValues("ok").Inc()
		b.log.Info("flow bundles reloaded", "accounts", done)
		wake(b.inboxWake)
	}
	if err != nil {
		b.metrics.reloads.WithLabelValues("error").Inc()
		var fe interface{ FailedAccounts() []string }
		if errors.As(err, &fe) {
			for _, a := range fe.FailedAccounts() {
				b.metrics.accountReloads.WithLabelValues(a, "error").Inc()
			}
		}
		b.log.Warn("reload failed for some accounts, they keep their old bundle", "err", err)
	}
	return done, err
}

// Owner returns the lease owner id of this process.
func (b *Bot) Owner() string { return b.cfg.Owner }

func (b *Bot) now() time.Time { return b.cfg.Clock() }

// Ingest stores events durably in the inbox (duplicates by Key are dropped
// and counted) and wakes the dispatcher. It does no flow work and no Graph
// calls: the webhook handler calls it before answering 200. Events that
// fail dmflow.Event.Check cannot be stored by any store: they are dropped,
// counted (dmflow_events_invalid_total) and logged, and the rest of the
// batch is stored, so one bad event does not make the platform redeliver
// the whole batch forever.
func (b *Bot) Ingest(ctx context.Context, events []dmflow.Event) error {
	events = b.dropInvalid(events)
	if len(events) == 0 {
		return nil
	}
	res, err := b.store.AppendInbox(ctx, events, b.now())
	if err != nil {
		return fmt.Errorf("bot: ingest %d events: %w", len(events), err)
	}
	b.metrics.ingested.Add(float64(res.Added))
	b.metrics.duplicates.Add(float64(res.Duplicates))
	if res.Added > 0 {
		wake(b.inboxWake)
	}
	return nil
}

// dropInvalid returns the events that pass dmflow.Event.Check; the others
// are counted and logged (kind and ids only, never the content).
func (b *Bot) dropInvalid(events []dmflow.Event) []dmflow.Event {
	for i := range events {
		if events[i].Check() != nil {
			return b.keepValid(events)
		}
	}
	return events // the common case: no copy
}

func (b *Bot) keepValid(events []dmflow.Event) []dmflow.Event {
	out := make([]dmflow.Event, 0, len(events))
	for i := range events {
		if err := events[i].Check(); err != nil {
			b.InvalidEvent(events[i], err)
			continue
		}
		out = append(out, events[i])
	}
	return out
}

// InvalidEvent counts and logs an event dropped because it cannot be
// stored. Edges that filter events themselves (the Instagram webhook
// handler's OnInvalid) report through it.
func (b *Bot) InvalidEvent(ev dmflow.Event, err error) {
	b.metrics.invalid.Inc()
	b.log.Warn("invalid event dropped; the rest of its batch is stored", "account", ev.Account, "kind", ev.Kind, "err", err)
}

// Run runs the dispatcher and workers, the DM sender, the notice poster,
// the timer scheduler and the action runner until ctx is done or Shutdown
// is called. It then releases this owner's leases and returns. Run may be
// called once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bot: Run called twice")
	}
	defer close(b.done)
	stopWatch := context.AfterFunc(ctx, func() { b.cancel(); b.stopClaiming() })
	defer stopWatch()
	b.log.Info("bot running", "workers", b.cfg.Workers, "notices", b.noticesOn())
	beating, stopBeat := make(chan struct{}), make(chan struct{})
	go func() { defer close(beating); b.live.run(stopBeat) }()
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){b.runInbox, b.dm.run, b.runTimers, b.runActions, b.runRetention} {
		wg.Go(func() { loop(b.workCtx) })
	}
	if b.noticesOn() {
		wg.Go(func() { b.notices.run(b.workCtx) })
	}
	wg.Wait()
	b.releaseAll()
	close(stopBeat)
	<-beating
	b.live.depart()
	b.log.Info("bot stopped")
	return ctx.Err()
}

// Shutdown stops claiming new work, lets in-flight items and sends finish
// until ctx is done (then cancels them), releases the leases and returns
// when Run has returned. Running action calls are cancelled at once and
// not completed: they stay recorded, their leases are released, and the
// next claim (another replica's, or this process's after a restart) runs
// them again with the same call id (Idempotency-Key). They do not make
// Shutdown return an error. Without a running Run it returns at once.
func (b *Bot) Shutdown(ctx context.Context) error {
	b.stopClaiming()
	if !b.running.Load() {
		return nil
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		b.cancel()
		<-b.done
		return fmt.Errorf("bot: shutdown: %w", ctx.Err())
	}
}

func (b *Bot) stopClaiming() { b.stopOnce.Do(func() { close(b.stop) }) }

func (b *Bot) stopping() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// releaseAll gives up every lease of this owner so another replica (or the
// next start) can take the work over at once.
func (b *Bot) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := []error{b.store.ReleaseInbox(ctx, b.cfg.Owner),
		b.store.ReleaseOutbox(ctx, dmflow.QueueDM, b.cfg.Owner),
		b.store.ReleaseOutbox(ctx, dmflow.QueueNotices, b.cfg.Owner),
		b.store.ReleaseActions(ctx, b.cfg.Owner)}
	if err := errors.Join(errs...); err != nil && !errors.Is(err, dmflow.ErrClosed) {
		b.log.Warn("release leases", "err", err)
	}
}

// wake signals a loop without blocking; signals coalesce.
func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// idle waits for a wake-up, the poll interval or the stop signal. It
// reports false when the loop must stop.
func (b *Bot) idle(wakeC <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-b.stop:
		return false
	case <-wakeC:
	case <-t.C:
	}
	return !b.stopping()
}
