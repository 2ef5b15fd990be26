// Command embed shows how to embed dmflow in a Go program: it loads a flow
// with flows, runs it with engine, keeps sessions in store/mem, and chats
// on the terminal: every line on stdin is a message from one user, every
// reply is printed.
//
//	go run ./examples/embed
package main

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
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
	key := dmflow.SessionKey{Account: "demo-account", User: "demo-user"}
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		ev := dmflow.Event{Key: "m" + strconv.Itoa(n), Kind: dmflow.KindMessage, Account: key.Account, User: key.User,
			Text: sc.Text(), Time: time.Now()}
		if err := handle(ctx, eng, store, ev, out); err != nil {
			return err
		}
	}
	return sc.Err()
}

// handle runs one event through the engine and commits the outcome: the
// new session and its replies, atomically.
func handle(ctx context.Context, eng *engine.Engine, store *mem.Store, ev dmflow.Event, out io.Writer) error {
	s, err := store.GetSession(ctx, ev.SessionKey())
	if errors.Is(err, dmflow.ErrNotFound) {
		s, err = nil, nil
	}
	if err != nil {
		return err
	}
	now := time.Now()
	turn, err := eng.Step(ctx, s, ev, now)
	if err != nil {
		return err
	}
	c := dmflow.Commit{Key: ev.SessionKey(), Session: turn.Session, Delete: turn.Delete, Outbox: turn.Replies,
		Notices: turn.Notices, Actions: turn.Actions, Now: now}
	if c.Session != nil && s != nil {
		c.Session.Version = s.Version
	}
	if err := store.Commit(ctx, c); err != nil {
		return err
	}
	for _, r := range turn.Replies {
		fmt.Fprintln(out, "bot:", render(r.Reply))
	}
	return nil
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
