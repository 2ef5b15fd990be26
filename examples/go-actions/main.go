// Command go-actions shows the two ways a Go program extends flows:
//
//   - a Go action, registered by name in an actions.Registry and called by a
//     flow with `action: {go: quote, args: {...}}`; it runs outside the
//     engine's pure step, like an HTTP action, and its result comes back as
//     `response.body` in the action's save;
//   - a pure helper function for expressions, passed as flows.Options.Funcs
//     and called like a builtin: `{{ money(price) }}`.
//
// Both are declared to the loader (flows.Options.Actions and Funcs), so an
// unknown name or an argument of the wrong type is a load-time error with
// its file:line:col. Every line on stdin is a message from one user; the
// bot's replies are printed. A server would instead set
// bot.Config.Actions = actions.Runner{Go: registry} (and HTTP for http
// actions), which runs the calls durably outside the per-user transaction.
//
//	go run ./examples/go-actions
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
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

//go:embed testdata/quote.yaml
var flowFS embed.FS

func main() {
	if err := run(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "go-actions:", err)
		os.Exit(1)
	}
}

// prices are the monthly prices per seat.
var prices = map[string]float64{"starter": 9, "pro": 49}

// quote is the Go action: its args are what the flow passed, already of
// the declared types; its result is the flow's response.body.
func quote(ctx context.Context, call dmflow.ActionCall) (map[string]any, error) {
	plan, _ := call.Args["plan"].(string)
	seats, _ := call.Args["seats"].(int)
	per, ok := prices[plan]
	if !ok {
		return nil, fmt.Errorf("no self-service price for the %s plan", plan)
	}
	total := per * float64(seats)
	if seats >= 10 {
		total *= 0.9
	}
	return map[string]any{"price": total}, ctx.Err()
}

// money is the helper function: pure, fast, safe for concurrent use.
func money(args ...any) (any, error) {
	return fmt.Sprintf("$%.2f", args[0].(float64)), nil
}

// registry returns the Go actions of this program.
func registry() *actions.Registry {
	r := actions.NewRegistry()
	if err := r.Register("quote", quote); err != nil {
		panic(err) // a duplicate name is a programming error
	}
	return r
}

// loadOptions declares the helper functions and the Go actions' signatures
// to the loader.
func loadOptions() *flows.Options {
	return &flows.Options{
		Funcs: map[string]flows.Func{
			"money": {Fn: money, Types: []any{new(func(float64) string)}, Doc: "money(x float) string: x as $1234.50"},
		},
		Actions: map[string]flows.ActionSig{
			"quote": {Args: map[string]flows.VarType{"plan": flows.TypeString, "seats": flows.TypeInt}, Required: []string{"plan", "seats"}},
		},
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer) error {
	bundle, err := loadOptions().LoadFS(flowFS, "testdata/quote.yaml")
	if err != nil {
		return err
	}
	eng, err := engine.New(bundle, nil)
	if err != nil {
		return err
	}
	c := &chat{eng: eng, run: actions.Runner{Go: registry()}, out: out,
		key: dmflow.SessionKey{Account: "demo-account", User: "demo-user"}}
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		ev := dmflow.Event{Key: "m" + strconv.Itoa(n), Kind: dmflow.KindMessage, Account: c.key.Account,
			User: c.key.User, Text: sc.Text(), Time: time.Now()}
		if err := c.handle(ctx, ev); err != nil {
			return err
		}
	}
	return sc.Err()
}

// chat keeps one user's session in memory and runs the action calls of a
// step right away, feeding each result back as the next event.
type chat struct {
	eng *engine.Engine
	run actions.Runner
	out io.Writer
	key dmflow.SessionKey
	s   *dmflow.Session
}

func (c *chat) handle(ctx context.Context, ev dmflow.Event) error {
	turn, err := c.eng.Step(ctx, c.s, ev, time.Now())
	if err != nil {
		return err
	}
	if turn.Session != nil {
		c.s = turn.Session
	}
	for _, r := range turn.Replies {
		fmt.Fprintln(c.out, "bot:", r.Reply.Text)
	}
	for _, call := range turn.Actions {
		res := c.run.Run(ctx, call)
		err = errors.Join(err, c.handle(ctx, dmflow.Event{Key: "action:" + call.ID, Kind: dmflow.KindActionResult,
			Account: c.key.Account, User: c.key.User, Time: time.Now(), Action: &res}))
	}
	return err
}
