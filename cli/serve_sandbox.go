package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/sandbox"
)

// sandboxToken is the access token the sender presents to the sandbox's
// Graph API double (which accepts any token).
const sandboxToken = "sandbox-token"

// sandboxSide is sandbox mode: the Graph API double on its own 127.0.0.1
// listener, the web chat, and the per-process secrets that sign the
// sandbox's webhooks.
type sandboxSide struct {
	secret, verifyToken string
	account             string
	double              *igtest.Server
	ln                  net.Listener
	graph               *http.Server
	webhook             http.Handler // set by mount before the double serves
	sb                  *sandbox.Sandbox
	clock               *sandbox.Clock // the studio advances it; the bot and the double read it
	log                 *slog.Logger
	hosts               []string // Host values the studio accepts besides loopback
	token               string   // --sandbox-public-token
}

// startSandbox creates the double and binds its listener; mount serves it.
func startSandbox(cfg *serveConfig, log *slog.Logger) (*sandboxSide, error) {
	side := &sandboxSide{secret: randomHex(16), verifyToken: randomHex(16), account: cfg.SandboxAccount, log: log,
		clock: sandbox.NewClock(nil), hosts: []string{cfg.Addr}, token: cfg.SandboxToken}
	side.double = igtest.New(igtest.Config{
		Account: cfg.SandboxAccount, WebhookSecret: side.secret, OnEcho: side.echo, Now: side.clock.Now,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen for the Graph API double: %w", err)
	}
	side.ln = ln
	return side, nil
}

// graphURL is the base URL of the double.
func (side *sandboxSide) graphURL() string { return "http://" + side.ln.Addr().String() }

// mount creates the studio over the real webhook handler wh and the running
// bot, serves the double (wrapped so the chat sees every reply) and adds
// /sandbox/ to mux.
func (side *sandboxSide) mount(mux *http.ServeMux, wh http.Handler, b *bot.Bot, st dmflow.Store, log *slog.Logger) error {
	side.webhook = wh
	sb, err := sandbox.New(sandbox.Config{
		Account: side.account, Secret: side.secret, Webhook: wh, Graph: side.double, Logger: log,
		Clock: side.clock, Bot: b, Sessions: st,
		Hosts: side.hosts, Token: side.token,
	})
	if err != nil {
		return err
	}
	side.sb = sb
	side.graph = &http.Server{Handler: sb.GraphHandler(), ReadHeaderTimeout: 10 * time.Second}
	go side.graph.Serve(side.ln)
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	mux.Handle("GET /sandbox", http.RedirectHandler("/sandbox/", http.StatusFound))
	mux.Handle("GET /{$}", http.RedirectHandler("/sandbox/", http.StatusFound))
	return nil
}

// echo delivers the echo webhook Instagram sends after each message, as the
// platform would, through the real webhook handler.
func (side *sandboxSide) echo(body []byte, signature string) {
	req := httptest.NewRequest(http.MethodPost, "/webhook/instagram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(instagram.HeaderSignature256, signature)
	rec := httptest.NewRecorder()
	side.webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		side.log.Warn("sandbox: echo webhook refused", "status", rec.Code)
	}
}

// close stops the double.
func (side *sandboxSide) close() {
	if side.graph != nil {
		side.graph.Close()
		return
	}
	side.ln.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// profiles is the bot's profile lookup: the Graph API client (with its
// cache) when it is one, and in sandbox mode that client asking the double,
// which first learns a profile for the user named after its sandbox id (the
// double, like Instagram, only describes users it knows).
func (s *server) profiles(sender dmflow.Sender) bot.Profiles {
	p, ok := sender.(bot.Profiles)
	switch {
	case !ok:
		return nil
	case s.sandbox != nil:
		return sandboxProfiles{double: s.sandbox.double, next: p}
	}
	return p
}

// sandboxProfiles gives every sandbox user the username of its id.
type sandboxProfiles struct {
	double *igtest.Server
	next   bot.Profiles
}

// Profile implements bot.Profiles.
func (p sandboxProfiles) Profile(ctx context.Context, account, user string) (dmflow.Profile, error) {
	p.double.SetProfile(user, igtest.UserProfile{Username: user})
	return p.next.Profile(ctx, account, user)
}

// clock is the bot's clock: the studio's advanceable clock in sandbox mode,
// else the wall clock (nil: the bot's default).
func (s *server) clock() func() time.Time {
	if s.sandbox == nil {
		return nil
	}
	return s.sandbox.clock.Now
}
