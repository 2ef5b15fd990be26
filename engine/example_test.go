package engine_test

import (
	"context"
	"fmt"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

func Example() {
	src := `
flow: hello
start: ask_name
vars: {name: string}
states:
  ask_name:
    say: [{text: "Hi! What's your name?"}]
    ask: {var: name, type: text, retry: [{text: "Your name, please?"}]}
    next: greet
  greet:
    say: [{text: "Nice to meet you, {{ name }}!"}]
    end: true
`
	b, err := flows.LoadFS(fstest.MapFS{"hello.yaml": {Data: []byte(src)}}, "hello.yaml")
	if err != nil {
		panic(err)
	}
	eng, err := engine.New(b, nil)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var s *dmflow.Session // no session yet
	for i, text := range []string{"hey", "Ann"} {
		ev := dmflow.Event{Key: fmt.Sprint("m", i), Kind: dmflow.KindMessage, Account: "biz", User: "ann", Text: text, Time: now}
		turn, err := eng.Step(context.Background(), s, ev, now)
		if err != nil {
			panic(err)
		}
		for _, r := range turn.Replies {
			fmt.Printf("to %s: %s\n", r.To.ID, r.Reply.Text)
		}
		s = turn.Session
		s.Version++ // a store bumps the version on commit
	}
	fmt.Println("state:", s.State, "name:", s.Vars["name"], "ended:", s.Ended)
	// Output:
	// to ann: Hi! What's your name?
	// to ann: Nice to meet you, Ann!
	// state: greet name: Ann ended: true
}
