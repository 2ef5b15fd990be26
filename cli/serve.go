package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/internal/gcfloor"
	srv "github.com/dmflow/dmflow/server"
)

func serveCmd(o *Options) *Command {
	return &Command{
		Name:    "serve",
		Summary: "run the bot: Instagram webhooks in, replies out (sandbox without credentials)",
		Usage: `Usage: dmflow serve [flags]

Serves POST/GET /webhook/instagram, /healthz, /readyz, /metrics and the
admin API (/admin/, with --admin-token). Settings come from flags, then
environment variables, then the YAML file given by --config, then defaults.

Without any credential setting (docs/operations.md: INSTAGRAM_*,
META_APP_SECRET, DMFLOW_DATABASE_URL) serve runs in sandbox mode, or with
--sandbox: an in-process Graph API double stands in for Instagram and
/sandbox/ is a web chat with the bot. A partial credential set is an error.
The sandbox listens on loopback only (else --sandbox-public-token), uses
./dmflow-sandbox.db by default and refuses a store holding production data. SIGHUP reloads the flows (a broken flow is rejected and the old
one keeps running); SIGTERM or SIGINT shut down gracefully.

Exit codes: 0 after a clean shutdown, 1 on a runtime failure, 2 for an
invalid configuration or invalid flows.`,
		Flags: func(fs *flag.FlagSet) { declareFlags(fs) },
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
			return runServe(ctx, fs, args, stdio, o)
		},
	}
}

func runServe(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO, o *Options) int {
	if code, ok := parseNoArgs(fs, args, stdio); !ok {
		return code
	}
	cfg, log, ok := configure("serve", fs, stdio, (*serveConfig).validateServe)
	if !ok {
		return exitUsage
	}
	s, err := newServer(ctx, cfg, o, stdio, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		fmt.Fprintf(stdio.Err, "dmflow serve: %v\n", redactURL(err.Error(), cfg))
		return errExitCode(err)
	}
	return s.run(ctx)
}

// server is a running `dmflow serve`: the store, the bot and the HTTP
// side, plus the sandbox's Graph API double when there are no credentials.
type server struct {
	cfg     *serveConfig
	opts    *Options
	log     *slog.Logger
	out     io.Writer
	env     func(string) (string, bool)
	store   dmflow.Store
	bot     *bot.Bot
	flows   flowSource
	http    *http.Server
	ln      net.Listener
	sandbox *sandboxSide            // nil in production mode
	tokens  *instagram.TokenManager // nil with a static token or in sandbox mode
	ig      *srv.Instagram          // the Send API client outside sandbox mode
	closers []func()                // run last to first after the bot stopped

	// accounts and table are set when each account has its own bundle or
	// settings (serve_accounts.go); bundles is where they come from.
	accounts *accounts.Set
	table    *accounts.Table
	bundles  *accounts.Paths
}

// newServer opens the store, loads the flows, builds the bot and binds the
// listener. On error everything opened so far is closed again.
func newServer(ctx context.Context, cfg *serveConfig, o *Options, stdio IO, log *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, opts: o, log: log, out: stdio.Out, env: stdio.Env}
	if err := s.open(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *server) open(ctx context.Context) error {
	var err error
	if s.flows, err = resolveFlows(s.cfg); err != nil {
		return err
	}
	eng, err := s.loadEngine(ctx)
	if err != nil {
		return err
	}
	if s.cfg.Sandbox() {
		s.cfg.DB = s.cfg.sandboxDBPath()
	}
	st, desc, err := openStore(ctx, s.cfg)
	if err != nil {
		return err
	}
	s.store = st
	s.closers = append(s.closers, s.closeStore)
	if s.cfg.Sandbox() {
		err = claimSandboxStore(ctx, st, desc)
	} else {
		err = refuseSandboxMarked(ctx, st, desc)
	}
	if err != nil {
		return err
	}
	s.log.Info("store opened", "store", desc)
	if s.ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	sender, err := s.sender(ctx)
	if err != nil {
		return err
	}
	if err := s.assemble(eng, sender); err != nil {
		return err
	}
	s.instagramSetupOnStart(ctx, sender) // --instagram-setup-on-start
	return nil
}

