package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/dmflow/dmflow"
)

// Engine runs one event against a session at time now. s is nil when the
// user has no session yet. Step must be pure: no I/O, no mutation of s.
// *engine.Engine implements it.
type Engine interface {
	Step(ctx context.Context, s *dmflow.Session, ev dmflow.Event, now time.Time) (*dmflow.Turn, error)
}

// ActionRunner runs one action call outside the per-user transaction and
// reports its outcome. It must honour ctx. bot/actions provides the HTTP and
// Go implementations.
type ActionRunner interface {
	Run(ctx context.Context, call dmflow.ActionCall) dmflow.ActionResult
}

// Config configures a Bot. Zero values select the documented defaults.
type Config struct {
	// Store is the durable state (required).
	Store dmflow.Store
	// Sender delivers replies (required), e.g. the Instagram Send API client.
	Sender dmflow.Sender
	// Engine is the initial engine. Nil leaves the bot not ready (no inbox
	// item is claimed) until SetEngine or Reload installs one.
	Engine Engine
	// Reload builds a new engine, e.g. by loading the flow files again. It
	// returns the validation errors of a bad flow; the old engine then stays.
	Reload func(ctx context.Context) (Engine, error)
	// ReloadAccounts, when set, reloads the flow bundles of the given
	// accounts (all when none) inside the installed engine, e.g. an
	// *accounts.Set's Reload: each account that fails keeps its old bundle
	// while the others are replaced. It returns the accounts reloaded and
	// the failures. Bot.Reload and the admin API's POST /admin/reload
	// (?account=ID) use it instead of Reload.
	ReloadAccounts func(ctx context.Context, accounts ...string) (reloaded []string, err error)
	// Actions runs action calls. Nil completes every call with outcome
	// "error" ("no action runner configured").
	Actions ActionRunner

	// Profiles, when set, looks up the customer's profile (username, name)
	// before a message or postback is stepped, when the session has none or
	// one fetched more than ProfileTTL ago; the engine shows it to flows as
	// user.username and user.name and the session keeps it. A failed lookup
	// is logged and ignored. E.g. an *instagram.Client.
	Profiles Profiles
	// Media looks up the commented post or reel for flows that ask
	// (`lookup_media: true`: event.caption, event.permalink), bounded by
	// ProfileTimeout; a failed lookup is logged and the event goes on
	// without. E.g. an *instagram.Client.
	Media MediaLookup
	// ProfileTTL is how long a fetched profile is used. Default 24 h.
	ProfileTTL time.Duration
	// ProfileTimeout bounds one lookup; the user's events wait for it, so it
	// is short (the worker's other users do not: a lookup still running
	// after 50 ms is waited for off the worker). Default 2 s.
	ProfileTimeout time.Duration
	// ProfileRetry is how long after a failed lookup the user's profile is
	// not asked for again (by this process). Default 10 min.
	ProfileRetry time.Duration

	// NoticeURL enables outgoing webhooks: Turn.Notices are queued and POSTed
	// there, signed with NoticeSecret. Empty: notices are not recorded.
	NoticeURL    string
	NoticeSecret string
	// NoticeTargets, when set, gives each account's outgoing webhook URL and
	// secret instead (url "" : that account's notices are not recorded),
	// e.g. (*accounts.Table).Notify. NoticeURL and NoticeSecret are then
	// ignored.
	NoticeTargets func(account string) (url, secret string)
	// HTTPClient posts notices. Default: a client with a 10 s timeout. Its
	// CheckRedirect is replaced: a redirect to another origin is not
	// followed (the 3xx counts as a failed delivery), one within the origin
	// is, without Referer.
	HTTPClient *http.Client

	// Owner identifies this process in leases; it must be unique per
	// process. Default: hostname-pid-random.
	Owner string
	// Workers is the number of inbox workers (user partitions). Each worker
	// waits for its commit (a bbolt group commit with its fsyncs) before its
	// next item, so the workers bound how many commits share one group
	// commit. Default 256.
	Workers int
	// MaxInflight bounds inbox items claimed but not finished. Default 1024.
	MaxInflight int
	// Senders bounds the users being delivered to at the same time per
	// queue. A slot is held only while a send is in flight, so with the
	// Graph API's latency (~100–300 ms per send) Senders/latency is the
	// delivery ceiling: the default 128 allows roughly 400–1,300 sends/s,
	// above what a business account may send (100/s), so that many
	// accounts can be served by one process. Each slot costs a goroutine
	// and one keep-alive connection. The slots are shared fairly between
	// accounts: one account holds at most Senders − Senders/8 of them (at
	// least one is left to the others), and a freed slot goes to the
	// waiting account with the fewest sends in flight, so an account that
	// Meta throttles, or that has a long backlog, does not delay another
	// account's replies. Items claimed and not yet sent are bounded by
	// 16×Senders per queue, shared the same way: one account holds at
	// most 7/8 of them, so its waiting items never take the room another
	// account's replies need (and claims are fair between accounts, see
	// dmflow.Outbox). Default 128.
	Senders int
	// ActionWorkers bounds concurrent action calls, shared between
	// accounts: one account runs at most ActionWorkers − ActionWorkers/8
	// of them (at least one is left to the others). Default 16.
	ActionWorkers int
	// ClaimBatch is the most items asked for per claim. Default 256.
	ClaimBatch int
	// Lease is the inbox and outbox lease. Default 30 s.
	Lease time.Duration
	// ActionLease is the action lease: how long a claimed call belongs to
	// this process before another may run it. A call is cut short (it fails)
	// after 90% of it, so that it ends, and is completed, before the lease
	// does. It must therefore exceed the longest call: flows
	// limit timeout × (retries+1) to flows.MaxActionTime (90 s) and the
	// HTTP runner's retry delays add at most 1 s per retry (10 s), which
	// the default leaves room for. Default 2 min.
	ActionLease time.Duration
	// Heartbeat is how often this process records that it is alive, with
	// a store shared by several replicas (dmflow.Liveness). Default 1 s.
	Heartbeat time.Duration
	// HeartbeatTTL is how long a heartbeat lasts: once this process's last
	// heartbeat is older, other replicas take its users, outbox and action
	// calls over at once (a crash is taken over within about this time plus
	// Poll, instead of one Lease). This process sends only while its last
	// heartbeat is younger than half of it. Default 3 × Heartbeat.
	HeartbeatTTL time.Duration
	// Poll is the safety-net polling interval of every loop; the hot path
	// is woken directly. Default 1 s.
	Poll time.Duration
	// SendTimeout bounds one Sender.Send or notice POST. Default 30 s.
	SendTimeout time.Duration
	// MaxSendAttempts is how often a reply or notice is tried before it is
	// dead-lettered. Default 8.
	MaxSendAttempts int
	// RetryBase and RetryMax shape the exponential backoff (with jitter)
	// between attempts. Defaults 1 s and 10 min.
	RetryBase time.Duration
	RetryMax  time.Duration
	// MaxItemAttempts is how often an inbox item or action may be claimed
	// before it is given up (a crash loop). Default 10.
	MaxItemAttempts int
	// EchoGrace is how long an echo waits for an in-flight send to the same
	// user, and for the user's replies in the outbox (which another replica
	// may be sending) to be acknowledged, before deciding that an unknown
	// echo came from a person. The user's later events wait with it; the
	// worker goes on with its other users. Default 10 s.
	EchoGrace time.Duration

	// Retention is how long inbox history, delivery records, dead letters
	// and notices are kept; a background sweeper deletes older ones.
	Retention Retention

	// Clock returns the current time. Default time.Now. Tests and the
	// sandbox inject a fake clock and call FireTimersNow.
	Clock func() time.Time
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	setInt(&c.Workers, 256)
	setInt(&c.MaxInflight, 1024)
	setInt(&c.Senders, 128)
	setInt(&c.ActionWorkers, 16)
	setInt(&c.ClaimBatch, 256)
	setInt(&c.MaxSendAttempts, 8)
	setInt(&c.MaxItemAttempts, 10)
	setDur(&c.Lease, 30*time.Second)
	setDur(&c.ActionLease, 2*time.Minute)
	setDur(&c.Poll, time.Second)
	setDur(&c.Heartbeat, time.Second)
	setDur(&c.HeartbeatTTL, 3*c.Heartbeat)
	setDur(&c.SendTimeout, 30*time.Second)
	setDur(&c.RetryBase, time.Second)
	setDur(&c.RetryMax, 10*time.Minute)
	setDur(&c.EchoGrace, 10*time.Second)
	setDur(&c.ProfileTTL, DefaultProfileTTL)
	setDur(&c.ProfileTimeout, 2*time.Second)
	setDur(&c.ProfileRetry, 10*time.Minute)
	c.Retention.setDefaults()
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Owner == "" {
		c.Owner = defaultOwner()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// actionDeadline bounds one action call: 90% of ActionLease, leaving the
// rest for completing it (and for clock differences between replicas)
// before the lease ends.
func (c *Config) actionDeadline() time.Duration { return c.ActionLease - c.ActionLease/10 }

func (c *Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("bot: config: Store is required")
	case c.Sender == nil:
		return errors.New("bot: config: Sender is required")
	case c.NoticeTargets == nil && c.NoticeURL != "" && c.NoticeSecret == "":
		return errors.New("bot: config: NoticeSecret is required with NoticeURL")
	}
	return nil
}

func setInt(p *int, def int) {
	if *p <= 0 {
		*p = def
	}
}

func setDur(p *time.Duration, def time.Duration) {
	if *p <= 0 {
		*p = def
	}
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}
