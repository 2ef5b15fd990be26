package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/sandbox"
)

// SandboxToken is the access token a sender presents to the sandbox's
// Graph API double (which accepts any token).
const SandboxToken = "sandbox-token"

// SandboxConfig configures sandbox mode.
type SandboxConfig struct {
	// Account is the business account the studio's users write to.
	Account string
	// Secret signs the studio's webhooks and VerifyToken answers the
	// subscription check ("": random per process).
	Secret, VerifyToken string
	// Hosts are Host values the studio accepts besides loopback; Token is
	// the studio's access token on a public address (sandbox.Config).
	Hosts []string
	Token string
	// Logger logs refused echo webhooks (nil: slog.Default()).
	Logger *slog.Logger
	// MessengerPage is the Facebook Page the studio's Messenger channel
	// plays (default SandboxPage): a Page of its own beside Account, so a
	// studio user on both channels has two conversations.
	MessengerPage string
}

// SandboxPage is the default Page id of the studio's Messenger channel.
const SandboxPage = messengertest.DefaultPage

// Sandbox is sandbox mode: the Graph API double standing in for Instagram,
// its advanceable clock, the studio, and the secrets that sign the
// studio's webhooks. Create it before the Instagram client (which sends to
// a listener serving GraphHandler, with Clock.Now as its clock), hand it
// to New, then serve GraphHandler.
type Sandbox struct {
	SandboxConfig
	Clock  *sandbox.Clock   // the studio advances it; the bot and the double read it
	Double *igtest.Server   // the Graph API double
	Studio *sandbox.Sandbox // set by New
	// Messenger is the Messenger Send API double of the studio's
	// Messenger channel; the bot's Messenger client reaches it in-process,
	// through the studio's recording (sandbox.MessengerGraphHandler).
	Messenger *messengertest.Server
	// webhook is the real webhook handler, set by New before the double
	// serves: the double's echoes go through it, as Instagram's do.
	webhook http.Handler
}

// Profiles wraps the bot's profile lookups (the Instagram client) so that
// every studio user has a profile at the double, its id as username,
// unless the studio set one (e.g. its "follows the account" switch). New
// applies it in sandbox mode.
func (side *Sandbox) Profiles(next bot.Profiles) bot.Profiles {
	return sandboxProfiles{double: side.Double, next: next}
}

type sandboxProfiles struct {
	double *igtest.Server
	next   bot.Profiles
}

// Profile implements bot.Profiles.
func (p sandboxProfiles) Profile(ctx context.Context, account, user string) (dmflow.Profile, error) {
	p.double.EnsureProfile(user, igtest.UserProfile{Username: user})
	return p.next.Profile(ctx, account, user)
}

// ForgetProfile passes on to the client's cache (bot.ProfileForgetter):
// refresh_profile and forget drop the cached profile through it.
func (p sandboxProfiles) ForgetProfile(account, user string) {
	if f, ok := p.next.(bot.ProfileForgetter); ok {
		f.ForgetProfile(account, user)
	}
}

