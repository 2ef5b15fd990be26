package flows_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/flows"
)

// TestReadsBeforeSetAcrossCalls: a variable a sub-flow sets counts as set
// after the call returns, and only then.
func TestReadsBeforeSetAcrossCalls(t *testing.T) {
	const sub = `
flow: sub
start: a
params: [p]
vars: {p: string, x: string}
states:
  a:
    ask: {var: x}
    next: b
  b: {return: true}
`
	main := func(states string) string {
		return `
flow: main
main: true
start: s
vars: {x: string, p: string}
states:
` + states
	}
	cases := []struct {
		name  string
		flow  string
		warns []string
	}{
		{"read after the call", main(`
  s: {call: {flow: sub, args: {p: '"v"'}, return: r}}
  r: {say: [{text: "{{ x }} {{ p }}"}], end: true}
`), nil},
		{"read before the call", main(`
  s: {say: [{text: "{{ x }}"}], next: c}
  c: {call: {flow: sub, args: {p: '"v"'}, return: r}}
  r: {say: [{text: "{{ p }}"}], end: true}
`), []string{"variable x is used in state s before any state can set it"}},
		{"state reached through a later edge", main(`
  s: {call: {flow: sub, args: {p: '"v"'}, return: r}}
  r: {say: [{text: "{{ x }}"}], on: [{goto: t}]}
  t: {say: [{text: "{{ x }} {{ p }}"}], end: true}
`), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"main.yaml": {Data: []byte(tc.flow)}, "sub.yaml": {Data: []byte(sub)}}
			b, err := flows.LoadFS(fsys, "main.yaml", "sub.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Warnings) != len(tc.warns) {
				t.Fatalf("warnings %v, want %q", b.Warnings, tc.warns)
			}
			for i, w := range tc.warns {
				if !strings.Contains(b.Warnings[i].Msg, w) {
					t.Errorf("warning %d = %q, want %q", i, b.Warnings[i].Msg, w)
				}
			}
			if got := len(b.Flows["main"].Warnings); got != len(tc.warns) {
				t.Errorf("Flow.Warnings has %d entries, want %d", got, len(tc.warns))
			}
		})
	}
}

// TestParseLeavesCallersToTheBundle: alone, a flow that calls a sub-flow
// cannot know what the call sets, so Parse does not guess.
func TestParseLeavesCallersToTheBundle(t *testing.T) {
	f, err := flows.Parse("main.yaml", []byte(`
flow: main
start: s
vars: {x: string}
states:
  s: {call: {flow: sub, return: r}}
  r: {say: [{text: "{{ x }}"}], end: true}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 0 {
		t.Fatalf("warnings %v", f.Warnings)
	}
}
