// Package server assembles one dmflow server from its parts: the bot over a
// store, the Instagram webhook feeding its inbox, the operations endpoints
// (/healthz, /readyz, /metrics), the admin API with online backup and
// compaction, and in sandbox mode the studio with its Graph API double.
// `dmflow serve` (package cli), the sandbox's test harness and embedders
// build their server with it, so the routes and the wiring between the
// parts exist once.
//
// The parts it builds: OpenStore opens the store a StoreConfig selects
// (PostgreSQL, a bbolt file, or memory); NewInstagram builds the Send API
// client with its token source (configured tokens, or the stored ones and
// their refresh); New builds the bot and the routes over them; Serve runs
// the HTTP server and the bot until the context is done.
package server

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
)

// Config is one server.
type Config struct {
	// Bot configures the pipeline. Its Reload is set from Load; its Clock
	// defaults to the sandbox's clock in sandbox mode.
	Bot bot.Config
	// Load loads the flows again (SIGHUP, admin reload). Nil: reloading
	// fails (unless Bot.Reload is set).
	Load func(ctx context.Context) (*engine.Engine, error)
	// Webhook configures the Instagram webhook handler; OnInvalid is set to
	// the bot's counter, and in sandbox mode the verify token and app
	// secret are the sandbox's.
	Webhook instagram.WebhookConfig
	// Messenger, when set, also serves the Messenger webhook (POST/GET
	// /webhook/messenger) into the same bot; OnInvalid is set to the bot's
	// counter. Bot.Sender must then route Page ids to a Messenger sender
	// (SenderByAccount).
	Messenger *messenger.WebhookConfig
	// AdminToken enables the admin API (/admin/...) for bearer requests
	// with this token; "" disables it.
	AdminToken string
	// Sandbox, when set, serves the studio at /sandbox/ (and redirects / to
	// it) over the same webhook handler and bot, with a Messenger channel
	// (a Page of its own at /webhook/messenger, replies to the sandbox's
	// Messenger double) unless Messenger is set.
	Sandbox *Sandbox
	// ShutdownTimeout bounds Serve's graceful shutdown (default 15 s).
	ShutdownTimeout time.Duration
}

// Server is an assembled server.
type Server struct {
	Bot     *bot.Bot
	Webhook http.Handler // the Instagram webhook handler (POST/GET /webhook/instagram)
	// Mux holds the routes; a caller may add its own before serving.
	Mux *http.ServeMux

	log             *slog.Logger
	sandbox         *Sandbox
	shutdownTimeout time.Duration
}

// New builds the bot and the routes.
func New(cfg Config) (*Server, error) {
	bc := cfg.Bot
	if cfg.Load != nil {
		bc.Reload = Reloader(cfg.Load)
	}
	if cfg.Sandbox != nil && bc.Profiles != nil {
		bc.Profiles = cfg.Sandbox.Profiles(bc.Profiles)
	}
	if cfg.Sandbox != nil && bc.Clock == nil {
		bc.Clock = cfg.Sandbox.Clock.Now
	}
	if cfg.Sandbox != nil && cfg.Messenger == nil { // the studio's Messenger channel
		cfg.Messenger = cfg.Sandbox.withMessenger(&bc, cfg.Webhook)
	}
	b, err := bot.New(bc)
	if err != nil {
		return nil, err
	}
	log := bc.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{Bot: b, Mux: http.NewServeMux(), log: log, sandbox: cfg.Sandbox,
		shutdownTimeout: cmp.Or(cfg.ShutdownTimeout, 15*time.Second)}
	whc := cfg.Webhook
	whc.OnInvalid = b.InvalidEvent
	if cfg.Sandbox != nil {
		whc.VerifyToken, whc.AppSecrets = cfg.Sandbox.VerifyToken, []string{cfg.Sandbox.Secret}
	}
	s.Webhook = instagram.NewWebhook(whc, b.Ingest)
	s.Mux.Handle("/webhook/instagram", b.CountWebhooks(s.Webhook))
	var msgr http.Handler
	if cfg.Messenger != nil {
		mc := *cfg.Messenger
		mc.OnInvalid = b.InvalidEvent
		msgr = b.CountWebhooks(messenger.NewWebhook(mc, b.Ingest))
		s.Mux.Handle("/webhook/messenger", msgr)
	}
	ops := b.OpsHandler()
	for _, p := range []string{"GET /healthz", "GET /readyz", "GET /metrics"} {
		s.Mux.Handle(p, ops)
	}
	s.Mux.Handle("/admin/", b.AdminHandler(cfg.AdminToken))
	s.Mux.Handle("GET /admin/backup", BackupHandler(bc.Store, cfg.AdminToken, log))
	s.Mux.Handle("POST /admin/compact", CompactHandler(bc.Store, cfg.AdminToken, log))
	if cfg.Sandbox != nil {
		if err := cfg.Sandbox.mount(s.Mux, s.Webhook, msgr, b, bc.Store, log); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Handler serves every route.
func (s *Server) Handler() http.Handler { return s.Mux }

// Serve serves Handler on ln and runs the bot until ctx is done or the
// HTTP server fails, then shuts both down within Config.ShutdownTimeout:
// in-flight webhooks finish and the bot stops its in-flight work (what it
// did not finish is claimed again on the next start). It returns the HTTP
// server's failure, else an incomplete shutdown, else nil. A caller with
// its own HTTP server uses Handler and Bot instead.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	botDone := make(chan error, 1)
	go func() { botDone <- s.Bot.Run(context.Background()) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	if s.sandbox != nil {
		s.sandbox.Close() // ends event streams, which would hold Shutdown open
	}
	if e := hs.Shutdown(sctx); e != nil {
		hs.Close()
		err = cmp.Or(err, e)
	}
	if e := s.Bot.Shutdown(sctx); e != nil {
		err = cmp.Or(err, e)
	}
	<-botDone
	return err
}

// Reloader adapts a flow loader to bot.Config.Reload: a failed load comes
// back as a nil interface (not a typed nil *engine.Engine), so the bot
// sees the error and keeps the old flows.
func Reloader(load func(ctx context.Context) (*engine.Engine, error)) func(context.Context) (bot.Engine, error) {
	return func(ctx context.Context) (bot.Engine, error) {
		e, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}