// assemble builds the bot and the routes (package server) over the store,
// the sender and the flows (one bundle, or an *accounts.Set with a bundle
// per account), plus serve's own routes (Meta's callbacks).
func (s *server) assemble(eng bot.Engine, sender dmflow.Sender) error {
	cfg := srv.Config{
		Bot: bot.Config{
			Store: s.store, Sender: sender, Engine: eng,
			// ${NAME} in HTTP action headers: DMFLOW_SECRET_NAME, then the config file's secrets.
			Actions:   actions.Runner{HTTP: &actions.HTTP{LookupEnv: s.cfg.secret(s.env)}, Go: s.opts.Actions},
			NoticeURL: s.cfg.NotifyURL, NoticeSecret: s.cfg.NotifySecret,
			Workers: s.cfg.Workers, Lease: s.cfg.Lease, Heartbeat: s.cfg.Heartbeat, Logger: s.log, Clock: s.clock(),
			// One Send may retry requests and wait for the rate limiter.
			Senders: s.cfg.Senders, SendTimeout: max(30*time.Second, 2*s.cfg.SendTimeout),
			Profiles:  s.profiles(sender),  // flows see user.username
			Media:     mediaLookup(sender), // lookup_media: event.caption
			Retention: s.cfg.retention(),
		},
		Load: func(ctx context.Context) (*engine.Engine, error) {
			return s.flows.load(engineOptions(s.cfg), s.opts.Flows, s.log)
		},
		Webhook:    instagram.WebhookConfig{MaxBody: int64(s.cfg.MaxBody), Logger: s.log},
		AdminToken: s.cfg.AdminToken,
	}
	if s.table != nil { // several accounts: each its own bundle, secrets and outgoing webhook
		cfg.Load = nil
		cfg.Bot.ReloadAccounts = s.reloadAccounts
		cfg.Bot.NoticeTargets = s.table.Notify
		cfg.Bot.Actions = actions.Runner{HTTP: &actions.HTTP{LookupEnv: s.cfg.secret(s.env), AccountSecrets: s.table.AccountSecret}, Go: s.opts.Actions}
	}
	if s.sandbox != nil {
		cfg.Sandbox = s.sandbox.Sandbox
	} else {
		cfg.Webhook.VerifyToken = s.cfg.Instagram.VerifyToken
		cfg.Webhook.AppSecrets = []string{s.cfg.Instagram.ClientSecret, s.cfg.Instagram.MetaAppSecret}
	}
	s.withMessenger(&cfg) // --messenger-page-id: POST/GET /webhook/messenger
	a, err := srv.New(cfg)
	if err != nil {
		return err
	}
	s.bot = a.Bot
	s.personalRoutes(a.Mux)
	if s.sandbox != nil {
		s.sandbox.serveGraph()
	}
	s.http = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// run serves until ctx is done (SIGTERM/SIGINT), reloading the flows on
// SIGHUP, then shuts down gracefully. It returns the exit code.
func (s *server) run(ctx context.Context) int {
	defer s.tuneGC().Stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.ln) }()
	botDone := make(chan error, 1)
	go func() { botDone <- s.bot.Run(context.Background()) }()
	tidyCtx, stopTidy := context.WithCancel(context.Background())
	go runTidy(tidyCtx, s.store, s.cfg.SessionTTL, s.log)
	if s.tokens != nil {
		go s.ig.RefreshTokens(tidyCtx, s.bot)
	}
	s.closers = append(s.closers, stopTidy)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s.announce()
	code := exitOK
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			s.reload(ctx)
		case err := <-serveErr:
			s.log.Error("http server failed", "err", err)
			code, done = exitFail, true
		}
	}
	if !s.shutdown(botDone) {
		code = exitFail
	}
	return code
}

// tuneGC gives the garbage collector the configured headroom (see
// internal/gcfloor), unless GOGC is set: then the operator chose. It reads
// the process's environment, which the runtime read GOGC from, not s.env.
func (s *server) tuneGC() *gcfloor.Tuner {
	var headroom uint64
	if _, set := os.LookupEnv("GOGC"); !set {
		headroom = uint64(s.cfg.GCHeadroom) << 20
	}
	return gcfloor.Start(headroom)
}

// announce prints where the server listens (stdout, for people and tests).
func (s *server) announce() {
	base := "http://" + s.ln.Addr().String()
	s.log.Info("dmflow serving", "addr", s.ln.Addr().String(), "flows", s.flows.desc,
		"mode", map[bool]string{true: "sandbox", false: "instagram"}[s.sandbox != nil],
		"admin_api", s.cfg.AdminToken != "")
	fmt.Fprintf(s.out, "dmflow: listening on %s\n", base)
	switch {
	case s.sandbox != nil && s.cfg.SandboxToken != "":
		fmt.Fprintf(s.out, "dmflow: sandbox mode on a public address: open %s/sandbox/?token=<--sandbox-public-token> once per browser\n", browserBase(s.ln.Addr()))
	case s.sandbox != nil:
		fmt.Fprintf(s.out, "dmflow: sandbox mode (no Instagram credentials): open %s/sandbox/\n", browserBase(s.ln.Addr()))
	}
}

// browserBase is a URL a local browser can open for addr (0.0.0.0 and ::
// become 127.0.0.1).
func browserBase(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("http://127.0.0.1:%d", tcp.Port)
		}
	}
	return "http://" + addr.String()
}

func (s *server) reload(ctx context.Context) {
	s.log.Info("SIGHUP: reloading flows", "flows", s.flows.desc)
	if err := s.bot.Reload(ctx); err != nil {
		s.log.Error("reload rejected, the old flows keep running", "err", err)
		return
	}
	s.log.Info("flows reloaded")
}

// shutdown stops accepting requests, lets in-flight webhooks finish, drains
// the bot's in-flight work within the shutdown timeout and closes the
// store. It reports whether everything finished in time.
func (s *server) shutdown(botDone <-chan error) bool {
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	clean := true
	if s.sandbox != nil {
		s.sandbox.Close() // ends event streams, which would hold Shutdown open
	}
	if err := s.http.Shutdown(ctx); err != nil {
		s.log.Warn("http shutdown incomplete", "err", err)
		s.http.Close()
		clean = false
	}
	if err := s.bot.Shutdown(ctx); err != nil {
		s.log.Warn("bot shutdown incomplete; unfinished work resumes on the next start", "err", err)
		clean = false
	}
	<-botDone
	s.close()
	s.log.Info("stopped", "clean", clean)
	return clean
}

// close releases everything newServer opened, last first.
func (s *server) close() {
	if s.ln != nil && s.http == nil {
		s.ln.Close()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

func (s *server) closeStore() {
	if err := s.store.Close(); err != nil && !errors.Is(err, dmflow.ErrClosed) {
		s.log.Error("close store", "err", err)
	}
}
