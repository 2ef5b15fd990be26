package sandbox

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/accounts"
)

//go:embed static
var static embed.FS

// Config configures a Sandbox.
type Config struct {
	// Account is the business account id (IG_ID) the sandbox plays: the
	// entry.id of every webhook it builds. Required.
	Account string
	// Secret is the app secret the webhook handler verifies signatures with.
	// Required.
	Secret string
	// Webhook is the real Instagram webhook handler user input is delivered
	// to (instagram.NewWebhook). Required.
	Webhook http.Handler
	// Graph is the Graph API double the bot's sender talks to. GraphHandler
	// wraps it. Required.
	Graph http.Handler
	// History is how many messages are kept per user. Default 500.
	History int
	// Now is the base clock under Clock when Clock is nil. Default time.Now.
	Now func() time.Time
	// Clock is the sandbox time: webhook timestamps, recorded messages and
	// the studio's "advance the clock". Give Clock.Now to the bot and the
	// Graph API double too. Default NewClock(Now).
	Clock *Clock
	// Bot is the running pipeline. With it the page shows the studio: the
	// flow graph, each step's trace and the controls (reset, jump, clock,
	// handoff, reload). Without it the page is a plain chat.
	Bot Bot
	// Sessions reads the users' sessions for the studio (the bot's store).
	Sessions Sessions
	// Logger receives rejected input and delivery failures. Default: discard.
	Logger *slog.Logger
	// Hosts are Host header values the studio accepts besides loopback
	// ones (localhost, 127.0.0.0/8, [::1], any port): the configured
	// listen address, when it is a name. Anything else is refused, against
	// DNS rebinding.
	Hosts []string
	// Token, when set, must come with every request (Authorization: Bearer,
	// or the cookie a visit to /?token=TOKEN sets); any Host is then
	// accepted. For a studio listening on a non-loopback address.
	Token string
	// Messenger, when set, adds the Messenger channel: the studio's
	// channel switch (SetChannel) plays a Facebook Page beside the
	// Instagram account.
	Messenger *MessengerConfig
}

// Sandbox is the web chat and its message feed. It is safe for concurrent
// use. Create it with New.
type Sandbox struct {
	cfg      Config
	feed     *feed
	clock    *Clock
	mids     atomic.Uint64
	run      string                 // random prefix of this process's message ids
	comments *comments              // comment id → user, to show private replies
	order    sync.Mutex             // Say holds it while delivering, observe to record a step
	unhook   func()                 // removes the step observer
	playing  atomic.Pointer[string] // the account played now (nil: Config.Account)
	channel  atomic.Pointer[string] // the channel simulated now (nil: instagram)
}

// account returns the business account the sandbox plays now: the
// Messenger Page on the Messenger channel.
func (s *Sandbox) account() string {
	if s.Channel() == ChannelMessenger {
		return s.cfg.Messenger.Page
	}
	if a := s.playing.Load(); a != nil {
		return *a
	}
	return s.cfg.Account
}

