// Command go-actions-server is a complete dmflow server with a Go action,
// assembled with package server instead of package cli: it opens the
// store, builds the Instagram client, loads flows/ with the action
// declared, and serves the webhook, /healthz, /readyz and /metrics until
// SIGINT or SIGTERM.
//
//	INSTAGRAM_ACCESS_TOKEN=… META_APP_SECRET=… INSTAGRAM_VERIFY_TOKEN=… go run ./examples/go-actions-server
//
// main_test.go runs it on 127.0.0.1 against the igtest Graph API double.
package main

import (
	"cmp"
	"context"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cmp.Or(os.Getenv("ADDR"), ":8080"))
	if err == nil {
		err = run(ctx, ln, os.Getenv)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run is the whole server: docs/integrations.md shows it.
func run(ctx context.Context, ln net.Listener, env func(string) string) error {
	st, _, err := server.OpenStore(ctx, server.StoreConfig{Path: cmp.Or(env("DMFLOW_DB"), "dmflow.db")})
	if err != nil {
		return err
	}
	defer st.Close()
	ig, err := server.NewInstagram(ctx, st, server.InstagramConfig{
		GraphURL: env("DMFLOW_GRAPH_URL"), AccessToken: env("INSTAGRAM_ACCESS_TOKEN")})
	if err != nil {
		return err
	}
	load := func(context.Context) (*engine.Engine, error) { return flowtest.LoadEngine(flowOptions, "flows") }
	eng, err := load(ctx)
	if err != nil {
		return err
	}
	s, err := server.New(server.Config{
		Bot:  bot.Config{Store: st, Sender: ig.Client, Engine: eng, Actions: actions.Runner{Go: registry()}},
		Load: load, // admin reloads (with an AdminToken)
		Webhook: instagram.WebhookConfig{VerifyToken: env("INSTAGRAM_VERIFY_TOKEN"),
			AppSecrets: []string{env("META_APP_SECRET")}},
	})
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// stock is the Go action: how many of an item are left.
func stock(ctx context.Context, call dmflow.ActionCall) (map[string]any, error) {
	left := map[string]int{"mug": 12, "tee": 3}[call.Args["item"].(string)]
	return map[string]any{"left": left}, ctx.Err()
}

func registry() *actions.Registry {
	r := actions.NewRegistry()
	if err := r.Register("stock", stock); err != nil {
		panic(err)
	}
	return r
}

// flowOptions declares the Go action to the loader: an unknown action or
// argument in flows/ is a load error with its position.
var flowOptions = &flows.Options{Actions: map[string]flows.ActionSig{
	"stock": {Args: map[string]flows.VarType{"item": flows.TypeString}, Required: []string{"item"}},
}}
