// Package harness runs the whole sandbox pipeline in a test, as `dmflow
// serve` wires it in sandbox mode: the studio's signed webhooks → the real
// Instagram webhook handler → bot (store/mem) → engine → Instagram client →
// Graph API double, recorded by the sandbox and streamed to the page. It
// serves everything on 127.0.0.1 and stops when the test ends.
package harness

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/sandbox"
	"github.com/dmflow/dmflow/store/mem"
)

// Account and Secret are the business account and app secret of the
// pipeline.
const (
	Account = "17841400000000077"
	Secret  = "harness-app-secret"
)

// Env is a running pipeline.
type Env struct {
	URL     string // the studio page, ".../sandbox/"
	Sandbox *sandbox.Sandbox
	Bot     *bot.Bot
	Store   dmflow.Store
	Clock   *sandbox.Clock
	Double  *igtest.Server
}

// Loader loads the flows, at start and on every reload.
type Loader func() (*engine.Engine, error)

// LoadFS loads the flows in dir of fsys.
func LoadFS(fsys fs.FS, dir string) Loader {
	return func() (*engine.Engine, error) {
		b, err := flows.LoadFS(fsys, dir)
		if err != nil {
			return nil, err
		}
		return engine.New(b, nil)
	}
}

// Start runs the pipeline over the flows of load until the test ends.
func Start(t testing.TB, load Loader) *Env {
	t.Helper()
	eng, err := load()
	if err != nil {
		t.Fatalf("harness: flows: %v", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	env := &Env{Clock: sandbox.NewClock(nil), Store: mem.New(nil)}
	var webhook http.Handler
	env.Double = igtest.New(igtest.Config{Account: Account, WebhookSecret: Secret, Now: env.Clock.Now,
		OnEcho: func(body []byte, sig string) { deliverEcho(webhook, body, sig) }})
	graph := httptest.NewUnstartedServer(nil)
	client := instagram.NewClient(instagram.ClientConfig{BaseURL: "http://" + graph.Listener.Addr().String(),
		Tokens: instagram.StaticToken("harness-token"), Logger: quiet, Clock: env.Clock.Now})
	env.Bot, err = bot.New(bot.Config{Store: env.Store, Sender: client, Engine: eng, Logger: quiet,
		Reload: func(context.Context) (bot.Engine, error) { return reload(load) },
		Clock:  env.Clock.Now, Poll: 50 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	webhook = instagram.NewWebhook(instagram.WebhookConfig{VerifyToken: "verify", AppSecrets: []string{Secret}}, env.Bot.Ingest)
	env.Sandbox, err = sandbox.New(sandbox.Config{Account: Account, Secret: Secret, Webhook: webhook,
		Graph: env.Double, Clock: env.Clock, Bot: env.Bot, Sessions: env.Store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	graph.Config.Handler = env.Sandbox.GraphHandler()
	graph.Start()
	env.URL = serve(t, env.Sandbox) + "/sandbox/"
	run(t, env.Bot, graph)
	return env
}

// reload loads the flows again; a nil engine must come back as a nil
// interface so the bot sees the error.
func reload(load Loader) (bot.Engine, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	return e, nil
}

func serve(t testing.TB, sb *sandbox.Sandbox) string {
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		sb.Close()
		srv.Close()
	})
	return srv.URL
}

func run(t testing.TB, b *bot.Bot, graph *httptest.Server) {
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("harness: bot shutdown: %v", err)
		}
		<-done
		graph.Close()
	})
}

// deliverEcho posts an echo webhook of the double to the real handler, as
// Instagram does after each message.
func deliverEcho(wh http.Handler, body []byte, sig string) {
	req := httptest.NewRequest(http.MethodPost, "/webhook/instagram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(instagram.HeaderSignature256, sig)
	wh.ServeHTTP(httptest.NewRecorder(), req)
}