// Accounts lists the business accounts the sandbox can play, sorted:
// Config.Account and, when the bot's engine serves several accounts (an
// *accounts.Set of a per-account flows directory), each account with a
// bundle of its own.
func (s *Sandbox) Accounts() []string {
	out := []string{s.cfg.Account}
	if s.cfg.Bot != nil {
		if set, ok := s.cfg.Bot.Engine().(interface{ Accounts() []string }); ok {
			for _, a := range set.Accounts() {
				if a != accounts.Default && !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// SetAccount switches the account the sandbox plays: new input comes from
// its users, the studio shows its bundle and its users' conversations
// (each account keeps its own). account must be one of Accounts
// (dmflow.ErrInvalid otherwise).
func (s *Sandbox) SetAccount(account string) error {
	if !slices.Contains(s.Accounts(), account) {
		return fmt.Errorf("sandbox: account %q is not one the sandbox can play (%s): %w", account, strings.Join(s.Accounts(), ", "), dmflow.ErrInvalid)
	}
	s.playing.Store(&account)
	return nil
}

// New checks cfg and returns a Sandbox.
func New(cfg Config) (*Sandbox, error) {
	switch {
	case cfg.Account == "":
		return nil, errors.New("sandbox: config: Account is required")
	case cfg.Secret == "":
		return nil, errors.New("sandbox: config: Secret is required")
	case cfg.Webhook == nil || cfg.Graph == nil:
		return nil, errors.New("sandbox: config: Webhook and Graph handlers are required")
	}
	if cfg.Messenger != nil {
		if err := cfg.Messenger.check(); err != nil {
			return nil, err
		}
	}
	if cfg.History <= 0 {
		cfg.History = 500
	}
	if cfg.Clock == nil {
		cfg.Clock = NewClock(cfg.Now)
	}
	cfg.Now = cfg.Clock.Now
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	s := &Sandbox{cfg: cfg, feed: newFeed(cfg.History), clock: cfg.Clock, run: hex.EncodeToString(r[:]),
		comments: newComments(), unhook: func() {}}
	if cfg.Bot != nil {
		s.unhook = cfg.Bot.OnStep(s.observe)
	}
	return s, nil
}

// Handler serves the studio page and its API, rooted at "/": mount it with
// http.StripPrefix, e.g. under "/sandbox":
//
//	GET  /                  the page (index.html, css/, js/, vendor/mermaid.min.js)
//	GET  /api/config        {"account", "accounts": [...], "channel", "channels": [...], "studio": bool, "clock": ClockStatus}
//	POST /api/account       {"account"} → switch the account played (one of "accounts"); answers like /api/config
//	POST /api/channel       {"channel"} → switch the channel simulated (one of "channels": instagram,
//	                        messenger with Config.Messenger); answers like /api/config
//	POST /api/send          an Input (JSON) → {"status": <webhook status>, "message": Message}
//	GET  /api/messages      ?user=U[&after=SEQ] → the user's recorded messages (JSON array)
//	GET  /api/events        ?user=U[&user=V…] → Server-Sent Events, one "message" event per
//	                        Message of those users; history after Last-Event-ID (or ?after)
//	                        is replayed first
//
// Every request passes the guard (see guard.go and docs/studio.md): a
// loopback Host (or Config.Hosts, or Config.Token), no cross-site Origin or
// Sec-Fetch-Site, and Content-Type: application/json on POSTs.
//
// Studio (with Config.Bot; 501 without):
//
//	GET  /api/graph         ?flow=F → FlowGraph (default: the main flow)
//	GET  /api/session       ?user=U → {"session": Session or null, "clock": ClockStatus, "locale": L,
//	                        "locales": [supported...] (both for localized flows)}
//	POST /api/reset         {"user"} → 202; the reset travels through the user's inbox
//	POST /api/move          {"user", "state"} → 202
//	POST /api/handoff       {"user", "on": bool} → 202 (hand off / release)
//	POST /api/locale        {"user", "locale"} → 202: sets the user's locale (admin locale: the
//	                        main flow's locale variable); 400 for a locale the flows do not support
//	POST /api/operator      {"user", "text"} → 202 (an operator's message, admin send)
//	POST /api/profile       {"user", "follows": bool} → 200: what the Graph API double answers
//	                        for is_user_follow_business (works without a bot too)
//	POST /api/clock         {"advance": "1h"} or {"user", "next_timer": true} → ClockStatus
//	POST /api/reload        → 200, or 422 ReloadError with file:line:col lines
//	GET  /api/transcript    ?user=U → the user's conversation as a *.test.yaml transcript
//	                        (bot/history.Transcript), a download; 404 before any event
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("sandbox: embedded files: " + err.Error())
	}
	mux.Handle("GET /", pageHeaders(http.FileServerFS(sub)))
	mux.Handle("GET /vendor/mermaid.min.js", pageHeaders(http.HandlerFunc(serveMermaid)))
	mux.HandleFunc("GET /api/config", s.serveConfig)
	mux.HandleFunc("POST /api/account", s.serveAccount)
	mux.HandleFunc("POST /api/channel", s.serveChannel)
	mux.HandleFunc("POST /api/send", s.serveSend)
	mux.HandleFunc("GET /api/messages", s.serveMessages)
	mux.HandleFunc("GET /api/events", s.serveEvents)
	mux.HandleFunc("GET /api/graph", s.withBot(s.serveGraph))
	mux.HandleFunc("GET /api/session", s.withBot(s.serveSession))
	mux.HandleFunc("POST /api/reset", s.command(resetCmd))
	mux.HandleFunc("POST /api/move", s.command(moveCmd))
	mux.HandleFunc("POST /api/handoff", s.command(handoffCmd))
	mux.HandleFunc("POST /api/locale", s.withBot(s.serveLocale))
	mux.HandleFunc("POST /api/operator", s.withBot(s.serveOperator))
	mux.HandleFunc("POST /api/profile", s.serveProfile)
	mux.HandleFunc("POST /api/clock", s.withBot(s.serveClock))
	mux.HandleFunc("POST /api/reload", s.withBot(s.serveReload))
	mux.HandleFunc("GET /api/transcript", s.withBot(s.serveTranscript))
	return s.guard(mux)
}

// pageHeaders forbids everything but same-origin scripts and styles (plus
// inline styles, which Mermaid's SVG carries); images may come from
// anywhere because flows send image URLs.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src * data:; media-src *; connect-src 'self'; frame-ancestors 'none'; "+
				"style-src 'self' 'unsafe-inline'") // Mermaid styles its SVG inline
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin") // flows' image URLs learn nothing of the studio
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// Close ends every open event stream (so an http.Server can shut down),
// refuses new subscriptions and stops observing the bot's steps. Say and
// the Graph recording keep working.
func (s *Sandbox) Close() {
	s.unhook()
	s.feed.close()
}

// Messages returns the recorded messages of user (of the account the
// sandbox plays now) after seq (0: all).
func (s *Sandbox) Messages(user string, after uint64) []Message {
	return s.feed.since(s.account(), []string{user}, after)
}

// Subscribe returns a channel of the users' new messages and a function
// that ends the subscription. A subscriber that falls behind by more than
// the channel's buffer is dropped (the channel is closed); it may read the
// missed messages with Messages and subscribe again.
func (s *Sandbox) Subscribe(users ...string) (<-chan Message, func()) {
	return s.feed.subscribe(s.account(), users)
}

// Now is the sandbox clock's time.
func (s *Sandbox) Now() time.Time { return s.clock.Now() }
