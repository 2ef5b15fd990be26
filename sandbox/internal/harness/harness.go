// Package harness runs the whole sandbox pipeline in a test, as `dmflow
// serve` wires it in sandbox mode: the studio's signed webhooks → the real
// Instagram webhook handler → bot (store/mem) → engine → Instagram client →
// Graph API double, recorded by the sandbox and streamed to the page. It
// serves everything on 127.0.0.1 and stops when the test ends.
package harness

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/sandbox"
	"github.com/dmflow/dmflow/server"
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

// Start runs the pipeline over the flows of load until the test ends. It
// is assembled by package server (OpenStore, NewInstagram, New), as `dmflow
// serve` assembles it.
func Start(t testing.TB, load Loader) *Env {
	t.Helper()
	eng, err := load()
	if err != nil {
		t.Fatalf("harness: flows: %v", err)
	}
	return start(t, eng, func(context.Context) (*engine.Engine, error) { return load() })
}

// StartAccounts runs the pipeline over several accounts' bundles (account
// id → its flows), as serve does with a per-account flows directory: the
// engine is an *accounts.Set. Account must be one of them (the account
// the sandbox plays first).
func StartAccounts(t testing.TB, bundles map[string]Loader) *Env {
	t.Helper()
	set, err := accounts.New(context.Background(), loaders(bundles))
	if err != nil {
		t.Fatalf("harness: flows: %v", err)
	}
	return start(t, set, nil)
}

// loaders is an accounts.Source over Loaders.
type loaders map[string]Loader

func (l loaders) Accounts() ([]string, error) { return slices.Sorted(maps.Keys(l)), nil }

func (l loaders) Load(_ context.Context, account string) (accounts.Engine, error) {
	load, ok := l[account]
	if !ok {
		return nil, fmt.Errorf("no bundle for %s", account)
	}
	return load()
}

func start(t testing.TB, eng bot.Engine, load func(context.Context) (*engine.Engine, error)) *Env {
	quiet := slog.New(slog.DiscardHandler)
	side := server.NewSandbox(server.SandboxConfig{Account: Account, Secret: Secret, VerifyToken: "verify", Logger: quiet})
	st, _, err := server.OpenStore(t.Context(), server.StoreConfig{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the bot stopped (cleanups run last first)
	env := &Env{Clock: side.Clock, Store: st, Double: side.Double}
	graph := httptest.NewUnstartedServer(nil)
	ig, err := server.NewInstagram(t.Context(), st, side.Instagram("http://"+graph.Listener.Addr().String(), server.InstagramConfig{Logger: quiet}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Bot: bot.Config{Store: env.Store, Sender: ig.Client, Profiles: ig.Client, Engine: eng, Logger: quiet,
			Poll: 50 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		Load:    load,
		Sandbox: side,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Bot, env.Sandbox = srv.Bot, side.Studio
	graph.Config.Handler = side.GraphHandler()
	graph.Start()
	env.URL = serve(t, srv, side) + "/sandbox/"
	run(t, env.Bot, graph)
	return env
}

func serve(t testing.TB, s *server.Server, side *server.Sandbox) string {
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		side.Close() // ends event streams, which would hold Close open
		hs.Close()
	})
	return hs.URL
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
