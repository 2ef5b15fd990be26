// Command embed shows how to embed dmflow in a Go program: it loads a flow
// with flows, runs it with engine, keeps the session in store/mem, and chats
// on the terminal: every line on stdin is a message from one user, every
// reply is printed. flowtest.Conversation does each step the way the bot's
// worker does (the turn's session committed to the store, action results
// fed back, the fake clock moved only by Advance); a server uses package
// bot instead (docs/integrations.md).
//
//	go run ./examples/embed
package main

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/store/mem"
)

//go:embed flow.yaml
var flowFS embed.FS

func main() {
	if err := run(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer) error {
	bundle, err := flows.LoadFS(flowFS, "flow.yaml")
	if err != nil {
		return err
	}
	eng, err := engine.New(bundle, nil)
	if err != nil {
		return err
	}
	store := mem.New(nil)
	defer store.Close()
	conv, err := flowtest.NewConversation(ctx, flowtest.Config{Engine: eng, Store: store, Clock: time.Now(),
		Key: dmflow.SessionKey{Account: "demo-account", User: "demo-user"}})
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		o, err := conv.Say(ctx, sc.Text())
		if err != nil {
			return err
		}
		for _, r := range o.Replies {
			fmt.Fprintln(out, "bot:", render(r.Reply))
		}
	}
	return sc.Err()
}

func render(r dmflow.Reply) string {
	s := r.Text
	if s == "" {
		s = "<" + string(r.Kind) + ">"
	}
	for i, q := range r.QuickReplies {
		if i == 0 {
			s += "  "
		}
		s += " [" + q.Title + "]"
	}
	return s
}