// NewSandbox creates the double and the clock.
func NewSandbox(cfg SandboxConfig) *Sandbox {
	if cfg.Secret == "" {
		cfg.Secret = randomHex(16)
	}
	if cfg.VerifyToken == "" {
		cfg.VerifyToken = randomHex(16)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MessengerPage == "" {
		cfg.MessengerPage = SandboxPage
	}
	side := &Sandbox{SandboxConfig: cfg, Clock: sandbox.NewClock(nil)}
	side.Messenger = messengertest.NewServer(messengertest.Config{Now: side.Clock.Now})
	side.Double = igtest.New(igtest.Config{
		Account: cfg.Account, WebhookSecret: cfg.Secret, OnEcho: side.echo, Now: side.Clock.Now,
		AnyAccount: true, // the studio may play each account of a per-account flows directory
	})
	return side
}

// Instagram returns cfg pointed at the double served at graphURL (a
// listener serving GraphHandler): the sandbox's token, which the double
// accepts, and the studio's clock, so that a reply a timer sends after the
// user's 24 h window is dead-lettered as in production. Pass it to
// NewInstagram.
func (side *Sandbox) Instagram(graphURL string, cfg InstagramConfig) InstagramConfig {
	cfg.GraphURL, cfg.APIVersion, cfg.AccessToken, cfg.AccountTokens = graphURL, "", SandboxToken, nil
	cfg.Clock = side.Clock.Now
	return cfg
}

// GraphHandler serves the Graph API: the double, recorded by the studio so
// its chat shows every reply. Valid after New.
func (side *Sandbox) GraphHandler() http.Handler { return side.Studio.GraphHandler() }

// Close ends the studio's event streams (which would hold an HTTP
// server's Shutdown open).
func (side *Sandbox) Close() {
	if side.Studio != nil {
		side.Studio.Close()
	}
	side.Messenger.Close()
}

// withMessenger adds the studio's Messenger channel to a sandbox server's
// bot: the Page's replies go to a Messenger client talking to the double
// in-process (recorded by the studio), the Page's users get no Instagram
// profile lookups, and it returns the Messenger webhook's configuration
// (signed with the sandbox's secret).
func (side *Sandbox) withMessenger(bc *bot.Config, wh instagram.WebhookConfig) *messenger.WebhookConfig {
	page := side.MessengerPage
	client := messenger.NewClient(messenger.ClientConfig{BaseURL: "http://messenger.sandbox.local",
		Tokens: messenger.PageTokens{page: SandboxToken}, Clock: side.Clock.Now,
		HTTPClient: &http.Client{Transport: handlerTransport{side.messengerGraph}}})
	AddMessengerPage(bc, page, client)
	return &messenger.WebhookConfig{Adapter: messenger.Adapter{VerifyToken: side.VerifyToken, AppSecrets: []string{side.Secret}},
		MaxBody: wh.MaxBody, Logger: wh.Logger}
}

// messengerGraph is the Messenger double as the studio records it (the
// double alone until the studio is mounted).
func (side *Sandbox) messengerGraph() http.Handler {
	if side.Studio == nil {
		return side.Messenger
	}
	return side.Studio.MessengerGraphHandler()
}

// handlerTransport serves requests in-process with the handler h returns.
type handlerTransport struct{ h func() http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h().ServeHTTP(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}

// mount creates the studio over the real webhook handler wh and the bot and
// adds /sandbox/ to mux.
func (side *Sandbox) mount(mux *http.ServeMux, wh, msgr http.Handler, b *bot.Bot, st dmflow.Store, log *slog.Logger) error {
	side.webhook = wh
	sb, err := sandbox.New(sandbox.Config{
		Account: side.Account, Secret: side.Secret, Webhook: wh, Graph: side.Double, Logger: log,
		Clock: side.Clock, Bot: b, Sessions: st, Hosts: side.Hosts, Token: side.Token,
		Messenger: &sandbox.MessengerConfig{Page: side.MessengerPage, Secret: side.Secret, Webhook: msgr, Graph: side.Messenger},
	})
	if err != nil {
		return err
	}
	side.Studio = sb
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	mux.Handle("GET /sandbox", http.RedirectHandler("/sandbox/", http.StatusFound))
	mux.Handle("GET /{$}", http.RedirectHandler("/sandbox/", http.StatusFound))
	return nil
}

// echo delivers the echo webhook Instagram sends after each message, as the
// platform would, through the real webhook handler.
func (side *Sandbox) echo(body []byte, signature string) {
	req := httptest.NewRequest(http.MethodPost, "/webhook/instagram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(instagram.HeaderSignature256, signature)
	rec := httptest.NewRecorder()
	side.webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		side.Logger.Warn("sandbox: echo webhook refused", "status", rec.Code)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
