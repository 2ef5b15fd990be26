// Command go-actions is a dmflow binary extended the two ways a Go program
// extends flows:
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
// its file:line:col. main hands them to cli.Main, so this program has every
// dmflow command, and each understands the flow:
//
//	go run ./examples/go-actions validate examples/go-actions/testdata/quote.yaml
//	go run ./examples/go-actions chat --actions real examples/go-actions/testdata/quote.yaml
//	go run ./examples/go-actions test examples/go-actions/testdata
//	go run ./examples/go-actions serve --flows examples/go-actions/testdata
//
// go test runs the transcripts in testdata/ with flowtest.Run.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/cli"
	"github.com/dmflow/dmflow/flows"
)

func main() {
	os.Exit(cli.Main(os.Args, cli.Options{Flows: loadOptions(), Actions: registry()}))
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
