package flows_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/flows"
)

// TestReadsBeforeSetAcrossCalls: each flow has its own variables, so a
// call sets in the caller only what its save maps back, and only after it
// returns; the sub-flow's params and other variables stay its own.
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
		{"saved after the call", main(`
  s: {call: {flow: sub, args: {p: '"v"'}, save: {x: x}, return: r}}
  r: {say: [{text: "{{ x }}"}], end: true}
`), []string{"variable p is never used"}},
		{"args and unsaved variables are the sub-flow's", main(`
  s: {call: {flow: sub, args: {p: '"v"'}, return: r}}
  r: {say: [{text: "{{ x }} {{ p }}"}], end: true}
`), []string{"variable x is used in state r before", "variable p is used in state r before"}},
		{"read before the call", main(`
  s: {say: [{text: "{{ x }}"}], next: c}
  c: {call: {flow: sub, args: {p: '"v"'}, save: {x: x, p: p}, return: r}}
  r: {say: [{text: "{{ p }}"}], end: true}
`), []string{"variable x is used in state s before any state can set it"}},
		{"state reached through a later edge", main(`
  s: {call: {flow: sub, args: {p: '"v"'}, save: {x: x}, return: r}}
  r: {say: [{text: "{{ x }}"}], on: [{goto: t}]}
  t: {say: [{text: "{{ x }} {{ p }}"}], end: true}
`), []string{"variable p is used in state t before"}},
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

// TestParseChecksCallersAlone: a call sets only its save targets, which the
// flow itself declares, so Parse checks a calling flow alone.
func TestParseChecksCallersAlone(t *testing.T) {
	for _, tc := range []struct {
		save  string
		warns int
	}{{"", 1}, {"save: {x: y}, ", 0}} {
		f, err := flows.Parse("main.yaml", []byte(`
flow: main
start: s
vars: {x: string}
states:
  s: {call: {flow: sub, `+tc.save+`return: r}}
  r: {say: [{text: "{{ x }}"}], end: true}
`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Warnings) != tc.warns {
			t.Fatalf("%q: warnings %v, want %d", tc.save, f.Warnings, tc.warns)
		}
	}
}
